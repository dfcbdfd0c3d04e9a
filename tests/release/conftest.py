"""Fake release-managed roots for tier 1: release folders without conda (conda-meta only)."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path

import pytest

from conda_shared.release.layout import (
    FROZEN_FILE,
    ReleaseRecord,
    record_json,
    records_dir,
    release_prefix,
)

AddRelease = Callable[..., Path]


@pytest.fixture
def fake_root(tmp_path: Path) -> tuple[Path, Path]:
    """ROOT with current -> v1, and v1/envs/ (no envs yet)."""
    root = tmp_path / "root"
    (root / "v1" / "conda-meta").mkdir(parents=True)
    (root / "v1" / "envs").mkdir()
    (root / "current").symlink_to("v1")
    return root, root / "v1"


@pytest.fixture
def add_release(fake_root: tuple[Path, Path]) -> AddRelease:
    """Add a published release (frozen, with its record naming `parent`); `live` points
    envs/NAME at it."""
    root, inst = fake_root

    def add(name: str, release_id: str, *, parent: str | None = None, live: bool = False) -> Path:
        prefix = release_prefix(inst, name, release_id)
        (prefix / "conda-meta").mkdir(parents=True)
        (prefix / "conda-meta" / FROZEN_FILE).write_text(json.dumps({"message": "m"}))
        record = ReleaseRecord(
            id=release_id, env=name, installation=inst.name, parent=parent, user="root", uid=0,
            sudo_user=None, created="2026-12-07T00:00:00Z", kind="release", change={},
            diff={"added": [], "removed": [], "changed": []}, content_key="k", smoke=None,
        )  # fmt: skip
        records = records_dir(root, inst, name, release_id)
        records.mkdir(parents=True)
        (records / "release.json").write_text(record_json(record))
        (records / f"{name}.lock").write_text("@EXPLICIT\n")
        if live:
            link = inst / "envs" / name
            if link.is_symlink():
                link.unlink()
            os.symlink(f".releases/{name}/{release_id}", link)
        return prefix

    return add
