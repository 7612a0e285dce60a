"""The archive's ``meta`` table: the configuration's fingerprint and JSON, the schema version, the creation time and
records such as the runtime settings."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from nsga_lightning.search.core.records import canonical_json, config_differences, fingerprint


def read_meta(db: sqlite3.Connection) -> dict[str, str]:
    """The ``meta`` table as a dict."""
    return dict(db.execute("SELECT name, value FROM meta").fetchall())


def write_meta(db: sqlite3.Connection, name: str, value: str) -> None:
    """Store (or replace) one entry; the caller holds the transaction."""
    db.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", (name, value))


def configuration_to_store(db: sqlite3.Connection, run_dir: Path, config: Mapping[str, Any],
                           is_empty: Callable[[], bool]) -> dict[str, str] | None:
    """What to store for ``config``: ``None`` when the archive holds it already, else the entries
    (``fingerprint``, ``config``) of a new archive, or of one where nothing was evaluated yet (``is_empty``).

    Raises:
        ValueError: if the archive holds results of a different configuration (naming what differs) or of
            another configuration format.
    """
    text, digest = canonical_json(config), fingerprint(config)
    stored = read_meta(db)
    if stored.get("fingerprint") == digest:
        return None
    if "fingerprint" in stored and not is_empty():
        old = json.loads(stored.get("config", "{}"))
        if old.get("format") != config.get("format"):
            raise ValueError(
                f"the run directory {run_dir} holds a search made by another version of nsga-lightning "
                f"(configuration format {old.get('format', 1)}, this version writes {config.get('format')}); "
                "finish it with that version or use a new run_dir")
        differences = config_differences(old, json.loads(text))
        raise ValueError(
            f"the run directory {run_dir} holds a search with a different configuration "
            f"(differs in: {differences}); resume with the original configuration or use a new run_dir"
        )
    return {"fingerprint": digest, "config": text}
