"""The command line at its edges: read-only sources, OS errors, other users, odd bytes, Ctrl-C."""

from __future__ import annotations

import json
import os
import shlex
import shutil
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.roots import make_sample, run_cli, tree_digest
from tests.support.users import (
    NOBODY,
    OTHER,
    REPO,
    home_of,
    needs_root,
    reachable_dir,
    run_as,
    setpriv,
)

Capsys = pytest.CaptureFixture[str]
as_root_only = needs_root
READ_ONLY_VERBS = (("status",), ("inventory", "--no-sizes"), ("doctor",))


def one_error_line(err: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert "Traceback" not in err
    return lines[0]


# -- sources stay untouched -------------------------------------------------------------------


def test_read_only_verbs_leave_a_plain_installation_byte_identical(
    tmp_path: Path, capsys: Capsys, private_home: Path
) -> None:
    installation = make_sample(tmp_path) / "v24.11"  # used as its own root: the USGS pattern
    before = tree_digest(tmp_path / "root")
    for verb in READ_ONLY_VERBS:
        assert run_cli(capsys, *verb, "--root", str(installation)).code in (0, 1)
    out = tmp_path / "specs"
    exported = run_cli(capsys, "export", "--root", str(installation), "--out", str(out))
    assert exported.code in (0, 1) and "ok " in exported.out
    assert tree_digest(tmp_path / "root") == before
    assert not (private_home / ".conda").exists()  # read, and written only to --out


def test_export_elsewhere_leaves_a_shared_root_byte_identical(
    tmp_path: Path, capsys: Capsys
) -> None:
    root = make_sample(tmp_path)
    before = tree_digest(root)
    exported = run_cli(capsys, "export", "--root", str(root), "--out", str(tmp_path / "o"))
    assert exported.code == 0
    assert tree_digest(root) == before


def test_export_of_a_plain_installation_defaults_to_its_state_dir(
    tmp_path: Path, capsys: Capsys, private_home: Path
) -> None:
    installation = make_sample(tmp_path) / "v24.11"
    before = tree_digest(installation)
    result = run_cli(capsys, "export", "--root", str(installation), "r_env")
    assert result.code == 0
    (state,) = (private_home / ".conda" / "shared").iterdir()
    assert state.name.startswith("v24.11-")
    assert (state / "specs" / "v24.11" / "r_env.json").is_file()
    assert json.loads((state / "log" / "shared.log").read_text())["command"].startswith("export")
    assert tree_digest(installation) == before


@pytest.fixture
def shared_tmp() -> Iterator[Path]:
    with reachable_dir("conda-shared-edges-") as path:
        yield path


def as_nobody(*argv: str, home: Path) -> subprocess.CompletedProcess[str]:
    return run_as(NOBODY, *argv, home=home)


def nobody_home(base: Path, *, mode: int = 0o755) -> Path:
    return home_of(base, NOBODY, mode=mode)


@as_root_only
def test_read_only_verbs_on_a_read_only_copy_as_another_user(shared_tmp: Path) -> None:
    root = make_sample(shared_tmp)
    home = nobody_home(shared_tmp)
    subprocess.run(["chmod", "-R", "a-w", str(root)], check=True)
    before = tree_digest(root)
    for root_arg in (root, root / "v24.11"):
        for verb in READ_ONLY_VERBS:
            ran = as_nobody(*verb, "--root", str(root_arg), home=home)
            assert ran.returncode in (0, 1), ran.stderr
            assert "Traceback" not in ran.stderr
        ran = as_nobody("export", "--root", str(root_arg), "--out", str(home / "out"), home=home)
        assert ran.returncode == 0, ran.stdout + ran.stderr
        assert "note:" not in ran.stdout  # exported elsewhere: nothing to record in the root
    assert tree_digest(root) == before


# -- every OSError is one line -----------------------------------------------------------------


def test_os_errors_are_one_line_and_exit_1(tmp_path: Path, capsys: Capsys) -> None:
    a_file = tmp_path / "hostname"
    a_file.write_text("x")
    sample = run_cli(capsys, "sample", str(a_file / "demo"))
    assert sample.code == 1
    line = one_error_line(sample.err)
    assert line.startswith("conda-shared: error: ")
    assert str(a_file) in line
    root = make_sample(tmp_path)
    export = run_cli(capsys, "export", "--root", str(root), "--out", str(a_file / "x"), "r_env")
    assert export.code == 1
    assert "Not a directory" in one_error_line(export.err)
    assert "Pass --out with a directory you can write to" in export.err


def test_json_always_prints_one_json_document(tmp_path: Path, capsys: Capsys) -> None:
    a_file = tmp_path / "file"
    a_file.write_text("x")
    for argv, code in (
        (("status", "--log", "-1", "--json"), 2),  # a usage error
        (("status", "--json", "--no-such-flag"), 2),
        (("sample", str(a_file / "demo"), "--json"), 1),  # an OSError
    ):
        result = run_cli(capsys, *argv)
        assert result.code == code
        data = result.json()
        assert data["return_code"] == code
        assert data["message"] and data["next_step"]
        assert "None" not in result.out


def test_usage_errors_name_the_verb_and_its_help(capsys: Capsys) -> None:
    line = one_error_line(run_cli(capsys, "sample", "--root", "x", "y").err)
    assert line == (
        "conda-shared: error: sample does not take --root y. "
        "See its options with `conda-shared sample --help`"
    )
    line = one_error_line(run_cli(capsys, "status", "--log", "-1").err)
    assert "--log: expected a whole number, 0 or more, not -1" in line


_SLOW_IMPORT = """
import importlib.abc, runpy, sys, time

slow = sys.argv.pop(1)

class Slow(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name == slow:
            print("importing", flush=True)
            time.sleep(30)
        return None

sys.meta_path.insert(0, Slow())
runpy.run_module("conda_shared", run_name="__main__", alter_sys=True)
"""


@pytest.mark.parametrize(
    "module",
    [
        "conda_shared.errors",  # while the command line itself loads
        "conda_shared.cli.status",  # while the verb loads
    ],
)
@pytest.mark.parametrize("as_json", [False, True])
def test_ctrl_c_during_start_up_is_one_line_and_exit_130(
    tmp_path: Path, module: str, as_json: bool
) -> None:
    argv = ["status", "--root", str(tmp_path), *(["--json"] if as_json else [])]
    process = subprocess.Popen(
        [sys.executable, "-c", _SLOW_IMPORT, module, *argv],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )
    assert process.stdout is not None
    assert process.stdout.readline() == "importing\n"  # inside the imports of start-up
    process.send_signal(signal.SIGINT)
    out, err = process.communicate(timeout=60)
    assert process.returncode == 130
    if as_json:
        assert json.loads(out)["exception_name"] == "KeyboardInterrupt"
        assert err == ""
    else:
        assert one_error_line(err).startswith("conda-shared: interrupted")


# -- other users, odd bytes, loops ---------------------------------------------------------------


@as_root_only
def test_an_env_another_user_cannot_read_is_one_line_and_the_rest_goes_on(
    shared_tmp: Path,
) -> None:
    root = make_sample(shared_tmp)
    home = nobody_home(shared_tmp)
    private = root / "v24.11" / "envs" / "gitdev"
    private.chmod(0o700)
    status = as_nobody("status", "--root", str(root), home=home)
    assert status.returncode == 0 and "Traceback" not in status.stderr
    sized = as_nobody("status", "--root", str(root), "--sizes", home=home)
    assert sized.returncode == 0, sized.stderr
    left_out = f"  !! v24.11 size leaves out gitdev: cannot read {private}: permission denied"
    assert sized.stdout.splitlines().count(left_out) == 1, sized.stdout
    assert "[14/14] measuring v24.11 base\n" in sized.stderr, "progress, env by env, on stderr"
    document = json.loads(
        as_nobody("status", "--root", str(root), "--sizes", "--json", home=home).stdout
    )
    (v24,) = [i for i in document["installations"] if i["name"] == "v24.11"]
    assert v24["unreadable"] == [f"gitdev: cannot read {private}: permission denied"]
    inventory = as_nobody("inventory", "--root", str(root), "--no-sizes", home=home)
    assert inventory.returncode == 0, inventory.stderr
    (line,) = [x for x in inventory.stdout.splitlines() if x.startswith("gitdev ")]
    assert f"!! cannot read {private}/conda-meta: permission denied" in line
    assert "r_env " in inventory.stdout
    export = as_nobody("export", "--root", str(root), "--out", str(home / "out"), home=home)
    assert export.returncode == 1 and "Traceback" not in export.stderr
    assert "FAILED  gitdev: " in export.stdout
    assert "exported 12 of 13 environments" in export.stdout
    doctor = as_nobody("doctor", "--root", str(root), home=home)
    assert "Traceback" not in doctor.stderr
    assert doctor.stdout.count(f"cannot look into {private}: permission denied") == 1


@as_root_only
def test_an_unreadable_condarc_and_home_are_warnings(shared_tmp: Path) -> None:
    root = make_sample(shared_tmp)
    home = nobody_home(shared_tmp, mode=0o700)
    os.chown(home, 0, 0)  # a HOME this user cannot even look into
    condarc = root / "v24.11" / ".condarc"
    condarc.chmod(0o600)
    out = shared_tmp / "out"
    out.mkdir()
    os.chown(out, NOBODY, NOBODY)
    export = as_nobody("export", "--root", str(root), "--out", str(out), "r_env", home=home)
    assert export.returncode == 0, export.stderr
    assert f"note: {condarc} skipped: permission denied" in export.stdout
    status = as_nobody("status", "--root", str(root), home=home)
    assert f"warning: v24.11: {condarc} skipped: permission denied" in status.stdout


def test_latin1_condarc_and_inventory_are_read_and_named(tmp_path: Path, capsys: Capsys) -> None:
    root = make_sample(tmp_path)
    condarc = root / "v24.11" / ".condarc"
    condarc.write_bytes(condarc.read_bytes() + b"# gepr\xfcft von J\xf6rg\n")
    status = run_cli(capsys, "status", "--root", str(root), "--json")
    (summary,) = [i for i in status.json()["installations"] if i["name"] == "v24.11"]
    assert summary["warnings"][0].startswith(f"{condarc} is not UTF-8")
    inventory = tmp_path / "envs.ini"
    inventory.write_bytes(b"# Umgebungen f\xfcr die Migration\nr_env = skip\n")
    result = run_cli(
        capsys, "inventory", "--root", str(root), "--no-sizes", "--write", str(inventory)
    )
    assert result.code == 0
    assert f"note: {inventory} is not UTF-8 (byte 0xfc at offset 14); read it as Latin-1" in (
        result.out
    )
    assert "# Umgebungen für die Migration" in inventory.read_text(encoding="utf-8")
    assert "r_env = skip" in inventory.read_text(encoding="utf-8")
    exported = run_cli(
        capsys, "export", "--root", str(root), "--json", "--out", str(tmp_path / "o")
    )
    assert exported.json()["notes"][0].startswith(f"{condarc} is not UTF-8")


def test_symlink_loops_are_reported_not_raised(tmp_path: Path, capsys: Capsys) -> None:
    root = make_sample(tmp_path)
    (root / "current").unlink()
    (root / "current").symlink_to("current")
    (root / "v24.11" / "envs" / "loop").symlink_to("loop")
    (root / "kernels" / "loop").symlink_to("loop")
    status = run_cli(capsys, "status", "--root", str(root))
    assert status.code == 1
    assert "kernels: 2 (2 broken)" in status.out  # both run through the looping current
    assert "current  -> current  !! a symlink loop: current leads back to itself" in status.out
    inventory = run_cli(capsys, "inventory", "--root", str(root), "--from", "v24.11", "--no-sizes")
    assert inventory.code == 0
    assert "13 environments in" in inventory.out
    assert not any(line.startswith("loop ") for line in inventory.out.splitlines())
    doctor = run_cli(capsys, "doctor", "--root", str(root))
    assert doctor.code == 1 and "a symlink loop" in doctor.out


# -- messages --------------------------------------------------------------------------------------


def test_hints_paste_as_printed_with_root_and_quoting(tmp_path: Path, capsys: Capsys) -> None:
    root = make_sample(tmp_path, name="my root")
    written = tmp_path / "inventory file.ini"
    result = run_cli(
        capsys, "inventory", "--root", str(root), "--no-sizes", "--write", str(written)
    )
    (hint,) = [line for line in result.out.splitlines() if line.startswith("next:")]
    command = hint.split("then ", 1)[1]
    assert shlex.split(command) == [
        "conda-shared",
        "export",
        "--root",
        str(root),
        "--inventory",
        str(written),
    ]


def test_export_names_the_installation_that_has_the_env(tmp_path: Path, capsys: Capsys) -> None:
    root = make_sample(tmp_path)
    slashed = run_cli(capsys, "export", "--root", str(root), "v26.7/smoke")
    assert slashed.code == 2
    assert one_error_line(slashed.err).endswith(
        f"name the installation with --from: conda-shared export --root {root} --from v26.7 smoke"
    )
    out = tmp_path / "out"
    elsewhere = run_cli(capsys, "export", "--root", str(root), "--out", str(out), "smoke")
    assert elsewhere.code == 1
    assert (
        f"next: it is in v26.7: conda-shared export --root {root} --from v26.7 smoke"
        in elsewhere.out
    )
    assert "exported 0 of 1 environment from" in elsewhere.out


def test_a_history_header_that_is_not_a_date_is_not_shown_as_one(
    tmp_path: Path, capsys: Capsys
) -> None:
    root = make_sample(tmp_path)
    history = root / "v24.11" / "envs" / "r_env" / "conda-meta" / "history"
    history.write_text("==> not a date <==\n+defaults::r-base-4.1\n")
    data = run_cli(capsys, "inventory", "--root", str(root), "--no-sizes", "--json").json()
    (r_env,) = [e for e in data["envs"] if e["name"] == "r_env"]
    assert r_env["last_change"] is None


def test_the_sample_hint_names_the_standalone_command(tmp_path: Path, capsys: Capsys) -> None:
    made = run_cli(capsys, "sample", str(tmp_path / "with space"))
    quoted = shlex.quote(str(tmp_path / "with space"))
    assert f"next: conda-shared status --root {quoted}" in made.out


def test_export_refuses_names_and_an_inventory_together(tmp_path: Path, capsys: Capsys) -> None:
    root = make_sample(tmp_path)
    inventory = tmp_path / "envs.ini"
    inventory.write_text("r_env = export\n")
    result = run_cli(capsys, "export", "--root", str(root), "--inventory", str(inventory), "gitdev")
    assert result.code == 2
    assert "give environment names or --inventory, not both" in one_error_line(result.err)


def in_read_only_mount(root: Path, *argv: str) -> subprocess.CompletedProcess[str]:
    """`conda-shared ARGV` in a mount namespace where `root` is a read-only bind mount."""
    script = 'mount --bind -o ro "$0" "$0" && exec "$@"'
    command = ["unshare", "-m", "sh", "-c", script, str(root)]
    return subprocess.run(
        [*command, sys.executable, "-m", "conda_shared", *argv],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        check=False,
        timeout=120,
    )


@as_root_only
def test_verbs_on_a_read_only_mount(tmp_path: Path) -> None:
    root = make_sample(tmp_path)
    probe = in_read_only_mount(root, "--version")
    if probe.returncode != 0:
        pytest.skip(f"no read-only bind mount here: {probe.stderr.strip()}")
    before = tree_digest(root)
    for verb in READ_ONLY_VERBS:
        ran = in_read_only_mount(root, *verb, "--root", str(root))
        assert ran.returncode in (0, 1) and "Traceback" not in ran.stderr, ran.stderr
    elsewhere = in_read_only_mount(
        root, "export", "--root", str(root), "--out", str(tmp_path / "o")
    )
    assert elsewhere.returncode == 0, elsewhere.stderr
    default = in_read_only_mount(root, "export", "--root", str(root))
    assert default.returncode == 1
    assert one_error_line(default.stderr) == (
        f"conda-shared: error: cannot create the specs folder {root / 'specs' / 'v24.11'}: "
        "Read-only file system. Pass --out with a directory you can write to"
    )
    assert tree_digest(root) == before


@as_root_only
def test_a_user_without_a_home_folder_gets_answers_not_a_traceback(shared_tmp: Path) -> None:
    """HOME unset and a uid the password database does not know: no user condarc to read."""
    root = make_sample(shared_tmp)
    environ = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "PYTHONPATH": str(REPO)}
    for verb in READ_ONLY_VERBS:
        ran = subprocess.run(
            [*setpriv(OTHER), sys.executable, "-m", "conda_shared", *verb, "--root", str(root)],
            capture_output=True, text=True, env=environ, cwd=shared_tmp, check=False,
        )  # fmt: skip
        assert ran.returncode in (0, 1), ran.stderr
        assert "Traceback" not in ran.stderr


