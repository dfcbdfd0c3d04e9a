"""ROOT/requests on disk: the inbox users file into, the answers admins write, read with distrust.

The inbox (3733 root:ADMIN-GROUP) lets everyone create a file and nobody but root list it;
each request is one small JSON file under a random name, the request id. The requester is the
uid that owns that file, read from the file itself (lstat, then the opened file), never from
its contents or the caller's environment. Anything in the inbox that is not a regular file
with one link, of a bounded size, holding a JSON object, is set aside and never followed.
"""

from __future__ import annotations

import errno
import json
import os
import re
import secrets
import stat
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .. import fs
from ..errors import InputError, SharedError

REQUESTS_DIR = "requests"
INBOX = "inbox"
ANSWERS = "answers"
#: everyone may create in the inbox but nobody may list it; setgid hands new requests to the
#: admin group, sticky keeps users from removing each other's
INBOX_MODE = 0o3733
#: only root writes answers; anyone may open one by its unguessable name, nobody may list them
ANSWERS_MODE = 0o711
REQUESTS_MODE = 0o755
REQUEST_MODE = 0o640
ANSWER_MODE = 0o644
#: a request is a few specs and a short reason; anything larger is not one of ours
MAX_REQUEST_BYTES = 8192
#: 16 random bytes: 22 characters of [A-Za-z0-9_-], never starting with '-' (an option)
_ID = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_-]{21}$")


@dataclass(frozen=True)
class Filed:
    """One inbox entry that passed every check: who filed it (the file's owner) and what."""

    id: str
    uid: int
    mtime: float
    document: Mapping[str, Any]


@dataclass(frozen=True)
class SetAside:
    """An inbox entry that is not a request we may read, and why; it is never followed."""

    name: str
    uid: int | None
    reason: str


def requests_dir(root: Path) -> Path:
    return root / REQUESTS_DIR


def inbox_dir(root: Path) -> Path:
    return requests_dir(root) / INBOX


def answers_dir(root: Path) -> Path:
    return requests_dir(root) / ANSWERS


def new_request_id() -> str:
    while True:
        text = secrets.token_urlsafe(16)
        if _ID.match(text):
            return text


def is_request_id(text: str) -> bool:
    return bool(_ID.match(text))


def checked_id(text: str) -> str:
    """A request id typed on the command line, refused unless it has the shape we hand out
    (so it can never be a path or an option)."""
    if not is_request_id(text):
        raise InputError(
            f"{text!r} is not a request id (22 letters, digits, '-' or '_')",
            "Copy the id that filing printed, or see your requests",
            command=("request", "list"),
        )
    return text


def admin_gid(group: str) -> int:
    """The admin group's gid: a group name or number from plugins.shared_admin_group, or
    root's group when the setting is empty."""
    if not group:
        return 0
    if group.isdigit():
        return int(group)
    import grp

    try:
        return grp.getgrnam(group).gr_gid
    except KeyError:
        raise InputError(
            f"plugins.shared_admin_group is {group!r}, and no such group exists",
            "Create the group (groupadd) or set plugins.shared_admin_group to an existing one",
        ) from None


def ensure_folders(root: Path, *, admin_gid: int) -> tuple[tuple[str, bool], ...]:
    """Create (or put right) ROOT/requests, its inbox and answers: (folder and mode, whether
    it was created or changed) for each."""
    done: list[tuple[str, bool]] = []
    for path, mode, gid in (
        (requests_dir(root), REQUESTS_MODE, 0),
        (inbox_dir(root), INBOX_MODE, admin_gid),
        (answers_dir(root), ANSWERS_MODE, 0),
    ):
        created = not path.is_dir()
        fs.make_dirs(path, mode=0o700)
        changed = fs.set_owner_and_mode(path, uid=0, gid=gid, mode=mode) or created
        done.append((f"{path.relative_to(root)}/ {mode:04o}", changed))
    return tuple(done)


def folder_problems(root: Path, *, admin_gid: int) -> Iterator[str]:
    """What is wrong with the owners and modes of ROOT/requests (for `doctor`)."""
    for path, mode, gid in (
        (inbox_dir(root), INBOX_MODE, admin_gid),
        (answers_dir(root), ANSWERS_MODE, 0),
    ):
        try:
            info = os.lstat(path)
        except FileNotFoundError:
            continue  # requests are not set up here; `init` creates them
        if not stat.S_ISDIR(info.st_mode):
            yield f"{path} is not a directory"
            continue
        found = stat.S_IMODE(info.st_mode)
        if found != mode or info.st_uid != 0 or info.st_gid != gid:
            yield (
                f"{path} is mode {found:04o} owner {info.st_uid}:{info.st_gid}, not "
                f"{mode:04o} owner 0:{gid}"
            )


