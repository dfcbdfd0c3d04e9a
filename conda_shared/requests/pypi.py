"""A conda spec as the pip requirement an overlay could install for now, when one can stand in."""

from __future__ import annotations

import re

from ..history import spec_name

#: conda packages whose PyPI distribution has another name (the well-known ones)
PYPI_NAMES = {
    "pytorch": "torch",
    "py-opencv": "opencv-python",
    "matplotlib-base": "matplotlib",
    "msgpack-python": "msgpack",
    "pytables": "tables",
    "python-graphviz": "graphviz",
    "python-kaleido": "kaleido",
}
#: conda packages that are not Python distributions at all
_NOT_PYTHON = re.compile(r"^(python|pip|graphviz|r|r-.*|lib.*|.*-devel|cuda.*|openssl|gcc.*)$")
#: a Python package's build string: noarch (`py_0`, `pyhd8ed1ab_0`) or per Python (`py311h...`)
_PYTHON_BUILD = re.compile(r"^py(h|_|\d)")


def pip_requirement(spec: str, *, build: str | None) -> str | None:
    """`conda-forge::numpy>=1.26` -> `numpy>=1.26`, `numpy=1.26` -> `numpy==1.26.*`; None when
    the package is no Python distribution (`build` is the solved build string, when known: a
    Python package's starts with `py`)."""
    name = spec_name(spec)
    if _NOT_PYTHON.match(name):
        return None
    if build is not None and not _PYTHON_BUILD.match(build) and name not in PYPI_NAMES:
        return None
    pypi = PYPI_NAMES.get(name, name)
    body = spec.strip().rsplit("::", 1)[-1].split("[", 1)[0].strip()
    constraint = body[len(name) :].strip()
    if not constraint:
        return pypi
    if constraint.startswith(("==", ">", "<", "!", "~")):
        return pypi + constraint.split()[0]  # a build string after a space is conda's only
    number = constraint.lstrip("=").split("=")[0].split()[0]  # `=1.26=py311_0`, `1.26.* py_0`
    return f"{pypi}=={number}" if number.endswith("*") else f"{pypi}=={number}.*"
