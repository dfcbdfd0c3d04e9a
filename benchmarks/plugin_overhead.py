"""Benchmark what the conda-shared plugin adds to every conda command, in-process and whole.

usage: python benchmarks/plugin_overhead.py [--runs N]
Run it with the Python of a conda installation that has conda-shared installed.

Targets (issue 2): at most 5 ms in-process (import + hooks + parser), at most 3% on the median
wall time of `conda info --json`, and plugin.py importing nothing beyond conda's plugin types.
Exit status 0 when every target passes, 1 when one fails, 2 when it cannot run.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import statistics
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness import (
    BenchmarkError,
    Case,
    CaseResult,
    Command,
    Stats,
    Verdict,
    case_table,
    case_verdicts,
    format_table,
    load_note,
    print_verdicts,
    progress_line,
    run_cases,
    run_json_probe,
)

HERE = Path(__file__).resolve().parent
DISTRIBUTION = "conda-shared"
PLUGIN_MODULE = "conda_shared.plugin"
MAX_IN_PROCESS_MS = 5.0
MAX_INFO_RATIO = 1.03
MEMORY_RUNS = 3
PARSER_ROUNDS = 10


@dataclass(frozen=True)
class InProcess:
    """Medians over fresh interpreters of what the plugin costs inside one conda process."""

    import_ms: Stats
    hooks_ms: dict[str, Stats | None]
    parser_with_ms: Stats
    parser_without_ms: Stats
    parser_added_ms: Stats
    imported_by_plugin: list[str]
    imported_by_hooks: dict[str, list[str]]
    retained_kib: float
    peak_kib: float

    @property
    def total_ms(self) -> float:
        # An upper bound: every hookimpl's first call counts, though conda calls some only
        # on some commands (conda_settings when a command reads context.plugins; neither
        # info nor list does). A parser difference below zero is noise: counted as nothing.
        hooks = sum(stats.median for stats in self.hooks_ms.values() if stats is not None)
        return self.import_ms.median + hooks + max(self.parser_added_ms.median, 0.0)


def conda_version() -> str | None:
    try:
        import conda
    except ImportError:
        return None
    return str(conda.__version__)


def external_plugins() -> list[str]:
    # Walk distributions as conda does: entry_points(group=...) needs Python 3.10.
    return sorted(
        f"{entry.name} ({entry.value})"
        for dist in importlib.metadata.distributions()
        for entry in dist.entry_points
        if entry.group == "conda"
    )


def conda_command(
    arguments: Sequence[str], *, with_plugin: bool, env: dict[str, str | None]
) -> Command:
    hide = () if with_plugin else ("--hide", DISTRIBUTION)
    return Command((sys.executable, str(HERE / "run_conda.py"), *hide, *arguments), env)


def plugin_case(
    arguments: Sequence[str], *, max_ratio: float | None, env: dict[str, str | None]
) -> Case:
    """One conda command, the plugin hidden (baseline) against installed (candidate)."""
    return Case(
        f"conda {' '.join(arguments)}",
        baseline=conda_command(arguments, with_plugin=False, env=env),
        candidate=conda_command(arguments, with_plugin=True, env=env),
        max_ratio=max_ratio,
    )


def registered_plugins(*, with_plugin: bool, env: dict[str, str | None]) -> list[str]:
    names: Any = run_json_probe(conda_command(["--list-plugins"], with_plugin=with_plugin, env=env))
    return list(names)


def measure_in_process(runs: int, env: dict[str, str | None]) -> InProcess:
    probe = (sys.executable, str(HERE / "plugin_probe.py"))
    timing = Command((*probe, "--parser-rounds", str(PARSER_ROUNDS)), env)
    run_json_probe(timing)  # fills the bytecode cache; not recorded
    samples = []
    for index in range(runs):
        samples.append(run_json_probe(timing))
        progress_line(f"in-process: {index + 1}/{runs}")
    memory = [run_json_probe(Command((*probe, "--memory"), env)) for _ in range(MEMORY_RUNS)]

    def ms(values: Sequence[float]) -> Stats:
        return Stats.of([value * 1000 for value in values])

    hook_names = sorted(samples[0]["hooks_s"])
    hooks: dict[str, Stats | None] = {}
    for name in hook_names:
        seconds = [sample["hooks_s"][name] for sample in samples]
        hooks[name] = None if None in seconds else ms(seconds)
    with_plugin = [s for sample in samples for s in sample["parser_with_s"]]
    without_plugin = [s for sample in samples for s in sample["parser_without_s"]]
    # Rounds alternate with/without inside each probe, so pairwise differences cancel drift.
    added = [w - wo for w, wo in zip(with_plugin, without_plugin, strict=True)]
    return InProcess(
        import_ms=ms([sample["import_s"] for sample in samples]),
        hooks_ms=hooks,
        parser_with_ms=ms(with_plugin),
        parser_without_ms=ms(without_plugin),
        parser_added_ms=ms(added),
        imported_by_plugin=list(samples[0]["imported_by_plugin"]),
        imported_by_hooks=dict(samples[0]["imported_by_hooks"]),
        retained_kib=statistics.median(m["retained_bytes"] for m in memory) / 1024,
        peak_kib=statistics.median(m["peak_bytes"] for m in memory) / 1024,
    )


def in_process_table(result: InProcess) -> str:
    def row(label: str, stats: Stats) -> list[str]:
        return [label, f"{stats.median:.3f}", f"{stats.low:.3f}", f"{stats.high:.3f}"]

    rows = [row(f"import {PLUGIN_MODULE}", result.import_ms)]
    for name, stats in result.hooks_ms.items():
        if stats is None:
            rows.append([f"hook {name}: not called (arguments unknown)", "-", "-", "-"])
        else:
            rows.append(row(f"hook {name} (first call)", stats))
    rows.append(row("generate_parser() with plugin", result.parser_with_ms))
    rows.append(row("generate_parser() without plugin", result.parser_without_ms))
    rows.append(row("generate_parser() added (paired)", result.parser_added_ms))
    rows.append(["total added (import + hooks + parser)", f"{result.total_ms:.3f}", "", ""])
    table = format_table(["step", "median ms", "min", "max"], rows)
    imports = [
        f"\n  first {name}() imports: {', '.join(modules)}"
        for name, modules in result.imported_by_hooks.items()
        if modules
    ]
    return table + "".join(imports)


def only_plugin_types(imported: Sequence[str]) -> bool:
    own = {"conda_shared", PLUGIN_MODULE}
    return all(name in own or name.startswith("conda.plugins.") for name in imported)


def verdicts(in_process: InProcess, results: Sequence[CaseResult]) -> list[Verdict]:
    return [
        Verdict(
            in_process.total_ms <= MAX_IN_PROCESS_MS,
            f"in-process: plugin adds {in_process.total_ms:.2f} ms "
            f"(target <= {MAX_IN_PROCESS_MS:.0f} ms)",
        ),
        *case_verdicts(results),
        Verdict(
            only_plugin_types(in_process.imported_by_plugin),
            f"import {PLUGIN_MODULE} loads only: {', '.join(in_process.imported_by_plugin)} "
            "(target: conda_shared, the plugin module, conda.plugins.*)",
        ),
    ]


def main(argv: Sequence[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--runs", type=int, default=25, help="fresh processes per measurement (default 25)"
    )
    runs: int = parser.parse_args(argv).runs
    if runs < 1:
        parser.error("--runs must be at least 1")
    version = conda_version()
    if version is None:
        print(
            f"conda is not importable by {sys.executable}: "
            "run this with the python of a conda installation"
        )
        return 2
    with tempfile.TemporaryDirectory(prefix="conda-shared-bench-pyc-") as bytecode:
        # Installed conda and plugins run from compiled bytecode; PYTHONDONTWRITEBYTECODE (set
        # on dev machines, and editable installs have no __pycache__) would make every run
        # compile the plugin from source. A private cache gives both arms the installed case.
        env: dict[str, str | None] = {
            "PYTHONDONTWRITEBYTECODE": None,
            "PYTHONPYCACHEPREFIX": bytecode,
        }
        return report(version, runs, env)


def report(version: str, runs: int, env: dict[str, str | None]) -> int:
    print(
        f"conda-shared plugin overhead: conda {version}, "
        f"Python {sys.version.split()[0]}, {sys.prefix}"
    )
    print(f"external conda plugins installed: {', '.join(external_plugins()) or 'none'}")
    print(load_note())
    try:
        loaded = registered_plugins(with_plugin=True, env=env)
        hidden = registered_plugins(with_plugin=False, env=env)
        if PLUGIN_MODULE not in loaded or PLUGIN_MODULE in hidden:
            print(f"cannot compare: registered with plugin {loaded}, without {hidden}")
            return 2
        print(f"registered plugins: with {loaded}; without {hidden} ({DISTRIBUTION} hidden)")
        print(f"\nIn-process, conda already imported (median of {runs} fresh interpreters)")
        in_process = measure_in_process(runs, env)
        progress_line("")
        print(in_process_table(in_process))
        print(
            f"  memory (tracemalloc, import + first hook calls): "
            f"{in_process.retained_kib:.0f} KiB retained, {in_process.peak_kib:.0f} KiB peak"
        )
        cases = [
            plugin_case(["info", "--json"], max_ratio=MAX_INFO_RATIO, env=env),
            plugin_case(["list", "-n", "base"], max_ratio=None, env=env),
        ]
        print(
            f"\nWhole process: baseline = {DISTRIBUTION} hidden, candidate = installed "
            f"(median of {runs}, interleaved)"
        )
        results = run_cases(cases, runs=runs)
    except BenchmarkError as error:
        progress_line("")
        print(f"benchmark failed: {error}")
        return 2
    print(case_table(results))
    info = results[0].baseline.wall_s.median * 1000
    print(
        f"  in-process cost {in_process.total_ms:.2f} ms is {in_process.total_ms / info:.2%} of "
        f"conda info --json ({info:.0f} ms): the ratio a noiseless host would show, at most"
    )
    print(f"  {load_note()}\n")
    return 0 if print_verdicts(verdicts(in_process, results)) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
