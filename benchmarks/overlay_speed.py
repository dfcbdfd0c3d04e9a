"""Benchmark what an overlay costs: `overlay run` against the env's Python alone, and `list`.

usage: python benchmarks/overlay_speed.py [--runs N] [--dists D]
Run it with a Python where conda-shared is importable (conda too, for the `conda run`
reference), e.g. PYTHONPATH=$PWD /opt/condas/venv-26.7.1/bin/python benchmarks/overlay_speed.py

It builds, in a temporary directory, an environment (a venv of this machine's CPython, with
pip and conda-meta/) and a user overlay of D distributions (default 50) installed by
`conda-shared overlay install` from local wheels, then measures, interleaved, in fresh
processes:
- `conda-shared overlay run ENV -- python -c pass` against `ENV/bin/python -c pass` (with the
  shared root found from the running installation, and configured), and the plain conda way,
  `conda run -p ENV python -c pass`, for reference;
- the env's Python started with the overlay applied (as in a shell after `eval "$(conda
  shared overlay activate ENV)"`) against it started plainly: what the guard shim costs;
- `conda-shared overlay list ENV` against pip's own `pip list --path OVERLAY-SITE`.

Targets (issue 11): `overlay run` adds at most 50 ms to the env's Python (difference of the
medians); `list` of a D=50 overlay takes under 200 ms (median). Exit status 0 when every
target passes, 1 when one fails, 2 when it cannot run.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

from harness import (
    BenchmarkError,
    Case,
    Command,
    Verdict,
    case_table,
    load_note,
    print_verdicts,
    progress_line,
    run_cases,
)

HERE = Path(__file__).resolve().parent
MAX_RUN_OVERHEAD_MS = 50.0
MAX_LIST_MS = 200.0


def build(work: Path, dists: int) -> tuple[Path, Path]:
    """An env with pip and conda-meta/, and D distributions in its user overlay."""
    sys.path.insert(0, str(HERE.parent))
    from tests.support.channel import base_interpreter, build_wheel

    env = work / "env"
    subprocess.run([str(base_interpreter()), "-m", "venv", str(env)], check=True)
    (env / "conda-meta").mkdir()
    (env / "conda-meta" / "history").write_text("")  # `conda run` wants it
    wheels = work / "wheels"
    names = [f"bench-dist-{index:03d}" for index in range(dists)]
    for name in names:
        build_wheel(wheels, name, "1.0")
    overlays = work / "overlays"
    subprocess.run(
        [
            *(sys.executable, "-m", "conda_shared", "overlay", "install", str(env), *names),
            *("--", "--no-index", "--find-links", str(wheels)),
        ],
        check=True,
        capture_output=True,
        env={**os.environ, "CONDA_PLUGINS_SHARED_OVERLAYS_DIR": str(overlays)},
    )
    return env, overlays


def cases(env: Path, overlays: Path) -> list[Case]:
    python = str(env / "bin" / "python")
    ours = {"CONDA_PLUGINS_SHARED_OVERLAYS_DIR": str(overlays)}
    shared = (sys.executable, "-m", "conda_shared", "overlay")
    overlay = overlays / "env"
    site = next(overlay.glob("lib/python*/site-packages"))
    from conda_shared.overlay.activate import activation
    from conda_shared.overlay.locate import read_overlay, resolve_env

    applied = activation(
        resolve_env(str(env), root=None, installation=None), [read_overlay(overlay, scope="user")]
    ).applied_to({})
    # a shared root as sites configure it (plugins.shared_root or CONDA_SHARED_ROOT)
    root = overlays.parent / "root"
    (root / "conda-meta").mkdir(parents=True, exist_ok=True)
    run = (*shared, "run", str(env), "--", "python", "-c", "pass")
    found = [
        Case(
            "overlay run ENV -- python -c pass",
            baseline=Command((python, "-c", "pass")),
            candidate=Command(run, ours),
        ),
        Case(
            "  the same, shared root configured",
            baseline=Command((python, "-c", "pass")),
            candidate=Command(run, {**ours, "CONDA_SHARED_ROOT": str(root)}),
        ),
        Case(
            "activated python -c pass (shim)",
            baseline=Command((python, "-c", "pass")),
            candidate=Command((python, "-c", "pass"), applied),
        ),
        Case(
            f"overlay list ENV ({len(list(site.glob('*.dist-info')))} dists)",
            baseline=Command((python, "-m", "pip", "list", "--path", str(site))),
            candidate=Command((*shared, "list", str(env)), ours),
        ),
    ]
    try:
        import conda  # noqa: F401
    except ImportError:
        return found
    reference = Case(
        "conda run -p ENV python -c pass",
        baseline=Command((python, "-c", "pass")),
        candidate=Command((sys.executable, "-m", "conda", "run", "-p", str(env), "python",
                           "-c", "pass")),
    )  # fmt: skip
    return [*found, reference]


def main(argv: Sequence[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=21, help="fresh processes per side (21)")
    parser.add_argument("--dists", type=int, default=50, help="distributions in the overlay")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="overlay-bench-") as work:
        try:
            env, overlays = build(Path(work), args.dists)
            results = run_cases(cases(env, overlays), runs=args.runs)
        except (BenchmarkError, subprocess.CalledProcessError) as error:
            progress_line("")
            print(f"benchmark failed: {error}")
            return 2
    print(f"\nmedian of {args.runs} fresh processes per side; {load_note()}")
    print(case_table(results))
    run, configured, _, listing = results[:4]
    list_ms = listing.candidate.wall_s.median * 1000
    verdicts = [
        Verdict(
            added <= MAX_RUN_OVERHEAD_MS,
            f"`overlay run` adds {added:.1f} ms to the env's Python{how} "
            f"(target <= {MAX_RUN_OVERHEAD_MS:.0f} ms)",
        )
        for result, how in ((run, ""), (configured, ", shared root configured"))
        for added in [(result.candidate.wall_s.median - result.baseline.wall_s.median) * 1000]
    ]
    verdicts.append(
        Verdict(
            list_ms < MAX_LIST_MS,
            f"`overlay list` of {args.dists} distributions takes {list_ms:.1f} ms "
            f"(target < {MAX_LIST_MS:.0f} ms)",
        )
    )
    print()
    return 0 if print_verdicts(verdicts) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
