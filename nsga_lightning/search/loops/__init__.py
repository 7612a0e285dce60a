"""The search's loops part (see docs/search-parts.md)."""
