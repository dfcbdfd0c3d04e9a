"""Cutover and rollback on real directory trees: preflight, pointer switch, audit, bad input."""

from __future__ import annotations

import json
import os
import pty
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from conda_shared.cutover import cutover
from conda_shared.errors import InputError, SharedError
from conda_shared.status import shared_status
from tests.roots import make_sample, paste, printed_commands, run_cli, tree_digest
from tests.support.ready_root import add_kernel, ready_root, write_report

Capsys = pytest.CaptureFixture[str]


def log_lines(root: Path) -> list[dict[str, object]]:
    path = root / "log" / "shared.log"
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def digest_without_log(root: Path) -> str:
    """The tree as users see it: the log (audit lines, the lock file) is meant to change."""
    shutil.rmtree(root / "log", ignore_errors=True)
    return tree_digest(root)


def pointers(root: Path) -> dict[str, str | None]:
    names = ("current", "previous", "qa", "envs")
    return {n: os.readlink(root / n) if (root / n).is_symlink() else None for n in names}


def test_cutover_switches_relative_pointers_clears_qa_and_logs_one_line(tmp_path: Path) -> None:
    root = ready_root(tmp_path)
    result = cutover(root=root)
    assert result.switched and not result.forced
    assert [c.name for c in result.preflight] == [
        "installation", "conda", "conda-shared", "replicate", "kernels", "writable", "lock",
    ]  # fmt: skip
    assert all(c.ok for c in result.preflight), result.preflight
    assert pointers(root) == {
        "current": "v26.7", "previous": "v24.11", "qa": None, "envs": "current/envs",
    }  # fmt: skip
    assert result.steps == ("previous -> v24.11", "current -> v26.7", "qa cleared")
    (entry,) = log_lines(root)
    assert {k: entry[k] for k in ("action", "from", "to", "forced", "result")} == {
        "action": "cutover", "from": "v24.11", "to": "v26.7", "forced": False, "result": "ok",
    }  # fmt: skip
    assert {"time", "user", "host"} <= entry.keys()
    assert not (root / "log" / "cutover.pending.json").exists()


def test_rollback_swaps_current_and_previous_back(tmp_path: Path) -> None:
    root = ready_root(tmp_path)
    cutover(root=root)
    result = cutover(rollback=True, root=root)
    assert result.switched
    assert (result.source, result.target) == ("v26.7", "v24.11")
    assert pointers(root)["current"] == "v24.11"
    assert pointers(root)["previous"] == "v26.7"
    assert [e["action"] for e in log_lines(root)] == ["cutover", "rollback"]
    assert (root / "current" / "envs" / "kern" / "bin" / "python").exists()


def test_the_root_still_works_mounted_at_another_path(tmp_path: Path) -> None:
    root = ready_root(tmp_path, name="shared root with spaces")
    cutover(root=root)
    moved = tmp_path / "elsewhere"
    shutil.move(str(root), moved)
    assert (moved / "current" / "envs" / "plain" / "bin" / "python").exists()
    assert cutover(rollback=True, root=moved).switched
    assert (moved / "current").resolve() == (moved / "v24.11").resolve()


def test_failed_items_are_listed_with_fixes_and_nothing_changes(tmp_path: Path) -> None:
    root = ready_root(tmp_path, envs=("kern", "plain", "geo", "ml"))
    write_report(
        root,
        root / "v26.7",
        {"kern": ("replicated", True), "plain": ("failed", False), "geo": ("replicated", False)},
        stamp="20261202T080000Z",
    )
    (root / "v26.7" / "conda-meta" / "conda-shared-0.1.0-0.json").unlink()
    shutil.rmtree(root / "v26.7" / "envs" / "kern")
    before = digest_without_log(root)
    result = cutover(root=root)
    assert not result.switched
    failed = {c.name: c for c in result.preflight if not c.ok}
    assert set(failed) == {"conda-shared", "replicate", "kernels"}
    assert failed["replicate"].detail == (
        "kern: replicated in run 20261202T080000Z, since gone from v26.7; "
        "plain: failed in run 20261202T080000Z; geo: smoke test failed in run 20261202T080000Z "
        "(latest results of 2 runs into v26.7)"
    )  # ml: replicated by the first run, which still counts
    assert failed["replicate"].commands == (
        ("replicate", "--to", "v26.7", "kern"),
        ("replicate", "--to", "v26.7", "--force", "plain", "geo"),  # they stand in the target
    )
    assert "kern: v26.7/envs/kern/bin/python does not exist" in failed["kernels"].detail
    assert "conda install -p" in str(failed["conda-shared"].fix)
    log = log_lines(root)
    assert log[-1]["result"] == "refused: preflight failed: conda-shared, replicate, kernels"
    (root / "log" / "shared.log").unlink()
    assert digest_without_log(root) == before


