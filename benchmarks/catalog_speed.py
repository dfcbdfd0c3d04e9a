"""Benchmark `conda-shared catalog` of a big installation against conda's loop, and its search.

usage: python benchmarks/catalog_speed.py [--envs N] [--packages M] [--runs R] [--conda-sample K]
                                          [--workdir DIR]
Run it with the Python of a conda installation that has conda-shared[catalog] installed, and
Playwright (pip install playwright; it drives Debian's /usr/bin/chromium, nothing downloaded):
/work/tools/conda-26.7.1/bin/python benchmarks/catalog_speed.py   (about 2 minutes)

It generates (or reuses) the root of benchmarks/generate.py (N environments x M packages) and
measures, each in its own process:
- the full catalog: `python -m conda_shared catalog --root ROOT --out DIR --full`;
- the incremental catalog of the unchanged root (every env's cache entry answers);
- conda's way to the same package lists: `conda list -p ENV --json` per environment (plain
  conda: conda-shared hidden), timed on K environments and scaled to N;
- in chromium headless: the size of search-index.js, the page's load, and each of a set of
  searches typed into the box (the time from the input event to the result list drawn).

Targets (issue 21): the index under 2 MiB and every search under 100 ms in the browser at
200 envs x 150 packages; the full catalog faster than conda's loop. Exit status 0 when every
target passes, 1 when one fails, 2 when it cannot run.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import argparse
    from collections.abc import Sequence

    from harness import Command, ProcessSample, Verdict

HERE = Path(__file__).resolve().parent
CHROMIUM = "/usr/bin/chromium"
MAX_INDEX_BYTES = 2 * 2**20
MAX_SEARCH_MS = 100.0
DISTRIBUTION = "conda-shared"
#: what users type: broad (most names match), common, exact with a version, and nothing found
QUERIES = ("p", "py", "numpy", "python 3.11", "python=3.11.9", "zzz-no-such-package")


def main(argv: Sequence[str]) -> int:
    import argparse
    import tempfile

    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    from generate import add_root_arguments

    add_root_arguments(parser)
    parser.add_argument("--runs", type=int, default=5, help="runs of each catalog (default 5)")
    args = parser.parse_args(argv)
    if args.runs < 1 or not 1 <= args.conda_sample <= args.envs:
        parser.error("need --runs >= 1 and 1 <= --conda-sample <= --envs")
    try:
        import conda
        import jinja2  # noqa: F401
        from playwright.sync_api import sync_playwright  # noqa: F401
    except ImportError as error:
        print(f"{sys.executable} cannot import {error.name}: see the usage above")
        return 2
    if not os.access(CHROMIUM, os.X_OK):
        print(f"no {CHROMIUM}: install Debian's chromium (apt-get install chromium)")
        return 2
    from harness import BenchmarkError

    os.chdir(HERE.parent)  # `python -m conda_shared` then runs this checkout's code
    with tempfile.TemporaryDirectory(prefix="conda-shared-bench-") as scratch:
        env: dict[str, str | None] = {
            "PYTHONDONTWRITEBYTECODE": None,
            "PYTHONPYCACHEPREFIX": str(Path(scratch) / "pyc"),
        }
        try:
            return run(args, str(conda.__version__), env, Path(scratch))
        except BenchmarkError as error:
            print(f"benchmark failed: {error}")
            return 2


def command(env: dict[str, str | None], *argv: str) -> Command:
    from harness import Command

    return Command((sys.executable, *argv), env)


def run(
    args: argparse.Namespace, conda_version: str, env: dict[str, str | None], scratch: Path
) -> int:
    import statistics

    from generate import generate
    from harness import Stats, format_table, load_note, mib, print_verdicts, run_process

    print(f"conda-shared catalog benchmark: conda {conda_version}, Python {sys.version.split()[0]}")
    generated, _ = generate(
        workdir=args.workdir.absolute(),
        envs=args.envs,
        packages=args.packages,
        progress=lambda message: print(f"  {message}", flush=True),
    )
    root = Path(generated.root)
    total = len(generated.envs)
    print(f"root {root}: {total} envs x {generated.packages_per_env} packages; {load_note()}")
    out = scratch / "catalog"
    catalog = ("-m", "conda_shared", "catalog", "--root", str(root), "--out", str(out))
    full = command(env, *catalog, "--full")
    unchanged = command(env, *catalog, "--incremental")
    run_process(full)  # compiles the code, fills the cache, warms the page cache
    full_runs: list[ProcessSample] = []
    unchanged_runs: list[ProcessSample] = []
    for _ in range(args.runs):
        full_runs.append(run_process(full))
        unchanged_runs.append(run_process(unchanged))
    sample = [
        generated.envs[int((i + 0.5) * total / args.conda_sample)] for i in range(args.conda_sample)
    ]
    conda_runs = []
    for name in sample:
        listing = command(
            env, str(HERE / "run_conda.py"), "--hide", DISTRIBUTION, "list", "-p",
            str(generated.env_path(name)), "--json",
        )  # fmt: skip
        conda_runs.append(run_process(listing).wall_s)
    conda_estimate = statistics.mean(conda_runs) * total
    browser = measure_browser(out)
    full_s = Stats.of([r.wall_s for r in full_runs]).median
    unchanged_s = Stats.of([r.wall_s for r in unchanged_runs]).median
    print(
        format_table(
            ["", "wall s (median)", "peak RSS MiB", "vs full"],
            [
                [
                    "catalog --full",
                    f"{full_s:.2f}",
                    mib(max(r.peak_rss_kib for r in full_runs)),
                    "1",
                ],
                [
                    "catalog, unchanged root",
                    f"{unchanged_s:.2f}",
                    mib(max(r.peak_rss_kib for r in unchanged_runs)),
                    f"{unchanged_s / full_s:.3f}",
                ],
                [
                    f"conda list --json x {total} (from {len(sample)})",
                    f"{conda_estimate:.1f}",
                    "",
                    f"{conda_estimate / full_s:.1f}",
                ],
            ],
        )
    )
    print(
        f"search-index.js {browser['index_bytes'] / 2**20:.2f} MiB; page load "
        f"{browser['load_ms']:.0f} ms in chromium"
    )
    print(
        format_table(
            ["query", "matches", "ms (median of 5)", "ms (max)"],
            [
                [f"'{q}'", str(r["matches"]), f"{r['median']:.1f}", f"{r['max']:.1f}"]
                for q, r in browser["searches"].items()
            ],
        )
    )
    slowest = max(r["max"] for r in browser["searches"].values())
    verdicts = [
        verdict(
            browser["index_bytes"] < MAX_INDEX_BYTES,
            f"search index {browser['index_bytes'] / 2**20:.2f} MiB (target < 2 MiB)",
        ),
        verdict(slowest < MAX_SEARCH_MS, f"slowest search {slowest:.1f} ms (target < 100 ms)"),
        verdict(
            full_s < conda_estimate,
            f"full catalog {full_s:.2f} s vs conda's list loop {conda_estimate:.1f} s "
            f"({conda_estimate / full_s:.1f}x faster)",
        ),
    ]
    print(f"  {load_note()}\n")
    return 0 if print_verdicts(verdicts) else 1


def verdict(passed: bool, text: str) -> Verdict:
    from harness import Verdict

    return Verdict(passed, text)


def measure_browser(site: Path) -> dict[str, Any]:
    """Load the catalog from disk in chromium and time each query typed into the search box,
    in the page: from setting the box and firing its input event to the list being drawn."""
    from playwright.sync_api import sync_playwright

    timing = """(query) => {
      const box = document.getElementById("query");
      const start = performance.now();
      box.value = query;
      box.dispatchEvent(new Event("input"));
      document.getElementById("results").getBoundingClientRect();  // layout done
      return [performance.now() - start, document.querySelectorAll("#results li").length,
              document.getElementById("search-status").textContent];
    }"""
    index_bytes = (site / "search-index.js").stat().st_size
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        page = browser.new_page()
        page.goto((site / "index.html").as_uri())
        load_ms = page.evaluate("performance.getEntriesByType('navigation')[0].loadEventEnd")
        searches = {}
        for query in QUERIES:
            times = []
            status = ""
            for _ in range(5):
                elapsed, _shown, status = page.evaluate(timing, query)
                times.append(elapsed)
            matches = int(status.split()[0]) if status else 0
            searches[query] = {"median": sorted(times)[2], "max": max(times), "matches": matches}
        browser.close()
    return {"index_bytes": index_bytes, "load_ms": load_ms, "searches": searches}


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
