"""Tier 2: a plain env made by the installation's conda adopted as release one (exchange and
fallback), a rebuild that differs stops with the diff, and `release NAME --add` on a plain env
adopts and then releases, in one command."""

from __future__ import annotations

import errno
import json
import subprocess
import sys
from pathlib import Path

import pytest

from conda_shared.doctor import check_root
from conda_shared.fs import exchange
from conda_shared.release.adopt import adopt_env
from conda_shared.release.layout import (
    ADOPTED_MARKER,
    current_release,
    env_link,
    read_record,
    records_dir,
    release_ids,
    release_prefix,
    releases_dir,
)
from tests.support.channel import Channel
from tests.support.installation import installation_environ
from tests.support.releases import managed_root

pytestmark = [pytest.mark.tier2, pytest.mark.slow]


def conda_run_tidy(inst: Path, home: Path) -> str:
    ran = subprocess.run(
        [str(inst / "bin" / "conda"), "run", "-n", "tools", "python", "-c",
         "import sys, tidy_util; print(sys.prefix)"],
        capture_output=True, text=True, env=installation_environ(home), cwd=home, check=False,
    )  # fmt: skip
    assert ran.returncode == 0, ran.stdout + ran.stderr
    return ran.stdout.strip()


@pytest.mark.parametrize("fallback", [False, True], ids=["exchange", "fallback"])
def test_a_plain_env_becomes_release_one(
    local_channel: Channel, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fallback: bool
) -> None:
    root, inst = managed_root(tmp_path, local_channel, plain=True)
    if fallback:

        def cannot(first: Path, second: Path) -> None:
            raise OSError(errno.EINVAL, "no exchange on this file system")

        monkeypatch.setattr(exchange, "exchange_names", cannot)
    adopted = adopt_env(root=root, installation=None, name="tools")
    assert adopted.failure is None and adopted.switched and adopted.diff.empty
    assert adopted.one_step is (not fallback)
    release_id = adopted.release_id
    assert current_release(inst, "tools") == release_id
    assert release_ids(inst, "tools") == (release_id,)
    prefix = release_prefix(inst, "tools", release_id)
    assert (prefix / "conda-meta" / "frozen").is_file()
    aside = releases_dir(inst, "tools") / f".adopted-{release_id}"
    assert (aside / ADOPTED_MARKER).is_file() and (aside / "conda-meta").is_dir()
    record = read_record(records_dir(root, inst, "tools", release_id))
    assert record is not None and record.kind == "adopted" and record.parent is None
    assert (records_dir(root, inst, "tools", release_id) / "files.json").is_file()
    # conda runs the env through envs/tools, which is now the release
    assert conda_run_tidy(inst, tmp_path / "home") == str(env_link(inst, "tools"))
    assert [f for f in check_root(root=root).findings if f.check == "releases"] == []
    log = [json.loads(line) for line in (root / "log" / "shared.log").read_text().splitlines()]
    assert log[-1]["action"] == "adopt" and log[-1]["result"].startswith("ok (")


def test_a_rebuild_that_differs_stops_with_the_diff(local_channel: Channel, tmp_path: Path) -> None:
    root, inst = managed_root(tmp_path, local_channel, plain=True)
    (site,) = env_link(inst, "tools").glob("lib/python*/site-packages")
    dist = site / "extra_tool-1.0.dist-info"  # what pip put there: a lock cannot rebuild it
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: extra-tool\nVersion: 1.0\n")
    (dist / "INSTALLER").write_text("pip\n")
    stopped = adopt_env(root=root, installation=None, name="tools")
    assert stopped.failure is not None and stopped.failure.failure_class == "adopt-diff"
    assert stopped.diff.removed == (("pip:extra-tool", "1.0"),)
    assert not env_link(inst, "tools").is_symlink()
    assert release_ids(inst, "tools") == ()
    assert not (root / "specs").exists()
    went_on = adopt_env(root=root, installation=None, name="tools", accept_diff=True)
    assert went_on.switched and current_release(inst, "tools") == went_on.release_id


def test_add_on_a_plain_env_adopts_then_releases(local_channel: Channel, tmp_path: Path) -> None:
    root, inst = managed_root(tmp_path, local_channel, plain=True)
    argv = [sys.executable, "-m", "conda_shared", "release", "--root", str(root), "tools"]
    made = subprocess.run(
        [*argv, "--add", "libdata", "--yes", "--json"], capture_output=True, text=True, check=False
    )
    assert made.returncode == 0, made.stdout + made.stderr
    document = json.loads(made.stdout)
    first = document["adopted"]["release_id"]
    assert document["parent"] == first and document["switched"]
    assert release_ids(inst, "tools") == (first, document["release_id"])
    assert (env_link(inst, "tools") / "share" / "libdata" / "data.txt").is_file()
    back = subprocess.run(
        [sys.executable, "-m", "conda_shared", "release", "--root", str(root), "rollback", "tools"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert back.returncode == 0, back.stderr
    assert current_release(inst, "tools") == first
    again = subprocess.run([*argv, "--adopt"], capture_output=True, text=True, check=False)
    assert again.returncode == 2
    assert "tools is already managed as releases" in again.stderr
