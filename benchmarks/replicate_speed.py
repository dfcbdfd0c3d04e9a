"""Benchmark `conda-shared replicate --jobs 2` against the loops an admin would write with conda.

usage: python benchmarks/replicate_speed.py [--case small|big|both] [--envs N] [--small-envs S]
                                            [--jobs J] [--records R] [--runs K] [--workdir DIR]
Run it with a Python where conda imports (it builds its installations with that conda), e.g.
/opt/condas/venv-26.7.1/bin/python benchmarks/replicate_speed.py   (about 20 minutes)

Two cases, each with its own local channel of real package archives (python, pip, 12 noarch
Python libraries with dependencies, 8 binary tools) and a source installation whose envs (python,
pip and 3-8 of those packages each) its own conda created, exported with `conda shared export`:
- small: S (default 5) envs on that tiny channel, so every solve is cheap;
- big: N (default 20) envs, the channel's repodata then grown by R (default 20,000) records of
  other packages and older versions, as a real channel's is, so every solve pays what it pays
  there.
Each run of a case builds three fresh target installations of the same conda, cold package
caches, and times in each, in an order that alternates from run to run:
- `conda env create -f NAME.yml` for each env, one after the other;
- the bare lock loop: `conda create -p TARGET/envs/NAME --file NAME.lock`, one after the other;
- `conda shared replicate --jobs J` of the envs, every check included.
Ratios are taken within each run and summarised as their median with its 95% interval.
conda-shared's own CPU is what its processes wrote into the report: each task's RUSAGE_SELF in
its env's result, the command's own in report.json; the per-env split (build, checks, ours)
comes from the same results.

Targets (issue 22): small, replicate within 1.2x of the bare lock loop's wall time; big,
replicate at least 3x faster than the `env create -f` loop; both, conda-shared's own CPU under
5% of replicate's wall time.
Exit status 0 when every target passes, 1 when one fails, 2 when it cannot run.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))  # tests.support builds the channel and installations

REAL_VERSION, REAL_BUILD = "10.0", "h10"
MAX_LOCK_LOOP_RATIO = 1.2
MIN_ENV_LOOP_SPEEDUP = 3.0
MAX_OWN_SHARE = 0.05
SIDES = ("env create loop", "lock loop", "replicate")


@dataclass(frozen=True)
class Side:
    """One side of a run: its wall time, the CPU of its whole process tree, peak RSS."""

    wall_s: float
    cpu_s: float
    peak_rss_kib: int


@dataclass(frozen=True)
class OwnUsage:
    """conda-shared's own processes in a replicate run, as its report records them."""

    cpu_s: float
    #: per env: (build, checks, our task's CPU) seconds
    split: dict[str, tuple[float, float, float]]


@dataclass(frozen=True)
class Scenario:
    """A case: how many envs, how many records the repodata grows by (0: the tiny channel)."""

    name: str
    envs: int
    records: int


def main(argv: Sequence[str]) -> int:
    args = parse_arguments(argv, description=(__doc__ or "").splitlines()[0], cases=True)
    scenarios = [
        scenario
        for scenario in (
            Scenario("small", args.small_envs, 0),
            Scenario("big", args.envs, args.records),
        )
        if args.case in (scenario.name, "both")
    ]

    def run(work: Path, version: str) -> int:
        from harness import print_verdicts

        verdicts = []
        for scenario in scenarios:
            case_args = argparse.Namespace(**{**vars(args), "envs": scenario.envs})
            case_args.records = scenario.records
            benchmark = Benchmark(case_args, work / scenario.name, version)
            verdicts += benchmark.run_scenario(scenario)
        print()
        return 0 if print_verdicts(verdicts) else 1

    return in_workdir(args, prefix="conda-shared-replicate-bench-", run=run)


