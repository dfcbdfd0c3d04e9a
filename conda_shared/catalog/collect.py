"""Read a shared root into a Catalog: each env from the cache when its state is unchanged."""

from __future__ import annotations

import hashlib
import os
import re
from collections import Counter
from collections.abc import Callable, Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from .. import audit
from ..errors import SharedError
from ..installation import EnvLocation, Installation, read_installation
from ..kernels.read import Kernel, kernels_running, read_kernels
from ..layout import SharedRoot
from ..overlay.listing import OverlayListing, list_overlays
from ..overlay.locate import admin_overlays
from ..prefix import read_env
from ..prefix.cache import EnvCache, env_signature
from ..release.layout import (
    current_release,
    pinned_releases,
    read_record,
    records_dir,
    release_ids,
)
from ..replicate.report import RESULT_STATUSES
from ..replicate.runfolder import current_report, latest_run_dir
from ..specs import SUFFIXES, content_key
from ..text import CommandLine, quoted
from .model import (
    AdminOverlay,
    Catalog,
    EnvEntry,
    InstallationEntry,
    OverlaidPackage,
    Package,
    Release,
    ReplicateSummary,
    ReportEnv,
)

CACHE_KIND = "catalog"
AUDIT_ENTRIES = 50
#: what export writes per env, offered for download
SPEC_SUFFIXES = tuple(SUFFIXES.values())
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def read_catalog(
    shared: SharedRoot,
    *,
    cache: EnvCache,
    reuse: bool,
    progress: Callable[[str], None],
) -> Catalog:
    """The catalog of `shared`; with `reuse`, an env whose signature the cache knows is not
    read again (its packages come from the cache), and every env read is stored for next time."""
    kernels = read_kernels(shared.kernels_dir)
    overlays = _admin_overlays(shared.path)
    installations: list[InstallationEntry] = []
    envs: list[EnvEntry] = []
    notes: list[str] = [cache.note] if cache.note else []
    for path, pointers in shared.installations_with_pointers().items():
        try:
            installation = read_installation(path)
        except SharedError as error:
            installations.append(
                InstallationEntry(path.name, path, pointers, None, None, 0, error.message)
            )
            continue
        notes += installation.config.warnings
        own = [env for env in installation.envs if env.found_in != "base"]
        installations.append(
            InstallationEntry(
                name=installation.name,
                path=installation.path,
                pointers=pointers,
                conda_version=installation.conda_version,
                python_version=installation.python_version,
                env_count=len(own),
                problem=None,
            )
        )
        for location in own:
            progress(f"[{len(envs) + 1}] {installation.name} {location.key}")
            envs.append(
                _env_entry(
                    shared,
                    installation,
                    location,
                    pointers=pointers,
                    kernels=kernels,
                    overlays=overlays,
                    cache=cache,
                    reuse=reuse,
                )
            )
    return Catalog(
        root=shared.path,
        generated=datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        installations=tuple(installations),
        envs=tuple(envs),
        replicate=_latest_run(shared.reports_dir, notes),
        activity=tuple(reversed(audit.tail(shared.log_path, AUDIT_ENTRIES))),
        notes=tuple(notes),
    )


def page_name(*parts: str) -> str:
    """A file name for a page that no name from disk can turn into a path elsewhere (`../`,
    `/`, quotes): the safe characters of each part and a digest that keeps them apart."""
    digest = hashlib.sha256("\0".join(parts).encode("utf-8", "surrogateescape")).hexdigest()[:10]
    readable = "-".join(_UNSAFE.sub("_", part).strip("._")[:40] for part in parts)
    return f"{readable}-{digest}"


def _env_entry(
    shared: SharedRoot,
    installation: Installation,
    location: EnvLocation,
    *,
    pointers: Sequence[str],
    kernels: Sequence[Kernel],
    overlays: Sequence[OverlayListing],
    cache: EnvCache,
    reuse: bool,
) -> EnvEntry:
    prefix = location.prefix
    signature = env_signature(prefix)
    cached = cache.load(prefix, kind=CACHE_KIND, signature=signature) if reuse else None
    error = None
    if cached is None:
        try:
            cached = _read_packages(prefix, location.name, installation)
        except SharedError as failure:
            error, cached = failure.message, None
        else:
            cache.store(prefix, kind=CACHE_KIND, signature=signature, data=cached)
        read_again = True
    else:
        read_again = False
    data: dict[str, Any] = cached or {}
    real = Path(os.path.realpath(prefix))
    spec_dir = shared.specs_dir / installation.name
    return EnvEntry(
        installation=installation.name,
        name=location.key,
        prefix=prefix,
        page=f"envs/{page_name(installation.name, location.key)}.html",
        activate=_activate_line(shared, installation, location, pointers),
        python_version=data.get("python_version"),
        content_key=data.get("content_key"),
        packages=tuple(Package(*row) for row in data.get("packages", ())),
        pip=tuple(Package(*row) for row in data.get("pip", ())),
        kernels=tuple(k.display_name for k in kernels_running(kernels, prefix)),
        overlays=tuple(_overlay(o) for o in overlays if o.target == real),
        releases=_releases(shared, installation.path, location),
        spec_files=tuple(
            str(spec_dir / f"{location.key}{suffix}")
            for suffix in SPEC_SUFFIXES
            if (spec_dir / f"{location.key}{suffix}").is_file()
        ),
        error=error,
        read_again=read_again,
    )


