"""Solve a change to a release with the installation's own conda (`create --dry-run`)."""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .. import fs
from ..errors import InputError, SharedError
from ..history import read_history, spec_name
from ..prefix.records import load_record
from ..replicate.conda import Failure, conda_command, conda_info, run_conda
from .layout import env_link

_EXPLICIT_LINE = re.compile(
    r"^(?P<url>[^#\s]+/(?P<fn>[^/#\s]+?)(?:\.tar\.bz2|\.conda))(?:#(?P<hash>\S+))?$"
)
_FILE_NAME = re.compile(r"^(?P<name>.+)-(?P<version>[^-]+)-(?P<build>[^-]+)$")


@dataclass(frozen=True)
class Change:
    """What a release changes: specs to add, packages to remove or update, or a whole file
    (an environment.yml or an @EXPLICIT lock), and the requests it answers."""

    add: tuple[str, ...] = ()
    remove: tuple[str, ...] = ()
    update: tuple[str, ...] = ()
    file: Path | None = None
    requests: tuple[str, ...] = ()

    def as_json(self) -> dict[str, Any]:
        return {
            "add": list(self.add),
            "remove": list(self.remove),
            "update": list(self.update),
            "file": None if self.file is None else str(self.file),
            "requests": list(self.requests),
        }

    @property
    def empty(self) -> bool:
        return not (self.add or self.remove or self.update or self.file)


@dataclass(frozen=True)
class SolvedPackage:
    """One package of a solution, as a lock line names it."""

    name: str
    version: str
    build: str
    channel: str
    url: str
    md5: str | None = None
    sha256: str | None = None

    def lock_line(self) -> str:
        digest = self.sha256 or self.md5
        return f"{self.url}#{digest}" if digest else self.url


@dataclass(frozen=True)
class PackageDiff:
    """added/removed/changed packages, as ReleaseRecord.diff holds them."""

    added: tuple[tuple[str, str], ...] = ()
    removed: tuple[tuple[str, str], ...] = ()
    changed: tuple[tuple[str, str, str], ...] = ()

    @property
    def empty(self) -> bool:
        return not (self.added or self.removed or self.changed)

    def as_json(self) -> dict[str, Any]:
        return {
            "added": [list(a) for a in self.added],
            "removed": [list(r) for r in self.removed],
            "changed": [list(c) for c in self.changed],
        }


@dataclass(frozen=True)
class Solution:
    """The packages a change solves to, their diff from the current release, and how it was
    solved: `pinned` (every other package kept exactly), `loose` (the env's requested specs
    plus the change, when the pinned solve had no answer) or `file`."""

    packages: tuple[SolvedPackage, ...]
    diff: PackageDiff
    failure: Failure | None
    strategy: str = "pinned"
    notes: tuple[str, ...] = field(default=())

    def lock_text(self) -> str:
        """An @EXPLICIT lock of the solution, for `conda create --file`."""
        lines = [pkg.lock_line() for pkg in self.packages]
        return "@EXPLICIT\n" + "".join(f"{line}\n" for line in lines)


def solve_change(
    *, installation: Path, name: str, change: Change, cache_dir: Path | None = None
) -> Solution:
    """Solve `change` over the current release of NAME with the installation's own conda.

    Solve-only: `create --dry-run --json` into a private temporary prefix. An update first
    keeps every other package exactly as it is (like `conda install`); when conda finds no
    such solution, the env's requested specs plus the change are solved instead. `cache_dir`:
    a package cache the caller can write (a request filed by a user).
    """
    current = current_packages(env_link(installation, name))
    if change.file is not None and is_explicit_lock(change.file):
        packages = explicit_packages(change.file)
        return Solution(packages, package_diff(current, packages), None, "file")
    attempts = _attempts(installation, name, change, current)
    solution = Solution((), PackageDiff(), None)
    for strategy, specs, channels in attempts:
        solution = _dry_run(
            installation, specs=specs, channels=channels, cache_dir=cache_dir, current=current
        )
        solution = Solution(
            solution.packages, solution.diff, solution.failure, strategy, solution.notes
        )
        if solution.failure is None or solution.failure.failure_class != "unsatisfiable":
            return solution
    return solution


