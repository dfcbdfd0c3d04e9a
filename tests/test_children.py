"""Children start from a private empty folder: `conda_shared/`, `conda/` and `pip/` packages
planted in the caller's directory never run, whichever verb starts the child."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from conda_shared import children
from conda_shared.overlay.pip import absolute_paths
from tests.overlay.conftest import Env, overlays_dir, shared_env, wheels  # noqa: F401
from tests.replicate.test_run import ENVS, calls, root, run, target  # noqa: F401
from tests.replicate.test_slurm_submission import calls as slurm_calls
from tests.replicate.test_slurm_submission import fake_slurm  # noqa: F401
from tests.roots import run_cli
from tests.support.fake_target import add_fake_target
from tests.support.ready_root import ready_root

Capsys = pytest.CaptureFixture[str]
PLANTED = ("conda_shared", "conda", "pip")


def plant(folder: Path) -> Path:
    """Packages in `folder` that shadow conda-shared's, conda's and pip's: each notes in
    `folder/ran` that it ran, then fails."""
    for name in PLANTED:
        package = folder / name
        package.mkdir(parents=True)
        note = f"open({str(folder / 'ran')!r}, 'a').write({name!r} + '\\n')\n"
        (package / "__init__.py").write_text(note)
        (package / "__main__.py").write_text("raise SystemExit(3)\n")
    return folder


@pytest.fixture
def planted(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The caller's directory (this test's cwd), with planted packages."""
    folder = plant(tmp_path / "caller's folder")
    monkeypatch.chdir(folder)
    return folder


def ran(folder: Path) -> list[str]:
    path = folder / "ran"
    return path.read_text().split() if path.exists() else []


def test_a_child_starts_in_a_new_empty_folder_only_we_can_write(planted: Path) -> None:
    probe = "import os, sys; print(os.getcwd()); print(os.listdir('.')); print(sys.path[0])"
    first, second = (
        children.run(
            children.python_argv(sys.executable, ["-c", probe], keep_pythonpath=True),
            capture_output=True,
            text=True,
        ).stdout.splitlines()
        for _ in range(2)
    )
    folder, listing, path0 = first
    assert folder != str(planted) and listing == "[]" and path0 in ("", folder)
    assert second[0] != folder, "a new folder each time"
    assert not Path(folder).exists(), "removed after the child"