def test_force_switches_past_failures_and_the_log_says_so(tmp_path: Path) -> None:
    root = ready_root(tmp_path)
    shutil.rmtree(root / "reports")
    result = cutover(root=root, force=True)
    assert result.switched and result.forced
    entry = log_lines(root)[-1]
    assert entry["forced"] is True
    assert entry["result"] == "ok (forced past: replicate)"


def test_a_broken_conda_fails_preflight_with_what_it_said(tmp_path: Path) -> None:
    root = ready_root(tmp_path)
    (root / "v26.7" / "bin" / "conda").write_text(
        "#!/bin/sh\necho 'ImportError: no ruamel' >&2\nexit 1\n"
    )
    (check,) = [c for c in cutover(root=root, dry_run=True).preflight if c.name == "conda"]
    assert not check.ok
    assert check.detail.endswith("failed (exit 1): ImportError: no ruamel")


def test_a_foreign_report_does_not_count_and_an_unfinished_run_counts_what_it_did(
    tmp_path: Path,
) -> None:
    root = ready_root(tmp_path)
    write_report(root, root / "v24.11", {"kern": ("failed", False)}, stamp="20261203T000000Z")
    unfinished = write_report(
        root, root / "v26.7", {"kern": ("replicated", True)}, stamp="20261202T000000Z",
        finished=False,
    )  # fmt: skip
    planned = [{"name": n, "source_prefix": "", "target_prefix": ""} for n in ("kern", "plain")]
    (unfinished.parent / "plan.json").write_text(json.dumps({"envs": planned}))
    (check,) = [c for c in cutover(root=root, dry_run=True).preflight if c.name == "replicate"]
    assert (check.ok, check.detail) == (
        False,
        "plain: not done: run 20261202T000000Z did not finish (latest results of 2 runs into "
        "v26.7)",
    )
    assert check.commands == (("replicate", "--resume"),)  # it is the root's latest run


def test_kernels_that_bypass_current_fail_preflight(tmp_path: Path) -> None:
    root = ready_root(tmp_path)
    add_kernel(root, "pinned", str(root / "v24.11" / "envs" / "plain" / "bin" / "python"))
    add_kernel(root, "via-envs", str(root / "envs" / "plain" / "bin" / "python"))
    (check,) = [c for c in cutover(root=root, dry_run=True).preflight if c.name == "kernels"]
    assert not check.ok
    assert check.detail == f"pinned: {root}/v24.11/envs/plain/bin/python bypasses current/"


def test_dry_run_changes_nothing(tmp_path: Path) -> None:
    root = ready_root(tmp_path)
    before = digest_without_log(root)
    result = cutover(root=root, dry_run=True)
    assert result.preflight_ok and not result.switched and result.dry_run
    assert digest_without_log(root) == before


def test_cutover_to_a_named_installation_keeps_an_unrelated_qa(tmp_path: Path) -> None:
    root = ready_root(tmp_path)
    result = cutover(root=root, to="v26.7")
    assert result.switched
    assert pointers(root)["qa"] is None  # qa named the target: cleared
    os.symlink("v24.11", root / "qa")
    assert cutover(rollback=True, root=root).switched
    assert pointers(root)["qa"] == "v24.11"


def test_cutover_to_current_changes_nothing(tmp_path: Path) -> None:
    root = ready_root(tmp_path)
    result = cutover(root=root, to="v24.11")
    assert not result.switched
    assert result.notes == ("current already points to v24.11",)
    assert log_lines(root) == []


