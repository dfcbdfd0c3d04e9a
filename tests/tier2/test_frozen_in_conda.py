"""Tier 2: install into a CEP 22 frozen env is refused, by our hook on conda < 25.5 and by conda
itself from 25.5, with the marker's message; the escape works on both."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from conda_shared.hooks.frozen import OVERRIDE_VARIABLE
from conda_shared.hooks.versions import frozen_enforced_by_conda
from tests.conftest import CONDA_VERSION
from tests.support.channel import Channel
from tests.support.conda_runner import CondaRunner

pytestmark = pytest.mark.tier2

MESSAGE = "ds is a release; change it with a new release"


@pytest.fixture
def conda(tmp_path: Path) -> CondaRunner:
    channel = Channel(tmp_path / "channel")
    channel.add("libz", "1.0")
    channel.add("pkga", "1.0", depends=("libz",))
    channel.index()
    return CondaRunner.in_sandbox(tmp_path / "sandbox", [channel.url])


def test_install_into_a_frozen_env_is_refused_with_its_message(conda: CondaRunner) -> None:
    conda("create", "-n", "ds", "libz")
    prefix = conda.envs_dir / "ds"
    (prefix / "conda-meta" / "frozen").write_text(json.dumps({"message": MESSAGE}))
    refused = conda("install", "-n", "ds", "pkga", check=False)
    assert refused.returncode != 0
    assert "Traceback" not in refused.stderr
    assert MESSAGE in refused.stderr
    assert not list((prefix / "conda-meta").glob("pkga-*.json"))
    if frozen_enforced_by_conda(CONDA_VERSION or "0"):
        assert "EnvironmentIsFrozenError" in refused.stderr
        escape = ["--override-frozen"]
        overrides: dict[str, str | None] = {}
    else:
        (line,) = [line for line in refused.stderr.splitlines() if "PolicyError" in line]
        assert f"{OVERRIDE_VARIABLE}=1" in line and MESSAGE in line
        escape = []
        overrides = {OVERRIDE_VARIABLE: "1"}
    conda("install", "-n", "ds", "pkga", *escape, env_overrides=overrides)
    assert list((prefix / "conda-meta").glob("pkga-*.json"))
