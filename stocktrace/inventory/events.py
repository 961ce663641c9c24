EVENTS = {
    "site.created": "A site was created",
    "site.updated": "A site was renamed or its address changed",
    "site.archived": "A site was archived",
    "alert.raised": "A stock alert was raised (low stock, stockout, excess, expiring, expired, discrepancy)",
}
