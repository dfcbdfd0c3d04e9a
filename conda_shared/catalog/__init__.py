"""`conda shared catalog`: a static site of everything a shared root offers, written whole."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from .. import fs
from ..errors import InputError
from ..layout import open_root
from ..prefix.cache import cache_beside, open_cache
from .collect import read_catalog
from .model import Catalog
from .publish import earlier_site, publish_site, sites_dir
from .render import load_templates, render_site

__all__ = ["CatalogResult", "write_catalog"]


@dataclass(frozen=True)
class CatalogResult:
    """Where the site went and how it was made."""

    out: Path
    site: Path  # the published folder `out` points at
    index: Path  # the page to open
    incremental: bool
    installations: int
    envs: int
    read_again: int  # envs whose packages were read from disk (the rest: from the cache)
    unreadable: tuple[tuple[str, str], ...]  # (installation/env, why)
    files: int
    notes: tuple[str, ...]


def write_catalog(
    *,
    root: Path,
    out: Path,
    incremental: bool | None = None,
    progress: Callable[[str], None] = lambda line: None,
) -> CatalogResult:
    """Read the root and publish its catalog at `out` (a link to the newest site).

    `incremental` None: reuse the env cache when `out` holds an earlier catalog. True reuses
    it anyway; False reads every env again (and refreshes the cache).
    """
    shared = open_root(root)
    templates = load_templates()
    out = out.absolute()
    for installation in shared.installations_with_pointers():
        if fs.is_within(installation, out):
            raise InputError(
                f"refusing to write the catalog into the installation {installation} ({out})",
                "Pass --out with a folder outside every installation, e.g. ROOT/catalog or a "
                "web server's folder",
            )
    fs.make_dirs(out.parent)
    with fs.exclusive_lock(sites_dir(out).with_name(f".{out.name}.lock")):
        reuse = earlier_site(out) is not None if incremental is None else incremental
        catalog: Catalog = read_catalog(
            shared,
            cache=open_cache(cache_beside(sites_dir(out))),
            reuse=reuse,
            progress=progress,
        )
        files = render_site(catalog, templates)
        site = publish_site(out, files)
    return CatalogResult(
        out=out,
        site=site,
        index=out / "index.html",
        incremental=reuse,
        installations=len(catalog.installations),
        envs=len(catalog.envs),
        read_again=sum(1 for env in catalog.envs if env.read_again),
        unreadable=tuple(
            (f"{env.installation}/{env.name}", env.error) for env in catalog.envs if env.error
        ),
        files=len(files),
        notes=catalog.notes,
    )
