"""The admins' side of requests: list the inbox, show one, approve into a release, deny."""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from .. import audit
from ..errors import InputError, SharedError
from ..installation import validate_env_name
from ..layout import open_root
from ..release.change import ReleasePlan, release_env
from ..release.solve import Change, PackageDiff, solve_change
from ..text import command_words, control_character
from . import document, notify, store
from .document import RequestView


@dataclass(frozen=True)
class Listed:
    """One request for an admin: its view, its age, and the diff it would bring now."""

    request: RequestView
    age_seconds: float
    diff_now: PackageDiff | None
    failure_now: str | None


@dataclass(frozen=True)
class InboxListing:
    root: Path
    requests: tuple[Listed, ...]  # pending first, then the rest, oldest first
    set_aside: tuple[store.SetAside, ...]


@dataclass(frozen=True)
class Approval:
    """One release made for the requests of one env (or its dry-run plan)."""

    env: str
    installation: str
    requests: tuple[str, ...]
    release_id: str | None
    switched: bool
    failure: str | None
    plan: ReleasePlan | None


@dataclass(frozen=True)
class ApproveResult:
    approvals: tuple[Approval, ...]
    warnings: tuple[str, ...]


@dataclass(frozen=True)
class DenyResult:
    request: RequestView
    warnings: tuple[str, ...]


def list_inbox(*, root: Path, solve_now: bool = True) -> InboxListing:
    """Every request in the inbox (root only), pending first; what cannot be read, set aside."""
    shared = open_root(root)
    filed, aside = _read_all(shared.path)
    now = datetime.now(timezone.utc).timestamp()
    listed = []
    for entry in filed:
        request = _checked_view(shared.path, entry)
        if isinstance(request, store.SetAside):
            aside += (request,)
            continue
        diff, failure = _solve_now(shared.path, request) if solve_now else (None, None)
        listed.append(Listed(request, max(0.0, now - entry.mtime), diff, failure))
    listed.sort(key=lambda item: (item.request.state != document.PENDING, -item.age_seconds))
    return InboxListing(shared.path, tuple(listed), aside)


def show_request(*, root: Path, request_id: str) -> Listed:
    """One request in full, with the diff it would bring now (root only)."""
    shared = open_root(root)
    entry = _pending_or_answered(shared.path, store.checked_id(request_id))
    now = datetime.now(timezone.utc).timestamp()
    diff, failure = _solve_now(shared.path, entry)
    return Listed(entry, max(0.0, now - _mtime(shared.path, request_id)), diff, failure)


def approve_requests(
    *,
    root: Path,
    request_ids: Sequence[str],
    dry_run: bool = False,
    confirm: Callable[[ReleasePlan], bool] = lambda plan: True,
    progress: Callable[[str], None] = lambda line: None,
    notify_command: Sequence[str] = (),
) -> ApproveResult:
    """One release per env for the pending requests named; each answered once it is live."""
    shared = open_root(root)
    requests = [_pending(shared.path, store.checked_id(i)) for i in dict.fromkeys(request_ids)]
    groups: dict[tuple[str, str], list[RequestView]] = {}
    for request in requests:
        groups.setdefault((request.installation, request.env), []).append(request)
    approvals = []
    warnings: list[str] = []
    for (installation, env), members in groups.items():
        ids = tuple(m.id for m in members)
        change = Change(
            add=_union(m.add for m in members),
            remove=_union(m.remove for m in members),
            requests=ids,
        )
        progress(f"releasing {env} for {len(ids)} request(s): {' '.join(ids)}")
        result = release_env(
            root=shared.path,
            installation=installation,
            name=env,
            change=change,
            dry_run=dry_run,
            confirm=confirm,
            progress=progress,
        )
        failure = None
        if result.failure is not None:
            failure = f"{result.failure.failure_class}: {result.failure.message.strip()}"
        approvals.append(
            Approval(
                env, installation, ids, result.release_id, result.switched, failure, result.plan
            )
        )
        if not result.switched:
            continue
        for member in members:
            warnings += _answer(
                shared.path,
                member,
                state=document.APPROVED,
                release_id=result.release_id,
                reason=None,
                notify_command=notify_command,
            )
    return ApproveResult(tuple(approvals), tuple(warnings))


