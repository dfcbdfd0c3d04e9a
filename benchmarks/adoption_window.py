"""Benchmark adoption's switch: how long envs/NAME is missing when two renames must do it.

usage: python benchmarks/adoption_window.py [--runs N] [--workdir DIR]
A plain env folder (a bin/python file) and a release beside it, as adoption leaves them just
before the switch; each run puts the symlink in the folder's place and back, while a reader
thread opens ENV/bin/python in a loop. Measured in the same run, on the file system of
--workdir (default: the system temp dir):
- one step, renameat2(RENAME_EXCHANGE): switch time, and the reader's failed opens (target 0);
- two renames (the fallback where the file system cannot exchange, e.g. NFS): the window
  between them (median and max), and the reader's failed opens in it.
Exit status 0 when the one-step switch missed no read, 1 when it did, 2 when it cannot run.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from conda_shared import fs


def prepare(work: Path) -> tuple[Path, Path, Path]:
    env = work / "envs" / "ds"
    (env / "bin").mkdir(parents=True)
    (env / "bin" / "python").write_text("plain")
    release = work / "envs" / ".releases" / "ds" / "2026.12.07" / "bin"
    release.mkdir(parents=True)
    (release / "python").write_text("release")
    return env, work / "envs" / ".ds.link", work / "envs" / ".releases" / "ds" / ".adopted"


def measure(work: Path, runs: int, *, one_step: bool) -> tuple[list[float], int, int]:
    """Durations of the switches (one step) or of the gaps between the renames (fallback),
    the reader's failed opens, and its total opens."""
    env, link, aside = prepare(work)
    failed = opened = 0
    done = threading.Event()

    def read() -> None:
        nonlocal failed, opened
        while not done.is_set():
            opened += 1
            try:
                with open(env / "bin" / "python", "rb"):
                    pass
            except OSError:
                failed += 1

    reader = threading.Thread(target=read)
    reader.start()
    durations = []
    link.symlink_to(".releases/ds/2026.12.07")
    try:
        for _ in range(runs):
            if one_step:
                start = time.perf_counter()
                fs.exchange_names(link, env)
                durations.append(time.perf_counter() - start)
                os.rename(link, aside)
            else:
                os.rename(env, aside)
                start = time.perf_counter()
                os.rename(link, env)
                durations.append(time.perf_counter() - start)
            # back to the plain folder in one step, so only the switch measured can miss
            fs.exchange_names(aside, env)
            os.rename(aside, link)
    finally:
        done.set()
        reader.join()
    return durations, failed, opened


def file_system(path: Path) -> str:
    found = subprocess.run(
        ["df", "--output=fstype", str(path)], capture_output=True, text=True, check=False
    )
    return found.stdout.split()[-1] if found.returncode == 0 else "unknown"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10000)
    parser.add_argument("--workdir", type=Path, default=None)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(dir=args.workdir) as temp:
        work = Path(temp)
        print(f"file system: {file_system(work)}, {args.runs} switches each, one reader thread")
        for one_step, label in ((True, "renameat2 exchange"), (False, "two renames (fallback)")):
            case = work / ("exchange" if one_step else "fallback")
            try:
                durations, failed, opened = measure(case, args.runs, one_step=one_step)
            except OSError as error:
                print(f"{label}: cannot run here: {error}", file=sys.stderr)
                return 2
            micro = sorted(d * 1e6 for d in durations)
            what = "switch" if one_step else "window (env missing)"
            print(
                f"{label:24} {what}: median {statistics.median(micro):.1f} us, "
                f"p99 {micro[int(len(micro) * 0.99) - 1]:.1f} us, max {micro[-1]:.1f} us; "
                f"failed opens {failed} of {opened}"
            )
            if one_step and failed:
                return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
