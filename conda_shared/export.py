"""Export environments of an installation to ROOT/specs/<installation>/, one at a time."""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from . import audit, fs
from .errors import InputError, SharedError
from .installation import EnvLocation, Installation, read_installation, validate_env_name
from .inventory import read_inventory
from .kernels import Kernel, read_kernels
from .layout import SharedRoot, open_root
from .prefix import read_env
from .specs import Risk, SourceInfo, build_specs


@dataclass(frozen=True)
class EnvExport:
    """How one environment's export went."""

    name: str
    prefix: Path | None
    ok: bool
    files: tuple[Path, ...]
    content_key: str | None
    conda_packages: int
    pip_packages: int
    risks: tuple[Risk, ...]
    error: str | None


@dataclass(frozen=True)
class ExportResult:
    """Every environment's outcome, and where the specs went."""

    installation: Path
    out_dir: Path
    envs: tuple[EnvExport, ...]
    notes: tuple[str, ...]

    @property
    def ok(self) -> bool:
        return all(env.ok for env in self.envs)


def select_envs(
    installation: Installation, *, names: Sequence[str], inventory: Path | None
) -> list[tuple[str, EnvLocation | None]]:
    """Which environments to export: the names given, the inventory's, or all but base."""
    if names:
        wanted = list(names)
    elif inventory is not None:
        wanted = [e.name for e in read_inventory(inventory).entries if e.action != "skip"]
    else:
        return [(env.name, env) for env in installation.envs if env.found_in != "base"]
    chosen: list[tuple[str, EnvLocation | None]] = []
    for name in dict.fromkeys(wanted):
        if os.path.isabs(name):
            chosen.append((name, _env_at(installation, Path(name))))
        else:
            chosen.append((name, installation.find_env(validate_env_name(name))))
    return chosen


def _env_at(installation: Installation, path: Path) -> EnvLocation | None:
    resolved = path.resolve()
    known = next((e for e in installation.envs if e.prefix.resolve() == resolved), None)
    if known is not None:
        return known
    return EnvLocation(name=path.name, prefix=path, found_in="path") if path.exists() else None


def export_envs(
    *,
    root: Path,
    installation: str | None = None,
    names: Sequence[str] = (),
    inventory: Path | None = None,
    out: Path | None = None,
    lock_hash: str = "sha256",
    progress: Callable[[str], None] | None = None,
) -> ExportResult:
    """Write NAME.yml, NAME.lock, NAME.history.yml and NAME.json per environment.

    Reads only what conda left on disk and never writes into the source installation; one
    environment failing is reported and the others are still exported.
    """
    shared = open_root(root)
    source_path = shared.installation(installation)
    source = read_installation(source_path)
    out_dir = out if out is not None else shared.specs_dir / source.name
    if out is None:
        shared.ensure_in_state_dir(out_dir)
    _refuse_inside(source.path, out_dir)
    selected = select_envs(source, names=names, inventory=inventory)
    kernels = read_kernels(shared.kernels_dir)
    info = SourceInfo(path=source.path, conda_version=source.conda_version, config=source.config)
    fs.make_dirs(out_dir)
    results = []
    for index, (name, location) in enumerate(selected, start=1):
        if progress:
            progress(f"[{index}/{len(selected)}] {name}")
        results.append(
            _export_one(
                name, location, source=info, kernels=kernels, out_dir=out_dir, lock_hash=lock_hash
            )
        )
    exported = ExportResult(
        installation=source.path,
        out_dir=out_dir,
        envs=tuple(results),
        notes=source.config.warnings,  # a condarc skipped: its channels are missing
    )
    if not fs.is_within(shared.state_dir, out_dir):
        return exported  # written elsewhere: the root was only read, so it keeps no record
    return _audited(shared, exported)


def _export_one(
    name: str,
    location: EnvLocation | None,
    *,
    source: SourceInfo,
    kernels: Sequence[Kernel],
    out_dir: Path,
    lock_hash: str,
) -> EnvExport:
    if location is None:
        return _failed(name, None, f"no environment named {name!r} in {source.path}")
    try:
        env = read_env(location.prefix, name=location.name, config=source.config, owned_dists=False)
        specs = build_specs(env, source=source, kernels=kernels, lock_hash=lock_hash)
        files = tuple(
            out_dir / f"{location.name}{suffix}"
            for suffix in (".yml", ".lock", ".history.yml", ".json")
        )
        # The manifest goes last: its presence marks a complete export.
        for path, text in zip(files, (specs.pinned, specs.lock, specs.loose, specs.manifest)):
            fs.atomic_write(path, text)
    except SharedError as error:
        return _failed(name, location.prefix, str(error))
    except OSError as error:
        return _failed(name, location.prefix, f"{error.strerror}: {error.filename}")
    return EnvExport(
        name=location.name,
        prefix=location.prefix,
        ok=True,
        files=files,
        content_key=specs.content_key,
        conda_packages=len(env.records),
        pip_packages=len(env.pip_dists),
        risks=specs.risks,
        error=None,
    )


def _failed(name: str, prefix: Path | None, error: str) -> EnvExport:
    return EnvExport(name, prefix, False, (), None, 0, 0, (), error)


def _refuse_inside(source: Path, out_dir: Path) -> None:
    if fs.is_within(source, out_dir):
        raise InputError(
            f"refusing to write specs into the source installation ({out_dir})",
            "Pass --out with a directory outside the installation being exported",
        )


def _audited(shared: SharedRoot, result: ExportResult) -> ExportResult:
    good = sum(1 for e in result.envs if e.ok)
    note = audit.try_record(
        shared.log_path,
        command=f"export {len(result.envs)} envs from {result.installation.name} "
        f"to {result.out_dir}",
        result=f"{good} ok, {len(result.envs) - good} failed",
    )
    return dataclasses.replace(result, notes=(*result.notes, note)) if note else result
