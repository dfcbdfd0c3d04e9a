"""The conda recipe: one source of truth with pyproject.toml, an offline build, a real install."""

from __future__ import annotations

import ast
import configparser
import contextlib
import email.parser
import json
import re
import subprocess
import sys
import tarfile
import zipfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from ruamel.yaml import YAML

import conda_shared
from conda_shared.cli import VERBS
from tests.support.channel import Channel, PackageFile
from tests.support.conda_runner import CondaRunner
from tests.support.installation import make_installation

REPO = Path(__file__).resolve().parent.parent
RECIPE = REPO / "recipe" / "recipe.yaml"
PYPROJECT = REPO / "pyproject.toml"
#: conda is no PyPI package, so the recipe is the one place that names it.
CONDA_REQUIREMENT = "conda >=24.3"
#: Any download rattler-build tried would go to this dead proxy and fail the build.
_NO_NETWORK = "http://127.0.0.1:9"
_NO_RATTLER_BUILD = "needs py-rattler-build (pip install py-rattler-build; Python >= 3.10)"


def _pyproject() -> dict[str, Any]:
    text = PYPROJECT.read_text(encoding="utf-8")
    try:
        import tomllib
    except ImportError:
        try:
            import tomli as tomllib
        except ImportError:
            return _parse_toml_minimally(text)
    return tomllib.loads(text)


_TABLE = re.compile(r"\[(?P<name>[^\[\]]+)\]")
_KEY = re.compile(r'(?P<key>[A-Za-z0-9_.-]+|"[^"]+")\s*=\s*(?P<value>.+)')


def _parse_toml_minimally(text: str) -> dict[str, Any]:
    """Python < 3.11 without tomli: [tables] and keys whose value is a string or an array of
    strings, which read as Python literals; everything else pyproject.toml holds is skipped."""
    data: dict[str, Any] = {}
    table: dict[str, Any] = data
    lines = iter(text.splitlines())
    for line in lines:
        stripped = line.strip()
        if stripped.startswith("[["):  # an array of tables: nothing read here lives in one
            table = {}
            continue
        header = _TABLE.fullmatch(stripped)
        if header:
            table = data
            for part in header["name"].split("."):
                table = table.setdefault(part.strip().strip('"'), {})
            continue
        entry = _KEY.fullmatch(stripped)
        if entry is None:
            continue
        value = entry["value"]
        while value.startswith("[") and not value.endswith("]"):
            value += "\n" + next(lines).strip()  # an array that goes on over several lines
        with contextlib.suppress(SyntaxError, ValueError):  # booleans, numbers, inline tables
            table[entry["key"].strip('"')] = ast.literal_eval(value)
    return data


def _recipe() -> dict[str, Any]:
    loaded: dict[str, Any] = YAML(typ="safe").load(RECIPE.read_text(encoding="utf-8"))
    return loaded


#: {canonical name: {">=1.0", "<2"}}: requirements compared by meaning, not spelling.
Constraints = dict[str, set[str]]


def _conda_constraints(specs: Iterable[str]) -> Constraints:
    """Constraints of conda specs such as `ruamel.yaml >=0.17,<1`."""
    constraints: Constraints = {}
    for spec in specs:
        name, _, version = spec.partition(" ")
        constraints[canonicalize_name(name)] = {p for p in version.replace(" ", "").split(",") if p}
    return constraints


def _pep440_constraints(requirements: Iterable[str]) -> Constraints:
    """Constraints of PEP 508 requirements such as `ruamel.yaml>=0.17,<1` (no markers)."""
    constraints: Constraints = {}
    for text in requirements:
        requirement = Requirement(text)
        assert not requirement.marker and not requirement.extras, (
            f"{text}: a conda requirement has no markers or extras; give it a plain version range"
        )
        constraints[canonicalize_name(requirement.name)] = {str(s) for s in requirement.specifier}
    return constraints


def _expected_run_constraints(pyproject: Mapping[str, Any]) -> Constraints:
    """What the built package must depend on: pyproject.toml's Python and dependencies, conda."""
    project = pyproject["project"]
    return {
        **_pep440_constraints([f"python{project['requires-python']}", *project["dependencies"]]),
        **_conda_constraints([CONDA_REQUIREMENT]),
    }


# --- tier 1: the recipe and pyproject.toml cannot drift ----------------------------------


