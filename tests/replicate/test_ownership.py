"""What a replicate run may delete in the target (the fake target conda of test_run): only the
prefix carrying its own marker; one run per target env; `--force` keeps the old env until the
new one passed, through failures, Ctrl-C, SIGKILL and --resume."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from conda_shared.errors import SharedError
from conda_shared.replicate import ownership
from conda_shared.replicate.run import replicate
from conda_shared.replicate.task import run_task
from tests.replicate.test_run import creates, root, rule, rules, run, target  # noqa: F401
from tests.roots import tree_digest, write_record

MARKER = ".conda-shared-build"  # the name docs/replicate.md gives the marker
#: how long a slow build sleeps (every test interrupts it) and how long a step may take: long,
#: because a shared machine under load runs these subprocesses 30 times slower than idle
_SLOW_S = 600


def admin_env(root: Path, name: str) -> tuple[Path, str]:  # noqa: F811
    """An env the admin built by hand in the target; its digest to prove it untouched."""
    prefix = target(root) / "envs" / name
    write_record(prefix, {"name": "by-hand", "version": "1", "build": "0"})
    (prefix / "conda-meta" / "history").write_text("==> 2026-12-07 <==\n")
    return prefix, tree_digest(prefix)


_STARTED: list[subprocess.Popen[str]] = []


@pytest.fixture(autouse=True)
def no_run_left() -> Iterator[None]:
    """A failing test must not leave its run sleeping in a slow build."""
    yield
    while _STARTED:
        process = _STARTED.pop()
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.communicate()


def start(root: Path, *args: str) -> subprocess.Popen[str]:  # noqa: F811
    """`replicate` in its own process group, as a terminal runs it (Ctrl-C reaches them all)."""
    argv = [sys.executable, "-m", "conda_shared", "replicate", "--root", str(root), "--to", "vfake"]
    process = subprocess.Popen(
        [*argv, *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    _STARTED.append(process)
    return process


def wait_for(process: subprocess.Popen[str], reached: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + _SLOW_S
    while not reached():
        if process.poll() is not None or time.monotonic() > deadline:
            os.killpg(process.pid, signal.SIGKILL)
            pytest.fail(f"never reached {what}: {process.communicate()}")
        time.sleep(0.05)


def building(root: Path, name: str) -> Callable[[], bool]:  # noqa: F811
    """The target's conda is inside its create of `name` (the fake sleeps after its mkdir)."""
    meta = target(root) / "envs" / name / "conda-meta"
    return lambda: meta.is_dir() and not (meta / "by-hand-1-0.json").exists()


def leftovers(root: Path) -> list[str]:  # noqa: F811
    """Hidden entries in the target's envs/ other than the per-env lock files."""
    envs = target(root) / "envs"
    return sorted(p.name for p in envs.glob(".*") if not p.name.endswith(".lock"))


def test_resume_never_removes_an_env_built_by_hand_after_a_crashed_task(root: Path) -> None:  # noqa: F811
    rules(root, {"match": "numpy-1.21.5", "kill_task": True, "download_only": False})
    crashed = {e.name: e for e in run(root, "nhis_reformat", "mixed_numpy").report.envs}
    assert crashed["mixed_numpy"].status == "failed"
    prefix, digest = admin_env(root, "mixed_numpy")  # the admin builds it by hand meanwhile
    rules(root)

    resumed = {e.name: e for e in replicate(root=root, resume=True).report.envs}

    assert resumed["mixed_numpy"].status == "skipped"
    assert resumed["mixed_numpy"].error == f"{prefix} already exists and this run did not create it"
    assert tree_digest(prefix) == digest


def test_resume_clears_what_a_sigkill_left_while_the_prefix_folder_was_made(root: Path) -> None:  # noqa: F811
    rules(root, {"match": "numpy-1.21.5", "kill_task": True, "download_only": False})
    run(root, "mixed_numpy")
    run_dir = _run_dir(root)
    unborn = target(root) / "envs" / ".mixed_numpy.0badf00d.conda-shared-tmp"
    unborn.mkdir()
    (unborn / MARKER).write_text(json.dumps({"run": str(run_dir)}))
    rules(root)

    (env,) = replicate(root=root, resume=True).report.envs

    assert env.status == "replicated" and leftovers(root) == []


