"""Hard limits during evolution: children whose limits are known without training are never trained.

The limits on names the evaluator counts without training (its ``complexity(candidates)``: the trainer evaluator's
MAdds, parameters and predicted latency) are checked when a child is mated or sampled: the operators' duplicate
elimination (``duplicates.py``) treats a child over such a limit like a duplicate, so mating simply goes on (pymoo's
mating loop mates again until it has the children it needs), and so do sampling, the prior start, the exploitation
draws and the surrogate's inner search. Every child a limit kept from training is remembered with the values that
broke it, logged and stored in the archive's ``screened`` table (``score_name`` ``limits``, not selected) before the
generation's children train (:meth:`Limits.flush`); the surrogate's inner search, whose thousands of candidates are
never about to train, checks without remembering. The counts are deterministic (the analytic counts, the run's
latency snapshot) and drawn from the generation's RNG like any mating, so a resume and any worker count mate the same
children. Limits on names known only after training (the error, a measured latency) make a result infeasible instead
(``fidelity.violation``).
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

import numpy as np

from nsga_lightning.search.core.evaluator import Candidate, derive_seed
from nsga_lightning.search.core.limits import broken, describe_limits
from nsga_lightning.search.core.records import ScreenRow
from nsga_lightning.search.store.latency_record import LIMITS_SCREEN
from nsga_lightning.spaces import SearchSpace

log = logging.getLogger("nsga_lightning.search.runner")

Complexity = Callable[[Sequence[Candidate]], list[dict[str, float]]]


class Limits:
    """The limits of one search, checked on children before they train.

    Args:
        limits: name -> upper bound (checked: ``core.limits.check_limits``).
        space: the search space (decodes the genomes to count).
        complexity: counts candidates without training (``None``: nothing is known before training).
        seed: the run seed (the candidates handed to ``complexity`` carry their own seeds).

    Raises:
        ValueError: if ``complexity`` fails on a sampled genome while a limit needs it.
    """

    def __init__(self, limits: Mapping[str, float], space: SearchSpace, complexity: Complexity | None,
                 seed: int) -> None:
        self.limits, self.space, self.complexity, self.seed = dict(limits), space, complexity, int(seed)
        self.known = self._known_names()
        self.generation = 0
        self.recording = True
        self.skipped: dict[str, ScreenRow] = {}  # this generation's children kept from training, by key
        self._counted: dict[str, dict[str, float]] = {}

    def _known_names(self) -> tuple[str, ...]:
        """The limited names the complexity count gives (counted once on a sampled genome)."""
        if self.complexity is None or not self.limits:
            return ()
        genome = [int(g) for g in self.space.sample(np.random.default_rng(0), 1)[0]]
        key = self.space.key(genome)
        try:
            (values,) = self.complexity([Candidate(key, genome, 0, derive_seed(self.seed, key), self.space.decode(genome))])
        except Exception as error:  # noqa: BLE001 - any failure of the count is named in one line
            raise ValueError(f"the complexity count failed on a sampled genome ({type(error).__name__}: {error}); "
                             "search.constraints checks it before training") from None
        return tuple(sorted(name for name in self.limits if name in values))

    def check_reachable(self, samples: int = 200) -> None:
        """Refuse limits that no architecture meets: ``samples`` genomes drawn with a fixed seed (not the run's RNG)
        are counted, and if none is within the limits known before training the search could never train a child.

        Raises:
            ValueError: naming the limits and the smallest values found.
        """
        if not self.known:
            return
        genomes = [[int(g) for g in genome] for genome in self.space.sample(np.random.default_rng(1), samples)]
        candidates = [Candidate(self.space.key(g), g, 0, derive_seed(self.seed, self.space.key(g)),
                                self.space.decode(g)) for g in genomes]
        counted = self.complexity(candidates)
        known = {name: self.limits[name] for name in self.known}
        if any(not broken(values, known) for values in counted):
            return
        smallest = ", ".join(f"{name} {min(float(v[name]) for v in counted):.4g}" for name in self.known)
        raise ValueError(f"no architecture is within search.constraints {known}: of {samples} sampled, the smallest "
                         f"were {smallest}; loosen the limits")

    @property
    def checks_children(self) -> bool:
        """Whether some limit is known before training."""
        return bool(self.known)

    def describe(self) -> dict[str, Any]:
        """The ``limits`` entry of the operators' fingerprint block."""
        return describe_limits(self.limits, self.known)

    def begin(self, generation: int) -> None:
        """Start checking the children of ``generation`` (counts are cached within it)."""
        if generation != self.generation:
            self._counted.clear()
        self.generation = int(generation)

    @contextlib.contextmanager
    def unrecorded(self) -> Iterator[None]:
        """Check without remembering (the surrogate's inner search: its candidates are never about to train)."""
        before, self.recording = self.recording, False
        try:
            yield
        finally:
            self.recording = before

    def admit(self, genomes: Sequence[Sequence[int]], keys: Sequence[str]) -> np.ndarray:
        """Whether each child is within the limits known before training (remembering those that are not)."""
        if not self.known:
            return np.ones(len(keys), dtype=bool)
        todo = {k: [int(g) for g in genome] for k, genome in zip(keys, genomes) if k not in self._counted}
        if todo:
            candidates = [Candidate(k, g, self.generation, derive_seed(self.seed, k), self.space.decode(g))
                          for k, g in todo.items()]
            for candidate, values in zip(candidates, self.complexity(candidates), strict=True):
                self._counted[candidate.key] = {name: float(values[name]) for name in self.known}
        keep = np.ones(len(keys), dtype=bool)
        for i, key in enumerate(keys):
            over = broken(self._counted[key], {name: self.limits[name] for name in self.known})
            if over:
                keep[i] = False
                if self.recording and key not in self.skipped:
                    self.skipped[key] = ScreenRow(self.generation, key, LIMITS_SCREEN, None, dict(self._counted[key]),
                                                  False, "; ".join(over))
        return keep

    def flush(self, archive: Any, generation: int) -> int:
        """Store and log the children of ``generation`` the limits kept from training; returns how many."""
        rows = [r for r in self.skipped.values() if r.generation == generation]
        self.skipped = {k: r for k, r in self.skipped.items() if r.generation != generation}
        if rows:
            archive.record_screening(generation, rows)
            log.info("generation %d: %d children kept from training by search.constraints (e.g. %s: %s)", generation,
                     len(rows), rows[0].key, rows[0].error_text)
        return len(rows)


def make_limits(constraints: Mapping[str, float] | None, computed: Sequence[str], space: SearchSpace,
                complexity: Complexity | None, seed: int) -> Limits | None:
    """The checked limits of ``search.constraints`` (``None`` when there are none).

    Args:
        constraints: name -> upper bound.
        computed: the names the evaluator computes (a limit on any other is refused).
        space: the search space.
        complexity: counts without training (``None``: every limit is judged on trained results).
        seed: the run seed.

    Raises:
        ValueError: one line for a limit on a name nothing computes, a bound that is not a positive number, a
            complexity count that fails, or limits no sampled architecture meets.
    """
    from nsga_lightning.search.core.limits import check_limits

    limits = check_limits(constraints, computed)
    if not limits:
        return None
    found = Limits(limits, space, complexity, seed)
    found.check_reachable()
    return found
