"""The site is published whole: a link swapped in one step, never a half site, never a folder
that is not ours replaced."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from conda_shared.catalog import publish, render
from conda_shared.catalog.publish import MARKER, sites_dir
from tests.roots import make_sample, run_cli, tree_digest

Capsys = pytest.CaptureFixture[str]


def test_out_is_a_link_to_the_newest_site_and_old_sites_are_pruned(
    tmp_path: Path, capsys: Capsys
) -> None:
    root = make_sample(tmp_path)
    out = tmp_path / "site"
    published = []
    for _ in range(4):
        result = run_cli(capsys, "catalog", "--root", str(root), "--out", str(out), "--json")
        assert result.code == 0
        published.append(Path(result.json()["site"]))
    assert out.is_symlink() and not os.path.isabs(os.readlink(out))
    assert Path(os.path.realpath(out)) == published[-1]
    sites = sorted(p for p in sites_dir(out).iterdir() if not p.name.startswith("."))
    assert sites == sorted(published[-2:]), "the previous one is kept"
    assert (published[-1] / MARKER).is_file()
    assert oct(published[-1].stat().st_mode & 0o777) == "0o755"
    assert oct((published[-1] / "index.html").stat().st_mode & 0o777) == "0o644"


def test_a_folder_that_is_not_a_catalog_is_never_replaced(tmp_path: Path, capsys: Capsys) -> None:
    root = make_sample(tmp_path)
    out = tmp_path / "www"
    out.mkdir()
    (out / "index.html").write_text("someone's page")
    before = tree_digest(tmp_path / "www")
    result = run_cli(capsys, "catalog", "--root", str(root), "--out", str(out))
    assert result.code == 2
    assert result.err.splitlines() == [
        f"conda-shared: error: {out} exists and is not a catalog conda-shared wrote (those are a "
        f"link to {sites_dir(out)}/...). Pass --out with a new path, or with the path of an "
        "earlier catalog"
    ]
    assert tree_digest(out) == before


def test_a_failure_while_writing_leaves_the_old_site_whole(
    tmp_path: Path, capsys: Capsys, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = make_sample(tmp_path)
    out = tmp_path / "site"
    assert run_cli(capsys, "catalog", "--root", str(root), "--out", str(out)).code == 0
    old = os.readlink(out)
    before = tree_digest(sites_dir(out))
    files = render.render_site

    def half(*args: object) -> dict[str, bytes]:
        written = files(*args)  # type: ignore[arg-type]
        return {**written, "envs/../../../escape.html": b"x"}

    monkeypatch.setattr("conda_shared.catalog.render_site", half)
    result = run_cli(capsys, "catalog", "--root", str(root), "--out", str(out))
    assert result.code == 1 and "outside the site" in result.err
    assert os.readlink(out) == old
    assert tree_digest(sites_dir(out)) == before, "no half-built folder is left"
    assert not (tmp_path / "escape.html").exists()


def test_the_catalog_never_goes_inside_an_installation(tmp_path: Path, capsys: Capsys) -> None:
    root = make_sample(tmp_path)
    out = root / "current" / "catalog"
    result = run_cli(capsys, "catalog", "--root", str(root), "--out", str(out))
    assert result.code == 2 and "refusing to write the catalog into the installation" in result.err
    assert not os.path.lexists(out)


def test_publish_needs_a_marker_to_prune(tmp_path: Path) -> None:
    out = tmp_path / "site"
    foreign = sites_dir(out) / "00000000T000000Z-foreign"
    foreign.mkdir(parents=True)
    for _ in range(3):
        publish.publish_site(out, {"index.html": b"x"})
    assert foreign.is_dir(), "a folder without our marker is not ours to delete"
