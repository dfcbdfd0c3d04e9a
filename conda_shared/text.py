"""Plain text in and out: decoding files people wrote, sizes, tables, commands to paste."""

from __future__ import annotations

import os
import shlex
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from typing import ClassVar


def decode(data: bytes, *, source: os.PathLike[str] | str) -> tuple[str, str | None]:
    """Text of a file people edit by hand: UTF-8, else Latin-1 (which reads any byte).

    Returns the text and, when the fallback was needed, a warning naming the file.
    """
    try:
        return data.decode("utf-8"), None
    except UnicodeDecodeError as error:
        return data.decode("latin-1"), (
            f"{os.fspath(source)} is not UTF-8 (byte {data[error.start]:#04x} at offset "
            f"{error.start}); read it as Latin-1"
        )


def human_size(size: int | None) -> str:
    if size is None:
        return "-"
    value = float(size)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if value < 1024 or unit == "TiB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} TiB"


def table(rows: list[list[str]], header: list[str]) -> str:
    """A plain left-aligned table; the last column is never padded."""
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    lines = []
    for row in [header, *rows]:
        cells = [str(c).ljust(w) for c, w in zip(row[:-1], widths[:-1], strict=False)] + [
            str(row[-1])
        ]
        lines.append("  ".join(cells).rstrip())
    return "\n".join(lines)


def plural(count: int, noun: str, many: str | None = None) -> str:
    """`1 environment`, `2 environments`."""
    return f"{count} {noun if count == 1 else many or noun + 's'}"


@dataclass(frozen=True)
class CommandLine:
    """How conda-shared was called, so every hint is a command the user can paste as printed.

    `program` is `conda-shared` standalone and `conda shared` under conda; `root` is the
    `--root` the user gave (hints carry it so they act on the same root). Core modules that
    build hints take one as a keyword argument; errors carry their command as words instead
    (`SharedError(command=...)`) and the command-line edge spells them with this.
    """

    program: tuple[str, ...] = ("conda", "shared")
    root: str | None = None

    #: verbs that make a root rather than read one: they take no --root
    ROOTLESS: ClassVar[frozenset[str]] = frozenset({"sample"})

    def __call__(self, verb: str, *arguments: str | os.PathLike[str]) -> str:
        """`verb arguments` as the user would type it; a `--root` among the arguments (a hint
        about another root) replaces the user's."""
        words = [os.fspath(a) for a in arguments]
        if self.root is not None and verb not in self.ROOTLESS and "--root" not in words:
            words = ["--root", self.root, *words]
        return " ".join([*self.program, command_words([verb, *words])])

    def on(self, root: str | os.PathLike[str] | None) -> CommandLine:
        """The same program, for commands about another root (`init`, `sample` print these)."""
        return replace(self, root=None if root is None else os.fspath(root))


def quoted(word: str | os.PathLike[str]) -> str:
    """A word as the shell reads it back unchanged: the one quoting function for every path or
    value that reaches a shell, whether in a hint to paste or in a script we write."""
    return shlex.quote(os.fspath(word))


def command_words(command: Sequence[str | os.PathLike[str]]) -> str:
    """Any command line, each word shell-quoted."""
    return " ".join(quoted(word) for word in command)


def control_character(value: str) -> str | None:
    """The first control character in `value` (newline, tab, escape, ...) as Python writes it
    (`'\\n'`), or None: values that must stay on one line (script lines, names) refuse them."""
    import unicodedata  # names and script values need it; the hooks that load this do not

    found = next((c for c in value if unicodedata.category(c) == "Cc"), None)
    return None if found is None else repr(found)


def closest_names(name: str, known: Iterable[str], *, limit: int = 3) -> list[str]:
    """The names in `known` nearest to a mistyped `name`, best first (none when nothing is
    close), so an error can suggest them instead of repeating the failing command."""
    import difflib  # only errors need it, and hooks and `overlay run` load this module

    return difflib.get_close_matches(name, list(known), n=limit, cutoff=0.6)


def unknown_name(what: str, name: str, known: Sequence[str]) -> str:
    """`(did you mean a or b?)` when names are close, else `(WHAT: every name)`."""
    near = closest_names(name, known)
    if near:
        return f"(did you mean {' or '.join(near)}?)"
    return f"({what}: {', '.join(known) or 'none'})"
