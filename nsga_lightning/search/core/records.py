"""The archive's records: one evaluated architecture, one generation, and their JSON encodings."""

from __future__ import annotations

import functools
import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np


@dataclass(frozen=True)
class ArchiveRow:
    """One evaluated architecture."""

    key: str
    genome: list[int]
    genotype: Any
    generation: int
    seed: int
    status: str
    objectives: dict[str, float]
    seconds: float
    error_text: str | None
    created: str
    fidelity: dict[str, Any] | None = None

    @property
    def is_ok(self) -> bool:
        """Whether it was evaluated successfully (failed rows are infeasible)."""
        return self.status == "ok"

    @property
    def epochs(self) -> int | None:
        """Epochs trained (multi-fidelity runs; ``None`` otherwise: the full training)."""
        return None if self.fidelity is None else int(self.fidelity["epochs"])

    @property
    def stopped_early(self) -> bool:
        """An ok row of a multi-fidelity run whose training stopped at a rung below the full epochs: its error is
        a rung error, so it is never on a front or among the Pareto outputs."""
        return self.is_ok and self.fidelity is not None and self.epochs < int(self.fidelity["max_epochs"])

    @property
    def rung_errors(self) -> dict[int, float]:
        """Validation error at every rung reached (epochs -> error); empty outside multi-fidelity runs."""
        return {} if self.fidelity is None else {int(e): float(v) for e, v in self.fidelity["errors"].items()}

    def as_dict(self) -> dict[str, Any]:
        """A flat mapping (objectives as top-level ``error``/``madds``/``params`` keys), e.g. for plots."""
        flat = {"key": self.key, "generation": self.generation, "seed": self.seed, "status": self.status}
        flat.update(self.objectives)
        flat.update(
            seconds=self.seconds,
            error_text=self.error_text,
            genome=list(self.genome),
            genotype=self.genotype,
            created=self.created,
        )
        if self.fidelity is not None:
            flat.update(epochs=self.epochs, stopped_early=self.stopped_early,
                        rung_errors={str(e): v for e, v in self.rung_errors.items()})
        return flat


@dataclass(frozen=True)
class GenerationRow:
    """One completed generation: the surviving population and the RNG state to continue from."""

    generation: int
    population: list[str]
    rank: list[int | None]
    crowding: list[float | None]
    rng_state: dict[str, Any]
    created: str


@dataclass(frozen=True)
class SearchResult:
    """What :meth:`SearchRunner.run` returns.

    Attributes:
        status: "completed"; "already complete" (nothing was left to do: nothing was run or written); or
            "interrupted" (passed to ``on_search_end`` before the interrupt re-raises).
        generations: number of completed generations recorded in the archive.
        population: the rows of the last completed generation's population, in survival order.
        pareto: the non-dominated ok rows of the whole archive (see :func:`pareto_front`).
        n_evaluated: evaluator results received in this session (answers from the archive excluded).
        run_dir: the run directory.
        n_archived: architectures in the archive.
        n_failed: failed architectures in the archive.
        workers: candidates trained at once.
        busy_share: time the workers spent training / (workers x wall time spent waiting for them), in this
            session; ``None`` when nothing was trained.
        stopped_by: why the search ended: ``n_gens``, ``budget.evaluations``, ``budget.epochs``, ``budget.hours``
            or ``stop_when`` (``None``: interrupted).
        stop_text: the same in words, with what was spent.
        spent: ``evaluations``, ``epochs`` and ``seconds`` the search has spent, all sessions together.
    """

    status: str
    generations: int
    population: list[ArchiveRow]
    pareto: list[ArchiveRow]
    n_evaluated: int
    run_dir: Path
    n_archived: int = 0
    n_failed: int = 0
    workers: int = 1
    busy_share: float | None = None
    stopped_by: str | None = None
    stop_text: str | None = None
    spent: dict[str, Any] | None = None


def fingerprint(config: Mapping[str, Any]) -> str:
    """sha256 of the canonical JSON (sorted keys, compact) of ``config``."""
    return hashlib.sha256(canonical_json(config).encode()).hexdigest()


def canonical_json(value: Any) -> str:
    """Sorted-key compact JSON; numpy scalars and arrays become plain numbers and lists."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), default=json_default)


def json_default(value: Any) -> Any:
    """``json.dumps`` default: numpy arrays and scalars, tuples."""
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, tuple):
        return list(value)
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def archive_row(r: tuple) -> ArchiveRow:
    """An :class:`ArchiveRow` from an ``architectures`` row (columns in the order the archive selects).

    Decoded once per distinct stored row and process (the driver reads the whole archive several times a
    generation; decoding its JSON was about a quarter of a long cheap search's time): equal stored values give the
    same row object, so a caller must not change a row's lists or dicts (none does; copy them to change them)."""
    return _decoded(tuple(r))


@functools.lru_cache(maxsize=1 << 16)
def _decoded(r: tuple) -> ArchiveRow:
    key, genome, genotype, generation, seed, status, objectives, seconds, error_text, created, fidelity = r
    return ArchiveRow(
        key,
        json.loads(genome),
        json.loads(genotype) if genotype else None,
        int(generation),
        int(seed),
        status,
        json.loads(objectives),
        float(seconds),
        error_text,
        created,
        json.loads(fidelity) if fidelity else None,
    )


def generation_row(r: tuple) -> GenerationRow:
    """A :class:`GenerationRow` from a row of the ``generations`` table."""
    generation, population, rank, crowding, rng_state, created = r
    return GenerationRow(
        int(generation),
        json.loads(population),
        json.loads(rank),
        json.loads(crowding),
        json.loads(rng_state),
        created,
    )


def optional_int(value: Any) -> int | None:
    """``None`` stays ``None``; anything else becomes an int."""
    return None if value is None else int(value)


def optional_float(value: Any) -> float | None:
    """``None`` stays ``None``; anything else becomes a float."""
    return None if value is None else float(value)


def config_differences(old: Mapping[str, Any], new: Mapping[str, Any], prefix: str = "", limit: int = 6) -> str:
    """A short 'name: stored -> given' list of what differs between two configurations."""
    items: list[str] = []

    def walk(a: Any, b: Any, path: str) -> None:
        if isinstance(a, dict) and isinstance(b, dict):
            for name in sorted(set(a) | set(b)):
                walk(a.get(name, "<absent>"), b.get(name, "<absent>"), f"{path}.{name}" if path else name)
        elif a != b:
            items.append(f"{path or '<config>'}: stored {_short(a)} -> given {_short(b)}")

    walk(dict(old), dict(new), prefix)
    if not items:
        return "unknown (the stored configuration could not be compared)"
    more = f"; and {len(items) - limit} more" if len(items) > limit else ""
    return "; ".join(items[:limit]) + more


def _short(value: Any, width: int = 60) -> str:
    text = json.dumps(value, default=str)
    return text if len(text) <= width else text[: width - 3] + "..."


@dataclass(frozen=True)
class ScreenRow:
    """One screened child of a generation.

    Attributes:
        generation: the generation that mated it.
        key: its canonical key.
        score_name: ``synflow`` or ``naswot``.
        score: the zero-cost score (higher is better); ``None`` if it could not be computed.
        objectives: its complexity objectives (``madds``, ``params``) as counted before training.
        selected: whether it was chosen for training.
        error_text: why it has no score, if it has none.
    """

    generation: int
    key: str
    score_name: str
    score: float | None
    objectives: dict[str, float] = field(default_factory=dict)
    selected: bool = False
    error_text: str | None = None


class ReplayDivergedError(RuntimeError):
    """The recorded history cannot be replayed (the archive was changed, or the code behaves differently)."""
