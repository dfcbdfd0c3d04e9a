"""Benchmark `replicate --executor slurm --wait` against `--executor local`, same envs and jobs.

usage: python benchmarks/replicate_slurm.py [--envs N] [--jobs J] [--records R] [--runs K]
                                            [--workdir DIR]
Run it with a Python where conda imports, on a host where Slurm runs (`bash .ci/slurm start`
sets up the single-node cluster), e.g.
/opt/condas/venv-26.7.1/bin/python benchmarks/replicate_slurm.py

It builds the root of benchmarks/replicate_speed.py (the same channel, source envs and specs),
then per run two fresh target installations with cold package caches:
- local: `conda shared replicate --jobs J` of the N envs;
- slurm: `conda shared replicate --executor slurm --jobs J --wait` of the same envs.

Target (issue 12): Slurm adds under 10% wall time. It also prints the time from submission to
the first task's start (the first `slurm/task-*.out` Slurm creates), how long a throttled task
waits after the task whose slot it takes wrote its result (Slurm's dispatch gap; a local run's is
its 0.05 s poll), and the peak RSS of the submitting process tree (the tasks run under slurmd,
outside it).
Exit status 0 when the target passes, 1 when it fails, 2 when it cannot run.
"""

from __future__ import annotations

import json
import shutil
import sys
from collections.abc import Sequence
from pathlib import Path

from replicate_speed import Benchmark, in_workdir, parse_arguments

MAX_ADDED = 0.10


def main(argv: Sequence[str]) -> int:
    args = parse_arguments(argv, description=(__doc__ or "").splitlines()[0])
    if shutil.which("sbatch") is None:
        print("Slurm is not installed here (no sbatch on PATH): `bash .ci/slurm start`")
        return 2
    # Under /tmp by default: fine on a single-node cluster (replicate warns that it is
    # node-local); on a real cluster give --workdir on the shared file system.
    return in_workdir(
        args,
        prefix="conda-shared-replicate-slurm-bench-",
        run=lambda work, version: SlurmBenchmark(args, work, version).compare(),
    )


class SlurmBenchmark(Benchmark):
    """replicate_speed's root and targets; the two executors instead of conda's loop."""

    def compare(self) -> int:
        from harness import Stats, Verdict, format_table, load_note, mib, print_verdicts

        from tests.support.replication import latest_run

        print(f"replicate through Slurm vs local: conda {self.conda_version}, {load_note()}")
        channel_url, records = self.build()
        print(f"channel: {records} repodata records; {len(self.names)} source envs")
        local_runs, slurm_runs, first_starts = [], [], []
        all_gaps: list[float] = []
        for index in range(self.args.runs):
            local, _ = self.replicate(channel_url, 2 * index)
            through_slurm, _ = self.replicate(
                channel_url, 2 * index + 1, "--executor", "slurm", "--wait"
            )
            run_dir = latest_run(self.root)
            submitted = json.loads((run_dir / "slurm.json").read_text())["submitted_epoch"]
            starts, gaps = dispatch(run_dir, self.args.jobs)
            local_runs.append(local)
            slurm_runs.append(through_slurm)
            first_starts.append(starts[0] - submitted)
            all_gaps += gaps
            print(
                f"  run {index + 1}: local {local.wall_s:.1f} s, slurm {through_slurm.wall_s:.1f}"
                f" s, first task started {starts[0] - submitted:.2f} s after submission, "
                f"next task {Stats.of(gaps).median:.2f} s after one ended (median)",
                flush=True,
            )
        local_wall = Stats.of([s.wall_s for s in local_runs]).median
        slurm_wall = Stats.of([s.wall_s for s in slurm_runs]).median
        added = slurm_wall / local_wall - 1
        rows = [
            [
                f"replicate --jobs {self.args.jobs} (local)",
                f"{local_wall:.1f} s",
                f"{mib(max(s.peak_rss_kib for s in local_runs))} MiB",
            ],
            [
                f"replicate --executor slurm --jobs {self.args.jobs} --wait",
                f"{slurm_wall:.1f} s",
                f"{mib(max(s.peak_rss_kib for s in slurm_runs))} MiB (submitting host only)",
            ],
        ]
        print(format_table(["", "wall", "peak RSS"], rows))
        first = Stats.of(first_starts).median
        print(
            f"slurm/local wall {slurm_wall / local_wall:.3f}x (added {added:+.1%}); "
            f"submit to first task start {first:.2f} s; a task's end to the next task's start "
            f"{Stats.of(all_gaps).median:.2f} s (median of {len(all_gaps)})"
        )
        verdict = Verdict(
            added < MAX_ADDED,
            f"Slurm adds {added:+.1%} wall time to a local run (target < {MAX_ADDED:.0%})",
        )
        return 0 if print_verdicts([verdict]) else 1


def dispatch(run_dir: Path, jobs: int) -> tuple[list[float], list[float]]:
    """When Slurm started each task (it creates `slurm/task-N.out` then) and, for every task
    that waited for a free slot, how long after the result of the task before it: the k-th
    start takes the slot of the (k - jobs)-th end."""
    starts = sorted(p.stat().st_ctime for p in (run_dir / "slurm").glob("task-*.out"))
    ends = sorted(p.stat().st_mtime for p in (run_dir / "envs").glob("*.json"))
    return starts, [starts[k] - ends[k - jobs] for k in range(jobs, len(starts))]


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
