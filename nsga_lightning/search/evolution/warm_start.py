"""Warm starts (``search.warm_start``): what earlier runs and tables of known architectures bring to a new search.

Each source is a run directory, an export (``nsga-lightning archive export``) or a table of your own
(``store/exchange.py``). It must come from the same space (a run or an export: the same space block; a table of
your own: genomes this space accepts), else the search is refused in one line. Then:

* **the same evaluator fingerprint** (same data, epochs, model and trainer settings: the results would be the
  same): its architectures are this search's results already. They are imported into the archive (generation -1,
  with their source's seed, objectives and time; the ``warm_start`` table marks them), never trained again, and are
  on the front from the start; they do not count against a budget.
* **another setting** (other data, epochs, ... or a table without a fingerprint): its architectures are only
  prior knowledge. They seed the first population (trained anew here) and the surrogate's fit (its prior data),
  and are never this search's results.

The first population starts with the best ``pop_size`` of all sources' successful architectures (non-dominated
rank on this search's objectives, then crowding, then key; each key once, the first source winning), after
``initial_architectures`` and before the prior designs and random ones. Everything is decided once, when the
search starts, and stored in the archive in one transaction (``warm_start`` table and meta entry): a resume never
reads the sources again, so it and any worker count give the same archive. The run fingerprint holds the list
of sources as given.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
from pymoo.operators.survival.rank_and_crowding.metrics import calc_crowding_distance

from nsga_lightning.search.core.pareto import non_dominated_ranks
from nsga_lightning.search.core.records import ArchiveRow, canonical_json, config_differences
from nsga_lightning.search.evolution.initialization import resolve_architecture
from nsga_lightning.search.store.archive import Archive
from nsga_lightning.search.store.exchange import read_table
from nsga_lightning.search.store.run_directory import RunDirectory
from nsga_lightning.search.store.warm_table import WarmRow
from nsga_lightning.spaces import SearchSpace, space_block

log = logging.getLogger("nsga_lightning.search.runner")

WHAT = "search.warm_start"


@dataclass(frozen=True)
class Source:
    """One warm-start source, read.

    Attributes:
        name: the entry as given.
        evaluator: its evaluator fingerprint (``None``: unknown, a table of your own).
        rows: its architectures, keyed in this search's space.
    """

    name: str
    evaluator: Any
    rows: list[ArchiveRow]


def check_entries(entries: Any, run_dir: str | Path) -> list[str]:
    """The ``search.warm_start`` list, checked for form (each source is read by :class:`WarmStart`).

    Raises:
        ValueError: one line for a value that is not a list of paths, or the search's own run directory.
    """
    if entries is None:
        return []
    if isinstance(entries, str) or not isinstance(entries, Sequence) or not all(isinstance(e, str) for e in entries):
        raise ValueError(f"{WHAT} is a list of run directories or .csv/.yaml files, got {entries!r}")
    own = Path(run_dir).resolve()
    for entry in entries:
        if Path(entry).resolve() == own:
            raise ValueError(f"{WHAT} names the search's own run_dir ({entry}); running again there resumes it")
    return list(entries)


class WarmStart:
    """The warm start of one search (see the module docstring).

    Args:
        entries: the sources as given (``search.warm_start``).
        space: this search's space.
        objectives: this search's objectives.
        pop_size: the population size (the most seeds).
    """

    def __init__(self, entries: Sequence[str], space: SearchSpace, objectives: Sequence[str], pop_size: int) -> None:
        self.entries, self.space = list(entries), space
        self.objectives, self.pop_size = tuple(objectives), int(pop_size)
        self.sources: list[Source] | None = None

    def describe(self) -> dict[str, Any]:
        """The fingerprint block: the sources as given (empty without a warm start)."""
        return {"warm_start": list(self.entries)} if self.entries else {}

    def prepare(self, run: RunDirectory) -> None:
        """Read the sources now, unless the run directory holds this warm start already (a resume never reads
        them again: they may have changed or gone since)."""
        if self.entries and not warm_start_recorded(run):
            self.read()

    def read(self) -> None:
        """Read and check every source now (before the run directory is created).

        Raises:
            ValueError, FileNotFoundError: one line naming the source and what is wrong (another space, a genome
                this space rejects, no archive, an unreadable file).
        """
        self.sources = [self._read(entry) for entry in self.entries]

    def _read(self, entry: str) -> Source:
        path = Path(entry)
        if not path.exists():
            raise FileNotFoundError(f"{WHAT}: {entry} does not exist (give a search's run_dir, an export of "
                                    "nsga-lightning archive export or a .csv/.yaml table of your own)")
        if path.is_dir():
            run = RunDirectory(path)
            if not run.has_archive():
                raise FileNotFoundError(f"{WHAT}: {entry} holds no search archive (give a search's run_dir, or an "
                                        "exported .csv/.yaml)")
            with Archive(run) as archive:
                config, rows = archive.config(), archive.rows(order="completion")
        else:
            table = read_table(path, f"{WHAT}: {entry}")
            config, rows = table.config, table.rows
            if config is None:
                return Source(entry, None, [self._own_row(e, entry) for e in table.entries])
        stored = config.get("space")
        here = _plain(space_block(self.space))
        if stored != here:
            raise ValueError(f"{WHAT}: {entry} searched another space (differs in: "
                             f"{config_differences(stored or {}, here, 'space')}); a warm start needs the same space")
        return Source(entry, config.get("evaluator"), rows)

    def _own_row(self, entry: Mapping[str, Any], name: str) -> ArchiveRow:
        try:
            genome = resolve_architecture(self.space, entry["architecture"])
        except ValueError as error:
            text = str(error).removeprefix("search.initial_architectures: ")
            raise ValueError(f"{WHAT}: {name}, architecture {entry['number']}: {text}") from None
        genome = [int(g) for g in genome]
        return ArchiveRow(self.space.key(genome), genome, None, -1, 0, entry["status"],
                          dict(entry["objectives"]) if entry["status"] == "ok" else {}, 0.0, None, "")

    def apply(self, archive: Archive, evaluator: Mapping[str, Any] | None) -> list[np.ndarray]:
        """Record the warm start in a fresh archive (once), and return the first population's seeds.

        Args:
            archive: the search's open, writable archive.
            evaluator: this search's evaluator fingerprint.
        """
        if self.entries and archive.meta_json("warm_start") is None:
            if self.sources is None:
                self.read()
            self._record(archive, evaluator)
        seeds = sorted((r for r in archive.warm_rows() if r.position is not None), key=lambda r: r.position)
        return [np.asarray(r.genome, dtype=np.int64) for r in seeds]

    def _record(self, archive: Archive, evaluator: Mapping[str, Any] | None) -> None:
        here = canonical_json(evaluator)
        taken: dict[str, WarmRow] = {}
        results: list[ArchiveRow] = []
        summary = []
        for source in self.sources or []:
            same = source.evaluator is not None and canonical_json(source.evaluator) == here
            use = "result" if same else "prior"
            usable = [r for r in source.rows if not r.stopped_early and (same or r.is_ok)]
            if same and any(r.is_ok and any(n not in r.objectives for n in self.objectives) for r in usable):
                log.warning("%s: %s has results without every objective of this search (%s); it only seeds",
                            WHAT, source.name, ", ".join(self.objectives))
                use, usable = "prior", [r for r in usable if r.is_ok]
            added = 0
            for row in usable:
                if row.key in taken:
                    continue
                taken[row.key] = WarmRow(row.key, source.name, use, tuple(row.genome), row.status,
                                         dict(row.objectives))
                added += 1
                if use == "result":
                    results.append(replace(row, genotype=self.space.genotype_to_data(self.space.decode(row.genome))))
            summary.append({"source": source.name, "use": "results" if use == "result" else "seeds",
                            "architectures": added})
            log.info("%s: %d architecture(s) of %s %s", WHAT, added, source.name,
                     "reused as results (same evaluator fingerprint)" if use == "result"
                     else "as seeds and prior data (another setting)")
        rows = self._seeded(list(taken.values()))
        archive.record_warm_start(rows, results, summary)

    def _seeded(self, rows: list[WarmRow]) -> list[WarmRow]:
        """``rows`` with the positions of the best ``pop_size`` successful ones set (see the module docstring)."""
        ok = [r for r in rows if r.status == "ok"]
        names = [n for n in self.objectives if all(n in r.objectives for r in ok)]
        if ok and names:
            F = np.array([[float(r.objectives[n]) for n in names] for r in ok])
            ranks = non_dominated_ranks(F)
            crowding = np.zeros(len(ok))
            for rank in np.unique(ranks):
                members = np.flatnonzero(ranks == rank)
                crowding[members] = calc_crowding_distance(F[members])
            order = sorted(range(len(ok)), key=lambda i: (ranks[i], -crowding[i], ok[i].key))
            ok = [ok[i] for i in order]
        position = {r.key: i for i, r in enumerate(ok[: self.pop_size])}
        return [replace(r, position=position.get(r.key)) for r in rows]


def warm_start_recorded(run: RunDirectory) -> bool:
    """Whether the archive of ``run`` holds a warm start already."""
    if not run.has_archive():
        return False
    with Archive(run) as archive:
        return archive.meta_json("warm_start") is not None


def _plain(block: Any) -> Any:
    """A space block as the archive stores it (JSON: tuples become lists, numpy numbers plain)."""
    import json

    return json.loads(canonical_json(block))
