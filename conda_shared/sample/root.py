"""Build the sample root: two installations, their environments, kernels and a site channel,
written privately and published in one rename."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path, PurePosixPath

from .. import audit, fs
from ..channels import spec_channel
from ..condarc import CondaConfig
from ..errors import InputError
from ..history import spec_name
from ..prefix import normalize_name
from . import formats
from .environments import (
    CURRENT_ENVS,
    QA_ENVS,
    Package,
    PipInstall,
    Request,
    SampleEnv,
    base_packages,
)

_SYMLINK = "@symlink:"  # marks a file of a sample package that conda links as a symlink


@dataclass(frozen=True)
class SampleRoot:
    """What `conda shared sample` wrote."""

    root: Path
    installations: tuple[str, ...]
    environments: tuple[str, ...]
    kernels: tuple[str, ...]
    pointers: tuple[tuple[str, str], ...] = field(default=())


def build_sample(*, destination: Path, progress: Callable[[str], None] | None = None) -> SampleRoot:
    """Write the sample root at `destination`, which must not exist or be empty."""
    if destination.exists() and (not destination.is_dir() or any(destination.iterdir())):
        raise InputError(
            f"{destination} already exists and is not empty",
            "Choose a new directory for the sample, for example",
            command=("sample", f"{destination}-2"),
        )
    if destination.exists():
        destination.rmdir()
    final = destination.expanduser().absolute()
    work = fs.private_dir_beside(final)
    try:
        result = _write_sample(work, final, progress or (lambda _message: None))
        fs.publish_dir(work, final, mode=0o755)
    except BaseException:
        fs.remove_tree(work)
        raise
    audit.record(
        final / "log" / "shared.log",
        command=f"sample {final}",
        result=f"ok: {len(result.environments)} environments",
    )
    return result


def _write_sample(work: Path, final: Path, progress: Callable[[str], None]) -> SampleRoot:
    writer = _Writer(work=work, final=final)
    current = writer.installation("v24.11", "24.11.3", "3.12.7", with_plugin=True)
    qa = writer.installation("v26.7", "26.7.1", "3.13.9", with_plugin=False)
    fs.write_file(
        current / ".condarc",
        "channels:\n  - defaults\n  - conda-forge\n"
        "channel_alias: https://conda.anaconda.org\n"
        f"envs_dirs:\n  - {final}/v24.11/envs\n  - {final}/project-envs\n",
    )
    fs.write_file(qa / ".condarc", "channels:\n  - conda-forge\n")
    names = []
    for env in CURRENT_ENVS:
        progress(f"writing v24.11 env {env.name}")
        writer.environment(current, env, installation="v24.11")
        names.append(env.name)
    for env in QA_ENVS:
        writer.environment(qa, env, installation="v26.7")
        names.append(f"v26.7/{env.name}")
    writer.channel_dir()
    fs.make_symlink(work / "current", "v24.11")
    fs.make_symlink(work / "qa", "v26.7")
    fs.make_symlink(work / "envs", "current/envs")
    kernels = writer.kernels()
    return SampleRoot(
        root=final,
        installations=("v24.11", "v26.7"),
        environments=tuple(names),
        kernels=kernels,
        pointers=(("current", "v24.11"), ("qa", "v26.7"), ("envs", "current/envs")),
    )


@dataclass
class _Writer:
    """Writes installations and environments into `work`, with paths as they will be at `final`."""

    work: Path
    final: Path

    def _text(self, value: str) -> str:
        return value.replace("ROOT", str(self.final))

    def installation(self, name: str, conda: str, python: str, *, with_plugin: bool) -> Path:
        path = self.work / name
        base = SampleEnv(
            "base",
            "26" if conda.startswith("26") else "24",
            python.rsplit(".", 1)[0],
            base_packages(conda, python, with_plugin=with_plugin),
            (Request("2024-12-02 08:00:00", f"install conda={conda}", update=(f"conda={conda}",)),),
        )
        self._prefix(path, base, installation=name)
        fs.write_file(path / "bin" / "conda", "#!/bin/sh\n# sample: not a runnable conda\nexit 1\n")
        fs.make_dirs(path / "envs")
        fs.make_dirs(path / "pkgs")
        return path

    def environment(self, home: Path, env: SampleEnv, *, installation: str) -> None:
        prefix = (home / env.envs_dir / env.name).resolve()
        self._prefix(prefix, env, installation=installation)

    def _prefix(self, prefix: Path, env: SampleEnv, *, installation: str) -> None:
        meta = prefix / "conda-meta"
        fs.make_dirs(meta)
        pkgs_dir = self.final / installation / "pkgs"
        # pip uninstalls the files of a conda package it reinstalls; conda-meta still lists them.
        replaced_by_pip = {normalize_name(p.name) for p in env.pip}
        requested: dict[str, str] = {}  # the first spec that named each package
        for spec in (s for request in env.requests for s in request.update):
            requested.setdefault(spec_name(spec), spec)
        for package in env.packages:
            files = _package_files(package, env.python)
            for relative, content in files.items():
                if normalize_name(package.name) in replaced_by_pip and ".dist-info/" in relative:
                    continue
                if content.startswith(_SYMLINK):
                    fs.make_symlink(prefix / relative, content[len(_SYMLINK) :])
                else:
                    fs.write_file(prefix / relative, content)
            listed = [] if package.legacy_noarch else list(files)
            record = formats.record(
                package,
                era=env.era,
                url=_recorded_url(package, env.era, self.final),
                pkgs_dir=str(pkgs_dir),
                requested=requested.get(package.name),
                files=listed,
                paths=_paths(package, files),
                schannel=_canonical(package.channel),
            )
            stem = f"{package.name}-{package.version}-{package.build}"
            fs.write_file(meta / f"{stem}.json", formats.json_text(record, env.era))
            if package.legacy_noarch:  # conda-build's noarch_python link script lists its files
                fs.write_file(meta / f"{stem}.files", "\n".join(files) + "\n")
        history = formats.history_text(_history(env, installation), env.era)
        fs.write_file(meta / "history", self._text(history))
        if env.era == "26":  # str(POSIX timestamp), read back with float()
            fs.write_file(meta / "created_at", str(_timestamp(env.requests[0].date)))
        for pip in env.pip:
            self._pip(prefix, env.python or "3", pip)

    def _pip(self, prefix: Path, python: str, pip: PipInstall) -> None:
        site = f"lib/python{python}/site-packages"
        if pip.egg_link:  # `setup.py develop`: an egg-link and a line in easy-install.pth
            fs.write_file(prefix / site / f"{pip.name}.egg-link", f"{pip.egg_link}\n.")
            fs.write_file(prefix / site / "easy-install.pth", f"{pip.egg_link}\n")
            return
        editable = pip.direct_url is not None and pip.direct_url.get("dir_info") == {
            "editable": True
        }
        # an editable install's code stays in the working copy; the others' is installed
        module = f"{site}/{pip.name.replace('-', '_')}/__init__.py"
        code = {} if editable else {module: f'__version__ = "{pip.version}"\n'}
        files = formats.dist_info(
            site=site,
            name=pip.name,
            version=pip.version,
            installer=pip.installer,
            metadata_text=formats.metadata(pip.name, pip.version),
            direct_url=pip.direct_url,
            modules=tuple(code),
        )
        for relative, content in {**files, **code}.items():
            fs.write_file(prefix / relative, content)

    def channel_dir(self) -> None:
        """ROOT/mpc: the site's own channel, as ISRDI kept it beside the installations."""
        repodata = {
            "info": {"subdir": "noarch"},
            "packages": {
                "mpctools-1.2-py_0.tar.bz2": {
                    "name": "mpctools",
                    "version": "1.2",
                    "build": "py_0",
                    "build_number": 0,
                    "depends": ["python"],
                    "subdir": "noarch",
                }
            },
        }
        fs.write_file(self.work / "mpc" / "noarch" / "repodata.json", json.dumps(repodata))

    def kernels(self) -> tuple[str, ...]:
        specs = {
            "super_important_jupyter_kernel": "super_important_jupyter_kernel",
            "retired_kernel": "retired_env",  # points at an env removed long ago
        }
        for kernel, env in specs.items():
            python = self.final / "current" / "envs" / env / "bin" / "python"
            spec = {
                "argv": [str(python), "-m", "ipykernel_launcher", "-f", "{connection_file}"],
                "display_name": kernel.replace("_", " "),
                "language": "python",
            }
            fs.write_file(
                self.work / "kernels" / kernel / "kernel.json", json.dumps(spec, indent=1)
            )
        return tuple(specs)


