"""Parse conda-meta/history (conda 4.3 to 26.x) into revisions and the user's requested specs."""

from __future__ import annotations

import ast
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from .channels import KNOWN_SUBDIRS
from .errors import SharedError

_HEADER = re.compile(r"==>\s*(.+?)\s*<==")
_CMD = re.compile(r"#\s*cmd:\s*(.*)")
_CONDA_VERSION = re.compile(r"#\s*conda version:\s*(.+)")
_SPECS = re.compile(r"#\s*(\w+)\s*specs:\s*(.+)?")
_VERSION_RELATION = re.compile(r"^(=|!=|<=|>=|<|>|~=)(?![=<>!~])")
_NAME_END = re.compile(r"[\s=<>!~\[\]()*,|@]")
# conda 4.1 pinned python as `python 2.7* (target=python-2.7.12-1.tar.bz2)`: no constraint
_ANNOTATION = re.compile(r"\s*\((?:target=[^)]*|optional)\)\s*$")


@dataclass(frozen=True)
class Revision:
    """One `==> date <==` block: the command, the conda that ran it, specs and package diff.

    `command` is the `# cmd:` line as conda wrote it (`' '.join(sys.argv)`, so never quoted):
    split it only where a path with spaces cannot matter.
    """

    date: str
    command: str
    conda_version: str | None
    update_specs: tuple[str, ...]
    remove_specs: tuple[str, ...]
    neutered_specs: tuple[str, ...]
    added: tuple[str, ...]
    removed: tuple[str, ...]

    @property
    def arguments(self) -> tuple[str, ...]:
        """The command's words, split on whitespace (a path with spaces comes out in pieces)."""
        return tuple(self.command.split())

    def executable_readings(self) -> Iterator[Path]:
        """Every way to read the start of the command as an absolute path, resolved.

        conda joined argv with spaces, so the executable is some prefix of the line that ends
        at a space: `/tmp/my root/bin/conda create ...` is `/tmp/my` or `/tmp/my root/bin/conda`
        or longer. A symlinked `current/bin/conda` resolves to its target.
        """
        line = self.command.strip()
        if not os.path.isabs(line):
            return
        for end in [i for i, char in enumerate(line) if char == " "] + [len(line)]:
            yield Path(os.path.realpath(line[:end]))

    def invoked_from(self, installation: Path) -> bool:
        """Whether the command ran an executable strictly inside `installation`."""
        return any(installation in reading.parents for reading in self.executable_readings())


@dataclass(frozen=True)
class History:
    """All revisions of one environment, oldest first."""

    revisions: tuple[Revision, ...]

    @property
    def last_change(self) -> str | None:
        return self.revisions[-1].date if self.revisions else None

    @property
    def conda_versions(self) -> tuple[str, ...]:
        return tuple(r.conda_version for r in self.revisions if r.conda_version)

    def requested_specs(self) -> dict[str, str]:
        """What the user asked for, in order: later requests replace, removals delete."""
        requested: dict[str, str] = {}
        for revision in self.revisions:
            for spec in revision.remove_specs:
                requested.pop(spec_name(spec), None)
            for spec in revision.update_specs + revision.neutered_specs:
                requested[spec_name(spec)] = spec
        return requested


def spec_name(spec: str) -> str:
    """The package name of a match spec such as `conda-forge::numpy >=1.2,<2`."""
    body = spec.strip().rsplit("::", 1)[-1].strip()
    match = _NAME_END.search(body)
    return (body[: match.start()] if match else body).lower()


def spec_channel(spec: str) -> str | None:
    """The channel part of `channel[/subdir]::name spec`, or None.

    `conda create --clone` records `esri/win-64::arcpy==2.8=...`: the subdir is no channel.
    """
    head, sep, _ = spec.strip().rpartition("::")
    channel = head.split("[")[0]
    if not (sep and channel):
        return None
    base, _, last = channel.rpartition("/")
    return base if base and last in KNOWN_SUBDIRS else channel


def read_history(path: Path) -> History:
    """Read a history file; a missing file is an empty history, an unreadable one an error."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return History(revisions=())
    except OSError as error:
        raise SharedError(
            f"cannot read {path}: {error.strerror or error}",
            "Make that history file readable (or restore it from a backup), then run again",
        ) from None
    # conda writes UTF-8; a Windows history from conda < 4.6 may hold the ANSI code page
    return parse_history(raw.decode("utf-8", errors="replace"))


def parse_history(text: str) -> History:
    blocks: list[tuple[str, list[str], list[str]]] = []
    for raw in text.splitlines():
        line = raw.strip()
        header = _HEADER.match(line)
        if header:
            blocks.append((header.group(1), [], []))
        elif line and blocks:  # lines before the first header are ignored, as conda does
            _, package_lines, comment_lines = blocks[-1]
            (comment_lines if line.startswith("#") else package_lines).append(line)
    return History(revisions=tuple(_revision(date, lines, notes) for date, lines, notes in blocks))


def _revision(date: str, lines: list[str], notes: list[str]) -> Revision:
    command = ""
    conda_version = None
    specs: dict[str, tuple[str, ...]] = {}
    for note in notes:
        if match := _CMD.match(note):
            command = match.group(1).strip()
        elif match := _CONDA_VERSION.match(note):
            conda_version = match.group(1).strip()
        elif match := _SPECS.match(note):
            action, listed = match.group(1), match.group(2) or ""
            kind = {"install": "update", "create": "update", "uninstall": "remove"}.get(
                action, action
            )
            specs[kind] = specs.get(kind, ()) + _parse_specs(listed)
    return Revision(
        date=date,
        command=command,
        conda_version=conda_version,
        update_specs=specs.get("update", ()),
        remove_specs=specs.get("remove", ()),
        neutered_specs=specs.get("neutered", ()),
        added=tuple(sorted(line[1:] for line in lines if line.startswith("+"))),
        removed=tuple(sorted(line[1:] for line in lines if line.startswith("-"))),
    )


def _parse_specs(listed: str) -> tuple[str, ...]:
    listed = listed.strip()
    if listed.startswith("["):
        try:
            parsed = ast.literal_eval(listed)
        except (ValueError, SyntaxError):
            return ()
        specs = [str(spec) for spec in parsed]
    else:
        # conda < 4.5 joined specs with commas, which also separate version constraints.
        specs = []
        for piece in listed.split(","):
            if specs and _VERSION_RELATION.match(piece):
                specs[-1] = f"{specs[-1]},{piece}"
            else:
                specs.append(piece)
    cleaned = (_ANNOTATION.sub("", spec).strip() for spec in specs)
    return tuple(spec for spec in cleaned if spec and not spec.endswith("@"))
