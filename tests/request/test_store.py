"""The inbox and answers on disk: who filed a request, what is set aside, nothing half-written."""

from __future__ import annotations

import json
import os
import resource
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from conda_shared.errors import InputError
from conda_shared.requests import store
from tests.support.users import NOBODY, OTHER, REPO, needs_root, reachable_dir, setpriv

_FILE = (
    "import json, sys\n"
    "from pathlib import Path\n"
    "from conda_shared.requests import store\n"
    "print(store.write_request(Path(sys.argv[1]), json.loads(sys.argv[2])))\n"
)


@pytest.fixture
def root() -> Iterator[Path]:
    """A root with request folders as `init` makes them, in a folder every user can enter."""
    with reachable_dir() as base:
        store.ensure_folders(base, admin_gid=0)
        yield base


def file_as(
    uid: int, root: Path, document: object, *, environ: dict[str, str] | None = None, **run: object
) -> subprocess.CompletedProcess[str]:
    """Call store.write_request as `uid` in a child (optionally with limits set by `run`)."""
    return subprocess.run(
        [*setpriv(uid), sys.executable, "-c", _FILE, str(root), json.dumps(document)],
        capture_output=True,
        text=True,
        env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(REPO), **(environ or {})},
        cwd="/",
        check=False,
        **run,  # type: ignore[arg-type]
    )


def test_ids_are_random_and_never_look_like_an_option() -> None:
    ids = {store.new_request_id() for _ in range(200)}
    assert len(ids) == 200
    assert all(store.is_request_id(i) and not i.startswith("-") for i in ids)
    for bad in ("../answers/x", "-" + "a" * 21, "a" * 21, "a" * 22 + "/"):
        assert not store.is_request_id(bad)
        with pytest.raises(InputError):
            store.checked_id(bad)


@needs_root
def test_folders_get_their_modes_and_doctor_sees_them_changed(root: Path) -> None:
    inbox, answers = store.inbox_dir(root), store.answers_dir(root)
    assert stat.S_IMODE(inbox.stat().st_mode) == 0o3733
    assert stat.S_IMODE(answers.stat().st_mode) == 0o711
    assert list(store.folder_problems(root, admin_gid=0)) == []
    inbox.chmod(0o1777)  # listable by everyone
    os.chown(answers, 0, OTHER)
    problems = list(store.folder_problems(root, admin_gid=0))
    assert len(problems) == 2 and "1777" in problems[0] and f"0:{OTHER}" in problems[1]
    changed = dict(store.ensure_folders(root, admin_gid=0))  # init puts them right
    assert changed == {
        "requests/ 0755": False,
        "requests/inbox/ 3733": True,
        "requests/answers/ 0711": True,
    }
    assert list(store.folder_problems(root, admin_gid=0)) == []


@needs_root
def test_the_requester_is_the_file_owner_whatever_the_environment_or_fields_say(
    root: Path,
) -> None:
    spoofed = {"LOGNAME": "root", "USER": "root", "SUDO_USER": "root"}
    filed = file_as(NOBODY, root, {"env": "ds", "add": ["x"], "uid": 0}, environ=spoofed)
    assert filed.returncode == 0, filed.stderr
    request_id = filed.stdout.strip()
    info = os.lstat(store.inbox_dir(root) / request_id)
    assert (info.st_uid, info.st_gid, stat.S_IMODE(info.st_mode)) == (NOBODY, 0, 0o640)
    requests, aside = store.read_inbox(root)
    assert [(r.id, r.uid) for r in requests] == [(request_id, NOBODY)] and aside == ()


@needs_root
def test_nobody_else_lists_reads_or_removes_a_request(root: Path) -> None:
    request_id = file_as(NOBODY, root, {"env": "ds", "add": ["x"]}).stdout.strip()
    path = store.inbox_dir(root) / request_id
    inbox, answers = str(store.inbox_dir(root)), str(store.answers_dir(root))
    for argv in (["ls", inbox], ["cat", str(path)], ["rm", "-f", str(path)], ["ls", answers]):
        assert as_user(OTHER, *argv) != 0, argv
    assert path.exists()
    # its owner cannot list the inbox either, but reads and removes its own by id
    assert as_user(NOBODY, "ls", inbox) != 0
    assert as_user(NOBODY, "cat", str(path)) == 0
    assert as_user(NOBODY, "rm", str(path)) == 0
    assert not path.exists()


def as_user(uid: int, *argv: str) -> int:
    return subprocess.run([*setpriv(uid), *argv], capture_output=True, check=False).returncode


@needs_root
def test_planted_links_and_odd_entries_are_set_aside_never_followed(root: Path) -> None:
    inbox = store.inbox_dir(root)
    secret = root / "secret.json"
    secret.write_text(json.dumps({"env": "ds", "add": ["x"]}))
    kept = file_as(NOBODY, root, {"env": "ds", "add": ["ok"]}).stdout.strip()
    names = {
        "symlink": store.new_request_id(),
        "hardlink": store.new_request_id(),
        "fifo": store.new_request_id(),
        "large": store.new_request_id(),
        "json": store.new_request_id(),
    }
    os.symlink(secret, inbox / names["symlink"])
    os.link(inbox / kept, inbox / names["hardlink"])  # now both have two links
    os.mkfifo(inbox / names["fifo"])  # opening it for reading must not hang
    (inbox / names["large"]).write_text(" " * (store.MAX_REQUEST_BYTES + 1) + "{}")
    (inbox / names["json"]).write_text("{not json")
    (inbox / "not-an-id").write_text("{}")
    requests, aside = store.read_inbox(root)
    assert requests == ()
    reasons = {a.name: a.reason for a in aside}
    assert "not a regular file" in reasons[names["symlink"]]
    assert "hard link" in reasons[names["hardlink"]] and "hard link" in reasons[kept]
    assert "not a regular file" in reasons[names["fifo"]]
    assert "bytes" in reasons[names["large"]]
    assert reasons[names["json"]] == "not valid JSON"
    assert "not a request id" in reasons["not-an-id"]
    os.unlink(inbox / names["hardlink"])
    assert [r.id for r in store.read_inbox(root)[0]] == [kept]


@needs_root
def test_a_full_disk_leaves_nothing_half_written(root: Path) -> None:
    def small_files() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (200, 200))

    document = {"env": "ds", "add": ["x"], "reason": "r" * 1000}
    failed = file_as(NOBODY, root, document, preexec_fn=small_files)
    assert failed.returncode != 0 and "File too large" in failed.stderr
    assert os.listdir(store.inbox_dir(root)) == []


def test_a_request_larger_than_the_bound_is_refused_before_anything_is_written(
    tmp_path: Path,
) -> None:
    store.inbox_dir(tmp_path).mkdir(parents=True)
    with pytest.raises(InputError, match="more than the 8192"):
        store.write_request(tmp_path, {"reason": "r" * store.MAX_REQUEST_BYTES})
    assert os.listdir(store.inbox_dir(tmp_path)) == []


@needs_root
def test_only_answers_root_wrote_count(root: Path) -> None:
    request_id = store.new_request_id()
    store.write_answer(root, request_id, {"state": "approved", "release": "2026.12.07a"})
    assert store.read_answer(root, request_id) == {"state": "approved", "release": "2026.12.07a"}
    planted = store.new_request_id()
    (store.answers_dir(root) / planted).write_text('{"state": "approved"}')
    os.chown(store.answers_dir(root) / planted, NOBODY, NOBODY)
    assert store.read_answer(root, planted) is None
    assert store.read_answer(root, store.new_request_id()) is None
