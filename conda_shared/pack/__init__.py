"""One environment, or one release of it, as an archive: checked, written whole, audited."""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

from .. import audit, fs
from ..errors import InputError, SharedError
from ..installation import Installation, read_installation, validate_env_name
from ..layout import open_root
from ..prefix import read_env
from ..prefix.overwritten import find_overwritten
from ..release.layout import release_ids, release_prefix, split_release
from ..specs import content_key
from ..text import command_words, control_character, unknown_name
from .build import conda_pack_module, write_archive
from .formats import FORMATS, archive_format, unpack_command

__all__ = ["FORMATS", "PackResult", "pack_env"]


@dataclass(frozen=True)
class PackResult:
    """What `pack` wrote and how to get the environment back out of it."""

    env: str  # NAME or NAME@RELEASE, as asked
    installation: Path
    prefix: Path  # the real path packed
    archive: Path
    format: str
    size: int
    sha256: str  # of the archive
    content_key: str  # of the environment (export's key: the exact package set)
    dest_prefix: str | None
    unpack: str  # the shell line that unpacks it
    overwritten_packed_as_is: tuple[str, ...]  # conda packages pip overwrote (--ignore-overwritten)
    editable_left_out: tuple[str, ...]  # editable installs packed without their source
    notes: tuple[str, ...]


def pack_env(
    *,
    root: Path,
    installation: str | None,
    env: str,
    out: Path,
    format: str | None = None,
    dest_prefix: str | None = None,
    ignore_editable: bool = False,
    ignore_overwritten: bool = False,
    progress: Callable[[str], None] = lambda line: None,
) -> PackResult:
    """Pack NAME (its current target) or NAME@RELEASE of an installation of the root into `out`.

    conda-pack is always given the env's real path: through the envs/NAME link it would leave
    the release's path in the files unrewritten, and given a name it would run `conda info`.
    Nothing is written into the environment; the archive appears whole or not at all.
    """
    fmt = archive_format(out, format)
    _check_dest_prefix(fmt, dest_prefix)
    conda_pack_module(fmt)  # missing tools are named before any work is done
    shared = open_root(root)
    inst = read_installation(shared.installation(installation))
    name, release = split_release(env)
    prefix = _real_prefix(inst, name, release)
    out = Path(os.path.abspath(out))
    _check_out(out, prefix)

    def again(*extra: str) -> tuple[str, ...]:
        """This same command with `extra` options: the next step a refusal suggests."""
        options = {"--format": format, "--dest-prefix": dest_prefix, "--from": installation}
        flags = {"--ignore-editable": ignore_editable, "--ignore-overwritten": ignore_overwritten}
        return (
            "pack",
            env,
            "--out",
            str(out),
            *(word for option, value in options.items() if value for word in (option, value)),
            *(flag for flag, on in flags.items() if on),
            *extra,
        )

    progress(f"reading {prefix}")
    state = read_env(prefix, name=name, config=inst.config)
    editable = tuple(
        f"{d.name} ({d.source.url})" for d in state.pip_dists if d.source.kind == "editable"
    )
    if editable and not ignore_editable:
        raise SharedError(
            f"{env} has editable installs, which conda-pack cannot pack (their code stays in "
            f"its source folder): {', '.join(editable)}",
            "Pack it without their code (the archive keeps only their metadata)",
            command=again("--ignore-editable"),
        )
    progress(f"checking {prefix} for files pip overwrote")
    overwritten = find_overwritten(prefix, hashes=True)
    if overwritten.files and not ignore_overwritten:
        raise SharedError(
            f"pip overwrote or removed files of conda packages in {env}: "
            f"{overwritten.summary()}; the archive would not be what runs",
            "Repair the env (see `doctor`), or pack the files as they are now",
            command=again("--ignore-overwritten"),
        )
    built = write_archive(
        prefix=prefix,
        out=out,
        fmt=fmt,
        dest_prefix=dest_prefix,
        take_as_is=overwritten if overwritten.files else None,
        progress=progress,
    )
    result = PackResult(
        env=env,
        installation=inst.path,
        prefix=prefix,
        archive=out,
        format=fmt,
        size=built.size,
        sha256=built.sha256,
        content_key=content_key(state),
        dest_prefix=dest_prefix,
        unpack=unpack_command(
            fmt,
            out,
            folder=env.replace("@", "-"),
            dest_prefix=dest_prefix,
            has_python=state.python_version is not None,
        ),
        overwritten_packed_as_is=overwritten.packages,
        editable_left_out=editable,
        notes=built.notes,
    )
    note = audit.try_record(
        shared.log_path,
        action="pack",
        command=command_words(["pack", env, "--out", out, "--format", fmt]),
        result=f"{out} {built.size} bytes, {result.content_key}; unpack: {result.unpack}",
        source=str(prefix),
        target=str(out),
    )
    return result if note is None else _with_note(result, note)


def _with_note(result: PackResult, note: str) -> PackResult:
    return replace(result, notes=(*result.notes, note))


def _check_dest_prefix(fmt: str, dest_prefix: str | None) -> None:
    if fmt == "squashfs" and dest_prefix is None:
        raise InputError(
            "a squashfs image is mounted read-only, so conda-unpack cannot fix its prefix there",
            "Give --dest-prefix with the folder it will be mounted at (e.g. /opt/envs/NAME)",
        )
    if dest_prefix is None:
        return
    if not os.path.isabs(dest_prefix) or control_character(dest_prefix) is not None:
        raise InputError(
            f"--dest-prefix {dest_prefix!r} is not an absolute path",
            "Give the absolute folder the environment will live at, e.g. /opt/envs/NAME",
        )


def _real_prefix(inst: Installation, name: str, release: str | None) -> Path:
    """The env's real path: the release asked for, or what envs/NAME leads to now."""
    validate_env_name(name)
    if release is not None:
        published = release_ids(inst.path, name)
        if release not in published:
            raise InputError(
                f"{name} has no release {release} in {inst.path} "
                + unknown_name("releases", release, published),
                "Give one of those release IDs, or the name alone for its current release",
            )
        return Path(os.path.realpath(release_prefix(inst.path, name, release)))
    found = inst.find_env(name)
    if found is None:
        raise InputError(
            f"no environment named {name!r} in {inst.path} "
            + unknown_name("environments", name, [e.name for e in inst.envs]),
            "Give one of those names",
            command=("inventory",),
        )
    return Path(os.path.realpath(found.prefix))


def _check_out(out: Path, prefix: Path) -> None:
    if os.path.lexists(out):
        raise InputError(
            f"{out} exists; pack never replaces a file",
            "Choose another --out, or move that file away first",
        )
    if fs.is_within(prefix, out.parent):
        raise InputError(
            f"{out} is inside the environment it packs ({prefix})",
            "Write the archive outside the environment",
        )
    fs.make_dirs(out.parent)
