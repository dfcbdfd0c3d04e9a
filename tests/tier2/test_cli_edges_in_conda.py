"""Tier 2: `conda shared` at its edges inside real conda: OS errors, usage errors, hints."""

from __future__ import annotations

import json
import shlex
from pathlib import Path

import pytest

from tests.roots import make_sample
from tests.support.conda_runner import CondaRunner
from tests.support.hints import commands_in, texts_in

pytestmark = pytest.mark.tier2


def test_an_os_error_prints_like_condas_own_errors(conda_run: CondaRunner, tmp_path: Path) -> None:
    a_file = tmp_path / "hostname"
    a_file.write_text("x")
    result = conda_run("shared", "sample", a_file / "demo", check=False)
    assert result.returncode == 1
    assert "Traceback" not in result.stderr and "ERROR REPORT" not in result.stderr
    assert f"SharedError: Not a directory: {a_file}" in result.stderr
    as_json = conda_run("shared", "sample", a_file / "demo", "--json", check=False)
    assert as_json.returncode == 1
    assert json.loads(as_json.stdout)["message"].startswith("Not a directory")


def test_usage_errors_and_hints_say_conda_shared(conda_run: CondaRunner, tmp_path: Path) -> None:
    usage = conda_run("shared", "status", "--log", "-1", "--json", check=False)
    assert usage.returncode == 2
    assert json.loads(usage.stdout)["next_step"] == (
        "See the options with `conda shared status --help`"
    )
    root = make_sample(tmp_path)
    unset = conda_run("shared", "export", "--root", root, "--from", "previous", check=False)
    assert unset.returncode == 2
    assert f"then name an installation with --from: conda shared status --root {root}" in (
        unset.stderr
    )


def test_hints_under_conda_parse_back_with_the_program_and_root_typed(
    conda_run: CondaRunner, tmp_path: Path
) -> None:
    root = make_sample(tmp_path, "it's a root")
    printed = []
    for argv in (("qa", "set"), ("replicate", "--resume"), ("cutover", "--rollback", "--yes")):
        for as_json in ((), ("--json",)):
            result = conda_run("shared", *argv, "--root", root, *as_json, check=False)
            assert result.returncode == 2, result.stderr
            for output in (result.stdout, result.stderr):
                printed += [c for text in texts_in(output) for c in commands_in(text)]
    assert len(printed) == 9  # a text line, and a JSON document's error and next_step
    for program, rest in printed:
        assert program == "conda shared"
        words = shlex.split(rest)
        assert words[words.index("--root") + 1] == str(root)
