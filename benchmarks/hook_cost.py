"""Benchmark what conda-shared's policy hooks add to a conda command, hook on against hook off.

usage: python benchmarks/hook_cost.py [--runs N] [--whole]
Run it with the Python of a conda installation that has conda-shared installed, e.g.
/work/tools/conda-26.7.1/bin/python benchmarks/hook_cost.py

Targets (issue 4):
- the pre-command path adds at most 2 ms to `conda install --dry-run -n NAME pkg` on a config
  with 10 envs_dirs and 10 pkgs_dirs (half of them in the shared root, NAME in the user's own
  envs dir, shadow warnings on): median, in-process, of the one pre-command call a conda
  command makes, measured in fresh interpreters (so it includes the lazy imports and conda's
  plugin-settings load, which is what a user pays). The same command with `-c chan` is
  reported too: there the policy speaks (one warning), which also loads policy.py;
- the post-solve check is linear in the number of records: its cost per record at 10000
  records is at most 1.5 times its cost per record at 1000.
--whole also compares the whole `conda install --dry-run` process with the plugin hidden
(run_conda.py) and installed: report only, the solve's noise is larger than the target.
Exit status 0 when every target passes, 1 when one fails, 2 when it cannot run.
"""

from __future__ import annotations

import argparse
import gc
import json
import statistics
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from harness import (
    BenchmarkError,
    Case,
    Command,
    Stats,
    Verdict,
    case_table,
    format_table,
    print_verdicts,
    progress_line,
    run_cases,
    run_json_probe,
)

HERE = Path(__file__).resolve().parent
PLUGIN = "conda_shared.plugin"
DIRS = 10
ENV_NAME = "analysis"
MAX_PRE_COMMAND_MS = 2.0
MAX_PER_RECORD_GROWTH = 1.5
RECORD_COUNTS = (100, 1000, 10000)
WARM_ROUNDS = 50
SIDES = ("on", "off", "settings-loaded")
#: the commands measured: the common case (the target), and -c (one warning printed)
SCENARIOS = {
    "install --dry-run -n NAME pkg": ["install", "--dry-run", "-n", ENV_NAME, "pkga"],
    "install --dry-run -n NAME -c chan pkg": [
        "install", "--dry-run", "-n", ENV_NAME, "-c", "conda-forge", "pkga",
    ],
}  # fmt: skip
WHOLE_SCENARIO = "install --dry-run -n NAME pkg"


# ---------------------------------------------------------------- the probe (child process)


def probe_pre_command(arguments: list[str], side: str) -> dict[str, Any]:
    """Set up conda's context as `conda ARGUMENTS` does, then time invoke_pre_commands.

    side: "on" (hook registered), "off" (blocked), or "settings-loaded" (registered, with
    conda's plugin settings, and so conda_shared.settings, loaded before the clock starts).
    """
    from conda.base.context import context
    from conda.cli.conda_argparse import generate_parser

    context.__init__(argparse_args=generate_parser().parse_args(arguments))
    manager = context.plugin_manager
    if side == "off":
        manager.set_blocked(PLUGIN)
    if side == "settings-loaded":
        getattr(context.plugins, "shared_root", None)
    start = time.perf_counter()
    manager.invoke_pre_commands(arguments[0])
    first = time.perf_counter() - start
    warm = []
    for _ in range(WARM_ROUNDS):
        start = time.perf_counter()
        manager.invoke_pre_commands(arguments[0])
        warm.append(time.perf_counter() - start)
    return {"first_s": first, "warm_s": statistics.median(warm)}


def probe_post_solve(count: int) -> dict[str, Any]:
    """Time the post-solve check over `count` records (1% from an unconfigured channel)."""
    from conda.base.context import context
    from conda.cli.conda_argparse import generate_parser
    from conda.models.channel import Channel
    from conda.models.records import PackageRecord

    from conda_shared.hooks import shadowing
    from conda_shared.settings import from_conda_context

    context.__init__(argparse_args=generate_parser().parse_args(["install", "pkg0"]))
    configured = Channel(f"{context.channels[0]}/linux-64")
    foreign = Channel("file:///elsewhere/retired/linux-64")
    records = [
        PackageRecord(
            name=f"pkg{index}",
            version="1.0",
            build="0",
            build_number=0,
            channel=foreign if index % 100 == 99 else configured,
            subdir="linux-64",
            fn=f"pkg{index}-1.0-0.tar.bz2",
        )
        for index in range(count)
    ]
    settings = from_conda_context(context)
    models = shadowing.RealCondaModels()
    samples = []
    gc.disable()  # a collection in one sample of 10000 records is not the check's cost
    for _ in range(9):
        start = time.perf_counter()
        shadowing.record_notices(records, context, settings, models)
        samples.append(time.perf_counter() - start)
    gc.enable()
    return {"seconds": statistics.median(samples)}


