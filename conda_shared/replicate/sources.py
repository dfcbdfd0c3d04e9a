"""Which environments a run replicates, and their exported specs (exported first if stale)."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from pathlib import Path

from ..errors import InputError, SharedError
from ..export import export_envs
from ..installation import Installation, env_key
from ..inventory import default_inventory_path, read_inventory
from ..kernels.read import read_kernels
from ..layout import SharedRoot
from ..prefix import read_env
from ..specs import SourceInfo, build_specs
from ..text import unknown_name
from .plan import ExportedSpecs


def chosen_names(
    shared: SharedRoot, source: Installation, names: Sequence[str], inventory: Path | None
) -> list[str]:
    """The export keys of the names given, else of the envs the inventory marks REPLICATE."""
    if names:
        keys = list(dict.fromkeys(env_key(source, name) for name in names))
        specs_dir = shared.specs_dir / source.name
        for key in keys:  # a typo stops here, before a run folder exists to remember it
            if source.find_env(key) is None and not (specs_dir / f"{key}.json").exists():
                raise _unknown_env(source, key)
        return keys
    path = inventory or default_inventory_path(shared, source.name)
    if inventory is None and not path.exists():
        raise InputError(
            f"no environments named and no inventory at {path}",
            "Name the envs, or write the inventory and mark envs REPLICATE in it",
            command=("inventory", "--from", source.name, "--write"),
        )
    marked = [e.name for e in read_inventory(path).entries if e.action == "replicate"]
    chosen = list(dict.fromkeys(env_key(source, name) for name in marked))
    if not chosen:
        raise InputError(
            f"{path} marks no environment REPLICATE", f"Edit {path}: set `NAME = REPLICATE`"
        )
    return chosen


def exported_specs(
    shared: SharedRoot,
    source: Installation,
    names: Sequence[str],
    *,
    dry_run: bool,
    progress: Callable[[str], None],
) -> tuple[list[ExportedSpecs], list[str], list[tuple[str, str]]]:
    """Each env's exported specs, exporting first what is missing or older than the env.

    Returns (specs, notes, [(name, why it could not be exported)]). A dry run exports nothing:
    it builds the specs it lacks in memory.
    """
    specs_dir = shared.specs_dir / source.name
    notes: list[str] = []
    failures: list[tuple[str, str]] = []
    stale = [n for n in names if _needs_export(specs_dir, source, n)]
    if stale and dry_run:
        notes += [
            f"{n}: specs missing or older than the env; a run exports it first" for n in stale
        ]
    elif stale:
        progress(f"exporting {len(stale)} env(s) whose specs are missing or stale")
        exported = export_envs(root=shared.path, installation=str(source.path), names=stale)
        failures = [(e.name, e.error or "export failed") for e in exported.envs if not e.ok]
        notes += [f"exported {e.name} to {specs_dir}" for e in exported.envs if e.ok]
    bad = {name for name, _ in failures}
    found = []
    for name in names:
        if name in bad:
            continue
        if dry_run and name in stale:
            try:
                found.append(_specs_in_memory(shared, source, name))
            except InputError as error:  # a run records it as failed and builds the others
                notes.append(f"{error.message}: a run reports it failed")
        else:
            found.append(_read_specs(specs_dir, name, source=source.name))
    return found, notes, failures


def _needs_export(specs_dir: Path, source: Installation, name: str) -> bool:
    try:
        exported = (specs_dir / f"{name}.json").stat().st_mtime
    except OSError:
        return True
    location = source.find_env(name)
    if location is None:
        return False  # gone from the source: the export is all there is
    meta = location.prefix / "conda-meta"
    changed = [p.stat().st_mtime for p in (meta, meta / "history") if p.exists()]
    return bool(changed) and max(changed) > exported


def _read_specs(specs_dir: Path, name: str, *, source: str) -> ExportedSpecs:
    try:
        texts = [
            (specs_dir / f"{name}{suffix}").read_text(encoding="utf-8")
            for suffix in (".json", ".lock", ".yml", ".history.yml")
        ]
        manifest = json.loads(texts[0])
    except (OSError, ValueError) as error:
        raise SharedError(
            f"cannot read the specs of {name} in {specs_dir}: {error}",
            "Export it again",
            command=("export", "--from", source, name),
        ) from None
    return ExportedSpecs(name, manifest, texts[1], texts[2], texts[3])


def _specs_in_memory(shared: SharedRoot, source: Installation, name: str) -> ExportedSpecs:
    location = source.find_env(name)
    if location is None:
        raise _unknown_env(source, name)
    env = read_env(location.prefix, name=name, config=source.config, owned_dists=False)
    info = SourceInfo(path=source.path, conda_version=source.conda_version, config=source.config)
    built = build_specs(env, source=info, kernels=read_kernels(shared.kernels_dir))
    return ExportedSpecs(name, json.loads(built.manifest), built.lock, built.pinned, built.loose)


def _unknown_env(source: Installation, name: str) -> InputError:
    return InputError(
        f"no environment named {name!r} in {source.path} and no export of it "
        + unknown_name("environments", name, [e.name for e in source.envs]),
        "Give one of those names, or see them all",
        command=("inventory", "--from", source.name),
    )
