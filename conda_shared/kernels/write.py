"""A kernelspec written for every user's Jupyter: built aside, revealed in one rename."""

from __future__ import annotations

import json
from pathlib import Path

from .. import fs


def write_kernel(folder: Path, display_name: str, python: Path) -> None:
    """A kernelspec running `python`, built aside and revealed in one rename."""
    spec = {
        "argv": [
            str(python),
            "-m",
            "ipykernel_launcher",
            "-f",
            "{connection_file}",
        ],
        "display_name": display_name,
        "language": "python",
        "metadata": {"debugger": True},
    }
    built = fs.private_dir_beside(folder)
    try:
        fs.write_file(built / "kernel.json", json.dumps(spec, indent=1) + "\n")
        fs.publish_dir(built, folder, mode=0o755)  # every user's Jupyter reads it
    except BaseException:
        fs.remove_tree(built)
        raise
