"""How a command ends badly: the JSON error document and the Ctrl-C line.

Imports nothing but `sys` at load time, so the standalone script can print a Ctrl-C that lands
while the rest of conda-shared is still loading like one that lands at any other moment.
"""

from __future__ import annotations

import sys

MESSAGE = "interrupted; files are written whole or not at all, so nothing is half-written"
EXIT_CODE = 130


def json_error(*, name: str, message: str, next_step: str, return_code: int) -> str:
    """The JSON document every failing command prints under --json (conda's keys)."""
    import json

    return json.dumps(
        {
            "error": f"{name}: {message}. {next_step}",
            "exception_name": name,
            "message": message,
            "next_step": next_step,
            "return_code": return_code,
        },
        indent=2,
    )


def print_interrupted(*, as_json: bool, program: str) -> int:
    """One line on stderr, or one JSON document on stdout under --json; returns the exit code."""
    if as_json:
        print(
            json_error(
                name="KeyboardInterrupt",
                message=MESSAGE,
                next_step="Run the command again to finish",
                return_code=EXIT_CODE,
            )
        )
    else:
        print(f"{program}: {MESSAGE}", file=sys.stderr)
    return EXIT_CODE
