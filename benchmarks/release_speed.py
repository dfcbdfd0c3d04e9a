"""Benchmark `conda shared release`: the switch under readers, the inconsistency window of an
update, and a release's wall time against `conda install -n NAME PKG` in place.

usage: python benchmarks/release_speed.py [--switches N] [--packages P] [--records R]
                                          [--workdir DIR]
Run it with a Python where conda imports (it builds its installation with that conda), e.g.
/opt/condas/venv-26.7.1/bin/python benchmarks/release_speed.py   (about 5 minutes)

1. The switch: two readers resolve ROOT/current/envs/NAME/bin/python and open a file under it,
   in a loop, while envs/NAME is switched between two releases N (default 10,000) times by
   conda-shared's switch (temp link + rename); then the same with unlink + symlink (how
   conda-store switches). Target: 0 failed lookups with conda-shared's switch.
2. An update of one package (pkg-000 1.0 -> 1.1, 40 files each) in a P-package (default 150) env
   on a channel whose repodata also holds R (default 20,000) other records, as the replicate
   benchmark's does: `conda install -n inplace pkg-000=1.1` into a plain env, then
   `conda shared release bench --update pkg-000 --yes` of the release-managed twin, same conda,
   same warm package cache. A watcher polls both envs through their names during the runs and
   reports how long each was inconsistent (files of neither version complete: some of the old
   gone or some of the new there, not all). Target: 0 for the release.
3. Wall time of both, with the release's phases (solve, build, smoke, publish and switch) from
   its progress lines, and conda-shared's own CPU (its Python process, outside every conda and
   smoke subprocess) against the release's wall time. Target: under 5%.
Exit status 0 when every target passes, 1 when one fails, 2 when it cannot run.
"""

from __future__ import annotations

import argparse
import itertools
import json
import multiprocessing
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))  # tests.support builds the channel and the installation
sys.path.insert(0, str(HERE))

FIRST = "2026.01.01"
UPDATED = "pkg-000"
FILES = 40
MAX_OWN_SHARE = 0.05


@dataclass(frozen=True)
class SwitchResult:
    way: str
    switches: int
    seconds: float
    lookups: int
    failed: int


def main(argv: Sequence[str]) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--switches", type=int, default=10_000)
    parser.add_argument("--packages", type=int, default=150)
    parser.add_argument("--records", type=int, default=20_000)
    parser.add_argument("--workdir", type=Path)
    args = parser.parse_args(argv)
    try:
        import conda
    except ImportError:
        print(f"conda is not importable by {sys.executable}: run this with a conda's python")
        return 2
    from harness import BenchmarkError, load_note, print_verdicts

    print(
        f"conda-shared release benchmark: conda {conda.__version__}, Python "
        f"{sys.version.split()[0]}; {load_note()}"
    )
    with tempfile.TemporaryDirectory(prefix="conda-shared-release-bench-") as scratch:
        work = (args.workdir or Path(scratch)).absolute()
        work.mkdir(parents=True, exist_ok=True)
        try:
            verdicts = [switch_benchmark(work / "switch", args.switches)]
            verdicts += update_benchmark(work / "update", args.packages, args.records)
        except BenchmarkError as error:
            print(f"benchmark failed: {error}")
            return 2
    return 0 if print_verdicts(verdicts) else 1


# --- 1. the switch under two readers ---------------------------------------------------------


def _reader(root: str, stop: multiprocessing.synchronize.Event, counts: list[int]) -> None:
    lookups = failed = 0
    python = os.path.join(root, "current", "envs", "bench", "bin", "python")
    while not stop.is_set():
        lookups += 1
        try:
            real = os.path.realpath(python, strict=True)
            with open(os.path.join(os.path.dirname(os.path.dirname(real)), "lib", "data.txt")):
                pass
        except OSError:
            failed += 1
    counts[0], counts[1] = lookups, failed


