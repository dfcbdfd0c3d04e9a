"""interrupts_deferred: Ctrl-C and SIGTERM wait for the block, then arrive as KeyboardInterrupt."""

from __future__ import annotations

import os
import signal
import threading

import pytest

from conda_shared.interrupts import interrupts_deferred


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_an_interrupt_waits_for_the_block_then_arrives(signum: int) -> None:
    finished = []
    with pytest.raises(KeyboardInterrupt), interrupts_deferred():
        os.kill(os.getpid(), signum)
        finished.append("the rest of the block ran")
    assert finished == ["the rest of the block ran"]


def test_the_handlers_are_restored_after_the_block() -> None:
    before = signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM)
    with interrupts_deferred():
        pass
    assert (signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM)) == before


def test_an_error_of_the_block_goes_on_rather_than_the_interrupt() -> None:
    with pytest.raises(OSError, match="disk full"), interrupts_deferred():
        os.kill(os.getpid(), signal.SIGINT)
        raise OSError("disk full")


def test_outside_the_main_thread_it_holds_nothing_back() -> None:
    seen: list[object] = []

    def worker() -> None:
        with interrupts_deferred():
            seen.append(signal.getsignal(signal.SIGINT))

    before = signal.getsignal(signal.SIGINT)
    thread = threading.Thread(target=worker)
    thread.start()
    thread.join()
    assert seen == [before]
