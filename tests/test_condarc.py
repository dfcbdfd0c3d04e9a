"""condarc.py: condarc files merged like conda merges them, read without conda."""

from __future__ import annotations

from pathlib import Path

import pytest

from conda_shared.condarc import installation_condarc_files, read_config
from conda_shared.errors import SharedError


def test_merge_order_scalars_and_sequences(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SHARED", "/nfs/cpkgs")
    (tmp_path / ".condarc").write_text(
        "channels: [defaults]\nenvs_dirs: [$SHARED/envs]\nchannel_alias: https://a.example\n"
        "plugins:\n  shared_channel_policy: warn\n"
    )
    drop_in = tmp_path / "condarc.d"
    drop_in.mkdir()
    (drop_in / "site.yml").write_text(
        "channels: [conda-forge]\nchannel_alias: https://b.example/\n"
        "custom_channels: {mpc: 'file:///pkg/conda/'}\nplugins: {shared-channel-policy: error}\n"
    )
    config = read_config(installation_condarc_files(tmp_path))
    assert config.channels == ("conda-forge", "defaults")
    assert config.channel_alias == "https://b.example"
    assert config.envs_dirs == ("/nfs/cpkgs/envs",)
    assert dict(config.custom_channels) == {"mpc": "file:///pkg/conda"}
    assert dict(config.plugins)["shared_channel_policy"] == "error"
    assert len(config.sources) == 2


def test_missing_and_empty_files_are_skipped(tmp_path: Path) -> None:
    (tmp_path / "condarc").write_text("")
    config = read_config([tmp_path / ".condarc", tmp_path / "condarc"])
    assert config.sources == ()
    assert config.channels == ()


def test_invalid_yaml_is_one_clear_error(tmp_path: Path) -> None:
    bad = tmp_path / ".condarc"
    bad.write_text("channels: [defaults\n")
    with pytest.raises(SharedError) as caught:
        read_config([bad])
    assert str(bad) in str(caught.value)
    assert "Fix or remove" in str(caught.value)
    assert "\n" not in str(caught.value)
