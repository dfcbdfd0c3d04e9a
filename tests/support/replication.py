"""A migration scenario for tier 2: a source installation whose envs an older conda built, channels
that changed since, git repos for pip, and an empty target installation, in one shared root."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.support.channel import Channel, python_dist_members
from tests.support.installation import installation_environ, make_installation, run_in

#: The interpreter whose conda builds the source installation's envs (an older conda release);
#: the target always runs the tests' own conda.
SOURCE_CONDA_PYTHON_VARIABLE = "CONDA_SHARED_SOURCE_CONDA_PYTHON"

#: A PEP 517 build backend kept in the package's own repo (backend-path): it zips the members
#: listed in wheel.json, so pip builds the package offline, isolated or not, without setuptools.
_IN_TREE_BACKEND = """
import json, pathlib, zipfile

def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):
    spec = json.loads(pathlib.Path("wheel.json").read_text())
    with zipfile.ZipFile(pathlib.Path(wheel_directory, spec["name"]), "w") as wheel:
        for path, text in spec["members"].items():
            wheel.writestr(path, text)
    return spec["name"]
"""


def source_conda_python() -> Path:
    """CONDA_SHARED_SOURCE_CONDA_PYTHON, or this interpreter (source and target on one conda)."""
    return Path(os.environ.get(SOURCE_CONDA_PYTHON_VARIABLE) or sys.executable)


def git_package_repo(path: Path, name: str, version: str) -> str:
    """A git repo holding a tiny pip-installable package; returns its `git+file://` URL."""
    members = python_dist_members(name, version, installer=None)
    wheel = {
        "name": f"{name.replace('-', '_')}-{version}-py3-none-any.whl",
        "members": {member: content.decode() for member, content in members.items()},
    }
    path.mkdir(parents=True)
    (path / "wheel.json").write_text(json.dumps(wheel, indent=1) + "\n")
    (path / "backend.py").write_text(_IN_TREE_BACKEND)
    (path / "pyproject.toml").write_text(
        '[build-system]\nrequires = []\nbuild-backend = "backend"\nbackend-path = ["."]\n'
    )
    identity = {"GIT_AUTHOR_NAME": "tests", "GIT_AUTHOR_EMAIL": "tests@example.org"}
    identity.update(GIT_COMMITTER_NAME="tests", GIT_COMMITTER_EMAIL="tests@example.org")
    for command in (["init", "-q"], ["add", "."], ["commit", "-qm", f"{name} {version}"]):
        subprocess.run(
            ["git", "-C", str(path), *command], check=True, env={**os.environ, **identity}
        )
    return f"git+{path.as_uri()}"


@dataclass(frozen=True)
class EnvRecipe:
    """One source env: what the user typed to create it, then pip installs from git."""

    name: str
    specs: tuple[str, ...]
    channels: tuple[str, ...] = ()
    pip: tuple[str, ...] = ()


@dataclass(frozen=True)
class Migration:
    """A shared root: ROOT/current -> the source installation, ROOT/qa -> the target."""

    root: Path
    source: Path
    target: Path
    home: Path

    def source_envs(self) -> list[str]:
        return sorted(
            p.name for p in (self.source / "envs").iterdir() if (p / "conda-meta").is_dir()
        )

    def target_envs(self) -> list[str]:
        envs = self.target / "envs"
        return sorted(p.name for p in envs.iterdir() if p.is_dir()) if envs.is_dir() else []

    def packages(self, prefix: Path) -> set[tuple[str, str, str]]:
        """(name, version, build) of what `conda list --json` shows (pip packages too), read by
        the conda of the installation that holds `prefix`."""
        installation = self.source if prefix.is_relative_to(self.source) else self.target
        listed = run_in(
            installation, "-m", "conda", "list", "--json", "-p", prefix, home=self.home, check=True
        )
        return {(p["name"], p["version"], p["build_string"]) for p in json.loads(listed.stdout)}

    def replicate_argv(self, *args: str | Path) -> list[str]:
        """`conda-shared replicate --root ROOT --from current --to qa ARGS`."""
        return shared_argv("replicate", self.root, "--from", "current", "--to", "qa", *args)

    def replicate(self, *args: str | Path) -> subprocess.CompletedProcess[str]:
        return run_shared(
            "replicate", self.root, "--from", "current", "--to", "qa", *args, home=self.home
        )

    def export(self) -> None:
        """`conda-shared export` of every source env, as an admin does before replicating."""
        exported = run_shared("export", self.root, "--from", "current", home=self.home)
        assert exported.returncode == 0, exported.stdout + exported.stderr


def build_migration(work: Path, *, envs: Sequence[EnvRecipe], main_channel: Channel) -> Migration:
    """The source installation (source conda) with `envs` built in it, an empty target
    (the tests' conda, with conda-shared), pointers current and qa, in work/root."""
    home = work / "home"
    source = build_source(work, envs=envs, main_channel=main_channel)
    target = make_installation(
        work / "root" / "vtarget",
        channel_urls=[main_channel.url],
        work=work,
        with_conda_shared=True,
    )
    (work / "root" / "current").symlink_to("vsource")
    (work / "root" / "qa").symlink_to("vtarget")
    return Migration(root=work / "root", source=source, target=target, home=home)


def build_source(
    work: Path, *, envs: Sequence[EnvRecipe], main_channel: Channel, name: str = "vsource"
) -> Path:
    """ROOT/NAME: an installation of the source conda with `envs` created by that conda."""
    source = make_installation(
        work / "root" / name,
        channel_urls=[main_channel.url],
        work=work,
        conda_python=source_conda_python(),
    )
    home = work / "home"
    for recipe in envs:
        channel_args = [arg for url in recipe.channels for arg in ("-c", url)]
        run_in(
            source, "-m", "conda", "create", "-y", "-n", recipe.name, *channel_args,
            *recipe.specs, home=home, check=True,
        )  # fmt: skip
        for requirement in recipe.pip:
            run_in(
                source / "envs" / recipe.name, "-m", "pip", "install", "-q", "--no-index",
                "--disable-pip-version-check", requirement, home=home, check=True,
            )  # fmt: skip
    return source


def remove_package(channel: Channel, name: str, version: str, build: str = "0") -> None:
    """Take one archive out of a channel and re-index it, as a channel owner pruning does."""
    (package,) = [
        p for p in channel.packages if (p.name, p.version, p.build) == (name, version, build)
    ]
    package.path.unlink()
    channel.packages.remove(package)
    channel.index()


def shared_argv(verb: str, root: Path, *args: str | Path) -> list[str]:
    """`conda-shared VERB --root ROOT ARGS`, run by this interpreter."""
    command = [sys.executable, "-m", "conda_shared", verb, "--root", str(root)]
    return [*command, *map(str, args)]


def run_shared(
    verb: str, root: Path, *args: str | Path, home: Path, timeout: float = 900
) -> subprocess.CompletedProcess[str]:
    """`conda-shared VERB --root ROOT ARGS`, isolated from the caller like `run_in`."""
    return subprocess.run(
        shared_argv(verb, root, *args),
        capture_output=True,
        text=True,
        env=installation_environ(home),
        timeout=timeout,
        check=False,
    )


def latest_run(root: Path) -> Path:
    """The newest run folder, ROOT/reports/<UTC stamp>/."""
    runs = sorted(path for path in (root / "reports").iterdir() if path.is_dir())
    assert runs, f"no run folder in {root / 'reports'}"
    return runs[-1]


def envs_by_name(report: Mapping[str, object]) -> dict[str, dict[str, Any]]:
    envs = report["envs"]
    assert isinstance(envs, list)
    return {env["name"]: env for env in envs}


def spec_names(packages: Sequence[str]) -> set[str]:
    """`oldlib=1.0`, `conda-forge::alpha >=1` -> oldlib, alpha: the names an error names."""
    return {
        re.split(r"[\s=<>!~\[]", package.rpartition("::")[2], maxsplit=1)[0] for package in packages
    }