def deny_request(
    *, root: Path, request_id: str, reason: str, notify_command: Sequence[str] = ()
) -> DenyResult:
    """Answer a pending request with a denial and its reason, which the requester reads."""
    if not reason.strip() or control_character(reason) is not None:
        raise InputError(
            "a denial needs a reason the requester can read (one line of text)",
            "Say why",
            command=("request", "deny", request_id, "--reason", "TEXT"),
        )
    shared = open_root(root)
    request = _pending(shared.path, store.checked_id(request_id))
    warnings = _answer(
        shared.path,
        request,
        state=document.DENIED,
        release_id=None,
        reason=reason.strip(),
        notify_command=notify_command,
    )
    answered = replace(request, state=document.DENIED, answer_reason=reason.strip())
    return DenyResult(answered, tuple(warnings))


def _answer(
    root: Path,
    request: RequestView,
    *,
    state: str,
    release_id: str | None,
    reason: str | None,
    notify_command: Sequence[str],
) -> list[str]:
    answer = document.answer_document(
        request=request, state=state, release_id=release_id, reason=reason
    )
    store.write_answer(root, request.id, answer)
    words = ["request", "approve" if state == document.APPROVED else "deny", request.id]
    note = audit.try_record(
        open_root(root).log_path,
        command=command_words(words),
        result=f"{state}: {request.env}"
        + (f" released as {release_id}" if release_id else f" ({reason})"),
        action=f"request-{'approve' if state == document.APPROVED else 'deny'}",
        target=request.env,
    )
    warnings = [note] if note else []
    warnings += notify.send(notify_command, {"event": state, **answer})
    return warnings


def _read_all(root: Path) -> tuple[tuple[store.Filed, ...], tuple[store.SetAside, ...]]:
    store.require_inbox(root)
    try:
        return store.read_inbox(root)
    except PermissionError:
        raise SharedError(
            f"only root can list the requests in {store.inbox_dir(root)}",
            "Run it as root (sudo)",
            command=("request", "list", "--all"),
        ) from None


def _checked_view(root: Path, entry: store.Filed) -> RequestView | store.SetAside:
    """The request's view, or why it is set aside: an env or spec that is not plain text."""
    request = document.view(entry.id, filed=entry, answer=store.read_answer(root, entry.id))
    words = (request.env, request.installation, *request.add, *request.remove, request.reason)
    if any(control_character(word) is not None for word in words):
        return store.SetAside(entry.id, entry.uid, "holds control characters: not shown")
    try:
        validate_env_name(request.env)
        validate_env_name(request.installation)  # a folder of the root, never a path
    except InputError:
        return store.SetAside(entry.id, entry.uid, "names no valid environment")
    if not request.add and not request.remove:
        return store.SetAside(entry.id, entry.uid, "asks for nothing")
    return request


def _pending_or_answered(root: Path, request_id: str) -> RequestView:
    entry = store.read_request(root, request_id)
    if isinstance(entry, store.SetAside):
        answer = store.read_answer(root, request_id)
        if answer is not None:
            return document.view(request_id, filed=None, answer=answer)
        raise InputError(
            f"request {request_id} cannot be used: {entry.reason}",
            "See the inbox",
            command=("request", "list", "--all"),
        )
    checked = _checked_view(root, entry)
    if isinstance(checked, store.SetAside):
        raise InputError(
            f"request {request_id} cannot be used: {checked.reason}",
            "Deny it with a reason, or leave it",
            command=("request", "deny", request_id, "--reason", "TEXT"),
        )
    return checked


def _pending(root: Path, request_id: str) -> RequestView:
    request = _pending_or_answered(root, request_id)
    if request.state != document.PENDING:
        raise InputError(
            f"request {request_id} is {request.state_text}, not pending",
            "See the pending requests",
            command=("request", "list", "--all"),
        )
    return request


def _solve_now(root: Path, request: RequestView) -> tuple[PackageDiff | None, str | None]:
    """The diff a pending request would bring now (answered ones: none)."""
    if request.state != document.PENDING:
        return None, None
    try:
        inst = open_root(root).installation(request.installation or None)
        solution = solve_change(
            installation=inst,
            name=request.env,
            change=Change(add=request.add, remove=request.remove),
        )
    except SharedError as error:
        return None, error.message
    if solution.failure is not None:
        return None, f"{solution.failure.failure_class}: {solution.failure.message.strip()}"
    return solution.diff, None


def _mtime(root: Path, request_id: str) -> float:
    try:
        return os.lstat(store.inbox_dir(root) / request_id).st_mtime
    except OSError:
        return datetime.now(timezone.utc).timestamp()


def _union(groups: Any) -> tuple[str, ...]:
    return tuple(dict.fromkeys(word for group in groups for word in group))
