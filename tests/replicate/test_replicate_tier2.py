"""Tier 2 happy path: real installations, the source's envs rebuilt by the target's own conda."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.channel import Channel
from tests.support.installation import make_installation, run_in
from tests.support.replication import remove_package

pytestmark = [pytest.mark.tier2, pytest.mark.slow]


def conda_shared(*args: str | Path, home: Path) -> subprocess.CompletedProcess[str]:
    """The standalone `conda-shared` as an admin runs it (a subprocess: tasks are too)."""
    env = {**os.environ, "HOME": str(home)}
    return subprocess.run(
        [sys.executable, "-m", "conda_shared", *map(str, args)],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )


@pytest.fixture
def migration(local_channel: Channel, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """ROOT with current -> src (two envs built by its conda, exported) and qa -> dst."""
    monkeypatch.chdir(tmp_path)
    root = tmp_path / "root"
    root.mkdir()
    urls = [local_channel.url]
    src = make_installation(root / "src", channel_urls=urls, work=tmp_path)
    make_installation(root / "dst", channel_urls=urls, work=tmp_path, with_conda_shared=True)
    (root / "current").symlink_to("src")
    (root / "qa").symlink_to("dst")
    home = tmp_path / "home"
    for name, specs in {"tools": ["python", "pip", "tidy-util=1.0"], "data": ["libdata"]}.items():
        created = run_in(
            src, "-m", "conda", "create", "-y", "-p", src / "envs" / name, *specs, home=home
        )
        assert created.returncode == 0, created.stdout + created.stderr
    return root


def test_replicates_every_env_with_the_targets_conda_and_reports_it(
    migration: Path, tmp_path: Path
) -> None:
    home = tmp_path / "home"
    result = conda_shared(
        "replicate", "--root", migration, "tools", "data", "--jobs", "2", "--json", home=home
    )
    assert result.returncode == 0, result.stdout + result.stderr
    report = json.loads(result.stdout)
    dst = (migration / "dst").resolve()
    assert report["from"] == str((migration / "src").resolve())
    assert report["to"] == str(dst)
    assert report["finished"] is not None
    by_name = {env["name"]: env for env in report["envs"]}
    assert set(by_name) == {"tools", "data"}
    for name, env in by_name.items():
        assert env["status"] == "replicated", env
        assert env["strategy"] == "lock"
        assert env["target_prefix"] == str(dst / "envs" / name)
        assert env["diff"] == {"added": [], "removed": [], "changed": []}
        assert env["smoke"]["ok"], env["smoke"]
        assert Path(env["log"]).is_file()
    assert (dst / "envs" / "tools" / "conda-meta").is_dir()
    tidy = list((dst / "envs" / "tools" / "conda-meta").glob("tidy-util-1.0-*.json"))
    assert tidy, "the exact version of the source was installed"
    checks = {c["name"] for c in by_name["tools"]["smoke"]["checks"]}
    assert "import tidy_util" in checks
    run_dir = Path(by_name["tools"]["log"]).parent.parent
    assert json.loads((run_dir / "report.json").read_text()) == report
    assert "tools" in (run_dir / "report.csv").read_text()
    assert not (migration / "dst" / "conda-meta" / "history").read_text().count("tools"), (
        "envs are built in their own prefixes, not in the target's base"
    )
    # the specs were exported first, since there were none
    assert (migration / "specs" / "src" / "tools.lock").is_file()


@pytest.mark.skipif(sys.version_info < (3, 11), reason="the admin's own `python -m` needs -P")
def test_packages_planted_in_the_admins_folder_never_run(migration: Path, tmp_path: Path) -> None:
    from conda_shared.children import own_python
    from tests.test_children import plant, ran

    planted = plant(tmp_path / "caller's folder")
    result = subprocess.run(
        [*own_python("-m", "conda_shared"), "replicate", "--root", str(migration), "tools"],
        cwd=planted,
        env={**os.environ, "HOME": str(tmp_path / "home")},
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert ran(planted) == [], "the workers, the target's conda, pip and the smoke ran elsewhere"


def test_resume_never_redoes_a_finished_env_and_an_existing_env_is_left_alone(
    migration: Path, tmp_path: Path
) -> None:
    home = tmp_path / "home"
    dst = (migration / "dst").resolve()
    foreign = dst / "envs" / "data" / "conda-meta"
    foreign.mkdir(parents=True)
    (foreign / "history").write_text("# someone else's env\n")
    first = conda_shared("replicate", "--root", migration, "tools", "data", "--json", home=home)
    envs = {e["name"]: e for e in json.loads(first.stdout)["envs"]}
    assert first.returncode == 1
    assert envs["data"]["status"] == "skipped"
    assert (foreign / "history").read_text() == "# someone else's env\n"
    tools_record = next((dst / "envs" / "tools" / "conda-meta").glob("tidy-util-*.json"))
    before = tools_record.stat().st_mtime_ns

    second = conda_shared(
        "replicate", "--root", migration, "--resume", "--force", "--json", home=home
    )
    envs = {e["name"]: e for e in json.loads(second.stdout)["envs"]}
    assert second.returncode == 0, second.stdout + second.stderr
    assert envs["data"]["status"] == "replicated"
    assert tools_record.stat().st_mtime_ns == before, "the finished env was not rebuilt"
    assert not (dst / "envs" / "data" / "conda-meta" / "history").read_text().startswith("# some")


def test_the_cache_fill_counts_the_packages_the_targets_conda_downloads(
    migration: Path, tmp_path: Path
) -> None:
    result = conda_shared("replicate", "--root", migration, "data", home=tmp_path / "home")
    assert result.returncode == 0, result.stdout + result.stderr
    counts = [line for line in result.stderr.splitlines() if line.startswith("package cache: ")]
    assert counts, result.stderr
    total = counts[-1].split(" of ")[1]
    assert counts[-1] == f"package cache: {total.split()[0]} of {total}", counts
    assert int(total.split()[0]) >= 1


def test_envs_with_two_versions_of_one_package_share_one_cache_fill(
    migration: Path, tmp_path: Path
) -> None:
    # conda 25.7+ refuses a lock file naming two versions of one package ("Duplicate packages"),
    # after it fetched them: the fill still counts, so neither env waits for the cache's turn.
    home = tmp_path / "home"
    src = migration / "src"
    newer = ["python", "pip", "tidy-util=1.1"]
    created = run_in(
        src, "-m", "conda", "create", "-y", "-p", src / "envs" / "newer", *newer, home=home
    )
    assert created.returncode == 0, created.stdout + created.stderr

    result = conda_shared(
        "replicate", "--root", migration, "tools", "newer", "--jobs", "2", "--json", home=home
    )

    assert result.returncode == 0, result.stdout + result.stderr
    envs = json.loads(result.stdout)["envs"]
    assert [(e["name"], e["status"], e["strategy"]) for e in envs] == [
        ("tools", "replicated", "lock"),
        ("newer", "replicated", "lock"),
    ]
    run_dir = Path(envs[0]["log"]).parent.parent
    assert sorted(json.loads((run_dir / "plan.json").read_text())["filled"]) == ["newer", "tools"]
    assert not (run_dir / "cache-fill-prefix").exists()


def test_fallback_rungs_build_where_override_channels_is_pinned_off(
    local_channel: Channel, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The doctor's advice, `override_channels_enabled: false  #!final`, in the target: conda
    refuses --override-channels, so the pinned rung names the source's channel with -c instead."""
    monkeypatch.chdir(tmp_path)
    home = tmp_path / "home"
    own = Channel(tmp_path / "own-channel")
    own.add("foo", "1.0")
    own.index()
    decoy = Channel(tmp_path / "decoy-channel")  # configured in the target only
    decoy.add("foo", "1.0", "decoy", build_number=9)
    decoy.index()
    root = tmp_path / "root"
    src = make_installation(root / "src", channel_urls=[local_channel.url], work=tmp_path)
    dst = make_installation(
        root / "dst",
        channel_urls=[local_channel.url, decoy.url],
        work=tmp_path,
        with_conda_shared=True,
    )
    with open(dst / ".condarc", "a", encoding="utf-8") as condarc:
        condarc.write("override_channels_enabled: false  #!final\n")
    (root / "current").symlink_to("src")
    (root / "qa").symlink_to("dst")
    created = run_in(
        src, "-m", "conda", "create", "-y", "-p", src / "envs" / "own", "-c", own.url, "foo",
        home=home,
    )  # fmt: skip
    assert created.returncode == 0, created.stdout + created.stderr
    remove_package(own, "foo", "1.0")  # rebuilt: the lock's URL is gone, foo=1.0 is not
    own.add("foo", "1.0", "1", build_number=1)
    own.index()

    result = conda_shared("replicate", "--root", root, "own", "--json", home=home)

    assert result.returncode == 0, result.stdout + result.stderr
    (env,) = json.loads(result.stdout)["envs"]
    assert [(a["strategy"], a["ok"]) for a in env["attempts"]] == [
        ("lock", False),
        ("pinned", True),
    ], env
    assert "configured-channels" in [t["code"] for t in env["transforms"]]
    (record,) = (dst / "envs" / "own" / "conda-meta").glob("foo-*.json")
    assert record.name == "foo-1.0-1.json", "foo came from the source's channel, not the decoy"
