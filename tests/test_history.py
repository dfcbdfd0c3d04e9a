"""history.py: conda-meta/history of every era, and the user's requested specs."""

from __future__ import annotations

from pathlib import Path

import pytest

from conda_shared.errors import SharedError
from conda_shared.history import Revision, parse_history, read_history, spec_channel, spec_name
from conda_shared.installation import read_installation
from tests.roots import make_installation

MODERN = """\
==> 2024-03-01 10:00:00 <==
# cmd: /opt/conda/bin/conda create -n x python=3.10 numpy scipy
# conda version: 24.11.3
+conda-forge/linux-64::numpy-1.26.4-py310_0
+conda-forge/linux-64::python-3.10.14-h0_cpython
+conda-forge/linux-64::scipy-1.12.0-py310_0
# update specs: ['python=3.10', 'numpy', 'scipy']
==> 2024-04-02 11:00:00 <==
# cmd: /opt/conda/bin/conda remove -n x scipy
# conda version: 24.11.3
-conda-forge/linux-64::scipy-1.12.0-py310_0
# remove specs: ['scipy']
==> 2024-05-03 12:00:00 <==
# cmd: /opt/conda/bin/conda install -n x 'numpy>=1.26,<2' conda-forge::pandas
# conda version: 24.11.3
+conda-forge/linux-64::pandas-2.2.2-py310_0
# update specs: ['numpy[version=\\'>=1.26,<2\\']', 'conda-forge::pandas']
# neutered specs: ['python=3.10.14']
"""

CONDA_43 = """\
==> 2017-08-30 09:00:00 <==
python-3.6.2-0
numpy-1.13.1-py36_0
==> 2017-09-01 09:00:00 <==
# cmd: /opt/anaconda/bin/conda install -c conda-forge param>=1.5.1,<2.0 jupyter
+conda-forge::param-1.5.1-py36_0
# install specs: param >=1.5.1,<2.0,jupyter >=1.0.0,<2.0
"""


def test_modern_history_requested_specs_apply_removals_and_neutering() -> None:
    history = parse_history(MODERN)
    assert [r.date for r in history.revisions] == [
        "2024-03-01 10:00:00",
        "2024-04-02 11:00:00",
        "2024-05-03 12:00:00",
    ]
    assert history.requested_specs() == {
        "python": "python=3.10.14",
        "numpy": "numpy[version='>=1.26,<2']",
        "pandas": "conda-forge::pandas",
    }
    assert [r.remove_specs for r in history.revisions] == [(), ("scipy",), ()]
    assert history.last_change == "2024-05-03 12:00:00"
    assert history.conda_versions == ("24.11.3",) * 3
    first = history.revisions[0]
    assert first.command == "/opt/conda/bin/conda create -n x python=3.10 numpy scipy"
    assert first.arguments[1:3] == ("create", "-n")
    assert "conda-forge/linux-64::scipy-1.12.0-py310_0" in first.added
    assert history.revisions[1].removed == ("conda-forge/linux-64::scipy-1.12.0-py310_0",)


def test_conda_43_comma_format_keeps_version_constraints_together() -> None:
    history = parse_history(CONDA_43)
    assert history.revisions[0].conda_version is None
    assert history.requested_specs() == {
        "param": "param >=1.5.1,<2.0",
        "jupyter": "jupyter >=1.0.0,<2.0",
    }


def test_lines_before_first_header_and_blank_lines_are_ignored() -> None:
    history = parse_history(
        "# stray\n+junk\n\n==> 2020-01-01 00:00:00 <==\n# update specs: ['a']\n"
    )
    assert len(history.revisions) == 1
    assert history.requested_specs() == {"a": "a"}


def test_missing_file_is_empty_history(tmp_path: Path) -> None:
    history = read_history(tmp_path / "nope")
    assert history.revisions == ()
    assert history.last_change is None


@pytest.mark.parametrize(
    ("spec", "name", "channel"),
    [
        ("numpy", "numpy", None),
        ("numpy=1.2", "numpy", None),
        ("numpy >=1.2,<2", "numpy", None),
        ("NumPy[version='>=1']", "numpy", None),
        ("conda-forge::numpy=1.2", "numpy", "conda-forge"),
        ("pkgs/main/linux-64::python 3.8.*", "python", "pkgs/main"),
        ("esri/win-64::arcpy==2.8=py37_arcgispro_29734", "arcpy", "esri"),
        ("defaults/noarch::appdirs==1.4.4=py_0", "appdirs", "defaults"),
        ("file:///srv/site channel/noarch::sitecfg", "sitecfg", "file:///srv/site channel"),
        ("conda-forge/label/dev::numpy", "numpy", "conda-forge/label/dev"),
        ("ruamel.yaml>=0.17", "ruamel.yaml", None),
    ],
)
def test_spec_name_and_channel(spec: str, name: str, channel: str | None) -> None:
    assert spec_name(spec) == name
    assert spec_channel(spec) == channel


