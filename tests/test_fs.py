"""fs.py: atomic writes and pointer swaps survive crashes; locks exclude; bounds hold."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from conda_shared import fs
from conda_shared.errors import SharedError


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


def test_append_line_from_many_processes_never_interleaves(tmp_path: Path) -> None:
    log = tmp_path / "log" / "shared.log"
    writer = textwrap.dedent(
        f"""
        import sys
        from pathlib import Path
        from conda_shared import fs
        for i in range(200):
            fs.append_line(Path({str(log)!r}), sys.argv[1] * 300 + str(i))
        """
    )
    procs = [subprocess.Popen([sys.executable, "-c", writer, c]) for c in "abcd"]
    assert all(p.wait() == 0 for p in procs)
    lines = log.read_text().splitlines()
    assert len(lines) == 800
    assert all(len(set(line.rstrip("0123456789"))) == 1 for line in lines)


def test_publish_dir_refuses_existing_nonempty_destination(tmp_path: Path) -> None:
    built = fs.private_dir_beside(tmp_path / "dest")
    (built / "file").write_text("x")
    (tmp_path / "dest").mkdir()
    (tmp_path / "dest" / "keep").write_text("precious")
    with pytest.raises(SharedError, match="cannot create"):
        fs.publish_dir(built, tmp_path / "dest")
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


def test_remove_prefix_removes_a_tree_unlinks_a_symlink_and_accepts_absence(
    tmp_path: Path,
) -> None:
    env = tmp_path / "envs" / "half"
    (env / "conda-meta").mkdir(parents=True)
    (env / "conda-meta" / "x.json").write_text("{")
    fs.remove_prefix(env)
    assert not env.exists()
    fs.remove_prefix(env)  # already gone: fine
    kept = tmp_path / "kept"
    (kept / "conda-meta").mkdir(parents=True)
    link = tmp_path / "envs" / "link"
    link.symlink_to(kept)
    fs.remove_prefix(link)
    assert not link.is_symlink() and (kept / "conda-meta").is_dir(), "a link is never followed"


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
