"""The search: evaluation interface, NSGA-Net operators, the SQLite archive, the runner and Pareto helpers.

This is the only package that imports pymoo. It never imports ``nsga_lightning.data``, torch or lightning
(the trainer-based evaluator, ``trainer_evaluator`` with ``fit_support``, is imported explicitly).
"""

from nsga_lightning.search.callback import SearchCallback
from nsga_lightning.search.core.evaluator import (
    OBJECTIVES,
    Candidate,
    Evaluation,
    Evaluator,
    FunctionEvaluator,
    check_evaluation,
    derive_seed,
    safe_evaluate,
)
from nsga_lightning.search.core.pareto import (
    format_objective,
    hypervolume,
    non_dominated_ranks,
    objective_matrix,
    pareto_front,
    write_pareto_csv,
)
from nsga_lightning.search.core.records import ArchiveRow, GenerationRow, fingerprint
from nsga_lightning.search.evolution.duplicates import KeyDuplicateElimination
from nsga_lightning.search.evolution.fidelity import Fidelity
from nsga_lightning.search.evolution.mutation import IntegerPolynomialMutation
from nsga_lightning.search.evolution.operators import NSGANetOperators, SpaceSampling
from nsga_lightning.search.evolution.tournament import binary_tournament
from nsga_lightning.search.proposers.prescreen import Prescreen
from nsga_lightning.search.runner import SearchResult, SearchRunner
from nsga_lightning.search.store.archive import Archive

__all__ = [
    "OBJECTIVES",
    "Archive",
    "ArchiveRow",
    "Candidate",
    "Evaluation",
    "Evaluator",
    "Fidelity",
    "FunctionEvaluator",
    "GenerationRow",
    "IntegerPolynomialMutation",
    "KeyDuplicateElimination",
    "NSGANetOperators",
    "Prescreen",
    "SearchCallback",
    "SearchResult",
    "SearchRunner",
    "SpaceSampling",
    "binary_tournament",
    "check_evaluation",
    "derive_seed",
    "fingerprint",
    "format_objective",
    "hypervolume",
    "non_dominated_ranks",
    "objective_matrix",
    "pareto_front",
    "safe_evaluate",
    "write_pareto_csv",
]
