"""The search's training part (see docs/search-parts.md)."""
