"""export.py: every environment exported, failures isolated, the source never touched."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from conda_shared.errors import InputError, SharedError
from conda_shared.export import export_envs
from tests.roots import make_sample, tree_digest


def test_exports_every_env_but_base_without_touching_the_source(tmp_path: Path) -> None:
    root = make_sample(tmp_path)
    before = tree_digest(root / "v24.11")
    result = export_envs(root=root)
    assert result.ok
    assert len(result.envs) == 13
    assert result.out_dir == root / "specs" / "v24.11"
    for env in result.envs:
        assert [p.name for p in env.files] == [
            f"{env.name}{s}" for s in (".yml", ".lock", ".history.yml", ".json")
        ]
        assert all(p.is_file() for p in env.files)
    assert tree_digest(root / "v24.11") == before
    log = (root / "log" / "shared.log").read_text().splitlines()
    assert "13 ok, 0 failed" in json.loads(log[-1])["result"]


def test_read_only_source_exports_unchanged(tmp_path: Path) -> None:
    root = make_sample(tmp_path)
    source = root / "v24.11"
    for path in [source, *source.rglob("*")]:
        if not path.is_symlink():
            path.chmod(path.stat().st_mode & ~0o222)
    before = tree_digest(source)
    try:
        result = export_envs(root=root, out=tmp_path / "out")
        after = tree_digest(source)
    finally:
        for path in [source, *source.rglob("*")]:
            if not path.is_symlink():
                path.chmod(path.stat().st_mode | 0o200)
    assert result.ok
    assert after == before


def test_one_bad_env_is_reported_and_the_rest_export(tmp_path: Path) -> None:
    root = make_sample(tmp_path)
    corrupt = root / "v24.11/envs/gitdev/conda-meta/pip-24.2-pyhd8ed1ab_0.json"
    corrupt.write_text("{broken")
    (root / "v24.11/envs/r_env/conda-meta").rename(root / "v24.11/envs/r_env/conda-meta.bak")
    result = export_envs(root=root, names=["gitdev", "isis4.3.0", "r_env", "nope"])
    assert not result.ok
    outcome = {e.name: e for e in result.envs}
    assert outcome["isis4.3.0"].ok
    assert not outcome["gitdev"].ok and str(corrupt) in (outcome["gitdev"].error or "")
    assert not outcome["r_env"].ok  # no longer an environment at all
    assert not outcome["nope"].ok and "no environment named 'nope'" in (outcome["nope"].error or "")
    assert not (root / "specs/v24.11/gitdev.json").exists()


def test_names_are_validated_and_paths_accepted(tmp_path: Path) -> None:
    root = make_sample(tmp_path)
    with pytest.raises(InputError, match="not a valid environment name"):
        export_envs(root=root, names=["../x"])
    assert not (root / "specs").exists()
    path = str(root / "v24.11" / "envs" / "r_env")
    result = export_envs(root=root, names=[path], out=tmp_path / "out")
    assert result.ok and result.envs[0].name == "r_env"


def test_inventory_selects_and_skips(tmp_path: Path) -> None:
    root = make_sample(tmp_path)
    inventory = tmp_path / "inventory.ini"
    inventory.write_text("# keep\nnhis_reformat = REPLICATE\nold_not_used = export\nr_env = SKIP\n")
    result = export_envs(root=root, inventory=inventory)
    assert [e.name for e in result.envs] == ["nhis_reformat", "old_not_used"]


def test_export_from_another_installation(tmp_path: Path) -> None:
    root = make_sample(tmp_path)
    result = export_envs(root=root, installation="qa")
    assert [e.name for e in result.envs] == ["smoke"]
    assert result.out_dir == root / "specs" / "v26.7"


def test_refuses_to_write_into_the_source_or_outside_the_root(tmp_path: Path) -> None:
    root = make_sample(tmp_path)
    with pytest.raises(InputError, match="into the source installation"):
        export_envs(root=root, out=root / "v24.11" / "specs")
    (root / "specs").symlink_to(tmp_path)
    with pytest.raises(SharedError, match="outside the shared root"):
        export_envs(root=root)


def test_unwritable_audit_log_is_a_note_not_a_failure(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = make_sample(tmp_path)
    from conda_shared import audit

    monkeypatch.setattr(
        audit.fs,
        "append_line",
        lambda *a: (_ for _ in ()).throw(PermissionError(13, "Permission denied")),
    )
    result = export_envs(root=root, names=["r_env"])
    assert result.ok
    assert result.notes and "not written: Permission denied" in result.notes[0]
