"""The search's assemble part (see docs/search-parts.md)."""
