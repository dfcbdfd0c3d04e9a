"""Run the target installation's own conda (and a new env's pip) as subprocesses; classify."""

from __future__ import annotations

import json
import os
import re
import subprocess
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .. import children, fs
from ..errors import SharedError
from ..history import spec_name
from .platform import override_variables

#: (virtual package, value) pairs the target's conda gets as CONDA_OVERRIDE_* variables
Overrides = Sequence[tuple[str, str]]

FAILURE_CLASSES = (
    "package-not-found",
    "unsatisfiable",
    "channel-unavailable",
    "pip-failed",
    "filesystem",
    "platform-mismatch",  # preflight: the target lacks a virtual package the env's builds need
    "interrupted",  # Ctrl-C or SIGTERM, or the batch system ended the task (time limit, ...)
    "other",
)

_NOT_FOUND = frozenset(
    {
        "PackagesNotFoundError",
        "PackagesNotFoundInChannelsError",
        "PackagesNotFoundInPrefixError",
        "PackageNotFoundError",
        "ResolvePackageNotFound",
        "PathNotFoundError",  # an @EXPLICIT URL whose file:// tarball is gone
    }
)
_UNSATISFIABLE = frozenset(
    {
        "UnsatisfiableError",
        "LibMambaUnsatisfiableError",
        "SpecsConfigurationConflictError",
        "RawStrUnsatisfiableError",
    }
)
_CHANNEL = frozenset(
    {
        "UnavailableInvalidChannel",
        "ChannelNotAllowed",
        "ChannelError",
        "OfflineError",
        "ProxyError",
        "CondaSSLError",
    }
)
_FILESYSTEM = frozenset(
    {
        "NotWritableError",
        "NoWritablePkgsDirError",
        "NoWritableEnvsDirError",
        "NoSpaceLeftError",
        "CondaFileIOError",
        "CondaVerificationError",
        "DirectoryNotACondaEnvironmentError",
    }
)
_FILESYSTEM_WORDS = re.compile(
    r"permission denied|read-only file system|no space left|unable to create prefix|"
    r"sufficient permissions|disk quota",
    re.IGNORECASE,
)
_LISTED_SPEC = re.compile(r"^\s+- (\S.*)$", re.MULTILINE)
_CONFLICT_HEADER = re.compile(r"^Package (\S+) conflicts for:$", re.MULTILINE)
_PACKAGE_FILE = re.compile(r"([^/#]+?)-([^-/#]+)-([^-/#]+?)(?:\.tar\.bz2|\.conda)(?:#\S*)?$")
_HTTP_STATUS = re.compile(r"HTTP (\d{3})")
_TRACEBACK_EXCEPTION = re.compile(
    r"^conda\.(?:exceptions\.)?(\w+?)(?:class: \w+|: .*)?$", re.MULTILINE
)
_TRACEBACK_MESSAGE = re.compile(r"^message:\n(.+?)\n\n", re.MULTILINE | re.DOTALL)


@dataclass(frozen=True)
class Failure:
    """Why a step failed: one of FAILURE_CLASSES, the packages the error names, its message."""

    failure_class: str
    packages: tuple[str, ...]
    message: str


@dataclass(frozen=True)
class StepOutcome:
    """One command's result: `failure` is None when it worked; `document` is conda's JSON."""

    failure: Failure | None
    seconds: float
    document: Mapping[str, Any] | None

    @property
    def ok(self) -> bool:
        return self.failure is None


def target_environ(overrides: Overrides = ()) -> dict[str, str]:
    """The environment for the target's conda: ours without conda's, no env registration, and
    the run's virtual-package overrides (the compute nodes' CUDA, glibc ...)."""
    env = children.without_caller_variables(os.environ)
    env["CONDA_REGISTER_ENVS"] = "false"
    env.update(override_variables(overrides))
    return env


def conda_command(target: Path) -> tuple[str, ...]:
    """`<target>/bin/python -I -m conda`: works for installers' and for test installations."""
    python = target / "bin" / "python"
    return tuple(children.python_argv(python, ["-m", "conda"], keep_pythonpath=False))


def run_conda(
    argv: Sequence[str],
    *,
    log: Path,
    overrides: Overrides = (),
    environ: Mapping[str, str] | None = None,
) -> StepOutcome:
    """Run a conda command that was given `--json`; classify its error document if it fails.

    `environ`: variables set for this command on top of `target_environ(overrides)`.
    """
    started = time.monotonic()
    logged_before = log.stat().st_size if log.exists() else 0
    stdout, returncode = _run(argv, log=log, overrides=overrides, environ=environ)
    document = _json_document(stdout)
    seconds = time.monotonic() - started
    if returncode == 0 and (document is None or document.get("success", True)):
        return StepOutcome(None, seconds, document)
    if document is None:
        with open(log, encoding="utf-8", errors="replace") as stream:
            stream.seek(logged_before)
            return StepOutcome(_classify_crash(stream.read(), returncode), seconds, None)
    return StepOutcome(classify(document), seconds, document)


