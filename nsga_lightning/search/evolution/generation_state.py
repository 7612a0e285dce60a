"""The state of a search between generations, read back from the archive: the population with its rank and
crowding, the RNG, and the one-line generation log."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from pymoo.core.population import Population

from nsga_lightning.search.core.pareto import objective_matrix
from nsga_lightning.search.core.records import ArchiveRow, GenerationRow
from nsga_lightning.search.evolution.fidelity import violation
from nsga_lightning.search.evolution.operators import make_population
from nsga_lightning.search.store.archive import Archive

log = logging.getLogger("nsga_lightning.search.runner")


def restore_rng(state: dict[str, Any]) -> np.random.Generator:
    """The generator whose ``bit_generator.state`` was recorded."""
    bit_generator = getattr(np.random, state["bit_generator"])()
    bit_generator.state = state
    return np.random.Generator(bit_generator)


def genomes(rows: Sequence[ArchiveRow], n_var: int) -> np.ndarray:
    """``(len(rows), n_var)`` int64 genomes of archive rows."""
    return np.array([r.genome for r in rows], dtype=np.int64).reshape(len(rows), n_var)


def population_of(rows: Sequence[ArchiveRow], objectives: Sequence[str], n_var: int,
                  limits: Mapping[str, float] | None = None) -> Population:
    """A pymoo population of archive rows (failed rows infeasible, stopped ones behind full ones, rows over
    ``limits`` infeasible by how far they are over: ``fidelity.py``)."""
    return make_population(genomes(rows, n_var), [r.key for r in rows], objective_matrix(rows, objectives),
                           [violation(r, limits) for r in rows])


def recorded_population(archive: Archive, row: GenerationRow, objectives: Sequence[str], n_var: int,
                        limits: Mapping[str, float] | None = None) -> Population:
    """Rebuild a recorded population (with its rank and crowding) from the archive."""
    pop = population_of(archive.get_many(row.population), objectives, n_var, limits)
    for ind, rank, crowding in zip(pop, row.rank, row.crowding):
        ind.set("rank", rank)
        ind.set("crowding", crowding)
    return pop


def log_generation(generation: int, rows: Sequence[ArchiveRow], objectives: Sequence[str]) -> None:
    """One INFO line: population size, failures, and best/mean/median/worst of every objective."""
    ok = [r for r in rows if r.is_ok]
    parts = [f"generation {generation}: {len(rows)} in population, {len(rows) - len(ok)} failed"]
    if ok:
        F = objective_matrix(ok, objectives)
        for j, name in enumerate(objectives):
            parts.append(f"{name} best {F[:, j].min():.4g} mean {F[:, j].mean():.4g} "
                         f"median {np.median(F[:, j]):.4g} worst {F[:, j].max():.4g}")
    log.info("; ".join(parts))


def last_line(text: str | None) -> str:
    """The last non-empty line of an error text (its exception line)."""
    lines = [line for line in (text or "").strip().splitlines() if line.strip()]
    return lines[-1] if lines else "(no error text)"


def check_runtime(archive: Archive, runtime: Mapping[str, Any] | None) -> None:
    """Record the evaluator's runtime settings (thread count; ``None``: it keeps none) in a new archive; warn when
    a resume uses others, since they can change the trained errors of the candidates still to come in the last
    bits."""
    if runtime is None:
        return
    current, stored = dict(runtime), archive.meta_json("runtime")
    if stored is None or len(archive) == 0:
        archive.set_meta("runtime", current)
        return
    changed = {k: (stored.get(k), v) for k, v in current.items() if stored.get(k) != v}
    if changed:
        text = ", ".join(f"{k} {old} -> {new}" for k, (old, new) in changed.items())
        log.warning("this run started with other runtime settings (%s): candidates trained from now on may differ "
                    "in the last bits from an uninterrupted run; resume with the recorded values for bit-identical "
                    "results", text)