def test_minimal_toml_reading_agrees_with_tomllib() -> None:
    tomllib = pytest.importorskip("tomllib")
    text = PYPROJECT.read_text(encoding="utf-8")
    full, minimal = tomllib.loads(text), _parse_toml_minimally(text)
    assert minimal["project"]["dependencies"] == full["project"]["dependencies"]
    assert minimal["project"]["requires-python"] == full["project"]["requires-python"]
    assert minimal["project"]["scripts"] == full["project"]["scripts"]
    assert minimal["project"]["entry-points"] == full["project"]["entry-points"]
    assert minimal["build-system"]["requires"] == full["build-system"]["requires"]
    assert minimal["tool"]["hatch"]["version"] == full["tool"]["hatch"]["version"]


def test_mypy_checks_the_oldest_python_that_pyproject_allows() -> None:
    tomllib = pytest.importorskip("tomllib")
    full = tomllib.loads(PYPROJECT.read_text(encoding="utf-8"))
    lowest = re.fullmatch(r">=\s*(\d+\.\d+)", full["project"]["requires-python"])
    assert lowest is not None, full["project"]["requires-python"]
    assert full["tool"]["mypy"]["python_version"] == lowest[1]


def test_version_comes_from_the_line_hatchling_reads() -> None:
    version_file = _pyproject()["tool"]["hatch"]["version"]["path"]
    expression = _recipe()["context"]["version"]
    assert f'load_from_file("../{version_file}")' in expression
    # The recipe cuts the version out of the file with Jinja `split` filters; the first
    # split marker must occur exactly once, or `| last` would pick the wrong piece.
    marker = re.search(r"split\('(?P<marker>[^']+)'\)", expression)
    assert marker is not None, expression
    text = (REPO / version_file).read_text(encoding="utf-8")
    assert text.count(marker["marker"]) == 1
    assert text.split(marker["marker"])[-1].split('"')[0] == conda_shared.__version__
    assert _recipe()["package"]["version"] == "${{ version }}"


def test_name_python_and_entry_points_are_read_from_pyproject() -> None:
    recipe = _recipe()
    scripts = _pyproject()["project"]["scripts"]
    assert recipe["context"]["project"] == '${{ load_from_file("../pyproject.toml").project }}'
    assert recipe["package"]["name"] == "${{ project.name }}"
    assert recipe["build"]["noarch"] == "python"
    assert recipe["build"]["python"]["entry_points"] == [
        f'{command} = ${{{{ project.scripts["{command}"] }}}}' for command in scripts
    ]
    python_spec = '${{ project["requires-python"] }}'
    assert f"python {python_spec}" in recipe["requirements"]["run"]
    assert f"python {python_spec}" in recipe["requirements"]["host"]


def test_run_requirements_are_the_pyproject_dependencies_and_conda() -> None:
    # python's constraint is read from pyproject.toml by the recipe itself (test above).
    run = _conda_constraints(_recipe()["requirements"]["run"])
    expected = _expected_run_constraints(_pyproject())
    del run["python"], expected["python"]
    assert run == expected, "recipe/recipe.yaml: make requirements/run match pyproject.toml"


def test_host_requirements_hold_the_build_backend_and_pip() -> None:
    host = _conda_constraints(_recipe()["requirements"]["host"])
    backend = _pep440_constraints(_pyproject()["build-system"]["requires"])
    assert {name: host.get(name) for name in backend} == backend
    assert {"python", "pip"} <= host.keys()


def test_build_installs_with_pip_without_deps_or_isolation() -> None:
    script = _recipe()["build"]["script"]
    assert "-m pip install . --no-deps --no-build-isolation" in script[0]


def test_recipe_tests_import_the_plugin_and_run_both_commands() -> None:
    tests = _recipe()["tests"]
    python_tests = [test["python"] for test in tests if "python" in test]
    scripts = [line for test in tests if "script" in test for line in test["script"]]
    assert any("conda_shared.plugin" in test["imports"] for test in python_tests)
    assert all(test.get("pip_check", True) for test in python_tests)
    assert "conda shared --help" in scripts
    assert "conda-shared --help" in scripts


def test_rattler_build_renders_the_package_metadata() -> None:
    rattler_build = pytest.importorskip("rattler_build", reason=_NO_RATTLER_BUILD)
    pyproject = _pyproject()
    recipe = _rendered(rattler_build).to_dict()
    assert recipe["package"] == {
        "name": pyproject["project"]["name"],
        "version": conda_shared.__version__,
    }
    assert _conda_constraints(recipe["requirements"]["run"]) == _expected_run_constraints(pyproject)
    assert recipe["build"]["python"]["entry_points"] == [
        f"{command} = {target}" for command, target in pyproject["project"]["scripts"].items()
    ]
    assert recipe["about"]["license"] == pyproject["project"]["license"]


