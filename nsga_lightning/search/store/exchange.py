"""An archive's architectures as a file (``nsga-lightning archive export``/``import``) and the files a warm start
reads: exports of this format, and tables you write yourself.

An export holds every architecture (completion order) with everything its row stores, and the run's stored
configuration (space, evaluator fingerprint, objectives...), so that importing it gives back an archive with the
same rows and fingerprint, and a warm start can tell whether its results were measured with the same settings:

* CSV: a first line ``# nsga-lightning export: {json}`` (read it with ``pandas.read_csv(path, skiprows=1)``), then
  one row per architecture: ``key, generation, seed, status``, one column per objective (JSON numbers), ``seconds,
  created, genome, genotype, fidelity, error_text`` (JSON where structured). Generation -1 marks an architecture
  a warm start imported.
* YAML: ``{nsga_lightning_export: 1, config: {...}, architectures: [{key, generation, ..., objectives: {...}}]}``.

A table of your own (no header line; CSV with a header row, or YAML: a list, or ``{architectures: [...]}``) gives
per architecture a ``genome`` (a list or ``"1,0,2,..."``) or an ``architecture`` (a zoo name of the built-in
spaces, or a genome) and its objective values (columns, or an ``objectives`` mapping); ``status`` defaults to ok.
It carries no evaluator fingerprint, so a warm start only seeds from it.
"""

from __future__ import annotations

import csv
import io
import json
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from nsga_lightning.search.core.evaluator import OBJECTIVES
from nsga_lightning.search.core.records import ArchiveRow

FORMATS = ("csv", "yaml")
EXPORT_VERSION = 1
CSV_MARK = "# nsga-lightning export: "
FIELDS = ("key", "generation", "seed", "status", "seconds", "created", "genome", "genotype", "fidelity",
          "error_text")
TEXT_FIELDS = ("key", "status", "created", "error_text")


@dataclass(frozen=True)
class Table:
    """Architectures read from a file or an archive.

    Attributes:
        config: the stored configuration of the run they come from (``None`` for a table of your own).
        rows: exported rows (complete); empty for a table of your own.
        entries: a table of your own: per architecture ``genome`` or ``architecture``, ``status`` and
            ``objectives`` as given (the space resolves them).
    """

    config: dict[str, Any] | None
    rows: list[ArchiveRow]
    entries: list[dict[str, Any]]


def objective_names(rows: Iterable[ArchiveRow]) -> list[str]:
    """The objective columns: error, madds, params where present, then the others sorted."""
    present = {name for row in rows for name in row.objectives}
    return [n for n in OBJECTIVES if n in present] + sorted(present - set(OBJECTIVES))


def export_text(config: Mapping[str, Any], rows: Sequence[ArchiveRow], fmt: str) -> str:
    """The export of ``rows`` (completion order) with the run's stored ``config``, as CSV or YAML.

    Raises:
        ValueError: for an unknown format.
    """
    if fmt not in FORMATS:
        raise ValueError(f"unknown export format {fmt!r}; allowed: {', '.join(FORMATS)}")
    header = {"nsga_lightning_export": EXPORT_VERSION, "config": dict(config)}
    if fmt == "yaml":
        entries = [{"key": r.key, "generation": r.generation, "seed": r.seed, "status": r.status,
                    "objectives": dict(r.objectives), "seconds": r.seconds, "created": r.created,
                    "genome": list(r.genome), "genotype": r.genotype, "fidelity": r.fidelity,
                    "error_text": r.error_text} for r in rows]
        return yaml.safe_dump({**header, "architectures": entries}, sort_keys=False, width=120)
    names = objective_names(rows)
    buffer = io.StringIO()
    buffer.write(CSV_MARK + json.dumps(header, sort_keys=True) + "\n")
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["key", "generation", "seed", "status", *names, *FIELDS[4:]])
    for r in rows:
        writer.writerow([r.key, r.generation, r.seed, r.status,
                         *("" if n not in r.objectives else json.dumps(r.objectives[n]) for n in names),
                         json.dumps(r.seconds), r.created, json.dumps(r.genome), json.dumps(r.genotype),
                         "" if r.fidelity is None else json.dumps(r.fidelity, sort_keys=True), r.error_text or ""])
    return buffer.getvalue()


