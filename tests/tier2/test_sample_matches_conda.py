"""Tier 2: the sample's records, history and pip metadata have the shapes real conda writes."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import pytest

from tests.conftest import CONDA_VERSION
from tests.roots import make_sample
from tests.support.channel import build_wheel
from tests.support.conda_runner import CondaRunner

pytestmark = pytest.mark.tier2

# Keys that only appear when the package's own metadata has them (license, timestamp, ...).
PACKAGE_METADATA = {"license", "license_family", "timestamp", "size", "track_features", "features"}


def conda_at_least(major: int, minor: int) -> bool:
    return tuple(int(x) for x in re.findall(r"\d+", CONDA_VERSION or "0")[:2]) >= (major, minor)


@pytest.fixture(scope="module")
def real_env(conda_run: CondaRunner, tmp_path_factory: pytest.TempPathFactory) -> Path:
    prefix = tmp_path_factory.mktemp("real") / "env"
    conda_run("create", "-p", prefix, "tidy-util=1.0")  # python and pip come as dependencies
    wheelhouse = prefix.parent / "wheels"
    wheelhouse.mkdir()
    build_wheel(wheelhouse, "pyreadstat", "1.2.7")
    subprocess.run(
        [
            str(prefix / "bin" / "python"),
            "-m",
            "pip",
            "install",
            "--no-index",
            "--find-links",
            str(wheelhouse),
            "pyreadstat==1.2.7",
        ],
        check=True,
        capture_output=True,
        env=conda_run.environ({"PIP_DISABLE_PIP_VERSION_CHECK": "1"}),
    )
    return prefix


@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_sample(tmp_path_factory.mktemp("sample"))


def sample_env(sample: Path) -> Path:
    """The sample env written as the running conda's era would write it."""
    if conda_at_least(26, 3):
        return sample / "v26.7" / "envs" / "smoke"
    return sample / "v24.11" / "envs" / "super_important_jupyter_kernel"


def sample_dependency(sample: Path) -> dict:  # type: ignore[type-arg]
    if conda_at_least(26, 3):
        return record_of(sample / "v26.7" / "envs" / "smoke", "packaging")
    return record_of(sample / "v24.11" / "envs" / "nhis_reformat", "numpy")


def record_of(prefix: Path, name: str) -> dict:  # type: ignore[type-arg]
    return json.loads(next((prefix / "conda-meta").glob(f"{name}-[0-9]*.json")).read_text())


def test_requested_noarch_python_record_has_condas_keys(real_env: Path, sample: Path) -> None:
    real = record_of(real_env, "tidy-util")
    ours = record_of(sample_env(sample), "pip" if conda_at_least(26, 3) else "ipykernel")
    assert set(ours) - PACKAGE_METADATA == set(real) - PACKAGE_METADATA
    assert ours["package_type"] == real["package_type"] == "noarch_python"
    for record in (real, ours):
        linked = [p["_path"] for p in record["paths_data"]["paths"] if p["path_type"] == "hardlink"]
        assert linked and all(p.startswith("site-packages/") for p in linked)
        assert all(f.startswith("lib/python") for f in record["files"] if "site-packages" in f)
    if not conda_at_least(25, 7):  # conda 25.7 stopped sorting record keys
        assert list(real) == sorted(real) and list(ours) == sorted(ours)


def test_dependency_record_has_condas_request_fields(real_env: Path, sample: Path) -> None:
    real = record_of(real_env, "pip")  # a dependency here (conda adds pip to python)
    ours = sample_dependency(sample)
    assert set(ours) - PACKAGE_METADATA - {"noarch", "package_type"} == (
        set(real) - PACKAGE_METADATA - {"noarch", "package_type"}
    )
    for key in ("requested_spec", "_requested_specs", "requested_specs"):
        assert (key in real) == (key in ours), key
        if key in real and key != "requested_specs":
            assert real[key] == ours[key]


def line_kinds(history: str) -> list[str]:
    kinds = []
    for line in history.splitlines():
        for kind, pattern in (
            ("header", r"^==> \d{4}-\d\d-\d\d \d\d:\d\d:\d\d <==$"),
            ("cmd", r"^# cmd: \S+"),
            ("version", r"^# conda version: \d+\.\d+\.\d+$"),
            ("link", r"^\+\S+/(noarch|linux-64|[a-z]+-\w+)::\S+-\S+-\S+$"),
            ("specs", r"^# update specs: \[.*\]$"),
        ):
            if re.match(pattern, line):
                kinds.append(kind)
                break
        else:
            kinds.append(f"?{line}")
    return [k for i, k in enumerate(kinds) if k != "link" or kinds[i - 1] != "link"]


def test_history_has_condas_line_format(real_env: Path, sample: Path) -> None:
    real = (real_env / "conda-meta" / "history").read_text()
    ours = (sample_env(sample) / "conda-meta" / "history").read_text()
    assert line_kinds(real) == line_kinds(ours) == ["header", "cmd", "version", "link", "specs"]


def test_pip_dist_info_files_match_real_pip(real_env: Path, sample: Path) -> None:
    site = next(real_env.glob("lib/python*/site-packages"))
    real = {p.name for p in next(site.glob("pyreadstat-*.dist-info")).iterdir()}
    ours_site = sample / "v24.11/envs/nhis_reformat/lib/python3.9/site-packages"
    ours = {p.name for p in next(ours_site.glob("pyreadstat-*.dist-info")).iterdir()}
    assert {"METADATA", "INSTALLER", "RECORD", "REQUESTED"} <= ours <= real
    assert (
        site / next(site.glob("pyreadstat-*.dist-info")).name / "INSTALLER"
    ).read_text() == "pip\n"
