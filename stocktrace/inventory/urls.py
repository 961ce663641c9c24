from django.urls import path

from stocktrace.inventory.permissions import INVENTORY_VIEW
from stocktrace.inventory.views import stock
from stocktrace.web.navigation import NavLink

urlpatterns = [
    path("stock/", stock.stock, name="stock"),
    path("stock/receive/", stock.stock_receive, name="stock_receive"),
    path("stock/issue/", stock.stock_issue, name="stock_issue"),
    path("stock/adjust/", stock.stock_adjust, name="stock_adjust"),
    path("stock/transfer/", stock.stock_transfer, name="stock_transfer"),
    path("lookup/", stock.lookup, name="lookup"),
    path("items/", stock.items, name="items"),
    path("items/new/", stock.item_create, name="item_create"),
    path("items/<int:item_id>/", stock.item, name="item"),
    path("items/<int:item_id>/levels/", stock.item_levels, name="item_levels"),
    path("items/<int:item_id>/barcodes/", stock.item_barcode_add, name="item_barcode_add"),
    path("items/<int:item_id>/barcodes/remove/", stock.item_barcode_remove, name="item_barcode_remove"),
    path("locations/", stock.locations, name="locations"),
    path("locations/new/", stock.location_create, name="location_create"),
    path("locations/<int:location_id>/", stock.location, name="location"),
    path("locations/<int:location_id>/move/", stock.location_move, name="location_move"),
    path("locations/<int:location_id>/archive/", stock.location_archive, name="location_archive"),
    path("alerts/", stock.alerts, name="alerts"),
    path("alerts/recheck/", stock.alerts_recheck, name="alerts_recheck"),
    path("alerts/<int:alert_id>/acknowledge/", stock.alert_acknowledge, name="alert_acknowledge"),
    path("alerts/<int:alert_id>/resolve/", stock.alert_resolve, name="alert_resolve"),
]

NAVIGATION = [
    NavLink("Stock", "web:stock", INVENTORY_VIEW, 20, sections=("stock",)),
    NavLink("Items", "web:items", INVENTORY_VIEW, 30, sections=("item",)),
    NavLink("Locations", "web:locations", INVENTORY_VIEW, 40, sections=("location",)),
    NavLink("Alerts", "web:alerts", INVENTORY_VIEW, 50, sections=("alert",)),
]
