"""An overlay's ledger, conda-meta/history style: when, who, the command, what changed."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from .. import fs
from ..history import parse_history
from ..prefix import PythonDist
from .locate import LEDGER

_USER = re.compile(r"^#\s*user:\s*(.*)$")


@dataclass(frozen=True)
class Change:
    """One distribution added, removed or replaced (then both versions are set)."""

    name: str
    before: str | None
    after: str | None


@dataclass(frozen=True)
class LedgerEntry:
    """One change of the overlay as recorded."""

    date: str
    user: str
    command: str
    added: tuple[str, ...]
    removed: tuple[str, ...]


def changes(
    before: Mapping[str, PythonDist], after: Mapping[str, PythonDist]
) -> tuple[Change, ...]:
    """What differs between two snapshots of an overlay's distributions, by name."""
    found = []
    for key in sorted(set(before) | set(after)):
        old, new = before.get(key), after.get(key)
        if old is None or new is None or old.version != new.version or old.location != new.location:
            name = (new or old).name  # type: ignore[union-attr]
            found.append(Change(name, old.version if old else None, new.version if new else None))
    return tuple(found)


def append(overlay: Path, *, command: str, changes: tuple[Change, ...]) -> None:
    """Add one entry in a single append, so the ledger never holds half an entry."""
    lines = [
        f"==> {datetime.now(timezone.utc).strftime('%Y-%m-%d %H:%M:%S')} UTC <==",
        f"# cmd: {command}",
        f"# user: {fs.current_user()}",
    ]
    lines += [f"-{c.name}-{c.before}" for c in changes if c.before]
    lines += [f"+{c.name}-{c.after}" for c in changes if c.after]
    fs.append_line(overlay / LEDGER, "\n".join(lines))


def read(overlay: Path) -> tuple[LedgerEntry, ...]:
    """Every entry, oldest first; a missing ledger is empty."""
    try:
        text = (overlay / LEDGER).read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ()
    users = [
        match.group(1).strip() for line in text.splitlines() if (match := _USER.match(line.strip()))
    ]
    revisions = parse_history(text).revisions
    return tuple(
        LedgerEntry(
            date=r.date,
            user=users[i] if i < len(users) else "",
            command=r.command,
            added=r.added,
            removed=r.removed,
        )
        for i, r in enumerate(revisions)
    )
