"""Export environments to a specs folder (ROOT/specs/<installation>/ or --out), one at a time."""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from .. import audit, fs
from ..condarc import CondaConfig, installation_condarc_files, read_config
from ..errors import InputError, SharedError
from ..installation import (
    EnvLocation,
    Installation,
    assign_keys,
    env_or_unreadable,
    owning_installation,
    read_installation,
    validate_env_name,
)
from ..inventory import read_inventory
from ..kernels.read import Kernel, read_kernels
from ..layout import SharedRoot, open_root
from ..prefix import read_env
from ..prefix.cache import EnvCache, cache_beside, env_signature, open_cache
from ..release.layout import release_ids, release_prefix, split_release
from ..specs import EnvSpecs, SourceInfo, build_specs
from ..text import closest_names, unknown_name
from .results import EnvExport, ExportResult
from .unchanged import CACHE_KIND, inputs_key, recall, remember

__all__ = ["LOCK_NAME", "EnvExport", "ExportResult", "export_envs"]

LOCK_NAME = ".conda-shared-export.lock"


@dataclass(frozen=True)
class _Job:
    """One environment to export: what was asked, where it is, how to read its channels."""

    asked: str
    location: EnvLocation | None
    source: SourceInfo | None  # None: the env's own installation, found when it is read
    known: tuple[str, ...] = ()  # the installation's env names, to suggest for a mistyped one


def export_envs(
    *,
    root: Path | None,
    installation: str | None = None,
    names: Sequence[str] = (),
    inventory: Path | None = None,
    out: Path | None = None,
    lock_hash: str = "sha256",
    full: bool = False,
    progress: Callable[[str], None] | None = None,
) -> ExportResult:
    """Write NAME.yml, NAME.lock, NAME.history.yml, NAME.conda-lock.yml and NAME.json per env.

    Reads only what conda left on disk and never writes into a source installation or env.
    One environment failing is reported and the others are still exported. Without a root
    (`root=None`) only environments given by path can be exported, and `out` is required.
    An env unchanged since the last export (same conda-meta, history and site-packages, its
    files as written) is not read again, unless `full`.
    """
    shared = open_root(root) if root is not None else None
    kernels: tuple[Kernel, ...] = ()
    if shared is None:
        out_dir = _required_out(out).absolute()
        jobs, source_path = _jobs_without_root(names, inventory), None
        warnings: tuple[str, ...] = ()
    else:
        source = read_installation(shared.installation(installation))
        jobs = _jobs_in(source, names=names, inventory=inventory)
        out_dir = out.absolute() if out is not None else shared.specs_dir / source.name
        if out is None:
            shared.ensure_in_state_dir(out_dir)
        source_path, kernels = source.path, tuple(read_kernels(shared.kernels_dir))
        warnings = source.config.warnings  # a condarc skipped: its channels are missing
    _refuse_inside([source_path, *(j.location.prefix for j in jobs if j.location)], out_dir)
    _prepare_out(out_dir)
    results: list[EnvExport] = []
    interrupted = False
    with fs.exclusive_lock(out_dir / LOCK_NAME):
        fs.finish_interrupted(out_dir)
        cache = open_cache(cache_beside(out_dir))
        warnings += (cache.note,) if cache.note else ()
        try:
            for index, job in enumerate(jobs, start=1):
                if progress:
                    progress(f"[{index}/{len(jobs)}] {job.asked}")
                results.append(
                    _export_one(
                        job,
                        kernels=kernels,
                        out_dir=out_dir,
                        lock_hash=lock_hash,
                        cache=cache,
                        full=full,
                    )
                )
        except KeyboardInterrupt:
            interrupted = True
    result = ExportResult(
        installation=source_path,
        out_dir=out_dir,
        selected=len(jobs),
        envs=tuple(results),
        notes=warnings,
        interrupted=interrupted,
    )
    if shared is None or not fs.is_within(shared.state_dir, out_dir):
        return result  # written elsewhere: the root was only read, so it keeps no record
    return _audited(shared, result)


