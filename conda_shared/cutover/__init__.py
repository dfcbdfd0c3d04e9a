"""Cutover and rollback of a shared root: preflight, then the pointer switch under a lock."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

from .. import audit, fs
from ..errors import InputError, SharedError
from ..layout import SharedRoot, open_root
from ..pointers import link_target, open_switchable, pointers_lock, resolve_installation
from . import preflight
from .preflight import Check
from .switch import (
    Interrupted,
    Plan,
    apply,
    finish_journal,
    last_path,
    read_journal,
    read_last,
    record_last,
    write_journal,
)

SWITCHED_POINTERS = ("previous", "current", "qa")


@dataclass(frozen=True)
class PointerState:
    """The folder each pointer names (None when unset or broken)."""

    current: str | None
    previous: str | None
    qa: str | None


@dataclass(frozen=True)
class CutoverResult:
    """What a cutover or rollback found and did."""

    action: str  # cutover | rollback
    source: str | None
    target: str
    switched: bool
    forced: bool
    dry_run: bool
    preflight: tuple[Check, ...]
    pointers: PointerState
    steps: tuple[str, ...]
    notes: tuple[str, ...]
    nothing_to_switch: bool  # every pointer already is what the cutover would make it

    @property
    def preflight_ok(self) -> bool:
        return all(check.ok for check in self.preflight)


#: Asked, under the lock, after a passing (or forced) preflight: go ahead with the switch?
Confirm = Callable[[CutoverResult], bool]


def cutover(
    *,
    root: Path,
    to: str = "qa",
    rollback: bool = False,
    force: bool = False,
    dry_run: bool = False,
    confirm: Confirm | None = None,
    progress: Callable[[str], None] | None = None,
) -> CutoverResult:
    """Make `to` (qa, or an installation folder of the root) the current installation; with
    `rollback`, swap `current` and `previous` back instead. `command_line` spells the commands
    in the preflight's fix lines (default: `conda shared`, no --root)."""
    action = "rollback" if rollback else "cutover"
    shared = open_switchable(root, SWITCHED_POINTERS)
    if dry_run:
        plan, checks = _prepare(shared, action, to, lock_held=False)
        result = _result(shared.path, plan, checks, switched=False, forced=False, dry_run=True)
        return replace(result, notes=_already(plan))
    with pointers_lock(shared.path):
        plan, checks = _prepare(shared, action, to, lock_held=True)
        failed = [check.name for check in checks if not check.ok]
        forced = force and bool(failed)
        draft = _result(shared.path, plan, checks, switched=False, forced=forced, dry_run=False)
        if not plan.writes:
            return replace(draft, notes=_already(plan))
        if failed and not force:
            note = _log(shared, plan, False, f"refused: preflight failed: {', '.join(failed)}")
            return replace(draft, notes=note)
        if confirm is not None and not confirm(draft):
            return replace(draft, notes=("cancelled: nothing was changed",))
        steps = _switch(shared, plan, forced, progress)
        past = f" (forced past: {', '.join(failed)})" if forced else ""
        note = _log(shared, plan, forced, f"ok{past}")
        result = _result(shared.path, plan, checks, switched=True, forced=forced, dry_run=False)
        return replace(result, steps=steps, notes=note)


def _already(plan: Plan) -> tuple[str, ...]:
    return () if plan.writes else (f"current already points to {plan.target.name}",)


def _prepare(
    shared: SharedRoot, action: str, to: str, *, lock_held: bool
) -> tuple[Plan, tuple[Check, ...]]:
    """The plan and its preflight; after an interruption, the plan that finishes or undoes it."""
    interrupted = read_journal(shared.path)
    if interrupted:
        return _after_interruption(shared, interrupted, action, to)
    plan = _plan(shared, action, to)
    return plan, _preflight(shared, plan, lock_held=lock_held)


def _plan(shared: SharedRoot, action: str, to: str) -> Plan:
    current, previous, qa = (_target(shared, name) for name in ("current", "previous", "qa"))
    before = (("previous", previous), ("current", current), ("qa", qa))
    if action == "rollback":
        if previous is None:
            raise InputError(
                f"there is nothing to roll back to: {shared.path / 'previous'} is not set "
                "(or is broken)",
                "A rollback undoes a cutover; to switch anyway, cut over to an installation "
                "by name",
                command=("cutover", "--to", "NAME"),
            )
        if current is None or current == previous:
            raise InputError(
                f"cannot roll back: current is {current.name if current else 'not set'} and "
                f"previous is {previous.name}",
                "Cut over to an installation by name instead",
                command=("cutover", "--to", "NAME"),
            )
        _refuse_other_than_back(shared, current, previous)
        writes = (("current", previous), ("previous", current))
        return Plan("rollback", current, previous, writes, before)
    target = _cutover_target(shared, to)
    clear_qa = (("qa", None),) if qa == target else ()
    if current == target:
        return Plan("cutover", current, target, clear_qa, before)
    keep_old = (("previous", current),) if current is not None else ()
    writes = (*keep_old, ("current", target), *clear_qa)
    return Plan("cutover", current, target, writes, before)


def _cutover_target(shared: SharedRoot, to: str) -> Path:
    if to != "qa":
        return resolve_installation(shared, to, option="--to")
    pointer = shared.pointer("qa")
    if pointer is None or pointer.unset:
        known = ", ".join(p.name for p in shared.installations) or "none yet"
        raise InputError(
            f"there is no qa installation to cut over to: {shared.path / 'qa'} is not set "
            f"(installations: {known})",
            "Point qa at the new installation first (or name it: cutover --to NAME)",
            command=("qa", "set", "NAME"),
        )
    if pointer.target is None or pointer.problem:
        raise InputError(
            f"{shared.path / 'qa'} cannot be cut over to: {pointer.problem}",
            "Point qa at a complete installation",
            command=("qa", "set", "NAME"),
        )
    return resolve_installation(shared, str(pointer.target), option="qa")


