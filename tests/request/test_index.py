"""A user's own index of filed requests: in their home, theirs alone, ids only."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from conda_shared.errors import SharedError
from conda_shared.requests import index
from conda_shared.requests.store import new_request_id
from tests.support.users import NOBODY, needs_root


def test_the_index_round_trips_per_root_and_is_private(tmp_path: Path) -> None:
    home = tmp_path / "home"
    first = index.IndexEntry(new_request_id(), "ds", "2026-12-07T22:00:00Z")
    path = index.write_index(tmp_path / "root", (first,), home)
    assert path.parent == home / ".conda" / "shared-requests"
    assert (path.stat().st_mode & 0o777, path.parent.stat().st_mode & 0o777) == (0o600, 0o700)
    assert index.read_index(tmp_path / "root", home) == (first,)
    assert index.read_index(tmp_path / "other-root", home) == ()


def test_ids_that_are_not_ours_in_shape_are_dropped(tmp_path: Path) -> None:
    home = tmp_path / "home"
    path = index.write_index(tmp_path, (), home)
    path.write_text('{"requests": [{"id": "../../etc/x", "env": "ds", "filed": ""}]}')
    assert index.read_index(tmp_path, home) == ()
    path.write_text("{broken")
    with pytest.raises(SharedError, match="not readable JSON"):
        index.read_index(tmp_path, home)


@needs_root
def test_an_index_someone_else_owns_or_can_write_is_refused(tmp_path: Path) -> None:
    home = tmp_path / "home"
    path = index.write_index(tmp_path, (), home)
    os.chown(path, NOBODY, NOBODY)
    with pytest.raises(SharedError, match="not yours alone"):
        index.read_index(tmp_path, home)
    os.chown(path, 0, 0)
    path.chmod(0o666)
    with pytest.raises(SharedError, match="not yours alone"):
        index.read_index(tmp_path, home)
    path.unlink()
    path.symlink_to(tmp_path / "elsewhere.json")
    with pytest.raises(SharedError, match="not yours alone"):
        index.read_index(tmp_path, home)