def test_a_removal_stopped_half_way_keeps_the_marker_and_resume_finishes_it(
    root: Path,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # As a SIGKILL during the cleanup of a failed env would leave it: the tree renamed aside,
    # part of it deleted. The marker goes last, so what is left still proves it this run's.
    rules(root, {"match": "numpy-1.21.5", "kill_task": True, "download_only": False})
    run(root, "mixed_numpy")
    run_dir = _run_dir(root)
    prefix = target(root) / "envs" / "mixed_numpy"
    ownership.mark(prefix, run_dir=run_dir)
    for name in ("bin", "lib", "conda-meta"):
        (prefix / name).mkdir()
        (prefix / name / "file").write_text(name)
    (prefix / "lib" / "stuck").write_text("")
    real_unlink = os.unlink

    def unlink_but_stuck(path: str, *args: object, **kwargs: object) -> None:
        if os.fspath(path).endswith("stuck"):
            raise PermissionError(13, "Permission denied", path)
        real_unlink(path, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(os, "unlink", unlink_but_stuck)
    with pytest.raises(SharedError):
        ownership.remove_if_ours(prefix, run_dir=run_dir)
    monkeypatch.setattr(os, "unlink", real_unlink)
    (aside,) = target(root).glob("envs/.mixed_numpy.*.conda-shared-tmp")
    assert (aside / MARKER).is_file() and not (aside / "bin").exists()
    rules(root)

    (env,) = replicate(root=root, resume=True).report.envs

    assert env.status == "replicated" and leftovers(root) == []


def test_a_task_reaching_its_run_folder_through_a_symlink_knows_its_own_marker(
    root: Path,  # noqa: F811
    tmp_path: Path,
) -> None:
    rules(root, {"match": "numpy-1.21.5", "kill_task": True, "download_only": False})
    run(root, "mixed_numpy")
    run_dir = _run_dir(root)
    (run_dir / "envs" / "mixed_numpy.json").unlink()
    half = target(root) / "envs" / "mixed_numpy"
    (half / "conda-meta").mkdir(parents=True)
    (half / MARKER).write_text(json.dumps({"run": str(run_dir)}))
    link = tmp_path / "run-link"
    link.symlink_to(run_dir)
    rules(root)

    result = run_task(link, 0)  # as a batch script may name it

    assert result.status == "replicated" and not (half / MARKER).exists()


def test_a_half_built_env_of_another_run_is_not_this_runs(root: Path) -> None:  # noqa: F811
    prefix = target(root) / "envs" / "mixed_numpy"
    (prefix / "conda-meta").mkdir(parents=True)
    other_run = root.resolve() / "reports" / "20261201T000000Z"
    (prefix / MARKER).write_text(json.dumps({"run": str(other_run)}))
    digest = tree_digest(prefix)

    (env,) = run(root, "mixed_numpy").report.envs

    assert env.status == "skipped" and tree_digest(prefix) == digest


def test_every_conda_call_finds_the_marker_and_a_replicated_env_keeps_none(root: Path) -> None:  # noqa: F811
    rules(root, rule("numpy-1.26.4", "explicit-missing"))  # two rungs: the marker comes back
    report = run(root, "nhis_reformat").report
    (env,) = report.envs
    assert env.status == "replicated" and len(env.attempts) == 2
    lines = (target(root) / "markers.jsonl").read_text().splitlines()
    assert len(lines) >= 2
    assert all(json.loads(line) == {"run": str(report.run_dir)} for line in lines)
    assert not (Path(env.target_prefix) / MARKER).exists()


def test_a_second_run_skips_an_env_that_a_first_run_is_building(root: Path) -> None:  # noqa: F811
    rules(root, {"match": "numpy-1.21.5", "sleep": _SLOW_S, "download_only": False})
    first = start(root, "mixed_numpy")
    wait_for(first, building(root, "mixed_numpy"), "the first run's build")
    (first_run,) = (root.resolve() / "reports").iterdir()
    half = target(root) / "envs" / "mixed_numpy"
    before = sorted(p.name for p in half.rglob("*"))
    rules(root, rule("numpy", "unsatisfiable"))  # the second run's conda would fail

    (second,) = run(root, "mixed_numpy", force=True).report.envs

    assert first.poll() is None, "the first run was still building"
    assert (second.status, second.error) == ("skipped", f"being built by run {first_run}")
    assert sorted(p.name for p in half.rglob("*")) == before, "the second run touched nothing"
    assert len(creates(root, "mixed_numpy")) == 1, "only the first run called conda for it"
    os.killpg(first.pid, signal.SIGINT)
    _out, err = first.communicate(timeout=_SLOW_S)
    assert first.returncode == 130, err
    assert not half.exists(), "the first run removed its own half-built env"


def test_ctrl_c_during_force_puts_the_old_env_back_and_status_says_interrupted(
    root: Path,  # noqa: F811
) -> None:
    prefix, digest = admin_env(root, "mixed_numpy")
    rules(root, {"match": "numpy-1.21.5", "sleep": _SLOW_S, "download_only": False})
    process = start(root, "mixed_numpy", "--force")
    wait_for(process, building(root, "mixed_numpy"), "the new build")
    assert leftovers(root) == [f".mixed_numpy.replaced-{_run_dir(root).name}"]

    os.killpg(process.pid, signal.SIGINT)  # Ctrl-C in the terminal
    _out, err = process.communicate(timeout=_SLOW_S)

    assert process.returncode == 130, err
    assert tree_digest(prefix) == digest, "the old env is back, as it was"
    assert leftovers(root) == []
    assert "mixed_numpy: interrupted" in err
    assert f"`conda-shared replicate --root {root} --resume --force`" in err, "--force kept"
    status = _status(root)
    assert status["mixed_numpy"][0] == "interrupted", status


def test_resume_after_a_sigkill_during_force_puts_the_old_env_back(root: Path) -> None:  # noqa: F811
    prefix, digest = admin_env(root, "mixed_numpy")
    rules(root, {"match": "numpy-1.21.5", "sleep": _SLOW_S, "download_only": False})
    process = start(root, "mixed_numpy", "--force")
    wait_for(process, building(root, "mixed_numpy"), "the new build")
    os.killpg(process.pid, signal.SIGKILL)  # nobody cleans up: a node failure
    process.communicate()
    assert (prefix / MARKER).is_file() and len(leftovers(root)) == 1
    rules(root)

    (env,) = replicate(root=root, resume=True).report.envs

    assert env.status == "skipped", "without --force the old env stays"
    assert tree_digest(prefix) == digest and leftovers(root) == []
    (forced,) = replicate(root=root, resume=True, force=True).report.envs
    assert forced.status == "replicated" and leftovers(root) == []
    assert not (prefix / "conda-meta" / "by-hand-1-0.json").exists()


def test_force_keeps_the_old_env_when_the_new_one_fails_or_fails_its_smoke_test(
    root: Path,  # noqa: F811
) -> None:
    prefix, digest = admin_env(root, "mixed_numpy")
    rules(root, rule("numpy", "unsatisfiable"))
    (failed,) = run(root, "mixed_numpy", force=True).report.envs
    assert (failed.status, failed.failure_class) == ("failed", "unsatisfiable")
    assert tree_digest(prefix) == digest and leftovers(root) == []

    rules(root, {"match": "numpy-1.21.5", "break_smoke": True, "download_only": False})
    (smoke,) = run(root, "mixed_numpy", force=True).report.envs
    assert (smoke.status, smoke.failure_class) == ("failed", "smoke-failed")
    assert smoke.error == (
        "the new env's smoke test failed: import broken_on_purpose; the env it was to replace "
        "is back"
    )
    assert tree_digest(prefix) == digest and leftovers(root) == []


def _run_dir(root: Path) -> Path:  # noqa: F811
    (run_dir,) = (root.resolve() / "reports").iterdir()
    return run_dir


def _status(root: Path) -> dict[str, tuple[str, str]]:  # noqa: F811
    argv = [sys.executable, "-m", "conda_shared", "replicate", "--root", str(root), "--status"]
    shown = subprocess.run([*argv, "--json"], capture_output=True, text=True, check=True)
    return {e["name"]: (e["state"], e["detail"]) for e in json.loads(shown.stdout)["envs"]}
