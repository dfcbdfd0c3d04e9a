"""Inventory of an installation's environments, and the inventory file admins annotate.

The file format is the one ISRDI keeps by hand: `NAME = ACTION` lines, `#` comments, no section
header; actions REPLICATE, export and skip, in any case.
"""

from __future__ import annotations

import dataclasses
import os
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from . import audit, fs
from .errors import InputError, SharedError
from .history import read_history
from .installation import (
    EnvLocation,
    Installation,
    disk_usage,
    read_installation,
    validate_env_name,
)
from .kernels.read import kernels_running, read_kernels
from .layout import SharedRoot, open_root
from .release.layout import current_release
from .text import decode

ACTIONS = {"replicate": "REPLICATE", "export": "export", "skip": "skip"}
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}( \d{2}:\d{2}(:\d{2})?)?$")


@dataclass(frozen=True)
class InventoryLine:
    """One `NAME = ACTION` line of an inventory file."""

    name: str
    action: str  # replicate | export | skip
    line: int


@dataclass(frozen=True)
class InventoryFile:
    """A parsed inventory file."""

    path: Path
    entries: tuple[InventoryLine, ...]
    warning: str | None = None  # set when the file had to be read as Latin-1

    def action_of(self, name: str) -> str | None:
        return next((e.action for e in self.entries if e.name == name), None)


@dataclass(frozen=True)
class EnvSummary:
    """One environment as the inventory shows it."""

    name: str
    key: str  # the name, or the full path when the name is not unique
    prefix: Path
    found_in: str
    action: str
    packages: int
    size_bytes: int | None
    last_change: str | None
    owner: str | None
    kernels: tuple[str, ...]
    problem: str | None
    release: str | None = None  # the release envs/NAME points at, for a release-managed env


@dataclass(frozen=True)
class Inventory:
    """Every environment of an installation, and what was written."""

    installation: Path
    envs: tuple[EnvSummary, ...]
    written: Path | None
    added: tuple[str, ...]
    gone: tuple[str, ...]
    notes: tuple[str, ...] = ()


def parse_inventory(text: str, *, source: str) -> tuple[InventoryLine, ...]:
    """Parse inventory text; every problem names the file and line."""
    entries: list[InventoryLine] = []
    seen: dict[str, int] = {}
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        name, sep, action = (part.strip() for part in line.partition("="))
        where = f"{source}:{number}"
        if not sep or not name or not action:
            raise InputError(
                f"{where}: expected `NAME = ACTION`, found '{raw.strip()}'",
                "Fix that line (actions: REPLICATE, export, skip)",
            )
        if action.lower() not in ACTIONS:
            raise InputError(
                f"{where}: unknown action '{action}' for {name}",
                "Use REPLICATE, export or skip (any case)",
            )
        if not os.path.isabs(name):
            try:
                validate_env_name(name)
            except InputError as error:
                raise InputError(f"{where}: {error.message}", error.next_step) from None
        if name in seen:
            raise InputError(
                f"{where}: {name} is listed twice (first on line {seen[name]})",
                "Keep one line per environment",
            )
        seen[name] = number
        entries.append(InventoryLine(name=name, action=action.lower(), line=number))
    return tuple(entries)


def read_inventory(path: Path) -> InventoryFile:
    try:
        text, warning = decode(path.read_bytes(), source=path)
    except FileNotFoundError:
        raise InputError(
            f"inventory file {path} does not exist",
            "Create it",
            command=("inventory", "--write", str(path)),
        ) from None
    except OSError as error:
        raise InputError(
            f"cannot read {path}: {(error.strerror or str(error)).lower()}",
            "Check the path and its permissions",
        ) from None
    entries = parse_inventory(text, source=str(path))
    return InventoryFile(path=path, entries=entries, warning=warning)


def default_inventory_path(shared: SharedRoot, installation_name: str) -> Path:
    """specs/<installation>/inventory.ini in the state folder, never through a symlink out."""
    return shared.ensure_in_state_dir(shared.specs_dir / installation_name / "inventory.ini")


def take_inventory(
    *,
    root: Path,
    installation: str | None = None,
    write: Path | None = None,
    sizes: bool = True,
    progress: Callable[[str], None] | None = None,
) -> Inventory:
    """Describe every environment; with `write`, create or extend the inventory file."""
    shared = open_root(root)
    source = read_installation(shared.installation(installation), registered=_environment_lists())
    if write is None:
        return _inventory(shared, source, existing=None, sizes=sizes, progress=progress)
    _refuse_inside_installations(shared, write)
    # Two admins rewriting the same file must not lose each other's edits.
    with fs.exclusive_lock(write.with_name(f".{write.name}.lock"), wait_seconds=10):
        existing = read_inventory(write) if write.exists() else None
        inventory = _inventory(shared, source, existing=existing, sizes=sizes, progress=progress)
        added, gone = _write(write, source.name, inventory.envs, existing)
    existing_notes = (existing.warning,) if existing and existing.warning else ()
    note = audit.try_record(
        shared.log_path,
        action="inventory",
        command=f"inventory of {source.name} written to {write}",
        result=f"ok: {len(added)} added, {len(gone)} marked gone",
    )
    return dataclasses.replace(
        inventory,
        written=write,
        added=added,
        gone=gone,
        notes=(*inventory.notes, *existing_notes, *((note,) if note else ())),
    )


