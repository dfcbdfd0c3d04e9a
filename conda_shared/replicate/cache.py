"""Fill the target's package cache once, before parallel builds link from it."""

from __future__ import annotations

import contextlib
import dataclasses
import os
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import unquote

from .. import fs
from ..condarc import installation_condarc_files, read_config, user_home
from .conda import conda_command, failed_urls, run_conda
from .plan import EnvPlan
from .runfolder import RunPlan

#: How often the fill looks at the package cache to say how far it got.
_POLL_S = 1.0


def fill_cache(
    run: RunPlan, envs: Sequence[EnvPlan], *, progress: Callable[[str], None] | None = None
) -> RunPlan:
    """Download every lock's packages once, in one conda call, before parallel builds.

    A URL the channel no longer has is dropped and the rest fetched again; the envs whose
    whole lock made it into the cache are recorded as `filled` (their builds need no turn).
    While conda downloads, `progress` hears how many of the packages are in the cache.
    """
    locks = {env.name: _lock_lines(env) for env in envs}
    wanted = list(dict.fromkeys(line for lines in locks.values() for line in lines))
    log = run.run_dir / "logs" / "cache-fill.log"
    scratch = run.run_dir / "cache-fill-prefix"
    lock_file = run.run_dir / "inputs" / "cache-fill.lock"
    folders = _cache_dirs(run.target)
    say = progress or (lambda _message: None)
    try:
        for _ in range(3):
            if not wanted:
                return run
            fs.atomic_write(lock_file, "@EXPLICIT\n" + "\n".join(wanted) + "\n")
            argv = [*conda_command(run.target), "create", "--download-only", "--json", "--yes"]
            with _counting([_file_name(line) for line in wanted], folders, say):
                outcome = run_conda(
                    [*argv, "--prefix", str(scratch), "--file", str(lock_file)],
                    log=log,
                    overrides=run.platform.overrides,
                )
            kept = without_gone(wanted, outcome.document or {})
            if outcome.ok or len(kept) == len(wanted):
                # conda 25.7+ ignores --download-only for a lock file: it links what it
                # fetched, and refuses two versions of one package (two envs' locks) once
                # they are fetched. What the cache holds, whole, is what counts.
                fetched = set(wanted) if outcome.ok else cached(wanted, folders)
                filled = tuple(n for n, lines in locks.items() if fetched.issuperset(lines))
                return dataclasses.replace(run, filled=filled)
            wanted = kept
        return run
    finally:
        fs.remove_tree(scratch)


def without_gone(lines: Sequence[str], document: Mapping[str, Any]) -> list[str]:
    """The lock lines but those whose file conda's error `document` says the channel lacks."""
    gone = {_file_path(u) for u in failed_urls(document)}
    return [line for line in lines if _file_path(line.split("#")[0]) not in gone]


def cached(lines: Sequence[str], folders: Sequence[Path]) -> set[str]:
    """The lock lines whose package one of the cache `folders` holds extracted, whole: conda
    writes `info/repodata_record.json` last. An archive alone may be one a failed fill left
    half-extracted, which two builds at once would then both redo."""
    return {
        line
        for line in lines
        if any(
            (folder / _extracted_name(line) / "info" / "repodata_record.json").is_file()
            for folder in folders
        )
    }


@contextlib.contextmanager
def _counting(
    files: Sequence[str], folders: Sequence[Path], say: Callable[[str], None]
) -> Iterator[None]:
    """While the block runs, say how many of `files` the `folders` hold, each time it changes."""
    stop = threading.Event()

    def watch() -> None:
        said = -1
        while True:
            present = set()
            for folder in folders:
                with contextlib.suppress(OSError):
                    present.update(os.listdir(folder))
            count = sum(1 for name in files if name in present)
            if count != said:
                said = count
                say(f"package cache: {count} of {len(files)} packages")
            if stop.is_set():
                return
            stop.wait(_POLL_S)

    watcher = threading.Thread(target=watch, name="cache-fill-progress", daemon=True)
    watcher.start()
    try:
        yield
    finally:
        stop.set()
        watcher.join()


def _cache_dirs(target: Path) -> list[Path]:
    """Where the target's conda may put downloads: its condarc's pkgs_dirs, its own, the user's."""
    configured = read_config(installation_condarc_files(target)).pkgs_dirs
    found = [Path(os.path.expanduser(os.path.expandvars(folder))) for folder in configured]
    home = user_home()
    users = [home / ".conda" / "pkgs"] if home else []
    return list(dict.fromkeys([*found, target / "pkgs", *users]))


def _lock_lines(env: EnvPlan) -> list[str]:
    lock = next((r for r in env.rungs if r.strategy == "lock"), None)
    text = (lock.steps[0].input_text or "") if lock else ""
    return [line for line in text.splitlines() if line and not line.startswith(("#", "@"))]


def _file_name(line: str) -> str:
    """The package file a lock line downloads (its URL without the hash)."""
    return line.split("#", maxsplit=1)[0].rsplit("/", 1)[-1]


def _extracted_name(line: str) -> str:
    name = _file_name(line)
    return name.removesuffix(".conda").removesuffix(".tar.bz2")


def _file_path(url: str) -> str:
    """A file URL's path as conda names it in errors (`%20` a space); any other URL as it is."""
    return unquote(url[len("file://") :]) if url.startswith("file://") else url
