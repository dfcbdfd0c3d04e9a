"""The overlay verbs as a new user meets them: names, admin overlays, cutovers, bad input."""

from __future__ import annotations

import json
import os
import shlex
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from conda_shared.overlay import activate
from tests.overlay.conftest import Env, make_env, overlay_run
from tests.roots import make_installation, run_cli, tree_digest
from tests.support.users import NOBODY, OTHER, home_of, needs_root, reachable_dir, run_as, setpriv

Capsys = pytest.CaptureFixture[str]
_VERSION_PROBE = "import tidy_util; print(tidy_util.__version__)"


def offline(wheels: Path) -> list[str]:
    return ["--", "--no-index", "--find-links", str(wheels)]


@pytest.fixture
def root(tmp_path: Path, shared_env: Env) -> Path:
    """A single-installation root whose envs/shared is the shared env (by a symlink)."""
    path = make_installation(tmp_path / "root")
    (path / "envs" / "shared").symlink_to(shared_env.prefix)
    return path


def test_admin_overlay_applies_behind_the_users_own(
    root: Path, shared_env: Env, wheels: Path, overlays_dir: Path, capsys: Capsys
) -> None:
    admin = run_cli(
        capsys, "overlay", "install", "--admin", "shared", "tidy-util==1.1", "--root", str(root),
        *offline(wheels),
    )  # fmt: skip
    assert admin.code == 0, admin.err
    assert (root / "overlays" / "shared" / "overlay.json").exists()
    environ = {**os.environ, "CONDA_SHARED_ROOT": str(root)}
    out = overlay_run(Path("shared"), "python", "-c", _VERSION_PROBE, environ=environ)
    assert out.stdout == "1.1\n", out.stderr
    user = run_cli(
        capsys, "overlay", "--root", str(root), "install", "shared", "tidy-util==1.2",
        *offline(wheels),
    )  # fmt: skip
    assert user.code == 0, user.err
    assert overlay_run(Path("shared"), "python", "-c", _VERSION_PROBE, environ=environ).stdout == (
        "1.2\n"
    )
    listed = run_cli(capsys, "overlay", "list", "shared", "--root", str(root), "--json").json()
    assert [o["scope"] for o in listed["overlays"]] == ["user", "admin"]
    # the admin's is read by every user's Python, yours by you alone
    assert (root / "overlays" / "shared").resolve().stat().st_mode & 0o777 == 0o755
    assert (overlays_dir / "shared").resolve().stat().st_mode & 0o777 == 0o700
    run_cli(capsys, "overlay", "remove", "shared", "tidy-util", "helper-lib", "--root", str(root))
    out = overlay_run(Path("shared"), "python", "-c", _VERSION_PROBE, environ=environ)
    assert out.stdout == "1.1\n"
    assert tree_digest(shared_env.prefix) == shared_env.digest


@pytest.mark.parametrize("case", [("--admin", 0o077), ("--user", 0o002)])
def test_an_overlay_gets_its_modes_whatever_the_umask_it_was_made_under(
    root: Path, wheels: Path, overlays_dir: Path, capsys: Capsys, case: tuple[str, int]
) -> None:
    """An admin's under umask 077 must still be readable by every user; a user's under umask
    002 must not be group-writable, or the next command refuses it as someone else's."""
    scope, umask = case
    previous = os.umask(umask)
    try:
        made = run_cli(
            capsys, "overlay", "install", *([scope] if scope == "--admin" else []), "shared",
            "tidy-util==1.1", "--root", str(root), *offline(wheels),
        )  # fmt: skip
    finally:
        os.umask(previous)
    assert made.code == 0, made.err
    pointer = root / "overlays" / "shared" if scope == "--admin" else overlays_dir / "shared"
    generation = pointer.resolve()
    for path in generation.rglob("*"):
        if not path.is_symlink():
            assert path.stat().st_mode & 0o022 == 0, f"{path} is writable by others"
            if scope == "--admin":
                assert path.stat().st_mode & 0o044 == 0o044, f"{path} is not readable by others"


