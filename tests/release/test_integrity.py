"""release/integrity.py: files.json at publish, and what changed in a release since."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from conda_shared.release.integrity import (
    changes_since_publish,
    files_json,
    listed_files,
    published_files,
    read_files_json,
)
from tests.release.published import SITE, build_release


def test_listed_files_come_from_records_and_dist_info_records_without_pycache(
    tmp_path: Path,
) -> None:
    prefix = build_release(tmp_path, "ds", "2026.12.07")
    assert listed_files(prefix) == (
        "bin/tool",
        "lib/libz.so",
        "lib/libz.so.1",
        f"{SITE}/tool-1.0.dist-info/RECORD",
        f"{SITE}/tool.py",
    )


def test_a_link_is_recorded_by_its_target_and_a_file_by_its_content(tmp_path: Path) -> None:
    prefix = build_release(tmp_path, "ds", "2026.12.07")
    digests = published_files(prefix)
    assert digests["lib/libz.so"] == (9, hashlib.sha256(b"libz.so.1").hexdigest())
    assert digests["lib/libz.so.1"] == (9, hashlib.sha256(b"\x7fELF libz").hexdigest())
    assert read_files_json(write(tmp_path / "files.json", files_json(prefix))) == digests


def test_an_untouched_release_has_no_changes(tmp_path: Path) -> None:
    prefix = build_release(tmp_path, "ds", "2026.12.07")
    published = published_files(prefix)
    (prefix / SITE / "z" / "__pycache__" / "z.cpython-311.pyc").write_bytes(b"recompiled")
    assert changes_since_publish(prefix, published).empty


def test_same_size_other_content_a_moved_link_a_gone_file_and_a_new_one(tmp_path: Path) -> None:
    prefix = build_release(tmp_path, "ds", "2026.12.07")
    published = published_files(prefix)
    (prefix / "lib" / "libz.so.1").write_bytes(b"\x7fELF evil")  # same size
    (prefix / "lib" / "libz.so").unlink()
    (prefix / "lib" / "libz.so").symlink_to("/tmp/elsewhere")
    (prefix / "bin" / "tool").unlink()
    record = prefix / SITE / "tool-1.0.dist-info" / "RECORD"
    record.write_text(record.read_text() + "extra.py,,\n")
    changes = changes_since_publish(prefix, published)
    assert changes.changed == ("lib/libz.so", "lib/libz.so.1", f"{SITE}/tool-1.0.dist-info/RECORD")
    assert changes.missing == ("bin/tool",)
    assert changes.added == (f"{SITE}/extra.py",)


def test_a_broken_files_json_reads_as_none(tmp_path: Path) -> None:
    for text in ("", "[1]", '{"a": 3}', '{"a": ["x", "y"]}'):
        assert read_files_json(write(tmp_path / "files.json", text)) is None
    assert read_files_json(tmp_path / "missing.json") is None


def write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


def test_paths_outside_the_prefix_are_not_listed(tmp_path: Path) -> None:
    prefix = build_release(tmp_path, "ds", "2026.12.07")
    record = prefix / SITE / "tool-1.0.dist-info" / "RECORD"
    record.write_text(record.read_text() + "../../../../outside,,\n")
    assert not any(path.startswith("..") or os.path.isabs(path) for path in listed_files(prefix))
