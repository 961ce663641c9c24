EVENTS = {
    "alert.raised": "A stock alert was raised (low stock, stockout, excess, expiring, expired, discrepancy)",
}
