"""Real environments from public repositories (tests/data/shapes/): export reads each right.

Every shape goes into one installation under a path with a space; `conda-shared export` must
export them all without touching the source, and read conda's and pip's packages apart as
the README there says each env holds them.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest

from conda_shared.condarc import CondaConfig
from conda_shared.prefix import EnvState, read_env
from tests.roots import make_installation, run_cli, tree_digest

SHAPES_DIR = Path(__file__).parent / "data" / "shapes"


@dataclass(frozen=True)
class Expected:
    """What the readers must find in one shape."""

    python: str
    platform: str
    conda: int
    pip: frozenset[str]  # normalized name==version
    risks: frozenset[str] = frozenset()
    stale: tuple[str, ...] = ()


def _pip(*entries: str) -> frozenset[str]:
    return frozenset(entries)


EXPECTED = {
    "conda41-cloudera-base": Expected(
        "2.7.12",
        "linux-64",
        11,
        # the highest of the numpy/setuptools/protobuf dist-infos that failed upgrades left
        _pip(
            "jieba==0.38",
            "markdown==2.6.8",
            "mxnet==0.7.0",
            "numpy==1.13.1",
            "pip==9.0.1",
            "protobuf==3.4.0",
            "setuptools==36.2.7",
            "six==1.10.0",
            "tensorflow==1.3.0",
            "wheel==0.29.0",
            "xgboost==0.6",
        ),
        frozenset({"conda-and-pip"}),
    ),
    "conda41-cloudera-tensorflow": Expected("2.7.12", "linux-64", 9, _pip()),
    "conda45-constructor-base": Expected(
        "3.7.0",
        "linux-64",
        11,
        _pip(
            "appdirs==1.4.3",
            "attrs==18.2.0",
            "black==18.6b4",
            "click==6.7",
            "gevent==1.3.6",
            "greenlet==0.4.15",
            "httpie==0.9.9",
            "pygments==2.2.0",
            "rx==1.6.1",
            "structlog==18.2.0",
            "toml==0.9.6",
        ),
        frozenset({"custom-channel"}),
    ),
    # conda's zipped eggs and its pywin32_ctypes egg directory are conda's: nothing is pip's
    "conda49-windows-arcgis-clone": Expected("3.7.10", "win-64", 12, _pip()),
    "conda410-macos-pip-beside-conda": Expected(
        "3.8.12",
        "osx-64",
        7,
        _pip(
            "beautifulsoup4==4.10.0",
            "bs4==0.0.1",
            "charset-normalizer==2.0.7",
            "idna==3.3",
            "lxml==4.6.4",
            "numpy==1.21.4",
            "pandas==1.3.4",
            "pytz==2021.3",
            "requests==2.26.0",
            "soupsieve==2.3",
            "urllib3==1.26.7",
        ),
    ),
    # the easy_install egg and pip's later dist-info are one project
    "conda-windows-easy-install-egg": Expected(
        "3.9.1",
        "win-64",
        13,
        _pip("open-simulation-interface==3.2.0", "protobuf==3.15.1", "six==1.15.0"),
        frozenset({"pip-local"}),
    ),
    "miniforge-osx-arm64-python-upgraded": Expected(
        "3.10.5",
        "osx-arm64",
        6,
        _pip(),
        frozenset({"stale-site-packages"}),
        ("lib/python3.9/site-packages",),
    ),
    "pixi-default": Expected("3.13.0", "linux-64", 8, _pip()),
}


def test_every_shape_has_an_expectation() -> None:
    assert sorted(p.name for p in SHAPES_DIR.iterdir() if p.is_dir()) == sorted(EXPECTED)


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """One installation holding every shape as an env, and where export wrote them."""
    base = tmp_path_factory.mktemp("shapes")
    installation = make_installation(base / "shared root" / "v1")
    (base / "shared root" / "current").symlink_to("v1")
    for shape in EXPECTED:
        shutil.copytree(SHAPES_DIR / shape, installation / "envs" / shape, symlinks=True)
    return installation, base / "out"


def _read(installation: Path, shape: str) -> EnvState:
    return read_env(installation / "envs" / shape, name=shape, config=CondaConfig())


def test_export_succeeds_on_every_shape_and_leaves_the_source_alone(
    exported: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    installation, out = exported
    before = tree_digest(installation)
    root = str(installation.parent)
    result = run_cli(capsys, "export", "--root", root, "--out", str(out), "--json")
    assert tree_digest(installation) == before
    assert result.code == 0, result.out + result.err
    envs = {env["name"]: env for env in result.json()["envs"]}
    assert sorted(envs) == sorted(EXPECTED)
    for shape, expected in EXPECTED.items():
        env = envs[shape]
        assert env["ok"], f"{shape}: {env['error']}"
        assert (env["conda_packages"], env["pip_packages"]) == (
            expected.conda,
            len(expected.pip),
        ), shape
        assert expected.risks <= {risk["code"] for risk in env["risks"]}, shape
        assert (out / f"{shape}.lock").is_file()


@pytest.mark.parametrize("shape", sorted(EXPECTED))
def test_each_shape_reads_conda_and_pip_apart(exported: tuple[Path, Path], shape: str) -> None:
    installation, _ = exported
    expected = EXPECTED[shape]
    env = _read(installation, shape)
    assert (env.python_version, env.platform, len(env.records)) == (
        expected.python,
        expected.platform,
        expected.conda,
    )
    assert {f"{d.normalized}=={d.version}" for d in env.pip_dists} == expected.pip
    assert tuple(p.relative_to(env.path).as_posix() for p in env.stale_site_packages) == (
        expected.stale
    )


def test_conda_41_history_pins_are_plain_specs(exported: tuple[Path, Path]) -> None:
    installation, out = exported
    requested = _read(installation, "conda41-cloudera-base").history.requested_specs()
    assert requested["python"] == "python 2.7*"
    assert "(target=" not in (out / "conda41-cloudera-base.history.yml").read_text()


def test_clone_channels_name_no_subdir(exported: tuple[Path, Path]) -> None:
    """`conda create --clone` on Windows recorded `esri/win-64::arcpy==...` specs."""
    _, out = exported
    loose = (out / "conda49-windows-arcgis-clone.history.yml").read_text()
    channels = loose.split("dependencies:")[0]
    assert "esri" in channels
    assert "win-64" not in channels and "noarch" not in channels


def test_windows_command_with_spaces_is_kept_whole(exported: tuple[Path, Path]) -> None:
    installation, _ = exported
    (revision,) = _read(installation, "conda49-windows-arcgis-clone").history.revisions
    assert revision.command.startswith(
        "C:\\Program Files\\ArcGIS\\Pro\\bin\\Python\\Scripts\\conda.exe create --clone "
    )
    assert revision.conda_version == "4.9.2"


def test_pixi_env_without_history_headers_falls_back_to_its_leaves(
    exported: tuple[Path, Path],
) -> None:
    installation, out = exported
    env = _read(installation, "pixi-default")
    assert env.history.revisions == ()
    loose = (out / "pixi-default.history.yml").read_text()
    assert "scikit-learn" in loose and "numpy" not in loose.split("dependencies:")[1]
