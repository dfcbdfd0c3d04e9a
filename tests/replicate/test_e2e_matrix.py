"""End to end, real conda on both sides: envs an older conda built, replicated by the tests' conda.

The source installation's envs are built by CONDA_SHARED_SOURCE_CONDA_PYTHON (a Python where an
older conda imports; default: this one), then the channels change the way real ones do: a
version pruned, packages rebuilt with other dependencies, a second channel deleted, a git repo
gone. One `replicate --jobs 2` run covers every failure class and the ladder's rungs.
"""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path
from typing import Any

import pytest

from tests.support.channel import Channel
from tests.support.replication import (
    EnvRecipe,
    Migration,
    build_migration,
    envs_by_name,
    git_package_repo,
    latest_run,
    remove_package,
    spec_names,
)

pytestmark = [pytest.mark.tier2, pytest.mark.slow]

HEALTHY = ("plain", "deps", "git-kept")


@pytest.fixture(scope="module")
def migration(tmp_path_factory: pytest.TempPathFactory) -> Migration:
    work = tmp_path_factory.mktemp("e2e matrix")  # a space: prefixes with spaces are real
    main = Channel(work / "main-channel")
    main.add_basics()
    main.add_python_dist("tidy-util", "1.1")
    main.add_python_dist("app", "1.0", depends=("python", "libdata >=2", "tidy-util"))
    main.add("oldlib", "1.0")
    main.add("oldlib", "2.0")
    main.add("drift", "1.0")
    main.add("gamma", "1.0")
    main.add("gamma", "2.0")
    main.add("alpha", "1.0", depends=("gamma 1.*",))
    main.add("beta", "1.0", depends=("gamma",))
    main.index()
    extra = Channel(work / "extra-channel")
    extra.add("gonepkg", "1.0")
    extra.index()
    kept = git_package_repo(work / "git" / "kept", "gitkept", "0.1")
    gone = git_package_repo(work / "git" / "gone", "gitgone", "0.2")
    envs = (
        EnvRecipe("plain", ("python", "pip", "tidy-util=1.0", "libdata")),
        EnvRecipe("deps", ("python", "app")),
        EnvRecipe("git-kept", ("python", "pip"), pip=(kept,)),
        EnvRecipe("git-gone", ("python", "pip"), pip=(gone,)),
        EnvRecipe("version-gone", ("oldlib=1.0",)),
        EnvRecipe("unsatisfiable", ("alpha=1.0", "beta=1.0")),
        EnvRecipe("channel-gone", ("gonepkg",), channels=(extra.url,)),
        EnvRecipe("loose-only", ("drift",)),
    )
    started = time.monotonic()
    built = build_migration(work, envs=envs, main_channel=main)
    print(f"\nsource ({len(envs)} envs) and target built in {time.monotonic() - started:.1f} s")
    # What happens to channels between two migrations:
    remove_package(main, "oldlib", "1.0")  # pruned; 2.0 stays
    remove_package(main, "drift", "1.0")  # replaced by a newer version
    main.add("drift", "1.1")
    remove_package(main, "alpha", "1.0")  # rebuilt: now they cannot be installed together
    remove_package(main, "beta", "1.0")
    main.add("alpha", "1.0", "1", depends=("gamma 1.*",))
    main.add("beta", "1.0", "1", depends=("gamma >=2",))
    main.index()
    shutil.rmtree(extra.root)
    shutil.rmtree(work / "git" / "gone")
    built.export()
    return built


@pytest.fixture(scope="module")
def run(migration: Migration) -> dict[str, Any]:
    """One `replicate --jobs 2 --json` of every env; its document, plus the run folder."""
    names = migration.source_envs()
    started = time.monotonic()
    done = migration.replicate(*names, "--jobs", "2", "--json")
    print(f"\nreplicate --jobs 2 of {len(names)} envs: {time.monotonic() - started:.1f} s")
    assert done.returncode in (0, 1), done.stderr
    return {"document": json.loads(done.stdout), "run_dir": latest_run(migration.root)}


def test_healthy_envs_replicate_from_the_lock_with_identical_packages(
    migration: Migration, run: dict[str, Any]
) -> None:
    envs = envs_by_name(run["document"])
    for name in HEALTHY:
        env = envs[name]
        assert env["status"] == "replicated", env
        assert env["strategy"] == "lock", env
        assert env["target_prefix"] == str(migration.target / "envs" / name)
        source = migration.packages(migration.source / "envs" / name)
        assert migration.packages(migration.target / "envs" / name) == source
        assert env["diff"] == {"added": [], "removed": [], "changed": []}
        assert env["smoke"]["ok"], env["smoke"]


def test_the_smoke_imports_what_the_env_holds(run: dict[str, Any]) -> None:
    checks = {c["name"]: c for c in envs_by_name(run["document"])["plain"]["smoke"]["checks"]}

    assert checks["import tidy_util"]["ok"]
    assert checks["pip check"]["ok"]


def test_pip_from_a_git_repo_that_still_exists_is_installed_after_the_env(
    run: dict[str, Any],
) -> None:
    env = envs_by_name(run["document"])["git-kept"]

    (step,) = env["post_steps"]
    assert step["kind"] == "pip"
    assert step["ok"] is True
    assert "git+file://" in step["command"]
    assert any(c["name"] == "import gitkept" and c["ok"] for c in env["smoke"]["checks"])


