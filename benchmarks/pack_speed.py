"""Benchmark `conda shared pack` against plain `conda-pack -p` on the same environment.

usage: python benchmarks/pack_speed.py [--runs N] [--files F]
Run it with a Python where conda and conda-pack import, from the repository, e.g.
PYTHONPATH=$PWD .venvs/venv-26.7.1/bin/python benchmarks/pack_speed.py

It builds, in a temporary directory, a shared root whose installation holds one environment
real conda created offline from a local channel: python (venv-style), pip, and a package of F
files (default 3000, 8 KiB each, half of them compressible text), all in conda's package
cache as after a normal install. Then it measures, interleaved, in fresh processes:
- `conda-shared pack ENV --out X.tar.gz` against `conda-pack -p PREFIX -o X.tar.gz`;
- the same with `--format squashfs --dest-prefix P` on both sides (ours goes through
  conda-pack's tar and `mksquashfs -tar`; conda-pack hard-links a staging tree);
and prints the archive sizes. What pack adds: reading the env, the overwritten-files check
(sha256 of every conda file), the archive's sha256 and the audit line.

Target (issue 21, "ours must add little"): pack's wall time at most 1.3x conda-pack's for
tar.gz (median of pairs). Exit status 0 when it passes, 1 when it fails, 2 when it cannot run.
"""

from __future__ import annotations

import argparse
import os
import random
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

from harness import (
    BenchmarkError,
    Case,
    Command,
    case_table,
    case_verdicts,
    load_note,
    print_verdicts,
    run_cases,
)

HERE = Path(__file__).resolve().parent
MAX_RATIO = 1.3
#: both sides start with the archive gone: pack and conda-pack refuse to replace one
FRESH = 'rm -f "$0" && exec "$@"'


def build(work: Path, files: int) -> Path:
    """ROOT/current -> v1 with v1/envs/bench made by real conda; returns ROOT."""
    sys.path.insert(0, str(HERE.parent))
    from tests.support.channel import Channel
    from tests.support.conda_runner import CondaRunner

    rng = random.Random(21)
    channel = Channel(work / "channel")
    channel.add_basics()
    words = [f"word{index}" for index in range(500)]
    members = {}
    for index in range(files):
        if index % 2:
            data = rng.randbytes(8192)
        else:
            data = " ".join(rng.choice(words) for _ in range(1200)).encode()[:8192]
        members[f"share/bulk/{index // 100:02d}/file{index:05d}.dat"] = data
    channel.add("bulk", "1.0", files=members)
    channel.index()
    conda = CondaRunner.in_sandbox(work / "sandbox", [channel.url])
    root = work / "root"
    (root / "v1" / "conda-meta").mkdir(parents=True)
    (root / "v1" / "conda-meta" / "history").write_text("")
    (root / "current").symlink_to("v1")
    conda("create", "-p", root / "v1" / "envs" / "bench", "python", "pip", "tidy-util", "bulk")
    return root


def cases(root: Path, out: Path) -> list[Case]:
    prefix = root / "v1" / "envs" / "bench"
    conda_pack = str(Path(sys.executable).parent / "conda-pack")
    ours = (sys.executable, "-m", "conda_shared", "pack", "bench", "--root", str(root))
    dest = "/opt/envs/bench"

    def fresh(archive: Path, *argv: str) -> Command:
        return Command(("sh", "-c", FRESH, str(archive), *argv))

    return [
        Case(
            "pack bench --out X.tar.gz",
            baseline=fresh(out / "cp.tar.gz", conda_pack, "-q", "-p", str(prefix), "-o",
                           str(out / "cp.tar.gz")),
            candidate=fresh(out / "ours.tar.gz", *ours, "--out", str(out / "ours.tar.gz")),
            max_ratio=MAX_RATIO,
        ),
        Case(
            "pack bench --out X.squashfs --dest-prefix P",
            baseline=fresh(out / "cp.squashfs", conda_pack, "-q", "-p", str(prefix), "-o",
                           str(out / "cp.squashfs"), "--dest-prefix", dest),
            candidate=fresh(out / "ours.squashfs", *ours, "--out", str(out / "ours.squashfs"),
                            "--dest-prefix", dest),
        ),
    ]  # fmt: skip


def main(argv: Sequence[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7, help="fresh processes per side (7)")
    parser.add_argument("--files", type=int, default=3000, help="files in the bulk package")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="pack-bench-") as work:
        try:
            root = build(Path(work), args.files)
            out = Path(work) / "out"
            out.mkdir()
            results = run_cases(cases(root, out), runs=args.runs)
        except (BenchmarkError, subprocess.CalledProcessError) as error:
            print(f"benchmark failed: {error}")
            return 2
        sizes = {path.name: path.stat().st_size for path in sorted(out.iterdir())}
        env_bytes = sum(
            entry.stat().st_size
            for entry in (root / "v1" / "envs" / "bench").rglob("*")
            if entry.is_file() and not entry.is_symlink()
        )
    print(f"\nmedian of {args.runs} fresh processes per side; {load_note()}")
    print(f"environment: {env_bytes / 2**20:.1f} MiB in files (python, pip, {args.files} data)")
    print(case_table(results))
    print(
        "archives: " + ", ".join(f"{name} {size / 2**20:.2f} MiB" for name, size in sizes.items())
    )
    print()
    return 0 if print_verdicts(case_verdicts(results)) else 1


if __name__ == "__main__":
    os.environ.setdefault("PYTHONDONTWRITEBYTECODE", "1")
    sys.exit(main(sys.argv[1:]))
