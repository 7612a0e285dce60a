"""The run archive at its public path; it lives in :mod:`nsga_lightning.search.store.archive`."""

from nsga_lightning.search.store.archive import Archive

__all__ = ["Archive"]
