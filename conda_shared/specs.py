"""Turn one environment into its spec levels: lock, pinned, loose, manifest, and its risks."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from . import __version__
from .channels import spec_channel
from .condarc import CondaConfig
from .history import spec_channel as history_spec_channel
from .history import spec_name
from .kernels import Kernel, kernels_running
from .prefix import EnvState, PackageRecord, PythonDist

MANIFEST_SCHEMA = "conda-shared/manifest/1"


@dataclass(frozen=True)
class Risk:
    """Something in an environment that is likely to break its replication, and why."""

    code: str
    package: str | None
    message: str


@dataclass(frozen=True)
class EnvSpecs:
    """The four files of one exported environment, as text, plus what they tell."""

    name: str
    lock: str
    pinned: str
    loose: str
    manifest: str
    content_key: str
    risks: tuple[Risk, ...]


@dataclass(frozen=True)
class SourceInfo:
    """The installation an environment is exported from."""

    path: Path
    conda_version: str | None
    config: CondaConfig


LOCK_HASHES = ("sha256", "md5")


def build_specs(
    env: EnvState,
    *,
    source: SourceInfo,
    kernels: Sequence[Kernel] = (),
    lock_hash: str = "sha256",
) -> EnvSpecs:
    """All spec levels of `env`; channels are interpreted with the source's own config.

    `lock_hash` md5 serves targets older than conda 24.9, which cannot read `#sha256` URLs.
    """
    records = _dependency_order(env.records)
    channels = _pinned_channels(records, source.config)
    risks = tuple(_risks(env))
    key = content_key(env)
    env_kernels = kernels_running(kernels, env.path)
    return EnvSpecs(
        name=env.name,
        lock=_lock_text(env, records, key, source, lock_hash),
        pinned=_yaml(
            {
                "name": env.name,
                "channels": channels,
                "dependencies": [f"{r.name}={r.version}" for r in env.records]
                + _pip_section([_pinned_pip(d) for d in env.pip_dists]),
            }
        ),
        loose=_yaml(_loose(env, source.config)),
        manifest=_manifest_json(
            _manifest(
                env, source=source, channels=channels, key=key, risks=risks, kernels=env_kernels
            )
        ),
        content_key=key,
        risks=risks,
    )


def content_key(env: EnvState) -> str:
    """A hash of the exact package set: conda builds with their hashes, pip dists and sources."""
    lines = sorted(
        f"conda:{r.subdir}/{r.name}-{r.version}-{r.build}#{r.sha256 or r.md5 or ''}"
        for r in env.records
    )
    lines += sorted(
        f"pip:{d.normalized}=={d.version}@{d.source.url or ''}#{d.source.commit or ''}"
        for d in env.pip_dists
    )
    return "sha256:" + hashlib.sha256("\n".join(lines).encode()).hexdigest()


def _dependency_order(records: Sequence[PackageRecord]) -> list[PackageRecord]:
    """Dependencies before dependents (as `conda list --explicit` does), ties by name."""
    by_name = {r.name: r for r in records}
    ordered: list[PackageRecord] = []
    state: dict[str, int] = {}  # 1 = visiting, 2 = done; cycles are broken where found

    def visit(record: PackageRecord) -> None:
        if state.get(record.name):
            return
        state[record.name] = 1
        for dependency in sorted(spec_name(d) for d in record.depends):
            if dependency in by_name:
                visit(by_name[dependency])
        state[record.name] = 2
        ordered.append(record)

    for record in sorted(records, key=lambda r: r.name):
        visit(record)
    return ordered


def _lock_text(
    env: EnvState,
    records: Sequence[PackageRecord],
    key: str,
    source: SourceInfo,
    lock_hash: str,
) -> str:
    lines = [
        "# This file may be used to create an environment using:",
        "# $ conda create --name <env> --file <this file>",
        f"# platform: {env.platform or 'noarch'}",
        f"# env: {env.name} ({env.path})",
        f"# exported-by: conda-shared {__version__} from conda {source.conda_version or '?'}",
        f"# content-key: {key}",
        "@EXPLICIT",
    ]
    for record in records:
        if not record.url:
            lines.append(f"# no URL for: {record.fn}")
            continue
        preferred = (
            (record.md5, record.sha256) if lock_hash == "md5" else (record.sha256, record.md5)
        )
        digest = preferred[0] or preferred[1]
        lines.append(f"{record.url}#{digest}" if digest else record.url)
    return "\n".join(lines) + "\n"


def _pinned_channels(records: Iterable[PackageRecord], config: CondaConfig) -> list[str]:
    """The source's configured channels, with channels its packages came from in front.

    This is `conda env export`'s rule, with names interpreted by the source installation.
    """
    channels = [spec_channel(c, config) for c in config.channels]
    for record in records:
        name = record.channel.name
        if name != "<unknown>" and name not in channels:
            channels.insert(0, name)
    return list(dict.fromkeys(channels)) or ["defaults"]


def _pinned_pip(dist: PythonDist) -> str:
    source = dist.source
    if source.kind == "vcs" and source.url:
        commit = f"@{source.commit}" if source.commit else ""
        return f"{dist.name} @ {source.vcs or 'git'}+{source.url}{commit}"
    if source.kind == "editable" and source.url:
        return f"-e {_path_of(source.url)}"
    if source.kind in ("local", "archive") and source.url:
        return f"{dist.name} @ {source.url}"
    return f"{dist.name}=={dist.version}"


def _loose_pip(dist: PythonDist) -> str:
    source = dist.source
    if source.kind == "vcs" and source.url:
        revision = f"@{source.requested_revision}" if source.requested_revision else ""
        return f"{dist.name} @ {source.vcs or 'git'}+{source.url}{revision}"
    if source.kind in ("editable", "local", "archive"):
        return _pinned_pip(dist)
    return dist.name


def _path_of(url: str) -> str:
    return url[len("file://") :] if url.startswith("file://") else url


def _pip_section(entries: list[str]) -> list[Any]:
    return [{"pip": sorted(entries, key=str.lower)}] if entries else []


def _loose(env: EnvState, config: CondaConfig) -> dict[str, Any]:
    installed = {r.name for r in env.records}
    requested = env.history.requested_specs()
    if not requested:  # no usable history: fall back to what conda recorded per package
        requested = {r.name: r.requested_spec for r in env.records if r.requested_spec}
    if not requested:  # nothing recorded at all: the packages nothing else depends on
        needed = {spec_name(d) for r in env.records for d in r.depends}
        requested = {r.name: r.name for r in env.records if r.name not in needed}
    specs = [_without_unknown_channel(s) for name, s in requested.items() if name in installed]
    asked_from = [spec_channel(c, config) for c in _command_channels(env)]
    asked_from += [c for c in (history_spec_channel(s) for s in specs) if c]
    configured = [spec_channel(c, config) for c in config.channels]
    channels = list(dict.fromkeys([*asked_from, *configured]))
    return {
        "name": env.name,
        "channels": channels or ["defaults"],
        "dependencies": sorted(specs, key=str.lower)
        + _pip_section([_loose_pip(d) for d in env.pip_dists]),
    }


def _without_unknown_channel(spec: str) -> str:
    """26.x records a tarball installed from disk as `<unknown>/subdir::name==version=build`."""
    if (history_spec_channel(spec) or "").startswith("<unknown>"):
        return spec.rsplit("::", 1)[1]
    return spec


def _command_channels(env: EnvState) -> list[str]:
    """Channels the user passed with -c/--channel in any recorded command."""
    found: list[str] = []
    for revision in env.history.revisions:
        words = revision.arguments
        for index, word in enumerate(words):
            if word in ("-c", "--channel") and index + 1 < len(words):
                found.append(words[index + 1])
            elif word.startswith("--channel="):
                found.append(word.split("=", 1)[1])
    return found


def _risks(env: EnvState) -> Iterable[Risk]:
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
            and record.url.startswith("file://")
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
    base = Path(_path_of(record.channel.base_url))
    subdir = record.subdir or "noarch"
    if (base / subdir / record.fn).exists():
        return True
    try:
        repodata = json.loads((base / subdir / "repodata.json").read_bytes())
    except (OSError, ValueError):
        return False
    packages = {**repodata.get("packages", {}), **repodata.get("packages.conda", {})}
    return record.fn in packages


def _manifest(
    env: EnvState,
    *,
    source: SourceInfo,
    channels: list[str],
    key: str,
    risks: Sequence[Risk],
    kernels: Sequence[Kernel],
) -> dict[str, Any]:
    from dataclasses import asdict

    conda_names = {r.name.lower() for r in env.records}
    history = env.history
    return {
        "schema": MANIFEST_SCHEMA,
        "name": env.name,
        "content_key": key,
        "source": {
            "installation": str(source.path),
            "prefix": str(env.path),
            "conda_version": source.conda_version,
            "platform": env.platform,
        },
        "made_by_conda": history.conda_versions[0] if history.conda_versions else None,
        "conda_versions": list(dict.fromkeys(history.conda_versions)),
        "last_change": history.last_change,
        "python_version": env.python_version,
        "channels": channels,
        "requested": env.history.requested_specs(),
        "conda": [
            {
                "name": r.name,
                "version": r.version,
                "build": r.build,
                "build_number": r.build_number,
                "channel": r.channel.name,
                "channel_url": r.channel.base_url,
                "subdir": r.subdir,
                "fn": r.fn,
                "url": r.url,
                "md5": r.md5,
                "sha256": r.sha256,
                "noarch": r.noarch,
                "legacy_noarch": r.legacy_noarch,
                "requested_spec": r.requested_spec,
            }
            for r in env.records
        ],
        "pip": [
            {
                "name": d.name,
                "version": d.version,
                "installer": d.installer,
                "location": d.location,
                "also_conda": d.normalized in conda_names,
                "source": asdict(d.source),
            }
            for d in env.pip_dists
        ],
        "kernels": [
            {"name": k.name, "spec": str(k.spec_path), "display_name": k.display_name}
            for k in kernels
        ],
        "risks": [asdict(r) for r in risks],
        "files": {
            "lock": f"{env.name}.lock",
            "pinned": f"{env.name}.yml",
            "loose": f"{env.name}.history.yml",
        },
        "exported_by": f"conda-shared {__version__}",
    }


_PLAIN = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.=<>!,*+~/-]*$")


def _yaml(document: dict[str, Any]) -> str:
    """YAML for our fixed-shape env files (`name`, `channels`, `dependencies` with `pip:`).

    Written by hand: ruamel's pure-Python emitter was a third of an export's time. Scalars
    that are not plainly safe are JSON-quoted, which YAML reads as double-quoted strings.
    """
    lines: list[str] = []
    for key, value in document.items():
        if isinstance(value, list):
            lines.append(f"{key}:")
            for item in value:
                if isinstance(item, dict):
                    for sub_key, sub_items in item.items():
                        lines.append(f"  - {sub_key}:")
                        lines += [f"      - {_scalar(sub)}" for sub in sub_items]
                else:
                    lines.append(f"  - {_scalar(item)}")
        else:
            lines.append(f"{key}: {_scalar(value)}")
    return "\n".join(lines) + "\n"


def _scalar(value: object) -> str:
    text = str(value)
    return text if _PLAIN.match(text) and text.lower() not in _YAML_WORDS else json.dumps(text)


_YAML_WORDS = frozenset({"true", "false", "yes", "no", "on", "off", "null", "~", "y", "n"})


def _manifest_json(manifest: dict[str, Any]) -> str:
    """Indented JSON with one line per package: json's C encoder only runs without indent."""
    lines = []
    for key, value in manifest.items():
        if key in ("conda", "pip") and value:
            items = ",\n".join(f"    {json.dumps(item)}" for item in value)
            lines.append(f"  {json.dumps(key)}: [\n{items}\n  ]")
        else:
            lines.append(f"  {json.dumps(key)}: {json.dumps(value)}")
    return "{\n" + ",\n".join(lines) + "\n}\n"
