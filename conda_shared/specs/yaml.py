"""NAME.yml (pinned) and NAME.history.yml (loose): conda env files, YAML written by hand."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from typing import Any

from ..channels import canonical_file_url, file_url_to_path, spec_channel
from ..condarc import CondaConfig
from ..history import spec_channel as history_spec_channel
from ..history import spec_name
from ..prefix import EnvState, PackageRecord, PythonDist
from ..text import quoted
from .manifest import key_comment


def pinned_channels(records: Iterable[PackageRecord], config: CondaConfig) -> list[str]:
    """The source's configured channels, with channels its packages came from in front.

    This is `conda env export`'s rule, with names interpreted by the source installation.
    """
    channels = [spec_channel(c, config) for c in config.channels]
    for record in records:
        name = record.channel.name
        if name != "<unknown>" and name not in channels:
            channels.insert(0, name)
    return list(dict.fromkeys(channels)) or ["defaults"]


def pinned_text(env: EnvState, *, channels: list[str], key: str) -> str:
    """The `--no-builds` env file: name=version per conda package, pip entries with provenance."""
    return dump(
        {
            "name": env.name,
            "channels": channels,
            "dependencies": [f"{r.name}={r.version}" for r in env.records]
            + _pip_section([_pinned_pip(d) for d in env.pip_dists]),
        },
        key=key,
    )


def loose_text(env: EnvState, *, config: CondaConfig, key: str) -> str:
    """What users asked for (history minus removals), from the channels they asked."""
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
    return dump(
        {
            "name": env.name,
            "channels": channels or ["defaults"],
            "dependencies": sorted(specs, key=str.lower)
            + _pip_section([_loose_pip(d) for d in env.pip_dists]),
        },
        key=key,
    )


def _pinned_pip(dist: PythonDist) -> str:
    source = dist.source
    if source.kind == "vcs" and source.url:
        commit = f"@{source.commit}" if source.commit else ""
        return f"{dist.name} @ {source.vcs or 'git'}+{source.url}{commit}"
    if source.kind == "editable" and source.url:
        # pip splits a requirements line's options with shlex: a path with spaces is quoted.
        path = str(file_url_to_path(source.url)) if source.url.startswith("file:") else source.url
        return f"-e {quoted(path)}"
    if source.kind in ("local", "archive") and source.url:
        return f"{dist.name} @ {canonical_file_url(source.url)}"
    return f"{dist.name}=={dist.version}"


def _loose_pip(dist: PythonDist) -> str:
    source = dist.source
    if source.kind == "vcs" and source.url:
        revision = f"@{source.requested_revision}" if source.requested_revision else ""
        return f"{dist.name} @ {source.vcs or 'git'}+{source.url}{revision}"
    if source.kind in ("editable", "local", "archive"):
        return _pinned_pip(dist)
    return dist.name


def _pip_section(entries: list[str]) -> list[Any]:
    return [{"pip": sorted(entries, key=str.lower)}] if entries else []


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


def dump(document: dict[str, Any], *, key: str | None = None) -> str:
    """YAML for our fixed-shape env files (`name`, `channels`, `dependencies` with `pip:`).

    Written by hand: ruamel's pure-Python emitter was a third of an export's time. The
    content key, when given, heads the file as a comment.
    """
    lines: list[str] = [key_comment(key)] if key else []
    for name, value in document.items():
        if isinstance(value, list):
            lines.append(f"{name}:")
            for item in value:
                if isinstance(item, dict):
                    for sub_key, sub_items in item.items():
                        lines.append(f"  - {sub_key}:")
                        lines += [f"      - {scalar(sub)}" for sub in sub_items]
                else:
                    lines.append(f"  - {scalar(item)}")
        else:
            lines.append(f"{name}: {scalar(value)}")
    return "\n".join(lines) + "\n"


# A plain scalar that every YAML reader (1.1 and 1.2) takes as this very string: it starts
# with a letter or `_` (so never a number, date, `.inf`, tag, anchor, alias or indicator),
# holds no space (so no comment and no `key: value`) and does not end in `:`. URLs and
# `channel::name` specs stay plain, as conda writes them.
_PLAIN = re.compile(r"^[A-Za-z_][A-Za-z0-9_.=<>!,*+~/%@:-]*(?<!:)$")
# ...except the words YAML 1.1 reads as booleans or null, in any case.
_YAML_WORDS = frozenset({"true", "false", "yes", "no", "on", "off", "y", "n", "null"})


def scalar(value: object) -> str:
    """`value` as a YAML scalar: plain when that reads back as the same string, else quoted."""
    text = str(value)
    if _PLAIN.match(text) and text.lower() not in _YAML_WORDS:
        return text
    return json.dumps(text)  # a JSON string is a YAML double-quoted scalar
