"""NAME.json, the manifest: everything about one env, and the content key its siblings carry."""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

from .. import __version__
from ..kernels.read import Kernel
from ..prefix import EnvState
from .platform import needs_to_json, variants, variants_to_json, virtual_needs
from .risks import Risk

MANIFEST_SCHEMA = "conda-shared/manifest/1"
SUFFIXES = {
    "pinned": ".yml",
    "lock": ".lock",
    "loose": ".history.yml",
    "conda_lock": ".conda-lock.yml",
    "manifest": ".json",
}

_KEY_MARK = "# content-key: "
_KEY_COMMENT = re.compile(rb"^# content-key: (sha256:[0-9a-f]{64})$", re.MULTILINE)
_KEY_FIELD = re.compile(rb'"content_key": "(sha256:[0-9a-f]{64})"')


def key_comment(key: str) -> str:
    """The comment line that ties NAME.yml, NAME.lock and NAME.history.yml to their manifest."""
    return f"{_KEY_MARK}{key}"


def file_key(path: Path) -> str | None:
    """The content key one exported file names (its comment, or the manifest's field)."""
    try:
        with path.open("rb") as stream:
            head = stream.read(4096)
    except OSError:
        return None
    match = (_KEY_FIELD if path.suffix == ".json" else _KEY_COMMENT).search(head)
    return match.group(1).decode() if match else None


def manifest_document(
    env: EnvState,
    *,
    stem: str,
    installation: Path,
    conda_version: str | None,
    channels: list[str],
    key: str,
    risks: Sequence[Risk],
    kernels: Sequence[Kernel],
) -> dict[str, Any]:
    """The manifest of `env`, exported under the file names `stem` + each suffix."""
    conda_names = {r.name.lower() for r in env.records}
    history = env.history
    return {
        "schema": MANIFEST_SCHEMA,
        "content_key": key,  # first, so file_key finds it in the first bytes
        "name": env.name,
        "key": stem,
        "source": {
            "installation": str(installation),
            "prefix": str(env.path),
            "conda_version": conda_version,
            "platform": env.platform,
        },
        "made_by_conda": history.conda_versions[0] if history.conda_versions else None,
        "conda_versions": list(dict.fromkeys(history.conda_versions)),
        "last_change": history.last_change,
        "python_version": env.python_version,
        "channels": channels,
        "requested": history.requested_specs(),
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
        "virtual_packages": needs_to_json(virtual_needs(env.records)),
        "variants": variants_to_json(variants(env.records)),
        "kernels": [
            {"name": k.name, "spec": str(k.spec_path), "display_name": k.display_name}
            for k in kernels
        ],
        "risks": [asdict(r) for r in risks],
        "files": {
            level: f"{stem}{suffix}" for level, suffix in SUFFIXES.items() if level != "manifest"
        },
        "exported_by": f"conda-shared {__version__}",
    }


def manifest_json(manifest: dict[str, Any]) -> str:
    """Indented JSON with one line per package: json's C encoder only runs without indent."""
    lines = []
    for key, value in manifest.items():
        if key in ("conda", "pip") and value:
            items = ",\n".join(f"    {json.dumps(item)}" for item in value)
            lines.append(f"  {json.dumps(key)}: [\n{items}\n  ]")
        else:
            lines.append(f"  {json.dumps(key)}: {json.dumps(value)}")
    return "{\n" + ",\n".join(lines) + "\n}\n"