def test_a_dry_run_to_current_offers_no_command(tmp_path: Path) -> None:
    root = ready_root(tmp_path)
    command = ["cutover", "--root", str(root), "--to", "v24.11", "--dry-run"]
    run = subprocess.run(
        [sys.executable, "-m", "conda_shared", *command],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(Path(__file__).parent.parent)},
        check=False,
    )
    assert run.returncode == 0
    assert run.stdout.splitlines()[-2:] == [
        "note: current already points to v24.11",
        "nothing to switch",
    ]


def test_declining_the_confirmation_changes_nothing(tmp_path: Path) -> None:
    root = ready_root(tmp_path)
    before = digest_without_log(root)
    asked = []
    result = cutover(root=root, confirm=lambda draft: asked.append(draft.target) is not None)
    assert asked == ["v26.7"] and not result.switched
    assert digest_without_log(root) == before


@pytest.mark.parametrize(
    ("setup", "to", "message"),
    [
        (lambda r: os.unlink(r / "qa"), "qa", "there is no qa installation to cut over to"),
        (lambda r: None, "/tmp", "--to /tmp: not an installation folder of the shared root"),
        (lambda r: None, "../v24.11", "--to ../v24.11: not an installation folder"),
        (lambda r: None, "v99", "no installation 'v99' in"),
        (lambda r: (r / "v30").mkdir(), "v30", "is not a conda installation"),
    ],
)
def test_bad_targets_are_one_line_errors(tmp_path: Path, setup, to: str, message: str) -> None:  # type: ignore[no-untyped-def]
    root = ready_root(tmp_path)
    setup(root)
    before = digest_without_log(root)
    with pytest.raises(InputError, match=message.replace("(", r"\(")):
        cutover(root=root, to=to)
    assert digest_without_log(root) == before


def test_qa_pointing_at_a_non_installation_is_refused(tmp_path: Path) -> None:
    root = ready_root(tmp_path)
    (root / "notconda").mkdir()
    os.unlink(root / "qa")
    os.symlink("notconda", root / "qa")
    with pytest.raises(InputError, match="qa cannot be cut over to: notconda is not a conda"):
        cutover(root=root)


@pytest.mark.parametrize("pointer", ["current", "previous", "qa"])
def test_pointers_that_are_real_directories_are_refused(tmp_path: Path, pointer: str) -> None:
    root = ready_root(tmp_path)
    link = root / pointer
    if link.is_symlink():
        link.unlink()
    (link / "bin").mkdir(parents=True)
    before = digest_without_log(root)
    with pytest.raises(InputError, match=f"{pointer} is a real directory, not a symlink pointer"):
        cutover(root=root, force=True)
    assert digest_without_log(root) == before


def test_the_fix_for_a_real_directory_pointer_runs_as_printed(tmp_path: Path) -> None:
    root = make_sample(tmp_path, "it's a root")
    (root / "qa").unlink()
    (root / "qa" / "bin").mkdir(parents=True)
    with pytest.raises(InputError) as refused:
        cutover(root=root, dry_run=True)
    shell = refused.value.next_step.split(": ", 1)[1].split("; or adopt", 1)[0]
    subprocess.run(["sh", "-c", shell], cwd=tmp_path, check=True)
    assert os.readlink(root / "qa") == "qa.orig"
    assert (root / "qa.orig" / "bin").is_dir()


def test_rollback_without_previous_is_explained(tmp_path: Path) -> None:
    root = ready_root(tmp_path)
    with pytest.raises(InputError, match="there is nothing to roll back to"):
        cutover(rollback=True, root=root)


def test_a_single_installation_has_no_pointers_to_switch(tmp_path: Path) -> None:
    root = ready_root(tmp_path)
    with pytest.raises(InputError, match="single installation without current/qa/previous"):
        cutover(root=root / "v24.11")


