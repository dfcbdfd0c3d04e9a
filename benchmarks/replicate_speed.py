"""Benchmark `conda-shared replicate --jobs 2` of 20 envs against a loop of `conda env create`.

usage: python benchmarks/replicate_speed.py [--envs N] [--jobs J] [--records R] [--runs K]
                                            [--workdir DIR]
Run it with a Python where conda imports (it builds its installations with that conda), e.g.
/opt/condas/venv-26.7.1/bin/python benchmarks/replicate_speed.py   (about 5 minutes)

It builds, once: a local channel of real package archives (python, pip, 12 noarch Python
libraries with dependencies, 8 binary tools) whose repodata also holds R (default 20,000)
records of other packages and older versions, as a real channel's does, so every solve pays what
it pays there; a source installation with N environments (python, pip and 3-8 of those packages
each), created by its own conda before the repodata grew; and their specs (`conda shared export`).
Then, per run, two fresh target installations of the same conda with cold package caches:
- conda's way: `conda env create -f NAME.yml` for each env, one after the other;
- conda-shared: `conda shared replicate --jobs J` of the N envs, smoke tests included.

Targets (issue 9): at least 2x faster wall time; conda-shared's own share of the run under 5%
(the CPU time of its own Python processes, outside every conda, pip and smoke subprocess,
against the run's wall time; each reports its usage at exit through a sitecustomize probe).
Exit status 0 when every target passes, 1 when one fails, 2 when it cannot run.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import shutil
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))  # tests.support builds the channel and installations

MIN_SPEEDUP = 2.0
REAL_VERSION, REAL_BUILD = "10.0", "h10"
MAX_OWN_SHARE = 0.05
USAGE_VARIABLE = "CONDA_SHARED_BENCH_USAGE_FILE"

#: Every conda_shared process of the replicate run (the CLI and its --task workers) appends its
#: own CPU time and peak RSS here at exit. Conda's and the smoke's interpreters never load it:
#: replicate strips PYTHONPATH from conda's environment and runs the smoke with `python -I`.
_PROBE = """
import atexit, json, os, resource, sys

def _report():
    usage = resource.getrusage(resource.RUSAGE_SELF)
    with open("/proc/self/status") as status:
        hwm = next(int(line.split()[1]) for line in status if line.startswith("VmHWM:"))
    record = {"argv": sys.argv, "cpu_s": usage.ru_utime + usage.ru_stime, "peak_kib": hwm}
    with open(os.environ["USAGE_VARIABLE"], "a") as out:
        out.write(json.dumps(record) + "\\n")

if os.environ.get("USAGE_VARIABLE"):
    atexit.register(_report)
""".replace("USAGE_VARIABLE", USAGE_VARIABLE)


@dataclass(frozen=True)
class Side:
    """One side of a run: its wall time, the CPU of its whole process tree, peak RSS."""

    wall_s: float
    cpu_s: float
    peak_rss_kib: int


@dataclass(frozen=True)
class OwnUsage:
    """conda-shared's own processes during the replicate run."""

    processes: int
    cpu_s: float
    peak_kib: int


def main(argv: Sequence[str]) -> int:
    args = parse_arguments(argv, description=(__doc__ or "").splitlines()[0])
    return in_workdir(
        args,
        prefix="conda-shared-replicate-bench-",
        run=lambda work, version: Benchmark(args, work, version).run(),
    )


