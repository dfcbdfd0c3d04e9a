"""install, remove and clear on a real (venv) environment, through the CLI as users run them."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.overlay.conftest import Env, overlay_run, python_sees
from tests.overlay.packages import source_tree
from tests.roots import run_cli, tree_digest

Capsys = pytest.CaptureFixture[str]


def offline(wheels: Path) -> list[str]:
    return ["--", "--no-index", "--find-links", str(wheels)]


def overlay_state(pointer: Path) -> tuple[str, str, list[str]]:
    """The pointer's target, the generation's digest, and every sibling but the lock."""
    siblings = sorted(p.name for p in pointer.parent.iterdir() if not p.name.endswith(".lock"))
    return os.readlink(pointer), tree_digest(pointer.resolve()), siblings


def test_upgrade_needing_a_newer_dependency_and_a_new_package(
    shared_env: Env, wheels: Path, overlays_dir: Path, capsys: Capsys
) -> None:
    env = str(shared_env.prefix)
    result = run_cli(
        capsys, "overlay", "install", env, "tidy-util==1.2", "fresh-tool", *offline(wheels)
    )
    assert result.code == 0, result.err
    # tidy-util 1.2 needs helper-lib>=2: the env's 1.0 is too old, so 2.0 joins the overlay
    assert "  + tidy-util 1.2" in result.out
    assert "  + helper-lib 2.0" in result.out
    assert "  + fresh-tool 0.5" in result.out
    listed = run_cli(capsys, "overlay", "list", env, "--json").json()
    (overlay,) = listed["overlays"]
    shadows = {d["name"]: (d["shadows"], d["version"]) for d in overlay["dists"]}
    assert shadows == {
        "fresh-tool": (None, "0.5"),
        "helper-lib": ("1.0", "2.0"),
        "tidy-util": ("1.0", "1.2"),
    }
    assert overlay["target"] == str(shared_env.prefix)
    assert tree_digest(shared_env.prefix) == shared_env.digest


def test_second_install_replaces_the_overlay_version_and_ledger_records_both(
    shared_env: Env, wheels: Path, overlays_dir: Path, capsys: Capsys
) -> None:
    env = str(shared_env.prefix)
    assert run_cli(capsys, "overlay", "install", env, "tidy-util==1.1", *offline(wheels)).code == 0
    second = run_cli(capsys, "overlay", "install", env, "tidy-util==1.2", *offline(wheels))
    assert "  ~ tidy-util 1.1 -> 1.2" in second.out
    pointer = overlays_dir / "it's shared"
    site = next(pointer.resolve().glob("lib/python*/site-packages"))
    assert sorted(p.name for p in site.glob("tidy_util-*")) == ["tidy_util-1.2.dist-info"]
    history = run_cli(capsys, "overlay", "list", env, "--history")
    assert "      +tidy-util-1.1" in history.out
    # 1.2 needs helper-lib>=2 (the env has 1.0): the same entry records it
    assert "      -tidy-util-1.1\n      +helper-lib-2.0\n      +tidy-util-1.2" in history.out
    assert history.out.count("conda shared overlay install") == 2
    raw = (pointer / "conda-meta" / "history").read_text()
    assert raw.count("==> ") == 2 and "# user: " in raw


def test_nothing_to_do_leaves_the_overlay_as_it_was(
    shared_env: Env, wheels: Path, overlays_dir: Path, capsys: Capsys
) -> None:
    env = str(shared_env.prefix)
    run_cli(capsys, "overlay", "install", env, "fresh-tool", *offline(wheels))
    before = overlay_state(overlays_dir / "it's shared")
    again = run_cli(capsys, "overlay", "install", env, "fresh-tool", "tidy-util", *offline(wheels))
    assert again.code == 0
    assert "nothing changed (already satisfied)" in again.out
    assert overlay_state(overlays_dir / "it's shared") == before


def test_a_build_failing_halfway_leaves_the_overlay_identical(
    shared_env: Env, wheels: Path, overlays_dir: Path, tmp_path: Path, capsys: Capsys
) -> None:
    env = str(shared_env.prefix)
    run_cli(capsys, "overlay", "install", env, "fresh-tool", *offline(wheels))
    pointer = overlays_dir / "it's shared"
    before = overlay_state(pointer)
    broken = source_tree(tmp_path / "broken", "broken", "0.1", fail_build=True)
    # tidy-util installs into the stage first; then building `broken` raises
    failed = run_cli(
        capsys, "overlay", "install", env, "tidy-util==1.1", str(broken), *offline(wheels)
    )
    assert failed.code == 1
    error = failed.err.strip().splitlines()[-1]  # above it: progress lines
    assert error.startswith("conda-shared: error: pip could not install tidy-util==1.1")
    assert "Could not build wheels for broken" in error
    assert error.endswith("the overlay was left unchanged")
    assert overlay_state(pointer) == before
    assert tree_digest(shared_env.prefix) == shared_env.digest


def test_editable_install_follows_the_source(
    shared_env: Env, overlays_dir: Path, tmp_path: Path, capsys: Capsys
) -> None:
    source = source_tree(tmp_path / "my src", "edit-me", "0.1")
    result = run_cli(
        capsys, "overlay", "install", str(shared_env.prefix), "-e", str(source), "--", "--no-index"
    )
    assert result.code == 0, result.err
    listed = run_cli(capsys, "overlay", "list", str(shared_env.prefix))
    assert "edit-me                  0.1            new  (editable)" in listed.out
    (source / "src" / "edit_me" / "extra.py").write_text("VALUE = 42\n")
    # a module added after the install imports: the shim processed the editable install's .pth
    out = overlay_run(
        shared_env.prefix, "python", "-c", "import edit_me.extra as e; print(e.VALUE)"
    )
    assert out.stdout.strip() == "42", out.stderr


def test_remove_and_clear_keep_the_env_and_the_ledger(
    shared_env: Env, wheels: Path, overlays_dir: Path, capsys: Capsys
) -> None:
    env = str(shared_env.prefix)
    run_cli(capsys, "overlay", "install", env, "tidy-util==1.2", "fresh-tool", *offline(wheels))
    pointer = overlays_dir / "it's shared"
    assert (pointer / "bin" / "fresh-tool").exists()
    removed = run_cli(capsys, "overlay", "remove", env, "fresh-tool")
    assert removed.out.splitlines()[1:] == ["  - fresh-tool 0.5"]
    assert not (pointer / "bin" / "fresh-tool").exists()
    assert not list(pointer.glob("lib/*/site-packages/fresh_tool*"))
    assert python_sees(shared_env.python, "tidy_util").startswith(str(shared_env.prefix))
    missing = run_cli(capsys, "overlay", "remove", env, "numpy")
    assert missing.code == 2
    assert "numpy is not in the overlay" in missing.err
    cleared = run_cli(capsys, "overlay", "clear", env)
    assert "  - tidy-util 1.2" in cleared.out and "  - helper-lib 2.0" in cleared.out
    assert sorted(p.name for p in pointer.iterdir()) == ["conda-meta", "overlay.json"]
    history = run_cli(capsys, "overlay", "list", env, "--history", "--json").json()
    commands = [e["command"].split()[3] for e in history["overlays"][0]["history"]]
    assert commands == ["install", "remove", "clear"]
    assert tree_digest(shared_env.prefix) == shared_env.digest


def test_stale_stages_of_a_killed_run_are_removed(
    shared_env: Env, wheels: Path, overlays_dir: Path, capsys: Capsys
) -> None:
    env = str(shared_env.prefix)
    run_cli(capsys, "overlay", "install", env, "tidy-util==1.1", *offline(wheels))
    stale = overlays_dir / ".it's shared.0123abcd.conda-shared-tmp"
    stale.mkdir()
    (stale / "half-written").write_text("x")
    neighbour = overlays_dir / ".it's shared.x.gen-0123abcd"  # belongs to "it's shared.x"
    neighbour.mkdir()
    run_cli(capsys, "overlay", "install", env, "fresh-tool", *offline(wheels))
    assert not stale.exists()
    assert neighbour.exists()
    generations = [p.name for p in overlays_dir.iterdir() if ".gen-" in p.name]
    assert sorted(generations) == sorted(
        [os.readlink(overlays_dir / "it's shared"), neighbour.name]
    )


def test_kill_9_during_pip_leaves_the_overlay_and_the_next_run_cleans_up(
    shared_env: Env, wheels: Path, overlays_dir: Path, tmp_path: Path, capsys: Capsys
) -> None:
    env = str(shared_env.prefix)
    run_cli(capsys, "overlay", "install", env, "fresh-tool", *offline(wheels))
    pointer = overlays_dir / "it's shared"
    before = overlay_state(pointer)
    slow = source_tree(tmp_path / "slow", "slow-build", "0.1", slow=60)
    install = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "conda_shared",
            "overlay",
            "install",
            env,
            str(slow),
            "--",
            "--no-index",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,  # its own process group, as a terminal job is
    )
    deadline = time.monotonic() + 60
    while not list(overlays_dir.glob("*.conda-shared-tmp")) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert list(overlays_dir.glob("*.conda-shared-tmp")), "the install never staged"
    time.sleep(8)  # into pip's run: resolving, then building the slow package
    assert install.poll() is None
    os.killpg(install.pid, signal.SIGKILL)
    install.wait()
    assert overlay_state(pointer)[:2] == before[:2]  # the stage is left, the overlay is not
    again = run_cli(capsys, "overlay", "install", env, "tidy-util==1.1", *offline(wheels))
    assert again.code == 0, again.err
    assert not list(overlays_dir.glob("*.conda-shared-tmp"))


@pytest.mark.parametrize("relative", [False, True])
def test_a_link_of_the_users_own_at_the_pointer_is_refused_and_its_target_untouched(
    relative: bool,
    shared_env: Env,
    wheels: Path,
    overlays_dir: Path,
    capsys: Capsys,
) -> None:
    important = overlays_dir.parent / "data" / "important"
    (important / "lib").mkdir(parents=True)
    (important / "results.csv").write_text("1,2\n")
    before = tree_digest(important)
    overlays_dir.mkdir()
    pointer = overlays_dir / "it's shared"
    link = os.path.relpath(important, overlays_dir) if relative else str(important)
    pointer.symlink_to(link)
    env = str(shared_env.prefix)
    for argv in (
        ("install", env, "fresh-tool", *offline(wheels)),
        ("remove", env, "fresh-tool"),
        ("clear", env),
    ):
        refused = run_cli(capsys, "overlay", *argv)
        assert refused.code == 2, argv
        assert refused.err.startswith(
            f"conda-shared: error: refusing the overlay {pointer}: it is a link to {link}, not "
            "to a generation made by conda-shared"
        )
    assert tree_digest(important) == before
    assert os.readlink(pointer) == link
    out = overlay_run(shared_env.prefix, "python", "-c", "print('ran')")
    assert out.stdout == "ran\n"
    assert f"warning: ignoring the overlay {pointer}: " in out.stderr
