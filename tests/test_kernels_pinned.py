"""kernels pin: a kernel that stays on one release of an env, listed with it, kept by sync and
exempt from the cutover kernel check."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from conda_shared.cutover import cutover
from conda_shared.errors import InputError
from conda_shared.kernels.follow import list_kernels, sync_kernels
from conda_shared.kernels.pinned import pin_kernel, pinned_to
from conda_shared.release.layout import link_text, pinned_releases, release_prefix
from tests.roots import run_cli, write_record
from tests.support.ready_root import add_env, add_kernel, ready_root

Capsys = pytest.CaptureFixture[str]
RELEASE = "2026.12.07"


def released_root(tmp_path: Path) -> tuple[Path, Path]:
    """ready_root with env ds of current (v24.11) as a release with Python and ipykernel."""
    root = ready_root(tmp_path)
    installation = root / "v24.11"
    prefix = release_prefix(installation, "ds", RELEASE)
    write_record(prefix, {"name": "ipykernel", "version": "6.29.5", "build": "0", "files": []})
    (prefix / "bin").mkdir()
    (prefix / "bin" / "python").write_text("#!/bin/sh\n")
    (installation / "envs" / "ds").symlink_to(link_text(RELEASE, "ds"))
    return root, installation


def test_pin_writes_the_contract_kernelspec_once(tmp_path: Path) -> None:
    root, installation = released_root(tmp_path)
    pin = pin_kernel(root=root, installation=None, name="ds", release_id=RELEASE)
    python = root / "v24.11" / "envs" / ".releases" / "ds" / RELEASE / "bin" / "python"
    assert (pin.kernel, pin.display_name, pin.python, pin.created) == (
        f"ds-{RELEASE}",
        f"ds ({RELEASE})",
        python,
        True,
    )
    spec = json.loads((root / "kernels" / f"ds-{RELEASE}" / "kernel.json").read_text())
    assert spec["argv"][0] == str(python) and spec["display_name"] == f"ds ({RELEASE})"
    assert pinned_releases(root, installation, "ds") == frozenset({RELEASE})
    assert pinned_to(str(python), root) is not None
    assert not pin_kernel(root=root, installation="v24.11", name="ds", release_id=RELEASE).created
    log = [json.loads(line) for line in (root / "log" / "shared.log").read_text().splitlines()]
    assert [entry["action"] for entry in log].count("kernels-pin") == 1


def test_an_unknown_release_is_refused_with_the_list_command(tmp_path: Path) -> None:
    root, _ = released_root(tmp_path)
    with pytest.raises(InputError) as caught:
        pin_kernel(root=root, installation=None, name="ds", release_id="2026.12.08")
    assert caught.value.message == f"ds has no release 2026.12.08 in v24.11 (releases: {RELEASE})"
    assert caught.value.command == ("release", "list", "ds", "--from", "v24.11")
    assert not (root / "kernels" / "ds-2026.12.08").exists()


def test_a_kernel_folder_taken_by_another_kernel_is_not_overwritten(tmp_path: Path) -> None:
    root, _ = released_root(tmp_path)
    add_kernel(root, f"ds-{RELEASE}", "/usr/bin/python3")
    with pytest.raises(InputError, match=r"exists in .* and runs /usr/bin/python3"):
        pin_kernel(root=root, installation=None, name="ds", release_id=RELEASE)


def test_listed_with_its_release_kept_by_sync_and_exempt_from_cutover(tmp_path: Path) -> None:
    root, installation = released_root(tmp_path)
    pin_kernel(root=root, installation=None, name="ds", release_id=RELEASE)
    (shown,) = [k for k in list_kernels(root=root).kernels if k.name == f"ds-{RELEASE}"]
    assert (shown.env, shown.release, shown.follows_current) == ("ds", RELEASE, False)
    (check,) = [c for c in cutover(root=root, dry_run=True).preflight if c.name == "kernels"]
    assert check.ok, check.detail
    shutil.rmtree(release_prefix(installation, "ds", RELEASE))  # even a broken pin is kept
    assert sync_kernels(root=root, remove_stale=True).removed == ()
    assert (root / "kernels" / f"ds-{RELEASE}").is_dir()


def test_a_kernel_running_an_env_directly_still_fails_preflight(tmp_path: Path) -> None:
    root, _ = released_root(tmp_path)
    add_env(root / "v24.11", "direct")
    add_kernel(root, "direct", str(root / "v24.11" / "envs" / "direct" / "bin" / "python"))
    add_kernel(root, "fake-release", f"/elsewhere/envs/.releases/ds/{RELEASE}/bin/python")
    assert pinned_to(f"/elsewhere/envs/.releases/ds/{RELEASE}/bin/python", root) is None
    (check,) = [c for c in cutover(root=root, dry_run=True).preflight if c.name == "kernels"]
    assert not check.ok and "direct:" in check.detail


def test_cli_pin_and_list(tmp_path: Path, capsys: Capsys) -> None:
    root, _ = released_root(tmp_path)
    pinned = run_cli(capsys, "kernels", "--root", str(root), "pin", "ds", RELEASE)
    assert pinned.code == 0
    assert pinned.out.startswith(f"pinned: kernel ds-{RELEASE} ('ds ({RELEASE})') runs release")
    listed = run_cli(capsys, "kernels", "--root", str(root), "--json")
    (entry,) = [k for k in json.loads(listed.out)["kernels"] if k["name"] == f"ds-{RELEASE}"]
    assert entry["release"] == RELEASE and entry["env"] == "ds"
    text = run_cli(capsys, "kernels", "--root", str(root))
    assert f"pinned {RELEASE}" in text.out


def test_cli_pin_needs_a_name_and_a_release(tmp_path: Path, capsys: Capsys) -> None:
    root, _ = released_root(tmp_path)
    missing = run_cli(capsys, "kernels", "--root", str(root), "pin", "ds")
    assert missing.code == 2
    assert missing.err.splitlines() == [
        "conda-shared: error: kernels pin takes an env name and one of its releases. Name both; "
        f"the releases of an env are listed by: conda-shared release --root {root} list NAME"
    ]
