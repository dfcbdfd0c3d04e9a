"""Build one release at its final path from a lock, smoke-test it and make it public."""

from __future__ import annotations

import hashlib
import json
import os
import stat
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from .. import fs
from ..kernels.read import Kernel
from ..replicate.conda import Failure, conda_command, run_conda
from ..replicate.report import describe_smoke
from ..replicate.smoke import SmokeResult, smoke_test
from .layout import BUILDING_MARKER, FROZEN_FILE, build_log, frozen_document, releases_dir


@dataclass(frozen=True)
class Built:
    """A built (not yet published) release: why it failed, if it did, and its smoke test."""

    failure: Failure | None
    smoke: SmokeResult | None


@dataclass(frozen=True)
class Access:
    """Who owns a release and its folder mode: those of the env it follows."""

    uid: int
    gid: int
    mode: int


def ensure_releases_dir(installation: Path, name: str) -> Path:
    """envs/.releases/NAME, created readable by whoever can read envs/ (whatever the umask)."""
    envs = installation / "envs"
    mode = stat.S_IMODE(os.stat(envs).st_mode) & 0o755
    folder = releases_dir(installation, name)
    for level in (folder.parent, folder):
        if not level.is_dir():
            fs.make_dirs(level)
            os.chmod(level, mode | 0o700)
    return folder


def access_of(prefix: Path) -> Access:
    """The owner and mode of the env a release follows (its current release, or the plain
    folder it adopts); group and others never get write."""
    info = os.stat(prefix)
    return Access(info.st_uid, info.st_gid, stat.S_IMODE(info.st_mode) & ~0o022)


def build(
    *,
    installation: Path,
    prefix: Path,
    lock_text: str,
    kernels: tuple[Kernel, ...],
    progress: Callable[[str], None],
) -> Built:
    """`conda create --file LOCK` at `prefix` (which holds only our marker), then smoke-test."""
    with fs.private_temp_dir() as work:
        lock = work / "release.lock"
        fs.write_file(lock, lock_text)
        argv = [*conda_command(installation), "create", "--json", "--yes", "--prefix", str(prefix)]
        progress(f"building {prefix}")
        log = build_log(installation, prefix.parent.name, prefix.name)
        outcome = run_conda([*argv, "--file", str(lock)], log=log)
    if outcome.failure is not None:
        return Built(outcome.failure, None)
    progress("smoke test")
    smoke = smoke_test(prefix=prefix, kernels=kernels)
    if not smoke.ok:
        message = f"the new release's smoke test {describe_smoke(smoke)}"
        return Built(Failure("smoke-failed", (), message), smoke)
    return Built(None, smoke)


def freeze(prefix: Path, name: str) -> None:
    """conda-meta/frozen (CEP 22): conda 25.5+ refuses to change the release by itself."""
    fs.write_file(prefix / "conda-meta" / FROZEN_FILE, frozen_document(name))


def file_digests(prefix: Path) -> dict[str, list[int | str]]:
    """{relative path: [size, sha256]} of every regular file (not __pycache__, not our marker)."""
    digests: dict[str, list[int | str]] = {}
    for folder, folders, files in os.walk(prefix):
        folders[:] = sorted(f for f in folders if f != "__pycache__")
        for file_name in sorted(files):
            path = os.path.join(folder, file_name)
            relative = os.path.relpath(path, prefix)
            if relative == BUILDING_MARKER or not stat.S_ISREG(os.lstat(path).st_mode):
                continue
            digest = hashlib.sha256()
            with open(path, "rb") as stream:
                for block in iter(lambda: stream.read(1 << 20), b""):
                    digest.update(block)
            digests[relative] = [os.path.getsize(path), digest.hexdigest()]
    return digests


def files_json(prefix: Path) -> str:
    return json.dumps(file_digests(prefix), indent=0, sort_keys=True) + "\n"


def make_public(prefix: Path, access: Access) -> None:
    """Give the release the owner and modes of the env it follows: readable as that env is,
    writable by its owner only, whatever umask conda ran under."""
    fs.writable_by_owner_only(prefix, readable_by_all=bool(access.mode & 0o004))
    if os.geteuid() == 0 and (access.uid, access.gid) != (0, 0):
        fs.change_owner_tree(prefix, uid=access.uid, gid=access.gid)
    os.chmod(prefix, access.mode | 0o700)