def current_packages(prefix: Path) -> tuple[SolvedPackage, ...]:
    """The conda packages installed in `prefix` (none when it is missing), sorted by name."""
    meta = prefix / "conda-meta"
    try:
        names = sorted(n for n in os.listdir(meta) if n.endswith(".json"))
    except FileNotFoundError:
        return ()
    packages = [_from_record(load_record(meta / file_name)) for file_name in names]
    return tuple(sorted(packages, key=lambda p: p.name))


def is_explicit_lock(path: Path) -> bool:
    """Whether `path` is an @EXPLICIT lock (as export's NAME.lock), not an environment.yml."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise InputError(
            f"cannot read {path}: {error.strerror}",
            "Pass --file with an environment.yml or an @EXPLICIT lock you can read",
        ) from None
    return any(line.strip() == "@EXPLICIT" for line in text.splitlines())


def explicit_packages(path: Path) -> tuple[SolvedPackage, ...]:
    """The packages an @EXPLICIT lock lists, in its order."""
    packages = []
    for line in path.read_text(encoding="utf-8").splitlines():
        found = _EXPLICIT_LINE.match(line.strip())
        if found is None:
            continue
        parts = _FILE_NAME.match(found.group("fn"))
        if parts is None:
            continue
        digest = found.group("hash") or ""
        sha256, md5 = (digest, None) if len(digest) == 64 else (None, digest or None)
        url = found.group("url")
        packages.append(
            SolvedPackage(
                name=parts.group("name"),
                version=parts.group("version"),
                build=parts.group("build"),
                channel=url.rsplit("/", 2)[0],
                url=url,
                md5=md5,
                sha256=sha256,
            )
        )
    return tuple(packages)


def package_diff(before: Sequence[SolvedPackage], after: Sequence[SolvedPackage]) -> PackageDiff:
    old = {p.name: p for p in before}
    new = {p.name: p for p in after}
    return PackageDiff(
        added=tuple((n, new[n].version) for n in sorted(new.keys() - old.keys())),
        removed=tuple((n, old[n].version) for n in sorted(old.keys() - new.keys())),
        changed=tuple(
            (n, _label(old[n]), _label(new[n]))
            for n in sorted(old.keys() & new.keys())
            if (old[n].version, old[n].build) != (new[n].version, new[n].build)
        ),
    )


def _label(package: SolvedPackage) -> str:
    return package.version if package.build == "" else f"{package.version}={package.build}"


def _attempts(
    installation: Path, name: str, change: Change, current: Sequence[SolvedPackage]
) -> list[tuple[str, list[str], list[str]]]:
    """(strategy, specs, channels) to try in order.

    The installation's configured channels serve the change, as they serve `conda install`:
    a `-c` would make the site's channel policy (our own pre-command hook) stop the solve.
    An environment file's channels replace them (`--override-channels`), as its author meant.
    """
    channels: list[str] = []
    if change.file is not None:
        file_channels, specs = environment_file(change.file)
        return [("file", [*specs, *change.add], file_channels)]
    removed = {spec_name(s) for s in (*change.remove, *change.update, *change.add)}
    kept = [p for p in current if p.name.lower() not in removed]
    pinned = [f"{p.name}=={p.version}={p.build}" for p in kept]
    updated = [spec_name(s) for s in change.update]
    attempts = [("pinned", [*pinned, *updated, *change.add], channels)]
    history = read_history(env_link(installation, name) / "conda-meta" / "history")
    loose = [
        spec for spec_key, spec in history.requested_specs().items() if spec_key not in removed
    ]
    attempts.append(("loose", [*loose, *updated, *change.add], channels))
    return attempts


def environment_file(path: Path) -> tuple[list[str], list[str]]:
    """The channels and conda dependencies of an environment.yml (pip entries are refused)."""
    from ruamel.yaml import YAML
    from ruamel.yaml.error import YAMLError

    try:
        document = YAML(typ="safe", pure=True).load(path.read_text(encoding="utf-8"))
    except (OSError, YAMLError) as error:
        raise InputError(
            f"cannot read {path} as an environment file: {error}",
            "Pass --file with an environment.yml (name, channels, dependencies) or a lock",
        ) from None
    if not isinstance(document, Mapping) or not isinstance(document.get("dependencies"), list):
        raise InputError(
            f"{path} is not an environment file: it has no dependencies list",
            "Pass --file with an environment.yml (name, channels, dependencies) or a lock",
        )
    if any(isinstance(d, Mapping) for d in document["dependencies"]):
        raise InputError(
            f"{path} has a pip section, which a release cannot solve with conda",
            "Move those packages to conda packages, or keep them in an overlay",
        )
    channels = [str(c) for c in document.get("channels") or []]
    return channels, [str(d) for d in document["dependencies"]]


def _dry_run(
    installation: Path,
    *,
    specs: Sequence[str],
    channels: Sequence[str],
    cache_dir: Path | None,
    current: Sequence[SolvedPackage],
) -> Solution:
    with fs.private_temp_dir() as work:
        argv = [*conda_command(installation), "create", "--dry-run", "--json", "--yes"]
        argv += ["--prefix", str(work / "solve")]
        if channels:
            argv.append("--override-channels")
        for channel in channels:
            argv += ["--channel", channel]
        spec_file = work / "specs.txt"
        fs.write_file(spec_file, "".join(f"{s}\n" for s in specs))
        argv += ["--file", str(spec_file)]
        outcome = run_conda(argv, log=work / "conda.log", environ=_cache_environ(cache_dir))
    if outcome.failure is not None:
        return Solution((), PackageDiff(), outcome.failure)
    pkgs_dirs = (
        [cache_dir] if cache_dir else [Path(p) for p in conda_info(installation)["pkgs_dirs"]]
    )
    packages = solved_packages(outcome.document or {}, known=current, pkgs_dirs=pkgs_dirs)
    return Solution(packages, package_diff(current, packages), None)


def _cache_environ(cache_dir: Path | None) -> Mapping[str, str]:
    return {} if cache_dir is None else {"CONDA_PKGS_DIRS": str(cache_dir)}


def solved_packages(
    document: Mapping[str, Any], *, known: Sequence[SolvedPackage], pkgs_dirs: Sequence[Path]
) -> tuple[SolvedPackage, ...]:
    """The packages a `create --dry-run --json` document links, with URL and hashes.

    conda lists what it would download (FETCH) with both; a package already cached or already
    in the current release appears in LINK alone, so those come from the current release's
    records (`known`) or the cache's info/repodata_record.json.
    """
    actions = document.get("actions") or {}
    by_dist = {f"{p.name}-{p.version}-{p.build}": p for p in known}
    for item in actions.get("FETCH") or []:
        if isinstance(item, Mapping):
            fetched = _from_record(item)
            by_dist[f"{fetched.name}-{fetched.version}-{fetched.build}"] = fetched
    packages = []
    for item in actions.get("LINK") or []:
        if not isinstance(item, Mapping):
            continue
        dist = str(item.get("dist_name") or "")
        found = by_dist.get(dist) or _cached(dist, pkgs_dirs)
        if found is None:
            raise SharedError(
                f"conda solved {dist} but names neither its URL nor a cached copy",
                "Run the command again; if it persists, report it with the conda version",
            )
        packages.append(found)
    return tuple(sorted(packages, key=lambda p: p.name))


def _from_record(record: Mapping[str, Any]) -> SolvedPackage:
    url = str(record.get("url") or "")
    return SolvedPackage(
        name=str(record["name"]),
        version=str(record["version"]),
        build=str(record.get("build") or record.get("build_string") or ""),
        # records name the channel with or without its subdir; the URL always has one
        channel=url.rsplit("/", 2)[0] if url.count("/") > 2 else str(record.get("channel") or ""),
        url=url,
        md5=record.get("md5"),
        sha256=record.get("sha256"),
    )


def _cached(dist: str, pkgs_dirs: Sequence[Path]) -> SolvedPackage | None:
    for pkgs in pkgs_dirs:
        try:
            record = json.loads((pkgs / dist / "info" / "repodata_record.json").read_bytes())
        except (OSError, ValueError):
            continue
        if isinstance(record, Mapping) and record.get("url"):
            return _from_record(record)
    return None
