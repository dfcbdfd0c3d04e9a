"""Where an environment's releases live, how they are named, and what each one records."""

from __future__ import annotations

import datetime
import json
import os
import string
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from ..kernels.read import read_kernels
from ..text import CommandLine

RELEASES_DIR = ".releases"
RECORD_FILE = "release.json"
FILES_LIST = "files.json"
FROZEN_FILE = "frozen"
LOCK_FILE = ".release.lock"
JOURNAL_FILE = ".journal.json"
ADOPTED_PREFIX = ".adopted-"
ADOPTED_MARKER = ".conda-shared-adopted"
#: the marker a release folder carries while it is being built; proves that we made it
BUILDING_MARKER = ".conda-shared-building"
RELEASE_KINDS = ("release", "adopted", "replicated", "rebuilt")

_DATE_FORMAT = "%Y.%m.%d"


def releases_dir(installation: Path, name: str) -> Path:
    """INST/envs/.releases/NAME: every release of one environment, its lock and journal."""
    return installation / "envs" / RELEASES_DIR / name


def release_prefix(installation: Path, name: str, release_id: str) -> Path:
    """The prefix of one release: INST/envs/.releases/NAME/ID."""
    return releases_dir(installation, name) / release_id


def build_log(installation: Path, name: str, release_id: str) -> Path:
    """conda's output while a release was built: envs/.releases/NAME/.ID.log."""
    return releases_dir(installation, name) / f".{release_id}.log"


def env_link(installation: Path, name: str) -> Path:
    """INST/envs/NAME: the symlink users activate."""
    return installation / "envs" / name


def link_text(release_id: str, name: str) -> str:
    """What envs/NAME holds when it points at `release_id` (relative, so the root can move)."""
    return f"{RELEASES_DIR}/{name}/{release_id}"


def is_release_id(text: str) -> bool:
    """`YYYY.MM.DD` followed by zero or more lowercase letters, none of them after a `z`
    except more letters (`a`..`z`, `za`..`zz`, `zza`..)."""
    date, suffix = text[:10], text[10:]
    try:
        parsed = datetime.datetime.strptime(date, _DATE_FORMAT).date()
    except ValueError:
        return False
    if parsed.strftime(_DATE_FORMAT) != date:
        return False
    if any(letter not in string.ascii_lowercase for letter in suffix):
        return False
    # Every letter but the last is `z`, so plain string order is creation order.
    return all(letter == "z" for letter in suffix[:-1])


def next_release_id(existing: Iterable[str], *, today: datetime.date) -> str:
    """The first ID of `today` that sorts after every existing one of that day."""
    date = today.strftime(_DATE_FORMAT)
    taken = sorted(i for i in existing if is_release_id(i) and i.startswith(date))
    if not taken:
        return date
    suffix = taken[-1][10:]
    if not suffix:
        return f"{date}a"
    if suffix[-1] == "z":
        return f"{date}{suffix}a"
    return f"{date}{suffix[:-1]}{chr(ord(suffix[-1]) + 1)}"


def split_release(text: str) -> tuple[str, str | None]:
    """`ds@2026.12.07a` -> ("ds", "2026.12.07a"); a plain name has no release."""
    name, at, release_id = text.partition("@")
    return (name, release_id) if at else (text, None)


def current_release(installation: Path, name: str) -> str | None:
    """The release envs/NAME points at; None for a plain folder, a missing env or a link that
    leads anywhere but one of its own releases."""
    try:
        target = os.readlink(env_link(installation, name))
    except OSError:
        return None
    prefix, _, release_id = target.rpartition("/")
    if prefix != f"{RELEASES_DIR}/{name}" or not is_release_id(release_id):
        return None
    return release_id


def release_ids(installation: Path, name: str) -> tuple[str, ...]:
    """The published releases of NAME, oldest first (a folder still being built is not one)."""
    folder = releases_dir(installation, name)
    try:
        names = os.listdir(folder)
    except OSError:
        return ()
    return tuple(
        sorted(
            i
            for i in names
            if is_release_id(i)
            and os.path.isdir(folder / i)
            and not os.path.lexists(folder / i / BUILDING_MARKER)
        )
    )


