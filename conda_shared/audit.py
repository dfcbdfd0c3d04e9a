"""The append-only audit log of a shared root: who ran what, when, and how it ended."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from . import fs

_BLOCK = 8192


@dataclass(frozen=True)
class AuditEntry:
    """One JSON line of the audit log.

    `command` and `result` are in every entry since the first version; the rest is optional so
    that old lines stay readable: `action` (export, inventory, doctor-fix, cutover, ...),
    `source`/`target` (written as "from"/"to": the installation or pointer target before and
    after) and `forced` (a safety check was overridden).

    `user` is the real uid's name in the password database. `claimed_sudo_user` is SUDO_USER
    when the real uid is 0: what sudo says, which root itself could have set, so it is kept
    apart and named as a claim (written only when present).
    """

    time: str
    user: str
    host: str
    command: str
    result: str
    action: str | None = None
    source: str | None = None
    target: str | None = None
    forced: bool | None = None
    claimed_sudo_user: str | None = None

    @property
    def who(self) -> str:
        """The user, and sudo's claim beside it: `root (SUDO_USER=ann, claimed)`."""
        if self.claimed_sudo_user is None:
            return self.user
        return f"{self.user} (SUDO_USER={self.claimed_sudo_user}, claimed)"


_JSON_NAMES = {"source": "from", "target": "to"}


def record(
    log_path: Path,
    *,
    command: str,
    result: str,
    action: str | None = None,
    source: str | None = None,
    target: str | None = None,
    forced: bool | None = None,
) -> AuditEntry:
    """Append one entry (one write, under the log's lock); entries are JSON lines."""
    entry = AuditEntry(
        time=datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        user=fs.current_user(),
        host=os.uname().nodename,
        command=command,
        result=result,
        action=action,
        source=source,
        target=target,
        forced=forced,
        claimed_sudo_user=_claimed_sudo_user(),
    )
    fs.append_line(log_path, json.dumps(_to_json(entry), sort_keys=True))
    return entry


def try_record(
    log_path: Path,
    *,
    command: str,
    result: str,
    action: str | None = None,
    source: str | None = None,
    target: str | None = None,
    forced: bool | None = None,
) -> str | None:
    """Record an entry; when the log cannot be written, return a note saying so instead."""
    try:
        record(
            log_path,
            command=command,
            result=result,
            action=action,
            source=source,
            target=target,
            forced=forced,
        )
    except OSError as error:
        return f"audit log {log_path} not written: {error.strerror}"
    return None


def tail(log_path: Path, count: int) -> tuple[AuditEntry, ...]:
    """The last `count` readable entries, reading only the end of a long log."""
    if count <= 0:
        return ()
    try:
        with log_path.open("rb") as stream:
            lines = _last_lines(stream.fileno(), count)
    except OSError:
        return ()
    entries = []
    for line in lines:
        try:
            entries.append(_from_json(json.loads(line)))
        except (ValueError, TypeError, AttributeError):
            continue
    return tuple(entries)


def _last_lines(fd: int, count: int) -> list[str]:
    """The last `count` lines, read backwards in blocks, however long each line is."""
    end = os.fstat(fd).st_size
    data = b""
    while end > 0 and data.count(b"\n") <= count:
        start = max(0, end - _BLOCK)
        data = os.pread(fd, end - start, start) + data
        end = start
    lines = data.decode("utf-8", "replace").splitlines()
    if end > 0:
        lines = lines[1:]  # the first one is cut
    return lines[-count:]


def _claimed_sudo_user() -> str | None:
    """SUDO_USER, only when the real uid is 0 (sudo's case); anyone else could name anybody."""
    if not hasattr(os, "getuid") or os.getuid() != 0:
        return None
    return os.environ.get("SUDO_USER") or None


def _to_json(entry: AuditEntry) -> dict[str, Any]:
    # An action (cutover, qa, init, ...) always names from, to and forced, null when not set;
    # a claimed sudo user appears only when there is one.
    return {
        _JSON_NAMES.get(name, name): value
        for name, value in entry.__dict__.items()
        if value is not None or (entry.action is not None and name != "claimed_sudo_user")
    }


def _from_json(data: dict[str, Any]) -> AuditEntry:
    def text(key: str) -> str:
        value = data.get(key)
        return "" if value is None else str(value)

    def optional(key: str) -> str | None:
        value = data.get(key)
        return None if value is None else str(value)

    forced = data.get("forced")
    return AuditEntry(
        time=text("time"),
        user=text("user"),
        host=text("host"),
        command=text("command"),
        result=text("result"),
        action=optional("action"),
        source=optional("from"),
        target=optional("to"),
        forced=forced if isinstance(forced, bool) else None,
        claimed_sudo_user=optional("claimed_sudo_user"),
    )
