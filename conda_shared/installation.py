"""Read one conda installation from disk: versions, platform, its own condarc, its environments."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from .condarc import CondaConfig, installation_condarc_files, read_config, user_home
from .errors import InputError, SharedError
from .history import Revision, read_history
from .layout import is_installation
from .prefix import is_environment, site_packages_dirs
from .text import control_character

_VERSIONED_RECORD = r"^{name}-(\d[^-]*)-[^-]+\.json$"
_ENV_NAME = re.compile(r"^[^/\\\x00]+$")


@dataclass(frozen=True)
class EnvLocation:
    """Where one environment of an installation lives and how it was found."""

    name: str
    prefix: Path
    found_in: str  # "base" | an envs dir | "environments.txt" | "path"
    # The env's identity in inventories and export file names: its name when no other env
    # of the installation has that name (ignoring case), else the name and a hash of its path.
    key: str = ""

    def __post_init__(self) -> None:
        if not self.key:
            object.__setattr__(self, "key", self.name)


def assign_keys(
    locations: Iterable[EnvLocation], *, taken: Iterable[str] = ()
) -> tuple[EnvLocation, ...]:
    """Give every env a unique key; the first env of a name (the one `-n` picks) keeps it.

    Keys differ ignoring case too, since they become file names on case-insensitive disks.
    """
    used = {key.casefold() for key in taken}
    keyed = []
    for location in locations:
        key = location.name
        if key.casefold() in used:
            digest = hashlib.sha256(os.fsencode(location.prefix)).hexdigest()[:8]
            key = f"{location.name}~{digest}"
        used.add(key.casefold())
        keyed.append(dataclasses.replace(location, key=key))
    return tuple(keyed)


@dataclass(frozen=True)
class Installation:
    """A complete conda installation (its base env) and the environments it serves."""

    path: Path
    name: str
    conda_version: str | None
    python_version: str | None
    platform: str | None
    conda_shared_version: str | None
    config: CondaConfig
    envs_dirs: tuple[Path, ...]
    envs: tuple[EnvLocation, ...]

    def find_env(self, name: str) -> EnvLocation | None:
        """The env with this key, else the one conda would pick for `-n name` (first dir wins)."""
        by_key = next((env for env in self.envs if env.key == name), None)
        return by_key or next((env for env in self.envs if env.name == name), None)

    def env_at(self, path: Path) -> EnvLocation | None:
        """The env of this installation at `path`, reached by any route (a symlink, a mount)."""
        wanted = _identity(path)
        return next((env for env in self.envs if _identity(env.prefix) == wanted), None)


def env_key(installation: Installation, entry: str) -> str:
    """The export key of an inventory entry: the name its specs files and its replicate result
    carry (`NAME`, or `NAME~hash` for a second env of that name).

    An entry is a name, or the full path `inventory --write` lists for a name that is not
    unique; a path that is no env of the installation (any more) gets the key export gives it.
    """
    if not os.path.isabs(entry):
        found = installation.find_env(validate_env_name(entry))
        return found.key if found else entry
    found = installation.env_at(Path(entry))
    if found is not None:
        return found.key
    name = validate_env_name(Path(entry).name or entry)
    gone = EnvLocation(name=name, prefix=Path(entry), found_in="path")
    return assign_keys([gone], taken=(env.key for env in installation.envs))[0].key


def validate_env_name(name: str) -> str:
    """An environment name must be a plain directory name, never a path."""
    if (
        not _ENV_NAME.match(name)
        or name in (".", "..")
        or name.startswith("-")
        or control_character(name) is not None
    ):
        raise InputError(
            f"{name!r} is not a valid environment name (no path separators, control "
            "characters, '.' or '..')",
            "Give an absolute path, or one of the names this lists",
            command=("inventory",),
        )
    return name


def read_installation(path: Path, *, registered: Iterable[Path] = ()) -> Installation:
    """Read an installation; `registered` are environments.txt files whose envs may belong."""
    if not path.exists():
        raise SharedError(
            f"installation {path} does not exist",
            "See the installations of this root",
            command=("status",),
        )
    if not is_installation(path):
        raise SharedError(
            f"{path} is not a conda installation: it has no conda-meta/ directory",
            "Point at the directory that holds bin/conda and conda-meta/ (its base environment)",
        )
    real = path.resolve()
    config = read_config(installation_condarc_files(real))
    envs_dirs = tuple(dict.fromkeys([real / "envs", *(Path(p) for p in config.envs_dirs)]))
    envs = [EnvLocation(name="base", prefix=real, found_in="base")]
    seen = {_identity(real)}
    found = [(prefix, str(envs_dir)) for envs_dir in envs_dirs for prefix in _envs_in(envs_dir)]
    found += [(prefix, "environments.txt") for prefix in _registered_envs(registered, real)]
    for prefix, found_in in found:
        if _identity(prefix) not in seen:
            seen.add(_identity(prefix))
            envs.append(EnvLocation(name=prefix.name, prefix=prefix, found_in=found_in))
    return Installation(
        path=real,
        name=real.name,
        conda_version=package_version(real, "conda"),
        python_version=package_version(real, "python") or _venv_python_version(real),
        platform=_platform(real),
        conda_shared_version=package_version(real, "conda-shared"),
        config=config,
        envs_dirs=envs_dirs,
        envs=assign_keys(envs),
    )


def _identity(prefix: Path) -> object:
    """One env reached by two paths (a symlink, a bind mount, an automounter) is one env."""
    try:
        info = prefix.stat()
    except OSError:
        return prefix.absolute()
    return (info.st_dev, info.st_ino)


def package_version(prefix: Path, name: str) -> str | None:
    """Version of a package in a prefix: its conda record, or a pip-installed dist-info."""
    pattern = re.compile(_VERSIONED_RECORD.format(name=re.escape(name)))
    try:
        for entry in os.scandir(prefix / "conda-meta"):
            match = pattern.match(entry.name)
            if match:
                return match.group(1)
    except OSError:
        pass
    dist_name = re.escape(name.replace("-", "_"))
    dist_pattern = re.compile(rf"^{dist_name}-(\d[^-]*)\.dist-info$", re.IGNORECASE)
    for site in site_packages_dirs(prefix):
        try:
            for entry in os.scandir(site):
                match = dist_pattern.match(entry.name)
                if match:
                    return match.group(1)
        except OSError:
            continue
    return None


def _venv_python_version(prefix: Path) -> str | None:
    try:
        for line in (prefix / "pyvenv.cfg").read_text(encoding="utf-8").splitlines():
            key, _, value = line.partition("=")
            if key.strip() in ("version", "version_info"):
                return value.strip()
    except OSError:
        pass
    found = sorted(prefix.glob("lib/python3.*/site-packages"))
    return found[-1].parent.name.removeprefix("python") if found else None


def _platform(prefix: Path) -> str | None:
    """The subdir of the installation's own packages (conda's, else any non-noarch one)."""
    try:
        names = sorted(
            e.name for e in os.scandir(prefix / "conda-meta") if e.name.endswith(".json")
        )
    except OSError:
        return None
    names.sort(key=lambda n: not n.startswith(("python-", "conda-")))
    for name in names[:20]:
        try:
            data = json.loads((prefix / "conda-meta" / name).read_bytes())
        except (OSError, ValueError):
            continue
        subdir = data.get("subdir") if isinstance(data, dict) else None
        if subdir and subdir != "noarch":
            return str(subdir)
    return None


def _envs_in(envs_dir: Path) -> Iterator[Path]:
    try:
        entries = sorted(os.scandir(envs_dir), key=lambda e: e.name)
    except OSError:
        return
    for entry in entries:
        # os.path.isdir, not DirEntry.is_dir: a looping link must read as no env, not raise.
        if (
            not entry.name.startswith(".")
            and os.path.isdir(entry.path)
            and env_or_unreadable(entry.path)
        ):
            yield Path(entry.path)


def env_or_unreadable(path: str | Path) -> bool:
    """An env, or a folder this user cannot look into (`chmod 700`, common on shared roots):
    listed, so reading it fails with one line naming it instead of vanishing."""
    try:
        return is_environment(Path(path))
    except PermissionError:
        return True


def _registered_envs(files: Iterable[Path], installation: Path) -> Iterator[Path]:
    """Envs listed in environments.txt files that this installation's conda created."""
    for listing in files:
        try:
            lines = listing.read_text(encoding="utf-8", errors="replace").splitlines()
        except OSError:
            continue
        for line in lines:
            prefix = Path(line.strip())
            if line.strip() and _readable_env(prefix) and _created_by(prefix, installation):
                yield prefix