def parse_arguments(
    argv: Sequence[str], *, description: str, cases: bool = False
) -> argparse.Namespace:
    """The options of the replicate benchmarks (this one, with `cases`, and replicate_slurm.py)."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--envs", type=int, default=20, help="environments (default 20)")
    parser.add_argument("--jobs", type=int, default=2, help="replicate --jobs (default 2)")
    parser.add_argument(
        "--records",
        type=int,
        default=20_000,
        help="extra repodata records beside the real packages (default 20000)",
    )
    parser.add_argument("--runs", type=int, default=1, help="cold runs (default 1)")
    parser.add_argument(
        "--workdir", type=Path, help="where to build (default: a temporary folder, removed)"
    )
    if cases:
        parser.add_argument(
            "--case", choices=("small", "big", "both"), default="both", help="(default both)"
        )
        parser.add_argument(
            "--small-envs", type=int, default=5, help="environments of the small case (default 5)"
        )
    args = parser.parse_args(argv)
    if min(args.envs, args.jobs, args.runs, getattr(args, "small_envs", 1)) < 1:
        parser.error("need --envs, --small-envs, --jobs, --runs >= 1")
    if args.records < 0:
        parser.error("need --records >= 0")
    return args


def in_workdir(args: argparse.Namespace, *, prefix: str, run: Callable[[Path, str], int]) -> int:
    """`run(work folder, conda version)` where conda imports; 2 when it cannot run."""
    try:
        import conda
    except ImportError:
        print(f"conda is not importable by {sys.executable}: run this with a conda's python")
        return 2
    from harness import BenchmarkError

    with tempfile.TemporaryDirectory(prefix=prefix) as scratch:
        work = (args.workdir or Path(scratch)).absolute()
        if args.workdir:
            shutil.rmtree(work, ignore_errors=True)
        work.mkdir(parents=True, exist_ok=True)  # the temporary folder already exists
        try:
            return run(work, str(conda.__version__))
        except BenchmarkError as error:
            print(f"benchmark failed: {error}")
            return 2


class Benchmark:
    """The built root, then each cold run of the three sides, then the verdicts."""

    def __init__(self, args: argparse.Namespace, work: Path, conda_version: str) -> None:
        self.args = args
        self.work = work
        self.conda_version = conda_version
        self.root = work / "root"
        self.home = work / "home"
        self.names: list[str] = []

    def run_scenario(self, scenario: Scenario) -> list[Any]:
        """Every run of the case, its table and its verdicts (printed by the caller)."""
        from harness import Stats, Verdict, load_note

        self.work.mkdir(parents=True, exist_ok=True)
        print(
            f"\n{scenario.name} case: conda {self.conda_version}, Python "
            f"{sys.version.split()[0]}, {sys.prefix}"
        )
        started = time.perf_counter()
        channel_url, records = self.build()
        print(
            f"channel: {records} repodata records; {len(self.names)} source envs built and "
            f"exported in {time.perf_counter() - started:.0f} s; {load_note()}"
        )
        runs: list[dict[str, Side]] = []
        usages: list[OwnUsage] = []
        for index in range(self.args.runs):
            measured: dict[str, Side] = {}
            order = SIDES if index % 2 == 0 else SIDES[::-1]  # drift hits every side alike
            for side in order:
                if side == "replicate":
                    measured[side], own = self.replicate(channel_url, index)
                    usages.append(own)
                else:
                    measured[side] = self.conda_loop(channel_url, index, lock=side == "lock loop")
            runs.append(measured)
            print(
                f"  run {index + 1}: "
                + ", ".join(f"{side} {measured[side].wall_s:.1f} s" for side in SIDES)
                + f"; ours {own.cpu_s:.2f} s CPU; {load_note()}",
                flush=True,
            )
        lock_ratio = Stats.of([r["replicate"].wall_s / r["lock loop"].wall_s for r in runs])
        speedup = Stats.of([r["env create loop"].wall_s / r["replicate"].wall_s for r in runs])
        share = Stats.of(
            [u.cpu_s / r["replicate"].wall_s for r, u in zip(runs, usages, strict=True)]
        )
        self.print_tables(runs, usages)
        print(
            f"  replicate / lock loop wall {_interval(lock_ratio, 'x')}; "
            f"env create loop / replicate wall {_interval(speedup, 'x')}; "
            f"conda-shared's own CPU {_interval(share, '%')} of replicate's wall"
        )
        verdicts = [
            Verdict(
                share.median < MAX_OWN_SHARE,
                f"{scenario.name}: conda-shared's own CPU is {share.median:.1%} of the wall time "
                f"(target < {MAX_OWN_SHARE:.0%})",
            )
        ]
        if scenario.records:
            verdicts.append(
                Verdict(
                    speedup.median >= MIN_ENV_LOOP_SPEEDUP,
                    f"{scenario.name}: replicate --jobs {self.args.jobs} is "
                    f"{speedup.median:.2f}x faster than the env create loop "
                    f"(target >= {MIN_ENV_LOOP_SPEEDUP:g}x)",
                )
            )
        else:
            verdicts.append(
                Verdict(
                    lock_ratio.median <= MAX_LOCK_LOOP_RATIO,
                    f"{scenario.name}: replicate --jobs {self.args.jobs} takes "
                    f"{lock_ratio.median:.2f}x the bare lock loop's wall time "
                    f"(target <= {MAX_LOCK_LOOP_RATIO:g}x)",
                )
            )
        return verdicts

    def print_tables(self, runs: Sequence[dict[str, Side]], usages: Sequence[OwnUsage]) -> None:
        """Medians of each side; then each env's split from replicate's report."""
        from harness import format_table, mib

        def median(values: Sequence[float]) -> float:
            return statistics.median(values)

        count = len(self.names)
        labels = {
            "env create loop": f"conda env create -f, {count} envs in a row",
            "lock loop": f"conda create --file NAME.lock, {count} envs in a row",
            "replicate": f"conda shared replicate --jobs {self.args.jobs}",
        }
        rows = [
            [
                labels[side],
                f"{median([r[side].wall_s for r in runs]):.1f} s",
                f"{median([r[side].cpu_s for r in runs]):.1f} s",
                f"{mib(max(r[side].peak_rss_kib for r in runs))} MiB",
            ]
            for side in SIDES
        ]
        rows.append(
            ["  of which conda-shared's own", "", f"{median([u.cpu_s for u in usages]):.2f} s", ""]
        )
        print(format_table(["median of runs", "wall", "cpu (tree)", "peak RSS"], rows))
        split = [
            [
                name,
                *(f"{median([u.split[name][part] for u in usages]):.2f} s" for part in range(3)),
            ]
            for name in self.names
        ]
        print(format_table(["per env (median)", "build", "checks", "ours (cpu)"], split))

    def build(self) -> tuple[str, int]:
        """The channel, the source installation with its envs, their specs; repodata grown
        when `--records` asks for it."""
        from tests.support.channel import Channel
        from tests.support.replication import EnvRecipe, build_source, run_shared

        channel = Channel(self.work / "channel")
        channel.add_python()
        channel.add_pip()
        libraries = [f"lib-{letter}" for letter in "abcdefghijkl"]
        tools = [f"tool-{number}" for number in range(1, 9)]
        for index, name in enumerate(libraries):
            depends = ("python", *libraries[max(0, index - 2) : index][:1])
            channel.add_python_dist(
                name, REAL_VERSION, REAL_BUILD, build_number=10, depends=depends
            )
        for name in tools:
            files = {f"share/{name}/data-{i}.txt": f"{name} {i}\n".encode() * 50 for i in range(8)}
            channel.add(name, REAL_VERSION, REAL_BUILD, build_number=10, files=files)
        channel.index()
        chooser = random.Random(9)
        recipes = [
            EnvRecipe(
                f"env-{index:02d}",
                ("python", "pip", *chooser.sample([*libraries, *tools], chooser.randint(3, 8))),
            )
            for index in range(self.args.envs)
        ]
        self.names = [recipe.name for recipe in recipes]
        build_source(self.work, envs=recipes, main_channel=channel)
        (self.root / "current").symlink_to("vsource")
        exported = run_shared("export", self.root, "--from", "current", home=self.home)
        if exported.returncode != 0:
            from harness import BenchmarkError

            raise BenchmarkError(f"export failed: {exported.stdout}{exported.stderr}")
        if self.args.records:
            records = grow_repodata(
                channel.root, [*libraries, *tools], extra=self.args.records, subdir=channel.subdir
            )
        else:
            records = sum(
                len(document.get("packages", {})) + len(document.get("packages.conda", {}))
                for document in (
                    json.loads(path.read_text()) for path in channel.root.glob("*/repodata.json")
                )
            )
        return channel.url, records

    def fresh_target(self, channel_url: str, name: str) -> Path:
        from tests.support.installation import make_installation

        return make_installation(
            self.root / name, channel_urls=[channel_url], work=self.work, with_conda_shared=True
        )

    def conda_loop(self, channel_url: str, index: int, *, lock: bool) -> Side:
        """conda's own way, one env after the other: `env create -f NAME.yml`, or with `lock`
        `create -p TARGET/envs/NAME --file NAME.lock` (no solve, as replicate's lock rung)."""
        from harness import Command, run_process

        target = self.fresh_target(channel_url, f"v{'lock' if lock else 'conda'}-{index}")
        env = self.environ()
        specs = self.root / "specs" / "vsource"
        conda = (str(target / "bin" / "python"), "-m", "conda")
        commands = [
            (
                *conda,
                "create",
                "-q",
                "--yes",
                "-p",
                str(target / "envs" / name),
                "--file",
                lock_file,
            )
            if lock
            else (*conda, "env", "create", "-q", "-f", str(specs / f"{name}.yml"))
            for name, lock_file in ((n, str(specs / f"{n}.lock")) for n in self.names)
        ]
        started = time.perf_counter()
        samples = [run_process(Command(argv, env)) for argv in commands]
        wall = time.perf_counter() - started
        return Side(wall, sum(s.cpu_s for s in samples), max(s.peak_rss_kib for s in samples))

    def replicate(self, channel_url: str, index: int, *options: str) -> tuple[Side, OwnUsage]:
        from harness import BenchmarkError, Command, run_process

        from tests.support.replication import latest_run, shared_argv

        target = self.fresh_target(channel_url, f"vshared-{index}")
        qa = self.root / "qa"
        if qa.is_symlink():
            qa.unlink()
        qa.symlink_to(target.name)
        argv = shared_argv("replicate", self.root, "--from", "current", "--to", "qa")
        argv += [*self.names, "--jobs", str(self.args.jobs), *options]
        sample = run_process(Command(tuple(argv), self.environ()))
        report = json.loads((latest_run(self.root) / "report.json").read_text())
        failed = [e["name"] for e in report["envs"] if e["status"] != "replicated"]
        if failed or len(report["envs"]) != len(self.names):
            raise BenchmarkError(f"replicate did not replicate every env: {failed}")
        envs = report["envs"]
        # Recorded by the processes themselves: each task in its result, the command in the
        # report (a Slurm run's command returns before the report has its figure).
        own = sum(e["cpu_seconds"] for e in envs) + (report.get("cpu_seconds") or 0.0)
        split = {
            e["name"]: (e["build_seconds"], e["check_seconds"], e["cpu_seconds"]) for e in envs
        }
        return (
            Side(sample.wall_s, sample.cpu_s, sample.peak_rss_kib),
            OwnUsage(own, split),
        )

    def environ(self) -> dict[str, str | None]:
        """As the tests run installations: the caller's conda/pip settings out, HOME private,
        and the conda_shared being measured found first."""
        from tests.support.installation import installation_environ

        base = installation_environ(self.home)
        env: dict[str, str | None] = {name: None for name in os.environ if name not in base}
        env.update(base)
        env["PYTHONPATH"] = str(HERE.parent)
        return env


def _interval(stats: Any, unit: str) -> str:
    """`1.07x (95% CI 1.01-1.12)`, or in percent."""
    if unit == "%":
        return f"{stats.median:.1%} (95% CI {stats.median_low:.1%}-{stats.median_high:.1%})"
    return f"{stats.median:.2f}x (95% CI {stats.median_low:.2f}-{stats.median_high:.2f})"


def grow_repodata(channel: Path, real: Sequence[str], *, extra: int, subdir: str) -> int:
    """Add about `extra` records to the channel's repodata, none of which has an archive or can
    win a solve, but all of which the solver has to consider, as on a big channel:

    - `other-*` packages, 10 versions each, depending on others of their group of 100;
    - for each real package, 20 older versions and 10 lower builds of its version, whose
      dependencies reach into those groups (the solver explores them before it picks the
      highest build, the real one).
    """
    chooser = random.Random(20_000)
    added: dict[str, list[dict[str, Any]]] = {subdir: [], "noarch": []}
    names = [f"other-{index:05d}" for index in range(max(1, (extra - 30 * len(real)) // 10))]
    for position, name in enumerate(names):
        group = names[position - position % 100 : position]
        where = "noarch" if position % 5 == 0 else subdir
        for version in range(10):
            picks = chooser.sample(group, min(len(group), chooser.randint(0, 3)))
            depends = [f"{pick} >={chooser.randint(0, 5)}" for pick in picks]
            added[where].append(
                _record(name, f"{version}.{position % 7}", depends=depends, subdir=where)
            )
    for name in real:
        for version in range(1, 21):
            added[subdir].append(_record(name, f"{version / 10:.1f}", subdir=subdir))
        for build_number in range(10):
            depends = chooser.sample(names, min(len(names), 2))
            added[subdir].append(
                _record(
                    name,
                    REAL_VERSION,
                    build=f"f{build_number}",
                    build_number=build_number,
                    depends=depends,
                    subdir=subdir,
                )
            )
    total = 0
    for where, records in added.items():
        path = channel / where / "repodata.json"
        repodata = json.loads(path.read_text())
        for record in records:
            fn = f"{record['name']}-{record['version']}-{record['build']}.tar.bz2"
            repodata["packages"][fn] = record
        path.write_text(json.dumps(repodata, indent=1, sort_keys=True))
        total += len(repodata["packages"]) + len(repodata["packages.conda"])
    return total


def _record(
    name: str,
    version: str,
    *,
    subdir: str,
    build: str = "0",
    build_number: int = 0,
    depends: Sequence[str] = (),
) -> dict[str, Any]:
    digest = hashlib.md5(f"{name}-{version}-{build}".encode()).hexdigest()
    return {
        "name": name,
        "version": version,
        "build": build,
        "build_number": build_number,
        "depends": list(depends),
        "license": "BSD-3-Clause",
        "md5": digest,
        "sha256": digest * 2,
        "size": 10_000 + len(name) * 100,
        "subdir": subdir,
        "timestamp": 1_600_000_000_000,
        **({"noarch": "generic"} if subdir == "noarch" else {}),
    }


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
