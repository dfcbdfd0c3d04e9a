"""Generate a big conda-shared root (N envs x M packages), its files shaped as conda writes them.

usage: python benchmarks/generate.py [--envs N] [--packages M] [--workdir DIR] [--force]

The root is ROOT/v1 (a conda installation: conda-meta/ with history, python and conda records,
a .condarc), ROOT/current -> v1, and ROOT/v1/envs/NAME for every environment. Each environment
has M conda-meta records shaped as conda 24.11 writes them (sorted keys, requested_spec "None"
for dependencies) or, for a quarter of them, as conda 26.7 does (field order, `_requested_specs`,
`requested_specs`, a `created_at` file); a two-command history; and lib/python3.11/site-packages
with every dist-info file the records list (conda's pip interop deletes a record whose
`.dist-info/RECORD` anchor is missing on disk) plus a few pip-installed distributions (index,
git and editable installs, PEP 610 direct_url.json).

Only the files that readers of an environment open are written: conda-meta/, and in
site-packages each package's dist-info files and its module's __init__.py. The other paths a
record lists (shared libraries, headers, the rest of a module) are named in `files` and
`paths_data` but not created: neither conda nor conda-shared opens them to list or export.

Environments draw their packages from a shared pool, as environments built from the same
channels do, so each record's text is rendered once and written into every environment that
holds that package. Trees are cached under --workdir by size and generator version.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import shutil
import sys
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path

from generate_plan import (
    CANONICAL,
    ERAS,
    PIP_PER_ENV,
    SITE,
    EnvPlan,
    Package,
    PipDist,
    base_plan,
    plan_envs,
)

from conda_shared.sample import formats

#: bump whenever the generated layout changes, so cached trees are rebuilt
GENERATOR_VERSION = 3
#: conda-build's 255-character prefix placeholder, on text files that embed the build prefix
PLACEHOLDER = (
    "/home/conda/feedstock_root/build_artifacts/pkg_1700000000000/_h_env_" + "placehold_" * 19
)[:255]


@dataclass(frozen=True)
class GeneratedRoot:
    """A generated shared root and what it holds (saved as ROOT.json beside it)."""

    root: str
    envs: tuple[str, ...]
    packages_per_env: int
    pip_per_env: int
    eras: dict[str, int]
    written: int  # files written (records, history, pip dists, the package cache)
    linked: int  # package files hard-linked from the package cache into environments
    bytes: int  # of the files written
    seconds: float
    generator_version: int = GENERATOR_VERSION

    @property
    def installation(self) -> Path:
        return Path(self.root) / "v1"

    def env_path(self, name: str) -> Path:
        return self.installation / "envs" / name


def _is_softlink(package: Package, path: str) -> bool:
    if package.kind == "interpreter":
        return path in ("bin/python", "bin/python3")
    return package.kind == "native" and ".so" in path and not path.endswith(package.version)


def _path_entry(package: Package, path: str) -> dict[str, object]:
    """One paths_data entry: noarch .pyc files are compiled at link time, text files that
    embed the build prefix carry its placeholder, a few shared-library names are symlinks."""
    if package.kind == "noarch" and path.endswith(".pyc"):
        return formats.path_entry(path, path_type="pyc_file", size=300 + len(path))
    # noarch: python records keep the in-package path in paths_data; `files` has the target
    in_package = in_package_path(package, path)
    digest = formats.stand_in_digest(package.url + path)
    if _is_softlink(package, path):
        return formats.path_entry(in_package, path_type="softlink", sha256=digest, size=0)
    text = path.endswith((".pc", "-config"))
    return formats.path_entry(
        in_package,
        path_type="hardlink",
        sha256=digest,
        size=120 + int(digest[:4], 16),
        sha256_in_prefix=formats.stand_in_digest(digest) if text else digest,
        prefix_placeholder=PLACEHOLDER if text else None,
    )


def record_text(package: Package, *, era: str, pkgs_dir: str, requested: str | None) -> bytes:
    """The conda-meta record of `package` as conda 24.11 or 26.7 writes it."""
    data = formats.record(
        package,
        era=era,
        url=package.url,
        pkgs_dir=pkgs_dir,
        requested=requested,
        files=package.files,
        paths=[_path_entry(package, path) for path in package.files],
    )
    return formats.json_text(data, era).encode()


def _metadata(name: str, version: str, summary: str) -> str:
    lines = [
        "Metadata-Version: 2.1",
        f"Name: {name}",
        f"Version: {version}",
        f"Summary: {summary}",
        f"Home-page: https://github.com/example/{name}",
        "Author: The maintainers",
        "License: BSD-3-Clause",
        "Classifier: Programming Language :: Python :: 3",
        "Classifier: Programming Language :: Python :: 3.11",
        "Classifier: Operating System :: POSIX :: Linux",
        "Requires-Python: >=3.9",
        "Requires-Dist: numpy >=1.21",
        'Requires-Dist: pytest ; extra == "test"',
        "Description-Content-Type: text/markdown",
        "",
        f"# {name}",
        "",
        f"{summary}. " * 12,
        "",
        "## Install",
        "",
        f"    pip install {name}",
        "",
    ]
    return "\n".join(lines)


def conda_dist_files(package: Package) -> dict[str, bytes]:
    """The dist-info files a Python package's record lists, by their path in the prefix."""
    if package.dist_info is None:
        return {}
    files = formats.dist_info(
        site=SITE,
        name=package.name,
        version=package.version,
        installer="conda",
        metadata_text=_metadata(package.name, package.version, f"{package.name} lib"),
        modules=[
            path
            for path in package.files
            if path.startswith(f"{SITE}/") and not path.startswith(f"{package.dist_info}/")
        ],
    )
    return {path: files[path].encode() for path in package.files if path in files}


