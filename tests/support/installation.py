"""Complete conda installations in tmp_path whose own conda runs (tier 2): base from a channel."""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Sequence
from pathlib import Path

import conda_shared
from tests.support.conda_runner import STRIPPED_PREFIXES, CondaRunner


def make_installation(
    path: Path,
    *,
    channel_urls: Sequence[str],
    work: Path,
    conda_python: Path | None = None,
    with_conda_shared: bool = False,
) -> Path:
    """A conda installation whose base env is `path`, as an installer would leave it.

    Its python comes from the channel, created by real conda; the code of the conda that
    `conda_python` runs (default: this interpreter's) is put on its sys.path through a .pth
    file, with conda-meta records standing for it. With `with_conda_shared`, the conda_shared
    being tested is installed too (source, dist-info and a record), so `conda shared` works in
    it. Its `.condarc` makes it work offline on `channel_urls` with the classic solver, and its
    package cache is its own `pkgs/`. Run it as `path/bin/python -m conda`. Nothing of the
    running conda is changed.
    """
    creator = CondaRunner.in_sandbox(
        work / f"creator-{path.name}", channel_urls, python=conda_python
    )
    creator("create", "--prefix", path, "python", "pip")
    conda_site, conda_version, requires = _conda_site(creator.python)
    provided = work / f"conda-code-{path.name}"
    provided.mkdir()
    for entry in conda_site.iterdir():
        if "conda_shared" not in entry.name and entry.suffix != ".pth":
            (provided / entry.name).symlink_to(entry)
    (site_packages,) = path.glob("lib/python*/site-packages")
    lines = [str(provided)]
    if with_conda_shared:
        lines.append(str(_install_conda_shared(path, site_packages, work)))
    (site_packages / "installed-conda.pth").write_text("\n".join(lines) + "\n")
    channel = provided.as_uri()
    for name, version in requires:
        write_record(path, name, version, channel=channel)
    write_record(
        path, "conda", conda_version, channel=channel, depends=[name for name, _ in requires]
    )
    channels = "".join(f"  - {url}\n" for url in channel_urls)
    (path / ".condarc").write_text(
        "solver: classic\n"
        f"channels:\n{channels}"
        "offline: true\n"
        "auto_update_conda: false\n"
        "notify_outdated_conda: false\n"
        "number_channel_notices: 0\n"
        "report_errors: false\n"
    )
    return path


def installation_environ(home: Path) -> dict[str, str]:
    """The environment for running an installation's own commands: the caller's minus any
    conda/XDG/pip variables, with HOME at `home` (so no user condarc or environments.txt)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(STRIPPED_PREFIXES)}
    env["HOME"] = str(home)
    home.mkdir(parents=True, exist_ok=True)
    return env


def run_in(
    installation: Path, *args: str | Path, home: Path, check: bool = False
) -> subprocess.CompletedProcess[str]:
    """Run `installation/bin/python ARGS` (e.g. `-m conda info --json`) isolated from the caller."""
    return subprocess.run(
        [str(installation / "bin" / "python"), *map(str, args)],
        capture_output=True,
        text=True,
        env=installation_environ(home),
        check=check,
    )


def write_record(
    prefix: Path, name: str, version: str, *, channel: str, depends: Sequence[str] = ()
) -> Path:
    """A conda-meta record of a package whose files are already in place (lists none)."""
    fn = f"{name}-{version}-0.tar.bz2"
    record = {
        "name": name,
        "version": version,
        "build": "0",
        "build_number": 0,
        "channel": channel,
        "subdir": "noarch",
        "fn": fn,
        "url": f"{channel}/noarch/{fn}",
        "depends": list(depends),
        "files": [],
        "paths_data": {"paths": [], "paths_version": 1},
    }
    record_path = prefix / "conda-meta" / f"{fn[: -len('.tar.bz2')]}.json"
    record_path.write_text(json.dumps(record, indent=2) + "\n")
    return record_path


def _conda_site(python: Path) -> tuple[Path, str, list[tuple[str, str]]]:
    """Where `python` imports conda from, conda's version, and the requirements conda-shared's
    recipe shares with conda (each gets a record, so installing the recipe solves offline)."""
    probe = (
        "import conda, json, importlib.metadata as m, pathlib;"
        "names=('pluggy','ruamel.yaml','packaging');"
        "print(json.dumps([str(pathlib.Path(conda.__file__).parent.parent), conda.__version__,"
        " [[n, m.version(n)] for n in names]]))"
    )
    out = subprocess.run(
        [str(python), "-c", probe], capture_output=True, text=True, check=True
    ).stdout
    site, version, requires = json.loads(out)
    return Path(site), version, [(name, ver) for name, ver in requires]


def _install_conda_shared(prefix: Path, site_packages: Path, work: Path) -> Path:
    """conda_shared as a conda package would install it: code, dist-info with the conda entry
    point, a `conda-shared` record. Returns the directory to put on sys.path."""
    source = Path(conda_shared.__file__).parent
    code = work / f"conda-shared-code-{prefix.name}"
    code.mkdir()
    (code / "conda_shared").symlink_to(source)
    version = conda_shared.__version__
    dist_info = site_packages / f"conda_shared-{version}.dist-info"
    dist_info.mkdir()
    (dist_info / "METADATA").write_text(
        f"Metadata-Version: 2.1\nName: conda-shared\nVersion: {version}\n"
    )
    (dist_info / "INSTALLER").write_text("conda\n")
    (dist_info / "entry_points.txt").write_text(
        "[conda]\nconda-shared = conda_shared.plugin\n\n"
        "[console_scripts]\nconda-shared = conda_shared.__main__:run\n"
    )
    write_record(prefix, "conda-shared", version, channel=code.as_uri(), depends=["conda"])
    return code
