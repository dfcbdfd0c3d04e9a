"""The env cache: its key follows what conda and pip change; only a private cache is trusted."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from conda_shared.prefix import cache
from conda_shared.prefix.cache import env_signature, open_cache
from tests.catalog.helpers import conda_install, pip_install, settle
from tests.roots import make_sample
from tests.support.users import OTHER


@pytest.fixture
def env(tmp_path: Path) -> Path:
    root = make_sample(tmp_path)
    settle(root)
    return root / "v24.11" / "envs" / "gitdev"


def test_the_signature_changes_with_pip_conda_and_history(
    env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(cache, "_SETTLED_NS", 0)  # each change below is seen at once
    base = env_signature(env)
    assert base is not None and env_signature(env) == base
    pip_install(env, "polars", "1.0")
    after_pip = env_signature(env)
    conda_install(env, "zlib", "1.3")
    after_conda = env_signature(env)
    with open(env / "conda-meta" / "history", "a") as history:
        history.write("==> 2026-12-07 10:00:00 <==\n")
    assert len({base, after_pip, after_conda, env_signature(env)}) == 4


def test_a_state_younger_than_two_seconds_is_no_key(env: Path) -> None:
    pip_install(env, "polars", "1.0")
    assert env_signature(env) is None


def test_entries_round_trip_under_the_same_signature_only(env: Path, tmp_path: Path) -> None:
    opened = open_cache(tmp_path / "cache")
    signature = env_signature(env)
    opened.store(env, kind="catalog", signature=signature, data={"n": 1})
    assert opened.load(env, kind="catalog", signature=signature) == {"n": 1}
    assert opened.load(env, kind="export", signature=signature) is None
    assert opened.load(env, kind="catalog", signature="other") is None
    assert oct((tmp_path / "cache").stat().st_mode & 0o777) == "0o700"


def test_a_cache_others_could_write_is_ignored(env: Path, tmp_path: Path) -> None:
    folder = tmp_path / "cache"
    opened = open_cache(folder)
    signature = env_signature(env)
    opened.store(env, kind="catalog", signature=signature, data={"n": 1})
    (entry,) = folder.iterdir()
    entry.chmod(0o620)
    assert opened.load(env, kind="catalog", signature=signature) is None
    entry.chmod(0o600)
    folder.chmod(0o770)
    ignored = open_cache(folder)
    assert ignored.folder is None and ignored.note is not None and "ignored" in ignored.note
    assert ignored.load(env, kind="catalog", signature=signature) is None


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to give the cache to another user")
def test_a_cache_another_user_owns_is_ignored(env: Path, tmp_path: Path) -> None:
    folder = tmp_path / "cache"
    opened = open_cache(folder)
    signature = env_signature(env)
    opened.store(env, kind="catalog", signature=signature, data={"n": 1})
    (entry,) = folder.iterdir()
    os.chown(entry, OTHER, OTHER)
    assert opened.load(env, kind="catalog", signature=signature) is None
    os.chown(folder, OTHER, OTHER)
    assert open_cache(folder).folder is None
