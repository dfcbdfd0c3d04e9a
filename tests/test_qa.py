"""The qa pointer: set to an installation folder of the root, cleared, logged."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from conda_shared.errors import InputError
from conda_shared.qa import clear_qa, set_qa
from tests.roots import make_installation, run_cli
from tests.support.ready_root import ready_root

Capsys = pytest.CaptureFixture[str]


def test_set_and_clear_qa_are_relative_and_logged(tmp_path: Path) -> None:
    root = ready_root(tmp_path)
    make_installation(root / "v26.9")
    changed = set_qa(root=root, installation="v26.9")
    assert (changed.before, changed.after) == ("v26.7", "v26.9")
    assert os.readlink(root / "qa") == "v26.9"
    cleared = clear_qa(root=root)
    assert (cleared.before, cleared.after) == ("v26.9", None)
    assert not (root / "qa").is_symlink()
    log = [json.loads(line) for line in (root / "log" / "shared.log").read_text().splitlines()]
    assert [(e["action"], e["from"], e["to"]) for e in log] == [
        ("qa-set", "v26.7", "v26.9"),
        ("qa-clear", "v26.9", None),
    ]


@pytest.mark.parametrize(
    ("which", "message"),
    [
        ("v24.11", "v24.11 is already the current installation"),
        ("notconda", "is not a conda installation"),
        ("/usr", "qa set /usr: not an installation folder of the shared root"),
        ("missing", "no installation 'missing'"),
    ],
)
def test_qa_set_refuses_what_cannot_be_tested(tmp_path: Path, which: str, message: str) -> None:
    root = ready_root(tmp_path)
    (root / "notconda").mkdir()
    with pytest.raises(InputError, match=message):
        set_qa(root=root, installation=which)
    assert os.readlink(root / "qa") == "v26.7"


def test_cli_qa(tmp_path: Path, capsys: Capsys) -> None:
    root = ready_root(tmp_path)
    cleared = run_cli(capsys, "qa", "clear", "--root", str(root))
    assert cleared.out.splitlines()[0] == "qa cleared (was v26.7)"
    made = run_cli(capsys, "qa", "set", "v26.7", "--root", str(root))
    assert made.out.splitlines()[0] == "qa -> v26.7"
    missing = run_cli(capsys, "qa", "set", "--root", str(root))
    assert missing.code == 2 and "qa set needs the installation" in missing.err
