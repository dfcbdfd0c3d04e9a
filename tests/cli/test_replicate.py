"""`conda shared replicate` progress: plain lines in a log, a live bar on a terminal."""

from __future__ import annotations

import io
from types import SimpleNamespace

import pytest

from conda_shared.cli.replicate import _progress


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_is_plain_lines_when_not_a_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    stream = io.StringIO()
    monkeypatch.setattr("sys.stderr", stream)
    show = _progress(SimpleNamespace(json=False))
    assert show is not None
    show("building a")
    show("[1/2] a: replicated (lock) in 3s")
    assert stream.getvalue() == "building a\n[1/2] a: replicated (lock) in 3s\n"


def test_progress_on_a_terminal_keeps_finished_envs_above_a_bar(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    stream = Terminal()
    monkeypatch.setattr("sys.stderr", stream)
    show = _progress(SimpleNamespace(json=False))
    assert show is not None
    show("[1/4] a: replicated (lock) in 3s")
    show("building b")
    screen = stream.getvalue()
    assert "[1/4] a: replicated (lock) in 3s\n" in screen
    assert screen.endswith("\r\033[K[#######.......................] 1/4 building b")


def test_json_mode_prints_no_progress() -> None:
    assert _progress(SimpleNamespace(json=True)) is None
