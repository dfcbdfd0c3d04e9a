"""Release-managed envs in export (`NAME` reads the release envs/NAME points at, `NAME@ID` a
given one), inventory and status (the current release of each)."""

from __future__ import annotations

import json
from pathlib import Path

from conda_shared.export import export_envs
from conda_shared.inventory import take_inventory
from conda_shared.release.layout import release_prefix
from conda_shared.status import shared_status
from tests.release.published import build_release, make_root, publish
from tests.roots import write_record


def test_name_reads_the_current_release_and_name_at_id_a_given_one(tmp_path: Path) -> None:
    root, installation = make_root(tmp_path)
    build_release(installation, "ds", "2026.12.07")
    publish(root, installation, "ds", "2026.12.07")
    newer = build_release(installation, "ds", "2026.12.07a")
    write_record(newer, {"name": "pkga", "version": "2.0", "build": "0", "files": []})
    publish(root, installation, "ds", "2026.12.07a")
    result = export_envs(root=root, names=["ds", "ds@2026.12.07"], out=tmp_path / "out")
    assert result.ok, [e.error for e in result.envs]
    by_name = {e.name: e for e in result.envs}
    assert by_name["ds"].prefix == installation / "envs" / "ds"
    assert by_name["ds"].conda_packages == 2  # the current release, 2026.12.07a
    assert by_name["ds@2026.12.07"].prefix == release_prefix(installation, "ds", "2026.12.07")
    assert by_name["ds@2026.12.07"].conda_packages == 1
    manifest = json.loads((tmp_path / "out" / "ds@2026.12.07.json").read_text())
    assert [p["name"] for p in manifest["conda"]] == ["libz"]


def test_an_unknown_release_fails_alone_and_names_the_releases(tmp_path: Path) -> None:
    root, installation = make_root(tmp_path)
    build_release(installation, "ds", "2026.12.07")
    publish(root, installation, "ds", "2026.12.07")
    result = export_envs(root=root, names=["ds@2026.12.08"], out=tmp_path / "out")
    (failed,) = result.envs
    assert not failed.ok and "no environment named 'ds@2026.12.08'" in (failed.error or "")
    assert failed.did_you_mean == ("ds@2026.12.07",)


def test_inventory_and_status_show_the_current_release(tmp_path: Path) -> None:
    root, installation = make_root(tmp_path)
    for release_id in ("2026.12.07", "2026.12.07a"):
        build_release(installation, "ds", release_id)
        publish(root, installation, "ds", release_id)
    write_record(installation / "envs" / "plain", {"name": "x", "version": "1", "build": "0"})
    inventory = take_inventory(root=root, sizes=False)
    assert {e.name: e.release for e in inventory.envs} == {"ds": "2026.12.07a", "plain": None}
    (summary,) = shared_status(root=root).installations
    assert summary.releases == ("ds@2026.12.07a",)
