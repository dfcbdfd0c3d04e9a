"""The shim every Python reads while an overlay is active: old syntax only, and it uses no
overlay that another user could have changed (its .pth files never run)."""

from __future__ import annotations

import ast
import os
import pwd
import shutil
import subprocess
from pathlib import Path

import pytest

from conda_shared.overlay import activate
from tests.overlay.conftest import Env, overlay_run
from tests.roots import run_cli
from tests.support.users import OTHER, needs_root

Capsys = pytest.CaptureFixture[str]
SHIM = activate.SHIM_DIR / "sitecustomize.py"

# What Python 2.7 cannot parse, by the node that carries it.
_NEWER_SYNTAX = {
    ast.JoinedStr: "f-string",
    ast.AnnAssign: "annotated assignment",
    ast.Nonlocal: "nonlocal",
    ast.AsyncFunctionDef: "async def",
    ast.AsyncFor: "async for",
    ast.AsyncWith: "async with",
    ast.Await: "await",
    ast.YieldFrom: "yield from",
    ast.NamedExpr: ":=",
    ast.Starred: "* unpacking",
    ast.MatMult: "@",
    ast.Match: "match",
}


def newer_syntax(source: str) -> list[str]:
    """Every construct in `source` that Python 2.7 would reject, with its line."""
    found = []
    for node in ast.walk(ast.parse(source)):
        line = getattr(node, "lineno", 0)
        if type(node) in _NEWER_SYNTAX:
            found.append(f"{line}: {_NEWER_SYNTAX[type(node)]}")
        if isinstance(node, ast.FunctionDef | ast.Lambda):
            arguments = node.args
            if arguments.kwonlyargs or arguments.posonlyargs:
                found.append(f"{line}: keyword-only or positional-only arguments")
            annotated = [*arguments.args, arguments.vararg, arguments.kwarg]
            if any(a is not None and a.annotation is not None for a in annotated):
                found.append(f"{line}: annotation")
        if isinstance(node, ast.FunctionDef) and node.returns is not None:
            found.append(f"{line}: return annotation")
        if isinstance(node, ast.Raise) and node.cause is not None:
            found.append(f"{line}: raise ... from")
        if isinstance(node, ast.Dict) and None in node.keys:
            found.append(f"{line}: ** unpacking")
    return found


def test_the_shim_parses_in_every_python_from_2_7() -> None:
    assert newer_syntax(SHIM.read_text()) == []
    # the walk itself catches each kind it names
    caught = newer_syntax(
        "def f(a: int, *, b) -> None:\n  nonlocal x\n  y: int = 1\n  z = f'{a}'\n"
        "  yield from g\n  (w := 1)\n  async def h(): await h()\n  print(*a, **{**c})\n"
        "  raise E from None\n"
    )
    assert len(caught) >= 10, caught


def _old_pythons() -> list[str]:
    """The oldest CPythons this machine has (2.7, 3.6), on PATH or installed by pyenv."""
    found = []
    for version in ("2.7", "3.6"):
        candidates = [shutil.which(f"python{version}") or ""]
        home = Path(pwd.getpwuid(os.getuid()).pw_dir)  # the tests' HOME is a temporary one
        candidates += map(str, home.glob(f".pyenv/versions/{version}.*/bin/python{version}"))
        for candidate in filter(None, candidates):
            runs = subprocess.run([candidate, "-c", "pass"], capture_output=True, check=False)
            if runs.returncode == 0:
                found.append(candidate)
                break
    return found


