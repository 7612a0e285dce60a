"""Ctrl-C around a candidate's ``Trainer.fit``: Lightning turns SIGINT inside ``fit`` into ``SystemExit`` and
ignores SIGINT from then on; the search remembers the handler before the fit and puts it back afterwards, so
that it can stop cleanly on ``KeyboardInterrupt`` with Ctrl-C working again."""

from __future__ import annotations

import signal
import threading
from typing import Any


def sigint_handler() -> Any:
    """The current SIGINT handler (``None`` outside the main thread, where signals cannot be handled)."""
    return signal.getsignal(signal.SIGINT) if threading.current_thread() is threading.main_thread() else None


def restore_sigint(handler: Any) -> None:
    """Put back a handler from :func:`sigint_handler` (no-op for ``None`` or outside the main thread)."""
    if handler is not None and threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGINT, handler)
