"""The pointer switch: ordered writes, journaled so an interrupted switch is finished or undone,
and the record of the last completed switch that tells a rollback which way is back."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from .. import fs
from ..errors import SharedError
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
    undoes: bool = False  # puts back the pointers an interrupted switch had started to change

    def after(self) -> dict[str, Path | None]:
        """Every pointer as the plan leaves it."""
        return {**dict(self.before), **dict(self.writes)}


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
        "undoes": plan.undoes,
        "started": _now(),
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

    @property
    def what(self) -> str:
        source = self.plan.source.name if self.plan.source else "nothing"
        return (
            f"a {self.plan.action} from {source} to {self.plan.target.name}, started "
            f"{self.started} by {self.user}, stopped half-way"
        )

    @property
    def finishing(self) -> tuple[str, ...]:
        """The command that finishes it: the same switch again."""
        if self.plan.action == "rollback":
            return ("cutover", "--rollback")
        return ("cutover", "--to", self.plan.target.name)

    @property
    def undoing(self) -> tuple[str, ...]:
        """The command that puts the pointers back as they were before it."""
        if self.plan.action == "rollback" and self.plan.source is not None:
            return ("cutover", "--to", self.plan.source.name)
        return ("cutover", "--rollback")

    def refusal(self) -> SharedError:
        """Why any other pointer change waits: the half-done switch must not be repurposed."""
        return SharedError(
            f"{self.what}; until it is finished or undone, no other switch and no qa change "
            "is made",
            "Finish it",
            command=self.finishing,
            alternative=("or undo it", self.undoing),
        )

    def explain(self, command_line: CommandLine | None = None) -> str:
        spell = command_line or CommandLine()
        return (
            f"{self.what}; run `{spell(*self.finishing)}` to finish it, "
            f"or `{spell(*self.undoing)}` to undo it"
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
            undoes=document.get("undoes") is True,
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


def last_path(root: Path) -> Path:
    return root / "log" / "cutover.last.json"


@dataclass(frozen=True)
class LastSwitch:
    """The last cutover or rollback that completed, and the pointers it left behind."""

    action: str  # cutover | rollback
    source: str | None  # installation folder names
    target: str
    after: dict[str, str | None]  # pointer -> what it stored (see pointers.link_target)
    finished: str
    user: str

    @property
    def what(self) -> str:
        source = self.source or "nothing"
        return f"{self.action} {source} -> {self.target}, {self.finished} by {self.user}"


def record_last(root: Path, plan: Plan, *, forced: bool) -> None:
    """Keep the pointers before and after a completed switch, for the next rollback to check.

    Written under the pointer lock, before the journal goes: a crash in between leaves the
    journal, and finishing it writes this again. Undoing an interrupted switch leaves the
    previous record as it is, since the pointers are back where that record left them.
    """

    def stored(pointers: dict[str, Path | None]) -> dict[str, str | None]:
        # As the links store them, so a root mounted at another path still matches.
        return {n: None if p is None else link_target(root, p) for n, p in pointers.items()}

    document = {
        "action": plan.action,
        "from": plan.source.name if plan.source else None,
        "to": plan.target.name,
        "before": stored(dict(plan.before)),
        "after": stored(plan.after()),
        "forced": forced,
        "finished": _now(),
        "user": fs.current_user(),
    }
    fs.atomic_write(last_path(root), json.dumps(document, indent=1) + "\n")


def read_last(root: Path) -> LastSwitch | None:
    """The last completed switch, or None when none is recorded (or the record is unreadable)."""
    try:
        document = json.loads(last_path(root).read_bytes())
        source = document["from"]
        return LastSwitch(
            action=str(document["action"]),
            source=None if source is None else str(source),
            target=str(document["to"]),
            after={str(n): None if p is None else str(p) for n, p in document["after"].items()},
            finished=str(document["finished"]),
            user=str(document["user"]),
        )
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None


def _now() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _text(path: Path | None) -> str | None:
    return None if path is None else str(path)


def _path(text: object) -> Path | None:
    return None if text is None else Path(str(text))
