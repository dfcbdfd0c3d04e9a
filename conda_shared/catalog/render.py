"""Turn a Catalog into the site's files: pages through Jinja2 (autoescaped), the search index
as a script, the stylesheet and search code, and copies of each env's spec files."""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path
from typing import Any

from ..errors import SharedError
from .model import Catalog, ReplicateSummary

INDEX_SCRIPT = "search-index.js"
STATIC = ("catalog.css", "catalog.js")
CHART_WIDTH = 480  # px of the longest bar in the replicate chart
# Bars of the chart: replicate's statuses, then failure classes, each with a steady colour.
_STATUS_COLOURS = {
    "replicated": "#2e7d32",
    "failed": "#c62828",
    "skipped": "#757575",
    "interrupted": "#ef6c00",
}


def render_site(catalog: Catalog, templates: Any) -> dict[str, bytes]:
    """Every file of the site by its path inside it; `templates` from `load_templates`."""
    up = {"root": "../"}
    files: dict[str, bytes] = {}
    spec_links: dict[str, tuple[tuple[str, str], ...]] = {}
    for env in catalog.envs:
        links = []
        for source in env.spec_files:
            site_path = f"specs/{env.page[len('envs/') : -len('.html')]}/{Path(source).name}"
            files[site_path] = Path(source).read_bytes()
            links.append((Path(source).name, site_path))
        spec_links[env.page] = tuple(links)
    files["index.html"] = _page(templates, "index.html", catalog=catalog, root="")
    for env in catalog.envs:
        files[env.page] = _page(
            templates, "env.html", catalog=catalog, env=env, specs=spec_links[env.page], **up
        )
    files["report.html"] = _page(
        templates, "report.html", catalog=catalog, chart=_chart(catalog.replicate), root=""
    )
    files["activity.html"] = _page(templates, "activity.html", catalog=catalog, root="")
    files[INDEX_SCRIPT] = search_index_script(catalog).encode()
    for name in STATIC:
        files[name] = resources.files(__package__).joinpath(f"static/{name}").read_bytes()
    return files


def search_index_script(catalog: Catalog) -> str:
    """`CATALOG_INDEX = {...};` for a <script> tag (a fetch of JSON fails from file://).

    Compact: each package name once, with the envs (by number) and versions that have it.
    """
    envs = [[env.installation, env.name, env.page, 1 if env.kernels else 0] for env in catalog.envs]
    packages: dict[str, list[Any]] = {}
    for number, env in enumerate(catalog.envs):
        for package in (*env.packages, *env.pip):
            packages.setdefault(package.name.lower(), []).extend([number, package.version])
    document = {"envs": envs, "packages": packages}
    return f"window.CATALOG_INDEX = {script_json(document)};\n"


def script_json(value: Any) -> str:
    """JSON that stays data inside a <script>: no `</script>`, `<!--`, or line separators
    (U+2028/2029 end a line in older JavaScript) can come out of a value."""
    text = json.dumps(value, ensure_ascii=True, separators=(",", ":"))
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def load_templates() -> Any:
    """The pages' Jinja2 environment; a one-line error naming the extra when Jinja2 is absent
    (checked before the root is read, so the answer comes at once)."""
    try:
        import jinja2
    except ImportError:
        raise SharedError(
            "the catalog needs Jinja2, which is not installed in this Python",
            "Install the catalog extra: pip install conda-shared[catalog]",
        ) from None
    return jinja2.Environment(
        loader=jinja2.PackageLoader(__package__, "templates"),
        autoescape=True,  # every value from disk is escaped, whatever the template name
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def _page(templates: Any, name: str, **values: Any) -> bytes:
    text: str = templates.get_template(name).render(index_script=INDEX_SCRIPT, **values)
    return text.encode("utf-8", "surrogateescape")


def _chart(summary: ReplicateSummary | None) -> dict[str, Any] | None:
    """Bars for an inline SVG: each status and failure class, scaled to the largest count."""
    if summary is None:
        return None
    rows = [
        (status, count, _STATUS_COLOURS.get(status, "#455a64"))
        for status, count in summary.statuses
    ]
    rows += [(f"failed: {name}", count, "#e57373") for name, count in summary.failure_classes]
    largest = max((count for _, count, _ in rows), default=1)
    bars = [
        {
            "label": label,
            "count": count,
            "colour": colour,
            "y": 28 * index,
            "width": max(2, round(CHART_WIDTH * count / largest)),
        }
        for index, (label, count, colour) in enumerate(rows)
    ]
    return {"bars": bars, "height": 28 * len(bars) + 4, "width": CHART_WIDTH + 260}
