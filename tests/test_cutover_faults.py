"""Cutover under stress: readers during 10,000 switches, racing cutovers, SIGKILL between writes,
and a root the user cannot write."""

from __future__ import annotations

import json
import os
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

import conda_shared
from conda_shared.cutover import cutover
from conda_shared.cutover.switch import apply
from conda_shared.errors import SharedError
from conda_shared.qa import set_qa
from conda_shared.status import shared_status
from tests.roots import paste, printed_commands, run_cli
from tests.support.ready_root import add_installation, ready_root, write_report

SOURCE_TREE = str(Path(conda_shared.__file__).parent.parent)

READER = r"""
import os, sys
root, stop = sys.argv[1], sys.argv[2]
link = os.path.join(root, "current")
path = os.path.join(link, "bin", "python")
ok = failed = changes = 0
last = None
while not os.path.exists(stop):
    try:
        os.stat(path)
        seen = os.readlink(link)
        open(path, "rb").close()
    except OSError:
        failed += 1
        continue
    ok += 1
    changes += seen != last
    last = seen
print(ok, failed, changes)
"""

KILLED_AT = r"""
import os, signal, sys
from pathlib import Path
from conda_shared.cutover import cutover
root, action, at = Path(sys.argv[1]), sys.argv[2], int(sys.argv[3])
steps = []
def progress(step):
    steps.append(step)
    if len(steps) == at:
        os.kill(os.getpid(), signal.SIGKILL)
cutover(root=root, rollback=action == "rollback", progress=progress)
"""


def child_env(**extra: str) -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": SOURCE_TREE, **extra}


def pointer_state(root: Path) -> dict[str, str | None]:
    names = ("current", "previous", "qa")
    return {n: os.readlink(root / n) if (root / n).is_symlink() else None for n in names}


@pytest.mark.slow
def test_readers_never_miss_current_during_10000_switches(tmp_path: Path) -> None:
    root = ready_root(tmp_path)
    v24, v26 = root / "v24.11", root / "v26.7"
    stop = tmp_path / "stop"
    readers = [
        subprocess.Popen(
            [sys.executable, "-c", READER, str(root), str(stop)], stdout=subprocess.PIPE, text=True
        )
        for _ in range(2)
    ]
    time.sleep(0.3)  # both readers are in their loop
    forward = (("previous", v24), ("current", v26))
    back = (("current", v24), ("previous", v26))
    for index in range(10_000):
        apply(root, back if index % 2 else forward, lambda _: None)
    stop.touch()
    counts = [tuple(map(int, reader.communicate(timeout=60)[0].split())) for reader in readers]
    for ok, failed, changes in counts:
        assert failed == 0
        assert ok > 0 and changes > 1, "the reader ran while the pointers switched"
    assert pointer_state(root)["current"] == "v24.11"


