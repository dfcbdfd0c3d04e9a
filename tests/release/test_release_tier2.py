"""Tier 2: releases built, switched, rolled back, pruned and rebuilt by the installation's conda,
and what conda itself then sees (env list, run, activate, frozen), as root and as a user."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from conda_shared.release.layout import (
    BUILDING_MARKER,
    current_release,
    read_record,
    records_dir,
    release_ids,
    release_prefix,
)
from tests.conftest import CONDA_VERSION
from tests.support.channel import Channel
from tests.support.installation import installation_environ
from tests.support.releases import FIRST, managed_root
from tests.support.users import NOBODY, home_of, needs_root, reachable_dir, setpriv

pytestmark = [pytest.mark.tier2, pytest.mark.slow]


def release(root: Path, *args: str, umask: int | None = None) -> subprocess.CompletedProcess[str]:
    """`conda-shared release --root ROOT ARGS` as the admin runs it."""
    return subprocess.run(
        [sys.executable, "-m", "conda_shared", "release", "--root", str(root), *args],
        capture_output=True,
        text=True,
        check=False,
        preexec_fn=None if umask is None else (lambda: os.umask(umask)),
    )


def document(result: subprocess.CompletedProcess[str]) -> dict[str, object]:
    assert result.stdout, result.stderr
    loaded = json.loads(result.stdout)
    assert isinstance(loaded, dict)
    return loaded


def test_release_list_rollback_prune_rebuild(local_channel: Channel, tmp_path: Path) -> None:
    root, inst = managed_root(tmp_path, local_channel)
    added = release(root, "tools", "--add", "libdata", "--json", umask=0o077)
    assert added.returncode == 0, added.stdout + added.stderr
    second = str(document(added)["release_id"])
    assert current_release(inst, "tools") == second
    assert os.readlink(inst / "envs" / "tools") == f".releases/tools/{second}"
    prefix = release_prefix(inst, "tools", second)
    assert (prefix / "share" / "libdata" / "data.txt").is_file()
    assert not (prefix / BUILDING_MARKER).exists()
    frozen = json.loads((prefix / "conda-meta" / "frozen").read_text())
    assert "--add" in frozen["message"]
    # published with the modes of the env it follows, although conda ran under umask 077
    first_mode = stat.S_IMODE(release_prefix(inst, "tools", FIRST).stat().st_mode)
    assert stat.S_IMODE(prefix.stat().st_mode) == first_mode
    data = prefix / "share" / "libdata" / "data.txt"
    assert data.stat().st_mode & 0o004 and not data.stat().st_mode & 0o022
    records = records_dir(root, inst, "tools", second)
    record = read_record(records)
    assert record is not None and record.parent == FIRST and record.kind == "release"
    assert record.diff["added"] == [["libdata", "2.0"]] and record.solve == "pinned"
    assert record.smoke is not None and record.smoke["ok"]
    assert {p.name for p in records.iterdir()} >= {
        "tools.lock", "tools.yml", "tools.history.yml", "tools.json", "files.json", "release.json"
    }  # fmt: skip
    files = json.loads((records / "files.json").read_text())
    assert files["share/libdata/data.txt"][0] == data.stat().st_size
    assert not any("__pycache__" in path for path in files)

    updated = release(root, "tools", "--update", "tidy-util", "--yes", "--json")
    assert updated.returncode == 0, updated.stdout + updated.stderr
    third = str(document(updated)["release_id"])
    assert third > second and current_release(inst, "tools") == third
    third_record = read_record(records_dir(root, inst, "tools", third))
    assert third_record is not None
    assert third_record.diff == {
        "added": [],
        "removed": [],
        "changed": [["tidy-util", "1.0=0", "1.1=0"]],
    }

    listed = document(release(root, "list", "tools", "--json"))
    assert [(r["id"], r["current"]) for r in listed["releases"]] == [  # type: ignore[index]
        (FIRST, False), (second, False), (third, True)
    ]  # fmt: skip

    back = release(root, "rollback", "tools")
    assert back.returncode == 0, back.stderr
    assert current_release(inst, "tools") == second
    assert release(root, "rollback", "tools", "--to", third).returncode == 0
    assert current_release(inst, "tools") == third

    # keep 1: the current stays, and so does its parent; FIRST goes, its records stay
    pruned = document(release(root, "prune", "tools", "--keep", "1", "--json"))
    assert pruned["removed"] == [FIRST]
    assert release_ids(inst, "tools") == (second, third)
    assert records_dir(root, inst, "tools", second).is_dir()

    # a pruned release with records comes back from its saved lock, at its own path
    assert release(root, "rollback", "tools", "--to", second).returncode == 0
    pruned = document(release(root, "prune", "tools", "--keep", "1", "--json"))
    assert pruned["removed"] == []  # third is the newest, second is current: both stay
    assert release(root, "rollback", "tools", "--to", third).returncode == 0
    subprocess.run(["rm", "-rf", str(release_prefix(inst, "tools", second))], check=True)
    rebuilt = release(root, "rebuild", "tools", second)
    assert rebuilt.returncode == 0, rebuilt.stdout + rebuilt.stderr
    again = release_prefix(inst, "tools", second)
    assert (again / "share" / "libdata" / "data.txt").is_file()
    assert (again / "conda-meta" / "frozen").is_file() and not (again / BUILDING_MARKER).exists()
    assert current_release(inst, "tools") == third, "a rebuild never switches"


def test_a_failed_solve_or_build_leaves_the_live_env_and_nothing_behind(
    local_channel: Channel, tmp_path: Path
) -> None:
    root, inst = managed_root(tmp_path, local_channel)
    missing = release(root, "tools", "--add", "no-such-package", "--yes", "--json")
    assert missing.returncode == 1
    assert document(missing)["failure"]["failure_class"] == "package-not-found"  # type: ignore[index]
    conflict = release(root, "tools", "--add", "tidy-util=9", "--yes")
    assert conflict.returncode == 1 and "FAILED (" in conflict.stdout
    assert current_release(inst, "tools") == FIRST
    assert release_ids(inst, "tools") == (FIRST,)
    assert not (root / "specs").exists()


def test_no_terminal_and_no_yes_is_refused_with_the_yes_command(
    local_channel: Channel, tmp_path: Path
) -> None:
    root, inst = managed_root(tmp_path, local_channel)
    argv = [sys.executable, "-m", "conda_shared", "release", "--root", str(root), "tools"]
    refused = subprocess.run(
        [*argv, "--add", "libdata"],
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        check=False,
    )
    assert refused.returncode == 2
    assert "+ libdata 2.0" in refused.stdout, "the diff is shown before the refusal"
    assert refused.stderr.strip().endswith(f"release --root {root} tools --add libdata --yes")
    assert current_release(inst, "tools") == FIRST


def _conda(inst: Path, *args: str, home: Path, uid: int | None = None) -> str:
    result = subprocess.run(
        [*(setpriv(uid) if uid is not None else []), str(inst / "bin" / "conda"), *args],
        capture_output=True,
        text=True,
        env=installation_environ(home),
        cwd=home,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def _activated_prefix(inst: Path, *, home: Path, uid: int | None = None) -> str:
    script = (
        f'eval "$({inst}/bin/python -m conda shell.bash hook)" && conda activate tools && '
        'python -c "import sys, tidy_util; print(sys.prefix)"'
    )
    result = subprocess.run(
        [*(setpriv(uid) if uid is not None else []), "bash", "-c", script],
        capture_output=True,
        text=True,
        env=installation_environ(home),
        cwd=home,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout.strip()


def _conda_sees_one_env(inst: Path, *, home: Path, uid: int | None = None) -> None:
    listed = _conda(inst, "env", "list", "--json", home=home, uid=uid)
    envs = json.loads(listed)["envs"]
    assert [e for e in envs if e.endswith("/tools")] == [str(inst / "envs" / "tools")]
    assert not [e for e in envs if ".releases" in e], envs
    ran = _conda(inst, "run", "-n", "tools", "python", "-c", "import tidy_util", home=home, uid=uid)
    assert ran is not None
    assert _activated_prefix(inst, home=home, uid=uid) == str(inst / "envs" / "tools")


@needs_root
def test_conda_lists_runs_and_activates_the_env_once_as_root_and_as_a_user(
    local_channel: Channel,
) -> None:
    with reachable_dir() as work:
        root, inst = managed_root(work, local_channel)
        subprocess.run(["chmod", "-R", "a+rX", str(work)], check=True)
        made = release(root, "tools", "--add", "libdata", "--yes", umask=0o077)
        assert made.returncode == 0, made.stdout + made.stderr
        _conda_sees_one_env(inst, home=work / "home")
        _conda_sees_one_env(inst, home=home_of(work, NOBODY), uid=NOBODY)
        refused = subprocess.run(
            [str(inst / "bin" / "conda"), "install", "-y", "-n", "tools", "tidy-util=1.1"],
            capture_output=True,
            text=True,
            env=installation_environ(work / "home"),
            check=False,
        )
        if CONDA_VERSION is not None and tuple(map(int, CONDA_VERSION.split(".")[:2])) >= (25, 5):
            assert refused.returncode != 0
            assert "published release" in refused.stdout + refused.stderr
            assert current_release(inst, "tools") is not None


def test_an_update_the_pinned_solve_cannot_meet_falls_back_to_the_requested_specs(
    tmp_path: Path,
) -> None:
    channel = Channel(tmp_path / "channel")
    channel.add_basics()
    channel.add("app", "1.0", files={"share/app.txt": b"app\n"}, depends=["dep"])
    channel.add("dep", "1.0", files={"share/dep.txt": b"1.0\n"})
    channel.index()
    root, inst = managed_root(tmp_path, channel, specs=("app",))
    # dep 1.0 came as a dependency; `late` needs a newer one, which conda install would take
    channel.add("dep", "1.1", files={"share/dep.txt": b"1.1\n"})
    channel.add("late", "1.0", files={"share/late.txt": b"late\n"}, depends=["dep >=1.1"])
    channel.index()
    made = release(root, "tools", "--add", "late", "--yes", "--json")
    assert made.returncode == 0, made.stdout + made.stderr
    plan = document(made)["plan"]
    assert plan["solution"]["strategy"] == "loose"  # type: ignore[index]
    record = read_record(records_dir(root, inst, "tools", str(document(made)["release_id"])))
    assert record is not None and record.solve == "loose"
    assert record.diff == {
        "added": [["late", "1.0"]], "removed": [], "changed": [["dep", "1.0=0", "1.1=0"]]
    }  # fmt: skip
