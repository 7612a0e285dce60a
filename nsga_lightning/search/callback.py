"""Search callbacks: hooks the runner calls during a search (logging, progress bars, pictures).

Subclass :class:`SearchCallback` and override the hooks you need; any object with some of these methods works
too (the runner calls only the hooks an object has). Hooks run in the search process, between evaluations;
an exception in a hook stops the search (the archive keeps what finished).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pragma: no cover
    from nsga_lightning.search.core.evaluator import Candidate, Evaluation
    from nsga_lightning.search.core.records import ArchiveRow
    from nsga_lightning.search.runner import SearchResult, SearchRunner
    from nsga_lightning.search.store.archive import Archive

HOOKS = ("on_search_start", "on_generation_start", "on_candidate_end", "on_generation_end", "on_search_end",
         "on_search_complete")


class SearchCallback:
    """No-op base class of search callbacks."""

    def on_search_start(self, runner: SearchRunner) -> None:
        """Called once at the start of :meth:`SearchRunner.run` (also when resuming)."""

    def on_generation_start(
        self, runner: SearchRunner, generation: int, candidates: Sequence[Candidate]
    ) -> None:
        """Called before a generation's new candidates go to the evaluator (``candidates`` may be empty)."""

    def on_candidate_end(self, runner: SearchRunner, candidate: Candidate, evaluation: Evaluation) -> None:
        """Called after each new evaluation is committed (not for keys answered from the archive)."""

    def on_generation_end(
        self, runner: SearchRunner, generation: int, population: Sequence[ArchiveRow], archive: Archive
    ) -> None:
        """Called after survival, once the generation row is committed; ``population`` are the survivors."""

    def on_search_end(self, runner: SearchRunner, result: SearchResult) -> None:
        """Called at the end of :meth:`SearchRunner.run`; ``result.status``: "completed"/"interrupted"."""

    def on_search_complete(self, runner: SearchRunner, result: SearchResult) -> None:
        """Called instead of every other hook when :meth:`SearchRunner.run` finds the search already complete
        (nothing to train); write nothing that is already up to date."""