def _releases(shared: SharedRoot, installation: Path, location: EnvLocation) -> tuple[Release, ...]:
    """The env's releases, newest first, as their records tell them (one without a readable
    record is still listed, by its ID)."""
    if location.prefix.parent != installation / "envs":
        return ()
    ids = release_ids(installation, location.name)
    if not ids:
        return ()
    current = current_release(installation, location.name)
    pinned = pinned_releases(shared.path, installation, location.name)
    releases = []
    for release_id in reversed(ids):
        record = read_record(records_dir(shared.state_dir, installation, location.name, release_id))
        diff = record.diff if record else {}
        who = record.user if record else "?"
        if record and record.sudo_user:
            who += f" (sudo from {record.sudo_user})"
        releases.append(
            Release(
                id=release_id,
                created=record.created if record else "",
                who=who,
                kind=record.kind if record else "",
                current=release_id == current,
                pinned=release_id in pinned,
                added=_diff_items(diff.get("added"), "{}={}"),
                removed=_diff_items(diff.get("removed"), "{}={}"),
                changed=_diff_items(diff.get("changed"), "{} {} → {}"),
            )
        )
    return tuple(releases)


def _diff_items(rows: Any, form: str) -> tuple[str, ...]:
    """`[[name, version], ...]` (or `[name, old, new]`) as text; a malformed row is left out."""
    if not isinstance(rows, list):
        return ()
    width = form.count("{}")
    return tuple(
        form.format(*row)
        for row in rows
        if isinstance(row, list) and len(row) == width and all(isinstance(v, str) for v in row)
    )


def _read_packages(prefix: Path, name: str, installation: Installation) -> dict[str, Any]:
    """What the catalog shows of an env's packages, as the cache keeps it (JSON)."""
    env = read_env(prefix, name=name, config=installation.config, owned_dists=False)
    return {
        "python_version": env.python_version,
        "content_key": content_key(env),
        "packages": [[r.name, r.version, r.build, r.channel.name] for r in env.records],
        "pip": [
            [d.name, d.version, "", d.source.kind, d.source.url]
            for d in sorted(env.pip_dists, key=lambda d: d.normalized)
        ],
    }


def _activate_line(
    shared: SharedRoot, installation: Installation, location: EnvLocation, pointers: Sequence[str]
) -> str:
    """`conda activate NAME` for an env of the current installation's envs folder; else the
    path through the installation's pointer (which survives a cutover), else its own path."""
    in_envs = location.prefix.parent == installation.path / "envs"
    if in_envs and (shared.single or "current" in pointers):
        return f"conda activate {quoted(location.name)}"
    if in_envs and pointers:
        return f"conda activate {quoted(shared.path / pointers[0] / 'envs' / location.name)}"
    return f"conda activate {quoted(location.prefix)}"


def _admin_overlays(root: Path) -> tuple[OverlayListing, ...]:
    return list_overlays(
        overlays=admin_overlays(root), env=None, history=False, command_line=CommandLine()
    ).overlays


def _overlay(listing: OverlayListing) -> AdminOverlay:
    return AdminOverlay(
        path=listing.path,
        applies=listing.applies,
        note=listing.note,
        packages=tuple(OverlaidPackage(d.name, d.version, d.shadows) for d in listing.dists),
    )


def _latest_run(reports_dir: Path, notes: list[str]) -> ReplicateSummary | None:
    """The latest replicate run's statuses and failure classes; None when there is none."""
    try:
        run_dir = latest_run_dir(reports_dir)
    except SharedError:
        return None
    try:
        report = current_report(run_dir)
    except SharedError as error:
        notes.append(f"replicate run {run_dir} not shown: {error.message}")
        return None
    counts = Counter(env.status for env in report.envs)
    return ReplicateSummary(
        run=run_dir.name,
        source=report.from_,
        target=report.to,
        started=report.started,
        finished=report.finished,
        statuses=tuple((status, counts[status]) for status in RESULT_STATUSES if counts[status]),
        failure_classes=tuple(
            Counter(
                env.failure_class for env in report.envs if env.failure_class is not None
            ).most_common()
        ),
        envs=tuple(
            ReportEnv(env.name, env.status, env.failure_class, env.error) for env in report.envs
        ),
    )
