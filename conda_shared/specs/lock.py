"""NAME.lock: the `@EXPLICIT` file, packages in dependency order with their hashes."""

from __future__ import annotations

from collections.abc import Sequence

from .. import __version__
from ..channels import canonical_file_url
from ..history import spec_name
from ..prefix import EnvState, PackageRecord
from .manifest import key_comment

LOCK_HASHES = ("sha256", "md5")


def dependency_order(records: Sequence[PackageRecord]) -> list[PackageRecord]:
    """Dependencies before dependents (as `conda list --explicit` does), ties by name."""
    by_name = {r.name: r for r in records}
    ordered: list[PackageRecord] = []
    state: dict[str, int] = {}  # 1 = visiting, 2 = done; cycles are broken where found

    def visit(record: PackageRecord) -> None:
        if state.get(record.name):
            return
        state[record.name] = 1
        for dependency in sorted(spec_name(d) for d in record.depends):
            if dependency in by_name:
                visit(by_name[dependency])
        state[record.name] = 2
        ordered.append(record)

    for record in sorted(records, key=lambda r: r.name):
        visit(record)
    return ordered


def lock_text(
    env: EnvState,
    records: Sequence[PackageRecord],
    *,
    key: str,
    conda_version: str | None,
    lock_hash: str,
) -> str:
    """The lock of `records` (already ordered); `lock_hash` md5 serves conda older than 24.9."""
    lines = [
        "# This file may be used to create an environment using:",
        "# $ conda create --name <env> --file <this file>",
        f"# platform: {env.platform or 'noarch'}",
        f"# env: {_one_line(env.name)} ({_one_line(str(env.path))})",
        f"# exported-by: conda-shared {__version__} from conda {conda_version or '?'}",
        key_comment(key),
        "@EXPLICIT",
    ]
    for record in records:
        if not record.url:
            lines.append(f"# no URL for: {_one_line(record.fn)}")
            continue
        preferred = (
            (record.md5, record.sha256) if lock_hash == "md5" else (record.sha256, record.md5)
        )
        digest = preferred[0] or preferred[1]
        url = canonical_file_url(record.url)
        lines.append(f"{url}#{digest}" if digest else url)
    return "\n".join(lines) + "\n"


def _one_line(text: str) -> str:
    """Text for a comment: a line break in a name must not start a line conda would read."""
    return text.replace("\r", "\\r").replace("\n", "\\n")
