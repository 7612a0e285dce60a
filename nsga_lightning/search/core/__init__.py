"""The search's core part (see docs/search-parts.md)."""
