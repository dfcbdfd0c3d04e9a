"""SIGKILL `replicate --jobs 2` after the plan, mid-build and between envs; `--resume` finishes.

The whole process group is killed (as a node failure, scancel or a closed terminal would), so
no conda subprocess lives on to finish what it started.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.support.channel import Channel
from tests.support.installation import installation_environ
from tests.support.replication import (
    EnvRecipe,
    Migration,
    build_migration,
    envs_by_name,
    latest_run,
    remove_package,
)

pytestmark = [pytest.mark.tier2, pytest.mark.slow]

HEALTHY = ("one", "two", "three", "four")
_POLL_S = 0.02
_WAIT_S = 300.0


@pytest.fixture(scope="module")
def migration(tmp_path_factory: pytest.TempPathFactory) -> Migration:
    work = tmp_path_factory.mktemp("e2e-fault")
    channel = Channel(work / "channel")
    channel.add_basics()
    channel.add("oldlib", "1.0")
    channel.index()
    envs = (
        EnvRecipe("one", ("python", "tidy-util")),
        EnvRecipe("two", ("python", "pip", "libdata")),
        EnvRecipe("three", ("libdata",)),
        EnvRecipe("four", ("python", "pip", "tidy-util", "libdata")),
        EnvRecipe("gone", ("oldlib=1.0",)),
    )
    built = build_migration(work, envs=envs, main_channel=channel)
    remove_package(channel, "oldlib", "1.0")
    built.export()
    return built


def start(migration: Migration, *args: str) -> subprocess.Popen[bytes]:
    output = migration.home / "replicate-output.txt"
    with output.open("ab") as sink:  # a file, not a pipe: nobody reads it while it runs
        return subprocess.Popen(
            migration.replicate_argv("--jobs", "2", *args),
            stdout=sink,
            stderr=sink,
            env=installation_environ(migration.home),
            start_new_session=True,  # its own process group, conda children included
        )


def kill_when(process: subprocess.Popen[bytes], point: str, reached: Callable[[], bool]) -> None:
    """SIGKILL the run's whole process group the moment `reached()` is true."""
    deadline = time.monotonic() + _WAIT_S
    while not reached():
        if process.poll() is not None:
            pytest.fail(f"the run ended ({process.returncode}) before {point}")
        if time.monotonic() > deadline:
            break
        time.sleep(_POLL_S)
    os.killpg(process.pid, signal.SIGKILL)
    process.wait()
    assert reached(), f"never reached {point}"


def results(migration: Migration) -> dict[str, Path]:
    """envs/NAME.json of the newest run: the envs whose outcome is known."""
    try:
        run_dir = latest_run(migration.root)
    except (AssertionError, FileNotFoundError):
        return {}
    return {p.stem: p for p in (run_dir / "envs").glob("*.json")}


def replicated_now(migration: Migration) -> set[str]:
    return {
        name
        for name, path in results(migration).items()
        if json.loads(path.read_text())["status"] == "replicated"  # written atomically
    }


def building(migration: Migration) -> bool:
    """Some env exists in the target whose outcome is not known yet: conda is building it."""
    known = results(migration)
    return any(name not in known for name in migration.target_envs())


def test_sigkill_at_any_point_then_resume_finishes_with_exactly_the_good_envs(
    migration: Migration,
) -> None:
    names = migration.source_envs()

    run = start(migration, *names)
    kill_when(run, "the plan", lambda: any((migration.root / "reports").glob("*/plan.json")))
    run_dir = latest_run(migration.root)

    run = start(migration, "--resume")
    kill_when(run, "a build", lambda: building(migration))

    run = start(migration, "--resume")
    done_before = replicated_now(migration)
    kill_when(run, "the end of an env", lambda: len(replicated_now(migration) - done_before) > 0)
    finished = {
        name: (migration.target / "envs" / name / "conda-meta" / "history").stat().st_mtime_ns
        for name in replicated_now(migration)
    }

    final = migration.replicate("--resume", "--jobs", "2", "--json")

    assert final.returncode == 1, final.stderr  # one env cannot be built
    assert latest_run(migration.root) == run_dir, "every resume continued the same run"
    document = json.loads(final.stdout)
    assert document["finished"] is not None
    envs = envs_by_name(document)
    assert sorted(envs) == names
    replicated = sorted(name for name, env in envs.items() if env["status"] == "replicated")
    assert replicated == sorted(HEALTHY)
    assert envs["gone"]["failure_class"] == "package-not-found"
    assert migration.target_envs() == replicated, "no half-built env is left in the target"
    for name in replicated:
        target_env = migration.target / "envs" / name
        assert migration.packages(target_env) == migration.packages(
            migration.source / "envs" / name
        )
    for name, mtime in finished.items():
        history = migration.target / "envs" / name / "conda-meta" / "history"
        assert history.stat().st_mtime_ns == mtime, f"{name} was rebuilt after it had finished"
    assert json.loads((run_dir / "report.json").read_text()) == document
    for name, env in envs.items():
        assert (
            json.loads((run_dir / "envs" / f"{name}.json").read_text())["status"] == (env["status"])
        )
        assert Path(env["log"]).stat().st_size > 0, f"{name}: empty log"
    assert "oldlib" in Path(envs["gone"]["log"]).read_text()
