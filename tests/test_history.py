"""history.py: conda-meta/history of every era, and the user's requested specs."""

from __future__ import annotations

from pathlib import Path

import pytest

from conda_shared.history import parse_history, read_history, spec_channel, spec_name

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
    assert [r.remove_specs for r in history.revisions if r.remove_specs] == [("scipy",)]
    assert history.last_change == "2024-05-03 12:00:00"
    assert history.conda_versions == ("24.11.3",) * 3
    first = history.revisions[0]
    assert first.command[1:3] == ("create", "-n")
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
        ("pkgs/main/linux-64::python 3.8.*", "python", "pkgs/main/linux-64"),
        ("ruamel.yaml>=0.17", "ruamel.yaml", None),
    ],
)
def test_spec_name_and_channel(spec: str, name: str, channel: str | None) -> None:
    assert spec_name(spec) == name
    assert spec_channel(spec) == channel
