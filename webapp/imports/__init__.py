"""Bringing orders in from a shop's export or a spreadsheet (CSV; Shopify's
and WooCommerce's exports recognised): reading the file safely (reading.py),
proposing which column is which field (mapping.py), and reading each cell as
the date, amount or quantity it is (values.py). Plain functions, no Flask and
no database: the preview and the import job share them."""
