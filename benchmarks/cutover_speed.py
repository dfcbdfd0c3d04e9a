"""Benchmark cutover on a root of 200 environments and 50 kernels: the switch and the preflight.

usage: python benchmarks/cutover_speed.py [--envs N] [--kernels K] [--runs R] [--conda-sample S]
                                          [--workdir DIR]
Run it with the Python of a conda installation (conda importable), e.g.
/opt/condas/venv-26.7.1/bin/python benchmarks/cutover_speed.py   (about a minute)

The source installation is benchmarks/generate.py's (N envs, cached under --workdir); the
target installation beside it holds the same env names, a conda-shared record, and a bin/conda
that runs this Python's real conda and counts its runs. K kernelspecs go through
ROOT/current/envs/NAME, and a replicate report covers every env. Measured in the same run:
- the switch: conda-shared's pointer swap (temp symlink + rename, in-process) against the plain
  way, `ln -sfn TARGET current` (which is not even atomic: it unlinks, then links);
- the preflight: `python -m conda_shared cutover --dry-run` as its own process (wall time and
  peak RSS) against the plain conda way of checking a target's envs, `conda list -p ENV --json`
  for each env (S of them measured, scaled to N).
Target: the preflight runs the target's conda exactly once, however many envs there are.
Exit status 0 when it does, 1 when not, 2 when the benchmark cannot run.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

HERE = Path(__file__).resolve().parent
SOURCE_TREE = HERE.parent


def build_root(source_installation: Path, envs: Sequence[str], kernels: int, work: Path) -> Path:
    """ROOT/v1 (the generated installation) is current, ROOT/v2 is qa, ready for cutover."""
    root = work / "root"
    root.mkdir()
    os.symlink(source_installation, root / "v1")
    target = root / "v2"
    meta = target / "conda-meta"
    meta.mkdir(parents=True)
    for name, version in (("conda", "26.7.1"), ("python", "3.11.7"), ("conda-shared", "0.1.0")):
        (meta / f"{name}-{version}-0.json").write_text(
            json.dumps({"name": name, "version": version, "build": "0", "files": []})
        )
    (target / "bin").mkdir()
    os.symlink(sys.executable, target / "bin" / "python")
    counter = work / "conda-runs"
    conda = target / "bin" / "conda"
    conda.write_text(f'#!/bin/sh\necho run >> "{counter}"\nexec "{sys.executable}" -m conda "$@"\n')
    conda.chmod(0o755)
    for name in envs:
        (target / "envs" / name / "conda-meta").mkdir(parents=True)
        (target / "envs" / name / "bin").mkdir()
        os.symlink(sys.executable, target / "envs" / name / "bin" / "python")
    os.symlink("v1", root / "current")
    os.symlink("v2", root / "qa")
    os.symlink("current/envs", root / "envs")
    for name in envs[:kernels]:
        spec = root / "kernels" / name / "kernel.json"
        spec.parent.mkdir(parents=True)
        python = root / "current" / "envs" / name / "bin" / "python"
        spec.write_text(json.dumps({"argv": [str(python), "-m", "ipykernel_launcher"]}))
    inventory = root / "specs" / source_installation.name / "inventory.ini"
    inventory.parent.mkdir(parents=True)
    inventory.write_text("".join(f"{name} = REPLICATE\n" for name in envs))
    report = root / "reports" / "20261201T090000Z" / "report.json"
    report.parent.mkdir(parents=True)
    report.write_text(
        json.dumps(
            {
                "from": str(source_installation),
                "to": str(target),
                "started": "2026-12-01T09:00:00Z",
                "finished": "2026-12-01T10:00:00Z",
                "envs": [
                    {"name": name, "status": "replicated", "smoke": {"ok": True, "checks": []}}
                    for name in envs
                ],
            }
        )
    )
    return root


def main(argv: Sequence[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--envs", type=int, default=200, help="environments (200)")
    parser.add_argument("--kernels", type=int, default=50, help="kernelspecs (50)")
    parser.add_argument("--runs", type=int, default=5, help="preflight runs (5)")
    parser.add_argument("--conda-sample", type=int, default=5, help="envs conda lists (5)")
    parser.add_argument("--switches", type=int, default=2000, help="pointer swaps timed (2000)")
    parser.add_argument(
        "--workdir", type=Path, default=Path(tempfile.gettempdir()) / "conda-shared-bench"
    )
    args = parser.parse_args(argv)
    sys.path[:0] = [str(HERE), str(SOURCE_TREE)]
    try:
        import conda  # noqa: F401
    except ImportError:
        print(f"conda is not importable by {sys.executable}", file=sys.stderr)
        return 2
    from generate import generate
    from harness import Command, ProcessStats, load_note, mib, run_process, time_callable

    from conda_shared.cutover.switch import apply

    generated, _ = generate(workdir=args.workdir, envs=args.envs, packages=40)
    work = Path(tempfile.mkdtemp(prefix="cutover-bench-"))
    try:
        root = build_root(generated.installation, generated.envs, args.kernels, work)
        v1, v2 = root / "v1", root / "v2"
        print(f"root: {len(generated.envs)} envs, {args.kernels} kernels; {load_note()}")

        forward = (("previous", v1), ("current", v2))
        back = (("current", v1), ("previous", v2))
        flip = iter(range(10**9))
        ours = time_callable(
            lambda: apply(root, back if next(flip) % 2 else forward, lambda _: None),
            runs=args.switches,
        )
        plain = time_callable(
            lambda: subprocess.run(["ln", "-sfn", "v2", str(root / "current")], check=True),
            runs=max(20, args.switches // 50),
        )
        print(
            f"switch: conda-shared {ours.median * 1e6:.0f} us per switch of 2 pointers, atomic "
            f"(95% CI {ours.median_low * 1e6:.0f}-{ours.median_high * 1e6:.0f}); "
            f"`ln -sfn` {plain.median * 1e6:.0f} us for 1 pointer, not atomic: "
            f"{plain.median / ours.median:.1f}x"
        )

        env = {"PYTHONPATH": str(SOURCE_TREE)}
        preflight = Command(
            (sys.executable, "-m", "conda_shared", "cutover", "--root", str(root), "--dry-run"),
            env,
        )
        counter = work / "conda-runs"
        samples = []
        for _ in range(args.runs):
            counter.unlink(missing_ok=True)
            samples.append(run_process(preflight))
        runs_per_preflight = len(counter.read_text().splitlines())
        ours_stats = ProcessStats.of(samples)
        listed = [
            run_process(
                Command(
                    (sys.executable, "-m", "conda", "list", "-p", str(v1 / "envs" / n), "--json")
                )
            )
            for n in generated.envs[: args.conda_sample]
        ]
        conda_stats = ProcessStats.of(listed)
        per_env = conda_stats.wall_s.median
        whole = per_env * len(generated.envs)
        print(
            f"preflight: {ours_stats.wall_s.median:.2f} s (one process, peak RSS "
            f"{mib(ours_stats.peak_rss_kib.median)} MiB), the target's conda ran "
            f"{runs_per_preflight} time(s)"
        )
        print(
            f"plain conda, `conda list -p ENV --json` per env: {per_env:.2f} s each, "
            f"{whole:.0f} s for {len(generated.envs)} envs (peak RSS "
            f"{mib(conda_stats.peak_rss_kib.median)} MiB): "
            f"{whole / ours_stats.wall_s.median:.0f}x the preflight"
        )
        passed = runs_per_preflight == 1
        print(f"{'PASS' if passed else 'FAIL'}  the preflight runs conda once, not once per env")
        return 0 if passed else 1
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
