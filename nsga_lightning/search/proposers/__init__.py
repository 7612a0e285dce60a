"""The search's proposers part (see docs/search-parts.md)."""