def _jobs_in(
    installation: Installation, *, names: Sequence[str], inventory: Path | None
) -> list[_Job]:
    """Which environments to export: the names given, the inventory's, or all but base."""
    source = SourceInfo(
        path=installation.path,
        conda_version=installation.conda_version,
        config=installation.config,
    )
    if names:
        wanted = list(names)
    elif inventory is not None:
        wanted = [e.name for e in read_inventory(inventory).entries if e.action != "skip"]
    else:
        return [_Job(e.key, e, source) for e in installation.envs if e.found_in != "base"]
    found: list[tuple[str, EnvLocation | None]] = []
    outside: list[EnvLocation] = []
    for asked in dict.fromkeys(wanted):
        if os.path.isabs(asked):
            location = installation.env_at(Path(asked))
            if location is None and env_or_unreadable(asked):
                location = EnvLocation(name=Path(asked).name, prefix=Path(asked), found_in="path")
                outside.append(location)
        elif split_release(asked)[1] is not None:
            location = _release_location(installation, asked)
        else:
            location = installation.find_env(validate_env_name(asked))
        found.append((asked, location))
    # An env outside the installation must not take the file names of one of its envs.
    keyed = dict(
        zip(outside, assign_keys(outside, taken=(e.key for e in installation.envs)), strict=True)
    )
    # An env outside the installation is read with its own installation's config.
    known = tuple(e.key for e in installation.envs) + tuple(
        f"{name}@{release_id}"
        for name in {split_release(a)[0] for a in wanted if "@" in a and not os.path.isabs(a)}
        for release_id in release_ids(installation.path, name)
    )
    return _unique(
        [
            _Job(asked, keyed[loc], None) if loc in keyed else _Job(asked, loc, source, known)
            for asked, loc in found
        ]
    )


def _release_location(installation: Installation, asked: str) -> EnvLocation | None:
    """`NAME@ID`: that published release of NAME (not the one envs/NAME points at)."""
    name, release_id = split_release(asked)
    if release_id not in release_ids(installation.path, validate_env_name(name)):
        return None
    prefix = release_prefix(installation.path, name, release_id)
    return EnvLocation(name=name, prefix=prefix, found_in="release", key=asked)


def _real(path: Path) -> Path:
    """The path with symlinks resolved; a symlink loop stays as given (reading it fails later)."""
    try:
        return path.resolve()
    except (OSError, RuntimeError):  # RuntimeError: a loop, before Python 3.13
        return path.absolute()


def _required_out(out: Path | None) -> Path:
    if out is None:
        raise InputError(
            "no shared root to put the specs in",
            "Pass --out DIR (for example `--out ./specs`), or --root with your shared root",
        )
    return out


def _jobs_without_root(names: Sequence[str], inventory: Path | None) -> list[_Job]:
    """Envs given by path, with no shared root to resolve names by."""
    bare = [name for name in names if not os.path.isabs(name)]
    if bare or inventory is not None or not names:
        what = f"{bare[0]!r} is a name" if bare else "without environment paths, export"
        raise InputError(
            f"{what}: names resolve through a shared root, and there is none",
            "Give each environment's absolute path, or pass --root with your shared root",
        )
    located = [
        (name, EnvLocation(name=Path(name).name, prefix=Path(name), found_in="path"))
        for name in dict.fromkeys(names)
    ]
    keyed = assign_keys(location for _, location in located)
    return _unique(
        [
            _Job(asked, location if env_or_unreadable(location.prefix) else None, None)
            for (asked, _), location in zip(located, keyed, strict=True)
        ]
    )


def _unique(jobs: list[_Job]) -> list[_Job]:
    """The same env asked twice (by name and by path) is exported once."""
    seen: set[Path] = set()
    unique = []
    for job in jobs:
        prefix = _real(job.location.prefix) if job.location else None
        if prefix is None or prefix not in seen:
            unique.append(job)
        if prefix is not None:
            seen.add(prefix)
    return unique


def _source_of_lone_env(prefix: Path) -> SourceInfo:
    """Without a root, channels are read with the config of the installation that owns the env."""
    owner = owning_installation(prefix)
    if owner is not None:
        found = read_installation(owner)
        return SourceInfo(path=found.path, conda_version=found.conda_version, config=found.config)
    config: CondaConfig = read_config(installation_condarc_files(prefix))
    return SourceInfo(path=prefix.resolve(), conda_version=None, config=config)


def specs_at(prefix: Path, *, name: str) -> EnvSpecs:
    """The specs of the environment at `prefix`, read as export reads it, and nothing written.

    conda's own `conda export --format=...` gets the conda-shared formats from here.
    """
    source = _source_of_lone_env(prefix)
    env = read_env(prefix, name=name, config=source.config, owned_dists=False)
    return build_specs(env, source=source)


