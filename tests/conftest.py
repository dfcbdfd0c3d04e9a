"""Test gating and shared fixtures: tier 2 (real conda) runs only where `import conda` works."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from collections.abc import Generator
from pathlib import Path

import pytest

from tests.support.channel import Channel
from tests.support.conda_runner import CondaRunner

try:
    # A real import, not find_spec: a conda that is present but broken must count as absent.
    # Side effect: conda sets CONDA_ROOT in os.environ (to sys.prefix) when it is unset.
    import conda

    CONDA_VERSION: str | None = str(conda.__version__)
except ImportError:
    CONDA_VERSION = None

HAVE_CONDA = CONDA_VERSION is not None
_NO_CONDA = (
    f"conda is not importable in this Python ({sys.executable}); "
    "run the tests from a Python where `import conda` works"
)
_TIER2_COUNT = pytest.StashKey[int]()
_SLURM_COUNT = pytest.StashKey[int]()
_SLURM_PROBLEM = pytest.StashKey["str | None"]()


def _slurm_problem() -> str | None:
    """Why no live Slurm can run the tests here, or None when a node is up."""
    if shutil.which("sinfo") is None:
        return "Slurm is not installed (no sinfo on PATH); `bash .ci/slurm start` sets one up"
    try:
        states = subprocess.run(
            ["sinfo", "-h", "-o", "%T"], capture_output=True, text=True, timeout=10, check=False
        ).stdout.split()
    except subprocess.TimeoutExpired:
        return "slurmctld does not answer (sinfo timed out); `bash .ci/slurm start` starts it"
    if not any(state.rstrip("*") in ("idle", "mixed", "allocated") for state in states):
        seen = " ".join(states) or "nothing"
        return f"no Slurm node is up (sinfo says: {seen}); `bash .ci/slurm start` starts one"
    return None


def _release(version: str) -> tuple[int, ...]:
    return tuple(int(part) for part in re.findall(r"\d+", version)[:3])


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--tier2-report",
        metavar="PATH",
        help="write how each tier-2 test ended to PATH (JSON; .ci/run sums them up)",
    )


@pytest.hookimpl(trylast=True)  # after `-m`/`-k` deselection, so the count is what runs
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    tier2 = [item for item in items if item.get_closest_marker("tier2")]
    config.stash[_TIER2_COUNT] = len(tier2)
    if not HAVE_CONDA:
        for item in tier2:
            item.add_marker(pytest.mark.skip(reason=_NO_CONDA))
    for item in items:
        gate = item.get_closest_marker("conda_at_least")
        if gate and CONDA_VERSION and _release(CONDA_VERSION) < _release(gate.args[0]):
            reason = f"needs conda >= {gate.args[0]} (this is {CONDA_VERSION})"
            item.add_marker(pytest.mark.skip(reason=reason))
    on_slurm = [item for item in items if item.get_closest_marker("slurm")]
    config.stash[_SLURM_COUNT] = len(on_slurm)
    problem = _slurm_problem() if on_slurm else None
    config.stash[_SLURM_PROBLEM] = problem
    if problem is not None:
        for item in on_slurm:
            item.add_marker(pytest.mark.skip(reason=problem))


def _tier2_outcomes(stats: dict[str, list[object]]) -> dict[str, str]:
    """nodeid -> "passed", "failed", "gated" (needs another conda version) or a skip's reason,
    for every tier-2 test in the terminal reporter's stats."""
    outcomes: dict[str, str] = {}
    reports = [r for kind in stats.values() for r in kind if isinstance(r, pytest.TestReport)]
    for report in reports:
        if "tier2" not in report.keywords or outcomes.get(report.nodeid) == "failed":
            continue
        if report.failed:
            outcomes[report.nodeid] = "failed"
        elif report.skipped:
            reason = str(report.longrepr[2]) if isinstance(report.longrepr, tuple) else "skip"
            reason = reason.removeprefix("Skipped: ")
            gated = "conda_at_least" in report.keywords and reason.startswith("needs conda >=")
            outcomes[report.nodeid] = "gated" if gated else reason
        elif report.when == "call":
            outcomes.setdefault(report.nodeid, "passed")
    return outcomes


