"""`overlay clone`: a personal env made by the shared env's installation from its lock (no
solve), minus chosen packages, remembering which baseline it came from."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from .. import children, fs
from ..errors import InputError, SharedError
from ..installation import Installation, read_installation
from ..prefix import EnvState, normalize_name, read_env
from ..specs import SourceInfo, build_specs, content_key
from .locate import TargetEnv

BASELINE_FILE = Path("etc") / "conda-shared" / "baseline.json"


@dataclass(frozen=True)
class Baseline:
    """What a clone was made from."""

    source_env: str
    source_key: str
    lock_source: str
    without: tuple[str, ...]
    created: str


@dataclass(frozen=True)
class CloneResult:
    destination: Path
    baseline: Baseline
    packages: int
    dependents_left: tuple[str, ...]  # packages kept whose dependency was left out
    pip_not_cloned: tuple[str, ...]


def clone_env(
    *,
    env: TargetEnv,
    destination: Path,
    without: Sequence[str],
    specs_dir: Path | None,
    environ: Mapping[str, str],
    progress: Callable[[str], None] | None = None,
) -> CloneResult:
    """Create `destination` with the env's installation conda from the env's exact lock."""
    if destination.exists() or destination.is_symlink():
        raise InputError(
            f"{destination} already exists", "Choose a new path for the clone (--to PATH)"
        )
    if env.installation is None:
        raise InputError(
            f"cannot tell which conda installation made {env.prefix} (it is not in an envs/ "
            "directory of one)",
            "Clone an env of the shared root by its name",
        )
    installation = read_installation(env.installation)
    state = read_env(env.prefix, name=env.name, config=installation.config, owned_dists=False)
    key = content_key(state)
    lock, lock_source = _lock(state, installation, key, specs_dir)
    dropped = {normalize_name(name) for name in without}
    unknown = dropped - {normalize_name(r.name) for r in state.records}
    if unknown:
        raise InputError(
            f"{', '.join(sorted(unknown))} not in {env.prefix}",
            "Pass --without with names that `conda list` shows in the env",
        )
    kept_lines = [line for line in lock.splitlines() if _package_of(line) not in dropped]
    dependents = tuple(
        sorted(
            f"{r.name} needs {dep.split()[0]}"
            for r in state.records
            if normalize_name(r.name) not in dropped
            for dep in r.depends
            if normalize_name(dep.split()[0]) in dropped
        )
    )
    if progress:
        progress(f"creating {destination} from {lock_source} with {installation.path}'s conda")
    with fs.private_temp_dir() as work:
        lock_file = work / f"{env.name}.lock"
        fs.write_file(lock_file, "\n".join(kept_lines) + "\n")
        try:
            _create(installation.path, destination, lock_file, environ)
        except BaseException:
            fs.remove_tree(destination)  # it did not exist before: leave nothing half-made
            raise
    baseline = Baseline(
        source_env=str(env.prefix),
        source_key=key,
        lock_source=lock_source,
        without=tuple(sorted(dropped)),
        created=datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
    )
    fs.make_dirs((destination / BASELINE_FILE).parent)
    fs.atomic_write(destination / BASELINE_FILE, json.dumps(baseline.__dict__, indent=2) + "\n")
    return CloneResult(
        destination=destination,
        baseline=baseline,
        packages=sum(1 for line in kept_lines if _package_of(line)),
        dependents_left=dependents,
        pip_not_cloned=tuple(f"{d.name}=={d.version}" for d in state.pip_dists),
    )


def read_baseline(prefix: Path) -> Baseline | None:
    try:
        data = json.loads((prefix / BASELINE_FILE).read_bytes())
        return Baseline(**{**data, "without": tuple(data.get("without") or ())})
    except (OSError, ValueError, TypeError):
        return None


def _lock(
    state: EnvState, installation: Installation, key: str, specs_dir: Path | None
) -> tuple[str, str]:
    """export's NAME.lock when it describes the env as it is now, else one made from disk.

    conda reads `#sha256` in @EXPLICIT files from 24.9 on: older installations get md5."""
    old_conda = _version(installation.conda_version) < (24, 9)
    if specs_dir is not None and not old_conda:
        exported = specs_dir / installation.name / f"{state.name}.lock"
        try:
            text = exported.read_text(encoding="utf-8")
        except OSError:
            text = ""
        if f"# content-key: {key}" in text:
            return text, str(exported)
    source = SourceInfo(
        path=installation.path, conda_version=installation.conda_version, config=installation.config
    )
    lock_hash = "md5" if old_conda else "sha256"
    return build_specs(state, source=source, lock_hash=lock_hash).lock, f"{state.path}/conda-meta"


def _version(text: str | None) -> tuple[int, ...]:
    parts = re.findall(r"\d+", text or "")[:2]
    return tuple(int(p) for p in parts) if parts else (0,)


def _package_of(line: str) -> str | None:
    """The package name of an @EXPLICIT URL line (None for comments and the header)."""
    line = line.strip()
    if not line or line.startswith(("#", "@")):
        return None
    filename = line.split("#", 1)[0].rsplit("/", 1)[-1]
    for suffix in (".tar.bz2", ".conda"):
        filename = filename.removesuffix(suffix)
    return normalize_name(filename.rsplit("-", 2)[0])


def _create(
    installation: Path, destination: Path, lock_file: Path, environ: Mapping[str, str]
) -> None:
    create = ["-m", "conda", "create", "--yes", "--json", "--prefix", str(destination)]
    result = children.run(
        children.python_argv(
            installation / "bin" / "python",
            [*create, "--file", str(lock_file)],
            keep_pythonpath=False,
        ),
        capture_output=True,
        text=True,
        env=children.without_caller_variables(environ),
    )
    if result.returncode != 0:
        try:
            message = str(json.loads(result.stdout).get("message", "")).strip()
        except ValueError:
            message = (result.stderr.strip().splitlines() or ["no output"])[-1]
        raise SharedError(
            f"{installation}'s conda could not create {destination}: "
            f"{message.splitlines()[0] if message else 'it failed'}",
            "Fix what conda reports (a destination path without spaces; the lock's packages "
            "reachable through the channels or the package cache), then clone again",
        )
