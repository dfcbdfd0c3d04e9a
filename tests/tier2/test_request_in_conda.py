"""Tier 2: users file package requests against an installation real conda built; root answers."""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from conda_shared.init_root import init_root
from conda_shared.requests import store
from tests.overlay.packages import wheelhouse
from tests.support.channel import Channel
from tests.support.installation import run_in
from tests.support.releases import managed_root
from tests.support.users import NOBODY, OTHER, home_of, needs_root, reachable_dir, run_as

pytestmark = [pytest.mark.tier2, pytest.mark.slow, needs_root]

SPOOFED = {"LOGNAME": "root", "USER": "root", "SUDO_USER": "root"}


@pytest.fixture(scope="module")
def site() -> Iterator[dict[str, Path]]:
    """A root (v1 current, requests set up) whose release-managed env `ds` has python, pip,
    helper-lib 1.0; a channel that also has tidy-util 1.2 (a noarch Python package) and the
    C-only libdata; `secret`, an env only root can read; homes for two users; wheels."""
    with reachable_dir("conda-shared-requests-") as work:
        channel = Channel(work / "channel")
        channel.add_python()
        channel.add_pip()
        channel.add_python_dist("helper-lib", "1.0", "pyh_0")
        channel.add_python_dist("tidy-util", "1.2", "pyh_0", depends=("python", "helper-lib"))
        channel.add("libdata", "2.0", files={"share/libdata/data.txt": b"libdata 2.0\n"})
        channel.index()
        root, inst = managed_root(work, channel, name="ds", specs=("python", "pip", "helper-lib"))
        made = run_in(inst, "-m", "conda", "create", "-y", "-p", inst / "envs" / "secret",
                      "python", home=work / "admin")  # fmt: skip
        assert made.returncode == 0, made.stdout + made.stderr
        (inst / "envs" / "secret").chmod(0o700)
        init_root(root=root, adopt=None, admin_gid=0)
        subprocess.run(["chmod", "-R", "a+rX", str(channel.root)], check=True)
        yield {
            "root": root,
            "inst": inst,
            "admin": work / "admin",
            "nobody": home_of(work, NOBODY),
            "other": home_of(work, OTHER),
            "wheels": wheelhouse(work / "wheels"),
        }


def request(site: dict[str, Path], uid: int, *args: str | Path) -> subprocess.CompletedProcess[str]:
    home = site["nobody" if uid == NOBODY else "other"]
    words = [str(a) for a in args]
    return run_as(uid, "request", *words, "--root", str(site["root"]), home=home, environ=SPOOFED)


def admin(site: dict[str, Path], *args: str | Path) -> subprocess.CompletedProcess[str]:
    """`conda shared request ...` as root, inside the installation's own conda."""
    return run_in(site["inst"], "-m", "conda", "shared", "request", *args, "--root", site["root"],
                  home=site["admin"])  # fmt: skip