def _tier2_line(count: int, outcomes: dict[str, str]) -> str:
    """`tier 2: ran on conda X (N tests: ...)`, with version gates counted apart from skips."""
    if not HAVE_CONDA:
        return f"tier 2: skipped ({count} tests): {_NO_CONDA}"
    ended = list(outcomes.values())
    if not ended:
        return f"tier 2: ran on conda {CONDA_VERSION} ({count} tests)"
    parts = [f"{ended.count('passed')} passed"]
    if ended.count("failed"):
        parts.append(f"{ended.count('failed')} failed")
    if ended.count("gated"):
        parts.append(f"{ended.count('gated')} for another conda version")
    skipped = len(ended) - sum(ended.count(kind) for kind in ("passed", "failed", "gated"))
    if skipped:
        parts.append(f"{skipped} skipped")
    return f"tier 2: ran on conda {CONDA_VERSION} ({count} tests: {', '.join(parts)})"


# The outermost wrapper, so the line comes after pytest's short summary, just above the totals.
@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_terminal_summary(
    terminalreporter: pytest.TerminalReporter, config: pytest.Config
) -> Generator[None, None, None]:
    yield
    count = config.stash.get(_TIER2_COUNT, 0)
    outcomes = _tier2_outcomes(terminalreporter.stats)
    terminalreporter.write_line(_tier2_line(count, outcomes))
    report_path = config.getoption("--tier2-report")
    if report_path:
        document = {"conda": CONDA_VERSION, "tests": count, "outcomes": outcomes}
        Path(report_path).write_text(json.dumps(document, indent=1) + "\n")
    slurm_count = config.stash.get(_SLURM_COUNT, 0)
    if slurm_count:
        problem = config.stash.get(_SLURM_PROBLEM, None)
        if problem is None:
            terminalreporter.write_line(f"slurm: ran on a live cluster ({slurm_count} tests)")
        else:
            terminalreporter.write_line(f"slurm: skipped ({slurm_count} tests): {problem}")


@pytest.fixture(scope="session")
def local_channel(tmp_path_factory: pytest.TempPathFactory) -> Channel:
    """A file:// channel built once per session; treat it as read-only (build your own
    `Channel(tmp_path / "channel")` to add packages). It holds:

    - python (the running interpreter's version, venv-style) and pip (noarch, from ensurepip),
    - tidy-util 1.0 and 1.1: noarch python dists (module `tidy_util`, INSTALLER=conda),
    - libdata 2.0: a host-subdir package with one data file, share/libdata/data.txt.
    """
    channel = Channel(tmp_path_factory.mktemp("local-channel"))
    channel.add_basics()
    channel.add_python_dist("tidy-util", "1.1")
    channel.index()
    return channel


@pytest.fixture(scope="session")
def conda_run(local_channel: Channel, tmp_path_factory: pytest.TempPathFactory) -> CondaRunner:
    """Real conda (`python -m conda`) offline on `local_channel`, in a session sandbox whose
    pkgs cache is shared by the tests; create environments under tmp_path."""
    if not HAVE_CONDA:
        pytest.skip(_NO_CONDA)
    return CondaRunner.in_sandbox(tmp_path_factory.mktemp("conda-sandbox"), [local_channel.url])


@pytest.fixture(autouse=True)
def private_home(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Each test gets its own HOME (its own ~/.conda/shared state), never the real one.

    One level down in a private folder, so `~/../*/.conda` finds no other test's files.
    """
    home = tmp_path_factory.mktemp("home") / "user"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    return home


@pytest.fixture(scope="session")
def slurm_cluster(pytestconfig: pytest.Config) -> None:
    """A live Slurm cluster (the single node of `.ci/slurm start`); tests marked `slurm`
    are skipped with the reason when there is none."""
    problem = pytestconfig.stash.get(_SLURM_PROBLEM, None)
    if problem is not None:
        pytest.skip(problem)
