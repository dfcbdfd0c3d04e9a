"""A user's own list of the requests they filed, in their home: nobody may list the inbox.

~/.conda/shared-requests/ROOTNAME-HASH.json (0600 in a 0700 folder), one per shared root. It
holds ids only, never states: a state is read from the inbox (the file must still be the user's
own) and from the answers folder (only root's answers count). So a changed index can at most
hide a request from its owner; it can never show them someone else's.
"""

from __future__ import annotations

import hashlib
import json
import os
import stat
from dataclasses import dataclass
from pathlib import Path

from .. import fs
from ..errors import SharedError
from ..text import quoted
from .store import is_request_id

INDEX_DIR = Path(".conda") / "shared-requests"


@dataclass(frozen=True)
class IndexEntry:
    id: str
    env: str
    filed: str  # UTC ISO 8601
    withdrawn: bool = False


def index_path(root: Path, home: Path | None = None) -> Path:
    real = os.path.realpath(root)
    digest = hashlib.sha256(fs.encoded(real)).hexdigest()[:12]
    return (home or Path.home()) / INDEX_DIR / f"{Path(real).name or 'root'}-{digest}.json"


def read_index(root: Path, home: Path | None = None) -> tuple[IndexEntry, ...]:
    """The caller's filed requests for `root`, oldest first; refused unless the caller owns it."""
    path = index_path(root, home)
    try:
        info = os.lstat(path)
    except FileNotFoundError:
        return ()
    _refuse_foreign(path, info)
    _refuse_foreign(path.parent, os.lstat(path.parent))
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
        rows = document["requests"]
        return tuple(
            IndexEntry(str(r["id"]), str(r["env"]), str(r["filed"]), bool(r.get("withdrawn")))
            for r in rows
            if is_request_id(str(r["id"]))
        )
    except (ValueError, KeyError, TypeError, UnicodeDecodeError):
        raise SharedError(
            f"your request index {path} is not readable JSON",
            f"Move it aside (mv {quoted(path)} {quoted(f'{path}.bad')}); your filed requests "
            "stay in the inbox, their ids in the output of each filing",
        ) from None


def write_index(root: Path, entries: tuple[IndexEntry, ...], home: Path | None = None) -> Path:
    path = index_path(root, home)
    fs.make_dirs(path.parent, mode=0o700)
    _refuse_foreign(path.parent, os.lstat(path.parent))
    document = {
        "root": os.path.realpath(root),
        "requests": [
            {"id": e.id, "env": e.env, "filed": e.filed, "withdrawn": e.withdrawn} for e in entries
        ],
    }
    fs.atomic_write(path, json.dumps(document, indent=2) + "\n", mode=0o600)
    return path


def _refuse_foreign(path: Path, info: os.stat_result) -> None:
    if stat.S_ISLNK(info.st_mode) or info.st_uid != os.getuid() or info.st_mode & 0o022:
        raise SharedError(
            f"your request index {path} is not yours alone (a link, another owner, or "
            "writable by others)",
            f"Remove it ({quoted(path)}) and file again if needed; nothing in it is trusted",
        )
