from stocktrace.imports.kinds.items import ItemsImporter
from stocktrace.imports.kinds.locations import LocationsImporter
from stocktrace.imports.kinds.stock import StockImporter

IMPORTERS = {cls.kind: cls for cls in (ItemsImporter, LocationsImporter, StockImporter)}

__all__ = ["IMPORTERS", "ItemsImporter", "LocationsImporter", "StockImporter"]
