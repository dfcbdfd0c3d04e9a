"""The archive formats `pack` writes: how a file name tells the format, how each is unpacked."""

from __future__ import annotations

from pathlib import Path

from ..errors import InputError
from ..text import quoted

FORMATS = ("tar.gz", "tar.zst", "zip", "squashfs")
_SUFFIXES = {
    ".tar.gz": "tar.gz",
    ".tgz": "tar.gz",
    ".tar.zst": "tar.zst",
    ".tzst": "tar.zst",
    ".zip": "zip",
    ".squashfs": "squashfs",
    ".sqfs": "squashfs",
}
_EXTRACT = {
    "tar.gz": "tar -xzf {archive} -C {folder}",
    "tar.zst": "tar --zstd -xf {archive} -C {folder}",
    "zip": "unzip -q {archive} -d {folder}",
}


def archive_format(out: Path, chosen: str | None) -> str:
    """`chosen` (--format), else what the file name ends with; a name that says another
    format than --format is refused, since the file would lie about what it holds."""
    named = next((fmt for suffix, fmt in _SUFFIXES.items() if out.name.endswith(suffix)), None)
    if chosen is not None and named is not None and named != chosen:
        raise InputError(
            f"{out.name} names a {named} archive, but --format is {chosen}",
            f"Name the file for its format (for example {out.stem.split('.')[0]}."
            f"{chosen}), or leave --format out",
        )
    found = chosen or named
    if found is None:
        raise InputError(
            f"cannot tell the archive format from {out.name}",
            f"End the file name with .{', .'.join(FORMATS)}, or give --format",
        )
    return found


def unpack_command(
    fmt: str, archive: Path, *, folder: str, dest_prefix: str | None, has_python: bool
) -> str:
    """The shell line that makes the archive a runnable environment again.

    Without --dest-prefix, a tarball or zip is unpacked into `folder` and conda-pack's
    conda-unpack rewrites the old prefix in its files (run by the env's own Python: its shebang
    asks for whatever `python` is on PATH). With --dest-prefix the files already hold that
    prefix; a squashfs image is mounted there read-only.
    """
    if fmt == "squashfs":
        return f"mount -t squashfs -o loop,ro {quoted(archive)} {quoted(dest_prefix or folder)}"
    where = dest_prefix or folder
    line = f"mkdir -p {quoted(where)} && " + _EXTRACT[fmt].format(
        archive=quoted(archive), folder=quoted(where)
    )
    if dest_prefix is None:
        python = quoted(f"{folder}/bin/python") if has_python else "python3"
        line += f" && {python} {quoted(f'{folder}/bin/conda-unpack')}"
    return line
