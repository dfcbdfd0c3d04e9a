"""conda_shared.fs: atomic writes and pointer swaps survive crashes; locks exclude; bounds hold."""

from __future__ import annotations

import errno
import fcntl
import os
import shlex
import socket
import stat
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from conda_shared import fs
from conda_shared.errors import SharedError
from tests.support.users import NOBODY, REPO, needs_root, reachable_dir, setpriv


def leftovers(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir() if "conda-shared-tmp" in p.name)


def test_atomic_write_replaces_content_and_keeps_mode(tmp_path: Path) -> None:
    target = tmp_path / "spec.yml"
    target.write_text("old\n")
    target.chmod(0o640)
    fs.atomic_write(target, "new\n")
    assert target.read_text() == "new\n"
    assert target.stat().st_mode & 0o777 == 0o640
    assert leftovers(tmp_path) == []


def test_atomic_write_new_file_respects_umask(tmp_path: Path) -> None:
    old = os.umask(0o027)
    try:
        fs.atomic_write(tmp_path / "f", b"x")
    finally:
        os.umask(old)
    assert (tmp_path / "f").stat().st_mode & 0o777 == 0o640


def test_failure_between_write_and_replace_keeps_old_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "NAME.lock"
    target.write_text("complete old content\n")

    def crash(*_args: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", crash)
    with pytest.raises(OSError, match="No space"):
        fs.atomic_write(target, "half of the new")
    assert target.read_text() == "complete old content\n"
    assert leftovers(tmp_path) == []


def test_process_killed_between_write_and_replace_leaves_no_partial_target(
    tmp_path: Path,
) -> None:
    target = tmp_path / "NAME.json"
    target.write_text('{"old": true}\n')
    child = textwrap.dedent(
        f"""
        import os
        from pathlib import Path
        from conda_shared import fs
        os.replace = lambda *a: os._exit(9)   # die exactly between the two steps
        fs.atomic_write(Path({str(target)!r}), '{{"new": ' + 'x' * 100000)
        """
    )
    result = subprocess.run([sys.executable, "-c", child], check=False)
    assert result.returncode == 9
    assert target.read_text() == '{"old": true}\n'
    # the temp file of a killed writer is a dot-file no reader's glob ever matches
    assert all(name.startswith(".") for name in leftovers(tmp_path))
    assert sorted(tmp_path.glob("*.json")) == [target]


def test_atomic_symlink_swaps_pointer(tmp_path: Path) -> None:
    (tmp_path / "v1").mkdir()
    (tmp_path / "v2").mkdir()
    pointer = tmp_path / "current"
    fs.atomic_symlink(pointer, "v1")
    fs.atomic_symlink(pointer, "v2")
    assert os.readlink(pointer) == "v2"
    assert leftovers(tmp_path) == []


def test_atomic_symlink_failure_keeps_old_pointer(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pointer = tmp_path / "current"
    pointer.symlink_to("v1")
    monkeypatch.setattr(os, "replace", lambda *a: (_ for _ in ()).throw(OSError(5, "EIO")))
    with pytest.raises(OSError):
        fs.atomic_symlink(pointer, "v2")
    assert os.readlink(pointer) == "v1"
    assert leftovers(tmp_path) == []


def test_atomic_symlink_refuses_to_replace_real_directory(tmp_path: Path) -> None:
    (tmp_path / "current").mkdir()
    with pytest.raises(SharedError, match="real directory, not a pointer"):
        fs.atomic_symlink(tmp_path / "current", "v2")
    assert (tmp_path / "current").is_dir()


def test_exclusive_lock_excludes_another_process(tmp_path: Path) -> None:
    lock = tmp_path / "log" / ".shared.lock"
    probe = textwrap.dedent(
        f"""
        from pathlib import Path
        from conda_shared import fs
        from conda_shared.errors import SharedError
        try:
            with fs.exclusive_lock(Path({str(lock)!r})):
                print("acquired")
        except SharedError as error:
            print("refused:", error)
        """
    )
    with fs.exclusive_lock(lock):
        held = subprocess.run(
            [sys.executable, "-c", probe], capture_output=True, text=True, check=False
        )
    assert held.stdout.startswith("refused:")
    assert f"pid {os.getpid()}" in held.stdout
    assert "Wait for that command to finish" in held.stdout
    free = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=False
    )
    assert free.stdout.strip() == "acquired"


def test_ensure_within_accepts_inside_and_refuses_escapes(tmp_path: Path) -> None:
    root = tmp_path / "root"
    (root / "specs").mkdir(parents=True)
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    (root / "sneaky").symlink_to(outside)
    assert fs.ensure_within(root, root / "specs" / "v1") == (root / "specs" / "v1").resolve()
    with pytest.raises(SharedError, match="outside the shared root"):
        fs.ensure_within(root, root / ".." / "elsewhere")
    with pytest.raises(SharedError, match="outside the shared root"):
        fs.ensure_within(root, root / "sneaky" / "file")


#: Appends `count` entries of 64 KiB (far past the 4 KiB where pipes stop being atomic) with the
#: writer named in argv[2]: fs.append_line, or a naive one that writes each entry in pieces.
_APPENDER = """
import os, sys, time
from pathlib import Path
from conda_shared import fs

def naive(path, line):
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    data = (line + "\\n").encode()
    for start in range(0, len(data), 4096):
        os.write(fd, data[start:start + 4096])
        time.sleep(0)
    os.close(fd)

log, writer, letter = Path(sys.argv[1]), sys.argv[2], sys.argv[3]
write = fs.append_line if writer == "fs" else naive
go = log.with_name("go")
log.with_name(f"ready-{letter}").touch()
while not go.exists():  # start together, or the first process is done before the last starts
    time.sleep(0.001)
for i in range(20):
    write(log, letter * 262144 + str(i))
"""


def _append_concurrently(log: Path, writer: str) -> list[str]:
    log.parent.mkdir(exist_ok=True)
    procs = [
        subprocess.Popen([sys.executable, "-c", _APPENDER, str(log), writer, letter])
        for letter in "abcdef"
    ]
    while len(list(log.parent.glob("ready-*"))) < len(procs):
        time.sleep(0.01)
    (log.parent / "go").touch()
    assert all(p.wait() == 0 for p in procs)
    return log.read_text().splitlines()


def _whole(lines: list[str]) -> bool:
    return len(lines) == 120 and all(len(set(line.rstrip("0123456789"))) == 1 for line in lines)


def test_large_entries_from_many_processes_never_interleave(tmp_path: Path) -> None:
    # The harness catches interleaving: a writer that writes in pieces is caught by it.
    assert not _whole(_append_concurrently(tmp_path / "naive" / "naive.log", "naive"))
    assert _whole(_append_concurrently(tmp_path / "log" / "shared.log", "fs"))


def test_append_takes_the_lock_that_nfs_needs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    taken: list[int] = []
    real_lockf = fcntl.lockf

    def lockf(fd: int, operation: int, *args: int) -> None:
        taken.append(operation)
        real_lockf(fd, operation, *args)

    monkeypatch.setattr(fcntl, "lockf", lockf)
    fs.append_line(tmp_path / "shared.log", "entry")
    assert taken == [fcntl.LOCK_EX]
    assert (tmp_path / "shared.log").read_text() == "entry\n"


def _no_posix_locks(monkeypatch: pytest.MonkeyPatch) -> None:
    def lockf(fd: int, operation: int, *args: int) -> None:
        raise OSError(errno.ENOLCK, "No locks available")

    monkeypatch.setattr(fcntl, "lockf", lockf)


def test_without_posix_locks_a_lock_file_excludes_and_is_removed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _no_posix_locks(monkeypatch)
    lock = tmp_path / ".inventory.ini.lock"
    with fs.exclusive_lock(lock):
        assert f"pid {os.getpid()}" in (tmp_path / ".inventory.ini.lock.held").read_text()
        with (
            pytest.raises(SharedError, match="held by another conda-shared command"),
            fs.exclusive_lock(lock),
        ):
            pass
    assert not (tmp_path / ".inventory.ini.lock.held").exists()
    fs.append_line(tmp_path / "shared.log", "still appended without locks")
    assert (tmp_path / "shared.log").read_text() == "still appended without locks\n"


def test_a_lock_file_left_by_a_dead_process_is_taken_over(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _no_posix_locks(monkeypatch)
    dead = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    held = tmp_path / ".x.lock.held"
    held.write_text(f"pid {dead}, user someone, host {socket.gethostname()}\n")
    with fs.exclusive_lock(tmp_path / ".x.lock"):
        assert f"pid {os.getpid()}" in held.read_text()
    other_host = f"pid {dead}, user someone, host elsewhere.example\n"
    held.write_text(other_host)  # another machine's process: never stolen
    with (
        pytest.raises(SharedError, match=r"elsewhere\.example"),
        fs.exclusive_lock(tmp_path / ".x.lock"),
    ):
        pass
    assert held.read_text() == other_host


def test_is_within_resolves_both_sides(tmp_path: Path) -> None:
    real = tmp_path / "real"
    (real / "specs").mkdir(parents=True)
    (tmp_path / "alias").symlink_to(real)
    (real / "out").symlink_to(tmp_path)
    assert fs.is_within(tmp_path / "alias", real / "specs" / "new")
    assert fs.is_within(real, tmp_path / "alias" / "specs")
    assert not fs.is_within(real, real / "out" / "x")
    assert not fs.is_within(real, tmp_path / "realistic")  # a prefix of the name is not inside


def _checked(path: Path) -> tuple[int, int]:
    info = path.lstat()
    return (info.st_dev, info.st_ino)


def test_remove_write_by_others_changes_the_checked_directory(tmp_path: Path) -> None:
    target = tmp_path / "bin"
    target.mkdir(mode=0o777)
    target.chmod(0o777)
    assert fs.remove_write_by_others(target, identity=_checked(target)) == 0o755
    assert stat.S_IMODE(target.stat().st_mode) == 0o755


@pytest.mark.parametrize("swap", ["symlink", "other directory"])
def test_remove_write_by_others_never_follows_a_swap(tmp_path: Path, swap: str) -> None:
    target = tmp_path / "env" / "bin"
    target.mkdir(parents=True)
    target.chmod(0o777)
    identity = _checked(target)
    victim = tmp_path / "victim"
    victim.mkdir()
    victim.chmod(0o777)
    target.rmdir()  # between check and fix, someone puts something else there
    if swap == "symlink":
        target.symlink_to(victim)
    else:
        victim.rename(target)
    with pytest.raises(SharedError, match="not changed"):
        fs.remove_write_by_others(target, identity=identity)
    changed = victim if swap == "symlink" else target
    assert stat.S_IMODE(changed.stat().st_mode) == 0o777


def test_a_build_folder_is_private_until_published_with_the_intended_mode(
    tmp_path: Path,
) -> None:
    mask = os.umask(0)
    try:
        built = fs.private_dir_beside(tmp_path / "dest")
        assert stat.S_IMODE(built.stat().st_mode) == 0o700
        (built / "file").write_text("x")
        fs.publish_dir(built, tmp_path / "dest", mode=0o755)
    finally:
        os.umask(mask)
    assert stat.S_IMODE((tmp_path / "dest").stat().st_mode) == 0o755
    assert (tmp_path / "dest" / "file").read_text() == "x"


def test_publish_dir_refuses_existing_nonempty_destination(tmp_path: Path) -> None:
    built = fs.private_dir_beside(tmp_path / "dest")
    (built / "file").write_text("x")
    (tmp_path / "dest").mkdir()
    (tmp_path / "dest" / "keep").write_text("precious")
    with pytest.raises(SharedError, match="cannot create"):
        fs.publish_dir(built, tmp_path / "dest", mode=0o755)
    assert (tmp_path / "dest" / "keep").read_text() == "precious"


def test_lock_that_cannot_be_created_is_one_clear_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_open = os.open

    def denied(path: object, *args: object) -> int:
        if str(path).endswith(".lock"):
            raise PermissionError(13, "Permission denied")
        return real_open(path, *args)  # type: ignore[arg-type]

    monkeypatch.setattr(os, "open", denied)
    with pytest.raises(SharedError) as caught, fs.exclusive_lock(tmp_path / ".envs.ini.lock"):
        pass
    assert "cannot create the lock file" in str(caught.value)
    assert f"Run as a user who can write to {tmp_path}" in str(caught.value)


def _old_set(directory: Path) -> dict[Path, str]:
    files = {directory / name: f"old {name}\n" for name in ("e.yml", "e.lock", "e.json")}
    for path, text in files.items():
        path.write_text(text)
    return files


def _kill_at_rename(directory: Path, rename: int) -> None:
    """Run replace_together in a process that SIGKILLs itself at its `rename`th os.replace."""
    script = f"""
        import os, signal
        from pathlib import Path
        from conda_shared import fs
        calls, real = [], os.replace
        def replace(src, dst):
            if str(src).endswith("pending"):
                if len(calls) == {rename}:
                    os.kill(os.getpid(), signal.SIGKILL)
                calls.append(dst)
            real(src, dst)
        os.replace = replace
        d = Path({str(directory)!r})
        new = {{d / n: "new " + n + "\\n" for n in ("e.yml", "e.lock", "e.json")}}
        fs.replace_together(new, journal=fs.journal_path(d, "e"))
    """
    done = subprocess.run([sys.executable, "-c", textwrap.dedent(script)], check=False)
    assert done.returncode == -9


def _nothing_but_the_set(directory: Path) -> bool:
    """No temp file or journal left beside the set."""
    return sorted(p.name for p in directory.iterdir()) == ["e.json", "e.lock", "e.yml"]


def _contents(directory: Path) -> set[str]:
    return {p.read_text().split()[0] for p in directory.iterdir() if not p.name.startswith(".")}


def test_replace_together_replaces_every_file_and_keeps_modes(tmp_path: Path) -> None:
    old = _old_set(tmp_path)
    (tmp_path / "e.lock").chmod(0o640)
    fs.replace_together(dict.fromkeys(old, "new\n"), journal=fs.journal_path(tmp_path, "e"))
    assert _contents(tmp_path) == {"new"}
    assert (tmp_path / "e.lock").stat().st_mode & 0o777 == 0o640
    assert _nothing_but_the_set(tmp_path)


@pytest.mark.parametrize("rename", [0, 1, 2])
def test_set_killed_mid_rename_is_completed_by_the_next_run(tmp_path: Path, rename: int) -> None:
    _old_set(tmp_path)
    _kill_at_rename(tmp_path, rename)
    if rename:
        assert _contents(tmp_path) == {"old", "new"}  # what a reader sees: keys disagree
    assert fs.finish_interrupted(tmp_path) == 1
    assert _contents(tmp_path) == {"new"}
    assert _nothing_but_the_set(tmp_path)


def test_set_interrupted_before_its_commit_point_stays_old(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    old = _old_set(tmp_path)
    real_write = fs.atomic_write

    def journal_fails(path: Path, data: str | bytes, **kwargs: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(fs.files, "atomic_write", journal_fails)
    with pytest.raises(KeyboardInterrupt):
        fs.replace_together(dict.fromkeys(old, "new\n"), journal=fs.journal_path(tmp_path, "e"))
    monkeypatch.setattr(fs.files, "atomic_write", real_write)
    assert fs.finish_interrupted(tmp_path) == 0
    assert _contents(tmp_path) == {"old"}
    assert _nothing_but_the_set(tmp_path)


def test_ctrl_c_during_the_renames_completes_the_set(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    old = _old_set(tmp_path)
    real_replace, calls = os.replace, []

    def interrupted_once(src: Path, dst: Path) -> None:
        calls.append(dst)
        if len(calls) == 2:
            raise KeyboardInterrupt
        real_replace(src, dst)

    monkeypatch.setattr(os, "replace", interrupted_once)
    with pytest.raises(KeyboardInterrupt):
        fs.replace_together(dict.fromkeys(old, "new\n"), journal=fs.journal_path(tmp_path, "e"))
    assert _contents(tmp_path) == {"new"}
    assert _nothing_but_the_set(tmp_path)


def test_a_planted_symlink_at_a_pending_name_is_not_followed(tmp_path: Path) -> None:
    old = _old_set(tmp_path)
    victim = tmp_path.parent / f"{tmp_path.name}-victim"
    victim.write_text("keep\n")
    (tmp_path / ".e.yml.conda-shared-pending").symlink_to(victim)
    fs.replace_together(dict.fromkeys(old, "new\n"), journal=fs.journal_path(tmp_path, "e"))
    assert victim.read_text() == "keep\n"
    assert _contents(tmp_path) == {"new"}


def test_remove_tree_removes_a_tree_unlinks_a_symlink_and_accepts_absence(
    tmp_path: Path,
) -> None:
    env = tmp_path / "envs" / "half"
    (env / "conda-meta").mkdir(parents=True)
    (env / "conda-meta" / "x.json").write_text("{")
    fs.remove_tree(env)
    assert list((tmp_path / "envs").iterdir()) == [], "nothing hidden is left either"
    fs.remove_tree(env)  # already gone: fine
    kept = tmp_path / "kept"
    (kept / "conda-meta").mkdir(parents=True)
    link = tmp_path / "envs" / "link"
    link.symlink_to(kept)
    fs.remove_tree(link)
    assert not link.is_symlink() and (kept / "conda-meta").is_dir(), "a link is never followed"


def test_remove_tree_names_what_it_could_not_delete(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    env = tmp_path / "envs" / "half"
    (env / "conda-meta").mkdir(parents=True)
    (env / "conda-meta" / "x.json").write_text("{")
    real_unlink = os.unlink

    def refused(path: object, *args: object, **kwargs: object) -> None:
        raise PermissionError(errno.EACCES, "Permission denied", path)

    monkeypatch.setattr(os, "unlink", refused)
    with pytest.raises(SharedError) as error:
        fs.remove_tree(env)
    monkeypatch.setattr(os, "unlink", real_unlink)
    (hidden,) = (tmp_path / "envs").iterdir()
    assert not env.exists(), "the half-deleted tree is out of sight"
    assert error.value.message.startswith(f"could not remove {hidden} (")
    assert error.value.next_step == f"Remove it by hand (rm -rf {hidden})"


def test_make_new_dir_claims_a_folder_once(tmp_path: Path) -> None:
    assert fs.make_new_dir(tmp_path / "run")
    assert not fs.make_new_dir(tmp_path / "run")


def test_append_stream_appends_and_remove_file_tolerates_absence(tmp_path: Path) -> None:
    log = tmp_path / "logs" / "env.log"
    for text in ("one\n", "two\n"):
        with fs.append_stream(log) as stream:
            stream.write(text)
    assert log.read_text() == "one\ntwo\n"
    fs.remove_file(log)
    fs.remove_file(log)
    assert not log.exists()


@needs_root
def test_a_prefix_that_cannot_be_removed_names_a_command_that_deletes_only_it() -> None:
    """`rm -rf /x/envs/my env`, pasted, would delete a neighbour `my`: the path is quoted."""
    with reachable_dir() as base:
        envs = base / "envs"
        half = envs / "my env"
        (half / "lib").mkdir(parents=True)
        (half / "lib" / "stuck").write_text("owned by root, in a folder only root can change")
        os.chown(envs, NOBODY, NOBODY)
        os.chown(half, NOBODY, NOBODY)
        code = (
            "import sys; from pathlib import Path; from conda_shared import fs\n"
            "try:\n    fs.remove_tree(Path(sys.argv[1]))\n"
            "except Exception as error:\n    print(error.next_step)\n"
        )
        done = subprocess.run(
            [*setpriv(NOBODY), sys.executable, "-c", code, str(half)],
            capture_output=True,
            text=True,
            env={"PATH": os.environ.get("PATH", ""), "PYTHONPATH": str(REPO)},
            cwd=base,
            check=True,
        )
    hint = done.stdout.strip()
    pasted = hint.split("(", 1)[1].split(")", 1)[0]
    rm, force, leftover = shlex.split(pasted)  # one word, however many spaces the path has
    assert (rm, force) == ("rm", "-rf"), hint
    assert Path(leftover).parent == half.parent and Path(leftover).name.startswith(".my env."), hint


@pytest.mark.parametrize("planted", ["symlink", "hardlink"])
def test_a_lock_path_that_leads_to_another_file_is_refused_and_that_file_kept(
    tmp_path: Path, planted: str
) -> None:
    """In a folder others can write, a link planted at a lock path would have the holder line
    written over its target (root's config, a user's notes)."""
    victim = tmp_path / "victim.conf"
    victim.write_text("precious\n")
    lock = tmp_path / "shared" / ".inventory.ini.lock"
    lock.parent.mkdir()
    if planted == "symlink":
        lock.symlink_to(victim)
    else:
        os.link(victim, lock)
    with pytest.raises(SharedError, match="refusing the lock file"), fs.exclusive_lock(lock):
        pass
    assert victim.read_text() == "precious\n"
