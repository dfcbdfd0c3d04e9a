"""Commands printed in conda-shared's output: found in text or JSON, and parsed back."""

from __future__ import annotations

import json
import re
import shlex
from collections.abc import Iterator
from pathlib import Path

from conda_shared.cli import VERBS, build_parser
from conda_shared.text import CommandLine

#: a program, then a verb: a command (a title such as `conda-shared doctor:` is not one)
VERB = "|".join(VERBS)
COMMAND = re.compile(rf"(?P<tick>`?)(?<![\w-])(?P<program>conda[ -]shared) (?P<verb>{VERB})\b(?!:)")


def commands_in(text: str) -> Iterator[tuple[str, str]]:
    """(program, command words after the program) for each command in `text`: in backticks,
    or running to the end of its line."""
    for line in text.splitlines():
        for found in COMMAND.finditer(line):
            rest = line[found.start("verb") :]
            if found.group("tick"):
                rest = rest.split("`", 1)[0]
            yield found.group("program"), rest


def texts_in(output: str) -> Iterator[str]:
    """What a user reads: the text, or every string of a JSON document."""
    try:
        document = json.loads(output)
    except ValueError:
        yield output
        return
    stack = [document]
    while stack:
        value = stack.pop()
        if isinstance(value, str):
            yield value
        elif isinstance(value, dict):
            stack += value.values()
        elif isinstance(value, list):
            stack += value


def pasteable_problems(output: str, *, root: Path | None) -> list[str]:
    """Each command in `output`, parsed with the CLI's parser; returns the problems found.

    With `root` (the --root the user gave), each command must carry it, or name another root
    on purpose (`init`, `sample`).
    """
    problems = []
    for text in texts_in(output):
        for program, rest in commands_in(text):
            if program != "conda-shared":
                problems.append(f"`{program} {rest}`: the user typed conda-shared")
                continue
            try:
                words = shlex.split(rest)
            except ValueError as error:
                problems.append(f"`{program} {rest}`: not shell words ({error})")
                continue
            if "--help" in words:
                continue
            try:
                args = build_parser("conda-shared", words).parse_args(words)
            except Exception as error:  # an InputError from the parser, or SystemExit
                problems.append(f"`{program} {rest}`: does not parse ({error!r})")
                continue
            given = getattr(args, "root", None)
            if root is None or words[0] in CommandLine.ROOTLESS:
                continue
            if given is None:
                problems.append(f"`{program} {rest}`: lost --root")
            elif given != root and not given.parent.exists():
                problems.append(f"`{program} {rest}`: --root {given} is neither the root given")
    return problems
