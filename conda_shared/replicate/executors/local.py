"""Run `replicate --task RUN INDEX` for many envs on this machine, at most N at a time."""

from __future__ import annotations

import signal
import subprocess
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from ... import fs
from ...children import own_python

_POLL_S = 0.05


def task_command(run_dir: Path, index: int) -> list[str]:
    """The command any executor runs for one env (this Python, this conda_shared)."""
    return own_python("-m", "conda_shared", "replicate", "--task", str(run_dir), str(index))


def run_tasks(
    run_dir: Path,
    indexes: Sequence[int],
    *,
    jobs: int,
    on_start: Callable[[int], None],
    on_done: Callable[[int, int, Path], None],
) -> None:
    """Run the tasks as subprocesses; `on_done(index, exit status, stderr file)` after each.

    On Ctrl-C (or SIGTERM turned into KeyboardInterrupt) nothing new starts, running tasks get
    SIGTERM so they remove what they half-built, and the interrupt is raised once they are gone.
    """
    pending = list(indexes)
    running: dict[int, tuple[subprocess.Popen[bytes], Path]] = {}
    # Tasks start from an empty folder of ours (see conda_shared.children). They are stopped by
    # SIGTERM, which a task always obeys; SIGINT it may have inherited ignored (a replicate
    # started as `... &` by a script), and then only a kill of the whole group would stop it.
    with fs.private_temp_dir() as folder:
        try:
            while pending or running:
                while pending and len(running) < max(1, jobs):
                    index = pending.pop(0)
                    errors = run_dir / "logs" / f".task-{index}.stderr"
                    with fs.append_stream(errors, binary=True) as stream:
                        process = subprocess.Popen(
                            task_command(run_dir, index),
                            cwd=folder,
                            stdout=subprocess.DEVNULL,
                            stderr=stream,
                        )
                    running[index] = (process, errors)
                    on_start(index)
                for index, (process, errors) in list(running.items()):
                    if process.poll() is not None:
                        del running[index]
                        on_done(index, process.returncode, errors)
                time.sleep(_POLL_S)
        except KeyboardInterrupt:
            for process, _ in running.values():
                if process.poll() is None:
                    process.send_signal(signal.SIGTERM)
            for process, _ in running.values():
                _wait_quietly(process)
            raise


def _wait_quietly(process: subprocess.Popen[bytes]) -> None:
    """Wait for a task to clean up, even if a second Ctrl-C arrives meanwhile."""
    while True:
        try:
            process.wait()
            return
        except KeyboardInterrupt:
            continue
