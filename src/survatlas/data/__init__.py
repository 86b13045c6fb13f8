"""Small data files shipped with survatlas (published tables for demos and checks)."""