def switch_benchmark(work: Path, switches: int) -> object:
    from harness import Verdict, format_table

    from conda_shared.release.journal import point_at

    inst = work / "v1"
    for release_id in (FIRST, f"{FIRST}a"):
        prefix = inst / "envs" / ".releases" / "bench" / release_id
        (prefix / "bin").mkdir(parents=True)
        (prefix / "lib").mkdir()
        (prefix / "bin" / "python").write_text("")
        (prefix / "lib" / "data.txt").write_text(release_id)
    (work / "current").symlink_to("v1")
    link = inst / "envs" / "bench"

    def plain_switch(inst: Path, name: str, release_id: str) -> None:
        link.unlink(missing_ok=True)
        link.symlink_to(f".releases/{name}/{release_id}")

    results = []
    for way, switch in (
        ("conda-shared (temp link + rename)", point_at),
        ("unlink + symlink", plain_switch),
    ):
        point_at(inst, "bench", FIRST)
        stop = multiprocessing.Event()
        manager = multiprocessing.Manager()
        counts = [manager.list([0, 0]) for _ in range(2)]
        readers = [
            multiprocessing.Process(target=_reader, args=(str(work), stop, c)) for c in counts
        ]
        for reader in readers:
            reader.start()
        time.sleep(0.2)
        started = time.perf_counter()
        for index in range(switches):
            switch(inst, "bench", FIRST if index % 2 else f"{FIRST}a")
        seconds = time.perf_counter() - started
        stop.set()
        for reader in readers:
            reader.join()
        lookups, failed = sum(c[0] for c in counts), sum(c[1] for c in counts)
        manager.shutdown()
        results.append(SwitchResult(way, switches, seconds, lookups, failed))
    print("1. switch envs/bench between two releases under 2 readers")
    rows = [
        [
            r.way,
            str(r.switches),
            f"{r.seconds / r.switches * 1e6:.0f} us",
            str(r.lookups),
            str(r.failed),
        ]
        for r in results
    ]
    print(format_table(["", "switches", "per switch", "lookups", "failed"], rows))
    ours = results[0]
    return Verdict(
        ours.failed == 0,
        f"conda-shared's switch: {ours.failed} failed lookups of {ours.lookups} (target 0)",
    )


# --- 2 and 3. an update in place against a release --------------------------------------------


def _watch(prefixes: dict[str, str], old: list[str], new: list[str], out: str) -> None:
    """Poll each env's files of the updated package until killed; write, per env, the seconds
    it spent in neither complete state."""
    windows = dict.fromkeys(prefixes, 0.0)
    since: dict[str, float | None] = dict.fromkeys(prefixes)

    def save() -> None:
        with open(out, "w") as stream:
            json.dump(windows, stream)

    import signal

    def finish(*_: object) -> None:
        now = time.perf_counter()
        for name, start in since.items():
            if start is not None:
                windows[name] += now - start
        save()
        os._exit(0)

    signal.signal(signal.SIGTERM, finish)
    while True:
        for name, prefix in prefixes.items():
            # One resolution per look, as a process opening files under envs/NAME resolves it
            # per lookup: an in-place env is one folder, a release env is one release per look.
            base = os.path.realpath(prefix)
            olds = sum(os.path.exists(os.path.join(base, p)) for p in old)
            news = sum(os.path.exists(os.path.join(base, p)) for p in new)
            consistent = (olds, news) in ((len(old), 0), (0, len(new)))
            now = time.perf_counter()
            if not consistent and since[name] is None:
                since[name] = now
            elif consistent and since[name] is not None:
                windows[name] += now - (since[name] or now)
                since[name] = None


