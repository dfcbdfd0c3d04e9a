"""`conda-shared pack`: archives of the sample's environments, refusals, atomicity, releases."""

from __future__ import annotations

import json
import os
import shutil
import sys
import tarfile
from pathlib import Path

import pytest

from conda_shared import audit
from conda_shared.condarc import CondaConfig
from conda_shared.fs.files import TEMP_SUFFIX
from conda_shared.pack import pack_env
from conda_shared.prefix import read_env
from conda_shared.specs import content_key
from tests.roots import make_sample, run_cli, tree_digest

Capsys = pytest.CaptureFixture[str]
SITE = "lib/python3.10/site-packages"


def members(archive: Path) -> dict[str, tarfile.TarInfo]:
    with tarfile.open(archive) as tar:
        return {info.name: info for info in tar.getmembers()}


def error_line(err: str) -> str:
    """The one error line; progress lines (reading, checking, packing) may come before it."""
    *progress, last = err.splitlines()
    assert all(line.startswith(("reading ", "checking ", "packing ")) for line in progress), err
    assert last.startswith("conda-shared: error: "), err
    return last


def leftovers(folder: Path) -> list[str]:
    return [p.name for p in folder.iterdir() if TEMP_SUFFIX in p.name]


def test_pack_writes_the_env_and_says_how_to_unpack_it(tmp_path: Path, capsys: Capsys) -> None:
    root = make_sample(tmp_path)
    prefix = root / "v24.11" / "envs" / "gitdev"
    out = tmp_path / "out" / "gitdev.tar.gz"
    before = tree_digest(prefix)

    result = run_cli(capsys, "pack", "gitdev", "--root", str(root), "--out", str(out), "--json")

    assert result.code == 0, result.err
    data = result.json()
    expected_key = content_key(read_env(prefix, name="gitdev", config=CondaConfig()))
    assert data["content_key"] == expected_key
    assert data["prefix"] == str(prefix) and data["archive"] == str(out)
    assert data["size"] == out.stat().st_size
    assert data["unpack"] == (
        f"mkdir -p gitdev && tar -xzf {out} -C gitdev && gitdev/bin/python gitdev/bin/conda-unpack"
    )
    names = members(out)
    assert "conda-meta/history" in names and "bin/conda-unpack" in names
    assert f"{SITE.replace('3.10', '3.11')}/ipumspy-0.5.1.dist-info/METADATA" in names
    assert out.stat().st_mode & 0o777 == 0o666 & ~_umask()
    assert tree_digest(prefix) == before
    assert leftovers(out.parent) == []
    (entry,) = [e for e in audit.tail(root / "log" / "shared.log", 5) if e.action == "pack"]
    assert entry.target == str(out) and entry.source == str(prefix)
    assert expected_key in entry.result and data["unpack"] in entry.result


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def test_the_text_names_size_key_and_unpack_line(tmp_path: Path, capsys: Capsys) -> None:
    root = make_sample(tmp_path)
    out = tmp_path / "r env.tar.gz"
    result = run_cli(capsys, "pack", "r_env", "--root", str(root), "--out", str(out))
    assert result.code == 0, result.err
    lines = result.out.splitlines()
    assert lines[0] == f"packed r_env ({root}/v24.11/envs/r_env) into {out}"
    assert any(line.startswith("  content key: sha256:") for line in lines)
    # a path with a space is quoted, so the line pastes as printed
    assert f"  unpack:      mkdir -p r_env && tar -xzf '{out}' -C r_env && python3 " in result.out
    assert "  note: not in the package cache, so packed from the env" in result.out


@pytest.mark.parametrize(
    ("name", "option", "message"),
    [
        ("env.tar.bz2", (), "cannot tell the archive format from env.tar.bz2"),
        ("env.zip", ("--format", "tar.gz"), "env.zip names a zip archive, but --format is tar.gz"),
        ("env.squashfs", (), "a squashfs image is mounted read-only"),
        ("env.tar.gz", ("--dest-prefix", "opt/x"), "--dest-prefix 'opt/x' is not an absolute"),
    ],
)
def test_bad_output_options_are_one_line(
    tmp_path: Path, capsys: Capsys, name: str, option: tuple[str, ...], message: str
) -> None:
    root = make_sample(tmp_path)
    result = run_cli(
        capsys, "pack", "r_env", "--root", str(root), "--out", str(tmp_path / name), *option
    )
    assert result.code == 2
    assert message in error_line(result.err)
    assert not (tmp_path / name).exists()