def _timestamp(date: str) -> float:
    moment = datetime.strptime(date, "%Y-%m-%d %H:%M:%S").replace(tzinfo=timezone.utc)
    return moment.timestamp()


def _package_files(package: Package, python: str | None) -> dict[str, str]:
    """What the package installs, by path in the prefix."""
    if package.name == "python":
        short = ".".join(package.version.split(".")[:2])
        return {
            f"bin/python{short}": "#!/bin/sh\n# sample interpreter\n",
            "bin/python": f"{_SYMLINK}python{short}",
            "bin/python3": f"{_SYMLINK}python{short}",
            f"lib/python{short}/os.py": "# sample stdlib\n",
        }
    if package.python_dist and python:
        site = f"lib/python{python}/site-packages"
        module = package.python_dist.replace(".", "_").lower()
        code = {f"{site}/{module}/__init__.py": f'__version__ = "{package.version}"\n'}
        if package.legacy_noarch:  # setuptools-built: an egg-info, no INSTALLER
            egg = f"{site}/{package.python_dist}-{package.version}-py{python}.egg-info"
            return {**code, f"{egg}/PKG-INFO": formats.metadata(package.name, package.version)}
        dist = formats.dist_info(
            site=site,
            name=package.python_dist,
            version=package.version,
            installer="conda",
            metadata_text=formats.metadata(package.name, package.version),
            modules=tuple(code),
        )
        return {**code, **dist}
    return {f"share/{package.name}/README": f"{package.name} {package.version}\n"}


