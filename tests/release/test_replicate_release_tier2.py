"""Tier 2: replicate builds a release-managed env's current release in the target as that env's
first release there, keeping its ID; export reads it through its link."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from conda_shared.release.layout import current_release, read_record, records_dir, release_prefix
from tests.support.channel import Channel
from tests.support.installation import installation_environ, make_installation
from tests.support.releases import FIRST, managed_root

pytestmark = [pytest.mark.tier2, pytest.mark.slow]


def test_the_current_release_is_the_targets_first_release(
    local_channel: Channel, tmp_path: Path
) -> None:
    root, _ = managed_root(tmp_path, local_channel)
    target = make_installation(
        root / "v2", channel_urls=[local_channel.url], work=tmp_path, with_conda_shared=True
    )
    (root / "qa").symlink_to("v2")
    home = tmp_path / "home"
    argv = [sys.executable, "-m", "conda_shared", "replicate", "--root", str(root), "tools"]
    replicated = subprocess.run(
        [*argv, "--json"], capture_output=True, text=True, env=installation_environ(home),
        cwd=home, check=False,
    )  # fmt: skip
    assert replicated.returncode == 0, replicated.stdout + replicated.stderr
    (env,) = json.loads(replicated.stdout)["envs"]
    assert env["status"] == "replicated" and env["error"] is None, env
    prefix = release_prefix(target, "tools", FIRST)
    assert env["target_prefix"] == str(prefix)
    assert current_release(target, "tools") == FIRST
    assert (prefix / "conda-meta" / "frozen").is_file()
    record = read_record(records_dir(root, target, "tools", FIRST))
    assert record is not None and record.kind == "replicated" and record.parent is None
    assert (records_dir(root, target, "tools", FIRST) / "files.json").is_file()
    exported = subprocess.run(
        [sys.executable, "-m", "conda_shared", "export", "--root", str(root), "--from", "v2",
         "tools@" + FIRST, "--out", str(tmp_path / "out"), "--json"],
        capture_output=True, text=True, env=installation_environ(home), cwd=home, check=False,
    )  # fmt: skip
    assert exported.returncode == 0, exported.stdout + exported.stderr
    (release,) = json.loads(exported.stdout)["envs"]
    assert (release["name"], release["prefix"]) == ("tools@" + FIRST, str(prefix))
    assert release["content_key"] == record.content_key
