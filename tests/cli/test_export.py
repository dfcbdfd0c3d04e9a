"""`conda-shared export` as users meet it: one env by path, Ctrl-C, kill -9, partial JSON."""

from __future__ import annotations

import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from conda_shared import export
from conda_shared.specs import SUFFIXES, file_key
from tests.roots import make_sample, run_cli, tree_digest

Capsys = pytest.CaptureFixture[str]


@pytest.fixture
def no_root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A user outside any shared root: no setting, and a Python that is no installation."""
    monkeypatch.delenv("CONDA_SHARED_ROOT", raising=False)
    monkeypatch.setattr(sys, "prefix", str(tmp_path / "plain-python"))


@pytest.mark.usefixtures("no_root")
def test_export_a_path_with_out_needs_no_root(tmp_path: Path, capsys: Capsys) -> None:
    root = make_sample(tmp_path)
    prefix = root / "v24.11" / "envs" / "nhis_reformat"
    out = tmp_path / "my specs"
    result = run_cli(capsys, "export", str(prefix), "--out", str(out))
    assert result.code == 0, result.err
    assert result.out.splitlines()[-1] == f"exported 1 of 1 environment to {out}"
    assert sorted(p.name for p in out.iterdir() if not p.name.startswith(".")) == [
        f"nhis_reformat{suffix}" for suffix in sorted(SUFFIXES.values())
    ]


@pytest.mark.usefixtures("no_root")
def test_export_without_root_or_out_asks_for_out(tmp_path: Path, capsys: Capsys) -> None:
    root = make_sample(tmp_path)
    result = run_cli(capsys, "export", str(root / "v24.11" / "envs" / "r_env"))
    assert result.code == 2
    assert result.err.count("\n") == 1 and "Pass --out DIR" in result.err
    named = run_cli(capsys, "export", "r_env", "--out", str(tmp_path / "out"))
    assert named.code == 2 and "--root" in named.err and named.err.count("\n") == 1


def _interrupt_at_third_env(monkeypatch: pytest.MonkeyPatch) -> None:
    real_read_env, calls = export.read_env, []

    def read_env(prefix: Path, **kwargs: Any) -> Any:
        calls.append(prefix)
        if len(calls) == 3:  # what SIGINT raises while the third env is read
            raise KeyboardInterrupt
        return real_read_env(prefix, **kwargs)

    monkeypatch.setattr(export, "read_env", read_env)


def test_ctrl_c_lists_the_envs_that_finished(
    tmp_path: Path, capsys: Capsys, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = make_sample(tmp_path)
    _interrupt_at_third_env(monkeypatch)
    result = run_cli(capsys, "export", "--root", str(root))
    assert result.code == 130
    lines = result.out.splitlines()
    assert [line.split(":")[0] for line in lines if line.startswith("ok")] == [
        "ok      editable_dev",
        "ok      gitdev",
    ]
    assert (
        lines[-2]
        == f"exported 2 of 13 environments from {root / 'v24.11'} to {root / 'specs/v24.11'}"
    )
    assert lines[-1].startswith("interrupted: 2 environments above complete, 11 not exported yet")


def test_ctrl_c_under_json_prints_a_partial_document(
    tmp_path: Path, capsys: Capsys, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = make_sample(tmp_path)
    _interrupt_at_third_env(monkeypatch)
    result = run_cli(capsys, "export", "--root", str(root), "--json")
    assert result.code == 130
    document = result.json()
    assert document["interrupted"] is True and document["ok"] is False
    assert document["selected"] == 13
    assert [e["name"] for e in document["envs"]] == ["editable_dev", "gitdev"]


def _change_every_env(root: Path, round_number: int) -> None:
    """Give each env a new content key: one record's sha256 changes."""
    for meta in sorted((root / "v24.11" / "envs").glob("*/conda-meta")):
        record = sorted(meta.glob("*.json"))[0]
        data = json.loads(record.read_text())
        data["sha256"] = f"{round_number:064x}"
        record.write_text(json.dumps(data))


def _keys_by_env(out: Path) -> dict[str, set[str | None]]:
    sets: dict[str, set[str | None]] = {}
    for manifest in out.glob("*.json"):
        stem = manifest.name[: -len(".json")]
        sets[stem] = {file_key(out / f"{stem}{suffix}") for suffix in SUFFIXES.values()}
    return sets


