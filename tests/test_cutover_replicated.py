"""cutover's replicate check: each env by its latest result across replicate runs and by what the
target holds now, matched by the inventory's identity; every fix line it prints, pasted, works."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from conda_shared.cutover import cutover
from tests.roots import CliResult, make_sample, paste, printed_commands, run_cli, write_record
from tests.support.fake_target import add_fake_target
from tests.support.ready_root import ready_root, write_report

Capsys = pytest.CaptureFixture[str]
ENVS = ("nhis_reformat", "mixed_numpy")
DATA = Path(__file__).parent / "data" / "conda_errors" / "26.7.1"


@pytest.fixture
def root(tmp_path: Path) -> Path:
    """The sample root, `vfake` (its conda is tests/replicate/fake_conda.py), an inventory."""
    root = make_sample(tmp_path)
    add_fake_target(root)
    inventory = root / "specs" / "v24.11" / "inventory.ini"
    inventory.parent.mkdir(parents=True, exist_ok=True)
    inventory.write_text("".join(f"{env} = REPLICATE\n" for env in ENVS))
    return root


def replicate(capsys: Capsys, root: Path, *args: str) -> CliResult:
    return run_cli(capsys, "replicate", "--root", str(root), "--to", "vfake", *args)


def replicate_check(capsys: Capsys, root: Path) -> dict[str, Any]:
    dry = run_cli(capsys, "cutover", "--root", str(root), "--to", "vfake", "--dry-run", "--json")
    return {c["name"]: c for c in dry.json()["preflight"]}["replicate"]  # type: ignore[no-any-return]


def test_a_plain_rerun_that_skips_the_built_envs_still_passes(capsys: Capsys, root: Path) -> None:
    assert replicate(capsys, root, *ENVS).code == 0
    rerun = replicate(capsys, root, *ENVS, "--json")
    assert [env["status"] for env in rerun.json()["envs"]] == ["skipped", "skipped"]
    check = replicate_check(capsys, root)
    assert check["ok"], check
    assert check["detail"].startswith("all 2 REPLICATE envs of the inventory replicated")


def test_a_run_limited_to_some_envs_keeps_the_others_results(capsys: Capsys, root: Path) -> None:
    assert replicate(capsys, root, *ENVS).code == 0
    assert replicate(capsys, root, "--force", "nhis_reformat").code == 0
    check = replicate_check(capsys, root)
    assert check["ok"], check


def test_an_inventory_that_marks_nothing_replicate_is_no_pass(capsys: Capsys, root: Path) -> None:
    """Its REPLICATE marks lost (commented out, say): "all 0 envs replicated" proves nothing."""
    assert replicate(capsys, root, *ENVS).code == 0
    inventory = root / "specs" / "v24.11" / "inventory.ini"
    inventory.write_text("".join(f"# gone: {env} = REPLICATE\n" for env in ENVS))
    check = replicate_check(capsys, root)
    assert not check["ok"], check
    assert check["detail"] == f"{inventory} marks no environment REPLICATE"


def smoke_failed(root: Path, name: str) -> None:
    """What a failed smoke test leaves in the report (the env stays in the target)."""
    (report,) = (root / "reports").glob("*/report.json")
    document = json.loads(report.read_text())
    for env in document["envs"]:
        if env["name"] == name:
            env["smoke"]["ok"] = False
    report.write_text(json.dumps(document))


def failing_build(root: Path, name: str) -> None:
    rule = {"match": name, "document": str(DATA / "unsatisfiable.json"), "download_only": False}
    (root / "vfake" / "fake-rules.json").write_text(json.dumps([rule]))


BREAKAGES = {
    "gone": lambda root: shutil.rmtree(root / "vfake" / "envs" / "mixed_numpy"),
    "smoke test failed": lambda root: smoke_failed(root, "mixed_numpy"),
}


@pytest.mark.parametrize(
    ("how", "detail", "fix"),
    [
        ("gone", "replicated in run {run}, since gone from vfake", "mixed_numpy"),
        ("smoke test failed", "smoke test failed in run {run}", "--force mixed_numpy"),
        ("failed", "failed in run {run}", "mixed_numpy"),
        ("built by hand", "exists in vfake but no replicate run built it", "--force mixed_numpy"),
    ],
)
def test_every_fix_line_pasted_settles_what_it_names(
    capsys: Capsys,
    monkeypatch: pytest.MonkeyPatch,
    root: Path,
    *,
    how: str,
    detail: str,
    fix: str,
) -> None:
    if how == "built by hand":
        write_record(
            root / "vfake" / "envs" / "mixed_numpy", {"name": "x", "version": "1", "build": "0"}
        )
    if how == "failed":
        failing_build(root, "numpy")
    replicate(capsys, root, *ENVS)
    (run,) = (p.name for p in (root / "reports").iterdir())
    if how in BREAKAGES:
        BREAKAGES[how](root)
    (root / "vfake" / "fake-rules.json").unlink(missing_ok=True)
    check = replicate_check(capsys, root)
    assert not check["ok"]
    assert check["detail"].startswith(f"mixed_numpy: {detail.format(run=run)} (latest results")
    (command,) = printed_commands(check["fix"])
    assert command == f"conda-shared replicate --root {root} --to vfake {fix}"
    assert paste(capsys, monkeypatch, command).code == 0
    assert replicate_check(capsys, root)["ok"]
    text = run_cli(capsys, "cutover", "--root", str(root), "--to", "vfake", "--dry-run")
    assert f"fix: {command}" not in text.out


def test_a_platform_mismatch_fix_line_names_the_virtual_package_and_settles_it(
    capsys: Capsys, monkeypatch: pytest.MonkeyPatch, root: Path
) -> None:
    gpu = {"name": "torchlite", "version": "2.1", "build": "cuda118_0", "channel": "defaults"}
    gpu |= {"subdir": "linux-64", "depends": ["__cuda >=11.8"]}
    write_record(root / "current" / "envs" / "mixed_numpy", gpu)
    assert replicate(capsys, root, *ENVS).code == 1
    (run,) = (p.name for p in (root / "reports").iterdir())
    check = replicate_check(capsys, root)
    assert check["detail"].startswith(f"mixed_numpy: failed (platform-mismatch) in run {run}")
    (command,) = printed_commands(check["fix"])
    fix = "--virtual-package __cuda=11.8 mixed_numpy"
    assert command == f"conda-shared replicate --root {root} --to vfake {fix}"
    assert paste(capsys, monkeypatch, command).code == 0
    assert replicate_check(capsys, root)["ok"]


def test_envs_that_share_a_name_are_told_apart_by_their_path(tmp_path: Path) -> None:
    root = ready_root(tmp_path, envs=("ds",))
    first, second = root / "v24.11" / "envs" / "ds", tmp_path / "home" / "ann" / "envs" / "ds"
    (root / "specs" / "v24.11" / "inventory.ini").write_text(
        f"{first} = REPLICATE\n{second} = REPLICATE\n"
    )
    (check,) = [c for c in cutover(root=root, dry_run=True).preflight if c.name == "replicate"]
    assert (check.ok, check.detail.split(" (")[0]) == (False, f"{second}: not replicated yet")
    assert check.commands == (("replicate", "--to", "v26.7"),)  # the inventory names it
    report = write_report(
        root, root / "v26.7", {"ds~1a2b3c4d": ("replicated", True)}, stamp="20261202T000000Z"
    )
    document = json.loads(report.read_text())
    document["envs"][0]["source_prefix"] = str(second)
    report.write_text(json.dumps(document))
    (root / "v26.7" / "envs" / "ds~1a2b3c4d").mkdir()
    (check,) = [c for c in cutover(root=root, dry_run=True).preflight if c.name == "replicate"]
    assert check.ok, check.detail
