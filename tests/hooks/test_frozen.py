"""hooks/frozen.py: install/update/remove into a CEP 22 frozen env refused where conda does not."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from conda_shared import hooks
from conda_shared.errors import PolicyError
from conda_shared.hooks.frozen import OVERRIDE_VARIABLE, frozen_reason
from tests.hooks.fakes import FakeContext

OLD_CONDA = "24.11.3"
FIRST_ENFORCING = "25.5.0"
MESSAGE = "A release of ds: change it with a new release."


@pytest.fixture(autouse=True)
def policy_error_as_is(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("conda_shared.hooks.as_conda_error", lambda error: error)
    monkeypatch.delenv(OVERRIDE_VARIABLE, raising=False)


def frozen_env(envs_dir: Path, name: str = "ds", marker: str | None = None) -> Path:
    prefix = envs_dir / name
    (prefix / "conda-meta").mkdir(parents=True)
    text = json.dumps({"message": MESSAGE}) if marker is None else marker
    (prefix / "conda-meta" / "frozen").write_text(text)
    return prefix


def by_name(envs_dir: Path, name: str = "ds") -> FakeContext:
    return FakeContext(args={"name": name, "packages": ["pkga"]}, envs_dirs=(str(envs_dir),))


@pytest.mark.parametrize("command", ["install", "update", "remove", "env_update", "env_remove"])
def test_old_conda_is_refused_with_the_release_message(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, command: str
) -> None:
    monkeypatch.setattr(hooks, "running_conda_version", lambda: OLD_CONDA)
    prefix = frozen_env(tmp_path / "envs")
    with pytest.raises(PolicyError) as caught:
        hooks.before_command(command, context=by_name(tmp_path / "envs"))
    assert caught.value.message == (
        f"Cannot modify '{prefix}': the environment is marked as frozen. Reason: {MESSAGE}"
    ).rstrip(".")
    assert OVERRIDE_VARIABLE + "=1" in caught.value.next_step
    assert caught.value.exit_code == 3


def test_by_prefix_and_reserved_base(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(hooks, "running_conda_version", lambda: OLD_CONDA)
    prefix = frozen_env(tmp_path / "envs")
    with pytest.raises(PolicyError):
        hooks.before_command("install", context=FakeContext(args={"prefix": str(prefix)}))
    base = FakeContext(args={"name": "base"}, root_prefix=str(prefix))
    with pytest.raises(PolicyError):
        hooks.before_command("install", context=base)


def test_the_override_variable_lets_it_through(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(hooks, "running_conda_version", lambda: OLD_CONDA)
    frozen_env(tmp_path / "envs")
    monkeypatch.setenv(OVERRIDE_VARIABLE, "1")
    hooks.before_command("install", context=by_name(tmp_path / "envs"))


def test_conda_that_enforces_it_and_create_are_left_alone(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    frozen_env(tmp_path / "envs")
    monkeypatch.setattr(hooks, "running_conda_version", lambda: FIRST_ENFORCING)
    hooks.before_command("install", context=by_name(tmp_path / "envs"))
    monkeypatch.setattr(hooks, "running_conda_version", lambda: OLD_CONDA)
    hooks.before_command("create", context=by_name(tmp_path / "envs"))


def test_an_unfrozen_or_missing_env_passes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(hooks, "running_conda_version", lambda: OLD_CONDA)
    (tmp_path / "envs" / "plain" / "conda-meta").mkdir(parents=True)
    hooks.before_command("install", context=by_name(tmp_path / "envs", "plain"))
    hooks.before_command("install", context=by_name(tmp_path / "envs", "missing"))


@pytest.mark.parametrize("marker", ["", "plain text, not JSON", "[1, 2]", '{"message": ""}'])
def test_a_marker_without_a_message_still_freezes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, marker: str
) -> None:
    monkeypatch.setattr(hooks, "running_conda_version", lambda: OLD_CONDA)
    prefix = frozen_env(tmp_path / "envs", marker=marker)
    assert frozen_reason(str(prefix / "conda-meta" / "frozen")) == ""
    with pytest.raises(PolicyError) as caught:
        hooks.before_command("install", context=by_name(tmp_path / "envs"))
    assert caught.value.message == f"Cannot modify '{prefix}': the environment is marked as frozen"
