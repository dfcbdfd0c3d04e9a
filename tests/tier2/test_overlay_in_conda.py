"""Tier 2: overlays on a read-only env that real conda built, driven through `conda shared`."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from tests.overlay.packages import source_tree, wheelhouse
from tests.roots import tree_digest
from tests.support.channel import Channel
from tests.support.installation import installation_environ, make_installation, run_in

pytestmark = [pytest.mark.tier2, pytest.mark.slow]

_PROBE = (
    "import importlib\n"
    "for name in ('tidy_util', 'helper_lib', 'edit_me'):\n"
    "    try:\n"
    "        m = importlib.import_module(name)\n"
    "        print(name, getattr(m, '__version__', '?'), m.__file__)\n"
    "    except ImportError:\n"
    "        print(name, 'missing')\n"
)


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """An installation (conda-shared in its base) with a read-only env `survey` (python, pip,
    tidy-util 1.0 needing helper-lib 1.0), an env `other`, wheels and an editable source."""
    work = tmp_path_factory.mktemp("overlay-site")
    channel = Channel(work / "channel")
    channel.add_python()
    channel.add_pip()
    channel.add_python_dist("helper-lib", "1.0")
    channel.add_python_dist("tidy-util", "1.0", depends=("python", "helper-lib"))
    channel.add("libdata", "2.0", files={"share/libdata/data.txt": b"libdata 2.0\n"})
    channel.index()
    inst = make_installation(
        work / "inst", channel_urls=[channel.url], work=work, with_conda_shared=True
    )
    home = work / "home"
    for name, specs in (("survey", ("python", "pip", "tidy-util")), ("other", ("python",))):
        made = run_in(inst, "-m", "conda", "create", "-y", "-p", inst / "envs" / name, *specs,
                      home=home)  # fmt: skip
        assert made.returncode == 0, made.stdout + made.stderr
    subprocess.run(["chmod", "-R", "a-w", str(inst / "envs" / "survey")], check=True)
    return {
        "inst": inst,
        "home": home,
        "survey": inst / "envs" / "survey",
        "other": inst / "envs" / "other",
        "wheels": wheelhouse(work / "wheels"),
        "source": source_tree(work / "edit src", "edit-me", "0.1"),
    }


def shared(site: dict[str, Path], *args: str | Path) -> subprocess.CompletedProcess[str]:
    return run_in(site["inst"], "-m", "conda", "shared", "overlay", *args, home=site["home"])


def test_overlay_extends_a_read_only_env_for_its_python_only(site: dict[str, Path]) -> None:
    survey, inst = site["survey"], site["inst"]
    before = tree_digest(survey)
    installed = shared(
        site, "install", "survey", "tidy-util==1.2", "fresh-tool", "-e", site["source"],
        "--", "--no-index", "--find-links", site["wheels"],
    )  # fmt: skip
    assert installed.returncode == 0, installed.stderr
    # the upgrade needs helper-lib>=2; the env's conda-installed 1.0 is too old
    assert "  + helper-lib 2.0" in installed.stdout
    overlay = site["home"] / ".conda" / "overlays" / "survey"
    assert (overlay / "bin" / "fresh-tool").exists()

    ran = shared(site, "run", "survey", "--", "python", "-c", _PROBE)
    assert ran.returncode == 0, ran.stderr
    lines = ran.stdout.splitlines()
    assert (
        lines[0]
        == f"tidy_util 1.2 {overlay}/lib/{_pyver(survey)}/site-packages/tidy_util/__init__.py"
    )
    assert lines[1].startswith("helper_lib 2.0 ")
    assert lines[2] == f"edit_me 0.1 {site['source']}/src/edit_me/__init__.py"
    tool = shared(site, "run", "survey", "--", "fresh-tool")
    assert tool.stdout == f"0.5 {survey}/bin/python\n", tool.stderr

    # in bash, after conda activate (the env's bin first on PATH) and eval of activate
    script = "\n".join(
        [
            f'eval "$({inst}/bin/python -m conda shared overlay activate survey --shell bash)"',
            f"python -c {_sh(_PROBE)}",
            "fresh-tool",
            f"{site['other']}/bin/python -c {_sh(_PROBE)}",
            f"{inst}/bin/python -c {_sh(_PROBE)}",
            "deactivate_overlay",
            "python -c " + _sh(_PROBE),
        ]
    )
    environ = installation_environ(site["home"])
    environ["PATH"] = f"{survey}/bin:{environ['PATH']}"
    out = subprocess.run(["bash", "-c", script], capture_output=True, text=True, env=environ,
                         check=False).stdout.splitlines()  # fmt: skip
    assert out[0:3] == lines
    assert out[3] == f"0.5 {survey}/bin/python"
    # another env's Python and conda's own Python do not see the overlay
    assert out[4:7] == ["tidy_util missing", "helper_lib missing", "edit_me missing"]
    assert out[7:10] == ["tidy_util missing", "helper_lib missing", "edit_me missing"]
    # deactivated: the env's own packages again
    assert out[10].startswith(f"tidy_util 1.0 {survey}/")
    assert out[11].startswith(f"helper_lib 1.0 {survey}/")
    assert out[12] == "edit_me missing"

    checked = shared(site, "check", "survey")
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "ok     import tidy_util (tidy-util)" in checked.stdout
    listed = json.loads(shared(site, "list", "survey", "--json").stdout)
    shadows = {d["name"]: d["shadows"] for d in listed["overlays"][0]["dists"]}
    assert shadows == {"edit-me": None, "fresh-tool": None, "helper-lib": "1.0", "tidy-util": "1.0"}
    assert tree_digest(survey) == before


def test_failed_pip_and_bad_input_through_conda(site: dict[str, Path], tmp_path: Path) -> None:
    broken = source_tree(tmp_path / "broken", "broken", "0.1", fail_build=True)
    overlay = site["home"] / ".conda" / "overlays" / "survey"
    before = os.readlink(overlay) if overlay.is_symlink() else None
    failed = shared(site, "install", "survey", "tidy-util==1.1", broken,
                    "--", "--no-index", "--find-links", site["wheels"])  # fmt: skip
    assert failed.returncode == 1
    assert "pip could not install" in failed.stderr
    assert "Traceback" not in failed.stderr
    assert (os.readlink(overlay) if overlay.is_symlink() else None) == before
    unknown = shared(site, "install", "nosuch-env", "x")
    assert unknown.returncode == 2
    assert "no environment named 'nosuch-env'" in unknown.stderr


def test_clone_from_the_lock_and_notice_when_the_baseline_changes(
    site: dict[str, Path], tmp_path: Path
) -> None:
    destination = tmp_path / "my-clone"  # conda 26 refuses spaces there
    cloned = shared(site, "clone", "other", "--to", destination, "--without", "pip")
    assert cloned.returncode == 0, cloned.stdout + cloned.stderr
    assert f"cloned {site['other']} to {destination}" in cloned.stdout
    listed = run_in(site["inst"], "-m", "conda", "list", "-p", destination, "--json",
                    home=site["home"])  # fmt: skip
    names = {p["name"] for p in json.loads(listed.stdout)}
    assert "python" in names and "pip" not in names
    assert "baseline" not in shared(site, "check", destination).stdout
    # the admin changes the baseline: the clone's check says so
    changed = run_in(site["inst"], "-m", "conda", "install", "-y", "-p", site["other"],
                     "libdata", home=site["home"])  # fmt: skip
    assert changed.returncode == 0, changed.stdout
    check = shared(site, "check", destination)
    assert f"the baseline {site['other']} changed since this env was cloned" in check.stdout


def _pyver(prefix: Path) -> str:
    return next(prefix.glob("lib/python3.*")).name


def _sh(text: str) -> str:
    return "'" + text.replace("'", "'\\''") + "'"
