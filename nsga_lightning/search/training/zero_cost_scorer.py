"""ZeroCostScorer: the pre-screen's scores (``prescreen.py``) of untrained candidates, in the search's process.

Each candidate's proxy network is built as the evaluator trains it and initialised from the candidate's own seed
(the initialisation its training starts from), then scored by SynFlow or NASWOT (``nn/zero_cost.py``) on one
fixed batch: the first training batch drawn with the run seed, normalised as the datamodule does for evaluation.
The complexity objectives are counted on the same network. The global torch RNG is left as it was.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence

import torch

from nsga_lightning.nn.zero_cost import SCORES, naswot, synflow
from nsga_lightning.search.core.evaluator import Candidate
from nsga_lightning.search.evolution.generation_state import last_line
from nsga_lightning.search.training.fit_support import intra_op_threads, release_memory
from nsga_lightning.search.training.trainer_evaluator import TrainerEvaluator

log = logging.getLogger(__name__)


class ZeroCostScorer:
    """Score candidates before training (a :data:`~nsga_lightning.search.proposers.prescreen.Scorer`).

    Args:
        evaluator: the search's in-process evaluator (its datamodule, proxy options and thread count).
        score: ``synflow`` or ``naswot``.
        seed: seed of the fixed batch (the run seed).

    Raises:
        ValueError: for an unknown score.
    """

    def __init__(self, evaluator: TrainerEvaluator, score: str, seed: int) -> None:
        if score not in SCORES:
            raise ValueError(f"unknown zero-cost score {score!r}; allowed: {', '.join(SCORES)}")
        self.evaluator, self.score, self.seed = evaluator, score, int(seed)
        self._batch: torch.Tensor | None = None
        self.seconds = 0.0  # time spent scoring, for the search summary

    def batch(self) -> torch.Tensor:
        """The fixed float batch ``(N, C, H, W)`` every candidate is scored on."""
        if self._batch is None:
            datamodule = self.evaluator.datamodule
            with torch.random.fork_rng(devices=[]):
                self.evaluator.prepare()
                torch.manual_seed(self.seed)
                batch = next(iter(datamodule.train_dataloader()))
            images, _ = datamodule.on_after_batch_transfer(batch, 0)
            self._batch = images.float()
        return self._batch

    def __call__(self, candidates: Sequence[Candidate]) -> list[tuple[float | None, dict[str, float], str | None]]:
        """``(score or None, {"madds", "params"[, "latency"]}, error text or None)`` per candidate, in order."""
        start = time.perf_counter()
        results = []
        with torch.random.fork_rng(devices=[]), intra_op_threads(self.evaluator.num_threads):
            images = self.batch()  # prepares the datamodule too
            num_classes = self.evaluator.prepare()
            for candidate in candidates:
                results.append(self._score_one(candidate, images, num_classes))
        release_memory()  # once per generation: a collection costs ~0.4 s with Lightning loaded
        self.seconds += time.perf_counter() - start
        return results

    def _score_one(self, candidate: Candidate, images: torch.Tensor,
                   num_classes: int) -> tuple[float | None, dict[str, float], str | None]:
        try:
            torch.manual_seed(candidate.seed)  # the initialisation its training starts from
            module = self.evaluator.build_module(candidate, num_classes)
            complexity = module.compute_complexity()
            objectives = {"madds": float(complexity["madds"]), "params": float(complexity["params"])}
            latency = getattr(self.evaluator, "predicted_latency", None)  # the latency evaluator's prediction
            if latency is not None:
                objectives["latency"] = latency(candidate)
        except Exception as error:  # noqa: BLE001 - a network that cannot be built ranks last, the search goes on
            return None, {}, f"{type(error).__name__}: {last_line(str(error))}"
        try:
            if self.score == "synflow":
                value = synflow(module.network, tuple(images.shape[1:]))
            else:
                value = naswot(module.network, images)
        except Exception as error:  # noqa: BLE001 - no score: ranks last
            return None, objectives, f"{type(error).__name__}: {last_line(str(error))}"
        return value, objectives, None
