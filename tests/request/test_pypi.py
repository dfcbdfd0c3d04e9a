"""Which conda specs an overlay (pip) can stand in for, and the requirement it installs."""

from __future__ import annotations

import pytest

from conda_shared.requests.pypi import pip_requirement


@pytest.mark.parametrize(
    ("spec", "build", "expected"),
    [
        ("scipy", "py311h64a7726_0", "scipy"),
        ("conda-forge::tidy-util>=1.2", "pyhd8ed1ab_0", "tidy-util>=1.2"),
        ("numpy=1.26", "py312h1_0", "numpy==1.26.*"),
        ("numpy=1.26=py312h1_0", "py312h1_0", "numpy==1.26.*"),
        ("numpy 1.26.*", None, "numpy==1.26.*"),
        ("numpy==1.26.4", None, "numpy==1.26.4"),
        ("pytorch>=2", "cpu_generic_py312h_0", "torch>=2"),
        ("matplotlib-base", "py312h_0", "matplotlib"),
        ("libcurl", None, None),
        ("r-ggplot2", "r43hc72bb7e_0", None),
        ("python=3.12", "h1_0", None),
        ("libdata", "0", None),  # solved, and its build is no Python package's
    ],
)
def test_pip_requirement(spec: str, build: str | None, expected: str | None) -> None:
    assert pip_requirement(spec, build=build) == expected
