"""The per-layer lookup table of one target, cached on disk and shared by every run on that target.

One JSON file per target identity and protocol (:meth:`~nsga_lightning.latency.targets.Target.identity`: kind,
threads, batch size, processor or GPU, library versions) in the cache folder (``$NSGA_LIGHTNING_CACHE`` or
``~/.cache/nsga-lightning/latency``). It holds every layer group measured so far (key -> milliseconds, spread,
repeats) and the calibrations of the network settings searched so far. A run measures only the keys the file does
not hold yet, so the second search on the same machine (or another search of the same space) starts at once.
Entries are never changed once measured: a file written by two searches at once keeps the union, the first value
of a key winning. Delete the file to measure again.

Layer groups are measured in interleaved chunks, each with the same reference layer group (:data:`REFERENCE_KEY`),
and stored as their paired ratio to it times the reference's milliseconds from the table's first chunk: a chunk
measured while the machine was busier, or a key added by a later search, lands on the same scale as the rest.
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import torch

from nsga_lightning.latency.layers import Key, layer_module
from nsga_lightning.latency.protocol import Measurement, Protocol, measure
from nsga_lightning.latency.targets import Target

log = logging.getLogger(__name__)

TABLE_FORMAT = 1
CHUNK = 24  # layer groups measured together (interleaved) in one protocol run
CACHE_ENV = "NSGA_LIGHTNING_CACHE"
REFERENCE_KEY: Key = ("op", "sep_conv_3x3", 16, 1, 16)  # every chunk is paired with this layer group

# measures named runners with a protocol (the real one: protocol.measure; tests pass a deterministic one)
Measure = Callable[..., Mapping[str, Measurement]]


def key_text(key: Key) -> str:
    """A key as the table file stores it (compact JSON of the tuple)."""
    return json.dumps(key, separators=(",", ":"))


def text_key(text: str) -> Key:
    """A key read back from its text (lists become tuples)."""
    def tuples(value: Any) -> Any:
        return tuple(tuples(v) for v in value) if isinstance(value, list) else value

    return tuples(json.loads(text))


def group(key: Key) -> str:
    """The calibration group of a key: a cell operation by its name, anything else by its kind."""
    return str(key[1]) if key[0] == "op" else str(key[0])


def cache_dir(given: str | Path | None = None) -> Path:
    """The cache folder: ``given``, else ``$NSGA_LIGHTNING_CACHE/latency``, else ``~/.cache/nsga-lightning/latency``."""
    if given is not None:
        return Path(given).expanduser()
    root = os.environ.get(CACHE_ENV)
    return Path(root).expanduser() / "latency" if root else Path.home() / ".cache" / "nsga-lightning" / "latency"


def table_name(identity: Mapping[str, Any], protocol: Protocol) -> str:
    """The file name of a target's table: readable kind, threads and batch, then a hash of the whole identity."""
    import hashlib

    text = json.dumps({"target": dict(identity), "protocol": protocol.describe()}, sort_keys=True)
    digest = hashlib.sha256(text.encode()).hexdigest()[:12]
    return f"{identity['kind']}-t{identity.get('threads') or 0}-b{identity['batch_size']}-{digest}.json"


