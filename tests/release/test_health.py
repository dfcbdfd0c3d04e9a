"""release/health.py and doctor's `releases` check: changed releases, leftovers, dangling links."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from conda_shared import fs
from conda_shared.doctor import NOTE, PROBLEM, check_root
from conda_shared.release import health
from conda_shared.release.layout import BUILDING_MARKER, FILES_LIST, records_dir, release_prefix
from tests.release.published import build_release, make_root, publish


def issues(root: Path, installation: Path) -> list[tuple[str, str, str | None]]:
    return [
        (issue.kind, issue.env, issue.release_id)
        for issue in health.release_issues(root=root, installation=installation)
    ]


def test_intact_releases_have_no_issues(tmp_path: Path) -> None:
    root, installation = make_root(tmp_path)
    for release_id in ("2026.12.07", "2026.12.07a"):
        build_release(installation, "ds", release_id)
        publish(root, installation, "ds", release_id)
    assert issues(root, installation) == []
    assert [
        f for f in check_root(root=root, system_config_dirs=()).findings if f.check == "releases"
    ] == []


def test_a_changed_release_is_a_problem_naming_its_files(tmp_path: Path) -> None:
    root, installation = make_root(tmp_path)
    prefix = build_release(installation, "ds", "2026.12.07")
    publish(root, installation, "ds", "2026.12.07")
    (prefix / "lib" / "libz.so.1").write_bytes(b"patched in place")
    report = check_root(root=root, system_config_dirs=())
    (finding,) = [f for f in report.findings if f.check == "releases"]
    assert finding.severity == PROBLEM
    assert finding.message == (
        "release ds@2026.12.07 changed since it was published: 1 files (changed: lib/libz.so.1)"
    )
    lock = records_dir(root, installation, "ds", "2026.12.07") / "ds.lock"
    assert finding.fix.endswith(f"conda shared release ds --file {lock} --from v1")


def test_an_unpublished_build_is_a_leftover_unless_its_lock_is_held(tmp_path: Path) -> None:
    root, installation = make_root(tmp_path)
    build_release(installation, "ds", "2026.12.07")
    publish(root, installation, "ds", "2026.12.07")
    building = build_release(installation, "ds", "2026.12.07a")
    (building / BUILDING_MARKER).touch()
    private = build_release(installation, "ds", "2026.12.07b")
    os.chmod(private, 0o700)
    assert issues(root, installation) == [
        (health.UNPUBLISHED, "ds", "2026.12.07a"),
        (health.UNPUBLISHED, "ds", "2026.12.07b"),
    ]
    probe = (
        "from pathlib import Path\nfrom conda_shared.release import health\n"
        f"print(len(health.release_issues(root=Path({str(root)!r}), "
        f"installation=Path({str(installation)!r}))))"
    )
    with fs.exclusive_lock(installation / "envs" / ".releases" / "ds" / ".release.lock"):
        seen = subprocess.run(
            [sys.executable, "-c", probe], capture_output=True, text=True, check=True
        )
    assert seen.stdout == "0\n"  # a release of ds runs: its folders are its own


def test_a_published_release_without_files_json_is_a_note(tmp_path: Path) -> None:
    root, installation = make_root(tmp_path)
    build_release(installation, "ds", "2026.12.07")
    publish(root, installation, "ds", "2026.12.07")
    (records_dir(root, installation, "ds", "2026.12.07") / FILES_LIST).unlink()
    report = check_root(root=root, system_config_dirs=())
    (finding,) = [f for f in report.findings if f.check == "releases"]
    assert finding.severity == NOTE and "cannot be checked" in finding.message


def test_a_dangling_env_link_points_to_the_newest_release_left(tmp_path: Path) -> None:
    root, installation = make_root(tmp_path)
    for release_id in ("2026.12.07", "2026.12.07a"):
        build_release(installation, "ds", release_id)
        publish(root, installation, "ds", release_id)
    shutil.rmtree(release_prefix(installation, "ds", "2026.12.07a"))
    report = check_root(root=root, system_config_dirs=())
    (finding,) = [f for f in report.findings if f.check == "releases"]
    assert finding.severity == PROBLEM
    assert finding.message.startswith(f"{installation / 'envs' / 'ds'} points at a release")
    assert finding.fix.endswith("conda shared release rollback ds --to 2026.12.07 --from v1")


def test_a_dangling_link_with_no_release_left(tmp_path: Path) -> None:
    root, installation = make_root(tmp_path)
    (installation / "envs" / "gone").symlink_to(".releases/gone/2026.12.07")
    assert issues(root, installation) == [(health.DANGLING, "gone", None)]
