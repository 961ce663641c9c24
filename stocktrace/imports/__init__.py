"""Import and export of items, locations and opening stock (CSV and XLSX): streamed, checked first,
applied all-or-nothing."""