def test_an_overlay_stays_with_its_env_until_retargeted(
    shared_env: Env, wheels: Path, overlays_dir: Path, tmp_path: Path, capsys: Capsys
) -> None:
    run_cli(capsys, "overlay", "install", str(shared_env.prefix), "fresh-tool", *offline(wheels))
    # after a cutover the same name is another env (new path, same basename)
    moved = make_env(tmp_path / "v2" / "it's shared")
    refused = run_cli(capsys, "overlay", "install", str(moved.prefix), "fresh-tool")
    assert refused.code == 2
    assert f"was made for {shared_env.prefix}" in refused.err
    assert "--retarget" in refused.err
    listed = run_cli(capsys, "overlay", "list", str(moved.prefix))
    assert "note: not applied: made for" in listed.out
    assert "fresh_tool" not in overlay_run(moved.prefix, "python", "-c", "import sys").stderr
    retargeted = run_cli(capsys, "overlay", "install", str(moved.prefix), "--retarget")
    assert retargeted.code == 0, retargeted.err
    listed = run_cli(capsys, "overlay", "list", "--json").json()
    assert listed["overlays"][0]["target"] == str(moved.prefix)


def test_bad_input_gets_one_line_errors(
    shared_env: Env, wheels: Path, overlays_dir: Path, tmp_path: Path, capsys: Capsys
) -> None:
    cases = {
        ("install", str(tmp_path / "nowhere"), "x"): "environment ",
        ("install", str(shared_env.prefix), "not a spec!!", "--", "--no-index"): (
            "pip could not resolve not a spec!!: Invalid requirement"
        ),
        ("install", str(shared_env.prefix), "nosuch", *offline(wheels)): (
            "Could not find a version that satisfies the requirement nosuch"
        ),
        ("install", str(shared_env.prefix)): "no packages to install",
        ("run", str(shared_env.prefix)): "no command to run",
        ("install", str(tmp_path)): "is not a conda environment",
        ("install", str(shared_env.prefix), "x", "--no-index"): "Put pip options after --",
    }
    loop = tmp_path / "loop"
    loop.symlink_to(loop)
    cases["install", str(loop), "x"] = "does not exist"
    env = {**os.environ, "CONDA_SHARED_ROOT": ""}
    for argv, message in cases.items():
        out = subprocess.run(
            [sys.executable, "-m", "conda_shared", "overlay", *argv],
            capture_output=True,
            text=True,
            env=env,
            check=False,
        )
        error = out.stderr.strip().splitlines()[-1]
        assert out.returncode in (1, 2), argv
        assert error.startswith("conda-shared: error: "), (argv, out.stderr)
        assert message in error, (argv, error)
        assert "Traceback" not in out.stderr
    assert not overlays_dir.exists() or not any(p.is_symlink() for p in overlays_dir.iterdir()), (
        "a failed command created an overlay"
    )


def test_json_error_and_list_without_overlays(
    shared_env: Env, overlays_dir: Path, capsys: Capsys
) -> None:
    empty = run_cli(capsys, "overlay", "list", str(shared_env.prefix))
    assert empty.out.strip() == f"no overlays for {shared_env.prefix}"
    failed = run_cli(capsys, "overlay", "remove", str(shared_env.prefix), "x", "--json")
    assert failed.code == 2
    assert json.loads(failed.out)["exception_name"] == "InputError"


