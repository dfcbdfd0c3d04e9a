"""Tier 2: envs real conda built, packed, unpacked elsewhere (or mounted) and run; pip on top."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from conda_shared.doctor import check_root
from conda_shared.errors import SharedError
from conda_shared.pack import pack_env
from conda_shared.prefix.overwritten import LISTED_BY_PIP, find_overwritten
from tests.roots import tree_digest
from tests.support.channel import build_wheel
from tests.support.conda_runner import CondaRunner
from tests.support.users import NOBODY, REPO, home_of, needs_root, reachable_dir, setpriv

pytestmark = [pytest.mark.tier2, pytest.mark.slow]

PIP_OFFLINE = {"PIP_NO_INDEX": "1", "PIP_DISABLE_PIP_VERSION_CHECK": "1"}
SHOW = "import sys, tidy_util; print(sys.prefix); print(tidy_util.__version__)"


def make_root(parent: Path, conda_run: CondaRunner, *envs: str) -> Path:
    """ROOT/current -> v1, an installation whose envs real conda created."""
    root = parent / "root"
    (root / "v1" / "conda-meta").mkdir(parents=True)
    (root / "v1" / "conda-meta" / "history").write_text("")
    (root / "current").symlink_to("v1")
    for name in envs:
        conda_run("create", "-p", root / "v1" / "envs" / name, "python", "pip", "tidy-util=1.0")
    return root


@pytest.fixture(scope="module")
def root(conda_run: CondaRunner, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_root(tmp_path_factory.mktemp("pack-root"), conda_run, "work")


def run(argv: list[str], cwd: Path) -> str:
    done = subprocess.run(argv, cwd=cwd, capture_output=True, text=True, check=False)
    assert done.returncode == 0, f"{argv}: {done.stderr}"
    return done.stdout


def test_a_tarball_unpacks_elsewhere_and_its_python_and_entry_point_run(
    root: Path, tmp_path: Path
) -> None:
    prefix = root / "v1" / "envs" / "work"
    before = tree_digest(prefix)
    result = pack_env(root=root, installation=None, env="work", out=tmp_path / "work.tar.gz")
    assert tree_digest(prefix) == before

    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    run(["sh", "-c", result.unpack], elsewhere)  # the printed line, as a user pastes it
    unpacked = elsewhere / "work"
    assert run([str(unpacked / "bin" / "python"), "-c", SHOW], elsewhere).split() == [
        str(unpacked),
        "1.0",
    ]
    # conda-unpack rewrote the old prefix; activated (bash), the entry point runs its own pip
    assert str(prefix) not in (unpacked / "bin" / "pip").read_text()
    pip = run(["bash", "-c", ". work/bin/activate && pip --version"], elsewhere)
    assert f"from {unpacked}/lib/python" in pip


def mounted_or_unsquashed(image: Path, at: Path) -> Iterator[str]:
    """The image at `at`: mounted read-only where root may mount, else unsquashed there."""
    at.mkdir(parents=True)
    mount = subprocess.run(
        ["mount", "-t", "squashfs", "-o", "loop,ro", str(image), str(at)],
        capture_output=True,
        text=True,
        check=False,
    )
    if mount.returncode == 0:
        try:
            yield "mounted"
        finally:
            subprocess.run(["umount", str(at)], check=True)
        return
    at.rmdir()
    run(["unsquashfs", "-q", "-d", str(at), str(image)], image.parent)
    yield "unsquashed"


def test_a_squashfs_image_runs_at_its_dest_prefix(root: Path, tmp_path: Path) -> None:
    dest = tmp_path / "mnt" / "work"
    result = pack_env(
        root=root,
        installation=None,
        env="work",
        out=tmp_path / "work.squashfs",
        dest_prefix=str(dest),
    )
    assert result.unpack == f"mount -t squashfs -o loop,ro {tmp_path}/work.squashfs {dest}"
    for how in mounted_or_unsquashed(tmp_path / "work.squashfs", dest):
        assert run([str(dest / "bin" / "python"), "-c", SHOW], tmp_path).split() == [
            str(dest),
            "1.0",
        ], how
        # no conda-unpack step: the entry point already names the dest prefix
        assert (dest / "bin" / "pip").read_text().startswith(f"#!{dest}/bin/python")
        assert f"from {dest}/lib/python" in run([str(dest / "bin" / "pip"), "--version"], dest)


def test_a_wheel_shadowing_a_conda_module_is_named_refused_then_packed_as_is(
    conda_run: CondaRunner, tmp_path: Path
) -> None:
    root = make_root(tmp_path, conda_run, "shadowed")
    prefix = root / "v1" / "envs" / "shadowed"
    wheel = build_wheel(tmp_path / "wheels", "tidy-shadow", "2.0", module="tidy_util")
    subprocess.run(
        [str(prefix / "bin" / "python"), "-m", "pip", "install", str(wheel)],
        check=True,
        capture_output=True,
        env=conda_run.environ(PIP_OFFLINE),
    )

    found = find_overwritten(prefix, hashes=True)
    assert found.packages == ("tidy-util 1.0",)
    assert found.pip_dists == ("tidy_shadow 2.0",)
    assert {f.how for f in found.files} == {LISTED_BY_PIP}
    doctor = check_root(root=root)
    assert [f.subject for f in doctor.problems if f.check == "overwritten"] == [str(prefix)]

    with pytest.raises(SharedError, match=r"conda packages in shadowed: tidy-util 1\.0"):
        pack_env(root=root, installation=None, env="shadowed", out=tmp_path / "s.tar.gz")
    assert not (tmp_path / "s.tar.gz").exists()
    result = pack_env(
        root=root,
        installation=None,
        env="shadowed",
        out=tmp_path / "s.tar.gz",
        ignore_overwritten=True,
    )
    run(["sh", "-c", result.unpack], tmp_path)
    # what ran before packing runs after: pip's module, not conda's cached copy
    assert (
        run([str(tmp_path / "shadowed" / "bin" / "python"), "-c", SHOW], tmp_path).split()[1]
        == "2.0"
    )


@needs_root
def test_a_read_only_env_packs_as_an_unprivileged_user(conda_run: CondaRunner) -> None:
    with reachable_dir("conda-shared-pack-") as base:
        root = make_root(base, conda_run, "shared")
        prefix = root / "v1" / "envs" / "shared"
        before = tree_digest(prefix)
        out_dir = base / "out"
        out_dir.mkdir()
        os.chown(out_dir, NOBODY, NOBODY)
        script = 'mount --bind -o ro "$0" "$0" && exec "$@"'
        argv = ["pack", "shared", "--root", str(root), "--out", str(out_dir / "s.tar.gz")]
        in_mount = ["unshare", "-m", "sh", "-c", script, str(root)]
        done = subprocess.run(
            [*in_mount, *setpriv(NOBODY), sys.executable, "-m", "conda_shared", *argv],
            capture_output=True,
            text=True,
            env={
                "PATH": os.environ["PATH"],
                "HOME": str(home_of(base, NOBODY)),
                "PYTHONPATH": str(REPO),
            },
            cwd=base,
            check=False,
            timeout=300,
        )
        assert done.returncode == 0, done.stderr
        assert (out_dir / "s.tar.gz").stat().st_uid == NOBODY
        # the audit log is on the read-only mount: said in one note, not a failure
        assert "note: audit log" in done.stdout and "Read-only file system" in done.stdout
        assert tree_digest(prefix) == before
        shutil.rmtree(out_dir)