def parse_arguments(argv: Sequence[str], *, description: str) -> argparse.Namespace:
    """The options of the replicate benchmarks (this one and replicate_slurm.py)."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--envs", type=int, default=20, help="environments (default 20)")
    parser.add_argument("--jobs", type=int, default=2, help="replicate --jobs (default 2)")
    parser.add_argument(
        "--records",
        type=int,
        default=20_000,
        help="extra repodata records beside the real packages (default 20000)",
    )
    parser.add_argument("--runs", type=int, default=1, help="pairs of cold runs (default 1)")
    parser.add_argument(
        "--workdir", type=Path, help="where to build (default: a temporary folder, removed)"
    )
    args = parser.parse_args(argv)
    if args.envs < 1 or args.jobs < 1 or args.runs < 1 or args.records < 0:
        parser.error("need --envs, --jobs, --runs >= 1 and --records >= 0")
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
    """The built root, then each cold pair of runs, then the verdicts."""

    def __init__(self, args: argparse.Namespace, work: Path, conda_version: str) -> None:
        self.args = args
        self.work = work
        self.conda_version = conda_version
        self.root = work / "root"
        self.home = work / "home"
        self.names: list[str] = []

    def run(self) -> int:
        from harness import Stats, Verdict, format_table, load_note, mib, print_verdicts

        print(
            f"conda-shared replicate benchmark: conda {self.conda_version}, "
            f"Python {sys.version.split()[0]}, {sys.prefix}"
        )
        started = time.perf_counter()
        channel_url, records = self.build()
        print(
            f"channel: {records} repodata records; {len(self.names)} source envs built and "
            f"exported in {time.perf_counter() - started:.0f} s; {load_note()}"
        )
        pairs: list[tuple[Side, Side, OwnUsage]] = []
        for index in range(self.args.runs):
            conda_side = self.conda_loop(channel_url, index)
            shared_side, own = self.replicate(channel_url, index)
            pairs.append((conda_side, shared_side, own))
            print(
                f"  run {index + 1}: conda loop {conda_side.wall_s:.1f} s, "
                f"replicate --jobs {self.args.jobs} {shared_side.wall_s:.1f} s",
                flush=True,
            )
        speedup = Stats.of([c.wall_s / s.wall_s for c, s, _ in pairs])
        share = Stats.of([own.cpu_s / s.wall_s for _, s, own in pairs])
        rows = [
            [
                f"conda env create -f, {len(self.names)} envs in a row",
                f"{Stats.of([c.wall_s for c, _, _ in pairs]).median:.1f} s",
                f"{Stats.of([c.cpu_s for c, _, _ in pairs]).median:.1f} s",
                f"{mib(max(c.peak_rss_kib for c, _, _ in pairs))} MiB",
            ],
            [
                f"conda shared replicate --jobs {self.args.jobs}",
                f"{Stats.of([s.wall_s for _, s, _ in pairs]).median:.1f} s",
                f"{Stats.of([s.cpu_s for _, s, _ in pairs]).median:.1f} s",
                f"{mib(max(s.peak_rss_kib for _, s, _ in pairs))} MiB",
            ],
            [
                "  of which conda-shared's own processes",
                "",
                f"{Stats.of([own.cpu_s for _, _, own in pairs]).median:.2f} s",
                f"{mib(max(own.peak_kib for _, _, own in pairs))} MiB",
            ],
        ]
        print(format_table(["", "wall", "cpu (tree)", "peak RSS"], rows))
        processes = pairs[-1][2].processes
        print(
            f"speedup {speedup.median:.2f}x (conda loop / replicate wall); conda-shared's own "
            f"CPU is {share.median:.1%} of the replicate wall time ({processes} processes)"
        )
        verdicts = [
            Verdict(
                speedup.median >= MIN_SPEEDUP,
                f"replicate --jobs {self.args.jobs} is {speedup.median:.2f}x faster than the "
                f"conda loop (target >= {MIN_SPEEDUP:g}x)",
            ),
            Verdict(
                share.median < MAX_OWN_SHARE,
                f"conda-shared's own share {share.median:.1%} of the wall time "
                f"(target < {MAX_OWN_SHARE:.0%})",
            ),
        ]
        return 0 if print_verdicts(verdicts) else 1

    def build(self) -> tuple[str, int]:
        """The channel, the source installation with its envs, their specs; repodata grown."""
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
        records = grow_repodata(
            channel.root, [*libraries, *tools], extra=self.args.records, subdir=channel.subdir
        )
        return channel.url, records

    def fresh_target(self, channel_url: str, name: str) -> Path:
        from tests.support.installation import make_installation

        return make_installation(
            self.root / name, channel_urls=[channel_url], work=self.work, with_conda_shared=True
        )

    def conda_loop(self, channel_url: str, index: int) -> Side:
        from harness import Command, run_process

        target = self.fresh_target(channel_url, f"vconda-{index}")
        env = self.environ()
        specs = self.root / "specs" / "vsource"
        started = time.perf_counter()
        create = (str(target / "bin" / "python"), "-m", "conda", "env", "create", "-q", "-f")
        samples = [
            run_process(Command((*create, str(specs / f"{name}.yml")), env)) for name in self.names
        ]
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
        probe = self.work / "probe"
        probe.mkdir(exist_ok=True)
        (probe / "sitecustomize.py").write_text(_PROBE)
        usage_file = self.work / f"own-usage-{index}.jsonl"
        env = self.environ()
        env.update(
            PYTHONPATH=os.pathsep.join([str(probe), str(HERE.parent)]),
            **{USAGE_VARIABLE: str(usage_file)},
        )
        argv = shared_argv("replicate", self.root, "--from", "current", "--to", "qa")
        argv += [*self.names, "--jobs", str(self.args.jobs), *options]
        sample = run_process(Command(tuple(argv), env))
        report = json.loads((latest_run(self.root) / "report.json").read_text())
        failed = [e["name"] for e in report["envs"] if e["status"] != "replicated"]
        if failed or len(report["envs"]) != len(self.names):
            raise BenchmarkError(f"replicate did not replicate every env: {failed}")
        own = [json.loads(line) for line in usage_file.read_text().splitlines()]
        ours = [r for r in own if "conda_shared" in " ".join(r["argv"][:1])]
        return (
            Side(sample.wall_s, sample.cpu_s, sample.peak_rss_kib),
            OwnUsage(len(ours), sum(r["cpu_s"] for r in ours), max(r["peak_kib"] for r in ours)),
        )

    def environ(self) -> dict[str, str | None]:
        """As the tests run installations: the caller's conda/pip settings out, HOME private."""
        from tests.support.installation import installation_environ

        base = installation_environ(self.home)
        env: dict[str, str | None] = {name: None for name in os.environ if name not in base}
        env.update(base)
        return env


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
