"""Hold Ctrl-C and SIGTERM back across a step that must not stop half-way, then deliver them."""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager

_HELD = (signal.SIGINT, signal.SIGTERM)


@contextmanager
def interrupts_deferred() -> Iterator[None]:
    """Run the block whole; an interrupt that came meanwhile is raised when it ends.

    Only the main thread receives signals, so elsewhere this holds nothing back. When the block
    itself raises, that exception goes on and the interrupt is dropped: the caller is already
    unwinding.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    received: list[int] = []

    def note(signum: int, _frame: object) -> None:
        received.append(signum)

    previous = {held: signal.signal(held, note) for held in _HELD}
    try:
        yield
    finally:
        for held, handler in previous.items():
            signal.signal(held, handler)
    if received:
        raise KeyboardInterrupt