# --- the command line, raw ---------------------------------------------------------------------


def _revision(command: str) -> Revision:
    return parse_history(f"==> 2024-01-01 00:00:00 <==\n# cmd: {command}\n").revisions[0]


def test_command_is_kept_raw_with_its_spaces() -> None:
    line = "/tmp/my root/bin/conda create -n x  python=3.12"
    assert _revision(line).command == line
    assert _revision(line).arguments[-3:] == ("-n", "x", "python=3.12")


def test_executable_under_a_path_with_spaces_is_found(tmp_path: Path) -> None:
    installation = tmp_path / "my root"
    sibling = tmp_path / "my"
    revision = _revision(f"{installation}/bin/conda create -p {tmp_path}/my/envs/x python")
    assert revision.invoked_from(installation)
    assert not revision.invoked_from(sibling)
    assert not revision.invoked_from(tmp_path / "elsewhere")


def test_executable_through_a_symlink_counts_for_its_target(tmp_path: Path) -> None:
    real = tmp_path / "v24.11"
    (real / "bin").mkdir(parents=True)
    (tmp_path / "current").symlink_to(real)
    revision = _revision(f"{tmp_path}/current/bin/conda install -n x numpy")
    assert revision.invoked_from(real)


@pytest.mark.parametrize(
    "command",
    [
        "",
        "conda create -n x",
        "C:\\Program Files\\ArcGIS\\Pro\\bin\\Python\\Scripts\\conda.exe create",
    ],
)
def test_commands_that_name_no_local_executable_claim_nothing(tmp_path: Path, command: str) -> None:
    assert not _revision(command).invoked_from(tmp_path)


def test_installation_with_a_space_claims_its_registered_envs(tmp_path: Path) -> None:
    installation = make_installation(tmp_path / "my root")
    outside = make_installation(tmp_path / "projects" / "mine")
    (outside / "conda-meta" / "history").write_text(
        f"==> 2024-01-01 00:00:00 <==\n# cmd: {installation}/bin/conda create -p {outside} python\n"
    )
    listing = tmp_path / "environments.txt"
    listing.write_text(f"{outside}\n")
    envs = read_installation(installation, registered=[listing]).envs
    assert [(e.name, e.found_in) for e in envs] == [("base", "base"), ("mine", "environments.txt")]
    sibling = make_installation(tmp_path / "my")
    assert read_installation(sibling, registered=[listing]).envs[1:] == ()


@pytest.mark.parametrize("make", ["directory", "loop"])
def test_history_that_cannot_be_read_names_the_file(tmp_path: Path, make: str) -> None:
    path = tmp_path / "history"
    if make == "directory":
        path.mkdir()
    else:
        path.symlink_to(path.name)
    with pytest.raises(SharedError, match=f"cannot read {path}"):
        read_history(path)


def test_non_utf8_history_is_read(tmp_path: Path) -> None:
    path = tmp_path / "history"
    path.write_bytes(
        b"==> 2019-01-01 00:00:00 <==\n"
        b"# cmd: C:\\Users\\Jos\xe9\\Miniconda3\\Scripts\\conda-script.py install numpy\n"
        b"# update specs: ['numpy']\n"
    )
    history = read_history(path)
    assert history.requested_specs() == {"numpy": "numpy"}
    assert history.revisions[0].arguments[-2:] == ("install", "numpy")


def test_conda_41_target_annotations_are_no_constraint() -> None:
    """conda 4.1 pinned the running python as `python 2.7* (target=python-2.7.12-1.tar.bz2)`."""
    history = parse_history(
        "==> 2016-08-07 00:19:53 <==\n"
        "# cmd: /opt/cloudera/parcels/Anaconda/bin/conda install ipython\n"
        "# install specs: ['ipython', u'python 2.7* (target=python-2.7.12-1.tar.bz2)', "
        "'conda >=4.1.11', 'x (optional)']\n"
    )
    assert history.requested_specs() == {
        "ipython": "ipython",
        "python": "python 2.7*",
        "conda": "conda >=4.1.11",
        "x": "x",
    }


def test_registered_env_whose_history_cannot_be_read_is_not_claimed(tmp_path: Path) -> None:
    installation = make_installation(tmp_path / "inst")
    outside = make_installation(tmp_path / "projects" / "locked")
    (outside / "conda-meta" / "history").unlink()
    (outside / "conda-meta" / "history").mkdir()  # EISDIR: unreadable even for root
    listing = tmp_path / "environments.txt"
    listing.write_text(f"{outside}\n")
    assert read_installation(installation, registered=[listing]).envs[1:] == ()
