"""The pointer switch: ordered writes, journaled so an interrupted switch is finished or undone."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from .. import fs
from ..pointers import clear_pointer, link_target, lock_path, set_pointer
from ..text import CommandLine

#: (pointer name, installation it should point at, or None to remove the pointer)
Write = tuple[str, "Path | None"]


@dataclass(frozen=True)
class Plan:
    """What a cutover or rollback writes, in order, and the pointers as they were before."""

    action: str  # cutover | rollback
    source: Path | None
    target: Path
    writes: tuple[Write, ...]
    before: tuple[Write, ...]


def apply(root: Path, writes: tuple[Write, ...], progress: Callable[[str], None]) -> None:
    """Write each pointer atomically, in order; readers of ROOT/current never see it missing.
    A pointer that already has its value is left alone, so applying a plan twice is harmless."""
    for name, installation in writes:
        link = root / name
        present = os.readlink(link) if link.is_symlink() else None
        if installation is None:
            if present is not None:
                clear_pointer(root, name)
                progress(f"{name} cleared")
        elif present != link_target(root, installation):
            set_pointer(root, name, installation)
            progress(f"{name} -> {installation.name}")


def journal_path(root: Path) -> Path:
    return root / "log" / "cutover.pending.json"


def write_journal(root: Path, plan: Plan) -> None:
    """Record the plan before the first pointer write (removed after the last)."""
    document = {
        "action": plan.action,
        "from": _text(plan.source),
        "to": str(plan.target),
        "writes": [[name, _text(path)] for name, path in plan.writes],
        "before": [[name, _text(path)] for name, path in plan.before],
        "started": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "user": fs.current_user(),
        "pid": os.getpid(),
    }
    fs.atomic_write(journal_path(root), json.dumps(document, indent=1) + "\n")


def finish_journal(root: Path) -> None:
    journal_path(root).unlink()


@dataclass(frozen=True)
class Interrupted:
    """A cutover or rollback that stopped between its pointer writes."""

    plan: Plan
    started: str
    user: str

    def explain(self, command_line: CommandLine) -> str:
        source = self.plan.source.name if self.plan.source else "nothing"
        same, other = (f"`{command_line('cutover', *option)}`" for option in ((), ("--rollback",)))
        if self.plan.action == "rollback":
            same, other = other, same
        return (
            f"a {self.plan.action} from {source} to {self.plan.target.name}, started "
            f"{self.started} by {self.user}, stopped half-way; run {same} to finish it, "
            f"or {other} to undo it"
        )


def read_journal(root: Path) -> Interrupted | None:
    """The plan of an interrupted switch, if one was left behind (an unreadable one is None)."""
    try:
        document = json.loads(journal_path(root).read_bytes())
        plan = Plan(
            action=str(document["action"]),
            source=_path(document["from"]),
            target=Path(document["to"]),
            writes=tuple((str(n), _path(p)) for n, p in document["writes"]),
            before=tuple((str(n), _path(p)) for n, p in document["before"]),
        )
        return Interrupted(plan, str(document["started"]), str(document["user"]))
    except (OSError, ValueError, KeyError, TypeError):
        return None


def in_progress(root: Path, *, command_line: CommandLine) -> str | None:
    """A line for `status`: a switch running now, or one that was interrupted."""
    holder = fs.lock_holder(lock_path(root))
    if holder:
        return f"a cutover is running now ({holder})"
    interrupted = read_journal(root)
    return interrupted.explain(command_line) if interrupted else None


def _text(path: Path | None) -> str | None:
    return None if path is None else str(path)


def _path(text: object) -> Path | None:
    return None if text is None else Path(str(text))
