"""Every write of the inventory: the catalogue (locations, items, barcodes), the stock ledger and alerts, one
module each."""
