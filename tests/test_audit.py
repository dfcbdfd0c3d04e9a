"""audit.py: entries carry what cutover needs, old lines stay readable, tail reads long ones."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from conda_shared import audit
from tests.support.users import NOBODY, OTHER, REPO, needs_root, reachable_dir, setpriv


def test_an_entry_records_who_what_from_to_and_whether_forced(tmp_path: Path) -> None:
    log = tmp_path / "log" / "shared.log"
    entry = audit.record(
        log,
        command="cutover qa",
        result="ok",
        action="cutover",
        source="v24.11",
        target="v26.7",
        forced=True,
    )
    written = json.loads(log.read_text())
    assert written == {
        "time": entry.time,
        "user": entry.user,
        "host": socket.gethostname(),
        "command": "cutover qa",
        "result": "ok",
        "action": "cutover",
        "from": "v24.11",
        "to": "v26.7",
        "forced": True,
    }
    assert audit.tail(log, 1) == (entry,)


def test_old_lines_and_junk_are_read_without_inventing_values(tmp_path: Path) -> None:
    log = tmp_path / "shared.log"
    old = {"time": "2025-01-01T00:00:00Z", "user": "ann", "host": "h", "command": "x"}
    log.write_text(f"{json.dumps(old)}\nnot json\n[1, 2]\n")
    (entry,) = audit.tail(log, 5)
    assert entry.command == "x"
    assert entry.result == ""  # missing, not the text "None"
    assert entry.action is None and entry.source is None and entry.forced is None


def test_tail_reads_entries_longer_than_its_block(tmp_path: Path) -> None:
    log = tmp_path / "shared.log"
    for number in range(5):
        audit.record(log, command=f"export {number} " + "e" * 20_000, result="ok")
    entries = audit.tail(log, 3)
    assert [e.command.split()[1] for e in entries] == ["2", "3", "4"]


RECORD_ONE = (
    "import sys; from pathlib import Path; from conda_shared import audit; "
    "audit.record(Path(sys.argv[1]), command='qa set v26.7', result='ok', action='qa-set')"
)


@needs_root
@pytest.mark.parametrize(
    ("uid", "user", "claimed"),
    [(0, "root", "alice"), (NOBODY, "nobody", None), (OTHER, str(OTHER), None)],
)
def test_the_user_is_the_real_uid_and_sudo_user_only_a_claim_by_root(
    uid: int, user: str, claimed: str | None
) -> None:
    with reachable_dir() as folder:
        folder.chmod(0o777)
        log = folder / "shared.log"
        lying = {"LOGNAME": "somebody-else", "USER": "somebody-else", "SUDO_USER": "alice"}
        run = subprocess.run(
            [*setpriv(uid), sys.executable, "-c", RECORD_ONE, str(log)],
            env={"PATH": os.environ["PATH"], "PYTHONPATH": str(REPO), **lying},
            capture_output=True,
            text=True,
            check=False,
        )
        assert run.returncode == 0, run.stderr
        written = json.loads(log.read_text())
        (entry,) = audit.tail(log, 1)
    assert written["user"] == user
    assert written.get("claimed_sudo_user") == claimed
    assert ("claimed_sudo_user" in written) is (claimed is not None)
    assert (entry.user, entry.claimed_sudo_user) == (user, claimed)
    assert entry.who == (user if claimed is None else "root (SUDO_USER=alice, claimed)")