def run_pip(
    argv: Sequence[str], *, log: Path, packages: Sequence[str], overrides: Overrides = ()
) -> StepOutcome:
    """Run pip in the new environment; any failure is pip-failed, naming `packages`."""
    started = time.monotonic()
    output, returncode = _run(argv, log=log, merge_stderr=True, overrides=overrides)
    seconds = time.monotonic() - started
    if returncode == 0:
        return StepOutcome(None, seconds, None)
    lines = [line for line in output.splitlines() if line.startswith("ERROR:")]
    message = lines[0] if lines else f"pip exited with status {returncode}"
    return StepOutcome(Failure("pip-failed", tuple(packages), message), seconds, None)


@dataclass(frozen=True)
class TargetConda:
    """What the target's conda says of itself under the run's overrides: `conda info`, and
    whether it accepts `--override-channels` (an admin condarc can pin
    `override_channels_enabled: false  #!final`, which no variable or condarc of ours lifts)."""

    info: Mapping[str, Any]
    overridable: bool


def target_conda(target: Path, overrides: Overrides = ()) -> TargetConda:
    """Ask the target's conda both questions at once (each is a conda start); a SharedError
    says why it does not run."""
    info, shown = _target_jsons(
        target,
        [("info", "--json"), ("config", "--show", "override_channels_enabled", "--json")],
        overrides=overrides,
    )
    return TargetConda(info, shown.get("override_channels_enabled") is not False)


def conda_info(target: Path, overrides: Overrides = ()) -> Mapping[str, Any]:
    """`conda info --json` of the target (its virtual packages as `overrides` set them); a
    SharedError says why it does not run."""
    return _target_jsons(target, [("info", "--json")], overrides=overrides)[0]


def _target_jsons(
    target: Path, commands: Sequence[Sequence[str]], *, overrides: Overrides
) -> list[Mapping[str, Any]]:
    """The JSON documents commands of the target's conda print, run at once; a SharedError
    says why one did not."""
    argvs = [[*conda_command(target), *args] for args in commands]
    try:
        results = children.run_all(
            [children.python_argv(a[0], a[1:], keep_pythonpath=False) for a in argvs],
            env=target_environ(overrides),
            timeout=300,
        )
    except OSError as error:
        raise SharedError(
            f"the conda of {target} does not run: {error.strerror}: {argvs[0][0]}",
            f"Install conda in {target} with its installer, then check `{' '.join(argvs[0])}`",
        ) from None
    except subprocess.TimeoutExpired:
        shown = " and ".join(f"`{' '.join(argv)}`" for argv in argvs)
        raise SharedError(f"{shown} hung for 5 minutes", "Run it by hand") from None
    documents = []
    for argv, result in zip(argvs, results, strict=True):
        document = _json_document(result.stdout)
        if result.returncode != 0 or document is None:
            last = (result.stderr.strip() or result.stdout.strip()).splitlines()[-1:]
            raise SharedError(
                f"the conda of {target} does not run: {last[0] if last else result.returncode}",
                f"Run `{' '.join(argv)}` to see why",
            )
        documents.append(document)
    return documents


def classify(document: Mapping[str, Any]) -> Failure:
    """Read conda's JSON error document (any version from 24.3 on) into a failure class."""
    nested = document.get("errors")
    if isinstance(nested, list) and nested:
        parts = [classify(item) for item in nested if isinstance(item, Mapping)]
        if parts:
            packages = tuple(dict.fromkeys(p for part in parts for p in part.packages))
            return Failure(parts[0].failure_class, packages, parts[0].message)
    name = str(document.get("exception_name") or "")
    message = str(document.get("message") or document.get("error") or "")
    first_line = next((line for line in message.splitlines() if line.strip()), name)
    if name in ("CondaSignalInterrupt", "KeyboardInterrupt"):  # a Ctrl-C reached only conda
        return Failure("interrupted", (), first_line or name)
    if name in _NOT_FOUND:
        packages = _not_found_packages(document, message)
        return Failure("package-not-found", packages, _naming(first_line, packages))
    if name in _UNSATISFIABLE:
        packages = _conflicting_packages(document, message)
        return Failure("unsatisfiable", packages, _naming(first_line, packages))
    if name in _CHANNEL:
        return Failure("channel-unavailable", (), first_line)
    if name == "CondaHTTPError":
        return _http_failure(document, first_line)
    if name in _FILESYSTEM or _FILESYSTEM_WORDS.search(message):
        return Failure("filesystem", (), first_line)
    return Failure("other", (), f"{name}: {first_line}" if name else first_line)