@pytest.mark.slow
def test_kill_9_mid_export_leaves_every_env_all_old_or_all_new(tmp_path: Path) -> None:
    root = make_sample(tmp_path)
    out = tmp_path / "out"
    command = [sys.executable, "-m", "conda_shared", "export", "--root", str(root)]
    command += ["--out", str(out)]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}

    def start() -> tuple[subprocess.Popen[bytes], float]:
        """Start an export; return it once it has begun exporting envs (its first progress line)."""
        child = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        assert child.stderr is not None
        first = child.stderr.readline()
        assert first.startswith(b"[1/13]"), (first + child.communicate()[1]).decode()
        return child, time.monotonic()

    child, started = start()
    child.communicate()
    exporting = time.monotonic() - started
    rng = random.Random(18)
    partial_rounds = 0
    for round_number in range(1, 9):
        before = {stem: keys.pop() for stem, keys in _keys_by_env(out).items()}
        _change_every_env(root, round_number)
        child, _ = start()
        time.sleep(rng.uniform(0.0, 1.0) * exporting)
        child.send_signal(signal.SIGKILL)
        child.communicate()
        export.fs.finish_interrupted(out)  # what the next export does first
        after = _keys_by_env(out)
        assert set(after) == set(before)
        changed = 0
        for stem, keys in after.items():
            assert len(keys) == 1, f"round {round_number}: {stem} has a mixed set {keys}"
            changed += keys != {before[stem]}
        partial_rounds += 0 < changed < len(after)
        assert not list(out.glob(".*pending")) and not list(out.glob(".*commit"))
    assert partial_rounds, "no kill landed mid-export: the test proved nothing"
    final = subprocess.run(command, check=False, capture_output=True, env=env, text=True)
    assert final.returncode == 0, final.stderr
    assert all(len(keys) == 1 for keys in _keys_by_env(out).values())


def test_export_leaves_the_source_byte_identical(tmp_path: Path, capsys: Capsys) -> None:
    root = make_sample(tmp_path)
    before = tree_digest(root / "v24.11")
    assert run_cli(capsys, "export", "--root", str(root)).code == 0
    assert tree_digest(root / "v24.11") == before


NOBODY = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"]


@pytest.fixture
def world_readable(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A folder another user can reach (pytest's own tmp folders are private to their owner)."""
    if os.geteuid() != 0 or not shutil.which("setpriv"):
        pytest.skip("needs root and setpriv to run the command as another user")
    place = Path(tempfile.mkdtemp(prefix="conda-shared-other-user-"))
    place.chmod(0o755)
    yield place
    shutil.rmtree(place)


def test_as_another_user_an_unreadable_env_is_one_line_and_out_one_error(
    world_readable: Path,
) -> None:
    root = make_sample(world_readable)
    subprocess.run(["chmod", "-R", "a+rX", str(root)], check=True)
    (root / "v24.11" / "envs" / "gitdev").chmod(0o700)
    command = [*NOBODY, sys.executable, "-m", "conda_shared", "export", "--root", str(root)]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path), "HOME": str(world_readable)}
    (world_readable / "mine").mkdir()  # made by root: not writable for nobody
    refused = subprocess.run(
        [*command, "--out", str(world_readable / "mine")],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert refused.returncode == 1 and refused.stdout == ""
    assert refused.stderr.splitlines() == [
        f"conda-shared: error: cannot write to the specs folder {world_readable / 'mine'}: "
        "permission denied. Pass --out with a directory you can write to, or run as a user "
        "who can write there"
    ]
    writable = world_readable / "theirs"
    writable.mkdir()
    writable.chmod(0o777)
    result = subprocess.run(
        [*command, "--out", str(writable)], env=env, capture_output=True, text=True, check=False
    )
    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stderr
    failed = [line for line in result.stdout.splitlines() if line.startswith("FAILED")]
    assert failed == [
        f"FAILED  gitdev: cannot read {root / 'v24.11/envs/gitdev/conda-meta'}: permission "
        "denied. Run the command as a user who can read the environment (for example its owner)"
    ]
    assert "exported 12 of 13 environments" in result.stdout
