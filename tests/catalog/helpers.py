"""What the catalog tests share: settled trees, pip and conda changes made as pip and conda do."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

from tests.roots import write_record


def settle(tree: Path) -> None:
    """Date every folder and file an hour back, as a root nobody changed for a while is (the
    env cache trusts no state younger than two seconds)."""
    then = time.time() - 3600
    for folder, _dirs, files in os.walk(tree):
        for name in (".", *files):
            path = os.path.join(folder, name)
            if not os.path.islink(path):
                os.utime(path, (then, then))


def pip_install(
    prefix: Path, name: str, version: str, *, url: str | None = None, site: str | None = None
) -> Path:
    """A distribution as pip leaves it: a new dist-info in the env's site-packages (or `site`,
    made if needed)."""
    if site is None:
        found = next(prefix.glob("lib/python*/site-packages"))
    else:
        found = prefix / site
        found.mkdir(parents=True, exist_ok=True)
    info = found / f"{name}-{version}.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n")
    (info / "INSTALLER").write_text("pip\n")
    if url is not None:
        (info / "direct_url.json").write_text(json.dumps({"url": url, "archive_info": {}}))
    return info


def conda_install(prefix: Path, name: str, version: str) -> Path:
    """A record as conda writes it when it links a package."""
    return write_record(
        prefix,
        {
            "name": name,
            "version": version,
            "build": "h0_0",
            "build_number": 0,
            "channel": "https://conda.anaconda.org/conda-forge/linux-64",
            "subdir": "linux-64",
            "url": f"https://conda.anaconda.org/conda-forge/linux-64/{name}-{version}-h0_0.conda",
            "md5": "0" * 32,
            "files": [],
        },
    )