@pytest.mark.slow
def test_of_concurrent_cutovers_exactly_one_wins(tmp_path: Path) -> None:
    root = ready_root(tmp_path)
    command = [sys.executable, "-m", "conda_shared", "cutover", "--root", str(root), "--yes"]
    slow_preflight = child_env(TEST_SLOW_CONDA_SECONDS="2")
    runs = [
        subprocess.Popen(
            command, env=slow_preflight, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        for _ in range(4)
    ]
    outcomes = [(run.wait(timeout=60), *run.communicate()) for run in runs]
    winners = [out for code, out, _ in outcomes if code == 0]
    losers = [err for code, _, err in outcomes if code != 0]
    assert len(winners) == 1 and "switched: current -> v26.7" in winners[0]
    assert len(losers) == 3
    for err in losers:
        (line,) = err.strip().splitlines()
        assert line.startswith(f"conda-shared: error: another cutover is running in {root} (pid ")
    assert pointer_state(root) == {"current": "v26.7", "previous": "v24.11", "qa": None}
    log = (root / "log" / "shared.log").read_text().splitlines()
    assert [json.loads(line)["result"] for line in log] == ["ok"]


def kill_at(root: Path, action: str, step: int) -> None:
    killed = subprocess.run(
        [sys.executable, "-c", KILLED_AT, str(root), action, str(step)],
        env=child_env(),
        capture_output=True,
        text=True,
        check=False,
    )
    assert killed.returncode == -9, killed.stderr


def assert_consistent(root: Path) -> None:
    """`current` always leads to a working installation; `previous` to one of the two."""
    assert (root / "current" / "bin" / "conda").exists()
    assert (root / "current" / "envs" / "kern" / "bin" / "python").exists()
    assert pointer_state(root)["previous"] in (None, "v24.11", "v26.7")


ORIGINAL = {"current": "v24.11", "previous": None, "qa": "v26.7"}
SWITCHED = {"current": "v26.7", "previous": "v24.11", "qa": None}


@pytest.mark.slow
@pytest.mark.parametrize("step", [1, 2, 3])
@pytest.mark.parametrize(("rerun", "expected"), [("cutover", SWITCHED), ("rollback", ORIGINAL)])
def test_a_cutover_killed_between_pointer_writes_is_finished_or_undone(
    tmp_path: Path, step: int, rerun: str, expected: dict[str, str | None]
) -> None:
    root = ready_root(tmp_path)
    kill_at(root, "cutover", step)
    assert_consistent(root)
    (problem,) = shared_status(root=root).problems
    assert "a cutover from v24.11 to v26.7" in problem and "stopped half-way" in problem
    result = cutover(root=root, rollback=rerun == "rollback")
    assert result.switched
    assert [c.name for c in result.preflight] == ["interrupted"]
    assert pointer_state(root) == expected
    assert shared_status(root=root).problems == ()
    assert json.loads((root / "log" / "shared.log").read_text().splitlines()[-1])["result"] == "ok"


@pytest.mark.slow
def test_a_rollback_killed_half_way_is_finished_by_rerunning_it(tmp_path: Path) -> None:
    root = ready_root(tmp_path)
    cutover(root=root)
    kill_at(root, "rollback", 1)
    assert_consistent(root)
    assert pointer_state(root) == {"current": "v24.11", "previous": "v24.11", "qa": None}
    assert (
        "run `conda shared cutover --rollback` to finish it" in shared_status(root=root).problems[0]
    )
    cutover(rollback=True, root=root)
    assert pointer_state(root) == {"current": "v24.11", "previous": "v26.7", "qa": None}


@pytest.fixture
def world_readable_dir() -> Iterator[Path]:
    """A directory the unprivileged user (nobody) can reach; pytest's tmp_path is 0700."""
    path = Path(tempfile.mkdtemp(prefix="conda-shared-ro-"))
    path.chmod(0o755)
    yield path
    shutil.rmtree(path)


def as_nobody(*args: str) -> subprocess.CompletedProcess[str]:
    prefix = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"]
    return subprocess.run(
        [*prefix, sys.executable, "-m", "conda_shared", *args],
        env=child_env(HOME="/tmp"),
        capture_output=True,
        text=True,
        check=False,
    )


@pytest.mark.skipif(
    os.geteuid() != 0 or not shutil.which("setpriv"),
    reason="switches to nobody with setpriv, as root (tests/test_cutover.py covers other users)",
)
def test_a_root_the_user_cannot_write_is_a_clean_error_and_nothing_changes(
    world_readable_dir: Path,
) -> None:
    root = ready_root(world_readable_dir)
    before = pointer_state(root)
    refused = as_nobody("cutover", "--root", str(root), "--yes")
    assert refused.returncode != 0
    (line,) = refused.stderr.strip().splitlines()
    assert f"cannot create the lock file {root}/log/cutover.lock: Permission denied" in line
    (root / "log").chmod(0o777)  # the lock can be taken; the pointers still cannot be written
    preflight = as_nobody("cutover", "--root", str(root), "--yes")
    assert preflight.returncode == 1
    assert "FAIL  writable      " in preflight.stdout
    forced = as_nobody("cutover", "--root", str(root), "--yes", "--force")
    (line,) = forced.stderr.strip().splitlines()
    assert line.startswith(f"conda-shared: error: cannot change the pointers in {root}: Permission")
    assert pointer_state(root) == before
    assert not (root / "log" / "cutover.pending.json").exists()


ROLLED_BACK = {"current": "v24.11", "previous": "v26.7", "qa": None}


@pytest.mark.slow
@pytest.mark.parametrize(
    ("killed", "pasted", "expected"),
    [
        ("cutover", 0, SWITCHED),
        ("cutover", 1, ORIGINAL),
        ("rollback", 0, ROLLED_BACK),
        ("rollback", 1, SWITCHED),
    ],
)
def test_an_interrupted_switch_is_finished_or_undone_never_repurposed(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    *,
    killed: str,
    pasted: int,
    expected: dict[str, str | None],
) -> None:
    root = ready_root(tmp_path)
    add_installation(root / "v27.1", "27.1.0", ("kern", "plain"))
    if killed == "rollback":
        cutover(root=root)
    kill_at(root, killed, 1)
    half_way = pointer_state(root)
    with pytest.raises(SharedError, match="stopped half-way; until it is finished or undone"):
        set_qa(root=root, installation="v27.1")
    refused = run_cli(capsys, "cutover", "--root", str(root), "--to", "v27.1", "--yes")
    assert refused.code == 1
    (line,) = refused.err.strip().splitlines()
    assert pointer_state(root) == half_way, "neither finished nor undone by another target"
    here = f"conda-shared cutover --root {shlex.quote(str(root))}"
    finish, undo = (f"{here} --to v26.7", f"{here} --rollback")
    if killed == "rollback":
        finish, undo = undo, finish
    assert printed_commands(line) == [finish, undo]
    done = paste(capsys, monkeypatch, (finish, undo)[pasted])
    assert done.code == 0, done.err
    assert pointer_state(root) == expected
    assert shared_status(root=root).problems == ()


@pytest.mark.slow
def test_undoing_an_interrupted_cutover_keeps_the_rollback_of_the_one_before(
    tmp_path: Path,
) -> None:
    root = ready_root(tmp_path)
    add_installation(root / "v27.1", "27.1.0", ("kern", "plain"))
    cutover(root=root)
    set_qa(root=root, installation="v27.1")
    write_report(
        root, root / "v27.1", {"kern": ("replicated", True), "plain": ("replicated", True)}
    )
    kill_at(root, "cutover", 1)
    assert cutover(root=root, rollback=True).switched  # undoes the cutover to v27.1
    assert pointer_state(root) == {"current": "v26.7", "previous": "v24.11", "qa": "v27.1"}
    assert cutover(root=root, rollback=True).switched  # rolls back the cutover to v26.7
    assert pointer_state(root) == {"current": "v24.11", "previous": "v26.7", "qa": "v27.1"}