def probe(argv: list[str]) -> None:
    if argv[0] == "pre":
        result = probe_pre_command(list(SCENARIOS[argv[2]]), argv[1])
    else:
        result = probe_post_solve(int(argv[1]))
    print(json.dumps(result))


# ---------------------------------------------------------------- the benchmark (parent)


def make_config(where: Path) -> dict[str, str | None]:
    """10 envs dirs and 10 pkgs dirs, half of them in a shared root; NAME in the user's own."""
    root = where / "shared"
    envs = [root / f"envs{i}" for i in range(DIRS // 2)]
    envs += [where / "home" / f"envs{i}" for i in range(DIRS - DIRS // 2)]
    pkgs = [root / f"pkgs{i}" for i in range(DIRS // 2)]
    pkgs += [where / "home" / f"pkgs{i}" for i in range(DIRS - DIRS // 2)]
    for path in (*envs, *pkgs):
        path.mkdir(parents=True)
    (envs[-1] / ENV_NAME / "conda-meta").mkdir(parents=True)
    (envs[-1] / ENV_NAME / "conda-meta" / "history").write_text("")  # what makes it an env
    channel = where / "channel"
    pkga = {
        "pkga-1.0-0.tar.bz2": {
            "name": "pkga",
            "version": "1.0",
            "build": "0",
            "build_number": 0,
            "depends": [],
            "subdir": "noarch",
            "size": 1024,
            "md5": "0" * 32,
            "sha256": "0" * 64,
        }
    }  # a dry run needs repodata, no archive
    for subdir in ("noarch", "linux-64"):
        (channel / subdir).mkdir(parents=True)
        packages = pkga if subdir == "noarch" else {}
        (channel / subdir / "repodata.json").write_text(json.dumps({"packages": packages}))
    condarc = where / "condarc"
    condarc.write_text(
        "solver: classic\n"
        f"channels:\n  - {channel.as_uri()}\n"
        "envs_dirs:\n" + "".join(f"  - {p}\n" for p in envs)
        + "pkgs_dirs:\n" + "".join(f"  - {p}\n" for p in pkgs)
        + f"plugins:\n  shared_root: {root}\n  shared_channel_policy: warn\n"
    )  # fmt: skip
    return {
        "CONDARC": str(condarc),
        "HOME": str(where / "home"),
        "CONDA_PKGS_DIRS": None,
        "CONDA_ENVS_DIRS": None,
        "CONDA_PREFIX": None,
    }


def probe_command(env: dict[str, str | None], *args: str) -> Command:
    return Command((sys.executable, str(Path(__file__).resolve()), "--probe", *args), env)


def measure_pre_command(runs: int, env: dict[str, str | None]) -> dict[str, dict[str, Stats]]:
    results: dict[str, dict[str, Stats]] = {}
    for scenario in SCENARIOS:
        samples: dict[str, list[dict[str, Any]]] = {side: [] for side in SIDES}
        run_json_probe(probe_command(env, "pre", "on", scenario))  # bytecode cache, unrecorded
        for index in range(runs):
            for side in SIDES if index % 2 == 0 else reversed(SIDES):
                samples[side].append(run_json_probe(probe_command(env, "pre", side, scenario)))
            progress_line(f"{scenario}: {index + 1}/{runs}")
        results[scenario] = {
            f"{kind} {side}": Stats.of([s[f"{kind}_s"] * 1000 for s in samples[side]])
            for kind in ("first", "warm")
            for side in SIDES
        }
    return results


def measure_post_solve(env: dict[str, str | None]) -> dict[int, float]:
    seconds = {}
    for count in RECORD_COUNTS:
        runs = [run_json_probe(probe_command(env, "post", str(count)))["seconds"] for _ in range(3)]
        seconds[count] = statistics.median(runs)
    return seconds


def added_ms(stats: dict[str, Stats], kind: str, side: str = "on") -> float:
    return stats[f"{kind} {side}"].median - stats[f"{kind} off"].median


def report(runs: int, whole: bool, env: dict[str, str | None]) -> int:
    import conda

    print(f"conda-shared hook cost: conda {conda.__version__}, Python {sys.version.split()[0]}")
    print(f"config: {DIRS} envs_dirs, {DIRS} pkgs_dirs (half of each in the shared root)")
    try:
        pre = measure_pre_command(runs, env)
        post = measure_post_solve(env)
        cases = [
            Case(
                f"conda {' '.join(arguments)}",
                baseline=Command(
                    (sys.executable, str(HERE / "run_conda.py"), "--hide", "conda-shared",
                     *arguments), env),
                candidate=Command((sys.executable, str(HERE / "run_conda.py"), *arguments), env),
            )
            # offline, and only the common case: `-c conda-forge` would go to the network
            for arguments in [[*SCENARIOS[WHOLE_SCENARIO], "--offline"]]
        ] if whole else []  # fmt: skip
        results = run_cases(cases, runs=runs)
    except BenchmarkError as error:
        progress_line("")
        print(f"benchmark failed: {error}")
        return 2
    rows = []
    for scenario, stats in pre.items():
        for kind in ("first", "warm"):
            rows.append(
                [
                    f"{scenario} ({kind} call)",
                    f"{stats[f'{kind} off'].median:.3f}",
                    f"{stats[f'{kind} on'].median:.3f}",
                    f"{added_ms(stats, kind):+.3f}",
                ]
            )
    print(f"\nPre-command path, in-process (median of {runs} fresh interpreters each side)")
    print(format_table(["case", "hook off ms", "hook on ms", "added ms"], rows))
    print("\nPost-solve check (median of 3 probes x 9 calls)")
    per_record = {count: post[count] / count * 1e6 for count in RECORD_COUNTS}
    print(
        format_table(
            ["records", "total ms", "us per record"],
            [[str(c), f"{post[c] * 1000:.2f}", f"{per_record[c]:.2f}"] for c in RECORD_COUNTS],
        )
    )
    if results:
        print(f"\nWhole process, plugin hidden vs installed (median of {runs}, report only)")
        print(case_table(results))
    growth = per_record[RECORD_COUNTS[-1]] / per_record[RECORD_COUNTS[-2]]
    target, *others = SCENARIOS
    added = added_ms(pre[target], "first")
    for scenario, stats in pre.items():
        loaded = added_ms(stats, "first", "settings-loaded")
        print(
            f"info: `{scenario}`: {loaded:.3f} ms of the first call is the hooks package; the rest "
            "is loading conda's plugin settings (conda_shared.settings and PluginConfig)"
        )
    for scenario in others:
        print(f"info: `{scenario}` adds {added_ms(pre[scenario], 'first'):.3f} ms (first call)")
    verdicts = [
        Verdict(
            added <= MAX_PRE_COMMAND_MS,
            f"pre-command path adds {added:.3f} ms to `conda {target}` (first call, the one "
            f"a command makes; target <= {MAX_PRE_COMMAND_MS:.0f} ms)",
        ),
        Verdict(
            growth <= MAX_PER_RECORD_GROWTH,
            f"post-solve cost per record grows {growth:.2f}x from {RECORD_COUNTS[-2]} to "
            f"{RECORD_COUNTS[-1]} records (target <= {MAX_PER_RECORD_GROWTH}x: linear)",
        ),
    ]
    print()
    return 0 if print_verdicts(verdicts) else 1


def main(argv: Sequence[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=21, help="fresh processes per side (21)")
    parser.add_argument("--whole", action="store_true", help="also time whole conda processes")
    options = parser.parse_args(argv)
    if options.runs < 1:
        parser.error("--runs must be at least 1")
    try:
        import conda  # noqa: F401
    except ImportError:
        print(f"conda is not importable by {sys.executable}: run this with a conda's python")
        return 2
    with tempfile.TemporaryDirectory(prefix="conda-shared-hook-cost-") as scratch:
        env = make_config(Path(scratch))
        # Installed plugins run from bytecode; a private cache gives both sides that case.
        env.update(PYTHONDONTWRITEBYTECODE=None, PYTHONPYCACHEPREFIX=str(Path(scratch) / "pyc"))
        return report(options.runs, options.whole, env)


if __name__ == "__main__":
    if sys.argv[1:2] == ["--probe"]:
        probe(sys.argv[2:])
    else:
        sys.exit(main(sys.argv[1:]))
