"""The append-only audit log of a shared root: who ran what, when, and how it ended."""

from __future__ import annotations

import json
import os
import socket
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from . import fs


@dataclass(frozen=True)
class AuditEntry:
    """One line of ROOT/log/shared.log."""

    time: str
    user: str
    host: str
    command: str
    result: str


def record(
    log_path: Path,
    *,
    command: str,
    result: str,
    fields: Mapping[str, str | bool | None] | None = None,
) -> AuditEntry:
    """Append one entry; entries are JSON lines so any tool can read them.

    `fields` adds structured keys to the line (a cutover's action, from, to, forced).
    """
    entry = AuditEntry(
        time=datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        user=fs.current_user(),
        host=socket.gethostname(),
        command=command,
        result=result,
    )
    line = {**(fields or {}), **entry.__dict__}
    fs.append_line(log_path, json.dumps(line, sort_keys=True))
    return entry


def try_record(
    log_path: Path,
    *,
    command: str,
    result: str,
    fields: Mapping[str, str | bool | None] | None = None,
) -> str | None:
    """Record an entry; when the log cannot be written, return a note saying so instead."""
    try:
        record(log_path, command=command, result=result, fields=fields)
    except OSError as error:
        return f"audit log {log_path} not written: {error.strerror}"
    return None


def tail(log_path: Path, count: int) -> tuple[AuditEntry, ...]:
    """The last `count` readable entries, reading only the end of a long log."""
    if count <= 0:
        return ()
    try:
        with log_path.open("rb") as stream:
            stream.seek(0, os.SEEK_END)
            size = stream.tell()
            stream.seek(max(0, size - 512 * (count + 1)))
            lines = stream.read().decode("utf-8", "replace").splitlines()
    except OSError:
        return ()
    entries = []
    for line in lines[-count:]:
        try:
            data = json.loads(line)
            entries.append(
                AuditEntry(**{k: str(data.get(k, "")) for k in AuditEntry.__annotations__})
            )
        except (ValueError, TypeError, AttributeError):
            continue
    return tuple(entries)