def in_package_path(package: Package, path: str) -> str:
    """Where a file the record lists sits inside the extracted package (noarch: site-packages/)."""
    if package.kind == "noarch" and path.startswith(SITE):
        return "site-packages" + path[len(SITE) :]
    return path


def pip_dist_files(dist: PipDist) -> dict[str, bytes]:
    """What pip leaves for one distribution: its dist-info (+ direct_url.json, editable .pth)."""
    module = dist.name.replace("-", "_").lower()
    files = formats.dist_info(
        site=SITE,
        name=dist.name,
        version=dist.version,
        installer="pip",
        metadata_text=_metadata(dist.name, dist.version, f"{dist.name} from PyPI"),
        direct_url=dist.direct_url,
        modules=[f"{SITE}/{module}/__init__.py"],  # listed, not written
    )
    return {path: content.encode() for path, content in files.items()}


def _date(seconds: int) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(seconds))


def history_text(plan: EnvPlan, conda: str) -> str:
    """`conda create` of most packages, then `conda install` of the rest (later specs)."""
    later_names = set(plan.later)
    # the later install links the packages asked for then; everything else came with create
    first = [p for p in plan.packages if p.name not in later_names]
    second = [p for p in plan.packages if p.name in later_names]
    entries = [
        formats.HistoryEntry(
            date=_date(plan.created),
            conda=conda,
            arguments=f"create -n {plan.name} {' '.join(plan.at_create)}",
            linked=tuple(_dist(p, plan.era) for p in first),
            update=plan.at_create,
        )
    ]
    if plan.later:
        entries.append(
            formats.HistoryEntry(
                date=_date(plan.created + 86_400 * 30),
                conda=conda,
                arguments=f"install -n {plan.name} {' '.join(plan.later)}",
                linked=tuple(_dist(p, plan.era) for p in second),
                update=plan.later,
            )
        )
    return formats.history_text(entries, plan.era)


def _dist(package: Package, era: str) -> str:
    return formats.dist_string(CANONICAL[package.channel], package, era)