def test_old_pythons_apply_the_overlay_and_run_their_own_sitecustomize(tmp_path: Path) -> None:
    pythons = _old_pythons()
    if not pythons:
        pytest.skip("no Python 2.7 or 3.6 on this machine")
    own = tmp_path / "own"
    own.mkdir()
    (own / "sitecustomize.py").write_text("import sys\nsys.stdout.write('own ran\\n')\n")
    for python in pythons:
        prefix, version = subprocess.run(
            [python, "-c", "import os, sys; print(os.path.realpath(sys.prefix)); "
             "print('python%d.%d' % sys.version_info[:2])"],
            capture_output=True, text=True, check=True,
        ).stdout.split()  # fmt: skip
        overlays = tmp_path / version
        site = overlays / ".old.gen-0123abcd" / "lib" / version / "site-packages"
        site.mkdir(parents=True)
        (site / "overlaid.py").write_text("import sys\nsys.stdout.write('overlaid\\n')\n")
        (overlays / "old").symlink_to(".old.gen-0123abcd")
        out = subprocess.run(
            [python, "-c", "import overlaid"],
            env={
                "PATH": os.environ["PATH"],
                "PYTHONPATH": f"{activate.SHIM_DIR}:{own}",
                activate.ENV_VAR: prefix,
                activate.DIRS_VAR: str(overlays / "old"),
            },
            capture_output=True,
            text=True,
            check=False,
        )
        assert (out.stdout, out.stderr) == ("own ran\noverlaid\n", ""), python


@pytest.fixture
def overlay(shared_env: Env, wheels: Path, overlays_dir: Path, capsys: Capsys) -> Path:
    """The user's overlay of the shared env, holding fresh-tool: its pointer."""
    made = run_cli(
        capsys, "overlay", "install", str(shared_env.prefix), "fresh-tool",
        "--", "--no-index", "--find-links", str(wheels),
    )  # fmt: skip
    assert made.code == 0, made.err
    return overlays_dir / "it's shared"


def _site_packages(pointer: Path) -> Path:
    return next(pointer.resolve().glob("lib/python3.*/site-packages"))


def _plant(pointer: Path, marker: Path) -> None:
    (_site_packages(pointer) / "planted.pth").write_text(
        f"import pathlib; pathlib.Path({str(marker)!r}).write_text('ran')\n"
    )


def _other_owns_site_packages(pointer: Path) -> None:
    os.chown(_site_packages(pointer), OTHER, OTHER)


def _group_writable_generation(pointer: Path) -> None:
    generation = pointer.resolve()
    os.chown(generation, 0, OTHER)  # a group that is not the user's own
    generation.chmod(0o770)


def _world_writable_overlays_dir(pointer: Path) -> None:
    pointer.parent.chmod(0o777)


def _other_owns_the_pointer(pointer: Path) -> None:
    os.lchown(pointer, OTHER, OTHER)


@needs_root
@pytest.mark.parametrize(
    "loosen",
    [
        _other_owns_site_packages,
        _group_writable_generation,
        _world_writable_overlays_dir,
        _other_owns_the_pointer,
    ],
)
def test_an_overlay_someone_else_could_change_is_ignored_and_its_pth_never_runs(
    loosen: object, shared_env: Env, overlay: Path, tmp_path: Path, capsys: Capsys
) -> None:
    marker = tmp_path / "pth-ran"
    _plant(overlay, marker)
    loosen(overlay)  # type: ignore[operator]
    env = str(shared_env.prefix)
    out = overlay_run(shared_env.prefix, "python", "-c", "import fresh_tool")
    assert not marker.exists()
    assert out.returncode == 1 and "No module named 'fresh_tool'" in out.stderr
    warnings = [line for line in out.stderr.splitlines() if "ignoring the overlay" in line]
    assert warnings == [warnings[0]] and str(overlay) in warnings[0], out.stderr
    # an already activated shell: only the shim stands between the overlay and the env's Python
    activated = {
        **os.environ,
        "PYTHONPATH": str(activate.SHIM_DIR),
        activate.ENV_VAR: env,
        activate.DIRS_VAR: str(overlay),
    }
    shim = subprocess.run(
        [str(shared_env.python), "-c", "pass"],
        env=activated,
        capture_output=True,
        text=True,
        check=False,
    )
    assert not marker.exists()
    assert shim.returncode == 0
    assert shim.stderr.startswith(f"conda-shared: ignoring the overlay {overlay}: "), shim.stderr
    assert len(shim.stderr.splitlines()) == 1
    refused = run_cli(capsys, "overlay", "install", env, "tidy-util")
    assert refused.code == 2
    assert f"refusing the overlay {overlay}: " in refused.err
    listed = run_cli(capsys, "overlay", "list", env)
    assert "note: ignored: " in listed.out
