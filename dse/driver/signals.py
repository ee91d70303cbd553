"""Ctrl-C and SIGTERM (what a cluster scheduler sends on preemption) as a clean stop of the driver."""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable
from typing import Any


class StopSignals:
    """Turns SIGINT and SIGTERM into ``KeyboardInterrupt`` and remembers them (``requested``, ``signum``).

    Python drops an exception raised while a finalizer or weakref callback runs (it only prints
    "Exception ignored in ..."), and during Ray's start SQLAlchemy's weakref callbacks run often enough
    that a Ctrl-C was lost and the study ran on to its end: the driver's loop checks ``requested`` too.
    Only Python's default SIGINT handler is replaced (an ignored SIGINT, e.g. under nohup, stays ignored);
    an ignored SIGTERM stays ignored too.
    """

    def __init__(self) -> None:
        self.requested = False
        self.signum = 0  # the first signal received, 0 if none
        self._old: dict[int, Any] = {}

    def catch(self) -> Callable[[], None]:
        """Install the handlers; returns what restores the old ones. Call again after Ray's start, which
        installs its own SIGTERM handler (a plain ``sys.exit``, which left the running trials RUNNING)."""
        if threading.current_thread() is not threading.main_thread():
            return lambda: None

        def on_signal(signum: int, frame: Any) -> None:
            self.requested = True
            self.signum = self.signum or signum
            raise KeyboardInterrupt

        on_signal.dse_driver = True  # type: ignore[attr-defined]
        for sig in (signal.SIGINT, signal.SIGTERM):
            current = signal.getsignal(sig)
            if getattr(current, "dse_driver", False):  # ours already
                continue
            if sig == signal.SIGINT and current is not signal.default_int_handler:
                continue
            if sig == signal.SIGTERM and current is signal.SIG_IGN:
                continue
            self._old.setdefault(sig, current)
            signal.signal(sig, on_signal)
        return self.restore

    def restore(self) -> None:
        for sig, old in self._old.items():
            signal.signal(sig, old if old is not None else signal.SIG_DFL)
