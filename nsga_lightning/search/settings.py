"""The search settings at their public path; they live in :mod:`nsga_lightning.search.assemble.settings` (the
training config of a Pareto architecture in :mod:`nsga_lightning.search.assemble.retrain`)."""

from nsga_lightning.search.assemble.retrain import training_config
from nsga_lightning.search.assemble.settings import SearchConfig

__all__ = ["SearchConfig", "training_config"]