def test_the_folder_is_private_and_works_when_the_callers_folder_is_gone(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    gone = tmp_path / "gone"
    gone.mkdir()
    monkeypatch.chdir(gone)
    gone.rmdir()
    probe = "import os; info = os.stat('.'); print(info.st_uid, oct(info.st_mode & 0o777))"
    done = children.run([sys.executable, "-c", probe], capture_output=True, text=True)
    assert done.stdout.split() == [str(os.geteuid()), "0o700"], done.stderr


def test_commands_run_at_once_from_one_private_folder(planted: Path, tmp_path: Path) -> None:
    # The first waits for a file only the second writes: in a row, it would time out.
    signal_file = tmp_path / "second ran"
    waits = f"import os, time\nwhile not os.path.exists({str(signal_file)!r}): time.sleep(0.01)"
    waits += "\nprint(os.getcwd())"
    writes = f"open({str(signal_file)!r}, 'w').close(); print('written')"
    first, second = children.run_all(
        [[sys.executable, "-c", waits], [sys.executable, "-c", writes]],
        env=dict(os.environ),
        timeout=60,
    )
    assert (first.returncode, second.returncode) == (0, 0), first.stderr + second.stderr
    assert second.stdout == "written\n"
    folder = first.stdout.strip()
    assert folder != str(planted) and Path(folder).name.startswith("conda-shared-")
    assert not Path(folder).exists()


def test_commands_that_outlive_the_timeout_are_killed(tmp_path: Path) -> None:
    pids = tmp_path / "pids"
    sleeper = (
        f"import os, time; open({str(pids)!r}, 'a').write(f'{{os.getpid()}}\\n'); time.sleep(60)"
    )
    with pytest.raises(subprocess.TimeoutExpired):
        children.run_all([[sys.executable, "-c", sleeper]] * 2, env=dict(os.environ), timeout=1)
    for pid in (pids.read_text() if pids.exists() else "").split():  # those that got so far
        with pytest.raises(ProcessLookupError):
            os.kill(int(pid), 0)


def test_our_own_python_keeps_its_folder_off_sys_path() -> None:
    argv = children.own_python("-m", "conda_shared")
    assert argv[0] == sys.executable
    assert ("-P" in argv) == (sys.version_info >= (3, 11))


def test_another_pythons_isolation_depends_on_whether_it_needs_pythonpath() -> None:
    assert children.python_argv("/x/python", ["-m", "pip"], keep_pythonpath=False) == [
        "/x/python", "-I", "-m", "pip",
    ]  # fmt: skip
    assert children.python_argv("/x/python", ["-I", "-m", "pip"], keep_pythonpath=False) == [
        "/x/python", "-I", "-m", "pip",
    ], "a command planned with it runs as planned"  # fmt: skip
    assert children.python_argv("/x/python", ["-m", "pip"], keep_pythonpath=True) == [
        "/x/python", "-m", "pip",
    ]  # fmt: skip


def test_the_callers_conda_and_python_variables_are_dropped() -> None:
    environ = {
        "CONDA_PREFIX": "/a", "CONDA_PKGS_DIRS": "/b", "_CE_M": "", "CONDARC": "/c",
        "PYTHONPATH": "/d", "PYTHONHOME": "/e", "VIRTUAL_ENV": "/f", "PATH": "/bin",
        "PIP_INDEX_URL": "https://mirror",
    }  # fmt: skip
    assert children.without_caller_variables(environ) == {
        "PATH": "/bin", "PIP_INDEX_URL": "https://mirror",
    }  # fmt: skip


# -- every verb that starts a child, from the planted folder --------------------------------------


def test_replicate_local_workers_and_the_targets_conda(planted: Path, root: Path) -> None:  # noqa: F811
    report = run(root, *ENVS, jobs=2).report
    assert ran(planted) == []
    assert [env.status for env in report.envs] == ["replicated", "replicated"]
    started_in = set((target(root) / "cwds.txt").read_text().splitlines())
    assert started_in and str(planted) not in started_in
    assert all(Path(folder).name.startswith("conda-shared-") for folder in started_in)
    assert all(call[0] == "-I" for call in calls(root)), "the target's Python runs isolated"


def test_replicate_through_slurm_scripts_and_commands(
    planted: Path,
    root: Path,  # noqa: F811
    fake_slurm: Path,  # noqa: F811
) -> None:
    submission = run(root, *ENVS, jobs=2, executor="slurm").submission
    assert submission is not None
    assert all(call["cwd"] != str(planted) for call in slurm_calls(fake_slurm, "sbatch"))
    task = submission.run_dir / "slurm" / "task.sh"
    assert f"cd -- {submission.run_dir / 'slurm' / 'empty'} || exit 1" in task.read_text()
    # Slurm starts the script wherever it likes (/tmp when --chdir fails): here, the caller's
    environ = {**os.environ, "SLURM_ARRAY_TASK_ID": "0"}
    done = subprocess.run(
        ["bash", str(task)], cwd=planted, env=environ, capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr
    assert ran(planted) == []
    assert json.loads((submission.run_dir / "envs" / f"{ENVS[0]}.json").read_text())["status"] == (
        "replicated"
    )


def test_overlay_install_and_check_with_relative_paths(
    planted: Path,
    shared_env: Env,  # noqa: F811
    wheels: Path,  # noqa: F811
    overlays_dir: Path,  # noqa: F811
    capsys: Capsys,
) -> None:
    relative = os.path.relpath(wheels, planted)
    installed = run_cli(
        capsys, "overlay", "install", str(shared_env.prefix), "tidy-util==1.1",
        "--", "--no-index", "--find-links", relative,
    )  # fmt: skip
    assert installed.code == 0, installed.err
    checked = run_cli(capsys, "overlay", "check", str(shared_env.prefix))
    assert checked.code == 0, checked.out + checked.err
    assert ran(planted) == []


def test_overlay_clone_runs_the_installations_conda_elsewhere(
    planted: Path, tmp_path: Path, capsys: Capsys
) -> None:
    installation = add_fake_target(tmp_path, "inst")
    env = installation / "envs" / "survey"
    (env / "conda-meta").mkdir(parents=True)
    (env / "conda-meta" / "history").write_text("")
    (env / "bin").mkdir()
    (env / "bin" / "python").symlink_to(sys.executable)
    cloned = run_cli(capsys, "overlay", "clone", str(env), "--to", str(tmp_path / "mine"))
    assert cloned.code == 0, cloned.err
    started_in = (installation / "cwds.txt").read_text().splitlines()
    assert started_in and str(planted) not in started_in
    assert calls_of(installation)[0][:3] == ["-I", "-m", "conda"]


def calls_of(installation: Path) -> list[list[str]]:
    return [json.loads(line) for line in (installation / "calls.jsonl").read_text().splitlines()]


def test_cutover_preflight_runs_the_targets_conda_elsewhere(planted: Path, tmp_path: Path) -> None:
    from conda_shared.cutover import cutover

    ready = ready_root(tmp_path)
    conda = ready / "v26.7" / "bin" / "conda"
    conda.write_text(f"#!/bin/sh\npwd > {tmp_path / 'conda-ran-in'}\necho conda 26.7.1\n")
    (check,) = [c for c in cutover(root=ready, dry_run=True).preflight if c.name == "conda"]
    assert check.ok, check.detail
    started_in = Path((tmp_path / "conda-ran-in").read_text().strip())
    assert started_in != planted and started_in.name.startswith("conda-shared-")


# -- overlay install: pip runs elsewhere, so relative paths are made absolute first ---------------


def test_relative_paths_become_absolute_and_names_stay(tmp_path: Path) -> None:
    (tmp_path / "dist-1.0-py3-none-any.whl").write_text("")
    words = [
        "-e", ".", "tidy-util==1.1", "./src[dev]", "dist-1.0-py3-none-any.whl", "missing.whl",
        "-r", "req.txt", "--find-links=wheels", "--no-index", "git+https://x/y.git", "/abs",
    ]  # fmt: skip
    assert absolute_paths(words, base=tmp_path) == [
        "-e", str(tmp_path), "tidy-util==1.1", f"{tmp_path}/src[dev]",
        f"{tmp_path}/dist-1.0-py3-none-any.whl", "missing.whl", "-r", f"{tmp_path}/req.txt",
        f"--find-links={tmp_path}/wheels", "--no-index", "git+https://x/y.git", "/abs",
    ]  # fmt: skip


def test_a_relative_path_without_a_current_folder_is_a_one_line_error() -> None:
    from conda_shared.errors import InputError

    assert absolute_paths(["tidy-util", "/abs"], base=None) == ["tidy-util", "/abs"]
    with pytest.raises(InputError, match="the current directory no longer exists"):
        absolute_paths(["-e", "."], base=None)
