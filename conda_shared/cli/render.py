"""Turn core results into text or JSON for the terminal; the only place verbs print from."""

from __future__ import annotations

import dataclasses
import json
import sys
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from ..errors import SharedError
from ..interrupts import json_error
from ..text import CommandLine


def to_jsonable(value: Any) -> Any:
    """Dataclasses to dicts, paths to strings, tuples to lists, recursively."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: to_jsonable(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, Mapping):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [to_jsonable(v) for v in value]
    if isinstance(value, Path):
        return str(value)
    return value


def emit(args: Any, result: Any, text: Callable[[Any], str], **extra: Any) -> None:
    """Print `result` as JSON under --json (plus `extra` keys), else as `text(result)`."""
    if getattr(args, "json", False):
        payload = to_jsonable(result)
        if extra and isinstance(payload, dict):
            payload.update(to_jsonable(extra))
        print(json.dumps(payload, indent=2, sort_keys=False))
    else:
        print(text(result))


def progress_printer(args: Any) -> Callable[[str], None] | None:
    """Progress lines go to stderr in text mode; JSON mode stays quiet."""
    if getattr(args, "json", False):
        return None

    def show(message: str) -> None:
        print(message, file=sys.stderr, flush=True)

    return show


def print_error(error: SharedError, *, as_json: bool, command_line: CommandLine) -> None:
    """Print an error like conda does: one line on stderr, or a JSON object on stdout."""
    if as_json:
        print(
            json_error(
                name=type(error).__name__,
                message=error.message,
                next_step=error.next_step_for(command_line),
                return_code=error.exit_code,
            )
        )
    else:
        program = " ".join(command_line.program)
        print(f"{program}: error: {error.text(command_line)}", file=sys.stderr)
