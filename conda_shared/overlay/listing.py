"""`overlay list`: each overlay's distributions, what they shadow in the env, and its ledger."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from ..condarc import CondaConfig
from ..errors import SharedError
from ..prefix import normalize_name, read_env
from ..text import CommandLine
from . import ledger
from .contents import read_dists
from .locate import OverlayDir


@dataclass(frozen=True)
class OverlaidDist:
    """One distribution in an overlay, and the env's own version it shadows (if any)."""

    name: str
    version: str
    shadows: str | None
    source: str  # index | editable | local | archive | vcs | unknown


@dataclass(frozen=True)
class OverlayListing:
    """One overlay: where, for which env, whether it applies now, what it holds."""

    scope: str
    path: Path
    target: Path | None
    applies: bool
    note: str | None
    dists: tuple[OverlaidDist, ...]
    history: tuple[ledger.LedgerEntry, ...]


@dataclass(frozen=True)
class ListResult:
    env: Path | None
    overlays: tuple[OverlayListing, ...]


def list_overlays(
    *,
    overlays: Sequence[OverlayDir],
    env: Path | None,
    history: bool,
    command_line: CommandLine,
) -> ListResult:
    """Describe `overlays`; with `env`, say for each whether that env's Python gets it."""
    return ListResult(
        env=env,
        overlays=tuple(
            _listing(o, env=env, history=history, command_line=command_line) for o in overlays
        ),
    )


def _listing(
    overlay: OverlayDir, *, env: Path | None, history: bool, command_line: CommandLine
) -> OverlayListing:
    note = None
    applies = overlay.target is not None and (env is None or overlay.target == env)
    if overlay.problem is not None:
        note = f"ignored: {overlay.problem}"
    elif overlay.target is not None and env is not None and overlay.target != env:
        scope = ("--admin",) if overlay.scope == "admin" else ()
        retarget = command_line("overlay", "install", *scope, env, "--retarget")
        note = (
            f"not applied: made for {overlay.target}, and the env is now {env} (overlays stay "
            f"with the env they were made for; re-target it: `{retarget}`)"
        )
    elif overlay.target is not None and not (overlay.target / "conda-meta").is_dir():
        note = f"its env {overlay.target} no longer exists"
    return OverlayListing(
        scope=overlay.scope,
        path=overlay.path,
        target=overlay.target,
        applies=applies,
        note=note,
        dists=_dists(overlay) if overlay.problem is None else (),
        history=ledger.read(overlay.path) if history else (),
    )


def _dists(overlay: OverlayDir) -> tuple[OverlaidDist, ...]:
    versions = env_versions(overlay.target)
    return tuple(
        OverlaidDist(
            name=dist.name,
            version=dist.version,
            shadows=versions.get(key),
            source=dist.source.kind,
        )
        for key, dist in sorted(read_dists(overlay.path).items())
    )


def env_versions(prefix: Path | None) -> dict[str, str]:
    """Versions in the env by normalized name: its Python distributions, then conda records."""
    if prefix is None:
        return {}
    try:
        env = read_env(prefix, name=prefix.name, config=CondaConfig())
    except SharedError:
        return {}
    versions = {normalize_name(r.name): r.version for r in env.records}
    versions.update({d.normalized: d.version for d in env.dists})
    return versions
