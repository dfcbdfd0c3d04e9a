"""Write the archive through conda-pack's Python API, privately beside its final name."""

from __future__ import annotations

import contextlib
import importlib
import re
import shutil
import tempfile
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

from .. import children, fs
from ..errors import SharedError
from ..prefix.overwritten import MISSING, Overwritten, sha256_of

#: `- name='version'   url`: a package conda-pack found no package-cache entry for
_UNCACHED = re.compile(r"^- (\S+)='([^']*)'", re.MULTILINE)


@dataclass(frozen=True)
class Built:
    """The archive, in place under its final name."""

    size: int
    sha256: str
    notes: tuple[str, ...]  # what conda-pack warned about, one line each


def conda_pack_module(fmt: str) -> ModuleType:
    """conda-pack (the `pack` extra), imported only here; what the format needs, checked now."""
    try:
        conda_pack = importlib.import_module("conda_pack")
    except ImportError:
        raise SharedError(
            "packing needs conda-pack, which is not installed",
            "Install the pack extra: pip install 'conda-shared[pack]' (or conda install "
            "conda-pack)",
        ) from None
    if fmt == "tar.zst":
        try:
            importlib.import_module("zstandard")  # conda-pack needs it only half-way through
        except ImportError:
            raise SharedError(
                "a tar.zst archive needs the zstandard module, which is not installed",
                "Install the pack extra: pip install 'conda-shared[pack]', or choose "
                "--format tar.gz",
            ) from None
    if fmt == "squashfs" and shutil.which("mksquashfs") is None:
        raise SharedError(
            "a squashfs image needs mksquashfs, which is not on PATH",
            "Install squashfs-tools (apt-get install squashfs-tools, dnf install "
            "squashfs-tools), or choose --format tar.gz",
        )
    return conda_pack


def write_archive(
    *,
    prefix: Path,
    out: Path,
    fmt: str,
    dest_prefix: str | None,
    take_as_is: Overwritten | None,
    progress: Callable[[str], None],
) -> Built:
    """Pack `prefix` (its real path) into `out`, which appears whole or not at all.

    Everything conda-pack and mksquashfs write, their temporary files included, goes into a
    private folder beside `out` that is removed however this ends (Ctrl-C too); the archive
    then takes its name in one step. `take_as_is`: files pip overwrote, packed as the env
    holds them rather than from conda's package cache.
    """
    conda_pack = conda_pack_module(fmt)
    work = fs.private_dir_beside(out)
    try:
        with _temporary_files_in(work), warnings.catch_warnings(record=True) as warned:
            warnings.simplefilter("always")
            env = _collect(conda_pack, prefix, take_as_is)
            progress(f"packing {len(env.files)} files of {prefix}")
            built = work / f"archive.{'tar' if fmt == 'squashfs' else fmt}"
            env.pack(
                output=str(built),
                format="tar" if fmt == "squashfs" else fmt,
                dest_prefix=dest_prefix,
            )
        if fmt == "squashfs":
            progress("making the squashfs image with mksquashfs")
            built = _squash(built, work / "archive.squashfs")
        size, digest = built.stat().st_size, sha256_of(built)
        fs.publish_file(built, out, mode=fs.default_file_mode())
    except conda_pack.CondaPackException as error:
        raise SharedError(
            f"conda-pack cannot pack {prefix}: {_one_line(str(error))}",
            "Fix what it names in the environment, then run the command again",
        ) from None
    finally:
        with contextlib.suppress(SharedError):  # a leftover must not hide the outcome
            fs.remove_tree(work)
    notes = tuple(_warning_line(str(w.message)) for w in warned)
    return Built(size=size, sha256=digest, notes=notes)


def _collect(conda_pack: ModuleType, prefix: Path, take_as_is: Overwritten | None) -> Any:
    """conda-pack's file list; the env's own copy of every file pip overwrote, when asked.

    conda-pack takes a conda package's files from the package cache when it is there, so
    without this the archive would silently hold conda's copies under pip's metadata.
    """
    env = conda_pack.CondaEnv.from_prefix(
        str(prefix),
        ignore_editable_packages=True,  # checked, named and allowed (or refused) before this
        ignore_missing_files=take_as_is is not None,
    )
    if take_as_is is None:
        return env
    changed = {f.path for f in take_as_is.files if f.how != MISSING}
    files = [
        conda_pack.File(str(prefix / f.target), f.target, is_conda=False, file_mode="unknown")
        if f.target in changed
        else f
        for f in env.files
    ]
    return conda_pack.CondaEnv(env.prefix, files)


@contextlib.contextmanager
def _temporary_files_in(folder: Path) -> Iterator[None]:
    """conda-pack writes its archive and helper files through `tempfile` and moves the archive
    last: pointing `tempfile` at our private folder keeps all of it there, and on one file
    system, so the final move is a rename."""
    previous = tempfile.tempdir
    tempfile.tempdir = str(folder)
    try:
        yield
    finally:
        tempfile.tempdir = previous


def _squash(tar: Path, image: Path) -> Path:
    """A squashfs image of the uncompressed tar conda-pack wrote.

    From the tar, not from conda-pack's own squashfs staging: that one hard-links the env's
    files into a folder beside the output, which fails across a read-only bind mount (EXDEV)
    and would share inodes with a shared env.
    """
    argv = ["mksquashfs", "-", str(image), "-tar", "-noappend", "-no-progress", "-quiet"]
    # conda-pack's own choice: zstd (kernel >= 4.14, or squashfuse built with zstd) in 256 KiB
    # blocks; gzip, mksquashfs's default, takes three times as long
    argv += ["-comp", "zstd", "-Xcompression-level", "10", "-b", "256K"]
    argv += ["-all-root", "-root-mode", "755"]
    with tar.open("rb") as stream:
        done = children.run(argv, stdin=stream, capture_output=True, text=True)
    fs.remove_file(tar)
    if done.returncode != 0:
        said = (done.stderr or done.stdout).strip().splitlines()
        raise SharedError(
            f"mksquashfs failed (exit {done.returncode}): {said[-1] if said else 'no output'}",
            "Check the free space beside --out and the mksquashfs version (4.5 or later reads "
            "a tar), then run the command again",
        )
    return image


def _warning_line(text: str) -> str:
    """conda-pack's warning as one line; its long one about the package cache, said shortly."""
    uncached = _UNCACHED.findall(text)
    if "without entries in the package cache" not in text or not uncached:
        return _one_line(text)
    names = ", ".join(f"{name} {version}" for name, version in uncached)
    return (
        f"not in the package cache, so packed from the env with its prefix found by scanning "
        f"the files: {names}"
    )


def _one_line(text: str) -> str:
    return " ".join(text.split())
