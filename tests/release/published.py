"""A release-managed env built by hand in tmp_path, as a publish leaves it (record, files.json)."""

from __future__ import annotations

import os
from pathlib import Path

from conda_shared import fs
from conda_shared.release.integrity import files_json
from conda_shared.release.layout import (
    FILES_LIST,
    ReleaseRecord,
    link_text,
    record_json,
    records_dir,
    release_prefix,
)
from tests.roots import make_installation, write_record

SITE = "lib/python3.11/site-packages"


def make_root(tmp_path: Path) -> tuple[Path, Path]:
    """ROOT with v1 current; returns (root, installation)."""
    root = tmp_path / "root"
    installation = make_installation(root / "v1")
    os.symlink("v1", root / "current")
    return root, installation


def build_release(installation: Path, name: str, release_id: str) -> Path:
    """A prefix with one conda package (a library, a link, a pyc) and one pip dist."""
    prefix = release_prefix(installation, name, release_id)
    write_record(
        prefix,
        {
            "name": "libz",
            "version": "1.0",
            "build": "0",
            "files": ["lib/libz.so.1", "lib/libz.so", f"{SITE}/z/__pycache__/z.cpython-311.pyc"],
        },
    )
    (prefix / "lib").mkdir()
    (prefix / "lib" / "libz.so.1").write_bytes(b"\x7fELF libz")
    (prefix / "lib" / "libz.so").symlink_to("libz.so.1")
    (prefix / SITE / "z" / "__pycache__").mkdir(parents=True)
    (prefix / SITE / "z" / "__pycache__" / "z.cpython-311.pyc").write_bytes(b"pyc")
    dist = prefix / SITE / "tool-1.0.dist-info"
    dist.mkdir()
    (prefix / SITE / "tool.py").write_text("print('tool')\n")
    (prefix / "bin").mkdir()
    (prefix / "bin" / "tool").write_text("#!/bin/sh\n")
    (dist / "RECORD").write_text(
        "tool.py,sha256=x,14\n../../../bin/tool,,\n"
        "tool-1.0.dist-info/RECORD,,\n__pycache__/tool.cpython-311.pyc,,\n"
    )
    return prefix


def publish(root: Path, installation: Path, name: str, release_id: str) -> Path:
    """Write the release's record and files.json, and point envs/NAME at it."""
    prefix = release_prefix(installation, name, release_id)
    records = records_dir(root, installation, name, release_id)
    records.mkdir(parents=True)
    (records / FILES_LIST).write_text(files_json(prefix))
    record = ReleaseRecord(
        id=release_id,
        env=name,
        installation=installation.name,
        parent=None,
        user="root",
        uid=0,
        sudo_user=None,
        created="2026-12-07T22:00:00Z",
        kind="release",
        change={},
        diff={},
        content_key="k",
        smoke=None,
    )
    (records / "release.json").write_text(record_json(record))
    fs.atomic_symlink(installation / "envs" / name, link_text(release_id, name))
    return prefix
