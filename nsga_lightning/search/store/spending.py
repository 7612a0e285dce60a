"""What a search has spent, read from its archive: architectures trained, training epochs, and the wall-clock time
of its sessions, all counted across resumes.

The counts come from the rows themselves (``Archive.own_counts``: imported ones, generation -1, never count), so
they need no record of their own. The time is the sum of the search's sessions: the meta entry ``sessions`` holds one ``[start, end]``
pair (UTC ISO times) per session, the last one's end moved forward as the session goes (at every generation, and
at every result while an hours budget runs); a killed session counts up to its last such write.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from nsga_lightning.search.store.archive_file import utc_now

if TYPE_CHECKING:  # pragma: no cover
    from nsga_lightning.search.store.archive import Archive

SESSIONS = "sessions"


@dataclass(frozen=True)
class Spent:
    """What was spent.

    Attributes:
        evaluations: architectures trained (each once, at its first result).
        epochs: their training epochs (``None`` when a candidate's epochs are unknown: your own evaluator
            without rungs).
        seconds: wall-clock seconds of the search's sessions.
    """

    evaluations: int
    epochs: int | None
    seconds: float


def _time(text: str) -> datetime:
    return datetime.fromisoformat(text)


def sessions_of(archive: Archive) -> list[tuple[str, str]]:
    """The recorded sessions, oldest first (``[]`` for an archive without them)."""
    return [(str(a), str(b)) for a, b in archive.meta_json(SESSIONS) or []]


def session_seconds(sessions: Sequence[tuple[str, str]]) -> float:
    """Wall-clock seconds of the sessions together."""
    return sum(max(0.0, (_time(b) - _time(a)).total_seconds()) for a, b in sessions)


def elapsed_at(sessions: Sequence[tuple[str, str]], when: str) -> float | None:
    """Seconds of search time before ``when`` (a row's ``created``): the sessions before it, and the time since
    the start of the one it falls in; ``None`` before the first recorded session (an archive written before
    sessions were recorded)."""
    moment = _time(when)
    index = max((i for i, (start, _) in enumerate(sessions) if _time(start) <= moment), default=None)
    if index is None:
        return None
    # a row of a killed session may come after its last recorded end: the row proves the session lasted
    return session_seconds(sessions[:index]) + (moment - _time(sessions[index][0])).total_seconds()


class Sessions:
    """The current session's entry in an archive's ``sessions`` (writers only).

    Args:
        archive: the open, writable archive.
    """

    def __init__(self, archive: Archive) -> None:
        self.archive = archive
        self.started: str | None = None
        self.before = 0.0

    def start(self) -> None:
        """Append this session (start = end = now)."""
        recorded = sessions_of(self.archive)
        self.before = session_seconds(recorded)
        self.started = utc_now()
        self.archive.set_meta(SESSIONS, [*recorded, (self.started, self.started)])

    def touch(self) -> None:
        """Move this session's end to now."""
        if self.started is None:
            return
        recorded = sessions_of(self.archive)
        if recorded and recorded[-1][0] == self.started:
            recorded[-1] = (self.started, utc_now())
            self.archive.set_meta(SESSIONS, recorded)

    def seconds(self) -> float:
        """Seconds of every session, this one up to now."""
        if self.started is None:
            return session_seconds(sessions_of(self.archive))
        return self.before + max(0.0, (_time(utc_now()) - _time(self.started)).total_seconds())


def spent_line(spent: dict) -> str:
    """``12 evaluations, 36 epochs, 0.05 h`` (``spent``: ``evaluations``, ``epochs``, ``seconds``; epochs left out
    when unknown)."""
    parts = [f"{spent['evaluations']} evaluations"]
    if spent.get("epochs") is not None:
        parts.append(f"{spent['epochs']} epochs")
    parts.append(duration(float(spent.get("seconds") or 0.0)))
    return ", ".join(parts)


def duration(seconds: float) -> str:
    """``42 s``, ``3.5 min`` or ``1.25 h``."""
    if seconds < 60:
        return f"{seconds:.0f} s"
    return f"{seconds / 60:.1f} min" if seconds < 3600 else f"{seconds / 3600:.2f} h"
