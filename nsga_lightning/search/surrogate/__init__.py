"""Surrogate-assisted search (NSGANetV2's loop): genome features, accuracy predictors, and the choice of the
children worth training."""

from nsga_lightning.search.surrogate.features import OneHotFeatures
from nsga_lightning.search.surrogate.models import (
           MODELS,
           AutoModel,
           CannotFitError,
           Predictor,
           kendall_tau,
           make_model,
)
from nsga_lightning.search.surrogate.selection import SELECTIONS, hypervolume, select_children

__all__ = ["MODELS", "SELECTIONS", "AutoModel", "CannotFitError", "OneHotFeatures", "Predictor", "hypervolume",
           "kendall_tau", "make_model", "select_children"]
