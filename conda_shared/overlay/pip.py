"""Run the environment's own pip: resolve against env + overlays, install into a staging prefix."""

from __future__ import annotations

import json
import os
import re
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

from .. import children
from ..errors import InputError, SharedError
from ..prefix import normalize_name
from .locate import TargetEnv

_PROBLEM = re.compile(r"^(?P<name>\S+) (?P<version>\S+) (requires|has requirement) ")
_FIRST_ERROR = re.compile(r"^ERROR: (.+)$", re.MULTILINE)
MIN_PIP = (22, 2)  # --report


@dataclass(frozen=True)
class Planned:
    """One distribution pip would install, and the argument that installs exactly it."""

    name: str
    version: str
    requirement: tuple[str, ...]  # e.g. ("tidy-util==1.1",) or ("-e", "/src/tool")
    requested: bool


#: pip options whose value is a file or folder, which pip reads relative to its directory.
_PATH_OPTIONS = frozenset(
    {
        "-r", "--requirement", "-c", "--constraint", "-e", "--editable", "-f", "--find-links",
        "--src", "--cache-dir", "--log", "--cert", "--client-cert",
    }
)  # fmt: skip
_ARCHIVES = (".whl", ".zip", ".tar.gz", ".tgz", ".tar.bz2", ".tar.xz", ".tar")


def absolute_paths(arguments: Sequence[str], *, base: Path | None) -> list[str]:
    """pip arguments with each relative path made absolute against `base`, the caller's
    directory: pip runs from an empty folder of ours (conda_shared.children), not from there.
    `base` None (the caller's directory is gone) is fine unless a relative path needs it."""
    absolute: list[str] = []
    for previous, word in zip(["", *arguments], arguments, strict=False):
        option, equals, value = word.partition("=")
        if equals and option in _PATH_OPTIONS:
            absolute.append(f"{option}={_absolute(value, base, always=True)}")
        elif word.startswith("-"):
            absolute.append(word)
        else:
            absolute.append(_absolute(word, base, always=previous in _PATH_OPTIONS))
    return absolute


def _absolute(word: str, base: Path | None, *, always: bool) -> str:
    """`word` against `base` when pip would take it as a path: any value of a path option, a
    requirement that starts with `.` or holds a `/`, or an archive file that exists there."""
    if os.path.isabs(word) or "://" in word or word.startswith("~"):
        return word
    relative = always or word.startswith(".") or "/" in word or word.endswith(_ARCHIVES)
    if not relative:
        return word
    if base is None:
        raise InputError(
            f"cannot tell where {word} is: the current directory no longer exists",
            "Give the path as an absolute path, or run the command from an existing directory",
        )
    if not always and not word.startswith(".") and not os.path.lexists(base / word):
        return word  # not a path after all (pip would not find it either)
    return os.path.normpath(base / word)


def plan(
    env: TargetEnv,
    *,
    stage: Path,
    packages: Sequence[str],
    pip_options: Sequence[str],
    environ: Mapping[str, str],
) -> tuple[Planned, ...]:
    """What pip's resolver would add, given what env + overlays already hold (a dry run): new
    packages, and every dependency that is missing or too old, wherever it is installed."""
    result = _run(
        env,
        ["install", "--dry-run", "--quiet", "--report", "-", "--prefix", str(stage)],
        [*packages, *pip_options],
        environ=environ,
        doing=f"resolve {' '.join(packages)}",
    )
    try:
        report = json.loads(result.stdout)
    except ValueError:
        raise SharedError(
            f"pip in {env.prefix} printed no install report",
            f"Check that `{env.python} -m pip --version` is {'.'.join(map(str, MIN_PIP))} or newer",
        ) from None
    return tuple(_planned(item) for item in report.get("install") or ())


def _planned(item: Mapping[str, Any]) -> Planned:
    meta = item.get("metadata") or {}
    name, version = str(meta.get("name")), str(meta.get("version"))
    info = item.get("download_info") or {}
    url = str(info.get("url") or "")
    requirement: tuple[str, ...] = (f"{name}=={version}",)
    if item.get("is_direct") and url:
        vcs = info.get("vcs_info")
        if (info.get("dir_info") or {}).get("editable"):
            requirement = ("-e", unquote(urlparse(url).path) if url.startswith("file:") else url)
        elif isinstance(vcs, dict):
            requirement = (f"{name} @ {vcs.get('vcs')}+{url}@{vcs.get('commit_id')}",)
        else:
            requirement = (f"{name} @ {url}",)
    return Planned(name, version, requirement, bool(item.get("requested")))


def install(
    env: TargetEnv,
    planned: Sequence[Planned],
    *,
    stage: Path,
    pip_options: Sequence[str],
    environ: Mapping[str, str],
) -> None:
    """Install exactly the planned distributions into the stage. `--ignore-installed` because
    pip must never try to uninstall from the read-only env (or the admin's overlay); earlier
    versions in the stage itself are removed beforehand by RECORD."""
    requirements = [arg for p in planned for arg in p.requirement]
    _run(
        env,
        ["install", "--prefix", str(stage), "--ignore-installed", "--no-deps"],
        ["--no-warn-script-location", *requirements, *pip_options],
        environ=environ,
        doing=f"install {' '.join(requirements)}",
    )


def check(env: TargetEnv, *, environ: Mapping[str, str]) -> tuple[tuple[str, str], ...]:
    """`pip check` over env + overlays: (normalized name of the package with a problem, line)."""
    result = children.run(
        children.python_argv(
            env.python, ["-m", "pip", "--disable-pip-version-check", "check"], keep_pythonpath=True
        ),
        capture_output=True,
        text=True,
        env=_pip_environ(environ),
    )
    problems = []
    for line in result.stdout.splitlines():
        match = _PROBLEM.match(line)
        if match:
            problems.append((normalize_name(match.group("name")), line.strip()))
    return tuple(problems)


def _run(
    env: TargetEnv,
    command: list[str],
    arguments: Sequence[str],
    *,
    environ: Mapping[str, str],
    doing: str,
) -> subprocess.CompletedProcess[str]:
    pip = ["-m", "pip", "--disable-pip-version-check", "--no-input", *command, *arguments]
    result = children.run(
        children.python_argv(env.python, pip, keep_pythonpath=True),
        capture_output=True,
        text=True,
        env=_pip_environ(environ),
    )
    if result.returncode != 0:
        raise _pip_error(env, result, doing)
    return result


def _pip_environ(environ: Mapping[str, str]) -> dict[str, str]:
    # The user's ~/.local must not count as installed: it is not part of env + overlays.
    return {**environ, "PYTHONNOUSERSITE": "1"}


def _pip_error(env: TargetEnv, result: subprocess.CompletedProcess[str], doing: str) -> SharedError:
    output = f"{result.stderr}\n{result.stdout}"
    if "No module named pip" in output:
        return InputError(
            f"environment {env.prefix} has no pip",
            "Ask its admin to install pip into it (overlays are installed by the env's own pip)",
        )
    if "no such option: --report" in output or "no such option: --dry-run" in output:
        return InputError(
            f"pip in {env.prefix} is older than {'.'.join(map(str, MIN_PIP))}",
            "Ask its admin to upgrade pip in that environment",
        )
    reasons = _FIRST_ERROR.findall(output) or output.strip().splitlines()[-1:] or ["no output"]
    reason = reasons[0]
    return SharedError(
        f"pip could not {doing}: {reason.strip()}",
        "Fix the package spec or the pip options after --; the overlay was left unchanged",
    )