def _paths(package: Package, files: dict[str, str]) -> list[dict[str, object]]:
    """paths_data entries; noarch: python keeps the in-package path there (`files` has the
    target path)."""
    paths = []
    for relative, content in files.items():
        in_package = (
            "site-packages/" + relative.split("/site-packages/", 1)[1]
            if package.noarch == "python" and "/site-packages/" in relative
            else relative
        )
        if content.startswith(_SYMLINK):
            target = files.get(str(PurePosixPath(relative).parent / content[len(_SYMLINK) :]), "")
            paths.append(
                formats.path_entry(
                    in_package,
                    path_type="softlink",
                    sha256=formats.stand_in_digest(target),
                    size=len(target.encode()),
                )
            )
            continue
        digest = formats.stand_in_digest(content)
        paths.append(
            formats.path_entry(
                in_package,
                path_type="hardlink",
                sha256=digest,
                size=len(content.encode()),
                sha256_in_prefix=digest,
            )
        )
    return paths


def _recorded_url(package: Package, era: str, root: Path) -> str:
    url = package.url.replace("file://ROOT", f"file://{root}")
    if era in ("24", "26"):  # conda 24.7+ masks anaconda.org tokens in the recorded URL
        url = re.sub(r"/t/[^/]+/", "/t/<TOKEN>/", url)
    return url


def _canonical(channel: str) -> str:
    """The channel's canonical name, as records and history name it (tokens never)."""
    if channel.rstrip("/").endswith(("/pkgs/free", "/pkgs/pro")):
        return "defaults"  # the sample's free/pro packages come from conda < 4.7, whose defaults
    return spec_channel(channel, CondaConfig())


def _history(env: SampleEnv, installation: str) -> list[formats.HistoryEntry]:
    """One entry per request; the first linked today's packages minus later changes."""
    later_links = {p.name for r in env.requests[1:] for p in r.link}
    later_unlinks = tuple(p for r in env.requests[1:] for p in r.unlink)
    initial = tuple(p for p in env.packages if p.name not in later_links) + later_unlinks
    entries = []
    for index, request in enumerate(env.requests):
        linked = initial if index == 0 else request.link
        entries.append(
            formats.HistoryEntry(
                date=request.date,
                conda=f"ROOT/{installation}/bin/conda",
                arguments=request.command,
                linked=tuple(_dist(p, env.era) for p in linked),
                unlinked=tuple(_dist(p, env.era) for p in request.unlink),
                update=request.update,
                remove=request.remove,
            )
        )
    return entries


def _dist(package: Package, era: str) -> str:
    return formats.dist_string(_canonical(package.channel), package, era)
