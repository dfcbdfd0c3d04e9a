"""The qa pointer: which installation is under test before a cutover."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from . import audit
from .cutover.switch import read_journal
from .errors import InputError
from .layout import SharedRoot
from .pointers import (
    clear_pointer,
    open_switchable,
    pointers_lock,
    resolve_installation,
    set_pointer,
)


@dataclass(frozen=True)
class QaChange:
    """The qa pointer before and after `qa set` or `qa clear`."""

    root: Path
    before: str | None
    after: str | None
    notes: tuple[str, ...]


def set_qa(*, root: Path, installation: str) -> QaChange:
    """Point ROOT/qa at an installation folder of the root (not the current one)."""
    shared = open_switchable(root, ("qa",))
    with pointers_lock(shared.path):
        _refuse_while_interrupted(shared)
        target = resolve_installation(shared, installation, option="qa set")
        current = shared.pointer("current")
        if current is not None and current.ok and current.target == target:
            raise InputError(
                f"{target.name} is already the current installation; qa names the next one",
                "Install the new conda in its own folder of the root, then point qa at it",
                command=("qa", "set", "NAME"),
            )
        before = _name(shared)
        set_pointer(shared.path, "qa", target)
        return _logged(shared, "qa-set", before, target.name)


def clear_qa(*, root: Path) -> QaChange:
    """Remove ROOT/qa (the installation itself is left alone)."""
    shared = open_switchable(root, ("qa",))
    with pointers_lock(shared.path):
        _refuse_while_interrupted(shared)
        before = _name(shared)
        clear_pointer(shared.path, "qa")
        return _logged(shared, "qa-clear", before, None)


def _refuse_while_interrupted(shared: SharedRoot) -> None:
    """An interrupted cutover may still clear qa when it is finished, or put it back when it is
    undone: a qa change made now would be wiped or would change what that switch means."""
    interrupted = read_journal(shared.path)
    if interrupted is not None:
        raise interrupted.refusal()


def _name(shared: SharedRoot) -> str | None:
    pointer = shared.pointer("qa")
    if pointer is None or pointer.link is None:
        return None
    return pointer.target.name if pointer.target else pointer.link


def _logged(shared: SharedRoot, action: str, before: str | None, after: str | None) -> QaChange:
    note = audit.try_record(
        shared.log_path,
        command=f"{action.replace('-', ' ')} {after or ''}".rstrip(),
        result="ok",
        action=action,
        source=before,
        target=after,
        forced=False,
    )
    return QaChange(root=shared.path, before=before, after=after, notes=(note,) if note else ())
