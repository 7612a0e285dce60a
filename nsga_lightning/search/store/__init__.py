"""The search's store part (see docs/search-parts.md)."""
