"""`run` and `activate`: the overlay reaches exactly the overlaid env's Python, in front of its
site-packages, and nothing else; shell code quotes any path and deactivates exactly."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.overlay.conftest import Env, overlay_run, python_sees, this_python
from tests.roots import run_cli

Capsys = pytest.CaptureFixture[str]
_VERSION_PROBE = "import tidy_util; print(tidy_util.__version__)"


@pytest.fixture
def overlaid(shared_env: Env, wheels: Path, overlays_dir: Path, capsys: Capsys) -> Path:
    """The shared env with tidy-util 1.2 (+ helper-lib 2.0) and fresh-tool in the user's overlay."""
    result = run_cli(
        capsys,
        "overlay",
        "install",
        str(shared_env.prefix),
        "tidy-util==1.2",
        "fresh-tool",
        "--",
        "--no-index",
        "--find-links",
        str(wheels),
    )
    assert result.code == 0, result.err
    return overlays_dir / "it's shared"


def test_run_puts_the_overlay_in_front_of_the_env_only(
    shared_env: Env, other_env: Env, overlaid: Path
) -> None:
    assert overlay_run(shared_env.prefix, "python", "-c", _VERSION_PROBE).stdout == "1.2\n"
    # without the overlay, the env's own version
    plain = subprocess.run(
        [str(shared_env.python), "-c", _VERSION_PROBE], check=False, capture_output=True, text=True
    )
    assert plain.stdout == "1.0\n"
    # inside the run, other Pythons (another env, the Python running conda) see nothing of it
    for python in (other_env.python, this_python()):
        probe = overlay_run(shared_env.prefix, str(python), "-c", _PROBE_ANY)
        assert probe.returncode == 0, probe.stderr
        assert str(overlaid) not in probe.stdout


_PROBE_ANY = (
    "import sys\n"
    "try:\n import tidy_util; print(tidy_util.__file__)\n"
    "except ImportError:\n print('missing')\n"
    "print(sys.path)"
)


def test_overlay_sits_behind_the_stdlib_and_in_front_of_site_packages(
    shared_env: Env, overlaid: Path
) -> None:
    out = overlay_run(
        shared_env.prefix, "python", "-c", "import sys, os; print('\\n'.join(sys.path))"
    ).stdout.splitlines()
    ours = next(i for i, p in enumerate(out) if p.startswith(str(overlaid)))
    env_site = next(i for i, p in enumerate(out) if p.startswith(str(shared_env.prefix)))
    stdlib = next(i for i, p in enumerate(out) if p.endswith("lib-dynload"))
    assert stdlib < ours < env_site
    assert not [p for p in out if p.endswith("shim")], "the guard leaves sys.path after start"


def test_console_script_runs_with_the_env_python_and_exit_codes_pass_through(
    shared_env: Env, overlaid: Path
) -> None:
    tool = overlay_run(shared_env.prefix, "fresh-tool")
    assert tool.stdout == f"0.5 {shared_env.python}\n", tool.stderr
    assert overlay_run(shared_env.prefix, "python", "-c", "raise SystemExit(3)").returncode == 3
    missing = overlay_run(shared_env.prefix, "no-such-command")
    assert missing.returncode == 2
    assert missing.stderr.startswith("conda-shared: error: cannot run no-such-command")


def test_an_existing_sitecustomize_still_runs(
    shared_env: Env, overlaid: Path, tmp_path: Path
) -> None:
    (tmp_path / "sitecustomize.py").write_text("import os\nos.environ['SITE_WAS_HERE'] = '1'\n")
    environ = {**os.environ, "PYTHONPATH": str(tmp_path)}
    probe = "import os, tidy_util; print(os.environ.get('SITE_WAS_HERE'), tidy_util.__version__)"
    out = overlay_run(shared_env.prefix, "python", "-c", probe, environ=environ)
    assert out.stdout.split() == ["1", "1.2"], out.stderr


_SHELLS = {
    # shell: (argv to run a script, how to eval the activate command's output)
    "bash": (["bash", "-c"], 'eval "$({cmd})"'),
    "zsh": (["zsh", "-f", "-c"], 'eval "$({cmd})"'),
    "fish": (["fish", "--no-config", "-c"], "{cmd} | source"),
}


@pytest.mark.parametrize("shell", sorted(_SHELLS))
def test_activate_then_deactivate_in_a_real_shell(
    shell: str, shared_env: Env, other_env: Env, overlaid: Path
) -> None:
    if shutil.which(shell) is None:
        pytest.skip(f"{shell} is not installed")
    argv, evaluate = _SHELLS[shell]
    activate = _activate_command(shell, shared_env.prefix)
    script = "\n".join(
        [
            evaluate.format(cmd=activate),
            "python -c " + _quote(shell, _VERSION_PROBE),
            "fresh-tool",
            _quote(shell, str(other_env.python)) + " -c " + _quote(shell, "import tidy_util"),
            "deactivate_overlay",
            *_PRINT_PATHS[shell == "fish"],
            "env | grep CONDA_SHARED_OVERLAY; echo done",
        ]
    )
    # `python` on PATH is the env's, as `conda activate` leaves it; PYTHONPATH has a user entry
    path = f"{shared_env.prefix / 'bin'}{os.pathsep}{os.environ['PATH']}"
    environ = {**os.environ, "PATH": path, "PYTHONPATH": "/opt/my libs"}
    out = subprocess.run([*argv, script], check=False, capture_output=True, text=True, env=environ)
    lines = out.stdout.splitlines()
    assert lines[0] == "1.2", out.stderr
    assert lines[1] == f"0.5 {shared_env.python}"
    assert "No module named 'tidy_util'" in out.stderr  # the other env's Python
    assert lines[2:] == [f"PATH={path}", "PYTHONPATH=/opt/my libs", "done"]