def _classify_crash(output: str, returncode: int) -> Failure:
    """conda failed without its JSON document (it can crash while formatting one, e.g. on a
    `%20` in a channel URL): classify the exception its traceback names."""
    found = _TRACEBACK_EXCEPTION.search(output)
    if found is None:
        lines = [line for line in output.strip().splitlines() if not line.startswith("[exit")]
        return Failure("other", (), f"conda printed no JSON: {lines[-1] if lines else returncode}")
    message = _TRACEBACK_MESSAGE.search(output, found.end())
    return classify(
        {
            "exception_name": found.group(1),
            "message": message.group(1).strip() if message else found.group(1),
        }
    )


def _naming(first_line: str, packages: Sequence[str]) -> str:
    """conda's `... not available from current channels:` line, completed with the names."""
    if first_line.endswith(":") and packages:
        return f"{first_line} {', '.join(packages)}"
    return first_line


def failed_urls(document: Mapping[str, Any]) -> set[str]:
    """Package URLs an @EXPLICIT run could not fetch (a gone file, an HTTP 404)."""
    items = document.get("errors")
    found: set[str] = set()
    for item in items if isinstance(items, list) else [document]:
        if isinstance(item, Mapping):
            where = item.get("path") or item.get("url")
            if where:
                found.add(str(where))
    return found


def _not_found_packages(document: Mapping[str, Any], message: str) -> tuple[str, ...]:
    listed = document.get("packages")
    if isinstance(listed, list) and listed:
        return tuple(str(p) for p in listed)
    path = document.get("path") or document.get("url")
    if path:
        return _package_of_file(str(path))
    return tuple(_LISTED_SPEC.findall(message.split("Current channels:", maxsplit=1)[0]))


def _conflicting_packages(document: Mapping[str, Any], message: str) -> tuple[str, ...]:
    groups = document.get("unsatisfiable")  # 26.x: the conflicting chains, spec by spec
    if isinstance(groups, list) and groups:
        chains: Iterable[str] = (str(g[0]) for g in groups if isinstance(g, list) and g)
    else:
        chains = _chain_heads(message)
    return tuple(dict.fromkeys(spec_name(chain) for chain in chains))


def _chain_heads(message: str) -> Iterable[str]:
    """In `Package X conflicts for:` blocks, the requested spec that starts each line."""
    for header in _CONFLICT_HEADER.finditer(message):
        block = message[header.end() :].split("\n\n", 1)[0]
        for line in block.strip().splitlines():
            yield line.split(" -> ", 1)[0].strip()


def _http_failure(document: Mapping[str, Any], first_line: str) -> Failure:
    url = str(document.get("url") or "")
    status = _HTTP_STATUS.search(str(document.get("error") or first_line))
    if _PACKAGE_FILE.search(url) and status and status.group(1) == "404":
        return Failure("package-not-found", _package_of_file(url), first_line)
    return Failure("channel-unavailable", (), first_line)


def _package_of_file(path: str) -> tuple[str, ...]:
    match = _PACKAGE_FILE.search(path)
    return (f"{match.group(1)}={match.group(2)}",) if match else (path,)


def _json_document(stdout: str) -> Mapping[str, Any] | None:
    """conda's JSON document; conda may print progress lines before it, so take the last one."""
    text = stdout.strip()
    start = 0
    while True:
        try:
            document = json.loads(text[start:])
        except ValueError:
            start = text.find("\n{", start + 1) + 1
            if start <= 0:
                return None
            continue
        return document if isinstance(document, dict) else None


def _run(
    argv: Sequence[str],
    *,
    log: Path,
    merge_stderr: bool = False,
    overrides: Overrides = (),
    environ: Mapping[str, str] | None = None,
) -> tuple[str, int]:
    """Run `argv` (a Python: `python -m conda ...`, `python -m pip ...`) with its output appended
    to `log`; returns (stdout, exit status)."""
    command = children.python_argv(argv[0], argv[1:], keep_pythonpath=False)
    variables = [f"{name}={value}" for name, value in override_variables(overrides).items()]
    with fs.append_stream(log) as stream:
        stream.write(f"\n$ {' '.join([*variables, *command])}\n")
        stream.flush()
        try:
            result = children.run(
                command,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT if merge_stderr else stream,
                text=True,
                errors="replace",
                env={**target_environ(overrides), **(environ or {})},
            )
        except OSError as error:
            stream.write(f"could not start: {error}\n")
            return f"could not start {argv[0]}: {error.strerror}", 127
        stream.write(result.stdout)
        stream.write(f"[exit status {result.returncode}]\n")
    return result.stdout, result.returncode
