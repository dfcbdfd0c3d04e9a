"""fs/exchange.py: a plain folder and a symlink change places in one step, or in two renames."""

from __future__ import annotations

import errno
import os
import threading
from pathlib import Path

import pytest

from conda_shared import fs
from conda_shared.fs import exchange as exchange_module


def plain_env(envs: Path) -> Path:
    env = envs / "ds"
    (env / "bin").mkdir(parents=True)
    (env / "bin" / "python").write_text("old")
    release = envs / ".releases" / "ds" / "2026.12.07" / "bin"
    release.mkdir(parents=True)
    (release / "python").write_text("new")
    return env


def new_link(envs: Path) -> Path:
    link = envs / ".ds.link.tmp"
    link.symlink_to(".releases/ds/2026.12.07")
    return link


def test_exchange_names_swaps_two_names(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "in-a").touch()
    (tmp_path / "b").symlink_to("elsewhere")
    fs.exchange_names(tmp_path / "a", tmp_path / "b")
    assert os.readlink(tmp_path / "a") == "elsewhere"
    assert (tmp_path / "b" / "in-a").exists()


@pytest.mark.parametrize("one_step", [True, False])
def test_the_folder_moves_aside_and_the_link_takes_its_place(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, one_step: bool
) -> None:
    if not one_step:

        def cannot(first: Path, second: Path) -> None:
            raise OSError(errno.EINVAL, "no exchange on this file system")

        monkeypatch.setattr(exchange_module, "exchange_names", cannot)
    envs = tmp_path / "envs"
    env = plain_env(envs)
    displaced = envs / ".releases" / "ds" / ".adopted-2026.12.07"
    link = new_link(envs)
    assert fs.replace_with_link(link, env, displaced=displaced) is one_step
    assert os.readlink(env) == ".releases/ds/2026.12.07"
    assert (env / "bin" / "python").read_text() == "new"
    assert (displaced / "bin" / "python").read_text() == "old"
    assert not os.path.lexists(link)


def test_another_failure_moves_nothing(tmp_path: Path) -> None:
    envs = tmp_path / "envs"
    env = plain_env(envs)
    with pytest.raises(FileNotFoundError):
        fs.replace_with_link(envs / "no-such-link", env, displaced=envs / "aside")
    assert (env / "bin" / "python").read_text() == "old"
    assert not (envs / "aside").exists()


def test_no_renameat2_at_all_falls_back(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(exchange_module, "_renameat2", lambda: None)
    envs = tmp_path / "envs"
    env = plain_env(envs)
    assert not fs.replace_with_link(new_link(envs), env, displaced=envs / "aside")
    assert (env / "bin" / "python").read_text() == "new"


def test_a_reader_never_misses_the_env_during_one_step_switches(tmp_path: Path) -> None:
    """Switch folder and link back and forth while a reader opens a file through the name."""
    envs = tmp_path / "envs"
    env = plain_env(envs)
    link = new_link(envs)
    misses = []
    done = threading.Event()

    def read() -> None:
        while not done.is_set():
            try:
                (env / "bin" / "python").read_text()
            except OSError as error:
                misses.append(error)

    reader = threading.Thread(target=read)
    reader.start()
    try:
        for _ in range(2000):
            fs.exchange_names(link, env)
    finally:
        done.set()
        reader.join()
    assert misses == []
