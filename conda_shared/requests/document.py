"""What a request and its answer say, and the state they add up to (pending, approved, ...)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from .. import fs
from .store import Filed

FORMAT = 1
PENDING = "pending"
APPROVED = "approved"
DENIED = "denied"
WITHDRAWN = "withdrawn"
GONE = "gone"  # in the index, but neither in the inbox (as the user's) nor answered


@dataclass(frozen=True)
class RequestView:
    """One request as a reader may see it. `requester` is the inbox file owner's name (uid
    `uid`), never a field of the file; `diff_at_filing` is what the filer's dry run showed."""

    id: str
    state: str
    env: str
    installation: str
    add: tuple[str, ...]
    remove: tuple[str, ...]
    reason: str
    filed: str
    requester: str
    uid: int | None
    release_id: str | None = None
    answer_reason: str | None = None
    answered_by: str | None = None
    diff_at_filing: Mapping[str, Any] | None = None
    failure_at_filing: Mapping[str, Any] | None = None

    @property
    def state_text(self) -> str:
        if self.state == APPROVED:
            return f"approved into {self.release_id}"
        if self.state == DENIED:
            return f"denied: {self.answer_reason}"
        return self.state


def now_iso() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def request_document(
    *,
    env: str,
    installation: str,
    add: Sequence[str],
    remove: Sequence[str],
    reason: str,
    diff: Mapping[str, Any] | None,
    failure: Mapping[str, Any] | None,
) -> dict[str, Any]:
    return {
        "format": FORMAT,
        "env": env,
        "installation": installation,
        "add": list(add),
        "remove": list(remove),
        "reason": reason,
        "filed": now_iso(),
        "diff": diff,
        "failure": failure,
    }


def answer_document(
    *, request: RequestView, state: str, release_id: str | None, reason: str | None
) -> dict[str, Any]:
    """What root writes to answers/ID: the state, and the request as it was approved."""
    return {
        "format": FORMAT,
        "id": request.id,
        "state": state,
        "release": release_id,
        "reason": reason,
        "by": fs.current_user(),
        "at": now_iso(),
        "env": request.env,
        "installation": request.installation,
        "add": list(request.add),
        "remove": list(request.remove),
        "uid": request.uid,
    }


def view(
    request_id: str,
    *,
    filed: Filed | None,
    answer: Mapping[str, Any] | None,
    fallback_env: str = "",
) -> RequestView:
    """The state of one request from its inbox file (None: gone) and root's answer (None)."""
    document: Mapping[str, Any] = filed.document if filed is not None else answer or {}
    uid = filed.uid if filed is not None else _int(answer.get("uid") if answer else None)
    state = GONE
    if answer is not None and answer.get("state") in (APPROVED, DENIED):
        state = str(answer["state"])
    elif filed is not None:
        state = WITHDRAWN if document.get("withdrawn") else PENDING
    return RequestView(
        id=request_id,
        state=state,
        env=_text(document.get("env")) or fallback_env,
        installation=_text(document.get("installation")),
        add=_words(document.get("add")),
        remove=_words(document.get("remove")),
        reason=_text(document.get("reason")),
        filed=_text(document.get("filed")),
        requester=fs.user_name(uid) if uid is not None else "?",
        uid=uid,
        release_id=_text(answer.get("release")) or None if answer else None,
        answer_reason=_text(answer.get("reason")) or None if answer else None,
        answered_by=_text(answer.get("by")) or None if answer else None,
        diff_at_filing=_mapping(document.get("diff")),
        failure_at_filing=_mapping(document.get("failure")),
    )


def _text(value: Any) -> str:
    return value if isinstance(value, str) else ""


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _words(value: Any) -> tuple[str, ...]:
    if not isinstance(value, list):
        return ()
    return tuple(item for item in value if isinstance(item, str))


def _mapping(value: Any) -> Mapping[str, Any] | None:
    return value if isinstance(value, dict) else None