def _rendered(rattler_build: Any) -> Any:
    """The recipe rendered as `rattler-build build --experimental` renders it (load_from_file)."""
    platform = rattler_build.PlatformConfig(experimental=True)
    variants = rattler_build.Stage0Recipe.from_file(RECIPE).render(
        render_config=rattler_build.RenderConfig(platform=platform)
    )
    assert len(variants) == 1
    return variants[0].recipe


# --- slow: build the package offline, from wheels turned into a local channel ------------


@dataclass(frozen=True)
class BuiltPackage:
    """The archive rattler-build wrote, the channel it was built from, and its output
    directory, which rattler-build indexes: a channel holding the package."""

    archive: Path
    build_channel: Channel
    output_channel: Path

    def member(self, path: str) -> bytes:
        with tarfile.open(self.archive) as archive:
            extracted = archive.extractfile(path)
            assert extracted is not None, path
            return extracted.read()

    def member_names(self) -> list[str]:
        with tarfile.open(self.archive) as archive:
            return archive.getnames()


@pytest.fixture(scope="module")
def built_package(tmp_path_factory: pytest.TempPathFactory) -> BuiltPackage:
    """The package as rattler-build builds it from recipe/, offline: its only channel is a
    local one of the build backend's wheels, a venv-style python and pip."""
    rattler_build = pytest.importorskip("rattler_build", reason=_NO_RATTLER_BUILD)
    work = tmp_path_factory.mktemp("recipe-build")
    channel = _build_channel(work / "channel", _download_build_wheels(work / "wheels"))
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("RATTLER_CACHE_DIR", str(work / "rattler-cache"))
        for variable in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy"):
            patch.setenv(variable, _NO_NETWORK)
        patch.delenv("NO_PROXY", raising=False)
        patch.delenv("no_proxy", raising=False)
        (result,) = rattler_build.Stage0Recipe.from_file(RECIPE).run_build(
            render_config=rattler_build.RenderConfig(
                platform=rattler_build.PlatformConfig(experimental=True)
            ),
            tool_config=rattler_build.ToolConfiguration(test_strategy="skip"),
            output_dir=work / "output",
            channels=[channel.url],
            package_format="tar-bz2",
        )
    (archive,) = result.packages
    return BuiltPackage(
        archive=Path(archive), build_channel=channel, output_channel=work / "output"
    )


def _download_build_wheels(destination: Path) -> list[Path]:
    """The build backend named in [build-system] and its requirements, as wheels from PyPI
    for this Python (pip itself comes from ensurepip's bundled wheel)."""
    requires = _pyproject()["build-system"]["requires"]
    pip_download = [sys.executable, "-m", "pip", "download", "--only-binary=:all:"]
    download = subprocess.run(
        [*pip_download, "--dest", str(destination), *requires],
        capture_output=True,
        text=True,
        check=False,
    )
    if download.returncode != 0:
        pytest.fail(f"pip could not download {requires} from PyPI:\n{download.stderr}")
    return sorted(destination.glob("*.whl"))


def _build_channel(root: Path, wheels: list[Path]) -> Channel:
    channel = Channel(root)
    channel.add_python()
    channel.add_pip()
    for wheel in wheels:
        _add_wheel(channel, wheel)
    channel.index()
    return channel


def _add_wheel(channel: Channel, wheel: Path) -> PackageFile:
    """`wheel` as a noarch python conda package, the way conda-forge makes one: its files under
    site-packages, INSTALLER=conda, console scripts as link.json entry points, and its
    requirements (those that apply to this Python) as depends."""
    with zipfile.ZipFile(wheel) as archive:
        files = {
            f"site-packages/{member.filename}": archive.read(member)
            for member in archive.infolist()
            if not member.is_dir()
        }
    dist_info = next(path for path in files if path.endswith(".dist-info/METADATA"))[:-9]
    metadata = email.parser.BytesParser().parsebytes(files[f"{dist_info}/METADATA"])
    files[f"{dist_info}/INSTALLER"] = b"conda\n"
    entry_points = _entry_points(files.get(f"{dist_info}/entry_points.txt", b"").decode())
    scripts = entry_points.get("console_scripts", {})
    requirements = [Requirement(text) for text in metadata.get_all("Requires-Dist") or []]
    return channel.add(
        str(canonicalize_name(metadata["Name"])),
        metadata["Version"],
        "py_0",
        depends=[
            f"python {metadata['Requires-Python'] or ''}".strip(),
            *(
                f"{canonicalize_name(r.name)} {r.specifier}".strip()
                for r in requirements
                if r.marker is None or r.marker.evaluate({"extra": ""})
            ),
        ],
        files=files,
        noarch="python",
        entry_points=[f"{command} = {target}" for command, target in scripts.items()],
    )


