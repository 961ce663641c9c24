"""What the home page offers from imports: bringing a file in."""

from stocktrace.imports.permissions import INVENTORY_IMPORT
from stocktrace.web.home import Shortcut

SHORTCUTS = [
    Shortcut("Import a file", "web:imports", INVENTORY_IMPORT, 70, "Items, locations or opening stock, CSV or XLSX"),
]
