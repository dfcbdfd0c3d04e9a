"""Start child processes from an empty folder only we can write, never the caller's directory.

A child Python puts its working directory first on sys.path (`-m` and `-c` both do), so a
`conda_shared/`, `conda/` or `pip/` folder in whatever directory the admin happened to `cd` to
would run instead of the real one, as root. Every child conda-shared starts (except the user's
own command under `overlay run`) goes through `run` or `run_all` here (another installation's
Python as `python_argv`, ours as `own_python`), or starts from `fs.private_temp_dir()` the same
way when it must outlive one call (replicate's forked tasks move into one, and drop the
caller's folder from sys.path as `-P` does).
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from . import fs

#: The caller's conda activation and configuration and the caller's Python settings: removed
#: before another installation's conda (or Python) runs, so it reads its own config and imports
#: its own code. Prefixes: CONDA_PKGS_DIRS, CONDA_PREFIX, PYTHONPATH, PYTHONHOME ... all go.
CALLER_VARIABLES = ("CONDA_", "_CE_", "_CONDA_", "CONDARC", "PYTHON", "VIRTUAL_ENV")


def without_caller_variables(environ: Mapping[str, str]) -> dict[str, str]:
    """`environ` minus every variable CALLER_VARIABLES names."""
    return {key: value for key, value in environ.items() if not key.startswith(CALLER_VARIABLES)}


def own_python(*args: str) -> list[str]:
    """This interpreter (the one running conda-shared) with `args`, e.g. `-m conda_shared ...`.

    `-P` (Python 3.11+) keeps the working directory off sys.path even where we do not choose
    it (a Slurm job starts wherever Slurm puts it); PYTHONPATH still counts, as conda-shared
    itself may be found through it.
    """
    safe_path = ["-P"] if sys.version_info >= (3, 11) else []
    return [sys.executable, *safe_path, *args]


def run(argv: Sequence[str], **options: Any) -> subprocess.CompletedProcess[Any]:
    """`subprocess.run(argv, **options)` started in a new private empty folder; the caller
    reads the exit status (no `check`)."""
    with fs.private_temp_dir() as folder:
        return subprocess.run(list(argv), cwd=folder, check=False, **options)


def run_all(
    commands: Sequence[Sequence[str]], *, env: Mapping[str, str], timeout: float
) -> list[subprocess.CompletedProcess[str]]:
    """Each command started as `run` starts one, all at once, their output captured as text;
    the results in order. Past `timeout` seconds every one still running is killed and
    TimeoutExpired raised, as `run` does."""
    with fs.private_temp_dir() as folder:
        processes: list[subprocess.Popen[str]] = []
        try:
            for argv in commands:
                processes.append(
                    subprocess.Popen(
                        list(argv),
                        cwd=folder,
                        env=dict(env),
                        stdout=subprocess.PIPE,
                        stderr=subprocess.PIPE,
                        text=True,
                    )
                )
            deadline = time.monotonic() + timeout
            results = []
            for process in processes:
                left = max(0.0, deadline - time.monotonic())
                stdout, stderr = process.communicate(timeout=left)
                results.append(
                    subprocess.CompletedProcess(process.args, process.returncode, stdout, stderr)
                )
            return results
        finally:
            for process in processes:
                if process.poll() is None:
                    process.kill()
                    process.communicate()


def python_argv(python: Path | str, args: Sequence[str], *, keep_pythonpath: bool) -> list[str]:
    """Another installation's `python ARGS`, to start with `run`.

    Isolated (`-I`: no PYTHON* variables, no user site, nothing of the folder on sys.path)
    unless the child must see PYTHONPATH (the overlay shim is found through it); then only the
    empty folder `run` starts it in keeps the caller's directory off its sys.path.
    """
    # Idempotent, so a command planned with it (and shown by --dry-run) runs as shown.
    isolated = [] if keep_pythonpath or list(args[:1]) == ["-I"] else ["-I"]
    return [os.fspath(python), *isolated, *args]