def _entry_points(text: str) -> dict[str, dict[str, str]]:
    """entry_points.txt as {group: {name: target}}."""
    parser = configparser.ConfigParser(delimiters=("=",), interpolation=None)
    parser.optionxform = str  # type: ignore[assignment,method-assign]
    parser.read_string(text)
    return {group: dict(parser[group]) for group in parser.sections()}


@pytest.mark.slow
def test_built_package_metadata_matches_pyproject(built_package: BuiltPackage) -> None:
    pyproject = _pyproject()
    index = json.loads(built_package.member("info/index.json"))
    assert index["name"] == pyproject["project"]["name"]
    assert index["version"] == conda_shared.__version__
    assert index["noarch"] == "python"
    assert _conda_constraints(index["depends"]) == _expected_run_constraints(pyproject)
    link = json.loads(built_package.member("info/link.json"))
    assert link["noarch"]["entry_points"] == [
        f"{command} = {target}" for command, target in pyproject["project"]["scripts"].items()
    ]


@pytest.mark.slow
def test_built_package_holds_every_module_and_the_conda_entry_point(
    built_package: BuiltPackage,
) -> None:
    version = conda_shared.__version__
    dist_info = f"site-packages/conda_shared-{version}.dist-info"
    names = set(built_package.member_names())
    modules = {
        f"site-packages/{path.relative_to(REPO).as_posix()}"
        for path in (REPO / "conda_shared").rglob("*.py")
    }
    assert modules <= names
    entry_points = _entry_points(built_package.member(f"{dist_info}/entry_points.txt").decode())
    declared = _pyproject()["project"]
    assert entry_points == {
        "conda": declared["entry-points"]["conda"],
        "console_scripts": declared["scripts"],
    }
    assert built_package.member(f"{dist_info}/INSTALLER") == b"conda\n"
    # conda writes the console script at install time; the build's pip-made one stays out,
    # and so do caches and the build directory recorded as pip's install source.
    assert not [name for name in names if name.startswith(("bin/", "python-scripts/"))]
    assert not [name for name in names if "__pycache__" in name or name.endswith(".pyc")]
    assert f"{dist_info}/direct_url.json" not in names
    paths = json.loads(built_package.member("info/paths.json"))["paths"]
    assert {entry["_path"] for entry in paths} == {n for n in names if not n.startswith("info/")}


# --- tier 2: real conda installs the package into an installation's base, and removes it --


@pytest.mark.slow
@pytest.mark.tier2
def test_conda_installs_and_removes_the_package_in_a_base_env(
    built_package: BuiltPackage, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # `python -m conda` puts the working directory first on sys.path: run where no
    # conda_shared source is, so only the installed copy can answer.
    monkeypatch.chdir(tmp_path)
    installation = make_installation(
        tmp_path / "installation", channel_urls=[built_package.build_channel.url], work=tmp_path
    )
    python = installation / "bin" / "python"
    conda = CondaRunner.in_sandbox(
        tmp_path / "sandbox", [built_package.build_channel.url], python=python
    )
    packages_before = _package_names(conda)
    assert conda("shared", "--help", check=False).returncode != 0

    # As the README tells admins: from their channel, into the installation's base.
    channel = built_package.output_channel.as_uri()
    conda("install", "--name", "base", "--override-channels", "--channel", channel, "conda-shared")

    for help_text in (
        conda("shared", "--help").stdout,
        _run(conda, installation / "bin" / "conda-shared", "--help").stdout,
    ):
        assert all(verb in help_text for verb in VERBS), help_text
    (installed,) = [r for r in conda.json("list", "conda-shared") if r["name"] == "conda-shared"]
    assert installed["version"] == conda_shared.__version__
    # The running conda's own metadata may miss optional packages; ours must be complete.
    pip_check = _run(conda, python, "-m", "pip", "check", check=False).stdout
    assert "conda-shared" not in pip_check.lower()

    conda("remove", "--name", "base", "conda-shared")

    assert conda("shared", "--help", check=False).returncode != 0
    assert not (installation / "bin" / "conda-shared").exists()
    assert not list(installation.glob("lib/python*/site-packages/conda_shared*"))
    assert _package_names(conda) == packages_before


def _package_names(conda: CondaRunner) -> list[str]:
    return [record["name"] for record in conda.json("list")]


def _run(
    conda: CondaRunner, *argv: str | Path, check: bool = True
) -> subprocess.CompletedProcess[str]:
    """A command of the test installation, in the environment conda runs in there."""
    result = subprocess.run(
        [str(arg) for arg in argv], capture_output=True, text=True, env=conda.environ(), check=False
    )
    if check:
        assert result.returncode == 0, f"{argv} exited {result.returncode}:\n{result.stderr}"
    return result
