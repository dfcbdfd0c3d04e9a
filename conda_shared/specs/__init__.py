"""Turn one environment into its spec files (lock, pinned, loose, conda-lock, manifest), risks."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from ..condarc import CondaConfig
from ..kernels.read import Kernel, kernels_running
from ..prefix import EnvState
from .conda_lock import conda_lock_text, omitted
from .lock import LOCK_HASHES, dependency_order, lock_text
from .manifest import SUFFIXES, file_key, manifest_document, manifest_json
from .risks import Risk, find_risks
from .yaml import loose_text, pinned_channels, pinned_text

__all__ = [
    "LOCK_HASHES",
    "SUFFIXES",
    "EnvSpecs",
    "Risk",
    "SourceInfo",
    "build_specs",
    "content_key",
    "file_key",
]


@dataclass(frozen=True)
class EnvSpecs:
    """The files of one exported environment, as text, plus what they tell."""

    name: str
    lock: str
    pinned: str
    loose: str
    conda_lock: str
    manifest: str
    content_key: str
    risks: tuple[Risk, ...]
    platform: str | None  # the env's subdir, None when all its packages are noarch

    def files(self) -> dict[str, str]:
        """Each file's suffix and text, the manifest last: it names the set's content key."""
        return {
            SUFFIXES["pinned"]: self.pinned,
            SUFFIXES["lock"]: self.lock,
            SUFFIXES["loose"]: self.loose,
            SUFFIXES["conda_lock"]: self.conda_lock,
            SUFFIXES["manifest"]: self.manifest,
        }


@dataclass(frozen=True)
class SourceInfo:
    """The installation an environment is exported from."""

    path: Path
    conda_version: str | None
    config: CondaConfig


def build_specs(
    env: EnvState,
    *,
    source: SourceInfo,
    kernels: Sequence[Kernel] = (),
    lock_hash: str = "sha256",
    stem: str | None = None,
) -> EnvSpecs:
    """All spec levels of `env`; channels are interpreted with the source's own config.

    `stem` names the files (default the env's name; export passes the env's unique key).
    `lock_hash` md5 serves targets older than conda 24.9, which cannot read `#sha256` URLs.
    """
    records = dependency_order(env.records)
    channels = pinned_channels(records, source.config)
    risks = (*find_risks(env), *omitted(env))
    key = content_key(env)
    env_kernels = kernels_running(kernels, env.path)
    stem = stem or env.name
    manifest = manifest_document(
        env,
        stem=stem,
        installation=source.path,
        conda_version=source.conda_version,
        channels=channels,
        key=key,
        risks=risks,
        kernels=env_kernels,
    )
    return EnvSpecs(
        name=env.name,
        lock=lock_text(
            env, records, key=key, conda_version=source.conda_version, lock_hash=lock_hash
        ),
        pinned=pinned_text(env, channels=channels, key=key),
        loose=loose_text(env, config=source.config, key=key),
        conda_lock=conda_lock_text(
            env,
            channels=channels,
            key=key,
            intent_file=stem + SUFFIXES["loose"],
            conda_version=source.conda_version,
        ),
        manifest=manifest_json(manifest),
        content_key=key,
        risks=risks,
        platform=env.platform,
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
