"""Smoke-test a freshly built environment with its own Python: imports, pip check, kernels."""

from __future__ import annotations

import json
import os
import signal
import subprocess
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from .. import children
from ..prefix import site_packages_dirs
from .requirements import InstalledDist, broken_requirements

#: Top-level modules that fail to import on a headless server or a machine without a GPU even
#: when the environment is sound; they are recorded as skipped, not tried.
NEEDS_DISPLAY = frozenset(
    {"tkinter", "turtle", "turtledemo", "idlelib", "pyautogui", "pynput", "pyscreeze", "mouseinfo"}
)
NEEDS_GPU = frozenset(
    {"cupy", "cupyx", "pycuda", "tensorrt", "cudf", "cuml", "cugraph", "cuspatial", "rmm"}
)
IMPORT_TIMEOUT_S = 300.0
PIP_CHECK_TIMEOUT_S = 120.0
KERNEL_TIMEOUT_S = 120.0

# Runs in the new env's Python. With `list` first: one JSON line of every distribution with its
# requirements and the PEP 508 marker environment, for pip check's test (instead, null and null
# on a Python without importlib.metadata, null and why when they could not be listed). Then one
# JSON line per module, "start" before the import, so a module that kills or hangs the
# interpreter is known and the rest can be retried without it.
_CHECK_SCRIPT = """
import importlib, json, os, platform, sys
def listing():
    try:
        from importlib import metadata
    except ImportError:
        return None, None
    try:
        dists = [
            [d.metadata["Name"], d.version, d.requires or []]
            for d in metadata.distributions()
            if d.metadata["Name"]
        ]
        info = sys.implementation.version
        implementation = "%d.%d.%d" % info[:3]
        if info.releaselevel != "final":
            implementation += info.releaselevel[0] + str(info.serial)
        markers = {
            "implementation_name": sys.implementation.name,
            "implementation_version": implementation,
            "os_name": os.name,
            "platform_machine": platform.machine(),
            "platform_release": platform.release(),
            "platform_system": platform.system(),
            "platform_version": platform.version(),
            "python_full_version": platform.python_version(),
            "platform_python_implementation": platform.python_implementation(),
            "python_version": ".".join(platform.python_version_tuple()[:2]),
            "sys_platform": sys.platform,
        }
    except Exception as error:
        return None, type(error).__name__ + ": " + str(error)
    return dists, markers
if sys.argv[1] == "list":
    print(json.dumps(["dists"] + list(listing())), flush=True)
for name in sys.argv[2:]:
    print(json.dumps(["start", name]), flush=True)
    try:
        importlib.import_module(name)
    except BaseException as error:
        lines = str(error).strip().splitlines()
        detail = type(error).__name__ + (": " + lines[-1] if lines else "")
        print(json.dumps(["failed", name, detail]), flush=True)
    else:
        print(json.dumps(["ok", name]), flush=True)
"""

# Resolves a kernel's `-m MODULE` the way the kernel would, then imports it (a launcher guards
# its start behind `__name__ == "__main__"`), and says where it came from.
_KERNEL_SCRIPT = """
import importlib, importlib.util, json, sys
spec = importlib.util.find_spec(sys.argv[1])
if spec is None:
    print(json.dumps(None))
else:
    importlib.import_module(sys.argv[1])
    print(json.dumps(spec.origin))
"""


class KernelLike(Protocol):
    """What the smoke test needs of a kernelspec (conda_shared.kernels.Kernel fits)."""

    @property
    def name(self) -> str: ...

    @property
    def spec_path(self) -> Path: ...

    @property
    def env_prefix(self) -> Path | None: ...


@dataclass(frozen=True)
class SmokeCheck:
    """One check: `import NAME`, `pip check` or `kernel NAME`; detail says what was seen."""

    name: str
    ok: bool
    detail: str


@dataclass(frozen=True)
class SmokeResult:
    """Every check run on one environment; ok when none failed (skipped checks count as ok)."""

    ok: bool
    checks: tuple[SmokeCheck, ...]


def smoke_test(*, prefix: Path, kernels: Sequence[KernelLike] = ()) -> SmokeResult:
    """Check the environment at `prefix` with its own Python, in time-limited subprocesses:
    one for the imports and pip check's test (another after a module that kills it), one per
    kernel that runs a module, none for a check with nothing to check.

    `kernels` are the kernelspecs that pointed at the environment this one replicates; their
    argv[0] is mapped to the same file in `prefix`.
    """
    python = prefix / "bin" / "python"
    checks: list[SmokeCheck] = []
    modules = top_level_modules(prefix)
    if not _is_executable(python):
        if modules:
            found = f"{len(modules)} module(s) of Python distributions"
            checks.append(SmokeCheck("python", False, f"{found} but no {python}"))
        else:
            checks.append(SmokeCheck("python", True, "no Python in this environment: skipped"))
    else:
        checks.extend(_python_checks(python, modules, requirements=_has_pip(prefix)))
    checks.extend(_kernel_check(kernel, prefix) for kernel in kernels)
    return SmokeResult(ok=all(check.ok for check in checks), checks=tuple(checks))


