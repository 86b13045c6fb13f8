"""Schema migrations, one module per capability (applied in name order)."""
