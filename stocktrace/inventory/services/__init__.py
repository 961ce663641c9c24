"""Every write of the inventory: sites, the catalogue (locations, items, barcodes), the stock ledger and
alerts, one module each."""

from stocktrace.inventory.services.sites import site_archive, site_create, site_update

__all__ = ["site_archive", "site_create", "site_update"]