@pytest.mark.parametrize(
    ("name", "failure_class", "packages"),
    [
        ("version-gone", "package-not-found", {"oldlib"}),
        ("unsatisfiable", "unsatisfiable", {"alpha", "beta"}),
        ("git-gone", "pip-failed", {"gitgone"}),
    ],
)
def test_an_env_that_cannot_be_built_lands_in_its_class_naming_its_packages(
    migration: Migration, run: dict[str, Any], name: str, failure_class: str, packages: set[str]
) -> None:
    env = envs_by_name(run["document"])[name]

    assert env["status"] == "failed", env
    assert env["failure_class"] == failure_class, env
    assert packages <= spec_names(env["failure_packages"]), env
    assert not (migration.target / "envs" / name).exists(), "a failed env is never left behind"


def test_a_deleted_channel_is_channel_unavailable(
    migration: Migration, run: dict[str, Any]
) -> None:
    env = envs_by_name(run["document"])["channel-gone"]

    assert env["status"] == "failed", env
    assert env["failure_class"] == "channel-unavailable", env
    assert env["attempts"][-1]["failure_class"] == "channel-unavailable"
    assert not (migration.target / "envs" / "channel-gone").exists()


def test_a_git_source_that_is_gone_leaves_the_exact_command_to_run_by_hand(
    run: dict[str, Any],
) -> None:
    env = envs_by_name(run["document"])["git-gone"]

    manual = [step for step in env["post_steps"] if step["kind"] == "manual"]
    assert manual, env["post_steps"]
    assert "git/gone" in manual[0]["command"]
    assert manual[0]["ok"] is not True


def test_every_rung_is_tried_until_loose_builds_and_the_diff_says_what_changed(
    migration: Migration, run: dict[str, Any]
) -> None:
    env = envs_by_name(run["document"])["loose-only"]

    assert env["status"] == "replicated", env
    assert env["strategy"] == "loose"
    assert [(a["strategy"], a["ok"]) for a in env["attempts"]] == [
        ("lock", False),
        ("pinned", False),
        ("loose", True),
    ]
    assert env["attempts"][1]["failure_class"] == "package-not-found"
    assert env["diff"] == {
        "added": [],
        "removed": [],
        "changed": [{"name": "drift", "from": "1.0", "to": "1.1"}],
    }
    assert ("drift", "1.1", "0") in migration.packages(migration.target / "envs" / "loose-only")


def test_the_report_files_and_logs_agree_with_the_document(run: dict[str, Any]) -> None:
    run_dir: Path = run["run_dir"]
    document = run["document"]

    assert json.loads((run_dir / "report.json").read_text()) == document
    assert document["finished"] is not None
    csv_lines = (run_dir / "report.csv").read_text().splitlines()
    assert len(csv_lines) == 1 + len(document["envs"])
    markdown = (run_dir / "report.md").read_text()
    for env in document["envs"]:
        assert env["name"] in markdown
        log = Path(env["log"])
        assert log.parent == run_dir / "logs"
        assert log.stat().st_size > 0, f"{env['name']}: empty log"
        assert (
            json.loads((run_dir / "envs" / f"{env['name']}.json").read_text())["status"]
            == (env["status"])
        )
    not_found = Path(envs_by_name(document)["version-gone"]["log"]).read_text()
    assert "oldlib" in not_found


def test_dry_run_prints_the_plan_and_touches_nothing(
    migration: Migration, run: dict[str, Any]
) -> None:
    reports = sorted((migration.root / "reports").iterdir())
    targets = sorted((migration.target / "envs").iterdir())

    dry = migration.replicate("version-gone", "--dry-run")

    assert dry.returncode == 0, dry.stderr
    assert "lock" in dry.stdout
    assert "pinned" in dry.stdout
    assert "loose" in dry.stdout
    assert sorted((migration.root / "reports").iterdir()) == reports
    assert sorted((migration.target / "envs").iterdir()) == targets


def test_resume_with_relax_retries_only_the_failed_envs_with_a_fourth_rung(
    migration: Migration, run: dict[str, Any]
) -> None:
    # --resume continues the newest run: this must come before any other run of the module
    plain_meta = migration.target / "envs" / "plain" / "conda-meta" / "history"
    before = plain_meta.stat().st_mtime_ns

    resumed = migration.replicate("--resume", "--relax", "--jobs", "2", "--json")

    assert resumed.returncode in (0, 1), resumed.stderr
    envs = envs_by_name(json.loads(resumed.stdout))
    relaxed = envs["version-gone"]
    assert relaxed["status"] == "replicated", relaxed
    assert relaxed["strategy"] == "relaxed"
    assert relaxed["diff"]["changed"] == [{"name": "oldlib", "from": "1.0", "to": "2.0"}]
    assert envs["unsatisfiable"]["status"] == "failed"
    assert envs["channel-gone"]["failure_class"] == "channel-unavailable"
    assert envs["plain"]["status"] == "replicated"
    assert plain_meta.stat().st_mtime_ns == before, "a replicated env is not redone"
    assert latest_run(migration.root) == run["run_dir"], "resume continues the last run"


def test_an_env_already_in_the_target_is_never_touched_without_force(
    migration: Migration, run: dict[str, Any]
) -> None:
    history = migration.target / "envs" / "plain" / "conda-meta" / "history"
    before = history.read_bytes()

    again = migration.replicate("plain", "--json")

    (env,) = json.loads(again.stdout)["envs"]
    assert env["status"] == "skipped", env
    assert history.read_bytes() == before
