"""Rung checkpoints of multi-fidelity training: where a promoted candidate continues from.

A candidate trained to a rung below the full epochs leaves ``RunDirectory.rung_checkpoint(key)`` (written to a
temporary name and renamed, so a killed process never leaves half a file); a promoted candidate continues from
it, and it is deleted once the candidate is final (stopped at its rung, or trained to the full epochs). A
checkpoint that is missing (another machine's disk, deleted by hand) or does not fit (saved at or beyond the
epochs asked for) is not an error: the candidate trains from its start to the rung, which gives the same weights
and error (``RungStop``), only slower.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import TYPE_CHECKING

from nsga_lightning.search.store.run_directory import RunDirectory

if TYPE_CHECKING:  # the search package imports no torch (the driver may only read archives)
    from lightning.pytorch import Trainer

log = logging.getLogger(__name__)


def continue_from(run: RunDirectory | None, key: str, epochs: int) -> str | None:
    """The checkpoint a candidate trained to ``epochs`` continues from, or ``None`` (train from the start)."""
    if run is None:
        return None
    path = run.rung_checkpoint(key)
    if not path.is_file():
        return None
    import torch

    try:
        saved = int(torch.load(path, map_location="cpu", weights_only=True)["epoch"])  # epochs done
    except Exception as error:  # noqa: BLE001 - a damaged checkpoint only costs the retraining
        log.warning("rung checkpoint %s cannot be read (%s); training %s from its start", path, error, key)
        return None
    if saved >= epochs:
        log.debug("rung checkpoint of %s holds %d epochs, %d asked for: training from the start", key, saved, epochs)
        return None
    return str(path)


def save_rung(trainer: Trainer, run: RunDirectory | None, key: str) -> None:
    """Save the candidate's state at its rung (atomically)."""
    if run is None:
        return
    path = run.rung_checkpoint(key)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial")
    trainer.save_checkpoint(partial)
    os.replace(partial, path)


def discard(run: RunDirectory | None, key: str) -> None:
    """Delete the rung checkpoint of a candidate that is final (nothing when there is none)."""
    if run is not None:
        Path(run.rung_checkpoint(key)).unlink(missing_ok=True)
