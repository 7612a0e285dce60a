"""The search's scheduling part (see docs/search-parts.md)."""
