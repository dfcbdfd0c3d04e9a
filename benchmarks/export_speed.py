"""Benchmark `conda-shared export` of a big installation against conda's loop and the I/O floor.

usage: python benchmarks/export_speed.py [--envs N] [--packages M] [--runs R] [--conda-sample K]
                                         [--workdir DIR]
Run it with the Python of a conda installation that has conda-shared installed, e.g.
/work/tools/conda-26.7.1/bin/python benchmarks/export_speed.py   (about 2 minutes)

It generates (or reuses, from --workdir) a shared root of N environments x M packages
(benchmarks/generate.py) and measures, each in its own process:
- export: `python -m conda_shared export --root ROOT --out DIR`, every environment;
- the I/O floor: json.loads of every conda-meta/*.json and one read of every
  *.dist-info/METADATA of those environments, nothing else (`export_speed.py --floor ROOT`);
- conda's way, per environment: `conda env export -p ENV --no-builds` and
  `conda list -p ENV --explicit --sha256`. That loop takes seconds per environment, so K
  environments are measured and the mean is scaled to N.

- the unchanged export: the same export again with nothing changed since (issue 21: each env's
  cache entry answers; `export --full` is the full export every other measurement times).

Targets (issue 3): export at least 50x faster than conda's loop; at most 2.5x the I/O floor
(warm page cache; 3x before issue 21); an unchanged root's export at most 5% of the full export;
peak RSS of the export flat as the environment count grows (at N envs at
most 1.1x its peak at N/4; each export reports its own VmHWM at exit, through
`export_speed.py --peak-rss-to FILE -m conda_shared ...`). It also checks that conda accepts the
generated environments: `conda list --json` shows every package and no record disappears.
Exit status 0 when every target passes, 1 when one fails, 2 when it cannot run.
"""

from __future__ import annotations

# Only these at module level: the floor and the peak-RSS wrapper run this file as the measured
# process, which must pay for nothing else. The benchmark imports the rest where it uses it.
import json
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple

if TYPE_CHECKING:
    import argparse
    from collections.abc import Sequence

    from generate import GeneratedRoot
    from harness import CaseResult, Command, ProcessSample, Verdict

HERE = Path(__file__).resolve().parent
MIN_SPEEDUP = 50.0
MAX_FLOOR_RATIO = 2.5
MAX_UNCHANGED_RATIO = 0.05
MAX_RSS_GROWTH = 1.10
DISTRIBUTION = "conda-shared"


def read_floor(installation: Path) -> dict[str, int]:
    """The least any exporter must do: parse every record, read every METADATA, once."""
    records = metadata = 0
    record_bytes = metadata_bytes = 0
    for env in sorted(os.scandir(installation / "envs"), key=lambda e: e.name):
        for entry in os.scandir(os.path.join(env.path, "conda-meta")):
            if entry.name.endswith(".json"):
                with open(entry.path, "rb") as stream:
                    data = stream.read()
                json.loads(data)
                records += 1
                record_bytes += len(data)
        lib = os.path.join(env.path, "lib")
        for python in os.scandir(lib) if os.path.isdir(lib) else ():
            site = os.path.join(python.path, "site-packages")
            if not python.name.startswith("python") or not os.path.isdir(site):
                continue
            for entry in os.scandir(site):
                if entry.name.endswith(".dist-info"):
                    try:
                        with open(os.path.join(entry.path, "METADATA"), "rb") as stream:
                            metadata_bytes += len(stream.read())
                        metadata += 1
                    except FileNotFoundError:
                        continue
    return {
        "records": records,
        "record_bytes": record_bytes,
        "metadata": metadata,
        "metadata_bytes": metadata_bytes,
    }


def evict(tree: Path) -> None:
    """Drop the tree's file pages from the page cache.

    Only this tree goes cold (clean pages only, hence the sync): directory entries, inodes,
    the interpreter and the code stay cached. Hence "cold-ish".
    """
    os.sync()
    for folder, _dirs, names in os.walk(tree):
        for name in names:
            path = os.path.join(folder, name)
            if os.path.islink(path):
                continue
            fd = os.open(path, os.O_RDONLY)
            try:
                os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
            finally:
                os.close(fd)