@pytest.fixture
def world_readable(tmp_path: Path) -> Iterator[Path]:
    """A directory other users can enter (pytest's own tmp is private to root)."""
    path = Path(tempfile.mkdtemp(prefix="overlay-perm-"))
    path.chmod(0o755)
    yield path
    shutil.rmtree(path)


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to run a command as another user")
def test_an_unwritable_overlay_dir_is_a_clear_error_for_a_normal_user(
    world_readable: Path,
) -> None:
    env = make_env(world_readable / "env")
    subprocess.run(["chmod", "-R", "a+rX", str(world_readable)], check=True)
    locked = world_readable / "admin-only"
    locked.mkdir(mode=0o755)
    source = Path(__file__).resolve().parents[2]
    as_nobody = ("setpriv", "--reuid=65534", "--regid=65534", "--clear-groups")
    environ = {
        "PATH": os.environ["PATH"],
        "HOME": str(world_readable),
        "PYTHONPATH": str(source),
        "CONDA_PLUGINS_SHARED_OVERLAYS_DIR": str(locked / "overlays"),
    }
    overlay = (*as_nobody, sys.executable, "-m", "conda_shared", "overlay")
    private = world_readable / "private"
    private.mkdir(mode=0o700)
    hidden = subprocess.run(
        [*overlay, "list", str(private / "env")],
        capture_output=True, text=True, check=False, cwd=world_readable, env=environ,
    )  # fmt: skip
    assert hidden.stderr.strip() == (
        f"conda-shared: error: cannot look at {private / 'env'}: Permission denied. Run as a "
        "user who can read the environment, or ask its admin for read access"
    )
    probe = "import os, sys; os.stat(sys.argv[1])"
    usable = subprocess.run([*as_nobody, sys.executable, "-c", probe, str(env.python)], check=False)
    if usable.returncode != 0:
        pytest.skip(f"{env.python} links to a Python that uid 65534 may not look at")
    out = subprocess.run(
        [*overlay, "install", str(env.prefix), "x"],
        capture_output=True, text=True, check=False, cwd=world_readable, env=environ,
    )  # fmt: skip
    assert out.returncode == 2, out.stderr
    assert out.stderr.strip() == (
        f"conda-shared: error: cannot create the overlay directory {locked / 'overlays'}: "
        "Permission denied. Set plugins.shared_overlays_dir (or "
        "CONDA_PLUGINS_SHARED_OVERLAYS_DIR) to a directory you own"
    )


