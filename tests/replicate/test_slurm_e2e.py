"""End to end with real conda on both sides AND the live Slurm: a run through `--executor slurm
--wait` reports exactly what `--executor local` reports for the same envs (statuses, strategies,
classes, packages, attempts, diffs, post steps, smoke verdicts), each into a fresh target."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.support.channel import Channel
from tests.support.installation import make_installation
from tests.support.replication import (
    EnvRecipe,
    Migration,
    build_migration,
    git_package_repo,
    remove_package,
    run_shared,
)

pytestmark = [pytest.mark.tier2, pytest.mark.slow, pytest.mark.slurm]


@pytest.fixture(scope="module")
def migration(tmp_path_factory: pytest.TempPathFactory) -> Migration:
    work = tmp_path_factory.mktemp("slurm e2e")  # a space: job scripts must quote paths
    main = Channel(work / "main-channel")
    main.add_basics()
    main.add("oldlib", "1.0")
    main.add("drift", "1.0")
    main.index()
    kept = git_package_repo(work / "git" / "kept", "gitkept", "0.1")
    envs = (
        EnvRecipe("plain", ("python", "pip", "tidy-util=1.0", "libdata")),
        EnvRecipe("git-kept", ("python", "pip"), pip=(kept,)),
        EnvRecipe("version-gone", ("oldlib=1.0",)),
        EnvRecipe("loose-only", ("drift",)),
    )
    built = build_migration(work, envs=envs, main_channel=main)
    remove_package(main, "oldlib", "1.0")
    remove_package(main, "drift", "1.0")
    main.add("drift", "1.1")
    main.index()
    make_installation(
        built.root / "vslurm", channel_urls=[main.url], work=work, with_conda_shared=True
    )
    built.export()
    return built


def outcome(env: dict[str, Any]) -> dict[str, Any]:
    """What a report says about an env, without where it was built or how long it took."""
    return {
        "status": env["status"],
        "strategy": env["strategy"],
        "failure_class": env["failure_class"],
        "failure_packages": env["failure_packages"],
        "attempts": [(a["strategy"], a["ok"], a["failure_class"]) for a in env["attempts"]],
        "diff": env["diff"],
        "post_steps": [(s["kind"], s["ok"]) for s in env["post_steps"]],
        "smoke": None if env["smoke"] is None else env["smoke"]["ok"],
    }


def replicate_into(migration: Migration, target: str, *args: str) -> dict[str, Any]:
    done = run_shared(
        "replicate",
        migration.root,
        "--from",
        "current",
        "--to",
        target,
        *migration.source_envs(),
        "--jobs",
        "2",
        "--json",
        *args,
        home=migration.home,
    )
    assert done.returncode == 1, done.stderr  # version-gone cannot be replicated
    document: dict[str, Any] = json.loads(done.stdout)
    return document


def test_through_slurm_the_report_is_the_local_report(migration: Migration) -> None:
    local = replicate_into(migration, "qa")
    through_slurm = replicate_into(migration, "vslurm", "--executor", "slurm", "--wait")

    assert [e["name"] for e in through_slurm["envs"]] == [e["name"] for e in local["envs"]]
    for ours, theirs in zip(through_slurm["envs"], local["envs"], strict=True):
        assert outcome(ours) == outcome(theirs), ours["name"]
    statuses = {e["name"]: (e["status"], e["strategy"]) for e in through_slurm["envs"]}
    assert statuses == {
        "git-kept": ("replicated", "lock"),
        "loose-only": ("replicated", "loose"),
        "plain": ("replicated", "lock"),
        "version-gone": ("failed", None),
    }
    assert through_slurm["finished"] is not None
    envs = (migration.root / "vslurm" / "envs").iterdir()
    built = sorted(p.name for p in envs if not p.name.startswith("."))  # not the envs' locks
    assert built == ["git-kept", "loose-only", "plain"], "no half env of the failed one"
    run_dir = Path(through_slurm["envs"][0]["log"]).parent.parent
    assert (run_dir / "slurm" / "task.sh").is_file() and (run_dir / "slurm.json").is_file()