def _target(shared: SharedRoot, name: str) -> Path | None:
    pointer = shared.pointer(name)
    return pointer.target if pointer is not None and pointer.ok else None


def _preflight(shared: SharedRoot, plan: Plan, *, lock_held: bool) -> tuple[Check, ...]:
    if not plan.writes:
        return ()
    target = plan.target
    checks = [preflight.installation_check(target), preflight.conda_runs_check(target)]
    if plan.action == "cutover":
        checks += [
            preflight.conda_shared_check(target),
            preflight.replicate_check(shared, plan.source, target),
            preflight.kernels_check(shared, target),
        ]
    # A rollback goes back to what worked an hour ago: only what could have broken since.
    checks += [
        preflight.writable_check(shared.path),
        preflight.lock_check(shared.path, held_by_us=lock_held),
    ]
    return tuple(checks)


def _refuse_other_than_back(shared: SharedRoot, current: Path, previous: Path) -> None:
    """A rollback undoes the last cutover, and only while the pointers are as it left them;
    anything else would be a forward move that skips the cutover's checks."""
    last = read_last(shared.path)
    state = f"current is {current.name}, previous is {previous.name}"
    if last is None:
        why = f"no completed cutover is recorded in {last_path(shared.path)}"
    elif last.action != "cutover":
        why = f"the last switch already was a rollback ({last.what})"
    elif (last.after.get("current"), last.after.get("previous")) != (
        link_target(shared.path, current),
        link_target(shared.path, previous),
    ):
        why = f"the pointers changed since the last cutover ({last.what})"
    else:
        return
    raise InputError(
        f"refusing to roll back: {why}; {state}",
        f"To move every user to {previous.name}, cut over to it (its checks run)",
        command=("cutover", "--to", previous.name),
    )


def _after_interruption(
    shared: SharedRoot, interrupted: Interrupted, action: str, to: str
) -> tuple[Plan, tuple[Check, ...]]:
    """Finish an interrupted switch (the same command again) or undo it (the opposite one);
    any other command is refused, so the half-done switch is never quietly repurposed."""
    plan = interrupted.plan
    started = f"the {plan.action} started {interrupted.started} by {interrupted.user}"
    if action == "rollback":
        finishes, undoes = plan.action == "rollback", plan.action == "cutover"
    else:
        wanted = _wanted_while_interrupted(shared, to)
        finishes = plan.action == "cutover" and wanted in (None, plan.target)
        undoes = plan.action == "rollback" and wanted == plan.source
    if finishes:
        detail = f"finishing {started} (its preflight ran then)"
        return plan, (Check("interrupted", True, detail, None),)
    if undoes:
        undo = Plan(
            action, plan.target, plan.source or plan.target, plan.before, plan.before, undoes=True
        )
        return undo, (Check("interrupted", True, f"undoing {started}", None),)
    raise interrupted.refusal()


def _wanted_while_interrupted(shared: SharedRoot, to: str) -> Path | None:
    """The installation a cutover names; None for a plain `cutover` whose qa the switch cleared."""
    if to != "qa":
        return resolve_installation(shared, to, option="--to")
    return _target(shared, "qa")


def _switch(
    shared: SharedRoot, plan: Plan, forced: bool, progress: Callable[[str], None] | None
) -> tuple[str, ...]:
    steps: list[str] = []

    def step(message: str) -> None:
        steps.append(message)
        if progress is not None:
            progress(message)

    write_journal(shared.path, plan)
    try:
        apply(shared.path, plan.writes, step)
    except SharedError as error:
        try:
            apply(shared.path, plan.before, lambda _: None)
        except SharedError:
            # The journal stays behind: `status` explains it and a rerun finishes or undoes it.
            raise SharedError(
                f"{error.message}; the {plan.action} stopped half-way",
                "Fix that and rerun the same command; see the pointers as they stand",
                command=("status",),
            ) from None
        finish_journal(shared.path)
        _log(shared, plan, forced, f"failed, pointers restored: {error.message}")
        raise
    fs.sync_dir(shared.path)  # the new pointers survive a crash before the journal goes
    if not plan.undoes:
        record_last(shared.path, plan, forced=forced)
    finish_journal(shared.path)
    return tuple(steps)


def _log(shared: SharedRoot, plan: Plan, forced: bool, result: str) -> tuple[str, ...]:
    source = plan.source.name if plan.source else None
    note = audit.try_record(
        shared.log_path,
        command=f"{plan.action} {source or '(none)'} -> {plan.target.name}",
        result=result,
        action=plan.action,
        source=source,
        target=plan.target.name,
        forced=forced,
    )
    return (note,) if note else ()


def _result(
    root: Path,
    plan: Plan,
    checks: tuple[Check, ...],
    *,
    switched: bool,
    forced: bool,
    dry_run: bool,
) -> CutoverResult:
    now = open_root(root)
    state = PointerState(*(_name(now, name) for name in ("current", "previous", "qa")))
    return CutoverResult(
        action=plan.action,
        source=plan.source.name if plan.source else None,
        target=plan.target.name,
        switched=switched,
        forced=forced,
        dry_run=dry_run,
        preflight=checks,
        pointers=state,
        steps=(),
        notes=(),
        nothing_to_switch=not plan.writes,
    )


def _name(shared: SharedRoot, pointer: str) -> str | None:
    target = _target(shared, pointer)
    return target.name if target else None
