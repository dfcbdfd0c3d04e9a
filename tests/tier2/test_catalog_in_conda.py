"""Tier 2: `conda shared catalog` inside real conda shows what conda says an env holds, and
a `conda install` shows on the next (incremental) run."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from tests.catalog.helpers import settle
from tests.support.conda_runner import CondaRunner

pytestmark = [pytest.mark.tier2, pytest.mark.slow]


def env_page(site: Path, name: str) -> str:
    index = (site / "index.html").read_text()
    link = re.search(rf'<a href="(envs/[^"]+)">{name}</a>', index)
    assert link is not None
    return (site / link.group(1)).read_text()


def package_rows(page: str) -> set[tuple[str, ...]]:
    table = page.split("<h2>Conda packages", 1)[1].split("</table>", 1)[0]
    return set(re.findall(r"<tr><td>([^<]+)</td><td>([^<]+)</td><td>([^<]+)</td><td>", table))


def test_the_catalog_shows_what_conda_lists_and_follows_an_install(
    conda_run: CondaRunner, tmp_path: Path
) -> None:
    root = tmp_path / "root"
    installation = root / "v1"
    (installation / "conda-meta").mkdir(parents=True)
    (installation / "conda-meta" / "history").write_text("")
    (root / "current").symlink_to("v1")
    prefix = installation / "envs" / "analysis"
    conda_run("create", "-p", prefix, "python", "pip", "tidy-util=1.0")
    settle(root)
    site = tmp_path / "site"

    def catalog() -> dict:  # type: ignore[type-arg]
        result = conda_run("shared", "catalog", "--root", root, "--out", site, "--json")
        return json.loads(result.stdout)

    first = catalog()
    assert (first["envs"], first["read_again"], first["unreadable"]) == (1, 1, [])
    listed = {
        (r["name"], r["version"], r["build_string"]) for r in conda_run.json("list", "-p", prefix)
    }
    assert package_rows(env_page(site, "analysis")) == listed
    assert catalog()["read_again"] == 0, "an unchanged env comes from the cache"
    conda_run("install", "-p", prefix, "libdata")
    after = catalog()
    assert after["read_again"] == 1
    rows = package_rows(env_page(site, "analysis"))
    assert ("libdata", "2.0") in {row[:2] for row in rows}
    assert rows == {
        (r["name"], r["version"], r["build_string"]) for r in conda_run.json("list", "-p", prefix)
    }