def read_table(path: str | Path, what: str = "the file") -> Table:
    """Read an export or a table of your own (``.csv``, ``.yaml``/``.yml``).

    Raises:
        ValueError: one line naming ``what`` and the problem.
        FileNotFoundError: if there is no such file.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{what}: no such file {path}")
    text = path.read_text()
    if path.suffix.lower() == ".csv":
        return _read_csv(text, what)
    if path.suffix.lower() in (".yaml", ".yml"):
        return _read_yaml(text, what)
    raise ValueError(f"{what}: {path} is neither a .csv nor a .yaml file")


def _read_csv(text: str, what: str) -> Table:
    config = None
    if text.startswith(CSV_MARK):
        first, _, text = text.partition("\n")
        config = _header(json.loads(first[len(CSV_MARK):]), what)
    lines = list(csv.DictReader(io.StringIO(text)))
    if config is None:
        return Table(None, [], [_entry(line, what, i) for i, line in enumerate(lines, start=1)])
    rows = []
    for line in lines:
        objectives = {k: json.loads(v) for k, v in line.items() if k not in (*FIELDS, None) and v not in ("", None)}
        rows.append(ArchiveRow(line["key"], json.loads(line["genome"]), json.loads(line["genotype"]),
                               int(line["generation"]), int(line["seed"]), line["status"], objectives,
                               float(json.loads(line["seconds"])), line["error_text"] or None, line["created"],
                               json.loads(line["fidelity"]) if line["fidelity"] else None))
    return Table(config, rows, [])


def _read_yaml(text: str, what: str) -> Table:
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as error:
        raise ValueError(f"{what} is not valid YAML: {' '.join(str(error).split())}") from None
    if isinstance(data, Mapping) and "nsga_lightning_export" in data:
        config = _header(data, what)
        rows = [ArchiveRow(e["key"], list(e["genome"]), e.get("genotype"), int(e["generation"]), int(e["seed"]),
                           e["status"], dict(e.get("objectives") or {}), float(e.get("seconds", 0.0)),
                           e.get("error_text"), str(e.get("created", "")), e.get("fidelity"))
                for e in data.get("architectures") or []]
        return Table(config, rows, [])
    entries = data.get("architectures") if isinstance(data, Mapping) else data
    if not isinstance(entries, list):
        raise ValueError(f"{what} holds no list of architectures (a list of mappings, or architectures: [...])")
    return Table(None, [], [_entry(e, what, i) for i, e in enumerate(entries, start=1)])


def _header(header: Any, what: str) -> dict[str, Any]:
    if not isinstance(header, Mapping) or header.get("nsga_lightning_export") != EXPORT_VERSION:
        raise ValueError(f"{what} is an export of another version of nsga-lightning (format "
                         f"{header.get('nsga_lightning_export') if isinstance(header, Mapping) else '?'}, this "
                         f"version reads {EXPORT_VERSION})")
    return dict(header.get("config") or {})


def _entry(entry: Any, what: str, number: int) -> dict[str, Any]:
    """One architecture of a table of your own: genome or architecture, status, objectives."""
    if not isinstance(entry, Mapping):
        raise ValueError(f"{what}, architecture {number}: a mapping with genome (or architecture) and objectives, "
                         f"got {entry!r}")
    given = [k for k in ("genome", "architecture") if entry.get(k) not in (None, "")]
    if len(given) != 1:
        raise ValueError(f"{what}, architecture {number}: give a genome or an architecture (a zoo name), got "
                         f"{sorted(k for k in entry if k)}")
    value = entry[given[0]]
    status = str(entry.get("status") or "ok")
    if status not in ("ok", "failed"):
        raise ValueError(f"{what}, architecture {number}: status must be ok or failed, got {status!r}")
    objectives = dict(entry.get("objectives") or {})
    for name, raw in entry.items():
        if name in (*given, "status", "objectives", "key") or name is None or raw in (None, ""):
            continue
        try:
            number_value = float(raw)
        except (TypeError, ValueError):
            raise ValueError(f"{what}, architecture {number}: {name} is not a number ({raw!r})") from None
        objectives[str(name)] = number_value
    for name, raw in objectives.items():
        if isinstance(raw, bool) or not isinstance(raw, (int, float)) or not math.isfinite(raw):
            raise ValueError(f"{what}, architecture {number}: objective {name} is not a finite number ({raw!r})")
    if isinstance(value, str) and given[0] == "genome" and value.strip().startswith("["):
        value = json.loads(value)
    return {"architecture": value, "status": status, "objectives": objectives, "number": number}