def _readable_env(path: Path) -> bool:
    # Listed in someone's environments.txt, maybe inside a home this user cannot read.
    try:
        return is_environment(path)
    except OSError:
        return False


def _created_by(prefix: Path, installation: Path) -> bool:
    revision = _first_command(prefix)
    return revision is not None and revision.invoked_from(installation)


def owning_installation(prefix: Path) -> Path | None:
    """The installation an env belongs to: the one whose envs/ holds it, else its creator's."""
    real = prefix.resolve()
    if real.parent.name == "envs" and is_installation(real.parent.parent):
        return real.parent.parent
    revision = _first_command(real)
    readings = revision.executable_readings() if revision is not None else iter(())
    for reading in readings:  # `/tmp/my root/bin/conda`: the first reading inside one
        owner = next((p for p in reading.parents if p != real and is_installation(p)), None)
        if owner is not None:
            return owner
    return None


def _first_command(prefix: Path) -> Revision | None:
    """The first revision of the env's history that records a command (None if unreadable)."""
    try:
        history = read_history(prefix / "conda-meta" / "history")
    except SharedError:  # another user's env we cannot read: not provably anyone's
        return None
    return next((r for r in history.revisions if r.command), None)


def user_environment_lists() -> list[Path]:
    """environments.txt files this user can read: their own and their neighbours' homes."""
    home = user_home()
    if home is None:
        return []
    own = home / ".conda" / "environments.txt"
    try:
        neighbours = sorted(home.parent.glob("*/.conda/environments.txt"))
    except OSError:
        neighbours = []
    return list(dict.fromkeys([own, *neighbours]))


def disk_usage(
    prefix: Path,
    *,
    seen: set[tuple[int, int]] | None = None,
    unreadable: list[str] | None = None,
) -> int:
    """Bytes used under prefix, counting hard-linked files once (across calls sharing `seen`).

    A folder that cannot be listed is left out; `unreadable` collects one line for each.
    """
    seen = set() if seen is None else seen
    total = 0
    stack = [prefix]
    while stack:
        folder = stack.pop()
        try:
            entries = list(os.scandir(folder))
        except OSError as error:
            if unreadable is not None:
                unreadable.append(f"cannot read {folder}: {(error.strerror or str(error)).lower()}")
            continue
        for entry in entries:
            try:
                if entry.is_dir(follow_symlinks=False):
                    stack.append(Path(entry.path))
                    continue
                stat = entry.stat(follow_symlinks=False)
            except OSError:
                continue
            key = (stat.st_dev, stat.st_ino)
            if key not in seen:
                seen.add(key)
                total += stat.st_blocks * 512 if hasattr(stat, "st_blocks") else stat.st_size
    return total