def _export_one(
    job: _Job,
    *,
    kernels: Sequence[Kernel],
    out_dir: Path,
    lock_hash: str,
    cache: EnvCache,
    full: bool,
) -> EnvExport:
    location = job.location
    if location is None:
        if os.path.isabs(job.asked):
            reason = f"{job.asked} is not a conda environment: it has no conda-meta/ directory"
        else:
            where = job.source.path if job.source else "this installation"
            reason = f"no environment named {job.asked!r} in {where} " + unknown_name(
                "environments", job.asked, job.known
            )
            near = tuple(closest_names(job.asked, job.known))
            return dataclasses.replace(_failed(job.asked, None, reason), did_you_mean=near)
        return _failed(job.asked, None, reason)
    signature = env_signature(location.prefix)
    inputs = inputs_key(
        key=location.key,
        prefix=location.prefix,
        source=job.source,
        kernels=kernels,
        out_dir=out_dir,
        lock_hash=lock_hash,
    )
    cached = None if full else cache.load(location.prefix, kind=CACHE_KIND, signature=signature)
    unchanged = recall(cached, inputs)
    if unchanged is not None:
        return unchanged
    try:
        source = job.source or _source_of_lone_env(location.prefix)
        env = read_env(location.prefix, name=location.name, config=source.config, owned_dists=False)
        specs = build_specs(
            env, source=source, kernels=kernels, lock_hash=lock_hash, stem=location.key
        )
    except Exception as error:  # one env's surprise must not end the run (Ctrl-C still does)
        return _failed(location.key, location.prefix, _reason(error, reading=location.prefix))
    files = {out_dir / f"{location.key}{suffix}": text for suffix, text in specs.files().items()}
    try:
        fs.replace_together(files, journal=fs.journal_path(out_dir, location.key))
    except Exception as error:
        return _failed(location.key, location.prefix, _reason(error, writing=out_dir))
    exported = EnvExport(
        name=location.key,
        prefix=location.prefix,
        ok=True,
        files=tuple(files),
        content_key=specs.content_key,
        conda_packages=len(env.records),
        pip_packages=len(env.pip_dists),
        risks=specs.risks,
        error=None,
    )
    cache.store(
        location.prefix, kind=CACHE_KIND, signature=signature, data=remember(exported, inputs)
    )
    return exported


def _reason(error: Exception, *, reading: Path | None = None, writing: Path | None = None) -> str:
    """One line that says what went wrong, naming the file when the error knows it."""
    if isinstance(error, SharedError):
        return _one_line(str(error))
    verb = "read" if reading is not None else "write"
    if isinstance(error, OSError):
        where = error.filename or reading or writing
        return _one_line(f"cannot {verb} {where}: {error.strerror or error}")
    if isinstance(error, UnicodeDecodeError):
        return _one_line(
            f"cannot {verb} {reading or writing}: a file is not UTF-8 ({error.reason} "
            f"at byte {error.start})"
        )
    return _one_line(
        f"unexpected {type(error).__name__} while trying to {verb} {reading or writing}: "
        f"{error}. This is a bug in conda-shared: please report it with this line"
    )


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _failed(name: str, prefix: Path | None, error: str) -> EnvExport:
    return EnvExport(name, prefix, False, (), None, 0, 0, (), error)


def _refuse_inside(sources: Sequence[Path | None], out_dir: Path) -> None:
    """Specs never go inside an installation or environment being read."""
    for source in sources:
        if source is not None and fs.is_within(source, out_dir):
            raise InputError(
                f"refusing to write specs into {source}, which is being read ({out_dir})",
                "Pass --out with a directory outside the installation and its environments",
            )


def _prepare_out(out_dir: Path) -> None:
    """One up-front error when --out cannot be written, instead of one per environment."""
    try:
        fs.make_dirs(out_dir)
    except OSError as error:
        raise SharedError(
            f"cannot create the specs folder {out_dir}: {error.strerror}",
            "Pass --out with a directory you can write to",
        ) from None
    if not os.access(out_dir, os.W_OK | os.X_OK):
        raise SharedError(
            f"cannot write to the specs folder {out_dir}: "
            + ("read-only file system" if _read_only(out_dir) else "permission denied"),
            "Pass --out with a directory you can write to, or run as a user who can write there",
        )


def _read_only(path: Path) -> bool:
    try:
        return bool(os.statvfs(path).f_flag & os.ST_RDONLY)
    except (OSError, AttributeError):
        return False


def _audited(shared: SharedRoot, result: ExportResult) -> ExportResult:
    good = sum(1 for e in result.envs if e.ok)
    outcome = f"{good} ok, {len(result.envs) - good} failed"
    if result.interrupted:
        outcome += f", interrupted before {result.selected - len(result.envs)}"
    note = audit.try_record(
        shared.log_path,
        command=f"export {result.selected} envs from {result.installation} to {result.out_dir}",
        result=outcome,
    )
    return dataclasses.replace(result, notes=(*result.notes, note)) if note else result
