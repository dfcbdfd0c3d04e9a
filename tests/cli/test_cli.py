"""The command line as users meet it: help, output, --json, exit codes, one-line errors."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.roots import make_installation, make_sample, run_cli, tree_digest

Capsys = pytest.CaptureFixture[str]


def test_help_lists_every_verb_without_conda() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "conda_shared", "--help"], capture_output=True, text=True, check=True
    ).stdout
    for verb in ("status", "inventory", "export", "sample"):
        assert verb in out


def test_no_verb_prints_help_and_fails(capsys: Capsys) -> None:
    result = run_cli(capsys)
    assert result.code == 2
    assert "usage: conda-shared" in result.out


def test_sample_then_status(tmp_path: Path, capsys: Capsys) -> None:
    made = run_cli(capsys, "sample", str(tmp_path / "root"))
    assert made.code == 0
    assert f"next: conda-shared status --root {tmp_path / 'root'}" in made.out
    status = run_cli(capsys, "status", "--root", str(tmp_path / "root"))
    assert status.code == 0
    assert "current  -> v24.11" in status.out
    assert "previous (not set)" in status.out
    assert "retired_kernel  !! " in status.out
    assert "v26.7   qa        26.7.1" in status.out


def test_status_json(tmp_path: Path, capsys: Capsys) -> None:
    root = make_sample(tmp_path)
    data = run_cli(capsys, "status", "--root", str(root), "--json", "--sizes").json()
    assert data["root"] == str(root)
    assert [i["name"] for i in data["installations"]] == ["v24.11", "v26.7"]
    assert data["installations"][0]["env_count"] == 13
    assert data["installations"][0]["size_bytes"] > 0
    assert data["installations"][1]["conda_shared_version"] is None
    assert data["problems"] == []


def test_status_of_a_root_with_dangling_current(tmp_path: Path, capsys: Capsys) -> None:
    make_installation(tmp_path / "v24.11")
    (tmp_path / "current").symlink_to("v26.9")
    result = run_cli(capsys, "status", "--root", str(tmp_path))
    assert result.code == 1
    assert "current  -> v26.9  !! dangling: v26.9 does not exist" in result.out
    assert "problem: current: dangling" in result.out


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda p: p / "nope", "shared root {p}/nope does not exist"),
        (lambda p: (p / "f").write_text("x") and p / "f", "is not a directory"),
        (lambda p: (p / "plain").mkdir() or p / "plain", "is not a shared root"),
    ],
)
def test_bad_roots_are_one_line_and_write_nothing(
    tmp_path: Path, capsys: Capsys, make, message: str
) -> None:  # type: ignore[no-untyped-def]
    root = make(tmp_path)
    before = tree_digest(tmp_path)
    for verb in ("status", "inventory", "export"):
        result = run_cli(capsys, verb, "--root", str(root))
        assert result.code == 2
        assert result.out == ""
        lines = result.err.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("conda-shared: error: ")
        assert message.format(p=tmp_path) in lines[0]
    assert tree_digest(tmp_path) == before


def test_installation_without_conda_meta(tmp_path: Path, capsys: Capsys) -> None:
    root = make_sample(tmp_path)
    (root / "v26.7" / "conda-meta").rename(root / "v26.7" / "meta.bak")
    result = run_cli(capsys, "export", "--root", str(root), "--from", "v26.7")
    assert result.code == 2
    assert "is not a conda installation: it has no conda-meta/ directory" in result.err


def test_errors_under_json_are_structured(tmp_path: Path, capsys: Capsys) -> None:
    result = run_cli(capsys, "status", "--root", str(tmp_path / "nope"), "--json")
    assert result.code == 2
    data = result.json()
    assert data["exception_name"] == "InputError"
    assert data["next_step"].startswith("Pass --root")


def test_inventory_then_export_by_inventory(tmp_path: Path, capsys: Capsys) -> None:
    root = make_sample(tmp_path)
    inventory = run_cli(capsys, "inventory", "--root", str(root), "--write", "--no-sizes")
    assert inventory.code == 0
    written = root / "specs" / "v24.11" / "inventory.ini"
    assert f"wrote {written}: 13 added" in inventory.out
    text = written.read_text().replace("gitdev = export", "gitdev = skip")
    written.write_text(text)
    exported = run_cli(capsys, "export", "--root", str(root), "--inventory", str(written), "--json")
    assert exported.code == 0
    data = exported.json()
    assert data["ok"] is True
    assert "gitdev" not in {e["name"] for e in data["envs"]}
    assert len(data["envs"]) == 12


def test_export_exit_code_when_one_env_fails(tmp_path: Path, capsys: Capsys) -> None:
    root = make_sample(tmp_path)
    result = run_cli(capsys, "export", "--root", str(root), "r_env", "missing_env")
    assert result.code == 1
    assert "ok      r_env:" in result.out
    assert "FAILED  missing_env: no environment named 'missing_env'" in result.out
    assert "exported 1 of 2 environments" in result.out


def test_root_from_environment_variable(
    tmp_path: Path, capsys: Capsys, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = make_sample(tmp_path)
    monkeypatch.setenv("CONDA_SHARED_ROOT", str(root))
    assert run_cli(capsys, "status").code == 0


def test_closed_pipe_is_quiet(tmp_path: Path) -> None:
    root = make_sample(tmp_path)
    command = [sys.executable, "-m", "conda_shared", "inventory", "--root", str(root), "--no-sizes"]
    reader_gone = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert reader_gone.stdout is not None and reader_gone.stderr is not None
    reader_gone.stdout.close()  # like `| head` exiting before the first line is written
    code = reader_gone.wait()
    assert b"Traceback" not in reader_gone.stderr.read()
    assert code == 141


def test_options_between_positionals(tmp_path: Path, capsys: Capsys) -> None:
    root = tmp_path / "root"
    run_cli(capsys, "sample", str(root))
    qa = run_cli(capsys, "qa", "set", "--root", str(root), "v26.7")
    assert qa.code == 0, qa.out + qa.err
    assert (root / "qa").resolve() == (root / "v26.7").resolve()
    exported = run_cli(
        capsys, "export", "isis3.6.0", "--root", str(root), "--out", str(tmp_path / "o"), "r_env"
    )
    assert exported.code == 0, exported.out + exported.err
    assert sorted(p.name for p in (tmp_path / "o").glob("[!.]*.lock")) == [
        "isis3.6.0.lock",
        "r_env.lock",
    ]
    extra = run_cli(capsys, "qa", "set", "--root", str(root), "v26.7", "v24.11")
    assert extra.code == 2
    assert "qa does not take v24.11" in extra.err
