"""doctor.py on real roots in tmp_path: the sample, and hand-made broken ones."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest

from conda_shared.doctor import NOTE, PROBLEM, DoctorReport, check_root, fix_permissions
from conda_shared.errors import InputError
from tests.roots import make_installation, make_sample, write_record


def check(root: Path, system: Path | None = None) -> DoctorReport:
    return check_root(root=root, system_config_dirs=(system,) if system else ())


def with_plugin(installation: Path, version: str = "0.1.0") -> Path:
    write_record(
        installation,
        {"name": "conda-shared", "version": version, "build": "py_0", "files": []},
    )
    return installation


def hand_made_root(tmp_path: Path) -> Path:
    """ROOT with v1 (plugin 0.2.0, current) and an env, like an admin would have it."""
    root = tmp_path / "root"
    with_plugin(make_installation(root / "v1"), "0.2.0")
    make_installation(root / "v1" / "envs" / "analysis")
    os.symlink("v1", root / "current")
    return root


def by_check(report: DoctorReport, name: str) -> list[tuple[str, str]]:
    return [(f.severity, f.message) for f in report.findings if f.check == name]


def test_sample_root(tmp_path: Path) -> None:
    root = make_sample(tmp_path)
    report = check(root)
    assert report.root == root
    assert [(i.installation, i.pointers, i.conda_shared_version) for i in report.installations] == [
        ("v24.11", ("current",), "0.1.0"),
        ("v26.7", ("qa",), None),
    ]
    assert by_check(report, "kernels") == [
        (
            PROBLEM,
            f"kernel retired_kernel: {root}/current/envs/retired_env/bin/python does not exist",
        )
    ]
    assert by_check(report, "pointers") == [] and report.writable == ()
    (plugin,) = by_check(report, "plugin")
    assert plugin[0] == NOTE and "not installed in the base of v26.7 (qa)" in plugin[1]
    config = by_check(report, "config")
    assert [severity for severity, _ in config] == [NOTE, NOTE, NOTE]  # policy is warn: notes


def test_group_and_other_writable_shared_envs(tmp_path: Path) -> None:
    root = hand_made_root(tmp_path)
    env = root / "v1" / "envs" / "analysis"
    os.chmod(env, 0o775)
    os.chmod(env / "conda-meta", 0o777)
    report = check(root)
    assert [(w.path, w.mode) for w in report.writable] == [
        (env, 0o775),
        (env / "conda-meta", 0o777),
    ]
    messages = [m for _, m in by_check(report, "permissions")]
    assert f"{env} is writable by group (mode 775)" in messages[0]
    assert "writable by group and others (mode 777)" in messages[1]
    result = fix_permissions(root=report.root, dirs=report.writable)
    assert result.fixed == (env, env / "conda-meta") and result.failed == ()
    assert stat.S_IMODE(env.stat().st_mode) == 0o755
    assert stat.S_IMODE((env / "conda-meta").stat().st_mode) == 0o755
    assert check(root).writable == ()


def test_a_fix_that_cannot_be_made_is_reported(tmp_path: Path) -> None:
    root = hand_made_root(tmp_path)
    env = root / "v1" / "envs" / "analysis"
    os.chmod(env, 0o775)
    report = check(root)
    env.rename(env.with_name("gone"))
    result = fix_permissions(root=report.root, dirs=report.writable)
    assert result.fixed == () and result.failed[0][0] == env


def test_dangling_and_unset_pointers(tmp_path: Path) -> None:
    root = hand_made_root(tmp_path)
    os.symlink("v9", root / "qa")
    report = check(root)
    assert by_check(report, "pointers") == [(PROBLEM, f"{root}/qa: dangling: v9 does not exist")]
    assert report.problems
    (root / "current").unlink()
    (root / "qa").unlink()
    (message,) = [m for _, m in by_check(check(root), "pointers")]
    assert message == f"{root}/current is not set: users of this root get no installation"


def test_kernels_that_do_not_resolve_or_bypass_current(tmp_path: Path) -> None:
    root = hand_made_root(tmp_path)
    python = root / "v1" / "envs" / "analysis" / "bin" / "python"
    python.parent.mkdir()
    python.write_text("")
    for name, argv0 in (
        ("good", f"{root}/current/envs/analysis/bin/python"),
        ("direct", str(python)),
        ("missing", f"{root}/current/envs/gone/bin/python"),
    ):
        spec = root / "kernels" / name / "kernel.json"
        spec.parent.mkdir(parents=True)
        spec.write_text(json.dumps({"argv": [argv0, "-m", "ipykernel_launcher"]}))
    (root / "kernels" / "unreadable").mkdir()
    findings = by_check(check(root), "kernels")
    assert findings[0] == (
        NOTE,
        f"kernel direct runs {python} directly, not through {root}/current, so it will not "
        "follow a cutover",
    )
    assert findings[1] == (
        PROBLEM,
        f"kernel missing: {root}/current/envs/gone/bin/python does not exist",
    )
    assert findings[2][0] == PROBLEM and findings[2][1].startswith("kernel unreadable: unreadable")


def test_config_that_defeats_an_error_policy(tmp_path: Path) -> None:
    root = hand_made_root(tmp_path)
    (root / "v1" / ".condarc").write_text("plugins:\n  shared_channel_policy: error\n")
    config = by_check(check(root), "config")
    assert [severity for severity, _ in config] == [PROBLEM] * 3
    assert "switch conda-shared off" in config[0][1]
    assert "--override-channels -c X" in config[1][1]
    assert "set plugins.shared_channel_policy to off" in config[2][1]


def test_pins_in_admin_files_satisfy_the_checks(tmp_path: Path) -> None:
    root = hand_made_root(tmp_path)
    system = tmp_path / "etc-conda"
    system.mkdir()
    (system / ".condarc").write_text(
        "no_plugins: false  #!final\n"
        "override_channels_enabled: false #!final\n"
        "plugins:\n"
        "  shared_channel_policy: 'error'  #!final\n"
    )
    # An installation file cannot undo what an earlier admin file pinned.
    (root / "v1" / ".condarc").write_text(
        "no_plugins: true\nplugins:\n  shared_channel_policy: off\n"
    )
    assert by_check(check(root, system), "config") == []
    assert by_check(check(root), "config") == []  # policy off in v1: nothing to defeat


def test_unpinned_or_nested_wrongly_does_not_count(tmp_path: Path) -> None:
    root = hand_made_root(tmp_path)
    (root / "v1" / ".condarc").write_text(
        "pkgs_dirs_map:\n"
        "  no_plugins: false  #!final\n"  # nested: not conda's top-level key
        "override_channels_enabled: false\n"  # not final
        "shared_channel_policy: error  #!final\n"  # top level: not the plugin setting
    )
    assert len(by_check(check(root), "config")) == 3


def test_plugin_missing_in_current_is_a_problem(tmp_path: Path) -> None:
    root = tmp_path / "root"
    make_installation(root / "v1")
    os.symlink("v1", root / "current")
    report = check(root)
    ((severity, message),) = by_check(report, "plugin")
    assert severity == PROBLEM and "not installed in the base of v1 (current)" in message
    assert report.installations[0].conda_shared_version is None
    assert by_check(report, "config") == []  # without the plugin its settings mean nothing


def test_a_single_installation_is_a_root(tmp_path: Path) -> None:
    single = with_plugin(make_installation(tmp_path / "miniconda"))
    (single / "share" / "jupyter" / "kernels" / "k").mkdir(parents=True)
    (single / "share" / "jupyter" / "kernels" / "k" / "kernel.json").write_text(
        json.dumps({"argv": ["/nowhere/python"]})
    )
    report = check(single)
    assert report.installations[0].pointers == ("current",)
    assert by_check(report, "pointers") == []
    assert [m for _, m in by_check(report, "kernels")] == [
        "kernel k: /nowhere/python does not exist"
    ]


def test_not_a_root(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="is not a shared root"):
        check(tmp_path)


def test_permission_fix_is_audited(tmp_path: Path) -> None:
    root = make_sample(tmp_path)
    (root / "v24.11" / "envs" / "r_env").chmod(0o777)
    report = check_root(root=root)
    fix_permissions(root=report.root, dirs=report.writable)
    last = json.loads((root / "log" / "shared.log").read_text().splitlines()[-1])
    assert last["command"].startswith("doctor --fix: remove group/other write")
    assert last["result"].endswith("0 failed")


@pytest.mark.parametrize("swap", ["symlink", "other directory"])
def test_fix_never_follows_a_directory_swapped_after_the_check(tmp_path: Path, swap: str) -> None:
    root = hand_made_root(tmp_path)
    env = root / "v1" / "envs" / "analysis"
    (env / "bin").mkdir()
    os.chmod(env / "bin", 0o777)
    report = check(root)
    assert [w.path for w in report.writable] == [env / "bin"]
    victim = tmp_path / "victim"  # e.g. a user's directory the admin's fix must not touch
    victim.mkdir()
    os.chmod(victim, 0o777)
    (env / "bin").rmdir()  # the window between the check and the fix
    if swap == "symlink":
        (env / "bin").symlink_to(victim)
    else:
        victim.rename(env / "bin")
    result = fix_permissions(root=report.root, dirs=report.writable)
    assert result.fixed == ()
    assert result.failed[0][0] == env / "bin"
    assert "not changed" in result.failed[0][1]
    changed = victim if swap == "symlink" else env / "bin"
    assert stat.S_IMODE(changed.stat().st_mode) == 0o777


def test_latin1_condarc_still_counts_its_pins_and_is_noted(tmp_path: Path) -> None:
    root = hand_made_root(tmp_path)
    (root / "v1" / ".condarc").write_bytes(
        b"# Konfiguration f\xfcr alle\nno_plugins: false  #!final\n"
    )
    report = check(root)
    config = by_check(report, "config")
    assert not any("switch conda-shared off" in message for _, message in config)
    assert (
        NOTE,
        f"v1: {root / 'v1' / '.condarc'} is not UTF-8 (byte 0xfc at offset 17); read it as Latin-1",
    ) in config


def test_admin_overlays_whose_env_changed_or_vanished_are_reported(tmp_path: Path) -> None:
    from conda_shared.condarc import CondaConfig
    from conda_shared.prefix import read_env
    from conda_shared.specs import content_key

    root = make_sample(tmp_path)
    env = root / "v24.11" / "envs" / "r_env"
    key = content_key(read_env(env, name="r_env", config=CondaConfig(), owned_dists=False))

    def overlay(name: str, prefix: Path, recorded: str) -> None:
        # as conda-shared lays one out: a relative link to its generation beside it
        generation = root / "overlays" / f".{name}.gen-0123abcd"
        generation.mkdir(parents=True)
        (generation / "overlay.json").write_text(
            json.dumps({"env_prefix": str(prefix), "env_content_key": recorded})
        )
        (root / "overlays" / name).symlink_to(generation.name)

    overlay("r_env", env, key)
    assert not [f for f in check_root(root=root).findings if f.check == "overlays"]

    overlay("changed", env, "sha256:" + "0" * 64)
    overlay("gone", root / "v24.11" / "envs" / "retired", key)
    found = {
        Path(f.subject).name: f for f in check_root(root=root).findings if f.check == "overlays"
    }
    assert set(found) == {"changed", "gone"}
    assert (
        found["changed"].severity == NOTE
        and "changed since the overlay" in found["changed"].message
    )
    assert found["gone"].severity == PROBLEM and "cannot be read" in found["gone"].message
    assert "overlay check" in found["changed"].fix