def test_an_env_folder_named_in_bytes_that_are_not_utf8_is_written_as_those_bytes(
    tmp_path: Path, capsys: Capsys
) -> None:
    root = make_sample(tmp_path)
    envs = root / "v24.11" / "envs"
    odd = os.fsdecode(b"caf\xe9")
    shutil.copytree(envs / "old_not_used", envs / odd, symlinks=True)
    written = run_cli(capsys, "inventory", "--root", str(root), "--write")
    assert written.code == 0, written.err
    inventory = (root / "specs" / "v24.11" / "inventory.ini").read_bytes()
    assert b"caf\xe9 = export" in inventory
    exported = run_cli(capsys, "export", "--root", str(root), odd)
    assert exported.code == 0, exported.err
    assert (root / "specs" / "v24.11" / f"{odd}.lock").is_file()


@as_root_only
def test_a_folder_of_the_root_another_user_cannot_enter_is_passed_over(shared_tmp: Path) -> None:
    """`ROOT/overlays` made under root's umask 077 is 0700: users' verbs still see the root."""
    root = make_sample(shared_tmp)
    (root / "private").mkdir(mode=0o700)
    home = nobody_home(shared_tmp)
    for verb in READ_ONLY_VERBS:
        ran = as_nobody(*verb, "--root", str(root), home=home)
        assert ran.returncode in (0, 1), ran.stderr
        assert "Permission denied" not in ran.stdout + ran.stderr
