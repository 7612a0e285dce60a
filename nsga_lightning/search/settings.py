"""The search settings at their public path; they live in :mod:`nsga_lightning.search.assemble.settings`."""

from nsga_lightning.search.assemble.settings import SearchConfig, training_config

__all__ = ["SearchConfig", "training_config"]