class _TreeWriter:
    """Writes records with plain open(), hard-links package files from the package cache.

    conda links a package's files into every environment from its extracted copy in pkgs/
    (link type 1, hardlink) and writes each conda-meta record itself: so does this.
    """

    def __init__(self, work_root: Path, final_root: Path) -> None:
        self.work_pkgs = str(work_root / "v1" / "pkgs")
        self.final_pkgs = str(final_root / "v1" / "pkgs")
        self.written = 0
        self.linked = 0
        self.bytes = 0
        self._records: dict[tuple[Package, str, str | None], bytes] = {}
        self._made: set[str] = set()

    def _parent(self, path: str) -> None:
        parent = os.path.dirname(path)
        if parent not in self._made:
            os.makedirs(parent, exist_ok=True)
            self._made.add(parent)

    def write(self, path: str, data: bytes) -> None:
        self._parent(path)
        with open(path, "wb") as stream:
            stream.write(data)
        self.written += 1
        self.bytes += len(data)

    def record_text(self, package: Package, era: str, requested: str | None) -> bytes:
        key = (package, era, requested)
        text = self._records.get(key)
        if text is None:
            text = self._records[key] = record_text(
                package, era=era, pkgs_dir=self.final_pkgs, requested=requested
            )
        return text

    def extract(self, package: Package) -> None:
        """Put the package's dist-info files into pkgs/, where conda extracts packages."""
        for relative, content in conda_dist_files(package).items():
            self.write(self._cached(package, relative), content)

    def _cached(self, package: Package, relative: str) -> str:
        return f"{self.work_pkgs}/{package.stem}/{in_package_path(package, relative)}"

    def link_package(self, prefix: str, package: Package) -> None:
        """Link the package's dist-info files from pkgs/ (extracted first) into prefix."""
        for relative in package.files:
            if relative.startswith(f"{package.dist_info}/"):
                target = f"{prefix}/{relative}"
                self._parent(target)
                os.link(self._cached(package, relative), target)
                self.linked += 1

    def env(self, prefix: str, plan: EnvPlan, conda: str) -> None:
        requested = {spec.split("=")[0]: spec for spec in (*plan.at_create, *plan.later)}
        meta = f"{prefix}/conda-meta"
        for package in plan.packages:
            text = self.record_text(package, plan.era, requested.get(package.name))
            self.write(f"{meta}/{package.stem}.json", text)
            if package.dist_info is not None:
                self.link_package(prefix, package)
        for dist in plan.pip:
            for relative, content in pip_dist_files(dist).items():
                self.write(f"{prefix}/{relative}", content)
        os.makedirs(f"{prefix}/{SITE}", exist_ok=True)  # python's, even with no package in it
        self.write(f"{meta}/history", history_text(plan, conda).encode())
        if plan.era == "26":  # str() of a POSIX timestamp, no newline
            self.write(f"{meta}/created_at", str(plan.created + 0.25).encode())


def _write_tree(work: Path, final: Path, plans: Sequence[EnvPlan]) -> tuple[int, int, int]:
    """Write the installation and the package cache, then the envs in parallel processes."""
    writer = _TreeWriter(work, final)
    installation = work / "v1"
    base = base_plan()
    for package in dict.fromkeys(p for plan in (base, *plans) for p in plan.packages):
        if package.dist_info is not None:
            writer.extract(package)
    writer.env(str(installation), base, f"{final}/v1/bin/conda")
    writer.write(str(installation / ".condarc"), b"channels:\n  - conda-forge\n  - defaults\n")
    os.symlink("v1", work / "current")
    workers = max(1, min(os.cpu_count() or 1, 4, len(plans)))
    # fork: children inherit the module as loaded, also when it runs as a script
    context = multiprocessing.get_context("fork")
    with ProcessPoolExecutor(workers, mp_context=context) as pool:
        counts = list(
            pool.map(_write_envs, [(work, final, plans[i::workers]) for i in range(workers)])
        )
    return (
        writer.written + sum(c[0] for c in counts),
        writer.linked + sum(c[1] for c in counts),
        writer.bytes + sum(c[2] for c in counts),
    )