def top_level_modules(prefix: Path) -> dict[str, str]:
    """Top-level importable modules of every distribution in the env, each with its dist's
    `NAME VERSION`: from top_level.txt, else from the RECORD's paths."""
    modules: dict[str, str] = {}
    for site in site_packages_dirs(prefix):
        for meta in sorted(site.glob("*.dist-info")) + sorted(site.glob("*.egg-info")):
            if not meta.is_dir():
                continue
            owner = _dist_label(meta)
            for module in _dist_modules(meta, site):
                modules.setdefault(module, owner)
    return dict(sorted(modules.items()))


def _dist_label(meta: Path) -> str:
    stem = meta.name.rsplit(".", 1)[0]
    name, _, version = stem.partition("-")
    return f"{name} {version.split('-')[0]}".strip()


def _dist_modules(meta: Path, site: Path) -> list[str]:
    declared = _read_lines(meta / "top_level.txt")
    if declared is not None:
        names = {line.strip().replace("/", ".") for line in declared}
    else:
        names = set(_record_modules(_read_lines(meta / "RECORD") or []))
    # A name listed but never installed (namespace leftovers, Windows-only modules) is no test.
    return sorted(name for name in names if name and _importable_in(site, name.split(".")[0]))


def _record_modules(lines: Sequence[str]) -> Iterator[str]:
    for line in lines:
        path = line.split(",", 1)[0]
        first, slash, _ = path.partition("/")
        if slash and first.isidentifier():
            yield first
        elif not slash and path.endswith(".py"):
            yield path[: -len(".py")]
        elif not slash and path.endswith(".so"):
            yield path.split(".", 1)[0]


def _importable_in(site: Path, name: str) -> bool:
    if (site / name).is_dir() or (site / f"{name}.py").is_file():
        return True
    return any(site.glob(f"{name}.*.so")) or (site / f"{name}.so").is_file()


def _read_lines(path: Path) -> list[str] | None:
    try:
        return path.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return None


def _python_checks(
    python: Path, modules: Mapping[str, str], *, requirements: bool
) -> list[SmokeCheck]:
    """An import check per module and, with `requirements`, pip check's verdict (else skipped:
    pip check was never possible without pip, so an env without it is not judged by it)."""
    checks: dict[str, SmokeCheck] = {}
    pending: list[str] = []
    for module in modules:
        if module in NEEDS_DISPLAY or module in NEEDS_GPU:
            needs = "a display" if module in NEEDS_DISPLAY else "a GPU"
            checks[module] = SmokeCheck(f"import {module}", True, f"skipped: needs {needs}")
        else:
            pending.append(module)
    listing: _Outcome | None = None
    while pending or (requirements and listing is None):
        mode = "list" if requirements and listing is None else "-"
        outcome = _run(python, ["-c", _CHECK_SCRIPT, mode, *pending], timeout=IMPORT_TIMEOUT_S)
        listing = listing or outcome
        started: str | None = None
        for kind, name, detail in _import_events(outcome.stdout, pending):
            if kind == "start":
                started = name
                continue
            started = None
            checks[name] = SmokeCheck(
                f"import {name}", kind == "ok", detail or f"from {modules[name]}"
            )
        if started is None:
            if outcome.error:  # the interpreter itself did not run
                checks.update(
                    (name, SmokeCheck(f"import {name}", False, outcome.error)) for name in pending
                )
            break
        checks[started] = SmokeCheck(f"import {started}", False, outcome.error or "no result")
        pending = pending[pending.index(started) + 1 :]
    ordered = [checks[name] for name in sorted(checks)]
    if not requirements:
        return [*ordered, SmokeCheck("pip check", True, _NO_PIP)]
    return [*ordered, _requirements_check(python, listing)]


_NO_PIP = "skipped: pip is not installed in the environment"


def _has_pip(prefix: Path) -> bool:
    return any(any(site.glob("pip-*.dist-info")) for site in site_packages_dirs(prefix))


def _requirements_check(python: Path, listing: _Outcome | None) -> SmokeCheck:
    """pip check's verdict from the env's list of distributions; on a Python too old to list
    them (no importlib.metadata, before 3.8), from pip itself."""
    event = next(_events(listing.stdout if listing else "", ("dists",), 3), None)
    if event is None:
        error = listing.error if listing else ""
        return SmokeCheck("pip check", False, error or "the env's Python listed no distributions")
    _, listed, markers = event
    if listed is None and markers is None:
        return _pip_check(python)
    if listed is None:
        return SmokeCheck("pip check", False, f"cannot list the distributions: {markers}")
    dists = [InstalledDist(str(n), str(v), tuple(map(str, r))) for n, v, r in listed]
    lines = broken_requirements(dists, markers)
    return SmokeCheck("pip check", not lines, "; ".join(lines) or "No broken requirements found.")


def _pip_check(python: Path) -> SmokeCheck:
    outcome = _run(
        python, ["-m", "pip", "check", "--disable-pip-version-check"], PIP_CHECK_TIMEOUT_S
    )
    lines = [line for line in outcome.stdout.splitlines() if line.strip()]
    if outcome.error and not lines:
        return SmokeCheck("pip check", False, outcome.error)
    return SmokeCheck("pip check", outcome.returncode == 0, "; ".join(lines))


