"""`conda-shared doctor`: text, --json and exit codes, run as a user would."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from tests.roots import make_sample, run_cli

Capsys = pytest.CaptureFixture[str]


def test_doctor_on_the_sample_finds_the_broken_kernel(tmp_path: Path, capsys: Capsys) -> None:
    root = make_sample(tmp_path)
    result = run_cli(capsys, "doctor", "--root", str(root))
    assert result.code == 1
    lines = result.out.splitlines()
    assert lines[0] == f"conda-shared doctor: shared root {root}"
    assert "  v24.11  current   0.1.0" in lines
    assert "  v26.7   qa        not installed" in lines
    assert "problems (2):" in lines
    python = root / "current" / "envs" / "retired_env" / "bin" / "python"
    assert f"  [kernels] kernel retired_kernel: {python} does not exist" in lines
    mixed = root / "v24.11" / "envs" / "mixed_numpy"
    assert (
        f"  [overwritten] {mixed}: pip overwrote or removed files of conda packages numpy 1.21.5 "
        "(5 files, e.g. lib/python3.10/site-packages/numpy/__init__.py rewritten by pip's "
        "numpy 1.24.0)"
    ) in lines
    assert (
        f"      fix: Undo the pip install and restore conda's files: {mixed}/bin/python -m pip "
        f"uninstall -y numpy, then {root}/v24.11/bin/conda install -p {mixed} --force-reinstall "
        "numpy (pip packages belong in an overlay)"
    ) in lines
    assert not any(line.startswith("not checked") for line in lines)


def test_doctor_json(tmp_path: Path, capsys: Capsys) -> None:
    root = make_sample(tmp_path)
    os.chmod(root / "v24.11" / "envs", 0o777)
    result = run_cli(capsys, "doctor", "--root", str(root), "--json")
    assert result.code == 1
    data = result.json()
    assert data["root"] == str(root)
    assert [i["conda_shared_version"] for i in data["installations"]] == ["0.1.0", None]
    assert {p["check"] for p in data["problems"]} == {"kernels", "permissions", "overwritten"}
    assert [(w["path"], w["mode"]) for w in data["writable"]] == [
        (str(root / "v24.11" / "envs"), 0o777)
    ]
    assert all(note["severity"] == "note" for note in data["notes"])


def test_doctor_exits_0_on_a_healthy_root(tmp_path: Path, capsys: Capsys) -> None:
    root = make_sample(tmp_path)
    shutil.rmtree(root / "kernels" / "retired_kernel")
    shutil.rmtree(root / "v24.11" / "envs" / "mixed_numpy")  # pip overwrote its numpy
    result = run_cli(capsys, "doctor", "--root", str(root))
    assert result.code == 0
    assert "no problems found" in result.out


def test_doctor_on_a_missing_root_is_a_one_line_error(tmp_path: Path, capsys: Capsys) -> None:
    result = run_cli(capsys, "doctor", "--root", str(tmp_path / "nowhere"))
    assert result.code == 2
    assert result.out == ""
    assert result.err.count("\n") == 1 and "does not exist" in result.err