def test_read_only_root_is_a_clean_permission_error_and_changes_nothing(tmp_path: Path) -> None:
    if os.geteuid() == 0:
        pytest.skip("root writes anywhere: tests/test_cutover_faults.py covers this as nobody")
    root = ready_root(tmp_path)
    before = digest_without_log(root)
    for path in (root, root / "log"):
        path.chmod(0o555)
    try:
        with pytest.raises(SharedError, match="cannot create the lock file"):
            cutover(root=root)
    finally:
        for path in (root, root / "log"):
            path.chmod(0o755)
    assert digest_without_log(root) == before


def test_cli_json_document_has_exactly_the_promised_keys(tmp_path: Path, capsys: Capsys) -> None:
    root = ready_root(tmp_path)
    result = run_cli(capsys, "cutover", "--root", str(root), "--json")
    assert result.code == 0, result.err
    document = result.json()
    assert list(document) == ["from", "to", "switched", "forced", "preflight", "pointers"]
    assert document["pointers"] == {"current": "v26.7", "previous": "v24.11", "qa": None}
    assert document["preflight"][0] == {
        "name": "installation", "ok": True, "detail": "v26.7: conda 26.7.1, python 3.12.7",
        "fix": None,
    }  # fmt: skip


def test_cli_without_a_terminal_asks_for_yes(tmp_path: Path, capsys: Capsys) -> None:
    root = ready_root(tmp_path)
    result = run_cli(capsys, "cutover", "--root", str(root))
    assert result.code == 2
    assert "Preview it with --dry-run, then run it again with --yes" in result.err
    assert len(result.err.strip().splitlines()) == 1


def test_cli_text_on_the_sample_says_why_and_force_still_works(
    tmp_path: Path, capsys: Capsys
) -> None:
    root = make_sample(tmp_path)
    dry = run_cli(capsys, "cutover", "--root", str(root), "--dry-run")
    assert dry.code == 1
    assert "FAIL  conda" in dry.out
    assert "FAIL  replicate     no replicate report into v26.7" in dry.out
    forced = run_cli(capsys, "cutover", "--root", str(root), "--yes", "--force")
    assert forced.code == 0
    assert "switched: current -> v26.7 (forced past: conda, conda-shared, replicate, kernels;" in (
        forced.out
    )
    back = run_cli(capsys, "cutover", "--root", str(root), "--rollback", "--yes", "--force")
    assert back.code == 0 and "rolled back: current -> v24.11" in back.out
    assert run_cli(capsys, "cutover", "--root", str(root), "--rollback", "--to", "x").code == 2


def test_status_explains_an_interrupted_switch(tmp_path: Path) -> None:
    root = ready_root(tmp_path)
    pending = {
        "action": "cutover", "from": str(root / "v24.11"), "to": str(root / "v26.7"),
        "writes": [["previous", str(root / "v24.11")], ["current", str(root / "v26.7")]],
        "before": [["previous", None], ["current", str(root / "v24.11")]],
        "started": "2026-12-02T10:00:00Z", "user": "admin", "pid": 1,
    }  # fmt: skip
    (root / "log" / "cutover.pending.json").write_text(json.dumps(pending))
    (problem,) = shared_status(root=root).problems
    assert problem == (
        "cutover: a cutover from v24.11 to v26.7, started 2026-12-02T10:00:00Z by admin, stopped "
        "half-way; run `conda shared cutover --to v26.7` to finish it, or `conda shared cutover "
        "--rollback` to undo it"
    )


@pytest.mark.parametrize(("answer", "switched"), [("y", True), ("n", False)])
def test_cli_asks_on_a_terminal_after_the_preflight(
    tmp_path: Path, answer: str, switched: bool
) -> None:
    root = ready_root(tmp_path)
    controller, terminal = pty.openpty()
    os.write(controller, f"{answer}\n".encode())
    run = subprocess.run(
        [sys.executable, "-m", "conda_shared", "cutover", "--root", str(root)],
        stdin=terminal,
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(Path(__file__).parent.parent)},
        check=False,
    )
    os.close(terminal)
    os.close(controller)
    assert "Switch current from v24.11 to v26.7 for every user? [y/N]" in run.stdout
    assert run.stdout.count("preflight:") == 1
    assert (run.returncode == 0) is switched
    assert (os.readlink(root / "current") == "v26.7") is switched
    assert ("cancelled: nothing was changed" in run.stdout) is not switched


