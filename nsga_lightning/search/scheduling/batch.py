"""How a generation's new children are evaluated: the :class:`Schedule` interface and its three schedules.

:class:`OneBatch` trains every child fully in one batch; :class:`SynchronousRungs` trains them through the rungs of
successive halving with a barrier at each rung (``successive_halving.py``); :class:`AsynchronousRungs` promotes as
results arrive (MO-ASHA, ``async_halving.py``). Each schedule commits every result through the recorder and
describes its own block of the run fingerprint.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

from nsga_lightning.search.core.evaluator import Candidate, evaluate_all
from nsga_lightning.search.core.records import ArchiveRow
from nsga_lightning.search.evolution.fidelity import Fidelity
from nsga_lightning.search.recording.recorder import Recorder
from nsga_lightning.search.scheduling.async_halving import AsynchronousHalving
from nsga_lightning.search.scheduling.successive_halving import train_in_rungs


class Schedule(Protocol):
    """Evaluates a generation's new children and commits every result."""

    #: whether a child of the current generation found in the archive may still be trained further (rungs)
    resumes_own_generation: bool

    def evaluate(self, recorder: Recorder, children: Sequence[Candidate]) -> dict[str, ArchiveRow]:
        """The children's final rows by key."""
        ...

    def describe(self) -> dict[str, Any]:
        """This schedule's blocks of the run fingerprint (empty when it adds none)."""
        ...


class OneBatch:
    """Every child trained fully, in one batch (results committed as they arrive, in any order)."""

    resumes_own_generation = False

    def evaluate(self, recorder: Recorder, children: Sequence[Candidate]) -> dict[str, ArchiveRow]:
        """Train the batch (its prefix that fits the budget: ``recording/run_control.py``)."""
        return {c.key: recorder.commit(c, e) for c, e in evaluate_all(recorder.evaluator,
                                                                       recorder.control.admit(children),
                                                                       recorder.objectives)}

    def describe(self) -> dict[str, Any]:
        """No block: the default."""
        return {}


class SynchronousRungs:
    """Successive halving with a barrier at every rung.

    Args:
        fidelity: the rungs and the share promoted.
    """

    resumes_own_generation = True

    def __init__(self, fidelity: Fidelity) -> None:
        self.fidelity = fidelity

    def evaluate(self, recorder: Recorder, children: Sequence[Candidate]) -> dict[str, ArchiveRow]:
        """Train the children through the rungs."""
        return train_in_rungs(recorder, children, self.fidelity)

    def describe(self) -> dict[str, Any]:
        """The ``fidelity`` block."""
        return {"fidelity": self.fidelity.describe()}


class AsynchronousRungs(SynchronousRungs):
    """Successive halving promoting as results arrive (needs an evaluator that takes single submissions).

    Args:
        fidelity: the rungs and the share promoted.
        slots: candidates in flight at once.
    """

    def __init__(self, fidelity: Fidelity, slots: int) -> None:
        super().__init__(fidelity)
        self.slots = int(slots)

    def evaluate(self, recorder: Recorder, children: Sequence[Candidate]) -> dict[str, ArchiveRow]:
        """Train the children through the rungs, promoting as results arrive."""
        return AsynchronousHalving(recorder, children, self.fidelity, self.slots).run()