def update_benchmark(work: Path, packages: int, records: int) -> list[object]:
    from harness import BenchmarkError, Command, Verdict, format_table, mib, run_process
    from replicate_speed import _PROBE, USAGE_VARIABLE, grow_repodata

    from tests.support.channel import Channel
    from tests.support.installation import installation_environ, make_installation, run_in

    work.mkdir(parents=True)
    channel = Channel(work / "channel")
    channel.add_python()
    channel.add_pip()
    names = [f"pkg-{index:03d}" for index in range(packages - 2)]
    for name in names:
        channel.add(name, "1.0", files={f"share/{name}/f{i}.txt": b"1.0\n" * 20 for i in range(5)})
    old = [f"share/{UPDATED}/old-{i}.txt" for i in range(FILES)]
    new = [f"share/{UPDATED}/new-{i}.txt" for i in range(FILES)]
    channel.add(UPDATED, "1.0", build="1", build_number=1, files=dict.fromkeys(old, b"1.0\n" * 200))
    channel.index()
    root = work / "root"
    root.mkdir()
    home = work / "home"
    inst = make_installation(
        root / "v1", channel_urls=[channel.url], work=work, with_conda_shared=True
    )
    (root / "current").symlink_to("v1")
    specs = ["python", "pip", *names]
    for prefix in (inst / "envs" / "inplace", inst / "envs" / ".releases" / "bench" / FIRST):
        created = run_in(inst, "-m", "conda", "create", "-y", "-q", "-p", prefix, *specs, home=home)
        if created.returncode != 0:
            raise BenchmarkError(f"creating {prefix} failed: {created.stderr[-500:]}")
    os.symlink(f".releases/bench/{FIRST}", inst / "envs" / "bench")
    channel.add(UPDATED, "1.1", build="1", build_number=1, files=dict.fromkeys(new, b"1.1\n" * 200))
    channel.index()
    total = grow_repodata(channel.root, [], extra=records, subdir=channel.subdir)
    print(f"2. update {UPDATED} 1.0 -> 1.1 in a {packages}-package env; channel of {total} records")

    out = work / "windows.json"
    watcher = multiprocessing.Process(
        target=_watch,
        args=(
            {"in place": str(inst / "envs" / "inplace"), "release": str(inst / "envs" / "bench")},
            old,
            new,
            str(out),
        ),
    )
    watcher.start()
    environ = installation_environ(home)
    conda_install = Command(
        (
            str(inst / "bin" / "python"),
            "-m",
            "conda",
            "install",
            "-y",
            "-q",
            "-n",
            "inplace",
            f"{UPDATED}=1.1",
        ),
        {**{k: None for k in os.environ if k not in environ}, **environ},
    )
    in_place = run_process(conda_install)
    probe = work / "probe"
    probe.mkdir()
    (probe / "sitecustomize.py").write_text(_PROBE)
    usage_file = work / "own-usage.jsonl"
    env = {
        **os.environ,
        "HOME": str(home),
        "PYTHONPATH": os.pathsep.join([str(probe), str(HERE.parent)]),
        USAGE_VARIABLE: str(usage_file),
    }
    argv = [
        sys.executable,
        "-m",
        "conda_shared",
        "release",
        "--root",
        str(root),
        "bench",
        "--update",
        UPDATED,
        "--yes",
    ]
    phases: list[tuple[float, str]] = []
    started = time.perf_counter()
    process = subprocess.Popen(
        argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
    )
    assert process.stderr is not None
    for line in process.stderr:
        phases.append((time.perf_counter() - started, line.strip()))
    _, status, usage = os.wait4(process.pid, 0)
    release_wall = time.perf_counter() - started
    if os.waitstatus_to_exitcode(status) != 0:
        raise BenchmarkError(f"release failed: {phases[-3:]}")
    watcher.terminate()
    watcher.join()
    windows = json.loads(out.read_text())
    own = [json.loads(line) for line in usage_file.read_text().splitlines()]
    ours = [r for r in own if "conda_shared" in " ".join(r["argv"])] or own[:1]
    own_cpu = sum(r["cpu_s"] for r in ours)
    rows = [
        [
            f"conda install -n inplace {UPDATED}=1.1",
            f"{in_place.wall_s:.1f} s",
            f"{in_place.cpu_s:.1f} s",
            f"{mib(in_place.peak_rss_kib)} MiB",
            f"{windows['in place'] * 1000:.0f} ms",
        ],
        [
            f"conda shared release bench --update {UPDATED}",
            f"{release_wall:.1f} s",
            f"{usage.ru_utime + usage.ru_stime:.1f} s",
            f"{mib(usage.ru_maxrss)} MiB",
            f"{windows['release'] * 1000:.0f} ms",
        ],
        [
            "  of which conda-shared's own process",
            "",
            f"{own_cpu:.2f} s",
            f"{mib(max(r['peak_kib'] for r in ours))} MiB",
            "",
        ],
    ]
    print(format_table(["", "wall", "cpu (tree)", "peak RSS", "inconsistent"], rows))
    marks = [(0.0, "start"), *phases, (release_wall, "done")]
    steps = [
        f"{label.split(' ')[0]} {end - begin:.1f} s"
        for (begin, label), (end, _) in itertools.pairwise(marks)
    ]
    ratio = release_wall / in_place.wall_s
    print(f"3. release / install wall time {ratio:.2f}x; release phases: {', '.join(steps)}")
    share = own_cpu / release_wall
    print(f"   conda-shared's own CPU {own_cpu:.2f} s = {share:.1%} of the release's wall time")
    window, in_place_window = windows["release"] * 1000, windows["in place"] * 1000
    return [
        Verdict(
            window == 0,
            f"the release's inconsistency window {window:.0f} ms (target 0); in place "
            f"{in_place_window:.0f} ms",
        ),
        Verdict(
            share < MAX_OWN_SHARE,
            f"conda-shared's own share {share:.1%} of the release wall time "
            f"(target < {MAX_OWN_SHARE:.0%})",
        ),
    ]


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
