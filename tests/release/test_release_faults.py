"""SIGKILL at every step of a release leaves the old or the new release live, never half, and
the next release command finishes or undoes what was left (tier 2: real builds)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from conda_shared.release.journal import journal_file
from conda_shared.release.layout import (
    BUILDING_MARKER,
    current_release,
    records_dir,
    release_ids,
    releases_dir,
)
from tests.support.channel import Channel
from tests.support.releases import FIRST, managed_root

pytestmark = [pytest.mark.tier2, pytest.mark.slow]

#: runs `conda-shared ARGS` with one step replaced by itself plus a SIGKILL before or after it
KILLER = """
import os, signal, sys
from conda_shared.release import change, journal
where, call, when, *args = sys.argv[1:]
module = {"change": change, "journal": journal}[where.split(".")[0]]
name = where.split(".")[1]
original = getattr(module, name)
calls = []
def killing(*a, **k):
    calls.append(1)
    if len(calls) == int(call) and when == "before":
        os.kill(os.getpid(), signal.SIGKILL)
    result = original(*a, **k)
    if len(calls) == int(call) and when == "after":
        os.kill(os.getpid(), signal.SIGKILL)
    return result
setattr(module, name, killing)
from conda_shared.cli import main
sys.exit(main(args))
"""

#: kill points after the switch was committed: the next command finishes it
COMMITTED = [
    ("journal.begin", 2, "after"),
    ("journal.point_at", 1, "before"),
    ("journal.point_at", 1, "after"),
]
KILL_POINTS = [
    ("journal.begin", 1, "after"),  # the build is journaled; nothing built yet
    ("journal.mark_building", 1, "after"),  # an empty marked folder
    ("change.build", 1, "after"),  # conda built it and the smoke test passed
    ("change.freeze", 1, "after"),
    ("change.record_release", 1, "after"),
    ("change.make_public", 1, "after"),  # published modes, still marked
    ("journal.begin", 2, "after"),  # the switch is committed
    ("journal.point_at", 1, "before"),  # marker gone, link not switched yet
    ("journal.point_at", 1, "after"),  # link switched, journal still there
]


def _run(root: Path, *args: str, kill: tuple[str, int, str] | None = None) -> int:
    killer = [] if kill is None else ["-c", KILLER, kill[0], str(kill[1]), kill[2]]
    argv = [sys.executable, *(killer or ["-m", "conda_shared"]), "release", *args]
    argv += ["--root", str(root)]
    return subprocess.run(argv, capture_output=True, text=True, check=False).returncode


def _leftovers(root: Path, inst: Path) -> list[str]:
    """Whatever a finished (or undone) release must not leave."""
    problems = []
    if journal_file(inst, "tools").exists():
        problems.append("journal")
    folder = releases_dir(inst, "tools")
    for entry in os.listdir(folder):
        path = folder / entry
        if path.is_dir() and (path / BUILDING_MARKER).exists():
            problems.append(f"marked {entry}")
        if path.is_dir() and entry != FIRST and not (path / "conda-meta" / "frozen").exists():
            problems.append(f"unpublished {entry}")
        if entry.endswith(".conda-shared-tmp"):
            problems.append(f"temp {entry}")
    specs = records_dir(root, inst, "tools", FIRST).parent
    recorded = set(os.listdir(specs)) if specs.is_dir() else set()
    if recorded != set(release_ids(inst, "tools")) - {FIRST}:
        problems.append(f"records {sorted(recorded)} for releases {release_ids(inst, 'tools')}")
    return problems


def test_sigkill_at_every_step_leaves_old_or_new_live(
    local_channel: Channel, tmp_path: Path
) -> None:
    root, inst = managed_root(tmp_path, local_channel)
    for kill in KILL_POINTS:
        killed = _run(root, "tools", "--add", "libdata", "--yes", kill=kill)
        assert killed == -9, kill
        live = current_release(inst, "tools")
        assert live is not None, kill
        assert live == FIRST or not (releases_dir(inst, "tools") / live / BUILDING_MARKER).exists()
        assert (releases_dir(inst, "tools") / live / "conda-meta").is_dir(), kill
        # the next release command (here a rollback's dry run) finishes or undoes it
        assert _run(root, "rollback", "tools", "--to", FIRST, "--dry-run") == 0, kill
        assert _leftovers(root, inst) == [], kill
        finished = current_release(inst, "tools")
        assert (finished != FIRST) is (kill in COMMITTED), kill
        if finished != FIRST:
            assert _run(root, "rollback", "tools", "--to", FIRST) == 0
    assert current_release(inst, "tools") == FIRST
    assert len(release_ids(inst, "tools")) == 1 + len(COMMITTED)
