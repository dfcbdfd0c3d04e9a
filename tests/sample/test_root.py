"""sample/root.py: the built-in sample root is complete, realistic, and never half-written."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from conda_shared.errors import InputError
from conda_shared.history import read_history
from conda_shared.sample import build_sample
from conda_shared.sample import root as sample_root


def test_sample_layout(tmp_path: Path) -> None:
    result = build_sample(destination=tmp_path / "root")
    root = result.root
    assert (root / "current").resolve() == root / "v24.11"
    assert (root / "qa").resolve() == root / "v26.7"
    assert (root / "envs").resolve() == root / "v24.11" / "envs"
    assert len(result.environments) == 14
    assert (root / "kernels" / "super_important_jupyter_kernel" / "kernel.json").is_file()
    assert (root / "mpc" / "noarch" / "repodata.json").is_file()
    assert json.loads((root / "log" / "shared.log").read_text())["command"] == f"sample {root}"


def test_records_follow_their_era(tmp_path: Path) -> None:
    root = build_sample(destination=tmp_path / "root").root
    envs = root / "v24.11" / "envs"
    old = json.loads(next((envs / "old_not_used/conda-meta").glob("numpy-*.json")).read_text())
    assert {"schannel", "platform", "arch", "priority"} <= set(old)
    assert old["schannel"] == "defaults"
    modern = json.loads(next((envs / "nhis_reformat/conda-meta").glob("numpy-*.json")).read_text())
    assert modern["requested_spec"] == "None"  # a dependency, as conda < 26.3 writes it
    assert "sha256_in_prefix" in modern["paths_data"]["paths"][0]
    smoke = root / "v26.7" / "envs" / "smoke" / "conda-meta"
    python = json.loads(next(smoke.glob("python-*.json")).read_text())
    assert python["requested_specs"] == ["python=3.13"]
    assert (smoke / "created_at").is_file()
    assert read_history(envs / "old_not_used/conda-meta/history").revisions[0].conda_version is None
    removals = read_history(envs / "with_removals/conda-meta/history")
    assert removals.revisions[1].removed and removals.revisions[2].added


def test_refuses_a_non_empty_destination(tmp_path: Path) -> None:
    (tmp_path / "root").mkdir()
    (tmp_path / "root" / "notes.txt").write_text("keep me")
    with pytest.raises(InputError, match="already exists and is not empty"):
        build_sample(destination=tmp_path / "root")
    assert sorted(p.name for p in (tmp_path / "root").iterdir()) == ["notes.txt"]


def test_a_failure_midway_leaves_nothing_behind(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def explode(*_args: object, **_kwargs: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(sample_root._Writer, "kernels", explode)
    with pytest.raises(OSError, match="No space"):
        build_sample(destination=tmp_path / "root")
    assert list(tmp_path.iterdir()) == []