def adopted_folders(installation: Path, name: str) -> tuple[Path, ...]:
    """The plain folders adoptions replaced (`.adopted-ID` holding our marker), oldest first."""
    folder = releases_dir(installation, name)
    try:
        names = os.listdir(folder)
    except OSError:
        return ()
    return tuple(
        folder / n
        for n in sorted(names)
        if n.startswith(ADOPTED_PREFIX)
        and is_release_id(n[len(ADOPTED_PREFIX) :])
        and os.path.isfile(folder / n / ADOPTED_MARKER)
    )


def records_dir(root: Path, installation: Path, name: str, release_id: str) -> Path:
    """ROOT/specs/INSTNAME/releases/NAME/ID: a release's record and export files."""
    return root / "specs" / installation.name / "releases" / name / release_id


def pinned_releases(root: Path, installation: Path, name: str) -> frozenset[str]:
    """Releases of NAME a kernel under ROOT/kernels runs directly (argv[0] in the release)."""
    folder = os.path.realpath(releases_dir(installation, name))
    pinned: set[str] = set()
    for kernel in read_kernels(root / "kernels"):
        if kernel.executable is None or not os.path.isabs(kernel.executable):
            continue
        parent = os.path.realpath(Path(kernel.executable).parent.parent.parent)
        release_id = Path(kernel.executable).parent.parent.name
        if parent == folder and is_release_id(release_id):
            pinned.add(release_id)
    return frozenset(pinned)


def frozen_message(name: str) -> str:
    """What conda (25.5+) and our pre-command hook say when someone changes a release."""
    command = CommandLine()
    release = command("release", name, "--add", "SPEC")
    return (
        f"The environment {name} is a published release of a shared installation and never "
        f"changes. Ask an admin to make a new release (`{release}`), or add packages for "
        f"yourself in an overlay (`{command('overlay')}`)."
    )


def frozen_document(name: str) -> str:
    """conda-meta/frozen: CEP 22's JSON form (plain text crashes conda 26.7)."""
    return json.dumps({"message": frozen_message(name)}, indent=1) + "\n"


@dataclass(frozen=True)
class ReleaseRecord:
    """One release as ROOT/specs/.../releases/NAME/ID/release.json records it."""

    id: str
    env: str
    installation: str
    parent: str | None
    user: str
    uid: int
    sudo_user: str | None
    created: str  # UTC ISO 8601
    kind: str  # one of RELEASE_KINDS
    change: Mapping[str, Any]
    diff: Mapping[str, Any]
    content_key: str
    smoke: Mapping[str, Any] | None
    solve: str = field(default="pinned")  # pinned | loose: how the change was solved


def read_record(path: Path) -> ReleaseRecord | None:
    """The record in `path` (a release.json or the folder holding it); None when missing or
    not a record (never raises on bad JSON)."""
    if path.is_dir():
        path = path / RECORD_FILE
    try:
        document = json.loads(path.read_bytes())
        return ReleaseRecord(
            id=str(document["id"]),
            env=str(document["env"]),
            installation=str(document["installation"]),
            parent=None if document["parent"] is None else str(document["parent"]),
            user=str(document["user"]),
            uid=int(document["uid"]),
            sudo_user=None if document["sudo_user"] is None else str(document["sudo_user"]),
            created=str(document["created"]),
            kind=str(document["kind"]),
            change=dict(document["change"]),
            diff=dict(document["diff"]),
            content_key=str(document["content_key"]),
            smoke=None if document["smoke"] is None else dict(document["smoke"]),
            solve=str(document.get("solve", "pinned")),
        )
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None


def record_json(record: ReleaseRecord) -> str:
    return json.dumps(asdict(record), indent=1, sort_keys=True) + "\n"
