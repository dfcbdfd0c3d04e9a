"""Build many envs on this machine: at most N at once, each in a process of its own.

Where this process has a single thread (conda-shared and conda both do), an env's process is
a fork of it: the task's code is imported once, here, so an env costs conda-shared only its
own work rather than an interpreter's start and imports (most of its CPU on a small env). With
more threads a fork could inherit a lock held forever, so each env is `replicate --task RUN
INDEX` instead, as on Slurm. Either way a process that dies takes only its own env with it.
"""

from __future__ import annotations

import contextlib
import gc
import os
import select
import signal
import subprocess
import sys
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import NoReturn

from ... import fs
from ...children import own_python
from ...errors import SharedError
from ...interrupts import EXIT_CODE as INTERRUPTED
from ...interrupts import sigterm_as_interrupt


def task_command(run_dir: Path, index: int | str) -> list[str]:
    """The command that builds one env in a new interpreter (this Python, this conda_shared)."""
    return own_python("-m", "conda_shared", "replicate", "--task", str(run_dir), str(index))


@dataclass
class _Task:
    """One env's process: its pid, the pipe that ends when it does, where its stderr goes."""

    index: int
    pid: int
    ended: int  # read end of a pipe only the task holds open: end of file once it exits
    errors: Path
    spawned: subprocess.Popen[bytes] | None  # None when forked


def run_tasks(
    run_dir: Path,
    indexes: Sequence[int],
    *,
    jobs: int,
    on_start: Callable[[int], None],
    on_done: Callable[[int, int, str], None],
) -> None:
    """Build the envs, at most `jobs` at once; `on_done(index, exit status, what the task wrote
    to stderr)` after each.

    On Ctrl-C (or SIGTERM turned into KeyboardInterrupt) nothing new starts, running tasks get
    SIGTERM so they remove what they half-built, and the interrupt is raised once they are gone.
    """
    pending = list(indexes)
    running: dict[int, _Task] = {}
    forking = threading.active_count() == 1
    if forking:
        _load_task_code()
    # Tasks start from an empty folder of ours (see conda_shared.children). They are stopped by
    # SIGTERM, which a task always obeys; SIGINT it may have inherited ignored (a replicate
    # started as `... &` by a script), and then only a kill of the whole group would stop it.
    with fs.private_temp_dir() as folder:
        try:
            while pending or running:
                while pending and len(running) < max(1, jobs):
                    task = _start(run_dir, pending.pop(0), folder, fork=forking)
                    running[task.ended] = task
                    on_start(task.index)
                for descriptor in _ended(running):
                    task = running.pop(descriptor)
                    status = _wait(task)
                    on_done(task.index, status, _errors(task))
        except KeyboardInterrupt:
            for task in running.values():
                with contextlib.suppress(ProcessLookupError):
                    os.kill(task.pid, signal.SIGTERM)
            raise
        finally:
            for task in running.values():
                _wait(task)
                _errors(task)
            gc.unfreeze()


def _start(run_dir: Path, index: int, folder: Path, *, fork: bool) -> _Task:
    errors = run_dir / "logs" / f".task-{index}-{os.urandom(4).hex()}.stderr"
    ended, holder = os.pipe()  # neither end survives an exec: only the task holds `holder`
    try:
        with fs.append_stream(errors, binary=True) as stream:
            if not fork:
                spawned = subprocess.Popen(
                    task_command(run_dir, index),
                    cwd=folder,
                    stdin=subprocess.DEVNULL,
                    stdout=subprocess.DEVNULL,
                    stderr=stream,
                    pass_fds=(holder,),
                )
                return _Task(index, spawned.pid, ended, errors, spawned)
            for output in (sys.stdout, sys.stderr):  # else the child would write it again
                output.flush()
            # Objects the child's garbage collector never walks are pages it never copies.
            gc.freeze()
            pid = os.fork()
            if pid == 0:
                _forked_task(run_dir, index, folder, stream.fileno())
            return _Task(index, pid, ended, errors, None)
    except BaseException:
        os.close(ended)
        raise
    finally:
        os.close(holder)


def _load_task_code() -> None:
    """Import here, once, what building an env imports, so that no fork imports it again."""
    import packaging.requirements  # noqa: F401  (the smoke test's judge of requirements)

    from ..task import run_task  # noqa: F401


def _forked_task(run_dir: Path, index: int, folder: Path, errors: int) -> NoReturn:
    """The child's side of a fork: what `replicate --task` would do, then exit at once (the
    parent's cleanups, atexit handlers and buffers are not the child's to run)."""
    status = 1
    try:
        quiet = os.open(os.devnull, os.O_RDWR)
        for target, source in ((0, quiet), (1, quiet), (2, errors)):
            os.dup2(source, target)
        status = run_one(run_dir, index, folder)
    finally:
        with contextlib.suppress(BaseException):
            sys.stderr.flush()
        os._exit(status)


def run_one(run_dir: Path, index: int, folder: Path) -> int:
    """Build env number `index` in this forked process, set up as a new task process would be
    in `folder`; the status to exit with (an error is one line on stderr, for the run to record
    as the env's)."""
    from ..task import run_task

    try:
        _start_as_a_task(folder)
        with sigterm_as_interrupt():
            run_task(run_dir, index, report=False)
        return 0
    except KeyboardInterrupt:
        return INTERRUPTED
    except (SharedError, OSError) as error:
        print(error.message if isinstance(error, SharedError) else error, file=sys.stderr)
        return 1
    except BaseException:
        import traceback  # a bug's traceback, for the run to show as the env's error

        traceback.print_exc()
        return 1


def _start_as_a_task(folder: Path) -> None:
    """In `folder`, with the caller's folder off sys.path (as `python -P` keeps it), and Ctrl-C
    raising KeyboardInterrupt unless it was ignored: as `task_command` would start."""
    try:
        caller_folder = os.getcwd()
    except OSError:  # removed meanwhile: nothing can be imported from it
        caller_folder = ""
    os.chdir(folder)
    if not getattr(sys.flags, "safe_path", False) and sys.path[:1] in ([""], [caller_folder]):
        del sys.path[0]
    if signal.getsignal(signal.SIGINT) is not signal.SIG_IGN:
        signal.signal(signal.SIGINT, signal.default_int_handler)


def _ended(running: Mapping[int, _Task]) -> list[int]:
    """Block until tasks end; the pipes of those that did."""
    poller = select.poll()
    for descriptor in running:
        poller.register(descriptor, select.POLLIN)
    return [descriptor for descriptor, _event in poller.poll()]


def _wait(task: _Task) -> int:
    """Reap the task (even if a second Ctrl-C arrives meanwhile); its exit status, negative
    for the signal that killed it."""
    while True:
        try:
            if task.spawned is not None:
                status = task.spawned.wait()
            else:
                status = os.waitstatus_to_exitcode(os.waitpid(task.pid, 0)[1])
            break
        except KeyboardInterrupt:
            continue
        except ChildProcessError:  # reaped already
            status = 1
            break
    with contextlib.suppress(OSError):
        os.close(task.ended)
    return status


def _errors(task: _Task) -> str:
    """What the task wrote to stderr; its file is removed."""
    try:
        with open(task.errors, "rb") as stream:
            return stream.read().decode("utf-8", errors="replace")
    except OSError:
        return ""
    finally:
        fs.remove_file(task.errors)
