"""hooks/exporters.py: what `conda export --format=conda-shared-…` prints, given conda's env."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest

from conda_shared.errors import SharedError
from conda_shared.export import export_envs
from conda_shared.hooks.exporters import exported_text
from tests.roots import make_sample


@pytest.fixture(autouse=True)
def shared_error_as_is(monkeypatch: pytest.MonkeyPatch) -> None:
    """Under conda the error becomes a CondaError; without conda keep it as is."""
    monkeypatch.setattr("conda_shared.hooks.exporters.as_conda_error", lambda error: error)


def conda_env(prefix: Path, *, name: str, platform: str | None = "linux-64") -> SimpleNamespace:
    """The parts of conda's Environment the exporters read."""
    return SimpleNamespace(prefix=str(prefix), name=name, platform=platform)


def test_the_text_is_what_export_writes(tmp_path: Path) -> None:
    root = make_sample(tmp_path)
    result = export_envs(root=root, names=["nhis_reformat"], out=tmp_path / "out")
    prefix = root / "v24.11" / "envs" / "nhis_reformat"
    for level, suffix in (("manifest", ".json"), ("loose", ".history.yml")):
        written = (result.out_dir / f"nhis_reformat{suffix}").read_text()
        # conda names an env outside its envs_dirs by its path
        for name in ("nhis_reformat", str(prefix)):
            assert exported_text(conda_env(prefix, name=name), level=level) == written


def test_another_platform_is_refused_with_what_to_do(tmp_path: Path) -> None:
    prefix = make_sample(tmp_path) / "v24.11" / "envs" / "nhis_reformat"
    with pytest.raises(SharedError) as caught:
        exported_text(conda_env(prefix, name="x", platform="osx-arm64"), level="manifest")
    assert "linux-64 environment" in caught.value.message
    assert "not for osx-arm64" in caught.value.message
    assert "without --platform" in caught.value.next_step


def test_a_folder_that_is_no_env_is_one_error(tmp_path: Path) -> None:
    with pytest.raises(SharedError) as caught:
        exported_text(conda_env(tmp_path, name="x"), level="loose")
    assert str(tmp_path) in caught.value.message
