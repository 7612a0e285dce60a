"""Surrogate-assisted search (NSGANetV2's loop): genome features, accuracy predictors, and the choice of the
children worth training."""

from nsga_lightning.search.surrogate.combined import AutoModel, EnsembleModel
from nsga_lightning.search.surrogate.features import MixedFeatures, OneHotFeatures
from nsga_lightning.search.surrogate.models import (
           MODELS,
           CannotFitError,
           Predictor,
           kendall_tau,
           make_model,
)
from nsga_lightning.search.surrogate.selection import SELECTIONS, hypervolume, select_children

__all__ = ["MODELS", "SELECTIONS", "AutoModel", "CannotFitError", "EnsembleModel", "MixedFeatures", "OneHotFeatures", "Predictor", "hypervolume",
           "kendall_tau", "make_model", "select_children"]
