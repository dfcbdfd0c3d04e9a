"""settings.py: one table of settings, validated, from conda's context or from disk."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest

from conda_shared.errors import InputError
from conda_shared.settings import SETTINGS, from_conda_context, from_environment, from_values


def test_defaults() -> None:
    settings = from_values({})
    assert settings.shared_root is None
    assert settings.channel_policy == "warn"
    assert settings.shadow_warnings is True
    assert settings.overlays_dir == Path("~/.conda/overlays").expanduser()


def test_values_are_validated_and_paths_expanded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SITE", "/srv")
    settings = from_values(
        {
            "shared_root": "$SITE/conda",
            "shared_channel_policy": "ERROR",
            "shared_shadow_warnings": "off",
        }
    )
    assert settings.shared_root == Path("/srv/conda")
    assert settings.channel_policy == "error"
    assert settings.shadow_warnings is False
    with pytest.raises(InputError, match="not one of error, warn, off"):
        from_values({"shared_channel_policy": "strict"})
    with pytest.raises(InputError, match="not true or false"):
        from_values({"shared_shadow_warnings": "maybe"})


def test_standalone_precedence(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    for name in ("CONDA_SHARED_ROOT", "CONDA_PLUGINS_SHARED_ROOT", "CONDARC", "CONDA_PREFIX"):
        monkeypatch.delenv(name, raising=False)
    (tmp_path / ".condarc").write_text("plugins:\n  shared_root: /from/condarc\n")
    assert from_environment(None).shared_root == Path("/from/condarc")
    monkeypatch.setenv("CONDA_PLUGINS_SHARED_ROOT", "/from/plugins-var")
    assert from_environment(None).shared_root == Path("/from/plugins-var")
    monkeypatch.setenv("CONDA_SHARED_ROOT", "/from/shared-var")
    assert from_environment(None).shared_root == Path("/from/shared-var")


def test_from_conda_context_reads_plugins_namespace() -> None:
    plugins = SimpleNamespace(
        shared_root="/srv/conda",
        shared_channel_policy="off",
        shared_shadow_warnings=False,
        shared_overlays_dir="/scratch/overlays",
        shared_slurm_options="--partition=short",
        shared_target_virtual_packages="__cuda=12.4, __glibc=2.28",
        shared_admin_group="condaadm",
        shared_request_notify="/usr/local/bin/notify --to 'it desk'",
    )
    settings = from_conda_context(SimpleNamespace(plugins=plugins))
    assert settings.shared_root == Path("/srv/conda")
    assert settings.channel_policy == "off"
    assert settings.overlays_dir == Path("/scratch/overlays")
    assert settings.slurm_options == ("--partition=short",)
    assert settings.target_virtual_packages == ("__cuda=12.4", "__glibc=2.28")
    assert settings.admin_group == "condaadm"
    assert settings.request_notify == ("/usr/local/bin/notify", "--to", "it desk")


def test_setting_names_are_safe_for_conda() -> None:
    # conda splits CONDA_PLUGINS_* variables on "plugins_": such a name breaks every plugin.
    assert all("plugins_" not in spec.name and spec.name.startswith("shared_") for spec in SETTINGS)


def test_the_settings_table_loads_without_the_error_machinery() -> None:
    """conda imports it for its settings hook on every command that reads `context.plugins`."""
    probe = (
        "import sys, conda_shared.settings as s; s.from_values({}); "
        "print(sorted(m for m in sys.modules if m.startswith('conda_shared')))"
    )
    loaded = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True
    ).stdout
    assert loaded.strip() == "['conda_shared', 'conda_shared.settings']"
