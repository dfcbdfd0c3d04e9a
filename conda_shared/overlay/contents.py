"""The Python distributions inside an overlay: read them, and remove one by its RECORD."""

from __future__ import annotations

import csv
import io
from pathlib import Path

from .. import fs
from ..errors import SharedError
from ..prefix import PythonDist, site_packages_dirs
from ..prefix.site_packages import read_dists as read_site_dists
from ..text import quoted


def read_dists(overlay: Path) -> dict[str, PythonDist]:
    """Distributions by normalized name; an overlay that does not exist yet has none."""
    dists = read_site_dists(overlay, site_packages_dirs(overlay), set(), include_owned=True)
    return {dist.normalized: dist for dist in dists}


def remove_dist(overlay: Path, dist: PythonDist) -> None:
    """Delete every file its RECORD lists (scripts in bin/ too), then its metadata directory."""
    metadata = overlay / dist.location
    try:
        text = (metadata / "RECORD").read_text(encoding="utf-8")
    except OSError:
        raise SharedError(
            f"{dist.name} {dist.version} in {overlay} has no readable RECORD, so its files "
            "are unknown",
            f"Delete {quoted(metadata)}, or empty the whole overlay",
            command=("overlay", "clear", "ENV"),
        ) from None
    site = metadata.parent
    files = [site / row[0] for row in csv.reader(io.StringIO(text)) if row and row[0]]
    fs.remove_files(files, within=overlay)
    fs.remove_tree(metadata)  # with whatever its RECORD did not list
