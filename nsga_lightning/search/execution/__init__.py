"""The search's execution part (see docs/search-parts.md)."""
