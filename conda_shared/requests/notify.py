"""Tell a site's own command about a request (filed, approved, denied): JSON on its stdin."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Mapping, Sequence
from typing import Any

from .. import children
from ..text import command_words

TIMEOUT_SECONDS = 30


def send(command: Sequence[str], event: Mapping[str, Any]) -> tuple[str, ...]:
    """Run plugins.shared_request_notify (argv, never a shell) with `event` as JSON on stdin;
    a warning line when it fails. The request is already on disk: nothing is lost either way."""
    if not command:
        return ()
    try:
        result = children.run(
            list(command),
            input=json.dumps(event, sort_keys=True),
            text=True,
            capture_output=True,
            timeout=TIMEOUT_SECONDS,
        )
    except (OSError, subprocess.TimeoutExpired) as error:
        reason = getattr(error, "strerror", None) or f"no answer in {TIMEOUT_SECONDS} s"
        return (f"the request notify command {command_words(command)} failed: {reason}",)
    if result.returncode != 0:
        last = (result.stderr.strip().splitlines() or ["no message"])[-1]
        return (
            f"the request notify command {command_words(command)} exited "
            f"{result.returncode}: {last}",
        )
    return ()
