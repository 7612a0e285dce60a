"""The search's evolution part (see docs/search-parts.md)."""