def test_an_existing_archive_is_never_replaced(tmp_path: Path, capsys: Capsys) -> None:
    root = make_sample(tmp_path)
    out = tmp_path / "r_env.tar.gz"
    out.write_text("keep me")
    result = run_cli(capsys, "pack", "r_env", "--root", str(root), "--out", str(out))
    assert result.code == 2 and "exists; pack never replaces a file" in result.err
    assert out.read_text() == "keep me"


def test_an_archive_inside_the_env_is_refused(tmp_path: Path, capsys: Capsys) -> None:
    root = make_sample(tmp_path)
    prefix = root / "v24.11" / "envs" / "r_env"
    before = tree_digest(prefix)
    result = run_cli(
        capsys, "pack", "r_env", "--root", str(root), "--out", str(prefix / "self.tar.gz")
    )
    assert result.code == 2 and "is inside the environment it packs" in result.err
    assert tree_digest(prefix) == before


def test_an_unknown_env_or_release_names_the_known_ones(tmp_path: Path, capsys: Capsys) -> None:
    root = make_sample(tmp_path)
    out = str(tmp_path / "x.tar.gz")
    typo = run_cli(capsys, "pack", "r_envv", "--root", str(root), "--out", out)
    assert typo.code == 2 and "(did you mean r_env or" in error_line(typo.err)
    release = run_cli(capsys, "pack", "r_env@2026.01.01", "--root", str(root), "--out", out)
    assert release.code == 2
    assert "r_env has no release 2026.01.01" in release.err and "(releases: none)" in release.err


def test_editable_installs_are_refused_then_left_out_on_request(
    tmp_path: Path, capsys: Capsys
) -> None:
    root = make_sample(tmp_path)
    out = tmp_path / "dev.tar.gz"
    args = ["pack", "editable_dev", "--root", str(root), "--out", str(out)]

    refused = run_cli(capsys, *args)
    assert refused.code == 1 and not out.exists()
    assert "editable installs, which conda-pack cannot pack" in error_line(refused.err)
    assert "hhtool (file:///home/alice/src/hhtool)" in refused.err
    assert error_line(refused.err).endswith(
        f": conda-shared pack --root {root} editable_dev --out {out} --ignore-editable"
    )

    packed = run_cli(capsys, *args, "--ignore-editable", "--json")
    assert packed.code == 0, packed.err
    assert "hhtool (file:///home/alice/src/hhtool)" in packed.json()["editable_left_out"]


def test_files_pip_overwrote_are_refused_then_packed_as_the_env_holds_them(
    tmp_path: Path, capsys: Capsys
) -> None:
    """conda-pack takes a cached package's files from the package cache: with
    --ignore-overwritten the archive still holds what runs (pip's numpy), not conda's copy."""
    root = make_sample(tmp_path)
    prefix = root / "v24.11" / "envs" / "mixed_numpy"
    _cache_the_packages(root / "v24.11" / "pkgs", prefix)
    out = tmp_path / "mixed.tar.gz"
    args = ["pack", "mixed_numpy", "--root", str(root), "--out", str(out), "--format", "tar.gz"]

    refused = run_cli(capsys, *args)
    assert refused.code == 1 and not out.exists()
    assert "pip overwrote or removed files of conda packages in mixed_numpy: numpy 1.21.5" in (
        refused.err
    )
    # the hint is this same command, options kept, plus the one that goes on
    assert error_line(refused.err).endswith(f"--out {out} --format tar.gz --ignore-overwritten")

    packed = run_cli(capsys, *args, "--ignore-overwritten", "--json")
    assert packed.code == 0, packed.err
    assert packed.json()["overwritten_packed_as_is"] == ["numpy 1.21.5"]
    with tarfile.open(out) as tar:
        member = tar.extractfile(f"{SITE}/numpy/__init__.py")
        assert member is not None
        assert member.read() == (prefix / SITE / "numpy" / "__init__.py").read_bytes()


