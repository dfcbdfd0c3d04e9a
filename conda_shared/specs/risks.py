"""The risks that predict a failed replication of one environment, each with its reason."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from ..channels import file_url_to_path
from ..prefix import EnvState, PackageRecord, PythonDist


@dataclass(frozen=True)
class Risk:
    """Something in an environment that is likely to break its replication, and why."""

    code: str
    package: str | None
    message: str


def find_risks(env: EnvState) -> Iterable[Risk]:
    """Every risk of `env`, package by package, then per channel, then per pip distribution."""
    conda_names = {r.name.lower() for r in env.records}
    for record in env.records:
        if record.legacy_noarch:
            yield Risk(
                "legacy-noarch",
                record.name,
                f"{record.name} {record.version} is a legacy noarch package (noarch_python); "
                "newer conda may refuse it: rebuild it as noarch: python",
            )
        if record.channel.name == "<unknown>" or not record.url:
            yield Risk(
                "unknown-channel",
                record.name,
                f"{record.name} {record.version} was installed from a file, not a channel; "
                + (
                    f"the lock needs {record.url} to still exist"
                    if record.url
                    else "the lock cannot fetch it"
                ),
            )
        if (
            record.url
            and record.url.startswith("file:")
            and record.channel.name != "<unknown>"
            and not _file_channel_has(record)
        ):
            yield Risk(
                "channel-gone",
                record.name,
                f"{record.fn} is no longer in {record.channel.base_url}; replicate will fail "
                "unless it is put back",
            )
        if record.url and not (record.sha256 or record.md5):
            yield Risk("no-hash", record.name, f"{record.fn} has no md5/sha256 to verify")
    yield from _custom_channel_risks(env.records)
    for site in env.stale_site_packages:
        yield Risk(
            "stale-site-packages",
            None,
            f"{site} belongs to a Python this env no longer has; what is installed there is "
            "not exported: reinstall what is still needed for the env's Python",
        )
    for dist in env.pip_dists:
        yield from _pip_risks(dist, conda_names)


def _custom_channel_risks(records: Sequence[PackageRecord]) -> Iterable[Risk]:
    """One risk per site-specific channel (file://, mirror, token-protected)."""
    by_channel: dict[str, list[str]] = {}
    for record in records:
        if record.url and (record.private or "://" in record.channel.name):
            by_channel.setdefault(record.channel.name, []).append(f"{record.name} {record.version}")
    for channel, packages in by_channel.items():
        yield Risk(
            "custom-channel",
            None,
            f"{len(packages)} package(s) come from {channel} ({', '.join(packages)}); make sure "
            "that channel still serves these versions to the new installation",
        )


def _pip_risks(dist: PythonDist, conda_names: set[str]) -> Iterable[Risk]:
    source = dist.source
    if source.problem:
        yield Risk(
            "pip-source-unknown",
            dist.name,
            f"where {dist.name} {dist.version} came from is unknown: {source.problem}; "
            "it is exported as an index package",
        )
    if source.kind == "vcs":
        yield Risk(
            "pip-vcs",
            dist.name,
            f"{dist.name} was pip-installed from {source.url}"
            + (f" at {source.commit[:12]}" if source.commit else "")
            + "; it needs network access to that repository",
        )
    elif source.kind == "editable":
        yield Risk(
            "pip-editable",
            dist.name,
            f"{dist.name} is an editable install of {source.url}; the new env will point at "
            "that working copy, if it still exists",
        )
    elif source.kind in ("local", "archive") and source.url and source.url.startswith("file:"):
        yield Risk(
            "pip-local",
            dist.name,
            f"{dist.name} was pip-installed from the local path {source.url}",
        )
    if dist.normalized in conda_names or dist.name.lower() in conda_names:
        yield Risk(
            "conda-and-pip",
            dist.name,
            f"{dist.name} is installed by conda and by pip ({dist.version}); "
            "recreating both will conflict: keep one",
        )
    elif dist.installer == "conda":
        yield Risk(
            "noarch-in-pip",
            dist.name,
            f"{dist.name} {dist.version} was installed by conda but no conda record lists it "
            "(a legacy noarch package?); it appears only in the pip section",
        )


def _file_channel_has(record: PackageRecord) -> bool:
    """Whether a file:// channel still serves this package (the file, or its repodata entry)."""
    base = file_url_to_path(record.channel.base_url)
    subdir = base / (record.subdir or "noarch")
    if (subdir / record.fn).exists():
        return True
    try:
        repodata = json.loads((subdir / "repodata.json").read_bytes())
    except (OSError, ValueError):
        return False
    if not isinstance(repodata, dict):
        return False
    packages = repodata.get("packages"), repodata.get("packages.conda")
    return any(isinstance(group, dict) and record.fn in group for group in packages)
