"""What root sees of the inbox without conda: states, set-aside entries, answers, notify."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest

from conda_shared.errors import InputError
from conda_shared.requests import document, notify, review, store
from tests.support.ready_root import ready_root
from tests.support.users import needs_root


@pytest.fixture
def root(tmp_path: Path) -> Path:
    made = ready_root(tmp_path)
    store.ensure_folders(made, admin_gid=os.getgid())
    return made


def filed(root: Path, **fields: object) -> str:
    request = document.request_document(
        env="plain", installation="v24.11", add=["scipy"], remove=[], reason="", diff=None,
        failure=None,
    )  # fmt: skip
    return store.write_request(root, {**request, **fields})


@needs_root
def test_requests_that_would_mislead_an_admin_are_set_aside(root: Path) -> None:
    fine = filed(root)
    escape = filed(root, add=["scipy\x1b]0;owned\x07"])
    path = filed(root, env="../../etc")
    elsewhere = filed(root, installation="/other/installation")
    empty = filed(root, add=[])
    listing = review.list_inbox(root=root, solve_now=False)
    assert [item.request.id for item in listing.requests] == [fine]
    assert listing.requests[0].request.requester == "root"
    reasons = {a.name: a.reason for a in listing.set_aside}
    assert reasons[escape] == "holds control characters: not shown"
    assert reasons[path] == reasons[elsewhere] == "names no valid environment"
    assert reasons[empty] == "asks for nothing"


@needs_root
def test_deny_answers_once_and_the_state_follows(root: Path) -> None:
    request_id = filed(root)
    with pytest.raises(InputError, match="needs a reason"):
        review.deny_request(root=root, request_id=request_id, reason=" ")
    denied = review.deny_request(root=root, request_id=request_id, reason="use conda-forge")
    assert denied.request.state_text == "denied: use conda-forge"
    answer = store.read_answer(root, request_id)
    assert answer is not None and answer["state"] == "denied" and answer["by"] == "root"
    with pytest.raises(InputError, match="denied: use conda-forge, not pending"):
        review.deny_request(root=root, request_id=request_id, reason="again")
    (listed,) = review.list_inbox(root=root, solve_now=False).requests
    assert listed.request.state == document.DENIED
    log = (root / "log" / "shared.log").read_text()
    assert json.loads(log.splitlines()[-1])["action"] == "request-deny"


def test_a_failing_notify_command_is_a_warning_and_a_working_one_gets_the_json(
    tmp_path: Path,
) -> None:
    seen = tmp_path / "seen.json"
    script = f"import sys; open({str(seen)!r}, 'w').write(sys.stdin.read())"
    assert notify.send([sys.executable, "-c", script], {"event": "filed", "id": "x"}) == ()
    assert json.loads(seen.read_text()) == {"event": "filed", "id": "x"}
    (failed,) = notify.send([sys.executable, "-c", "raise SystemExit('mail down')"], {})
    assert "exited 1: mail down" in failed
    (missing,) = notify.send([str(tmp_path / "no-such-command")], {})
    assert "failed: No such file or directory" in missing
    assert notify.send((), {"event": "filed"}) == ()


@needs_root
def test_own_list_survives_an_approved_env_that_is_gone(
    root: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from conda_shared.requests import filing, index

    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    request_id = filed(root, env="gone")
    index.write_index(root, (index.IndexEntry(request_id, "gone", "2026-12-07T22:00:00Z"),))
    store.write_answer(root, request_id, {"state": "approved", "release": "2026.12.07"})
    own = filing.own_requests(root=root, installation=None, overlays_dir=tmp_path / "ov")
    assert [r.state_text for r in own.requests] == ["approved into 2026.12.07"]
    assert own.redundant == ()