def _cache_the_packages(pkgs: Path, prefix: Path) -> None:
    """What conda leaves in its package cache for each record, and the record's link to it
    (conda's own copy of each file: the content the record describes)."""
    for record_path in (prefix / "conda-meta").glob("*.json"):
        record = json.loads(record_path.read_text())
        extracted = pkgs / record_path.stem
        (extracted / "info").mkdir(parents=True)
        paths = []
        for relative in record["files"]:
            cached = extracted / relative
            cached.parent.mkdir(parents=True, exist_ok=True)
            source = prefix / relative
            cached.write_bytes(b"conda's copy\n" if not source.exists() else source.read_bytes())
            paths.append({"_path": relative, "path_type": "hardlink"})
        (extracted / "info" / "paths.json").write_text(json.dumps({"paths": paths}))
        record["link"] = {"source": str(extracted), "type": 1}
        record_path.write_text(json.dumps(record))
    # the numpy module pip overwrote is conda's own in the cache
    (pkgs / "numpy-1.21.5-py_0" / SITE / "numpy" / "__init__.py").write_bytes(b"conda = 1\n")


def test_ctrl_c_while_packing_leaves_no_archive_and_no_temp_files(
    tmp_path: Path, capsys: Capsys, monkeypatch: pytest.MonkeyPatch
) -> None:
    import tempfile

    import conda_pack.core

    root = make_sample(tmp_path)
    out = tmp_path / "out" / "r_env.tar.gz"
    added: list[str] = []
    original = conda_pack.core.Packer.add

    def interrupted(self: object, file: object) -> None:
        if len(added) == 3:
            # what conda-pack has written by now lies beside the archive, in our folder
            assert any(p.name.startswith(".r_env.tar.gz.") for p in out.parent.iterdir())
            raise KeyboardInterrupt
        added.append("x")
        original(self, file)  # type: ignore[arg-type]

    monkeypatch.setattr(conda_pack.core.Packer, "add", interrupted)
    # the temp folder every tempfile user would write to, private to this test
    temp = tmp_path / "tmp"
    temp.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(temp))

    result = run_cli(capsys, "pack", "r_env", "--root", str(root), "--out", str(out))

    assert result.code == 130
    assert not out.exists() and leftovers(out.parent) == []
    assert tempfile.tempdir == str(temp)
    assert list(temp.iterdir()) == []


def test_without_conda_pack_one_line_names_the_extra(
    tmp_path: Path, capsys: Capsys, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = make_sample(tmp_path)
    monkeypatch.setitem(sys.modules, "conda_pack", None)
    result = run_cli(capsys, "pack", "r_env", "--root", str(root), "--out", str(tmp_path / "a.zip"))
    assert result.code == 1 and result.err.count("\n") == 1
    assert "pip install 'conda-shared[pack]'" in error_line(result.err)


def test_a_release_is_packed_from_its_own_folder(tmp_path: Path) -> None:
    """NAME@ID packs that release; NAME alone what envs/NAME points at, by its real path."""
    root = make_sample(tmp_path)
    envs = root / "v24.11" / "envs"
    releases = envs / ".releases" / "r_env"
    releases.mkdir(parents=True)
    shutil.copytree(envs / "r_env", releases / "2026.12.01", symlinks=True)
    shutil.move(envs / "r_env", releases / "2026.12.07")
    (envs / "r_env").symlink_to(".releases/r_env/2026.12.07")

    older = pack_env(root=root, installation=None, env="r_env@2026.12.01", out=tmp_path / "a.zip")
    current = pack_env(root=root, installation=None, env="r_env", out=tmp_path / "b.zip")

    assert older.prefix == releases / "2026.12.01"
    assert current.prefix == releases / "2026.12.07"
    assert older.unpack.startswith("mkdir -p r_env-2026.12.01 && unzip -q ")