def main(argv: Sequence[str]) -> int:
    import argparse
    import tempfile

    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    from generate import add_root_arguments

    add_root_arguments(parser)
    parser.add_argument(
        "--runs", type=int, default=5, help="warm runs of export and of the floor (default 5)"
    )
    args = parser.parse_args(argv)
    if args.runs < 1 or args.envs < 4 or not 1 <= args.conda_sample <= args.envs:
        parser.error("need --runs >= 1, --envs >= 4 and 1 <= --conda-sample <= --envs")
    try:
        import conda
    except ImportError:
        print(f"conda is not importable by {sys.executable}: run this with a conda's python")
        return 2
    from harness import BenchmarkError

    args.workdir = args.workdir.absolute()
    # `python -m conda_shared` imports from the working directory first: run every child
    # from this checkout, so the code measured is the code beside this script.
    os.chdir(HERE.parent)
    with tempfile.TemporaryDirectory(prefix="conda-shared-bench-pyc-") as bytecode:
        # Both sides run from compiled bytecode, as installed code does, even where
        # PYTHONDONTWRITEBYTECODE is set; a private cache keeps the host's untouched.
        env: dict[str, str | None] = {
            "PYTHONDONTWRITEBYTECODE": None,
            "PYTHONPYCACHEPREFIX": bytecode,
        }
        try:
            return Benchmark(args, str(conda.__version__), env).run()
        except BenchmarkError as error:
            print(f"benchmark failed: {error}")
            return 2


