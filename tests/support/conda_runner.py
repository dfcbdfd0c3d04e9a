"""Run real conda as a subprocess, offline, isolated from the machine's and the user's conda."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional

from conda_shared.children import CALLER_VARIABLES

#: Inherited variables that would leak the caller's conda and Python (the list replicate strips),
#: config dirs or pip settings in.
STRIPPED_PREFIXES = (*CALLER_VARIABLES, "XDG_", "PIP_")
_TIMEOUT_S = 600
_OUTPUT_TAIL = 4000

#: Variables to set (a string) or remove (None) for one run.
EnvOverrides = Mapping[str, Optional[str]]


class CondaFailed(AssertionError):
    """conda exited non-zero (or printed no JSON when asked to); carries its whole output."""

    def __init__(self, result: subprocess.CompletedProcess[str]) -> None:
        self.result = result
        super().__init__(
            f"`{' '.join(result.args)}` exited {result.returncode}\n"
            f"--- stdout (tail) ---\n{result.stdout[-_OUTPUT_TAIL:]}\n"
            f"--- stderr (tail) ---\n{result.stderr[-_OUTPUT_TAIL:]}"
        )


@dataclass(frozen=True)
class CondaRunner:
    """`python -m conda` in a sandbox: its own HOME, condarc, pkgs and envs directories.

    The pip-installed conda refuses most commands through its console script, hence `-m`.
    Configuration from /etc/conda and the conda installation's own .condarc still applies
    (conda has no switch to skip them); the sandbox condarc is read last, so its scalars win
    and its lists (channels) are merged. pkgs_dirs is the sandbox's alone; envs_dirs starts
    with the sandbox's but conda always appends ROOT/envs and ~/.conda/envs.
    """

    sandbox: Path
    python: Path

    @classmethod
    def in_sandbox(
        cls, sandbox: Path, channel_urls: Sequence[str], *, python: Path | None = None
    ) -> CondaRunner:
        """Make the sandbox (condarc listing `channel_urls`, empty pkgs/envs/home) and a runner.

        `python` must be an interpreter where `import conda` works (default: this one).
        """
        runner = cls(sandbox=sandbox, python=python or Path(sys.executable))
        for directory in (runner.home, runner.pkgs_dir, runner.envs_dir):
            directory.mkdir(parents=True, exist_ok=True)
        channels = "".join(f"  - {url}\n" for url in channel_urls)
        runner.condarc.write_text(
            "solver: classic\n"
            f"channels:\n{channels}"
            "always_yes: true\n"
            "offline: true\n"
            "auto_update_conda: false\n"
            "notify_outdated_conda: false\n"
            "number_channel_notices: 0\n"
            "report_errors: false\n"
        )
        return runner

    @property
    def home(self) -> Path:
        """HOME for conda: ~/.condarc and ~/.conda/environments.txt land here, not in yours."""
        return self.sandbox / "home"

    @property
    def condarc(self) -> Path:
        return self.sandbox / "condarc"

    @property
    def pkgs_dir(self) -> Path:
        return self.sandbox / "pkgs"

    @property
    def envs_dir(self) -> Path:
        return self.sandbox / "envs"

    def environ(self, overrides: EnvOverrides | None = None) -> dict[str, str]:
        """The environment a run gets: ours minus conda/XDG/pip variables, plus the sandbox."""
        env = {
            key: value for key, value in os.environ.items() if not key.startswith(STRIPPED_PREFIXES)
        }
        env.update(
            HOME=str(self.home),
            CONDARC=str(self.condarc),
            CONDA_PKGS_DIRS=str(self.pkgs_dir),
            CONDA_ENVS_DIRS=str(self.envs_dir),
        )
        for key, value in (overrides or {}).items():
            if value is None:
                env.pop(key, None)
            else:
                env[key] = value
        return env

    def __call__(
        self, *args: str | Path, env_overrides: EnvOverrides | None = None, check: bool = True
    ) -> subprocess.CompletedProcess[str]:
        """Run `python -m conda ARGS`; with check, raise CondaFailed on a non-zero exit."""
        argv = [str(self.python), "-m", "conda", *map(str, args)]
        result = subprocess.run(
            argv,
            env=self.environ(env_overrides),
            capture_output=True,
            text=True,
            timeout=_TIMEOUT_S,
            check=False,
        )
        if check and result.returncode != 0:
            raise CondaFailed(result)
        return result

    def json(
        self, *args: str | Path, env_overrides: EnvOverrides | None = None, check: bool = True
    ) -> Any:
        """Run `python -m conda ARGS --json` and return the parsed output (errors are JSON too)."""
        result = self(*args, "--json", env_overrides=env_overrides, check=check)
        try:
            return json.loads(result.stdout)
        except ValueError:
            raise CondaFailed(result) from None
