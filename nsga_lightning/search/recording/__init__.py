"""The search's recording part (see docs/search-parts.md)."""
