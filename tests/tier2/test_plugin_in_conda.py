"""Tier 2: `conda shared` inside real conda: verbs, settings, conda-style errors, --json."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.roots import make_sample
from tests.support.conda_runner import CondaRunner

pytestmark = pytest.mark.tier2

VERBS = ("status", "inventory", "export", "sample")


def test_help_lists_the_verbs(conda_run: CondaRunner) -> None:
    result = conda_run("shared", "--help")
    assert result.returncode == 0
    assert "usage: conda shared" in result.stdout
    for verb in VERBS:
        assert verb in result.stdout
    listing = conda_run("--help").stdout
    assert "shared" in listing


def test_status_and_json_on_the_sample(conda_run: CondaRunner, tmp_path: Path) -> None:
    root = make_sample(tmp_path)
    text = conda_run("shared", "status", "--root", root)
    assert "current  -> v24.11" in text.stdout
    data = json.loads(conda_run("shared", "status", "--root", root, "--json").stdout)
    assert [i["name"] for i in data["installations"]] == ["v24.11", "v26.7"]


def test_settings_from_condarc_plugins_map_and_env_var(
    conda_run: CondaRunner, tmp_path: Path
) -> None:
    root = make_sample(tmp_path)
    rc = conda_run.condarc.read_text()
    conda_run.condarc.write_text(rc + f"plugins:\n  shared_root: {root}\n")
    try:
        assert "current  -> v24.11" in conda_run("shared", "status").stdout
    finally:
        conda_run.condarc.write_text(rc)
    other = make_sample(tmp_path, "other")
    result = conda_run("shared", "status", env_overrides={"CONDA_PLUGINS_SHARED_ROOT": str(other)})
    assert f"shared root {other}" in result.stdout


def test_errors_print_like_condas_own(conda_run: CondaRunner, tmp_path: Path) -> None:
    missing = tmp_path / "100%-missing"
    result = conda_run("shared", "status", "--root", missing, check=False)
    assert result.returncode == 2
    assert "ERROR REPORT" not in result.stderr and "Traceback" not in result.stderr
    assert f"InputError: shared root {missing} does not exist." in result.stderr
    as_json = conda_run("shared", "status", "--root", missing, "--json", check=False)
    assert as_json.returncode == 2
    data = json.loads(as_json.stdout)
    assert data["exception_name"] == "InputError"
    assert "does not exist" in data["message"]


def test_bad_setting_is_a_clean_error(conda_run: CondaRunner, tmp_path: Path) -> None:
    root = make_sample(tmp_path)
    result = conda_run(
        "shared",
        "status",
        "--root",
        root,
        check=False,
        env_overrides={"CONDA_PLUGINS_SHARED_CHANNEL_POLICY": "sometimes"},
    )
    assert result.returncode == 2
    assert "not one of error, warn, off" in result.stderr
    assert "ERROR REPORT" not in result.stderr


def test_plugin_can_be_switched_off_and_conda_keeps_working(conda_run: CondaRunner) -> None:
    assert conda_run("info", "--json").returncode == 0
    off = conda_run("--no-plugins", "shared", "--help", check=False)
    assert off.returncode != 0
    assert "invalid choice: 'shared'" in off.stderr