def overlay_cli(
    *argv: str, environ: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """`conda-shared overlay ARGV` in a process of its own (`run` replaces its process)."""
    return subprocess.run(
        [sys.executable, "-m", "conda_shared", "overlay", *argv],
        capture_output=True,
        text=True,
        env={**os.environ, "CONDA_SHARED_ROOT": ""},
        check=False,
    )


def test_options_between_env_and_the_command_are_ours(
    root: Path, shared_env: Env, overlays_dir: Path, capsys: Capsys
) -> None:
    probe = "import sys; print(sys.prefix, sys.argv[1:])"
    for options in (["--root", str(root), "--"], [f"--root={root}"], ["--root", str(root)]):
        out = overlay_cli("run", "shared", *options, "python", "-c", probe, "--root", "x")
        assert out.returncode == 0, (options, out.stderr)
        assert out.stdout == f"{shared_env.prefix} ['--root', 'x']\n", options
    activated = run_cli(
        capsys, "overlay", "activate", "shared", "--root", str(root), "--shell", "bash"
    )
    assert activated.code == 0, activated.err
    assert f"export CONDA_SHARED_OVERLAY_ENV={shlex.quote(str(shared_env.prefix))}" in (
        activated.out
    )
    unknown = overlay_cli("run", "shared", "--root", str(root), "--shell", "bash", "--", "true")
    assert unknown.returncode == 2
    assert unknown.stderr.strip() == (
        "conda-shared: error: --shell is not an option of `overlay run`. Put the command after "
        f"--: conda-shared overlay --root {root} run shared -- --shell"
    )


def test_an_env_whose_python_cannot_run_says_so(tmp_path: Path, overlays_dir: Path) -> None:
    env = tmp_path / "placeholder"
    (env / "conda-meta").mkdir(parents=True)
    (env / "bin").mkdir()
    (env / "bin" / "python3.11").write_text("# placeholder, not a program\n")
    (env / "bin" / "python").symlink_to("python3.11")
    expected = (
        f"conda-shared: error: the Python of environment {env} cannot run: {env}/bin/python is "
        "not an executable file you may run. Ask the environment's admin to repair its python "
        "(overlays use the env's own Python), or choose another environment"
    )
    for argv in (
        ("run", str(env), "--", "python", "-c", "print('another python')"),
        ("install", str(env), "tidy-util"),
        ("check", str(env)),
    ):
        out = overlay_cli(*argv)
        assert (out.returncode, out.stdout, out.stderr.strip()) == (2, "", expected), argv
    assert not any(overlays_dir.glob("*.gen-*")) if overlays_dir.exists() else True


def _shared_as(uid: int, *commands: str) -> None:
    subprocess.run([*setpriv(uid), "sh", "-c", " && ".join(commands)], check=True)


@needs_root
def test_between_users_an_overlay_someone_else_made_is_refused_and_never_runs() -> None:
    with reachable_dir() as base:
        env = make_env(base / "env")
        subprocess.run(["chmod", "-R", "a+rX", str(base)], check=True)
        version = next(env.prefix.glob("lib/python3.*")).name
        home = home_of(base, NOBODY)
        marker = base / "markers"
        marker.mkdir(mode=0o777)
        marker.chmod(0o777)
        scratch = base / "scratch"
        scratch.mkdir()
        os.chown(scratch, OTHER, OTHER)
        overlays = scratch / "overlays"  # as if plugins.shared_overlays_dir were /scratch/$USER
        site = overlays / ".env.gen-0123abcd" / "lib" / version / "site-packages"
        planted = f"import pathlib; pathlib.Path('{marker}/ran').write_text('x')"
        _shared_as(
            OTHER,
            f"mkdir -p {shlex.quote(str(site))}",
            f"echo {shlex.quote(planted)} > {shlex.quote(str(site / 'planted.pth'))}",
            f"ln -s .env.gen-0123abcd {shlex.quote(str(overlays / 'env'))}",
        )
        environ = {"CONDA_PLUGINS_SHARED_OVERLAYS_DIR": str(overlays)}
        probe = ("python", "-c", "print('ran')")
        out = run_as(NOBODY, "overlay", "run", str(env.prefix), "--", *probe, home=home,
                     environ=environ)  # fmt: skip
        assert (out.returncode, out.stdout) == (0, "ran\n"), out.stderr
        assert out.stderr.splitlines() == [
            f"warning: ignoring the overlay {overlays / 'env'}: {overlays} belongs to uid {OTHER}"
        ]
        refused = run_as(NOBODY, "overlay", "install", str(env.prefix), "x", home=home,
                         environ=environ)  # fmt: skip
        assert refused.returncode == 2
        assert f"refusing the overlay {overlays / 'env'}: {overlays} belongs to uid " in (
            refused.stderr
        )
        shim = subprocess.run(
            [*setpriv(NOBODY), str(env.python), "-c", "print('ran')"],
            env={
                "PATH": os.environ["PATH"],
                "PYTHONPATH": str(activate.SHIM_DIR),
                activate.ENV_VAR: str(env.prefix),
                activate.DIRS_VAR: str(overlays / "env"),
            },
            capture_output=True,
            text=True,
            check=False,
            cwd=home,
        )
        assert shim.stdout == "ran\n" and len(shim.stderr.splitlines()) == 1, shim.stderr
        assert not (marker / "ran").exists()
        # the same overlay made by the user running it is used, with no warning
        mine = home / "overlays"
        own_site = mine / ".env.gen-0123abcd" / "lib" / version / "site-packages"
        _shared_as(
            NOBODY,
            f"mkdir -p {shlex.quote(str(own_site))}",
            f"echo 'print(\"mine\")' > {shlex.quote(str(own_site / 'mine.py'))}",
            f"ln -s .env.gen-0123abcd {shlex.quote(str(mine / 'env'))}",
        )
        used = run_as(NOBODY, "overlay", "run", str(env.prefix), "--", "python", "-c",
                      "import mine", home=home,
                      environ={"CONDA_PLUGINS_SHARED_OVERLAYS_DIR": str(mine)})  # fmt: skip
        assert (used.returncode, used.stdout, used.stderr) == (0, "mine\n", "")


@needs_root  # root's own group is root's private group here
def test_a_folder_others_can_write_is_refused_before_the_first_install(
    shared_env: Env, wheels: Path, overlays_dir: Path, capsys: Capsys
) -> None:
    overlays_dir.mkdir()
    overlays_dir.chmod(0o777)
    env = str(shared_env.prefix)
    pointer = overlays_dir / "it's shared"
    refused = run_cli(capsys, "overlay", "install", env, "fresh-tool", *offline(wheels))
    assert refused.code == 2
    assert refused.err.startswith(
        f"conda-shared: error: refusing the overlay {pointer}: "
        f"{overlays_dir} is writable by every user. "
    ), refused.err
    assert list(overlays_dir.iterdir()) == []
    overlays_dir.chmod(0o775)  # writable by the user's own private group only: fine
    installed = run_cli(capsys, "overlay", "install", env, "fresh-tool", *offline(wheels))
    assert installed.code == 0, installed.err