def write_request(root: Path, document: Mapping[str, Any]) -> str:
    """File `document` in the inbox under a new id, whole or not at all; the id.

    Written under a private temp name (O_EXCL, O_NOFOLLOW), synced, its size checked, then
    renamed to the id: a reader never sees a partial request, and a full disk or a quota
    leaves nothing behind (only the file this call created is removed).
    """
    payload = fs.encoded(json.dumps(document, sort_keys=True))
    if len(payload) > MAX_REQUEST_BYTES:
        raise InputError(
            f"this request is {len(payload)} bytes, more than the {MAX_REQUEST_BYTES} a "
            "request may hold",
            "Ask for fewer packages, or shorten --reason",
        )
    request_id = new_request_id()
    final = inbox_dir(root) / request_id
    fs.write_new_file(final, payload, mode=REQUEST_MODE)
    return request_id


def read_inbox(root: Path) -> tuple[tuple[Filed, ...], tuple[SetAside, ...]]:
    """Every request in the inbox (needs root: nobody else may list it), and what was set aside."""
    filed: list[Filed] = []
    aside: list[SetAside] = []
    for name in sorted(os.listdir(inbox_dir(root))):
        entry = read_request(root, name)
        if isinstance(entry, Filed):
            filed.append(entry)
        else:
            aside.append(entry)
    return tuple(filed), tuple(aside)


def read_request(root: Path, name: str) -> Filed | SetAside:
    """One inbox entry, opened without following links and checked before it is parsed."""
    path = inbox_dir(root) / name
    try:
        before = os.lstat(path)
    except FileNotFoundError:
        return SetAside(name, None, "no such request")
    uid = before.st_uid
    if not is_request_id(name):
        return SetAside(name, uid, "not a request id (a temp file being written, or planted)")
    if not stat.S_ISREG(before.st_mode):
        return SetAside(name, uid, "not a regular file (a link, folder or device): not followed")
    if before.st_nlink != 1:
        return SetAside(name, uid, f"a hard link ({before.st_nlink} links): not read")
    if before.st_size > MAX_REQUEST_BYTES:
        return SetAside(name, uid, f"{before.st_size} bytes, more than {MAX_REQUEST_BYTES}")
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_NOCTTY)
    except OSError as error:
        return SetAside(name, uid, f"cannot be opened: {error.strerror}")
    try:
        info = os.fstat(fd)
        if (info.st_dev, info.st_ino) != (before.st_dev, before.st_ino) or info.st_nlink != 1:
            return SetAside(name, uid, "replaced while it was read: not read")
        data = os.read(fd, MAX_REQUEST_BYTES + 1)
    except OSError as error:
        return SetAside(name, uid, f"cannot be read: {error.strerror}")
    finally:
        os.close(fd)
    try:
        document = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        return SetAside(name, info.st_uid, "not valid JSON")
    if len(data) > MAX_REQUEST_BYTES or not isinstance(document, dict):
        return SetAside(name, info.st_uid, "not a request document")
    return Filed(name, info.st_uid, info.st_mtime, document)


def read_own_request(root: Path, request_id: str) -> Filed | None:
    """The caller's own request `request_id`, or None when it is gone or not the caller's."""
    entry = read_request(root, request_id)
    if isinstance(entry, Filed) and entry.uid == os.getuid():
        return entry
    return None


def rewrite_own_request(root: Path, filed: Filed, document: Mapping[str, Any]) -> None:
    """Replace the caller's own request file (checked by `read_request`) with `document`."""
    payload = json.dumps(document, sort_keys=True)
    if len(fs.encoded(payload)) > MAX_REQUEST_BYTES or filed.uid != os.getuid():
        raise SharedError(
            f"request {filed.id} cannot be rewritten",
            "See your requests",
            command=("request", "list"),
        )
    fs.atomic_write(inbox_dir(root) / filed.id, payload, mode=REQUEST_MODE)


def write_answer(root: Path, request_id: str, answer: Mapping[str, Any]) -> None:
    fs.atomic_write(
        answers_dir(root) / checked_id(request_id),
        json.dumps(answer, indent=2, sort_keys=True) + "\n",
        mode=ANSWER_MODE,
    )


def read_answer(root: Path, request_id: str) -> Mapping[str, Any] | None:
    """The admin's answer to `request_id`, trusted only when root owns it; None when none."""
    path = answers_dir(root) / checked_id(request_id)
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError as error:
        if error.errno in (errno.ENOENT, errno.ELOOP):
            return None
        raise
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode) or info.st_uid != 0:
            return None
        data = os.read(fd, 1 << 20)
    finally:
        os.close(fd)
    try:
        answer = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        return None
    return answer if isinstance(answer, dict) else None


def require_inbox(root: Path) -> Path:
    inbox = inbox_dir(root)
    if not inbox.is_dir():
        raise SharedError(
            f"{root} takes no package requests: {inbox} does not exist",
            "Ask an admin to set requests up",
            command=("init", str(root)),
        )
    return inbox
