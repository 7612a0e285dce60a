"""The evaluation interface at its public path; it lives in :mod:`nsga_lightning.search.core.evaluator`."""

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

__all__ = ["OBJECTIVES", "Candidate", "Evaluation", "Evaluator", "FunctionEvaluator", "check_evaluation",
           "derive_seed", "safe_evaluate"]
