"""The per-env journal and locks: what an interrupted release leaves is undone or finished, and
a release never runs beside another release of the env or a cutover."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from conda_shared import fs
from conda_shared.errors import SharedError
from conda_shared.pointers import lock_path as cutover_lock
from conda_shared.release import journal
from conda_shared.release.change import Change, release_env
from conda_shared.release.journal import Entry
from conda_shared.release.layout import (
    BUILDING_MARKER,
    LOCK_FILE,
    current_release,
    records_dir,
    release_ids,
    release_prefix,
    releases_dir,
)
from tests.release.conftest import AddRelease


def _half_built(root: Path, inst: Path, release_id: str) -> Path:
    journal.begin(inst, Entry("ds", "build", release_id, new_records=True))
    prefix = release_prefix(inst, "ds", release_id)
    journal.mark_building(prefix, release_id=release_id)
    (prefix / "conda-meta").mkdir()
    records_dir(root, inst, "ds", release_id).mkdir(parents=True)
    return prefix


def test_an_interrupted_build_is_removed_with_its_records(
    fake_root: tuple[Path, Path], add_release: AddRelease
) -> None:
    root, inst = fake_root
    add_release("ds", "2026.12.01", live=True)
    prefix = _half_built(root, inst, "2026.12.07")
    unrenamed = fs.private_dir_beside(prefix)  # killed between its mkdir and its rename
    (unrenamed / BUILDING_MARKER).write_text("{}")
    assert oct(prefix.stat().st_mode & 0o777) == "0o700"
    assert release_ids(inst, "ds") == ("2026.12.01",), "a marked folder is not a release"
    assert "removed the unfinished release" in (journal.recover(root, inst, "ds") or "")
    assert not prefix.exists() and not records_dir(root, inst, "ds", "2026.12.07").exists()
    assert not unrenamed.exists()
    assert journal.read_entry(inst, "ds") is None
    assert current_release(inst, "ds") == "2026.12.01"


def test_a_folder_without_our_marker_is_never_removed(
    fake_root: tuple[Path, Path], add_release: AddRelease
) -> None:
    root, inst = fake_root
    add_release("ds", "2026.12.01", live=True)
    foreign = release_prefix(inst, "ds", "2026.12.07")
    (foreign / "conda-meta").mkdir(parents=True)
    journal.begin(inst, Entry("ds", "build", "2026.12.07", new_records=False))
    journal.recover(root, inst, "ds")
    assert foreign.is_dir()
    with pytest.raises(SharedError, match="did not make it"):
        journal.mark_building(foreign, release_id="2026.12.07")


def test_a_committed_switch_is_finished(
    fake_root: tuple[Path, Path], add_release: AddRelease
) -> None:
    root, inst = fake_root
    add_release("ds", "2026.12.01", live=True)
    prefix = add_release("ds", "2026.12.07", parent="2026.12.01")
    (prefix / BUILDING_MARKER).write_text("{}")
    journal.begin(inst, Entry("ds", "switch", "2026.12.07", new_records=False))
    assert "finished the interrupted switch" in (journal.recover(root, inst, "ds") or "")
    assert current_release(inst, "ds") == "2026.12.07"
    assert not (prefix / BUILDING_MARKER).exists()
    assert os.readlink(inst / "envs" / "ds") == ".releases/ds/2026.12.07"


def test_a_journal_that_is_not_ours_is_left_alone(fake_root: tuple[Path, Path]) -> None:
    root, inst = fake_root
    path = journal.journal_file(inst, "ds")
    path.parent.mkdir(parents=True)
    path.write_text('{"action": "build", "id": "../../..", "new_records": true}')
    assert journal.recover(root, inst, "ds") is None
    assert path.exists()


@pytest.mark.parametrize("which", ["env", "cutover"])
def test_a_held_lock_refuses_a_release_naming_its_holder(
    fake_root: tuple[Path, Path], add_release: AddRelease, which: str
) -> None:
    root, inst = fake_root
    add_release("ds", "2026.12.01", live=True)
    lock = releases_dir(inst, "ds") / LOCK_FILE if which == "env" else cutover_lock(root)
    holder = _hold(lock, note="cutover v1 -> v2")
    try:
        with pytest.raises(SharedError) as refused:
            release_env(root=root, installation=None, name="ds", change=Change(add=("x",)))
    finally:
        holder.kill()
        holder.wait()
    assert "cutover v1 -> v2" in refused.value.message
    assert f"pid {holder.pid}" in refused.value.message
    assert current_release(inst, "ds") == "2026.12.01"


def _hold(lock: Path, *, note: str) -> subprocess.Popen[bytes]:
    """Another process holding `lock` (POSIX locks are per process) until it is killed."""
    code = (
        "import sys, time; from pathlib import Path; from conda_shared import fs\n"
        "with fs.exclusive_lock(Path(sys.argv[1]), note=sys.argv[2]):\n"
        "    print('held', flush=True); time.sleep(600)"
    )
    process = subprocess.Popen(
        [sys.executable, "-c", code, str(lock), note], stdout=subprocess.PIPE
    )
    assert process.stdout is not None and process.stdout.readline() == b"held\n"
    return process