def test_symlink_loops_are_explained_not_tracebacks(tmp_path: Path) -> None:
    root = ready_root(tmp_path)
    os.unlink(root / "qa")
    os.symlink("loop", root / "qa")
    os.symlink("qa", root / "loop")
    with pytest.raises(
        InputError, match="qa cannot be cut over to: a symlink loop: loop leads back to itself"
    ):
        cutover(root=root)
    os.unlink(root / "qa")
    os.symlink("v26.7", root / "qa")
    report = root / "reports" / "20261205T000000Z" / "report.json"
    report.parent.mkdir()
    os.symlink("l2", root / "l1")
    os.symlink("l1", root / "l2")
    report.write_text(json.dumps({"to": str(root / "l1"), "started": "z", "envs": []}))
    (check,) = [c for c in cutover(root=root, dry_run=True).preflight if c.name == "replicate"]
    assert check.ok, "the loop is skipped; the earlier report into v26.7 still counts"


def test_a_second_rollback_does_not_go_forward_again(
    tmp_path: Path, capsys: Capsys, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = ready_root(tmp_path)
    shutil.rmtree(root / "reports")  # the target's checks fail: only --force gets there
    assert run_cli(capsys, "cutover", "--root", str(root), "--yes", "--force").code == 0
    assert run_cli(capsys, "cutover", "--root", str(root), "--rollback", "--yes").code == 0
    rolled_back = pointers(root)
    again = run_cli(capsys, "cutover", "--root", str(root), "--rollback", "--yes")
    assert again.code == 2
    (line,) = again.err.strip().splitlines()
    assert "refusing to roll back: the last switch already was a rollback (rollback v26.7 -> " in (
        line
    )
    assert "current is v24.11, previous is v26.7" in line
    assert pointers(root) == rolled_back
    assert [e["action"] for e in log_lines(root)] == ["cutover", "rollback"]
    (command,) = printed_commands(line)
    assert command == f"conda-shared cutover --root {shlex.quote(str(root))} --to v26.7"
    forward = paste(capsys, monkeypatch, command)
    assert forward.code == 1, "a forward move runs the cutover checks"
    assert "FAIL  replicate" in forward.out
    assert pointers(root) == rolled_back


def test_a_rollback_needs_the_pointers_the_last_cutover_left(tmp_path: Path) -> None:
    root = ready_root(tmp_path)
    os.symlink("v26.7", root / "previous")  # set by hand: "back" would be a move forward
    with pytest.raises(InputError, match="refusing to roll back: no completed cutover is recorded"):
        cutover(rollback=True, root=root)
    os.unlink(root / "previous")
    cutover(root=root)
    for name, target in (("current", "v24.11"), ("previous", "v26.7")):  # switched back by hand
        os.unlink(root / name)
        os.symlink(target, root / name)
    with pytest.raises(
        InputError,
        match=re.escape("the pointers changed since the last cutover (cutover v24.11 ->"),
    ):
        cutover(rollback=True, root=root, dry_run=True)
    assert pointers(root)["current"] == "v24.11"


def test_commands_in_fix_lines_are_quoted_for_a_root_with_spaces(tmp_path: Path) -> None:
    root = ready_root(tmp_path, name="shared root with spaces")
    target = root / "v26.7"
    (target / "conda-meta" / "conda-shared-0.1.0-0.json").unlink()
    (target / "bin" / "conda").write_text("#!/bin/sh\nexit 1\n")
    checks = {c.name: c for c in cutover(root=root, dry_run=True).preflight}
    assert shlex.split(str(checks["conda-shared"].fix)) == [
        str(target / "bin" / "conda"), "install", "-p", str(target), "conda-shared",
    ]  # fmt: skip
    (shown,) = re.findall(r"`([^`]+)`", str(checks["conda"].fix))
    assert shlex.split(shown) == [str(target / "bin" / "conda"), "--version"]