def filed_id(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 0, result.stdout + result.stderr
    return str(json.loads(result.stdout)["id"])


def test_a_user_files_a_request_only_they_and_root_can_see(site: dict[str, Path]) -> None:
    filed = request(site, NOBODY, "ds", "--add", "tidy-util", "--reason", "survey", "--json")
    request_id = filed_id(filed)
    document = json.loads(filed.stdout)
    assert document["diff"]["added"] == [["tidy-util", "1.2"]]
    assert document["overlay_commands"] == [["overlay", "install", "ds", "tidy-util"]]
    info = os.lstat(store.inbox_dir(site["root"]) / request_id)
    assert (info.st_uid, info.st_mode & 0o7777) == (NOBODY, 0o640)

    text = request(site, NOBODY, "ds", "--add", "libdata")
    assert text.returncode == 0, text.stderr
    assert "libdata: no PyPI distribution, so no overlay can stand in for it" in text.stdout

    mine = request(site, NOBODY, "list")
    assert mine.returncode == 0, mine.stderr
    assert request_id in mine.stdout and "pending" in mine.stdout
    theirs = request(site, OTHER, "list")
    assert theirs.returncode == 0 and "you have filed no requests" in theirs.stdout
    for words in (("show", request_id), ("list", "--all"), ("withdraw", request_id)):
        refused = request(site, OTHER, *words)
        assert refused.returncode != 0 and len(refused.stderr.strip().splitlines()) == 1, words
        assert "Traceback" not in refused.stderr

    listed = admin(site, "list", "--all")
    assert listed.returncode == 0, listed.stderr
    line = next(x for x in listed.stdout.splitlines() if x.startswith(request_id))
    # LOGNAME/USER/SUDO_USER said root: the file's owner says who filed it
    assert "pending" in line and f"(uid {NOBODY})" in line and "v1/ds  +tidy-util" in line
    assert "at filing: +tidy-util 1.2" in listed.stdout and "now: +tidy-util 1.2" in listed.stdout


def test_unsolvable_and_unreadable_requests_are_not_filed(site: dict[str, Path]) -> None:
    before = set(os.listdir(store.inbox_dir(site["root"])))
    missing = request(site, NOBODY, "ds", "--add", "no-such-package")
    assert missing.returncode == 1
    assert "cannot be solved (package-not-found)" in missing.stderr
    assert "--file-anyway" in missing.stderr
    secret = request(site, NOBODY, "secret", "--add", "tidy-util")
    assert secret.returncode == 2 and "you cannot read the environment secret" in secret.stderr
    bad = request(site, NOBODY, "ds", "--add", "tidy util ==")
    assert bad.returncode == 2 and "is not a package spec" in bad.stderr
    assert set(os.listdir(store.inbox_dir(site["root"]))) == before

    anyway = request(site, NOBODY, "ds", "--add", "no-such-package", "--file-anyway", "--json")
    assert json.loads(anyway.stdout)["failure"]["class"] == "package-not-found"
    listed = admin(site, "list", "--all", "--no-solve")
    assert "at filing: did not solve (package-not-found)" in listed.stdout


def test_planted_entries_are_set_aside_and_withdraw_and_deny_reach_the_user(
    site: dict[str, Path],
) -> None:
    inbox = store.inbox_dir(site["root"])
    planted = store.new_request_id()
    os.symlink("/etc/shadow", inbox / planted)
    try:
        listed = admin(site, "list", "--all", "--no-solve")
        assert f"set aside: {planted} (owner uid 0): not a regular file" in listed.stdout
        assert "root:" not in listed.stdout  # /etc/shadow was never read
    finally:
        os.unlink(inbox / planted)

    withdrawn = filed_id(request(site, NOBODY, "ds", "--add", "tidy-util=1.2", "--json"))
    denied = filed_id(request(site, NOBODY, "ds", "--remove", "pip", "--json"))
    assert request(site, NOBODY, "withdraw", withdrawn).returncode == 0
    refused = admin(site, "deny", denied)
    assert refused.returncode == 2 and "needs a reason" in refused.stderr
    said = admin(site, "deny", denied, "--reason", "pip stays: overlays need it")
    assert said.returncode == 0, said.stderr
    again = admin(site, "approve", withdrawn, "--yes")
    assert again.returncode == 2 and "withdrawn, not pending" in again.stderr

    mine = request(site, NOBODY, "list").stdout
    assert f"{withdrawn}" in mine and "withdrawn" in mine
    assert "denied: pip stays: overlays need it" in mine
    log = (site["root"] / "log" / "shared.log").read_text()
    assert f'"command": "request deny {denied}"' in log


def test_root_approves_requests_into_one_release_and_the_overlay_copy_is_redundant(
    site: dict[str, Path],
) -> None:
    overlaid = run_as(NOBODY, "overlay", "install", "ds", "tidy-util==1.2", "--root",
                      str(site["root"]), "--", "--no-index", "--find-links", str(site["wheels"]),
                      home=site["nobody"])  # fmt: skip
    assert overlaid.returncode == 0, overlaid.stdout + overlaid.stderr
    first = filed_id(request(site, NOBODY, "ds", "--add", "tidy-util", "--json"))
    second = filed_id(request(site, OTHER, "ds", "--add", "libdata", "--json"))

    refused = admin(site, "approve", first, "--json", "--dry-run")
    assert refused.returncode == 0, refused.stderr
    approved = admin(site, "approve", first, second, "--yes")
    assert approved.returncode == 0, approved.stdout + approved.stderr
    release_id = os.readlink(site["inst"] / "envs" / "ds").rsplit("/", 1)[-1]
    assert f"ds: released as {release_id}; approved {first} {second}" in approved.stdout
    records = site["root"] / "specs" / "v1" / "releases" / "ds" / release_id / "release.json"
    record = json.loads(records.read_text())
    assert record["change"]["requests"] == [first, second]
    assert sorted(record["change"]["add"]) == ["libdata", "tidy-util"]

    mine = request(site, NOBODY, "list")
    assert mine.returncode == 0, mine.stderr
    row = next(x for x in mine.stdout.splitlines() if x.startswith(first))
    assert row.endswith(f"approved into {release_id}")
    assert second not in mine.stdout  # OTHER's request is not NOBODY's
    assert "no longer needed: tidy-util 1.2 in the user overlay" in mine.stdout
    assert "helper-lib" not in mine.stdout  # the overlay's 2.0 is newer than the env's 1.0
    checked = run_as(NOBODY, "overlay", "check", "ds", "--root", str(site["root"]),
                     home=site["nobody"])  # fmt: skip
    assert "no longer needed: tidy-util 1.2" in checked.stdout, checked.stdout + checked.stderr
    # the hint's commands, as printed, take the copy out
    hint = next(x for x in mine.stdout.splitlines() if x.startswith("no longer needed"))
    for command in hint.split("remove the copy: ", 1)[1].split(", then "):
        words = command.split()[1:]  # without the program
        done = run_as(NOBODY, *words, "--root", str(site["root"]), home=site["nobody"])
        assert done.returncode == 0, done.stdout + done.stderr
    assert "no longer needed" not in request(site, NOBODY, "list").stdout
    again = admin(site, "approve", first, "--yes")
    assert again.returncode == 2 and f"approved into {release_id}, not pending" in again.stderr
