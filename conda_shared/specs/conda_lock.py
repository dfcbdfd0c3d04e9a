"""NAME.conda-lock.yml: the conda-lock v1 file (CEP 37) of every package with a URL and hash."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from .. import __version__
from ..channels import canonical_file_url
from ..history import spec_name
from ..prefix import EnvState, PackageRecord, PythonDist
from .manifest import key_comment
from .risks import Risk
from .yaml import scalar

OMITTED = "conda-lock-omits"
#: how a distribution the lock leaves out was installed, by its PipSource kind
_ORIGINS = {
    "vcs": "from version control",
    "editable": "as an editable install",
    "local": "from a local path",
    "archive": "from a URL",
    "unknown": "from an unknown source",
}


def conda_lock_text(
    env: EnvState,
    *,
    channels: Sequence[str],
    key: str,
    intent_file: str,
    conda_version: str | None,
) -> str:
    """The lock of what `env` holds; `intent_file` (the loose spec) is what conda-lock re-solves.

    `content_hash` stays empty: conda-lock hashes the spec it solved, and this file was read
    from an installed env, so any `--check-input-hash` must re-solve rather than trust it.
    """
    platform = env.platform or "noarch"
    pip = [d for d in sorted(env.pip_dists, key=lambda d: d.normalized) if _lockable_dist(d)]
    lines = [
        key_comment(key),
        "# conda-lock v1 (CEP 37), read by conda-shared from the installed environment.",
        "# Packages without a URL and hash are not here: the manifest's risks name them.",
    ]
    if pip:  # conda-lockfiles 0.2.2 rejects the file, and conda then creates an empty env
        lines += [
            "# Its pip entries make `conda create --file` (conda-lockfiles 0.2.2) create an",
            "# EMPTY environment: delete them before, and install them with pip after.",
        ]
    lines += [
        "version: 1",
        "metadata:",
        "  content_hash: {}",
        "  channels:",
    ]
    for channel in channels:
        lines += [f"  - url: {scalar(channel)}", "    used_env_vars: []"]
    lines += [
        "  platforms:",
        f"  - {scalar(platform)}",
        "  sources:",
        f"  - {scalar(intent_file)}",
        "  custom_metadata:",
        f"    created_by: {scalar(f'conda-shared {__version__}')}",
        f"    source_conda: {scalar(conda_version or 'unknown')}",
        f"    content_key: {scalar(key)}",
        f"    env_name: {scalar(env.name)}",
        f"    env_prefix: {scalar(str(env.path))}",
        "package:",
    ]
    for record in sorted(env.records, key=lambda r: r.name):
        if _lockable_record(record):
            lines += _conda_entry(record, platform)
    for dist in pip:
        lines += _pip_entry(dist, platform)
    if lines[-1] == "package:":
        lines[-1] = "package: []"
    return "\n".join(lines) + "\n"


def omitted(env: EnvState) -> Iterable[Risk]:
    """One risk per package the conda-lock file leaves out, saying why."""
    for record in env.records:
        if _lockable_record(record):
            continue
        missing = "download URL" if not record.url else "md5"
        yield Risk(
            OMITTED,
            record.name,
            f"{record.name} {record.version} is not in the conda-lock file: it has no "
            f"{missing}, and conda-lock files need a URL and an md5 for every conda package",
        )
    for dist in env.pip_dists:
        if _lockable_dist(dist):
            continue
        yield Risk(
            OMITTED,
            dist.name,
            f"{dist.name} {dist.version} is not in the conda-lock file: it was installed "
            f"{_pip_origin(dist)}, with no archive URL and hash on record; "
            "the pinned .yml lists it",
        )


def _lockable_record(record: PackageRecord) -> bool:
    return bool(record.url and record.md5)


def _lockable_dist(dist: PythonDist) -> bool:
    source = dist.source
    return source.kind in ("archive", "local") and bool(source.url and source.sha256)


def _pip_origin(dist: PythonDist) -> str:
    if dist.installer == "conda":
        return "by conda, which kept no record of it"
    return _ORIGINS.get(dist.source.kind, "from a package index")


def _conda_entry(record: PackageRecord, platform: str) -> list[str]:
    assert record.url is not None  # only lockable records get here
    return [
        f"- name: {scalar(record.name)}",
        f"  version: {scalar(record.version)}",
        "  manager: conda",
        f"  platform: {scalar(platform)}",
        *_dependencies(record.depends),
        f"  url: {scalar(canonical_file_url(record.url))}",
        "  hash:",
        f"    md5: {scalar(record.md5)}",
        *([f"    sha256: {scalar(record.sha256)}"] if record.sha256 else []),
        "  category: main",
        "  optional: false",
        f"  build: {scalar(record.build)}",
    ]


def _pip_entry(dist: PythonDist, platform: str) -> list[str]:
    source = dist.source
    assert source.url is not None  # only lockable dists get here
    return [
        f"- name: {scalar(dist.normalized)}",
        f"  version: {scalar(dist.version)}",
        "  manager: pip",
        f"  platform: {scalar(platform)}",
        "  dependencies: {}",
        f"  url: {scalar(canonical_file_url(source.url))}",
        "  hash:",
        *([f"    md5: {scalar(source.md5)}"] if source.md5 else []),
        f"    sha256: {scalar(source.sha256)}",
        "  category: main",
        "  optional: false",
    ]


def _dependencies(depends: Sequence[str]) -> list[str]:
    """conda-lock's map of dependency name to version constraint (the build part dropped)."""
    merged: dict[str, list[str]] = {}
    for spec in depends:
        name = spec_name(spec)
        words = spec.split()
        version = words[1] if len(words) > 1 and words[0] == name else ""
        constraints = merged.setdefault(name, [])
        if version and version not in constraints:
            constraints.append(version)
    if not merged:
        return ["  dependencies: {}"]
    return ["  dependencies:"] + [
        f"    {scalar(name)}: {scalar(','.join(versions))}" for name, versions in merged.items()
    ]