class LatencyTable:
    """Milliseconds of every layer group measured on one target.

    Args:
        target: the target.
        protocol: the measurement protocol.
        path: the table file (``None``: in memory only, nothing read or written).
        entries: entries to start from (``key text -> {"ms", "spread", "repeats"}``), e.g. a run's snapshot.
    """

    def __init__(self, target: Target, protocol: Protocol, path: str | Path | None = None,
                 entries: Mapping[str, Mapping[str, float]] | None = None) -> None:
        self.target, self.protocol = target, protocol
        self.path = None if path is None else Path(path)
        self.entries: dict[str, dict[str, float]] = {k: dict(v) for k, v in (entries or {}).items()}
        self.calibrations: dict[str, dict[str, Any]] = {}
        self.reference_ms: float | None = None  # the reference layer group's milliseconds in the first chunk
        if self.path is not None and self.path.is_file():
            self._merge(self._read())

    @classmethod
    def cached(cls, target: Target, protocol: Protocol, folder: str | Path | None = None) -> LatencyTable:
        """The table of ``target`` in the cache folder (:func:`cache_dir`), read if it exists."""
        return cls(target, protocol, cache_dir(folder) / table_name(target.identity(), protocol))

    def _read(self) -> dict[str, Any]:
        try:
            data = json.loads(self.path.read_text())
        except (OSError, ValueError) as error:
            raise ValueError(f"the latency table {self.path} cannot be read ({error}); delete it to measure "
                             "again") from None
        if not isinstance(data, dict) or data.get("format") != TABLE_FORMAT:
            raise ValueError(f"{self.path} is not a latency table of this version; delete it to measure again")
        return data

    def _merge(self, data: Mapping[str, Any]) -> None:
        """Take the entries and calibrations of ``data`` this table does not hold (what is here wins)."""
        for text, entry in data.get("entries", {}).items():
            self.entries.setdefault(text, dict(entry))
        for name, calibration in data.get("calibrations", {}).items():
            self.calibrations.setdefault(name, dict(calibration))
        if self.reference_ms is None and data.get("reference_ms") is not None:
            self.reference_ms = float(data["reference_ms"])

    def save(self) -> None:
        """Write the table (merged with what another process wrote meanwhile), atomically; nothing without a path."""
        if self.path is None:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        if self.path.is_file():
            self._merge(self._read())
        data = {"format": TABLE_FORMAT, "target": self.target.identity(), "protocol": self.protocol.describe(),
                "reference": key_text(REFERENCE_KEY), "reference_ms": self.reference_ms,
                "entries": dict(sorted(self.entries.items())), "calibrations": self.calibrations}
        handle, temporary = tempfile.mkstemp(dir=self.path.parent, prefix=".latency-", suffix=".json")
        with os.fdopen(handle, "w") as out:
            json.dump(data, out, indent=0, sort_keys=False)
        os.replace(temporary, self.path)

    def missing(self, keys: Iterable[Key]) -> list[Key]:
        """The keys without an entry, sorted by their text."""
        return sorted((k for k in set(keys) if key_text(k) not in self.entries), key=key_text)

    def measure(self, keys: Iterable[Key], measurer: Measure = measure) -> int:
        """Measure the keys the table does not hold yet (in interleaved chunks) and save the table.

        Args:
            keys: layer-group keys.
            measurer: ``measurer(runners, protocol) -> {name: Measurement}`` (:func:`~nsga_lightning.latency.
                protocol.measure`).

        Returns:
            How many keys were measured.
        """
        todo = self.missing(keys)
        if not todo:
            return 0
        log.info("measuring %d layer groups on %s (%d threads, batch %d): once per machine, cached in %s", len(todo),
                 self.target.kind, self.target.threads, self.target.batch_size, self.path or "memory")
        started = time.perf_counter()
        reference = "reference"
        for start in range(0, len(todo), CHUNK):
            runners = {reference: self._runner(REFERENCE_KEY)}
            runners.update({key_text(key): self._runner(key) for key in todo[start:start + CHUNK]})
            with torch.random.fork_rng(devices=[]):
                found = measurer(runners, self.protocol, reference=reference)
            if self.reference_ms is None:
                self.reference_ms = found[reference].ms
            for text, m in found.items():
                if text != reference:
                    ratio = m.ratio if m.ratio is not None else m.ms / found[reference].ms
                    self.entries[text] = {"ms": ratio * self.reference_ms, "spread": m.spread, "repeats": m.repeats}
            self.save()
        log.info("measured %d layer groups in %.1f s", len(todo), time.perf_counter() - started)
        return len(todo)

    def _runner(self, key: Key) -> Any:
        module, shape = layer_module(key, self.target.batch_size)
        return self.target.runner(module.to(self.target.device), self.target.example(shape))

    def ms(self, key: Key) -> float:
        """The milliseconds of one layer group.

        Raises:
            KeyError: if the table does not hold it.
        """
        entry = self.entries.get(key_text(key))
        if entry is None:
            raise KeyError(f"the latency table holds no layer group {key!r}")
        return float(entry["ms"])

    def total(self, plan: Sequence[Key]) -> float:
        """The sum of the table's milliseconds over a network's plan (each call counted)."""
        return float(sum(self.ms(key) for key in plan))

    def by_group(self, plan: Sequence[Key]) -> dict[str, float]:
        """The table's milliseconds over a network's plan, summed by group (:func:`group`)."""
        sums: dict[str, float] = {}
        for key in plan:
            sums[group(key)] = sums.get(group(key), 0.0) + self.ms(key)
        return sums

    def subset(self, keys: Iterable[Key]) -> dict[str, dict[str, float]]:
        """The entries of ``keys``, by key text.

        Raises:
            KeyError: for a key the table does not hold.
        """
        out = {}
        for key in sorted(set(keys), key=key_text):
            text = key_text(key)
            if text not in self.entries:
                raise KeyError(f"the latency table holds no layer group {key!r}")
            out[text] = dict(self.entries[text])
        return out
