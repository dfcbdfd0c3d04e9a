"""Interrupts: how a command ends on Ctrl-C or SIGTERM, and steps that must not stop half-way.

Imports nothing but `sys` at load time, so the standalone script can print a Ctrl-C that lands
while the rest of conda-shared is still loading like one that lands at any other moment.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager

MESSAGE = "interrupted; files are written whole or not at all, so nothing is half-written"
EXIT_CODE = 130


def json_error(*, name: str, message: str, next_step: str, return_code: int) -> str:
    """The JSON document every failing command prints under --json (conda's keys)."""
    import json

    return json.dumps(
        {
            "error": f"{name}: {message}. {next_step}",
            "exception_name": name,
            "message": message,
            "next_step": next_step,
            "return_code": return_code,
        },
        indent=2,
    )


def print_interrupted(*, as_json: bool, program: str) -> int:
    """One line on stderr, or one JSON document on stdout under --json; returns the exit code."""
    if as_json:
        print(
            json_error(
                name="KeyboardInterrupt",
                message=MESSAGE,
                next_step="Run the command again to finish",
                return_code=EXIT_CODE,
            )
        )
    else:
        print(f"{program}: {MESSAGE}", file=sys.stderr)
    return EXIT_CODE


@contextmanager
def sigterm_as_interrupt() -> Iterator[None]:
    """SIGTERM (a batch system, `kill`) stops the block the way Ctrl-C does."""
    import signal

    def interrupt(_signum: int, _frame: object) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


@contextmanager
def interrupts_deferred() -> Iterator[None]:
    """Run the block whole; an interrupt that came meanwhile is raised when it ends.

    Only the main thread receives signals, so elsewhere this holds nothing back. When the block
    itself raises, that exception goes on and the interrupt is dropped: the caller is already
    unwinding.
    """
    import signal
    import threading

    if threading.current_thread() is not threading.main_thread():
        yield
        return
    received: list[int] = []

    def note(signum: int, _frame: object) -> None:
        received.append(signum)

    previous = {held: signal.signal(held, note) for held in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for held, handler in previous.items():
            signal.signal(held, handler)
    if received:
        raise KeyboardInterrupt
