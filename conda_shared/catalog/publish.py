"""Publish a site whole: built in a private folder beside --out, revealed by one symlink swap,
so a reader sees the old catalog or the new one, never half of either."""

from __future__ import annotations

import os
from collections.abc import Mapping
from datetime import datetime, timezone
from pathlib import Path

from .. import fs
from ..errors import InputError

#: in every site folder this verb writes: the only folders it ever replaces or deletes
MARKER = ".conda-shared-catalog"


def sites_dir(out: Path) -> Path:
    """Where the published versions of the catalog at `out` live: `.NAME.sites` beside it."""
    return out.parent / f".{out.name}.sites"


def earlier_site(out: Path) -> Path | None:
    """The site `out` points at now, when it is one this verb wrote; else None.

    Anything else at `out` (a folder, a file, a link elsewhere) is refused: it is not ours
    to replace.
    """
    if not os.path.lexists(out):
        return None
    target = Path(os.path.realpath(out))
    ours = Path(os.path.realpath(sites_dir(out)))
    if out.is_symlink() and target.parent == ours and (target / MARKER).is_file():
        return target
    raise InputError(
        f"{out} exists and is not a catalog conda-shared wrote (those are a link to "
        f"{sites_dir(out)}/...)",
        "Pass --out with a new path, or with the path of an earlier catalog",
    )


def publish_site(out: Path, files: Mapping[str, bytes]) -> Path:
    """Write `files` as a new site and point `out` at it; returns the site's real folder."""
    store = sites_dir(out)
    fs.make_dirs(store)
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    final = store / f"{stamp}-{os.urandom(3).hex()}"
    built = fs.private_dir_beside(final)
    try:
        for relative, data in files.items():
            fs.write_file(fs.ensure_within(built, built / relative, bound="the site"), data)
        fs.write_file(built / MARKER, f"a catalog site, published {stamp}\n")
        fs.writable_by_owner_only(built, readable_by_all=True)
        fs.publish_dir(built, final, mode=0o755)
    except BaseException:
        fs.remove_tree(built)
        raise
    previous = Path(os.path.realpath(out)) if os.path.lexists(out) else None
    fs.atomic_symlink(out, os.path.relpath(final, out.parent))
    _prune(store, keep=(final, previous))
    return final


def _prune(store: Path, *, keep: tuple[Path | None, ...]) -> None:
    """Delete the published sites but the new one and the one a reader may still be paging
    through; each deleted one is proven ours by its marker (one being built is hidden)."""
    for entry in store.iterdir():
        if entry not in keep and not entry.name.startswith(".") and (entry / MARKER).is_file():
            fs.remove_tree(entry)