def _write_envs(job: tuple[Path, Path, Sequence[EnvPlan]]) -> tuple[int, int, int]:
    work, final, plans = job
    writer = _TreeWriter(work, final)
    for plan in plans:
        writer.env(f"{work}/v1/envs/{plan.name}", plan, f"{final}/v1/bin/conda")
    return writer.written, writer.linked, writer.bytes


def cache_paths(workdir: Path, *, envs: int, packages: int) -> tuple[Path, Path]:
    """The cached root for this size and generator version, and its description file."""
    root = workdir / f"root-{envs}x{packages}-g{GENERATOR_VERSION}"
    return root, root.with_name(root.name + ".json")


def add_root_arguments(parser: argparse.ArgumentParser) -> None:
    """--envs, --packages, --conda-sample and --workdir: the generated root the export and
    catalog benchmarks measure (the same cached roots serve both)."""
    import tempfile

    parser.add_argument("--envs", type=int, default=200, help="environments (default 200)")
    parser.add_argument(
        "--packages", type=int, default=150, help="conda packages per environment (default 150)"
    )
    parser.add_argument(
        "--conda-sample",
        type=int,
        default=6,
        metavar="K",
        help="environments the conda loop is measured on, scaled to --envs (default 6)",
    )
    parser.add_argument(
        "--workdir",
        type=Path,
        default=Path(tempfile.gettempdir()) / "conda-shared-export-bench",
        help="where generated roots are cached and exports written "
        "(default: TMPDIR/conda-shared-export-bench, reused across runs)",
    )


def generate(
    *,
    workdir: Path,
    envs: int,
    packages: int,
    force: bool = False,
    progress: Callable[[str], None] | None = None,
) -> tuple[GeneratedRoot, bool]:
    """The root for (envs, packages) under `workdir`, generated unless cached; True if reused."""
    workdir = workdir.absolute()
    root, description = cache_paths(workdir, envs=envs, packages=packages)
    if not force and root.is_dir() and description.is_file():
        saved = json.loads(description.read_text())
        saved["envs"] = tuple(saved["envs"])
        return GeneratedRoot(**saved), True
    for stale in (root, description):
        if stale.is_dir():
            shutil.rmtree(stale)
        elif stale.exists():
            stale.unlink()
    workdir.mkdir(parents=True, exist_ok=True)
    work = workdir / f".{root.name}.tmp-{os.getpid()}"
    start = time.perf_counter()
    plans = plan_envs(envs=envs, packages=packages)
    try:
        if progress is not None:
            progress(f"generating {envs} envs x {packages} packages in {root}")
        written, linked, size = _write_tree(work, root, plans)
        os.rename(work, root)
        # Flush it now, so that no measurement later pays for writing back the tree
        # (an fsync on ext4 can wait for other files' pending data).
        os.sync()
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise
    eras = {era: sum(1 for p in plans if p.era == era) for era in ERAS}
    result = GeneratedRoot(
        root=str(root),
        envs=tuple(plan.name for plan in plans),
        packages_per_env=packages,
        pip_per_env=PIP_PER_ENV,
        eras=eras,
        written=written,
        linked=linked,
        bytes=size,
        seconds=time.perf_counter() - start,
    )
    description.write_text(json.dumps(asdict(result), indent=1))
    return result, False


def main(argv: Sequence[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--envs", type=int, default=200, help="environments (default 200)")
    parser.add_argument("--packages", type=int, default=150, help="conda packages per env (150)")
    parser.add_argument("--workdir", type=Path, required=True, help="where trees are cached")
    parser.add_argument("--force", action="store_true", help="regenerate even if cached")
    args = parser.parse_args(argv)
    generated, reused = generate(
        workdir=args.workdir,
        envs=args.envs,
        packages=args.packages,
        force=args.force,
        progress=lambda message: print(message, file=sys.stderr),
    )
    how = "reused" if reused else f"generated in {generated.seconds:.1f} s"
    print(
        f"{generated.root}: {len(generated.envs)} envs x {generated.packages_per_env} packages "
        f"+ {generated.pip_per_env} pip: {generated.written} files written "
        f"({generated.bytes / 2**20:.0f} MiB), {generated.linked} hard links ({how})"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
