"""Ctrl-C around a candidate's ``Trainer.fit``: Lightning turns SIGINT inside ``fit`` into ``SystemExit`` and
ignores SIGINT from then on; the search remembers the handler before the fit and puts it back afterwards, so
that it can stop cleanly on ``KeyboardInterrupt`` with Ctrl-C working again; and a SIGINT handler for a timer's
``interrupt_main`` where SIGINT has none (the hard time budget)."""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable
from typing import Any


def sigint_handler() -> Any:
    """The current SIGINT handler (``None`` outside the main thread, where signals cannot be handled)."""
    return signal.getsignal(signal.SIGINT) if threading.current_thread() is threading.main_thread() else None


def restore_sigint(handler: Any) -> None:
    """Put back a handler from :func:`sigint_handler` or :func:`interruptible_by_timer` (no-op for ``None`` or
    outside the main thread)."""
    if handler is not None and threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGINT, handler)


def interruptible_by_timer(fired: Callable[[], bool]) -> Any:
    """Make ``_thread.interrupt_main`` from a timer work where SIGINT is ignored or left to the OS (there it does
    nothing): install a handler that raises ``KeyboardInterrupt`` once ``fired()`` is true, and otherwise does what
    the disposition did (ignore; the OS default, terminating, becomes a clean stop as Ctrl-C's). SIGINT is
    inherited as ignored by a background job of a script (``cmd &``).

    Returns:
        The disposition replaced, for :func:`restore_sigint` (``None``: nothing was replaced, SIGINT already has
        a Python handler or this is not the main thread).
    """
    if threading.current_thread() is not threading.main_thread():
        return None
    current = signal.getsignal(signal.SIGINT)
    if current not in (signal.SIG_IGN, signal.SIG_DFL):
        return None

    def on_sigint(signum: int, frame: Any) -> None:
        if fired() or current == signal.SIG_DFL:
            raise KeyboardInterrupt
        # SIG_IGN: a real SIGINT, which whoever started this process chose to ignore

    signal.signal(signal.SIGINT, on_sigint)
    return current