def _refuse_inside_installations(shared: SharedRoot, write: Path) -> None:
    for installation in shared.installations_with_pointers():
        if fs.is_within(installation, write):
            raise InputError(
                f"refusing to write the inventory into the installation {installation} ({write})",
                "Write it outside every installation: leave --write without a file for the "
                "default, or name a file elsewhere",
            )


def _inventory(
    shared: SharedRoot,
    source: Installation,
    *,
    existing: InventoryFile | None,
    sizes: bool,
    progress: Callable[[str], None] | None,
) -> Inventory:
    kernels = read_kernels(shared.kernels_dir)
    envs = [e for e in source.envs if e.found_in != "base"]
    name_counts: dict[str, int] = {}
    for env in envs:
        name_counts[env.name] = name_counts.get(env.name, 0) + 1
    summaries = []
    for env in envs:
        if progress:
            progress(f"measuring {env.name}")
        key = env.name if name_counts[env.name] == 1 else str(env.prefix)
        env_kernels = tuple(k.name for k in kernels_running(kernels, env.prefix))
        chosen = _chosen_action(existing, env, key, source.path) if existing else None
        action = chosen or ("replicate" if env_kernels else "export")
        summaries.append(_summary(env, key, action, env_kernels, sizes))
    return Inventory(
        installation=source.path,
        envs=tuple(summaries),
        written=None,
        added=(),
        gone=(),
        notes=source.config.warnings,
    )


def _chosen_action(
    existing: InventoryFile, env: EnvLocation, key: str, installation: Path
) -> str | None:
    """The admin's mark for this env, also when it was written under its other key.

    An env is listed by name while its name is unique and by path while another env shares
    it; its mark follows it both ways. A bare name stands for the env the installation's own
    envs folder holds, the one `conda activate NAME` finds first.
    """
    others: tuple[str, ...]
    if key == env.name:
        others = (str(env.prefix),)
    elif env.prefix == installation / "envs" / env.name:
        others = (env.name,)
    else:
        others = ()
    return next(
        (action for action in map(existing.action_of, (key, *others)) if action is not None),
        None,
    )


def installations_with_env(*, root: Path, name: str) -> tuple[str, ...]:
    """The installations of the root that have an environment called `name` (by folder name)."""
    shared = open_root(root)
    found = []
    for path in shared.installations_with_pointers():
        try:
            if read_installation(path).find_env(name) is not None:
                found.append(path.name)
        except SharedError:
            continue
    return tuple(found)


def _environment_lists() -> list[Path]:
    from .installation import user_environment_lists

    return user_environment_lists()


def _summary(
    env: EnvLocation, key: str, action: str, kernels: tuple[str, ...], sizes: bool
) -> EnvSummary:
    meta = env.prefix / "conda-meta"
    try:
        packages = sum(1 for e in os.scandir(meta) if e.name.endswith(".json"))
        owner = _owner(env.prefix)
        problem = None
    except OSError as error:
        packages, owner = 0, None
        problem = f"cannot read {error.filename}: {(error.strerror or str(error)).lower()}"
    return EnvSummary(
        name=env.name,
        key=key,
        prefix=env.prefix,
        found_in=env.found_in,
        action=action,
        packages=packages,
        size_bytes=disk_usage(env.prefix) if sizes and problem is None else None,
        last_change=_as_date(read_history(meta / "history").last_change)
        if problem is None
        else None,
        owner=owner,
        kernels=kernels,
        problem=problem,
        release=release_of(env),
    )


def release_of(env: EnvLocation) -> str | None:
    """The current release of an env whose envs/NAME is a release link, else None."""
    if env.prefix.parent.name != "envs" or not env.prefix.is_symlink():
        return None
    return current_release(env.prefix.parent.parent, env.name)


def _as_date(text: str | None) -> str | None:
    """A history header that is a date, or nothing: other text must not pass for a date."""
    return text if text is not None and _DATE.match(text) else None


def _owner(path: Path) -> str:
    return fs.user_name(path.stat().st_uid)


def _line(summary: EnvSummary) -> str:
    note = f"  # kernel: {', '.join(summary.kernels)}" if summary.kernels else ""
    return f"{summary.key} = {ACTIONS[summary.action]}{note}"


def _write(
    path: Path,
    installation_name: str,
    summaries: Iterable[EnvSummary],
    existing: InventoryFile | None,
) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """Create the file, or keep every line of it and append what is new; returns (added, gone)."""
    today = date.today().isoformat()
    summaries = list(summaries)
    if existing is None:
        lines = [
            f"# {installation_name} environments as of {today}, written by conda shared inventory",
            "# NAME = REPLICATE (rebuild in the new installation) | export (specs only) | skip",
            *(_line(s) for s in summaries),
        ]
        fs.make_dirs(path.parent)
        fs.atomic_write(path, "\n".join(lines) + "\n")
        return tuple(s.key for s in summaries), ()
    present = {s.key for s in summaries}
    listed = {e.name: e.line for e in existing.entries}
    gone_lines = {line: name for name, line in listed.items() if name not in present}
    text = decode(path.read_bytes(), source=path)[0].splitlines()
    kept = [
        f"# gone {today}: {raw}" if number in gone_lines else raw
        for number, raw in enumerate(text, start=1)
    ]
    new = [s for s in summaries if s.key not in listed]
    if new:
        kept += ["", f"# added {today} by conda shared inventory", *(_line(s) for s in new)]
    fs.atomic_write(path, "\n".join(kept) + "\n")
    return tuple(s.key for s in new), tuple(gone_lines.values())
