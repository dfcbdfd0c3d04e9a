"""Shared benchmark helpers: repeat, take medians, measure child processes, print ratio tables."""

from __future__ import annotations

import json
import math
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any


class BenchmarkError(RuntimeError):
    """A measured command failed, so its timings would mean nothing."""


@dataclass(frozen=True)
class Stats:
    """Summary of repeated measurements of one quantity: median, its 95% interval, extremes."""

    median: float
    #: distribution-free 95% confidence interval of the median (order statistics)
    median_low: float
    median_high: float
    low: float
    high: float
    count: int

    @classmethod
    def of(cls, samples: Sequence[float]) -> Stats:
        if not samples:
            raise ValueError("no samples to summarise")
        ordered = sorted(samples)
        count = len(ordered)
        # The median lies between the k-th smallest and k-th largest sample with ~95%
        # probability whatever the distribution; timings on shared hosts are far from normal.
        k = max(1, math.floor((count - 1.96 * math.sqrt(count)) / 2))
        return cls(
            statistics.median(ordered),
            ordered[k - 1],
            ordered[count - k],
            ordered[0],
            ordered[-1],
            count,
        )


@dataclass(frozen=True)
class ProcessSample:
    """One finished child process: wall and CPU time, and peak resident memory.

    peak_rss_kib is wait4's ru_maxrss. On Linux that also covers the moment before exec, when
    the child was still a copy of this process, so it is at least this process's own size:
    compare it between commands started from the same parent; for a child's own absolute
    peak, have it report /proc/self/status VmHWM (as export_speed.py does).
    """

    wall_s: float
    cpu_s: float
    peak_rss_kib: int


@dataclass(frozen=True)
class ProcessStats:
    """Medians (and ranges) of a command run many times."""

    wall_s: Stats
    cpu_s: Stats
    peak_rss_kib: Stats

    @classmethod
    def of(cls, samples: Sequence[ProcessSample]) -> ProcessStats:
        return cls(
            wall_s=Stats.of([s.wall_s for s in samples]),
            cpu_s=Stats.of([s.cpu_s for s in samples]),
            peak_rss_kib=Stats.of([float(s.peak_rss_kib) for s in samples]),
        )


@dataclass(frozen=True)
class Command:
    """A child process to measure; `env` entries override (or, when None, remove) variables."""

    argv: tuple[str, ...]
    env: Mapping[str, str | None] = field(default_factory=dict)


@dataclass(frozen=True)
class Case:
    """One comparison: the plain conda way (baseline) and the same job with conda-shared."""

    name: str
    baseline: Command
    candidate: Command
    #: largest acceptable median of candidate/baseline wall-time ratios; None: report only
    max_ratio: float | None = None


@dataclass(frozen=True)
class CaseResult:
    """Both sides of a Case, measured; ratios are candidate/baseline per interleaved pair."""

    case: Case
    baseline: ProcessStats
    candidate: ProcessStats
    wall_ratio: Stats
    cpu_ratio: Stats


@dataclass(frozen=True)
class Verdict:
    """One target checked: a PASS/FAIL line with the numbers behind it."""

    passed: bool
    text: str


def child_env(overrides: Mapping[str, str | None]) -> dict[str, str]:
    env = dict(os.environ)
    for name, value in overrides.items():
        if value is None:
            env.pop(name, None)
        else:
            env[name] = value
    return env


def failure(command: Command, returncode: int, stderr: str) -> BenchmarkError:
    tail = stderr.strip().splitlines()[-5:]
    return BenchmarkError(f"{' '.join(command.argv)} exited {returncode}: " + " | ".join(tail))


def run_process(command: Command) -> ProcessSample:
    """Run `command` once, output discarded; raise BenchmarkError with its stderr if it fails."""
    with tempfile.TemporaryFile() as stderr:
        start = time.perf_counter()
        process = subprocess.Popen(
            command.argv,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=stderr,
            env=child_env(command.env),
        )
        # wait4 gives this child's own rusage; RUSAGE_CHILDREN's ru_maxrss is a running
        # maximum over all children, so it cannot be split per run.
        _, status, usage = os.wait4(process.pid, 0)
        wall = time.perf_counter() - start
        process.returncode = os.waitstatus_to_exitcode(status)
        if process.returncode != 0:
            stderr.seek(0)
            raise failure(command, process.returncode, stderr.read().decode(errors="replace"))
    # ru_maxrss is KiB on Linux (bytes on macOS; this harness targets Linux hosts).
    return ProcessSample(wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss)


def run_json_probe(command: Command) -> dict[str, Any]:
    """Run a probe script that prints one JSON object as its last stdout line; return it."""
    completed = subprocess.run(
        command.argv,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        env=child_env(command.env),
        check=False,
    )
    lines = completed.stdout.strip().splitlines()
    if completed.returncode != 0 or not lines:
        raise failure(command, completed.returncode, completed.stderr or "printed nothing")
    result: dict[str, Any] = json.loads(lines[-1])
    return result