_PRINT_PATHS = {
    False: ('echo "PATH=$PATH"', 'echo "PYTHONPATH=$PYTHONPATH"'),
    True: ("echo PATH=(string join : $PATH)", "echo PYTHONPATH=(string join : $PYTHONPATH)"),
}


def _quote(shell: str, value: str) -> str:
    if shell == "fish":
        return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"
    quoted = "'" + value.replace("'", "'\\''") + "'"
    return quoted.replace("!", "\\!") if shell == "csh" else quoted


def _activate_command(shell: str, env: Path) -> str:
    argv = (sys.executable, "-m", "conda_shared", "overlay", "activate", str(env), "--shell", shell)
    return " ".join(_quote(shell, arg) for arg in argv)


def test_activate_code_for_every_shell_quotes_paths(
    shared_env: Env, overlaid: Path, capsys: Capsys
) -> None:
    for shell in ("bash", "zsh", "fish", "csh", "powershell"):
        out = run_cli(capsys, "overlay", "activate", str(shared_env.prefix), "--shell", shell)
        assert out.code == 0
        assert "deactivate_overlay" in out.out
    csh = run_cli(capsys, "overlay", "activate", str(shared_env.prefix), "--shell", "csh").out
    assert "setenv CONDA_SHARED_OVERLAY_ENV '" in csh


def test_tcsh_activate_and_deactivate(shared_env: Env, overlaid: Path) -> None:
    if shutil.which("tcsh") is None:
        pytest.skip("tcsh is not installed")
    activate = _activate_command("csh", shared_env.prefix)
    # tcsh expands aliases line by line: deactivate_overlay is usable from the next line on
    script = "\n".join(
        [
            f'eval "`{activate}`"',
            "python -c 'import tidy_util; print(tidy_util.__version__)'",
            "deactivate_overlay",
            "echo $PATH",
            "printenv PYTHONPATH; printenv CONDA_SHARED_OVERLAY_ENV; echo end",
        ]
    )
    path = f"{shared_env.prefix / 'bin'}{os.pathsep}{os.environ['PATH']}"
    environ = {**os.environ, "PATH": path}
    out = subprocess.run(
        ["tcsh", "-f", "-c", script], check=False, capture_output=True, text=True, env=environ
    )
    before = [environ["PYTHONPATH"]] if "PYTHONPATH" in environ else []
    assert out.stdout.splitlines() == ["1.2", path, *before, "end"], out.stderr
    assert python_sees(shared_env.python, "tidy_util", environ).startswith(str(shared_env.prefix))


def test_activating_twice_does_not_stack_entries(
    shared_env: Env, overlaid: Path, capsys: Capsys
) -> None:
    script = "\n".join(
        [
            f'eval "$({_activate_command("bash", shared_env.prefix)})"',
            f'eval "$({_activate_command("bash", shared_env.prefix)})"',
            'echo "$PATH"',
            'echo "$PYTHONPATH"',
            "deactivate_overlay",
            'echo "$PATH"',
        ]
    )
    environ = {**os.environ, "PYTHONPATH": "/opt/my libs"}
    out = subprocess.run(
        ["bash", "-c", script], check=False, capture_output=True, text=True, env=environ
    ).stdout.splitlines()
    assert out[0].split(os.pathsep).count(str(overlaid / "bin")) == 1
    assert out[1].count("shim") == 1 and out[1].endswith(":/opt/my libs")
    assert out[2] == os.environ["PATH"]


def test_activating_before_the_first_install_sees_later_installs(
    shared_env: Env, wheels: Path, overlays_dir: Path
) -> None:
    install = " ".join(
        _quote("bash", arg)
        for arg in (
            *(sys.executable, "-m", "conda_shared", "overlay", "install", str(shared_env.prefix)),
            *("fresh-tool", "--", "--no-index", "--find-links", str(wheels)),
        )
    )
    script = "\n".join(
        [
            f'eval "$({_activate_command("bash", shared_env.prefix)})"',
            f"{install} >/dev/null 2>&1",
            "fresh-tool",
        ]
    )
    path = f"{shared_env.prefix / 'bin'}{os.pathsep}{os.environ['PATH']}"
    out = subprocess.run(
        ["bash", "-c", script],
        check=False,
        capture_output=True,
        text=True,
        env={**os.environ, "PATH": path},
    )
    assert out.stdout == f"0.5 {shared_env.python}\n", out.stderr
