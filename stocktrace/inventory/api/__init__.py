from stocktrace.inventory.api import sites, stock

ROUTES = [("/sites", sites.router), ("", stock.router)]
