"""The adoption switch (release/journal.py): the plain folder and the link change places, and a
run killed (SIGKILL) before any step is finished by the next run's journal recovery."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from conda_shared.release import journal
from conda_shared.release.journal import Entry
from conda_shared.release.layout import (
    ADOPTED_MARKER,
    current_release,
    env_link,
    release_prefix,
    releases_dir,
)

RELEASE = "2026.12.07"
PROBE = textwrap.dedent(
    """
    import errno, os, signal, sys
    from pathlib import Path
    from conda_shared.fs import exchange
    from conda_shared.release import journal
    from conda_shared.release.journal import Entry

    installation, release_id = Path(sys.argv[1]), sys.argv[2]
    kill_at, fallback = int(sys.argv[3]), sys.argv[4] == "1"
    steps = 0

    def step():
        global steps
        steps += 1
        if steps == kill_at:
            os.kill(os.getpid(), signal.SIGKILL)

    def wrap(real):
        def wrapped(*args, **kwargs):
            step()
            return real(*args, **kwargs)
        return wrapped

    os.symlink, os.rename = wrap(os.symlink), wrap(os.rename)
    real_exchange = exchange.exchange_names

    def exchange_or_not(first, second):
        if fallback:
            raise OSError(errno.EINVAL, "no exchange here")
        step()
        real_exchange(first, second)

    exchange.exchange_names = exchange_or_not
    journal.begin(installation, Entry("ds", "adopt", release_id, new_records=False))
    journal.replace_plain_folder(installation, "ds", release_id)
    step()
    journal.end(installation, "ds")
    print("finished")
    """
)


def plain_and_release(tmp_path: Path) -> Path:
    """envs/ds a plain env folder; its first release built and published beside it."""
    installation = tmp_path / "inst"
    plain = installation / "envs" / "ds"
    (plain / "conda-meta").mkdir(parents=True)
    (plain / "bin").mkdir()
    (plain / "bin" / "python").write_text("plain")
    release = release_prefix(installation, "ds", RELEASE)
    (release / "conda-meta").mkdir(parents=True)
    (release / "bin").mkdir()
    (release / "bin" / "python").write_text("release")
    return installation


def assert_adopted(installation: Path) -> None:
    assert current_release(installation, "ds") == RELEASE
    assert (env_link(installation, "ds") / "bin" / "python").read_text() == "release"
    aside = releases_dir(installation, "ds") / f".adopted-{RELEASE}"
    assert (aside / "bin" / "python").read_text() == "plain"
    note = json.loads((aside / ADOPTED_MARKER).read_text())
    assert note["replaced_by"] == RELEASE and "not runnable" in note["note"]
    assert not os.path.lexists(journal.adopting_link(installation, "ds"))
    assert journal.read_entry(installation, "ds") is None


@pytest.mark.parametrize("fallback", [False, True], ids=["exchange", "fallback"])
def test_the_switch_in_one_go(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fallback: bool
) -> None:
    installation = plain_and_release(tmp_path)
    if fallback:
        from conda_shared.fs import exchange

        def cannot(first: Path, second: Path) -> None:
            raise OSError(22, "no exchange on this file system")

        monkeypatch.setattr(exchange, "exchange_names", cannot)
    journal.begin(installation, Entry("ds", "adopt", RELEASE, new_records=False))
    assert journal.replace_plain_folder(installation, "ds", RELEASE) is (not fallback)
    journal.end(installation, "ds")
    assert_adopted(installation)


#: kill before step 1-4: the temp link; the exchange (or the folder moved aside); the folder
#: moved aside (or the link moved in place); the end of the journal
@pytest.mark.parametrize("kill_at", range(1, 5))
@pytest.mark.parametrize("fallback", [False, True], ids=["exchange", "fallback"])
def test_killed_before_any_step_the_next_run_finishes(
    tmp_path: Path, kill_at: int, fallback: bool
) -> None:
    installation = plain_and_release(tmp_path)
    killed = subprocess.run(
        [sys.executable, "-c", PROBE, str(installation), RELEASE, str(kill_at), str(int(fallback))],
        capture_output=True,
        text=True,
        check=False,
    )
    assert killed.returncode == -9, killed.stderr
    link = env_link(installation, "ds")
    if not fallback:  # one step: users' lookups always find the env, old or new
        assert (link / "bin" / "python").read_text() in ("plain", "release")
    note = journal.recover(installation.parent, installation, "ds")
    assert note == f"finished the interrupted adopt of release {RELEASE}"
    assert_adopted(installation)


def test_a_killed_run_that_got_past_the_last_step_leaves_it_done(tmp_path: Path) -> None:
    installation = plain_and_release(tmp_path)
    done = subprocess.run(
        [sys.executable, "-c", PROBE, str(installation), RELEASE, "99", "0"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.stdout.strip() == "finished"
    assert journal.recover(installation.parent, installation, "ds") is None
    assert_adopted(installation)
