"""Release IDs, the envs/NAME pointer, records and pinned kernels (release/layout.py)."""

from __future__ import annotations

import datetime
import json
import os
from pathlib import Path

import pytest

from conda_shared.release import layout
from conda_shared.release.layout import (
    ReleaseRecord,
    current_release,
    frozen_document,
    is_release_id,
    next_release_id,
    pinned_releases,
    read_record,
    record_json,
    release_ids,
    release_prefix,
    split_release,
)

DAY = datetime.date(2026, 12, 7)


@pytest.mark.parametrize(
    "text, valid",
    [
        ("2026.12.07", True),
        ("2026.12.07a", True),
        ("2026.12.07za", True),
        ("2026.12.07zzb", True),
        ("2026.12.07az", False),
        ("2026.13.07", False),
        ("2026.2.07", False),
        ("2026.12.07A", False),
        ("ds", False),
    ],
)
def test_is_release_id(text: str, valid: bool) -> None:
    assert is_release_id(text) is valid


def test_next_release_id_sorts_by_time() -> None:
    ids: list[str] = []
    for _ in range(60):
        ids.append(next_release_id(ids, today=DAY))
    assert ids[:3] == ["2026.12.07", "2026.12.07a", "2026.12.07b"]
    assert ids[26:28] == ["2026.12.07z", "2026.12.07za"]
    assert sorted(ids) == ids and len(set(ids)) == len(ids)
    assert next_release_id(ids, today=DAY + datetime.timedelta(days=1)) == "2026.12.08"
    assert next_release_id(["2026.12.06c", "junk"], today=DAY) == "2026.12.07"


def test_split_release() -> None:
    assert split_release("ds@2026.12.07a") == ("ds", "2026.12.07a")
    assert split_release("ds") == ("ds", None)


def _release(inst: Path, name: str, release_id: str) -> Path:
    prefix = release_prefix(inst, name, release_id)
    (prefix / "conda-meta").mkdir(parents=True)
    return prefix


def test_current_release_and_ids(tmp_path: Path) -> None:
    inst = tmp_path / "v1"
    (inst / "envs").mkdir(parents=True)
    assert current_release(inst, "ds") is None
    _release(inst, "ds", "2026.12.07")
    building = _release(inst, "ds", "2026.12.07a")
    (building / layout.BUILDING_MARKER).write_text("")
    os.symlink(".releases/ds/2026.12.07", inst / "envs" / "ds")
    assert current_release(inst, "ds") == "2026.12.07"
    assert release_ids(inst, "ds") == ("2026.12.07",)
    (inst / "envs" / "plain" / "conda-meta").mkdir(parents=True)
    assert current_release(inst, "plain") is None
    os.symlink("/elsewhere/2026.12.07", inst / "envs" / "foreign")
    assert current_release(inst, "foreign") is None


def test_record_round_trip_and_bad_json(tmp_path: Path) -> None:
    record = ReleaseRecord(
        id="2026.12.07",
        env="ds",
        installation="v1",
        parent=None,
        user="root",
        uid=0,
        sudo_user="alice",
        created="2026-12-07T10:00:00Z",
        kind="release",
        change={"add": ["numpy"], "remove": [], "update": [], "file": None, "requests": []},
        diff={"added": [["numpy", "2.0"]], "removed": [], "changed": []},
        content_key="abc",
        smoke={"ok": True},
    )
    path = tmp_path / "release.json"
    path.write_text(record_json(record))
    assert read_record(path) == record
    assert read_record(tmp_path) == record
    path.write_text("{not json")
    assert read_record(path) is None
    path.write_text(json.dumps({"id": "x"}))
    assert read_record(path) is None
    assert read_record(tmp_path / "missing.json") is None


def test_pinned_releases_from_kernels(tmp_path: Path) -> None:
    root = tmp_path / "root"
    inst = root / "v1"
    _release(inst, "ds", "2026.12.07")
    _release(inst, "ds", "2026.12.07a")
    for kernel, python in {
        "ds-2026.12.07": inst / "envs/.releases/ds/2026.12.07/bin/python",
        "ds": root / "current/envs/ds/bin/python",
        "other": inst / "envs/.releases/other/2026.12.07a/bin/python",
    }.items():
        (root / "kernels" / kernel).mkdir(parents=True)
        (root / "kernels" / kernel / "kernel.json").write_text(json.dumps({"argv": [str(python)]}))
    assert pinned_releases(root, inst, "ds") == frozenset({"2026.12.07"})


def test_frozen_document_is_json_naming_both_ways_out() -> None:
    message = json.loads(frozen_document("ds"))["message"]
    assert "conda shared release ds --add" in message and "conda shared overlay" in message
