from stocktrace.inventory.api import stock

ROUTES = [("", stock.router)]
