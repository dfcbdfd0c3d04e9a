"""list, rollback and prune on release folders (no conda needed: they only move pointers)."""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import pytest

from conda_shared.errors import InputError
from conda_shared.release.layout import (
    ADOPTED_MARKER,
    current_release,
    records_dir,
    release_ids,
    releases_dir,
)
from conda_shared.release.manage import list_releases, prune, rebuild, rollback
from tests.release.conftest import AddRelease


def test_rollback_goes_to_the_parent_then_to_a_named_release(
    fake_root: tuple[Path, Path], add_release: AddRelease
) -> None:
    root, inst = fake_root
    add_release("ds", "2026.12.01")
    add_release("ds", "2026.12.02", parent="2026.12.01")
    add_release("ds", "2026.12.03", parent="2026.12.02", live=True)
    back = rollback(root=root, installation=None, name="ds")
    assert (back.source, back.target, back.switched) == ("2026.12.03", "2026.12.02", True)
    assert current_release(inst, "ds") == "2026.12.02"
    dry = rollback(root=root, installation=None, name="ds", to="2026.12.03", dry_run=True)
    assert not dry.switched and current_release(inst, "ds") == "2026.12.02"
    rollback(root=root, installation=None, name="ds", to="2026.12.03")
    assert current_release(inst, "ds") == "2026.12.03"
    assert json.loads((root / "log" / "shared.log").read_text().splitlines()[-1])["action"] == (
        "rollback"
    )


def test_rollback_to_a_missing_release_names_rebuild(
    fake_root: tuple[Path, Path], add_release: AddRelease
) -> None:
    root, inst = fake_root
    add_release("ds", "2026.12.01", live=True)
    with pytest.raises(InputError, match="no release before") as nothing_before:
        rollback(root=root, installation=None, name="ds")
    assert nothing_before.value.command == ("release", "list", "ds", "--from", inst.name)
    with pytest.raises(InputError) as refused:
        rollback(root=root, installation=None, name="ds", to="2026.11.30")
    assert refused.value.command == ("release", "rebuild", "ds", "2026.11.30", "--from", "v1")


def test_prune_never_removes_current_previous_or_pinned(
    fake_root: tuple[Path, Path], add_release: AddRelease
) -> None:
    root, inst = fake_root
    ids = ["2026.12.01", "2026.12.02", "2026.12.03", "2026.12.04", "2026.12.05", "2026.12.06"]
    add_release("ds", ids[0])
    for parent, release_id in itertools.pairwise(ids):
        add_release("ds", release_id, parent=parent)
    (inst / "envs" / "ds").symlink_to(f".releases/ds/{ids[2]}")  # current: 03, parent 02
    pinned = root / "kernels" / "ds-2026.12.01"
    pinned.mkdir(parents=True)
    python = releases_dir(inst, "ds") / ids[0] / "bin" / "python"
    (pinned / "kernel.json").write_text(json.dumps({"argv": [str(python)]}))
    adopted = releases_dir(inst, "ds") / f".adopted-{ids[3]}"
    adopted.mkdir()
    (adopted / ADOPTED_MARKER).write_text("")
    kept_adopted = releases_dir(inst, "ds") / f".adopted-{ids[0]}"
    kept_adopted.mkdir()
    (kept_adopted / ADOPTED_MARKER).write_text("")

    log = releases_dir(inst, "ds") / f".{ids[3]}.log"
    log.write_text("conda's output\n")
    dry = prune(root=root, installation=None, name="ds", keep=1, dry_run=True)
    assert dry.removed == (ids[3], ids[4]) and release_ids(inst, "ds") == tuple(ids)
    pruned = prune(root=root, installation=None, name="ds", keep=1)
    assert pruned.removed == (ids[3], ids[4])
    assert pruned.removed_adopted == (f".adopted-{ids[3]}",)
    assert release_ids(inst, "ds") == (ids[0], ids[1], ids[2], ids[5])
    assert not adopted.exists() and kept_adopted.exists() and not log.exists()
    assert records_dir(root, inst, "ds", ids[3]).is_dir(), "the records stay"
    listing = list_releases(root=root, installation=None, name="ds")
    states = {e.id: (e.current, e.pinned, e.present) for e in listing.releases}
    assert states[ids[2]] == (True, False, True)
    assert states[ids[0]] == (False, True, True)
    assert states[ids[3]] == (False, False, False)
    with pytest.raises(InputError, match="--keep 0"):
        prune(root=root, installation=None, name="ds", keep=0)


def test_rebuild_refuses_a_present_or_unknown_release(
    fake_root: tuple[Path, Path], add_release: AddRelease
) -> None:
    root, _ = fake_root
    add_release("ds", "2026.12.01", live=True)
    with pytest.raises(InputError, match="nothing to rebuild"):
        rebuild(root=root, installation=None, name="ds", release_id="2026.12.01")
    with pytest.raises(InputError, match="no saved release"):
        rebuild(root=root, installation=None, name="ds", release_id="2026.11.01")


def test_a_plain_env_is_refused_naming_adopt(fake_root: tuple[Path, Path]) -> None:
    root, inst = fake_root
    (inst / "envs" / "plain" / "conda-meta").mkdir(parents=True)
    with pytest.raises(InputError) as refused:
        rollback(root=root, installation=None, name="plain")
    assert refused.value.command == ("release", "plain", "--adopt", "--from", "v1")
    with pytest.raises(InputError, match="no environment missing"):
        rollback(root=root, installation=None, name="missing")
