"""Interpret channel URLs against a source installation's config: names, subdirs, no secrets."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote, unquote_to_bytes, urlsplit

from .condarc import DEFAULT_CHANNEL_ALIAS, CondaConfig

KNOWN_SUBDIRS = frozenset(
    {
        "noarch",
        "linux-32",
        "linux-64",
        "linux-aarch64",
        "linux-armv6l",
        "linux-armv7l",
        "linux-ppc64",
        "linux-ppc64le",
        "linux-s390x",
        "linux-riscv64",
        "osx-64",
        "osx-arm64",
        "win-32",
        "win-64",
        "win-arm64",
        "zos-z",
        "emscripten-wasm32",
        "wasi-wasm32",
        "freebsd-64",
    }
)

# Every URL conda has used for today's `defaults` multichannel. Since conda 4.7 `defaults` means
# main and r (and msys2 on Windows) only: pkgs/free and pkgs/pro keep their full URLs, or a spec
# naming them as `defaults` would lose them.
STOCK_DEFAULT_CHANNELS = frozenset(
    f"{host}/pkgs/{name}"
    for host in (
        "https://repo.anaconda.com",
        "http://repo.anaconda.com",
        "https://repo.continuum.io",
        "http://repo.continuum.io",
    )
    for name in ("main", "r", "msys2")
)
_DEFAULTS_NAMES = ("defaults", "pkgs/main", "pkgs/r", "pkgs/msys2")
_RETIRED_DEFAULTS = {
    name: f"https://repo.anaconda.com/{name}" for name in ("pkgs/free", "pkgs/pro")
}
_PUBLIC_ALIASES = (DEFAULT_CHANNEL_ALIAS, "http://conda.anaconda.org", "https://conda.binstar.org")

_ENCODED_URL = re.compile(r"^[A-Za-z0-9%/:!'()*._~@#-]*$")
_TOKEN = re.compile(r"/t/[^/]+")
_USERINFO = re.compile(r"^([a-z][a-z0-9+.-]*://)[^/@]+@", re.IGNORECASE)


@dataclass(frozen=True)
class ChannelRef:
    """Where one package came from: the channel as a spec writes it, its base URL and subdir."""

    name: str
    base_url: str
    subdir: str | None


def strip_secrets(url: str) -> str:
    """Remove anaconda.org tokens and user:password from a URL; specs must never carry them."""
    if "/t/" not in url and "@" not in url:  # nearly every URL: skip both regexes
        return url
    return _USERINFO.sub(r"\1", _TOKEN.sub("", url, count=1))


def file_url_to_path(url: str) -> Path:
    """The local path of a `file://` URL, percent-decoded (bytes that are not UTF-8 survive)."""
    parts = urlsplit(url)
    path = os.fsdecode(unquote_to_bytes(parts.path))
    if parts.netloc not in ("", "localhost"):  # file://server/share: a UNC path
        path = f"//{parts.netloc}{path}"
    return Path(path)


def path_to_file_url(path: str | Path) -> str:
    """A `file://` URL for a local path, percent-encoded the way conda and pip write them."""
    # conda's own set of unencoded characters (conda.common.url.path_to_url)
    return "file://" + quote(os.fsencode(os.path.abspath(path)), safe="/:!'()*")


def canonical_file_url(url: str) -> str:
    """A `file://` URL whose raw spaces or non-ASCII become %XX; an encoded one is kept as is."""
    if not url.startswith("file:") or _ENCODED_URL.match(url):
        return url
    return path_to_file_url(file_url_to_path(url))


def split_package_url(url: str) -> tuple[str, str | None, str]:
    """Split a package URL into (channel base URL, subdir, file name), secrets removed."""
    clean = strip_secrets(url).rstrip("/")
    head, _, filename = clean.rpartition("/")
    base, _, subdir = head.rpartition("/")
    if subdir in KNOWN_SUBDIRS:
        return base, subdir, filename
    return head, None, filename


def channel_base(channel: str) -> tuple[str, str | None]:
    """A record's `channel` field (URL or name, with or without subdir) as (base, subdir)."""
    clean = strip_secrets(channel).rstrip("/")
    base, _, last = clean.rpartition("/")
    if base and last in KNOWN_SUBDIRS:
        return base, last
    return clean, None


def spec_channel(base_url: str, config: CondaConfig) -> str:
    """How a spec names this channel so the target resolves it to the same place.

    Stock defaults become `defaults`, public anaconda.org channels become their names, and
    everything else (mirrors, custom channel_alias, file:// channels) stays a full URL, so a
    spec never resolves to a public namespace by accident.
    """
    base = strip_secrets(base_url).rstrip("/")
    if "://" not in base:
        return _named_channel(base, config)
    if base.startswith("file:"):
        return canonical_file_url(base)
    if base in STOCK_DEFAULT_CHANNELS and not config.default_channels:
        return "defaults"
    for alias in _PUBLIC_ALIASES:
        if base.startswith(alias + "/"):
            return base[len(alias) + 1 :]
    return base


def _named_channel(name: str, config: CondaConfig) -> str:
    """A bare name (old records, history specs) resolved with the source's own config."""
    if name in _DEFAULTS_NAMES:
        return "defaults"
    if name in _RETIRED_DEFAULTS:
        return _RETIRED_DEFAULTS[name]
    custom = dict(config.custom_channels)
    if name.split("/", maxsplit=1)[0] in custom:
        head, _, rest = name.partition("/")
        return "/".join(filter(None, (custom[head], head, rest)))
    if config.channel_alias.rstrip("/") != DEFAULT_CHANNEL_ALIAS:
        return f"{config.channel_alias.rstrip('/')}/{name}"
    return name


def resolve_channel(url: str | None, channel: str | None, config: CondaConfig) -> ChannelRef:
    """The channel of a conda-meta record, preferring its download URL over its channel field."""
    if channel == "<unknown>":  # installed from a tarball on disk: its URL is no channel
        subdir = split_package_url(url)[1] if url else None
        return ChannelRef(name="<unknown>", base_url="<unknown>", subdir=subdir)
    if url and "/" in url:
        base, subdir, _ = split_package_url(url)
    elif channel:
        base, subdir = channel_base(channel)
    else:
        return ChannelRef(name="<unknown>", base_url="<unknown>", subdir=None)
    if base in ("", "<unknown>"):
        return ChannelRef(name="<unknown>", base_url="<unknown>", subdir=subdir)
    name = spec_channel(base, config)
    return ChannelRef(name=name, base_url=_absolute(base, name, config), subdir=subdir)


def _absolute(base: str, name: str, config: CondaConfig) -> str:
    if "://" in base:
        return base
    if name == "defaults":
        return "https://repo.anaconda.com/pkgs/main"
    if "://" in name:
        return name
    return f"{DEFAULT_CHANNEL_ALIAS}/{name}"
