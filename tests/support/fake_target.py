"""A target installation whose `bin/python` is the fake conda, for tier-1 replicate runs."""

from __future__ import annotations

import sys
from pathlib import Path

from tests.roots import make_installation, write_record

FAKE_CONDA = Path(__file__).resolve().parent.parent / "replicate" / "fake_conda.py"
REPOSITORY = Path(__file__).resolve().parents[2]


def add_fake_target(root: Path, name: str = "vfake") -> Path:
    """ROOT/NAME with conda-shared in its base; `python -m conda` is tests/replicate/fake_conda."""
    target = make_installation(root / name)
    write_record(target, {"name": "conda-shared", "version": "0.1.0", "build": "0"})
    python = target / "bin" / "python"
    python.parent.mkdir()
    script = FAKE_CONDA.read_text().replace("@REAL_PYTHON@", sys.executable)
    python.write_text(f"#!{sys.executable}\n" + script.replace("@REPOSITORY@", str(REPOSITORY)))
    python.chmod(0o755)
    return target
