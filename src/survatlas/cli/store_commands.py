"""Commands placeholder: filled by the foundation work (import, stats, export)."""