def _kernel_check(kernel: KernelLike, prefix: Path) -> SmokeCheck:
    name = f"kernel {kernel.name}"
    try:
        spec = json.loads(kernel.spec_path.read_text(encoding="utf-8"))
        argv = [str(arg) for arg in spec["argv"]]
        executable = _map_executable(argv[0], kernel.env_prefix, prefix)
    except (OSError, ValueError, KeyError, IndexError, TypeError) as error:
        return SmokeCheck(name, False, f"cannot read argv from {kernel.spec_path}: {error}")
    if not _is_executable(executable):
        return SmokeCheck(name, False, f"{argv[0]} maps to {executable}, which does not exist")
    if "-m" not in argv[1:-1]:
        return SmokeCheck(name, True, f"{executable} is executable")
    module = argv[argv.index("-m", 1) + 1]
    outcome = _run(executable, ["-c", _KERNEL_SCRIPT, module], KERNEL_TIMEOUT_S)
    if outcome.returncode != 0:
        return SmokeCheck(name, False, f"{executable} -m {module}: {outcome.error}")
    origin = _last_json_value(outcome.stdout)
    if not isinstance(origin, str):
        return SmokeCheck(name, False, f"{executable} cannot find module {module}")
    if not _is_within(Path(origin), prefix):
        return SmokeCheck(name, False, f"{module} resolves outside the environment: {origin}")
    return SmokeCheck(name, True, f"{executable} -m {module} resolves to {origin}")


def _map_executable(executable: str, source_prefix: Path | None, prefix: Path) -> Path:
    """The file in `prefix` that plays argv[0]'s role in the source env: the same path relative
    to the env (its directories resolved, the file itself not: bin/python is often a link),
    else bin/ and the same file name."""
    if source_prefix is not None and os.path.isabs(executable):
        parent = Path(os.path.realpath(os.path.dirname(executable)))
        try:
            relative = parent.relative_to(os.path.realpath(source_prefix))
        except ValueError:
            pass
        else:
            return prefix / relative / os.path.basename(executable)
    return prefix / "bin" / os.path.basename(executable)


def _is_within(path: Path, prefix: Path) -> bool:
    return Path(os.path.realpath(path)).is_relative_to(os.path.realpath(prefix))


def _is_executable(path: Path) -> bool:
    return path.is_file() and os.access(path, os.X_OK)


@dataclass(frozen=True)
class _Outcome:
    returncode: int | None
    stdout: str
    error: str  # empty when the process exited 0; otherwise what went wrong, in one line


def _run(python: Path, args: Sequence[str], timeout: float) -> _Outcome:
    """Run the env's interpreter isolated from an empty directory, without a display, pip
    settings or a conda env active."""
    env = {
        key: value
        for key, value in children.without_caller_variables(os.environ).items()
        if not key.startswith(("PIP_", "DISPLAY", "WAYLAND"))
    }
    env["MPLBACKEND"] = "Agg"
    try:
        done = children.run(
            children.python_argv(python, args, keep_pythonpath=False),
            env=env,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            errors="replace",
            timeout=timeout,
        )
    except subprocess.TimeoutExpired as expired:
        out = expired.stdout or ""
        text = out.decode(errors="replace") if isinstance(out, bytes) else out
        return _Outcome(None, text, f"timed out after {timeout:g} s")
    except OSError as error:
        return _Outcome(None, "", f"cannot run {python}: {error.strerror or error}")
    return _Outcome(done.returncode, done.stdout, _describe_exit(done.returncode, done.stderr))


def _describe_exit(returncode: int, stderr: str) -> str:
    if returncode == 0:
        return ""
    if returncode < 0:
        try:
            return f"the interpreter was killed by {signal.Signals(-returncode).name}"
        except ValueError:
            return f"the interpreter was killed by signal {-returncode}"
    lines = [line for line in stderr.splitlines() if line.strip()]
    return f"exit {returncode}" + (f": {lines[-1].strip()}" if lines else "")


def _import_events(text: str, expected: Sequence[str]) -> Iterator[tuple[str, str, str]]:
    """(kind, module, detail) from the import script's lines; what modules print on import of
    their own is not an event."""
    names = set(expected)
    for event in _events(text, ("start", "ok", "failed"), 2, 3):
        if event[1] in names:
            yield event[0], event[1], str(event[2]) if len(event) == 3 else ""


def _events(text: str, kinds: Sequence[str], *lengths: int) -> Iterator[list[Any]]:
    """The check script's JSON lines of these kinds and lengths, among whatever else the env's
    Python printed."""
    for line in text.splitlines():
        try:
            event = json.loads(line)
        except ValueError:
            continue
        if isinstance(event, list) and len(event) in lengths and event[0] in kinds:
            yield event


def _last_json_value(text: str) -> object:
    for line in reversed(text.splitlines()):
        try:
            return json.loads(line)
        except ValueError:
            continue
    return None