class Benchmark:
    """One run of the export benchmark: its settings, and each measurement in turn."""

    def __init__(self, args: argparse.Namespace, conda_version: str, env: dict[str, str | None]):
        self.args = args
        self.conda_version = conda_version
        self.env = env
        # exports go beside the cached roots, one folder per size, emptied on every run
        self.out = Path(args.workdir) / f"out-{args.envs}x{args.packages}"

    def command(self, *argv: str) -> Command:
        from harness import Command

        return Command((sys.executable, *argv), self.env)

    def export_command(
        self, root: Path, names: Sequence[str] = (), *, full: bool = True
    ) -> Command:
        """The export of every env (`full`: none answered from the env cache), or of `names`."""
        return self.command(
            "-m", "conda_shared", "export", "--root", str(root), "--out", str(self.out),
            *(["--full"] if full else []), *names,
        )  # fmt: skip

    def floor_command(self, root: Path) -> Command:
        return self.command(str(Path(__file__).resolve()), "--floor", str(root / "current"))

    def conda_command(self, *arguments: str) -> Command:
        # plain conda: the same `python -m conda`, with this plugin hidden (run_conda.py)
        return self.command(str(HERE / "run_conda.py"), "--hide", DISTRIBUTION, *arguments)

    def run(self) -> int:
        import shutil

        from generate import generate
        from harness import load_note, print_verdicts

        args = self.args
        print(
            f"conda-shared export benchmark: conda {self.conda_version}, "
            f"Python {sys.version.split()[0]}, {sys.prefix}"
        )
        generated, reused = generate(
            workdir=args.workdir,
            envs=args.envs,
            packages=args.packages,
            progress=lambda message: print(f"  {message}", flush=True),
        )
        root = Path(generated.root)
        how = "reused from an earlier run" if reused else f"generated in {generated.seconds:.1f} s"
        print(
            f"root {root}: {len(generated.envs)} envs x {generated.packages_per_env} conda "
            f"packages + {generated.pip_per_env} pip dists ({how}; {generated.written} files "
            f"written, {generated.bytes / 2**20:.0f} MiB, {generated.linked} hard links)"
        )
        print(f"measuring {self.measured_package()}; {load_note()}")
        shutil.rmtree(self.out, ignore_errors=True)
        self.out.mkdir(parents=True)
        floor = self.floor_contents(root)
        print(
            f"I/O floor reads {floor['records']} records ({floor['record_bytes'] / 2**20:.0f} MiB)"
            f" and {floor['metadata']} METADATA files ({floor['metadata_bytes'] / 2**20:.1f} MiB)"
        )
        results = Results(
            generated=generated,
            floor=floor,
            cold=self.cold_pair(root, generated),
            warm=self.warm_case(root),
            unchanged=self.unchanged_case(root),
            memory=self.memory_by_env_count(root, generated),
            loop=self.conda_loop(generated),
        )
        self.print_results(results)
        print(f"  {load_note()}\n")
        return 0 if print_verdicts(self.verdicts(results)) else 1

    def measured_package(self) -> str:
        import subprocess

        from harness import child_env

        probe = "import conda_shared as c; print(c.__version__, c.__file__)"
        completed = subprocess.run(
            self.command("-c", probe).argv,
            capture_output=True,
            text=True,
            env=child_env(self.env),
            check=True,
        )
        version, _, location = completed.stdout.strip().partition(" ")
        return f"conda-shared {version} from {Path(location).parent}"

    def floor_contents(self, root: Path) -> dict[str, int]:
        from harness import run_json_probe

        # also compiles the floor's bytecode before anything is timed
        counts: dict[str, int] = run_json_probe(self.floor_command(root))
        expected = self.args.envs * self.args.packages
        if counts["records"] != expected:
            from harness import BenchmarkError

            raise BenchmarkError(f"the floor read {counts['records']} records, not {expected}")
        return counts

    def cold_pair(self, root: Path, generated: GeneratedRoot) -> tuple[float, float] | None:
        """One floor and one export run, each right after the tree's pages were evicted."""
        from harness import run_process

        if not hasattr(os, "posix_fadvise"):
            return None
        # compile conda_shared's bytecode first: the cold run is about the data, not the code
        run_process(self.export_command(root, generated.envs[:1]))
        times = []
        for command in (self.floor_command(root), self.export_command(root)):
            evict(root)
            times.append(run_process(command).wall_s)
        return times[0], times[1]

    def warm_case(self, root: Path) -> CaseResult:
        from harness import Case, progress_line, run_case

        case = Case(
            "export vs I/O floor, warm",
            baseline=self.floor_command(root),
            candidate=self.export_command(root),
            max_ratio=MAX_FLOOR_RATIO,
        )
        # The warm-up pair reads the whole tree into the page cache; the runs alternate.
        result = run_case(case, runs=self.args.runs, warmup=1, progress=progress_line)
        progress_line("")
        manifests = len(list(self.out.glob("*.json")))
        if manifests != self.args.envs:
            from harness import BenchmarkError

            raise BenchmarkError(f"export wrote {manifests} manifests for {self.args.envs} envs")
        return result

    def unchanged_case(self, root: Path) -> CaseResult:
        """The full export against the same export of an unchanged root (every env's cache entry
        answers); each full run leaves the cache as the next unchanged run finds it."""
        from harness import Case, progress_line, run_case

        case = Case(
            "unchanged export vs full export, warm",
            baseline=self.export_command(root),
            candidate=self.export_command(root, full=False),
            max_ratio=MAX_UNCHANGED_RATIO,
        )
        result = run_case(case, runs=self.args.runs, warmup=1, progress=progress_line)
        progress_line("")
        return result

    def memory_by_env_count(
        self, root: Path, generated: GeneratedRoot
    ) -> list[tuple[int, float, float]]:
        """(envs, median peak RSS KiB, median wall s) of exports of the first n environments.

        The peak is the export's own VmHWM, written at exit (see run_reporting_peak):
        ru_maxrss from wait4 also counts this benchmark process, which the child was
        forked from, whenever this process is the larger of the two.
        """
        import statistics

        from harness import progress_line, run_process

        total = len(generated.envs)
        report = self.out.with_name(self.out.name + ".peak")
        rows = []
        for count in sorted({max(1, total // 4), max(1, total // 2), total}):
            command = self.export_command(root, generated.envs[:count] if count < total else ())
            wrapped = self.command(
                str(Path(__file__).resolve()), "--peak-rss-to", str(report), *command.argv[1:]
            )
            peaks, walls = [], []
            for _ in range(min(self.args.runs, 3)):
                walls.append(run_process(wrapped).wall_s)
                peaks.append(float(report.read_text()))
                progress_line(f"peak RSS at {count} envs: {len(peaks)} runs")
            rows.append((count, statistics.median(peaks), statistics.median(walls)))
        progress_line("")
        report.unlink()
        return rows

    def conda_loop(self, generated: GeneratedRoot) -> CondaLoop:
        """conda env export + conda list --explicit on a sample, and whether conda kept records."""
        from harness import progress_line, run_process

        total = len(generated.envs)
        sample = self.args.conda_sample
        # spread over the root: every 4th env has conda 26 records, every 4th uses defaults
        names = [generated.envs[int((i + 0.5) * total / sample)] for i in range(sample)]
        prefixes = [generated.env_path(name) for name in names]
        before = [_listing(prefix) for prefix in prefixes]
        run_process(self.conda_command("list", "-p", str(prefixes[0])))  # compiles conda
        acceptance = self.conda_listing(prefixes[0], generated)
        exports: list[ProcessSample] = []
        lists: list[ProcessSample] = []
        for index, prefix in enumerate(prefixes, start=1):
            exports.append(
                run_process(self.conda_command("env", "export", "-p", str(prefix), "--no-builds"))
            )
            lists.append(
                run_process(self.conda_command("list", "-p", str(prefix), "--explicit", "--sha256"))
            )
            progress_line(f"conda loop: {index}/{sample}")
        progress_line("")
        changed = tuple(
            name
            for name, prefix, old in zip(names, prefixes, before, strict=True)
            if _listing(prefix) != old
        )
        return CondaLoop(tuple(names), tuple(exports), tuple(lists), acceptance, changed)

    def conda_listing(self, prefix: Path, generated: GeneratedRoot) -> str | None:
        """None when `conda list --json` shows every record and pip dist; else what differs."""
        import subprocess

        from harness import child_env

        completed = subprocess.run(
            self.conda_command("list", "-p", str(prefix), "--json").argv,
            capture_output=True,
            text=True,
            env=child_env(self.env),
            check=False,
        )
        if completed.returncode != 0:
            return f"conda list --json exited {completed.returncode}"
        listed = json.loads(completed.stdout)
        pip = sum(1 for entry in listed if entry.get("channel") == "pypi")
        conda_count = len(listed) - pip
        if (conda_count, pip) != (generated.packages_per_env, generated.pip_per_env):
            return (
                f"conda list --json of {prefix.name} shows {conda_count} conda + {pip} pip, "
                f"expected {generated.packages_per_env} + {generated.pip_per_env}"
            )
        return None

    def print_results(self, results: Results) -> None:
        import statistics

        from harness import case_table, format_table, mib

        total = len(results.generated.envs)
        export_s = results.warm.candidate.wall_s.median
        print("\nCold-ish page cache (the tree's file pages evicted with posix_fadvise before")
        print("each run; directory entries, inodes, the interpreter and code stay cached):")
        if results.cold is None:
            print("  skipped: this platform has no posix_fadvise")
        else:
            floor_s, cold_export_s = results.cold
            print(
                f"  floor {floor_s:.2f} s, export {cold_export_s:.2f} s: "
                f"export/floor {cold_export_s / floor_s:.2f}x (one run each; report only)"
            )
        print(
            f"\nWarm page cache (a warm-up pair read the tree into it, then {self.args.runs} "
            "runs each, alternating; baseline = I/O floor, candidate = export):"
        )
        print(case_table([results.warm]))
        print(
            "  (its peak RSS column is wait4's ru_maxrss, which also counts this benchmark "
            "process the children were forked from; the table below has the export's own)"
        )
        print(
            f"  export: {total / export_s:.0f} envs/s, "
            f"{total * results.generated.packages_per_env / export_s:.0f} records/s; "
            f"CPU {results.warm.candidate.cpu_s.median:.2f} s of {export_s:.2f} s wall"
        )
        print(
            "\nUnchanged root (the same export again; each env's cache entry answers, nothing "
            "is read or written; baseline = full export, candidate = unchanged export):"
        )
        print(case_table([results.unchanged]))
        print(
            "\nPeak RSS of the export process by environment count (its own VmHWM at exit, "
            f"median of runs; the I/O floor process: {mib(results.floor['peak_rss_kib'])} MiB):"
        )
        print(
            format_table(
                ["envs", "peak RSS MiB", "wall s", "ms per env"],
                [
                    [str(n), mib(rss), f"{wall:.2f}", f"{wall / n * 1000:.1f}"]
                    for n, rss, wall in results.memory
                ],
            )
        )
        loop = results.loop
        print(
            f"\nconda's loop (plain conda: {DISTRIBUTION} hidden), measured on "
            f"{len(loop.names)} of {total} envs and scaled to {total}:"
        )
        print(
            format_table(
                ["env", "env export s", "list --explicit s", "total s"],
                [
                    [name, f"{e.wall_s:.2f}", f"{li.wall_s:.2f}", f"{e.wall_s + li.wall_s:.2f}"]
                    for name, e, li in zip(loop.names, loop.exports, loop.lists, strict=True)
                ],
            )
        )
        print(
            f"  mean {statistics.mean(loop.per_env_s):.2f} s per env (median "
            f"{statistics.median(loop.per_env_s):.2f}) x {total} envs = "
            f"{loop.estimate_s(total):.0f} s estimated for the whole loop; "
            f"conda-shared export: {export_s:.2f} s"
        )

    def verdicts(self, results: Results) -> list[Verdict]:
        from harness import Verdict, case_verdicts, mib

        generated, loop, memory = results.generated, results.loop, results.memory
        estimate = loop.estimate_s(len(generated.envs))
        export_s = results.warm.candidate.wall_s.median
        speedup = estimate / export_s
        (first_envs, first_rss, _), (top_envs, top_rss, _) = memory[0], memory[-1]
        problems = [loop.listing_problem] if loop.listing_problem else []
        problems += [f"conda changed conda-meta/ of {name}" for name in loop.changed]
        return [
            Verdict(
                not problems,
                f"conda {self.conda_version} accepts the generated envs: `conda list --json` "
                f"lists {generated.packages_per_env} conda + {generated.pip_per_env} pip "
                f"packages, and conda-meta/ of the {len(loop.names)} sampled envs is unchanged "
                "after env export and list" + (f" ({'; '.join(problems)})" if problems else ""),
            ),
            Verdict(
                speedup >= MIN_SPEEDUP,
                f"export {speedup:.0f}x faster than conda's loop ({estimate:.0f} s estimated "
                f"from {len(loop.names)} envs vs {export_s:.2f} s; target >= {MIN_SPEEDUP:.0f}x)",
            ),
            *case_verdicts([results.warm, results.unchanged]),
            Verdict(
                top_rss <= MAX_RSS_GROWTH * first_rss,
                f"export peak RSS flat: {mib(top_rss)} MiB at {top_envs} envs vs "
                f"{mib(first_rss)} MiB at {first_envs} "
                f"({top_rss / first_rss:.2f}x; target <= {MAX_RSS_GROWTH}x)",
            ),
        ]


class Results(NamedTuple):
    """Every measurement of one benchmark run."""

    generated: GeneratedRoot
    floor: dict[str, int]  # what the floor read, and its peak RSS
    cold: tuple[float, float] | None  # floor and export wall seconds, tree evicted
    warm: CaseResult
    unchanged: CaseResult  # full export vs the export of an unchanged root
    memory: list[tuple[int, float, float]]  # envs, export peak RSS KiB, wall seconds
    loop: CondaLoop


class CondaLoop(NamedTuple):
    """conda's per-environment runs on the sampled envs, and what conda did to them."""

    names: tuple[str, ...]
    exports: tuple[ProcessSample, ...]
    lists: tuple[ProcessSample, ...]
    listing_problem: str | None  # None: `conda list --json` showed every package
    changed: tuple[str, ...]  # sampled envs whose conda-meta/ listing conda changed

    @property
    def per_env_s(self) -> list[float]:
        return [e.wall_s + li.wall_s for e, li in zip(self.exports, self.lists, strict=True)]

    def estimate_s(self, envs: int) -> float:
        """The whole loop over `envs` environments: the sample's mean per env, times envs."""
        return sum(self.per_env_s) / len(self.per_env_s) * envs


def _listing(prefix: Path) -> list[str]:
    return sorted(os.listdir(prefix / "conda-meta"))


def peak_rss_kib() -> int:
    """This process's own peak resident memory, counted from its exec (Linux VmHWM)."""
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    raise RuntimeError("no VmHWM in /proc/self/status")


def run_reporting_peak(report: Path, module_argv: Sequence[str]) -> None:
    """`python -m MODULE ARGS...` in this process; at exit, write its peak RSS (KiB) to report."""
    import atexit
    import runpy

    if module_argv[:1] != ["-m"] or len(module_argv) < 2:
        raise SystemExit("usage: export_speed.py --peak-rss-to FILE -m MODULE [ARGS...]")
    atexit.register(lambda: report.write_text(str(peak_rss_kib())))
    sys.path[0] = os.getcwd()  # as `python -m` has it, not this script's folder
    sys.argv = [module_argv[1], *module_argv[2:]]
    runpy.run_module(module_argv[1], run_name="__main__", alter_sys=True)


if __name__ == "__main__":
    if sys.argv[1:2] == ["--floor"] and len(sys.argv) == 3:
        print(json.dumps({**read_floor(Path(sys.argv[2])), "peak_rss_kib": peak_rss_kib()}))
        sys.exit(0)
    if sys.argv[1:2] == ["--peak-rss-to"] and len(sys.argv) > 3:
        run_reporting_peak(Path(sys.argv[2]), sys.argv[3:])
        sys.exit(0)
    sys.exit(main(sys.argv[1:]))
