"""Orchestration on the sample root with a FAKE target conda answering real captured documents:
ladder, classes, cleanup, existing envs, cache fill, resume, preflight, dry run, output."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from conda_shared.errors import SharedError
from conda_shared.replicate import task
from conda_shared.replicate.executors import local
from conda_shared.replicate.run import replicate
from conda_shared.replicate.runfolder import load_plan
from tests.roots import make_sample, run_cli, tree_digest, write_record
from tests.support.fake_target import add_fake_target

DATA = Path(__file__).parent.parent / "data" / "conda_errors" / "26.7.1"
ENVS = ("nhis_reformat", "mixed_numpy")


@pytest.fixture
def root(tmp_path: Path) -> Path:
    """The sample root plus `vfake`, an installation whose bin/python is the fake conda."""
    root = make_sample(tmp_path)
    add_fake_target(root)
    return root


def target(root: Path) -> Path:
    return (root / "vfake").resolve()


def rules(root: Path, *items: dict) -> None:  # type: ignore[type-arg]
    (target(root) / "fake-rules.json").write_text(json.dumps(list(items)))


def rule(match: str, case: str, *, download_only: bool = False) -> dict:  # type: ignore[type-arg]
    return {"match": match, "document": str(DATA / f"{case}.json"), "download_only": download_only}


def calls(root: Path) -> list[list[str]]:
    path = target(root) / "calls.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def creates(root: Path, prefix_name: str) -> list[list[str]]:
    return [
        c
        for c in calls(root)
        if "create" in c
        and "--download-only" not in c
        and c[c.index("--prefix") + 1].endswith(prefix_name)
    ]


def run(root: Path, *names: str, **options: object):  # type: ignore[no-untyped-def]
    return replicate(root=root, names=names, target="vfake", **options)  # type: ignore[arg-type]


def test_lock_first_then_smoke_diff_and_a_report_rebuilt_from_env_files(root: Path) -> None:
    result = run(root, *ENVS, jobs=2)
    report = result.report
    assert report is not None and report.finished is not None
    assert [e.name for e in report.envs] == list(ENVS)
    for env in report.envs:
        assert (env.status, env.strategy) == ("replicated", "lock")
        assert [a.strategy for a in env.attempts] == ["lock"]
        assert env.smoke is not None and env.smoke.ok
        assert env.diff is not None and env.diff.changed == ()
        assert Path(env.target_prefix, "conda-meta").is_dir()
        assert env.build_seconds > 0 and env.check_seconds > 0, "the time split is recorded"
        assert env.build_seconds + env.check_seconds == pytest.approx(env.seconds, abs=0.002)
        # a worker's first env also carries its start and imports, which can outlast a fake
        # conda's build: only the sign is certain here (test_report checks the accounting)
        assert env.cpu_seconds > 0, "the task's own CPU is recorded"
    assert report.cpu_seconds is not None and report.cpu_seconds > 0
    nhis = report.envs[0]
    assert nhis.diff is not None
    assert nhis.diff.removed == ("pyreadstat=1.2.7", "tqdm=4.66.1"), "the fake pip installs nothing"
    run_dir = report.run_dir
    assert run_dir.parent == root.resolve() / "reports"
    document = json.loads((run_dir / "report.json").read_text())
    assert list(document) == [
        "from",
        "to",
        "started",
        "finished",
        "cpu_seconds",
        "virtual_packages",
        "envs",
    ]
    assert set(document["envs"][0]) == {
        "name", "source_prefix", "target_prefix", "status", "strategy", "attempts",
        "failure_class", "failure_packages", "error", "transforms", "post_steps", "diff",
        "smoke", "log", "seconds", "build_seconds", "check_seconds", "cpu_seconds",
        "fix_options",
    }  # fmt: skip
    assert (run_dir / "envs" / "nhis_reformat.json").is_file()
    assert "| nhis_reformat | replicated | lock |" in (run_dir / "report.md").read_text()
    fills = [c for c in calls(root) if "--download-only" in c]
    assert len(fills) == 1, "the cache is filled once for every env"
    assert set(load_plan(run_dir).filled) == set(ENVS)
    assert not (run_dir / "cache-fill-prefix").exists()


def test_the_cache_fill_says_how_many_packages_are_in_the_cache_as_they_arrive(
    root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("conda_shared.replicate.cache._POLL_S", 0.02, raising=False)
    monkeypatch.setenv("FAKE_FETCH_SECONDS", "0.2")
    said: list[str] = []
    run(root, *ENVS, progress=said.append)
    counts = [line for line in said if line.startswith("package cache: ")]
    assert counts, f"no progress while the cache filled: {said}"
    total = int(counts[0].split(" of ")[1].split()[0])
    assert total >= 3, counts
    assert counts[0] == f"package cache: 0 of {total} packages"
    assert counts[-1] == f"package cache: {total} of {total} packages"
    numbers = [int(line.split()[2]) for line in counts]
    assert numbers == sorted(set(numbers)) and len(numbers) > 2, "it moved as packages arrived"
    first_build = next(i for i, line in enumerate(said) if line.startswith("building "))
    assert said.index(counts[-1]) < first_build


def test_the_ladder_falls_back_and_records_each_attempt(root: Path) -> None:
    rules(root, rule("numpy-1.26.4", "explicit-missing"))
    (env,) = run(root, "nhis_reformat").report.envs
    assert env.status == "replicated" and env.strategy == "pinned"
    assert [(a.strategy, a.ok, a.failure_class) for a in env.attempts] == [
        ("lock", False, "package-not-found"),
        ("pinned", True, None),
    ]
    assert env.attempts[0].packages == ("numpy=1.26.4",)
    log = Path(env.log).read_text()
    assert "# strategy lock" in log and "PathNotFoundError" in log and "# strategy pinned" in log


def test_a_ctrl_c_that_reaches_only_conda_stops_the_env_not_the_ladder_going_on(
    root: Path, tmp_path: Path
) -> None:
    """A run started with SIGINT ignored (`cmd &` in a script): conda alone gets the Ctrl-C."""
    stopped = tmp_path / "interrupt.json"
    stopped.write_text(
        json.dumps({"exception_name": "CondaSignalInterrupt", "message": "Signal interrupt SIGINT"})
    )
    rules(root, {"match": "numpy-1.26.4", "document": str(stopped), "download_only": False})
    (env,) = run(root, "nhis_reformat").report.envs
    assert env.status == "interrupted", env
    assert [a.strategy for a in env.attempts] in ([], ["lock"]), "no looser rung after a Ctrl-C"
    assert not Path(env.target_prefix).exists()


def test_a_failed_env_is_classified_and_never_stays_half_built(root: Path) -> None:
    rules(root, rule("python", "unsatisfiable"))
    result = run(root, *ENVS)
    envs = {e.name: e for e in result.report.envs}
    failed = envs["nhis_reformat"]
    assert failed.status == "failed"
    assert [a.strategy for a in failed.attempts] == ["lock", "pinned", "loose"]
    assert failed.failure_class == "unsatisfiable"
    assert failed.error and failed.error.startswith("The following specifications")
    assert not Path(failed.target_prefix).exists()
    assert result.report.summary() == "0 replicated, 2 failed: 2 unsatisfiable"
    lines = render(root, *ENVS).splitlines()
    assert lines[-3] == "0 replicated, 2 failed: 2 unsatisfiable"
    assert (
        lines[-2]
        == "target virtual packages: __archspec=x86_64, __glibc=2.36, __linux=6.1, __unix=0"
    )


def render(root: Path, *names: str) -> str:
    from conda_shared.cli.replicate import render_report

    report = run(root, *names).report
    assert report is not None
    return render_report(report)


def test_relax_unpins_exactly_what_loose_could_not_find(root: Path) -> None:
    rules(root, rule("python", "package-not-found"))
    (plain,) = run(root, "nhis_reformat").report.envs
    assert plain.status == "failed" and plain.failure_class == "package-not-found"
    assert plain.failure_packages == ("python=3.9",)
    rules(root, rule("python=", "package-not-found"), rule("python-", "package-not-found"))
    (relaxed,) = run(root, "nhis_reformat", relax=True).report.envs
    assert relaxed.status == "replicated" and relaxed.strategy == "relaxed"
    assert [a.strategy for a in relaxed.attempts] == ["lock", "pinned", "loose", "relaxed"]
    (last,) = creates(root, "nhis_reformat")[-1:]
    assert Path(last[last.index("--file") + 1]).name == "nhis_reformat.relaxed.txt"


def test_an_env_that_exists_in_the_target_is_skipped_untouched_unless_forced(root: Path) -> None:
    existing = target(root) / "envs" / "nhis_reformat"
    write_record(existing, {"name": "mine", "version": "1", "build": "0"})
    before = tree_digest(existing)
    (env,) = run(root, "nhis_reformat").report.envs
    assert env.status == "skipped" and tree_digest(existing) == before
    assert not creates(root, "nhis_reformat")
    (forced,) = run(root, "nhis_reformat", force=True).report.envs
    assert forced.status == "replicated"
    assert not (existing / "conda-meta" / "mine-1-0.json").exists()


def test_resume_finishes_a_killed_run_and_never_redoes_a_finished_env(root: Path) -> None:
    first = run(root, *ENVS).report
    run_dir = first.run_dir
    # what a SIGKILL mid-build leaves: no result, a half-built prefix with this run's marker
    (run_dir / "envs" / "mixed_numpy.json").unlink()
    half = target(root) / "envs" / "mixed_numpy"
    (half / ".conda-shared-build").write_text(json.dumps({"run": str(run_dir)}))
    (half / "conda-meta" / "partial.json").write_text("{")
    done_before = len(creates(root, "nhis_reformat"))

    resumed = replicate(root=root, resume=True).report
    assert resumed.run_dir == run_dir
    assert [e.status for e in resumed.envs] == ["replicated", "replicated"]
    assert len(creates(root, "nhis_reformat")) == done_before, "finished env not redone"
    assert not (half / "conda-meta" / "partial.json").exists()
    assert not (half / ".conda-shared-build").exists()
    assert resumed.started == first.started and resumed.finished is not None


def test_resume_with_relax_retries_the_failed_ones_with_the_fourth_rung(root: Path) -> None:
    rules(root, rule("python=", "package-not-found"), rule("python-", "package-not-found"))
    (failed,) = run(root, "nhis_reformat").report.envs
    assert failed.status == "failed"
    (fixed,) = replicate(root=root, resume=True, relax=True, target="vfake").report.envs
    assert fixed.strategy == "relaxed"
    with pytest.raises(SharedError, match="is not part of it"):
        replicate(root=root, resume=True, target="qa")


def test_a_package_gone_from_the_channel_is_dropped_from_the_cache_fill(root: Path) -> None:
    rules(root, rule("numpy-1.26.4", "explicit-missing", download_only=True))
    run_dir = run(root, *ENVS).report.run_dir
    fills = [c for c in calls(root) if "--download-only" in c]
    assert len(fills) == 2, "retried once without the missing tarball"
    assert load_plan(run_dir).filled == ("mixed_numpy",)


def test_preflight_names_the_command_that_fixes_the_target(root: Path) -> None:
    (target(root) / "conda-meta" / "conda-shared-0.1.0-0.json").unlink()
    with pytest.raises(SharedError) as error:
        run(root, "nhis_reformat")
    assert "conda-shared in the target's base" in error.value.message
    install = f"{target(root)}/bin/python -I -m conda install --prefix {target(root)} conda-shared"
    assert install in error.value.next_step
    assert not (root / "reports").exists()


def test_source_and_target_must_differ(root: Path) -> None:
    with pytest.raises(SharedError, match="same installation"):
        replicate(root=root, names=["nhis_reformat"], source="vfake", target="vfake")


def test_dry_run_prints_the_plan_and_touches_nothing(
    root: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run_cli(capsys, "inventory", "--root", str(root), "--write").code == 0
    before = tree_digest(root)
    result = run_cli(capsys, "replicate", "--root", str(root), "--to", "qa", "--dry-run")
    assert result.code == 1, "a failed preflight fails the dry run, as cutover --dry-run does"
    assert tree_digest(root) == before
    assert "super_important_jupyter_kernel: " in result.out
    assert "strategies: lock → pinned → loose" in result.out
    assert "preflight FAILED target conda runs" in result.out  # the sample's conda is not real
    assert "dry run: nothing was exported, created or written" in result.out


def test_a_dry_run_whose_preflight_passes_exits_0_so_it_can_gate_the_run(
    root: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    result = run_cli(
        capsys, "replicate", "--root", str(root), "--to", "vfake", "--dry-run", "--json", *ENVS
    )
    assert result.code == 0, result.err
    assert all(item["ok"] for item in result.json()["preflight"])


def test_default_set_is_what_the_inventory_marks_replicate(
    root: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = run_cli(capsys, "replicate", "--root", str(root), "--to", "vfake")
    assert missing.code == 2
    assert f"conda-shared inventory --root {root} --from v24.11 --write" in missing.err
    inventory = root / "mine.ini"
    inventory.write_text("nhis_reformat = REPLICATE\nmixed_numpy = export\n")
    ok = run_cli(
        capsys,
        "replicate",
        "--root",
        str(root),
        "--to",
        "vfake",
        "--inventory",
        str(inventory),
        "--json",
    )
    assert ok.code == 0, ok.err
    assert [e["name"] for e in ok.json()["envs"]] == ["nhis_reformat"]


def test_text_output_is_a_table_a_summary_and_where_the_report_is(
    root: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rules(root, rule("python", "package-not-found"))
    result = run_cli(
        capsys, "replicate", "--root", str(root), "--to", "vfake", *ENVS, "nhis_reformat"
    )
    assert result.code == 1
    lines = result.out.splitlines()
    assert lines[0].split() == ["ENV", "STATUS", "STRATEGY", "CLASS", "PACKAGES", "DETAIL"]
    assert lines[1].split()[:5] == [
        "nhis_reformat",
        "failed",
        "-",
        "package-not-found",
        "python=3.9",
    ]
    assert lines[-3] == "0 replicated, 2 failed: 2 package-not-found"
    assert lines[-2].startswith("target virtual packages: __archspec=x86_64, __glibc=2.36")
    assert lines[-1].startswith("report: ") and lines[-1].endswith(
        "report.md (and report.json, report.csv)"
    )
    assert "[1/2]" in result.err and "[2/2]" in result.err


def test_sigterm_stops_the_run_cleans_up_and_resume_finishes(root: Path, tmp_path: Path) -> None:
    rules(root, {"match": "numpy-1.21.5", "sleep": 120, "download_only": False})
    argv = [sys.executable, "-m", "conda_shared", "replicate", "--root", str(root), "--to", "vfake"]
    process = subprocess.Popen(
        [*argv, *ENVS, "--jobs", "2"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    half = target(root) / "envs" / "mixed_numpy" / "conda-meta"
    reports = root.resolve() / "reports"
    deadline = time.monotonic() + 60
    while not (half.is_dir() and list(reports.glob("*/envs/nhis_reformat.json"))):
        assert time.monotonic() < deadline and process.poll() is None, process.communicate()
        time.sleep(0.05)
    process.send_signal(signal.SIGTERM)
    _out, err = process.communicate(timeout=30)
    assert process.returncode == 130, err
    assert "interrupted; 1 of 2 envs finished" in err and "--resume" in err
    assert not half.parent.exists(), "the half-built env was removed"
    (run_dir,) = reports.iterdir()
    report = json.loads((run_dir / "report.json").read_text())
    assert [(e["name"], e["status"]) for e in report["envs"]] == [
        ("nhis_reformat", "replicated"),
        ("mixed_numpy", "interrupted"),
    ]
    assert report["finished"] is None

    rules(root)
    resumed = subprocess.run(
        [*argv[:-2], "--resume", "--json"], capture_output=True, text=True, check=False
    )
    assert resumed.returncode == 0, resumed.stderr
    assert [e["status"] for e in json.loads(resumed.stdout)["envs"]] == ["replicated"] * 2


def test_sigterm_stops_workers_of_a_run_started_with_sigint_ignored(root: Path) -> None:
    # `conda shared replicate ... &` in a script: the shell starts it with SIGINT ignored, and
    # its workers inherit that; SIGTERM must still stop them, not wait out the build.
    rules(root, {"match": "numpy-1.21.5", "sleep": 120, "download_only": False})
    ignoring = "import os, signal, sys; signal.signal(signal.SIGINT, signal.SIG_IGN); "
    ignoring += "os.execv(sys.executable, [sys.executable, *sys.argv[1:]])"
    argv = ["-m", "conda_shared", "replicate", "--root", str(root), "--to", "vfake", "mixed_numpy"]
    process = subprocess.Popen(
        [sys.executable, "-c", ignoring, *argv], stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    half = target(root) / "envs" / "mixed_numpy" / "conda-meta"
    deadline = time.monotonic() + 60
    while not half.is_dir():
        assert time.monotonic() < deadline and process.poll() is None, process.communicate()
        time.sleep(0.05)
    process.send_signal(signal.SIGTERM)
    try:
        _out, err = process.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()
        raise AssertionError("SIGTERM did not stop the worker: the run waited for it") from None
    assert process.returncode == 130, err
    assert not half.parent.exists(), "the half-built env was removed"


def test_a_pip_source_that_is_gone_fails_the_env_and_names_the_command(root: Path) -> None:
    (env,) = run(root, "editable_dev").report.envs
    assert (env.status, env.failure_class) == ("failed", "pip-failed")
    assert len(env.failure_packages) == 1, "the first gone source decides"
    manual = [p for p in env.post_steps if p.kind == "manual"]
    assert manual and not any(p.ok for p in manual)
    assert any(p.command.endswith("-e /home/alice/src/hhtool") for p in manual)
    assert env.error and "no longer exists; by hand: " in env.error
    assert not Path(env.target_prefix).exists()


def test_a_task_that_dies_mid_build_is_failed_and_its_half_built_env_removed(root: Path) -> None:
    rules(root, {"match": "numpy-1.21.5", "kill_task": True, "download_only": False})
    envs = {e.name: e for e in run(root, *ENVS, jobs=2).report.envs}
    died = envs["mixed_numpy"]
    assert (died.status, died.failure_class) == ("failed", "other")
    assert died.error == "replicate task crashed: exit status -9"
    assert not Path(died.target_prefix).exists()
    assert envs["nhis_reformat"].status == "replicated"


def test_specs_are_exported_first_when_missing_and_again_when_the_env_changed(
    root: Path,
) -> None:
    manifest = root.resolve() / "specs" / "v24.11" / "nhis_reformat.json"
    assert not manifest.exists()
    first = run(root, "nhis_reformat")
    assert f"exported nhis_reformat to {manifest.parent}" in first.notes
    exported_at = manifest.stat().st_mtime_ns
    assert "exported" not in " ".join(run(root, "nhis_reformat", force=True).notes)
    assert manifest.stat().st_mtime_ns == exported_at, "fresh specs are not exported again"
    history = root / "v24.11" / "envs" / "nhis_reformat" / "conda-meta" / "history"
    later = manifest.stat().st_mtime + 60
    os.utime(history, (later, later))
    again = run(root, "nhis_reformat", force=True)
    assert f"exported nhis_reformat to {manifest.parent}" in again.notes
    assert manifest.stat().st_mtime_ns != exported_at


def test_a_run_folder_that_cannot_be_made_is_one_clear_error(root: Path) -> None:
    (root / "reports").write_text("not a folder")
    with pytest.raises(SharedError) as error:
        run(root, "nhis_reformat")
    assert error.value.message.startswith(f"cannot create a run folder in {root.resolve()}/reports")
    assert "Run as a user who can write to" in error.value.next_step


def counted_tasks(monkeypatch: pytest.MonkeyPatch) -> list[bool]:
    """Every env process the local executor starts: True for a fork, False for a new Python."""
    started: list[bool] = []
    real_start = local._start

    def counting(run_dir: Path, index: int, folder: Path, *, fork: bool) -> object:
        started.append(fork)
        return real_start(run_dir, index, folder, fork=fork)

    monkeypatch.setattr(local, "_start", counting)
    return started


def test_each_env_builds_in_a_fork_of_the_run_and_is_charged_its_own_cpu(
    root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    started = counted_tasks(monkeypatch)
    names = ("nhis_reformat", "mixed_numpy", "legacy_mpc", "gitdev")

    report = run(root, *names, jobs=2).report

    assert report is not None and [e.name for e in report.envs] == list(names)
    assert started == [True] * 4, "one forked process per env, no interpreter started"
    assert all(env.cpu_seconds > 0 for env in report.envs), "each env is charged its own CPU"
    assert not list((report.run_dir / "logs").glob(".task-*")), "the stderr files are gone"
    assert json.loads((report.run_dir / "report.json").read_text())["envs"][-1]["name"] == "gitdev"


def test_with_another_thread_alive_each_env_is_a_new_task_process(
    root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A fork copies a lock another thread holds, locked for good: then no fork.
    started = counted_tasks(monkeypatch)
    stop = threading.Event()
    other = threading.Thread(target=stop.wait)
    other.start()
    try:
        report = run(root, "nhis_reformat", "mixed_numpy", jobs=2).report
    finally:
        stop.set()
        other.join()

    assert report is not None and [e.status for e in report.envs] == ["replicated"] * 2
    assert started == [False, False]
    assert all(env.cpu_seconds > 0 for env in report.envs)


def test_a_forked_task_starts_in_our_folder_with_the_callers_folder_off_sys_path(
    root: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # As `python -m conda_shared` run from a folder anyone could have written to: that folder
    # is the parent's sys.path[0]. A fork must not import from it, as `python -P` would not.
    caller = tmp_path / "caller"
    caller.mkdir()
    monkeypatch.chdir(caller)
    monkeypatch.setattr(sys, "path", [str(caller), *sys.path])
    seen = tmp_path / "seen.json"
    real_run_task = task.run_task

    def noting(run_dir: Path, index: int, **options: bool) -> object:
        seen.write_text(json.dumps({"cwd": os.getcwd(), "path": sys.path}))
        return real_run_task(run_dir, index, **options)

    monkeypatch.setattr(task, "run_task", noting)

    (env,) = run(root, "nhis_reformat").report.envs

    assert env.status == "replicated"
    child = json.loads(seen.read_text())
    assert str(caller) not in child["path"]
    assert Path(child["cwd"]).name.startswith("conda-shared-") and not Path(child["cwd"]).exists()


@pytest.mark.parametrize("forked", [True, False], ids=["forked", "new-process"])
def test_a_task_that_dies_takes_only_its_env_and_the_next_goes_on(
    root: Path, monkeypatch: pytest.MonkeyPatch, forked: bool
) -> None:
    real_start = local._start
    monkeypatch.setattr(
        local, "_start", lambda *args, fork: real_start(*args, fork=fork and forked)
    )
    rules(root, {"match": "numpy-1.21.5", "kill_task": True, "download_only": False})

    report = run(root, "mixed_numpy", "nhis_reformat", jobs=1).report

    assert report is not None
    envs = {e.name: e for e in report.envs}
    assert envs["mixed_numpy"].error == "replicate task crashed: exit status -9"
    assert not Path(envs["mixed_numpy"].target_prefix).exists()
    assert envs["nhis_reformat"].status == "replicated"