def time_callable(function: Callable[[], object], *, runs: int, warmup: int = 1) -> Stats:
    """Seconds per call of `function`, over `runs` calls after `warmup` unrecorded ones."""
    for _ in range(warmup):
        function()
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        function()
        samples.append(time.perf_counter() - start)
    return Stats.of(samples)


def run_case(
    case: Case,
    *,
    runs: int,
    warmup: int = 1,
    progress: Callable[[str], None] | None = None,
) -> CaseResult:
    """Run baseline and candidate `runs` times each, interleaved ABBA so drift cancels out."""
    for _ in range(warmup):
        run_process(case.baseline)
        run_process(case.candidate)
    baseline: list[ProcessSample] = []
    candidate: list[ProcessSample] = []
    for index in range(runs):
        pairs = [(case.baseline, baseline), (case.candidate, candidate)]
        for command, samples in pairs if index % 2 == 0 else reversed(pairs):
            samples.append(run_process(command))
        if progress is not None:
            progress(f"{case.name}: {index + 1}/{runs}")
    # Ratios within each adjacent pair: a burst of load elsewhere hits both sides of a pair.
    return CaseResult(
        case,
        ProcessStats.of(baseline),
        ProcessStats.of(candidate),
        wall_ratio=Stats.of(
            [c.wall_s / b.wall_s for b, c in zip(baseline, candidate, strict=True)]
        ),
        cpu_ratio=Stats.of([c.cpu_s / b.cpu_s for b, c in zip(baseline, candidate, strict=True)]),
    )


def run_cases(cases: Sequence[Case], *, runs: int) -> list[CaseResult]:
    """run_case for each case, with a progress line that is cleared however it ends."""
    try:
        return [run_case(case, runs=runs, progress=progress_line) for case in cases]
    finally:
        progress_line("")


def format_table(header: Sequence[str], rows: Sequence[Sequence[str]], indent: str = "  ") -> str:
    """Columns padded to fit; the first column left-aligned, the others right-aligned."""
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]

    def line(cells: Sequence[str]) -> str:
        first, *rest = cells
        padded = [first.ljust(widths[0])]
        padded += [cell.rjust(width) for cell, width in zip(rest, widths[1:], strict=True)]
        return (indent + "  ".join(padded)).rstrip()

    return "\n".join([line(header), *(line(row) for row in rows)])


def case_table(results: Sequence[CaseResult]) -> str:
    """Medians of baseline and candidate, their ratio, and each side's peak RSS."""
    header = [
        "case",
        "baseline",
        "candidate",
        "ratio",
        "95% CI",
        "cpu ratio",
        "peak RSS base/cand",
    ]
    rows = [
        [
            result.case.name,
            f"{result.baseline.wall_s.median * 1000:.1f} ms",
            f"{result.candidate.wall_s.median * 1000:.1f} ms",
            f"{result.wall_ratio.median:.3f}x",
            f"{result.wall_ratio.median_low:.3f}-{result.wall_ratio.median_high:.3f}",
            f"{result.cpu_ratio.median:.3f}x",
            f"{mib(result.baseline.peak_rss_kib.median)} / "
            f"{mib(result.candidate.peak_rss_kib.median)} MiB",
        ]
        for result in results
    ]
    return format_table(header, rows)


def load_note() -> str:
    """How busy the machine is, so a reader can judge how noisy the wall times are."""
    load = os.getloadavg()[0]
    cpus = os.cpu_count() or 1
    busy = " (busy: wall times are noisy; rerun when idle)" if load > cpus / 2 else ""
    return f"machine load {load:.2f} on {cpus} CPUs{busy}"


def mib(kib: float) -> str:
    return f"{kib / 1024:.1f}"


def case_verdicts(results: Sequence[CaseResult]) -> list[Verdict]:
    """A verdict for each case that has a target ratio, saying when noise could flip it."""
    verdicts = []
    for result in results:
        target = result.case.max_ratio
        if target is None:
            continue
        ratio = result.wall_ratio
        undecided = ratio.median_low <= target < ratio.median_high
        verdicts.append(
            Verdict(
                ratio.median <= target,
                f"{result.case.name}: candidate/baseline wall time, median of pairs "
                f"{ratio.median:.3f} (95% CI {ratio.median_low:.3f}-{ratio.median_high:.3f}; "
                f"target <= {target})"
                + ("; noise spans the target: rerun idle or with more --runs" if undecided else ""),
            )
        )
    return verdicts


def print_verdicts(verdicts: Sequence[Verdict]) -> bool:
    """Print one PASS/FAIL line per target; True when all passed."""
    for verdict in verdicts:
        print(f"{'PASS' if verdict.passed else 'FAIL'}  {verdict.text}")
    return all(verdict.passed for verdict in verdicts)


def progress_line(message: str) -> None:
    """Overwrite one status line on stderr, only when a person is watching."""
    if sys.stderr.isatty():
        sys.stderr.write(f"\r\033[K{message}")
        sys.stderr.flush()
