"""`conda shared replicate` progress: plain lines in a log, a live bar on a terminal."""

from __future__ import annotations

import io
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest

from conda_shared.cli.replicate import _progress
from tests.roots import make_sample, run_cli
from tests.support.fake_target import add_fake_target


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


def test_a_verb_imports_only_its_own_module_so_each_task_starts_fast() -> None:
    # `replicate --task` runs once per env: importing every verb was most of its own CPU time
    probe = (
        "import sys; from conda_shared.cli import VERBS, build_parser;"
        "build_parser(argv=['replicate', '--task', 'RUN', '0']);"
        "print(sorted(m for m in sys.modules if m.rpartition('.')[0] == 'conda_shared.cli'"
        " and m.rpartition('.')[2] in VERBS))"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True
    ).stdout
    assert out.strip() == "['conda_shared.cli.replicate']"
    full = probe.replace("argv=['replicate', '--task', 'RUN', '0']", "argv=['--help']")
    listed = subprocess.run(
        [sys.executable, "-c", full], capture_output=True, text=True, check=True
    ).stdout
    assert "conda_shared.cli.status" in listed, "without a verb, every verb is configured"


def test_without_qa_the_hint_names_the_option_that_sets_the_target(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = make_sample(tmp_path)
    (root / "qa").unlink()
    result = run_cli(capsys, "replicate", "--root", str(root), "nhis_reformat", "--dry-run")
    assert result.code == 2
    assert f"{root}/qa cannot be used: it is not set" in result.err
    assert "then name an installation with --to: conda-shared status" in result.err


def test_a_mistyped_env_name_stops_before_any_run_folder(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = make_sample(tmp_path)
    add_fake_target(root)  # a target whose preflight passes
    for extra in ((), ("--dry-run",)):
        argv = ("--root", str(root), "--to", "vfake", "nhis_reformatt", *extra)
        result = run_cli(capsys, "replicate", *argv)
        assert result.code == 2, result.err
        assert "no environment named 'nhis_reformatt'" in result.err
        assert "(did you mean nhis_reformat?)" in result.err
        assert not (root / "reports").exists() or not any((root / "reports").iterdir())


@pytest.mark.parametrize(
    "argv", [("cutover", "--to", ""), ("replicate", "--to", " "), ("export", "--from", "")]
)
def test_an_empty_installation_name_is_an_error_not_the_default(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], argv: tuple[str, ...]
) -> None:
    root = make_sample(tmp_path)
    result = run_cli(capsys, *argv, "--root", str(root), "--dry-run")
    assert result.code == 2
    assert "an empty installation name (is a variable unset?)" in result.err
