"""export.py: every environment exported, failures isolated, the source never touched."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from conda_shared import export
from conda_shared.errors import InputError, SharedError
from conda_shared.export import export_envs
from conda_shared.prefix.cache import CACHE_DIR
from tests.catalog.helpers import pip_install, settle
from tests.roots import make_sample, tree_digest
from tests.support.users import NOBODY, home_of, needs_root, reachable_dir, run_as


def test_exports_every_env_but_base_without_touching_the_source(tmp_path: Path) -> None:
    root = make_sample(tmp_path)
    before = tree_digest(root / "v24.11")
    result = export_envs(root=root)
    assert result.ok
    assert len(result.envs) == 13
    assert result.out_dir == root / "specs" / "v24.11"
    for env in result.envs:
        assert [p.name for p in env.files] == [
            f"{env.name}{s}" for s in (".yml", ".lock", ".history.yml", ".conda-lock.yml", ".json")
        ]
        assert all(p.is_file() for p in env.files)
    assert tree_digest(root / "v24.11") == before
    log = (root / "log" / "shared.log").read_text().splitlines()
    assert "13 ok, 0 failed" in json.loads(log[-1])["result"]


def test_read_only_source_exports_unchanged(tmp_path: Path) -> None:
    root = make_sample(tmp_path)
    source = root / "v24.11"
    for path in [source, *source.rglob("*")]:
        if not path.is_symlink():
            path.chmod(path.stat().st_mode & ~0o222)
    before = tree_digest(source)
    try:
        result = export_envs(root=root, out=tmp_path / "out")
        after = tree_digest(source)
    finally:
        for path in [source, *source.rglob("*")]:
            if not path.is_symlink():
                path.chmod(path.stat().st_mode | 0o200)
    assert result.ok
    assert after == before


def test_one_bad_env_is_reported_and_the_rest_export(tmp_path: Path) -> None:
    root = make_sample(tmp_path)
    corrupt = root / "v24.11/envs/gitdev/conda-meta/pip-24.2-pyhd8ed1ab_0.json"
    corrupt.write_text("{broken")
    (root / "v24.11/envs/r_env/conda-meta").rename(root / "v24.11/envs/r_env/conda-meta.bak")
    result = export_envs(root=root, names=["gitdev", "isis4.3.0", "r_env", "nope"])
    assert not result.ok
    outcome = {e.name: e for e in result.envs}
    assert outcome["isis4.3.0"].ok
    assert not outcome["gitdev"].ok and str(corrupt) in (outcome["gitdev"].error or "")
    assert not outcome["r_env"].ok  # no longer an environment at all
    assert not outcome["nope"].ok and "no environment named 'nope'" in (outcome["nope"].error or "")
    assert not (root / "specs/v24.11/gitdev.json").exists()


def test_names_are_validated_and_paths_accepted(tmp_path: Path) -> None:
    root = make_sample(tmp_path)
    with pytest.raises(InputError, match="not a valid environment name"):
        export_envs(root=root, names=["../x"])
    assert not (root / "specs").exists()
    path = str(root / "v24.11" / "envs" / "r_env")
    result = export_envs(root=root, names=[path], out=tmp_path / "out")
    assert result.ok and result.envs[0].name == "r_env"


def test_inventory_selects_and_skips(tmp_path: Path) -> None:
    root = make_sample(tmp_path)
    inventory = tmp_path / "inventory.ini"
    inventory.write_text("# keep\nnhis_reformat = REPLICATE\nold_not_used = export\nr_env = SKIP\n")
    result = export_envs(root=root, inventory=inventory)
    assert [e.name for e in result.envs] == ["nhis_reformat", "old_not_used"]


def test_export_from_another_installation(tmp_path: Path) -> None:
    root = make_sample(tmp_path)
    result = export_envs(root=root, installation="qa")
    assert [e.name for e in result.envs] == ["smoke"]
    assert result.out_dir == root / "specs" / "v26.7"


def test_refuses_to_write_into_the_source_or_outside_the_root(tmp_path: Path) -> None:
    root = make_sample(tmp_path)
    with pytest.raises(InputError, match="which is being read"):
        export_envs(root=root, out=root / "v24.11" / "specs")
    (root / "specs").symlink_to(tmp_path)
    with pytest.raises(SharedError, match="outside the shared root"):
        export_envs(root=root)


def test_unwritable_audit_log_is_a_note_not_a_failure(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = make_sample(tmp_path)
    from conda_shared import audit

    monkeypatch.setattr(
        audit.fs,
        "append_line",
        lambda *a: (_ for _ in ()).throw(PermissionError(13, "Permission denied")),
    )
    result = export_envs(root=root, names=["r_env"])
    assert result.ok
    assert result.notes and "not written: Permission denied" in result.notes[0]


def test_export_one_env_by_path_without_a_root(tmp_path: Path) -> None:
    root = make_sample(tmp_path)
    prefix = root / "v24.11" / "envs" / "mirror_env"
    lone = tmp_path / "my envs" / "lone"
    shutil.copytree(root / "v24.11" / "envs" / "r_env", lone, symlinks=True)
    (lone / "conda-meta" / "history").write_text("")  # made by no conda we can find
    before = tree_digest(root)
    out = tmp_path / "captured specs"
    result = export_envs(root=None, names=[str(prefix), str(lone)], out=out)
    assert result.ok and result.installation is None
    assert [e.name for e in result.envs] == ["mirror_env", "lone"]
    assert sorted(p.name for p in out.glob("*.json")) == ["lone.json", "mirror_env.json"]
    manifest = json.loads((out / "mirror_env.json").read_text())
    # channels were read with the config of the installation whose envs/ holds the env
    assert manifest["source"]["installation"] == str((root / "v24.11").resolve())
    assert "conda-forge" in manifest["channels"]
    assert json.loads((out / "lone.json").read_text())["source"]["installation"] == str(
        lone.resolve()
    )
    assert tree_digest(root) == before


def test_without_a_root_names_and_a_missing_out_are_one_clear_error(tmp_path: Path) -> None:
    root = make_sample(tmp_path)
    prefix = str(root / "v24.11" / "envs" / "r_env")
    with pytest.raises(InputError, match="Pass --out DIR"):
        export_envs(root=None, names=[prefix])
    with pytest.raises(InputError, match="'r_env' is a name: names resolve through a shared root"):
        export_envs(root=None, names=["r_env", prefix], out=tmp_path / "out")
    with pytest.raises(InputError, match="names resolve through a shared root"):
        export_envs(root=None, out=tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_two_envs_with_one_name_are_written_to_two_file_sets(tmp_path: Path) -> None:
    root = make_sample(tmp_path)
    shutil.copytree(
        root / "v24.11" / "envs" / "r_env", root / "project-envs" / "mirror_env", symlinks=True
    )
    result = export_envs(root=root)
    assert result.ok
    keys = [e.name for e in result.envs]
    twins = [k for k in keys if k.split("~")[0] == "mirror_env"]
    assert twins[0] == "mirror_env" and twins[1].startswith("mirror_env~")
    manifests = {k: json.loads((result.out_dir / f"{k}.json").read_text()) for k in twins}
    assert {m["source"]["prefix"] for m in manifests.values()} == {
        str(root / "v24.11" / "envs" / "mirror_env"),
        str(root / "project-envs" / "mirror_env"),
    }
    assert {m["name"] for m in manifests.values()} == {"mirror_env"}
    assert manifests[twins[1]]["files"]["lock"] == f"{twins[1]}.lock"
    again = export_envs(root=root, names=twins)  # the key selects the same env again
    assert [e.content_key for e in again.envs] == [m["content_key"] for m in manifests.values()]


def test_an_env_outside_the_installation_never_takes_an_env_s_file_names(tmp_path: Path) -> None:
    root = make_sample(tmp_path)
    elsewhere = tmp_path / "elsewhere" / "r_env"
    shutil.copytree(root / "v24.11" / "envs" / "mirror_env", elsewhere, symlinks=True)
    result = export_envs(root=root, names=["r_env", str(elsewhere), "r_env"])
    assert [e.name.split("~")[0] for e in result.envs] == ["r_env", "r_env"]
    assert len({e.name for e in result.envs}) == 2


@pytest.mark.parametrize(
    ("damage", "relative"),
    [
        ("null", "gitdev/lib/python3.11/site-packages/ipumspy-0.5.1.dist-info/direct_url.json"),
        ("[1, 2]", "gitdev/lib/python3.11/site-packages/ipumspy-0.5.1.dist-info/direct_url.json"),
        ("../src/census\n.\n", "editable_dev/lib/python3.11/site-packages/census-utils.egg-link"),
        ('["a record", "not an object"]', "r_env/conda-meta/r-base-4.3.1-h_0.json"),
    ],
)
def test_one_damaged_file_never_stops_the_others(
    tmp_path: Path, damage: str, relative: str
) -> None:
    root = make_sample(tmp_path)
    damaged = root / "v24.11" / "envs" / relative
    if not damaged.exists():  # the sample names the record by its version
        damaged = next(damaged.parent.glob(damaged.name.split("-")[0] + "-*.json"))
    damaged.write_text(damage)
    before = tree_digest(root / "v24.11")
    result = export_envs(root=root)
    assert len(result.envs) == 13
    assert sum(e.ok for e in result.envs) >= 12  # a reader may also accept the damage
    for env in result.envs:
        assert env.ok or (env.error and "\n" not in env.error and "Traceback" not in env.error)
    assert tree_digest(root / "v24.11") == before


def test_an_unexpected_error_in_one_env_is_one_line_naming_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = make_sample(tmp_path)
    real_read_env = export.read_env

    def read_env(prefix: Path, **kwargs: Any) -> Any:
        if prefix.name == "gitdev":
            raise TypeError("'NoneType' object is not subscriptable\nsecond line")
        if prefix.name == "r_env":
            raise PermissionError(13, "Permission denied", str(prefix / "conda-meta"))
        return real_read_env(prefix, **kwargs)

    monkeypatch.setattr(export, "read_env", read_env)
    result = export_envs(root=root)
    outcome = {e.name: e for e in result.envs}
    assert not result.ok and sum(e.ok for e in result.envs) == 11
    assert outcome["gitdev"].error == (
        f"unexpected TypeError while trying to read {root / 'v24.11/envs/gitdev'}: "
        "'NoneType' object is not subscriptable second line. This is a bug in conda-shared: "
        "please report it with this line"
    )
    assert outcome["r_env"].error == (
        f"cannot read {root / 'v24.11/envs/r_env/conda-meta'}: Permission denied"
    )


def test_an_unwritable_out_is_one_error_before_any_env(tmp_path: Path) -> None:
    root = make_sample(tmp_path)
    (tmp_path / "a-file").write_text("")
    with pytest.raises(SharedError, match=r"cannot create the specs folder .*a-file/specs: Not"):
        export_envs(root=root, out=tmp_path / "a-file" / "specs")


def test_out_inside_an_exported_env_is_refused(tmp_path: Path) -> None:
    root = make_sample(tmp_path)
    lone = tmp_path / "lone"
    shutil.copytree(root / "v24.11" / "envs" / "r_env", lone, symlinks=True)
    with pytest.raises(InputError, match="which is being read"):
        export_envs(root=None, names=[str(lone)], out=lone / "specs")
    assert not (lone / "specs").exists()


def test_an_installation_outside_the_root_is_refused_as_from(tmp_path: Path) -> None:
    root = make_sample(tmp_path)
    other = make_sample(tmp_path, name="other") / "v24.11"
    for out in (None, tmp_path / "other-specs"):
        with pytest.raises(InputError, match="is not an installation of the root"):
            export_envs(root=root, installation=str(other), out=out)
    assert not (root / "specs" / "v24.11").exists()
    assert not (tmp_path / "other-specs").exists()
    result = export_envs(root=other, out=tmp_path / "other-specs")  # as its own root
    assert result.ok and result.installation == other.resolve()


def test_a_second_export_into_the_same_out_fails_clearly(tmp_path: Path) -> None:
    root = make_sample(tmp_path)
    out = tmp_path / "out"
    out.mkdir()
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time\nfrom pathlib import Path\nfrom conda_shared import fs\n"
            f"with fs.exclusive_lock(Path({str(out / export.LOCK_NAME)!r})):\n"
            "    print('held', flush=True)\n    time.sleep(30)\n",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline() == "held\n"
        with pytest.raises(SharedError, match=r"held by another conda-shared command \(pid"):
            export_envs(root=root, out=out)
    finally:
        holder.kill()
        holder.wait()
    assert sorted(p.name for p in out.iterdir()) == [export.LOCK_NAME]


def test_ctrl_c_returns_the_envs_that_finished(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = make_sample(tmp_path)
    seen: list[str] = []

    def progress(line: str) -> None:
        seen.append(line)
        if len(seen) == 4:  # Ctrl-C while the fourth env is read
            raise KeyboardInterrupt

    result = export_envs(root=root, progress=progress)
    assert result.interrupted and not result.ok
    assert len(result.envs) == 3 and all(e.ok for e in result.envs)
    written = sorted(p.name for p in result.out_dir.iterdir() if not p.name.startswith("."))
    assert written == sorted(p.name for e in result.envs for p in e.files)
    log = json.loads((root / "log" / "shared.log").read_text().splitlines()[-1])
    assert log["result"] == "3 ok, 0 failed, interrupted before 10"


def test_a_symlink_loop_given_as_an_env_is_one_failure(tmp_path: Path) -> None:
    root = make_sample(tmp_path)
    loop = tmp_path / "loop"
    loop.symlink_to(loop)
    result = export_envs(root=root, names=[str(loop), "r_env"])
    outcome = {e.name: e for e in result.envs}
    assert outcome["r_env"].ok
    assert (
        outcome[str(loop)].error
        == f"{loop} is not a conda environment: it has no conda-meta/ directory"
    )
    lone = export_envs(root=None, names=[str(loop)], out=tmp_path / "out")
    assert not lone.ok and len(lone.envs) == 1


def test_an_unchanged_root_is_exported_again_without_reading_an_env(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = make_sample(tmp_path)
    settle(root)
    first = export_envs(root=root)
    written = {path: path.stat().st_mtime_ns for env in first.envs for path in env.files}

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("an unchanged env was read again")

    with monkeypatch.context() as patched:
        patched.setattr(export, "read_env", refuse)
        again = export_envs(root=root)
    assert again.ok and all(env.unchanged for env in again.envs)
    assert [(e.name, e.content_key, e.risks) for e in again.envs] == [
        (e.name, e.content_key, e.risks) for e in first.envs
    ]
    assert {path: path.stat().st_mtime_ns for path in written} == written, "files untouched"
    # pip changed one env, and someone edited another's spec: only those two are written again
    pip_install(root / "v24.11" / "envs" / "gitdev", "polars", "1.2.3")
    edited = root / "specs" / "v24.11" / "r_env.yml"
    edited.write_text("edited by hand\n")
    third = export_envs(root=root)
    assert sorted(e.name for e in third.envs if not e.unchanged) == ["gitdev", "r_env"]
    assert "polars==1.2.3" in (root / "specs" / "v24.11" / "gitdev.yml").read_text()
    assert edited.read_text() != "edited by hand\n"
    assert not any(env.unchanged for env in export_envs(root=root, full=True).envs)
    # another --out, another lock hash: the cache never answers for other files
    elsewhere = export_envs(root=root, out=tmp_path / "elsewhere", lock_hash="md5")
    assert not any(env.unchanged for env in elsewhere.envs)


@needs_root
def test_the_env_cache_serves_only_the_user_who_owns_it() -> None:
    with reachable_dir() as place:
        root = make_sample(place)
        subprocess.run(["chmod", "-R", "a+rX", str(root)], check=True)
        settle(root)
        home = home_of(place, NOBODY)

        def export_as_nobody() -> dict[str, Any]:
            result = run_as(NOBODY, "export", "--root", str(root), "--out", str(home / "specs"),
                            "--json", home=home)  # fmt: skip
            assert result.returncode == 0, result.stderr
            document: dict[str, Any] = json.loads(result.stdout)
            return document

        assert not any(e["unchanged"] for e in export_as_nobody()["envs"])
        again = export_as_nobody()  # nobody's own cache, beside nobody's specs: trusted
        assert len(again["envs"]) == 13 and all(e["unchanged"] for e in again["envs"])
        # root exporting into that folder finds a cache another user owns: ignored
        (home / "specs").chmod(0o777)
        theirs = export_envs(root=root, out=home / "specs")
        assert (home / "specs" / CACHE_DIR).stat().st_uid == NOBODY
        assert theirs.ok and not any(env.unchanged for env in theirs.envs)
        assert any("env cache" in note and "ignored" in note for note in theirs.notes)
