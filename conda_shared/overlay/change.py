"""install, remove and clear: change an overlay through a staged copy, with a ledger entry."""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from .. import fs
from ..condarc import CondaConfig
from ..errors import InputError
from ..prefix import normalize_name, read_env
from ..specs import content_key
from . import ledger, pip
from .activate import activation
from .contents import read_dists, remove_dist
from .locate import META_FILE, OverlayDir, Placement, runnable_python
from .store import Stage, refuse_unsafe, staged

Progress = Callable[[str], None]


@dataclass(frozen=True)
class ChangeResult:
    """What one install/remove/clear did to one overlay."""

    action: str
    env: Path
    overlay: Path
    scope: str
    changes: tuple[ledger.Change, ...]
    problems: tuple[str, ...]  # pip check lines about the overlay's packages
    notes: tuple[str, ...]


def install(
    *,
    placement: Placement,
    scope: str,
    packages: Sequence[str],
    pip_options: Sequence[str],
    command: str,
    environ: Mapping[str, str],
    retarget: bool = False,
    progress: Progress | None = None,
) -> ChangeResult:
    """pip-install `packages` into the overlay; dependencies the env (or an overlay below)
    satisfies are reused, missing or too-old ones go into the overlay too."""
    overlay = _writable_overlay(placement, scope, retarget=retarget)
    runnable_python(placement.env)
    if not packages and not retarget:
        raise InputError(
            "no packages to install",
            "Name them (pip options go after --)",
            command=("overlay", "install", *_words(placement, scope), "PKG"),
        )
    with staged(overlay) as stage:
        before = read_dists(stage.path)
        environ = _applied(placement, scope, stage, environ)
        planned: tuple[pip.Planned, ...] = ()
        if packages:
            _say(progress, f"resolving {' '.join(packages)} against {placement.env.prefix}")
            planned = pip.plan(
                placement.env,
                stage=stage.path,
                packages=packages,
                pip_options=pip_options,
                environ=environ,
            )
        if not planned and not retarget:
            stage.keep = False
            return _result(
                "install",
                placement=placement,
                overlay=overlay,
                found=(),
                problems=(),
                notes=("already satisfied",),
            )
        for item in planned:
            replaced = before.get(normalize_name(item.name))
            if replaced is not None:
                remove_dist(stage.path, replaced)
        if planned:
            _say(progress, f"installing {', '.join(f'{p.name} {p.version}' for p in planned)}")
            pip.install(
                placement.env,
                planned,
                stage=stage.path,
                pip_options=pip_options,
                environ=environ,
            )
        return _finish(
            "install", placement, overlay, stage, before, command=command, environ=environ
        )


def remove(
    *,
    placement: Placement,
    scope: str,
    names: Sequence[str],
    command: str,
    environ: Mapping[str, str],
) -> ChangeResult:
    """Take distributions out of the overlay (never out of the env) by their RECORD."""
    overlay = _writable_overlay(placement, scope, retarget=False)
    runnable_python(placement.env)
    if not names:
        raise InputError(
            "no packages to remove",
            "Name them",
            command=("overlay", "remove", *_words(placement, scope), "PKG"),
        )
    with staged(overlay) as stage:
        before = read_dists(stage.path)
        for name in names:
            dist = before.get(normalize_name(name))
            if dist is None:
                held = ", ".join(d.name for d in before.values()) or "nothing"
                raise InputError(
                    f"{name} is not in the overlay {overlay.path} (it holds {held})",
                    "Remove only what the overlay holds (the env itself is never changed); see it",
                    command=("overlay", "list", str(placement.env.prefix)),
                )
            remove_dist(stage.path, dist)
        environ = _applied(placement, scope, stage, environ)
        return _finish(
            "remove", placement, overlay, stage, before, command=command, environ=environ
        )


def clear(*, placement: Placement, scope: str, command: str) -> ChangeResult:
    """Empty the overlay; its record and ledger stay (with this entry)."""
    overlay = _writable_overlay(placement, scope, retarget=False)
    with staged(overlay) as stage:
        before = read_dists(stage.path)
        for entry in os.scandir(stage.path):
            if entry.name in ("conda-meta", META_FILE):
                continue
            if entry.is_dir(follow_symlinks=False):
                fs.remove_tree(Path(entry.path))
            else:
                fs.remove_files([Path(entry.path)], within=stage.path)
        return _finish("clear", placement, overlay, stage, before, command=command, environ=None)


def _writable_overlay(placement: Placement, scope: str, *, retarget: bool) -> OverlayDir:
    overlay = placement.scope(scope)
    refuse_unsafe(overlay.path, overlay.problem)
    if overlay.exists and overlay.target != placement.env.prefix and not retarget:
        raise InputError(
            f"the overlay {overlay.path} was made for {overlay.target}, but this environment "
            f"is {placement.env.prefix} (a cutover moves `current`, and overlays stay with the "
            "env they were made for)",
            "Re-target it after checking it suits the new env",
            command=("overlay", "install", *_words(placement, scope), "--retarget"),
        )
    return overlay


def _words(placement: Placement, scope: str) -> tuple[str, ...]:
    """The scope option and ENV of a hint about this overlay, as `overlay install` takes them."""
    return (*(("--admin",) if scope == "admin" else ()), str(placement.env.prefix))


def _applied(
    placement: Placement, scope: str, stage: Stage, environ: Mapping[str, str]
) -> dict[str, str]:
    below = [o for o in placement.applied() if scope == "user" and o.scope == "admin"]
    return activation(placement.env, [stage.path, *below]).applied_to(environ)


def _finish(
    action: str,
    placement: Placement,
    overlay: OverlayDir,
    stage: Stage,
    before: Mapping[str, object],
    *,
    command: str,
    environ: Mapping[str, str] | None,
) -> ChangeResult:
    after = read_dists(stage.path)
    found = ledger.changes(before, after)  # type: ignore[arg-type]
    env_state = read_env(
        placement.env.prefix, name=placement.env.name, config=CondaConfig(), owned_dists=False
    )
    meta = {
        "env_prefix": str(placement.env.prefix),
        "env_name": placement.env.name,
        "env_content_key": content_key(env_state),
        "python_version": placement.env.python_version,
        "scope": overlay.scope,
    }
    fs.atomic_write(stage.path / META_FILE, json.dumps(meta, indent=2) + "\n")
    ledger.append(stage.path, command=command, changes=found)
    problems: tuple[str, ...] = ()
    if environ is not None:
        ours = set(after)
        problems = tuple(
            line for name, line in pip.check(placement.env, environ=environ) if name in ours
        )
    return _result(
        action, placement=placement, overlay=overlay, found=found, problems=problems, notes=()
    )


def _result(
    action: str,
    *,
    placement: Placement,
    overlay: OverlayDir,
    found: tuple[ledger.Change, ...],
    problems: tuple[str, ...],
    notes: tuple[str, ...],
) -> ChangeResult:
    return ChangeResult(
        action=action,
        env=placement.env.prefix,
        overlay=overlay.path,
        scope=overlay.scope,
        changes=found,
        problems=problems,
        notes=notes,
    )


def _say(progress: Progress | None, message: str) -> None:
    if progress is not None:
        progress(message)
