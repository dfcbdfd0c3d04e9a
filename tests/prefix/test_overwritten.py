"""prefix/overwritten.py: which files of conda packages pip overwrote, changed or removed."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

from conda_shared.prefix.overwritten import CHANGED, LISTED_BY_PIP, MISSING, find_overwritten

SITE = "lib/python3.11/site-packages"


def install(
    prefix: Path,
    name: str,
    version: str,
    files: dict[str, bytes],
    *,
    noarch_python: bool = False,
    placeholder: set[str] = frozenset(),  # type: ignore[assignment]
) -> None:
    """Files on disk plus the conda-meta record conda writes for them (paths_data included)."""
    entries = []
    for relative, content in files.items():
        (prefix / relative).parent.mkdir(parents=True, exist_ok=True)
        (prefix / relative).write_bytes(content)
        in_package = relative.replace(f"{SITE}/", "site-packages/") if noarch_python else relative
        digest = hashlib.sha256(content).hexdigest()
        entry = {"_path": in_package, "path_type": "hardlink", "size_in_bytes": len(content)}
        if relative in placeholder:
            # conda keeps the package's size and hash and adds the hash of what it wrote
            entry.update(prefix_placeholder="/opt/anaconda1anaconda2anaconda3", file_mode="text")
            entry.update(size_in_bytes=len(content) + 7, sha256="0" * 64)
        entry["sha256_in_prefix"] = digest
        entries.append(entry)
    record = {
        "name": name,
        "version": version,
        "build": "0",
        "files": list(files),
        "paths_data": {"paths": entries, "paths_version": 1},
    }
    meta = prefix / "conda-meta"
    meta.mkdir(parents=True, exist_ok=True)
    (meta / f"{name}-{version}-0.json").write_text(json.dumps(record))


def pip_dist(
    prefix: Path, name: str, version: str, files: dict[str, bytes], installer: str
) -> None:
    """What `pip install` leaves: the files, and a dist-info whose RECORD lists them."""
    dist_info = f"{name}-{version}.dist-info"
    for relative, content in files.items():
        (prefix / SITE / relative).parent.mkdir(parents=True, exist_ok=True)
        (prefix / SITE / relative).write_bytes(content)
    (prefix / SITE / dist_info).mkdir(parents=True, exist_ok=True)
    (prefix / SITE / dist_info / "INSTALLER").write_text(f"{installer}\n")
    rows = [f"{relative},sha256=x,{len(content)}" for relative, content in files.items()]
    rows += [f"{dist_info}/RECORD,,", "../../../bin/tool,sha256=y,10"]
    (prefix / SITE / dist_info / "RECORD").write_text("\n".join(rows) + "\n")


def test_an_untouched_env_has_nothing_overwritten(tmp_path: Path) -> None:
    install(tmp_path, "libdata", "2.0", {"share/libdata/data.txt": b"libdata\n"})
    install(tmp_path, "tidy", "1.0", {f"{SITE}/tidy/__init__.py": b"x = 1\n"}, noarch_python=True)

    found = find_overwritten(tmp_path, hashes=True)

    assert found.files == ()
    assert found.packages == ()


def test_a_file_a_pip_record_lists_is_named_with_the_pip_dist(tmp_path: Path) -> None:
    install(tmp_path, "numpy", "1.21.5", {f"{SITE}/numpy/__init__.py": b"old = 1\n"})
    install(tmp_path, "bintool", "1.0", {"bin/tool": b"#!/bin/sh\necho 1\n"})
    pip_dist(tmp_path, "numpy", "1.24.0", {"numpy/__init__.py": b"new = 2\n"}, "pip")

    found = find_overwritten(tmp_path)

    by_path = {f.path: f for f in found.files}
    assert by_path[f"{SITE}/numpy/__init__.py"].how == LISTED_BY_PIP
    assert by_path[f"{SITE}/numpy/__init__.py"].pip_dist == "numpy 1.24.0"
    # ../../../bin/tool in the RECORD is the prefix's bin/tool
    assert by_path["bin/tool"].package == "bintool"
    assert found.packages == ("bintool 1.0", "numpy 1.21.5")
    assert found.pip_dists == ("numpy 1.24.0",)
    assert "numpy 1.21.5" in found.summary() and "pip's numpy 1.24.0" in found.summary()


def test_a_changed_size_is_found_and_a_same_size_change_only_with_hashes(tmp_path: Path) -> None:
    install(tmp_path, "a", "1", {"share/a.txt": b"aaaa\n", "share/b.txt": b"bbbb\n"})
    (tmp_path / "share" / "a.txt").write_bytes(b"longer now\n")
    (tmp_path / "share" / "b.txt").write_bytes(b"BBBB\n")

    quick = find_overwritten(tmp_path)
    thorough = find_overwritten(tmp_path, hashes=True)

    assert [(f.path, f.how) for f in quick.files] == [("share/a.txt", CHANGED)]
    assert [(f.path, f.how) for f in thorough.files] == [
        ("share/a.txt", CHANGED),
        ("share/b.txt", CHANGED),
    ]
    # a file older than its record is the one conda put there: not read again
    record = tmp_path / "conda-meta" / "a-1-0.json"
    old = record.stat().st_mtime_ns - 10**9
    os.utime(tmp_path / "share" / "b.txt", ns=(old, old))
    assert [f.path for f in find_overwritten(tmp_path, hashes=True).files] == ["share/a.txt"]


def test_gone_files_are_missing_but_bytecode_is_not_counted(tmp_path: Path) -> None:
    install(
        tmp_path,
        "six",
        "1.16",
        {f"{SITE}/six.py": b"six\n", f"{SITE}/__pycache__/six.cpython-311.pyc": b"\0\0"},
    )
    (tmp_path / SITE / "six.py").unlink()
    (tmp_path / SITE / "__pycache__" / "six.cpython-311.pyc").unlink()

    found = find_overwritten(tmp_path)

    assert [(f.path, f.how, f.package) for f in found.files] == [(f"{SITE}/six.py", MISSING, "six")]


def test_noarch_python_paths_data_is_matched_to_where_the_file_went(tmp_path: Path) -> None:
    install(tmp_path, "tidy", "1.0", {f"{SITE}/tidy/__init__.py": b"x = 1\n"}, noarch_python=True)
    (tmp_path / SITE / "tidy" / "__init__.py").write_bytes(b"x = 100000\n")

    assert [f.how for f in find_overwritten(tmp_path).files] == [CHANGED]


def test_a_text_file_with_a_prefix_is_compared_by_its_hash_in_the_prefix(tmp_path: Path) -> None:
    script = "bin/tool"
    install(tmp_path, "tool", "1", {script: b"#!/env/bin/python\n"}, placeholder={script})

    assert find_overwritten(tmp_path, hashes=True).files == ()
    (tmp_path / script).write_bytes(b"#!/env/bin/pythoX\n")
    assert [f.how for f in find_overwritten(tmp_path, hashes=True).files] == [CHANGED]


def test_a_conda_packages_own_dist_info_with_installer_pip_is_not_pips(tmp_path: Path) -> None:
    """Old packages were built with pip and kept INSTALLER=pip: unchanged, they are conda's."""
    dist_info = f"{SITE}/old-1.0.dist-info"
    install(
        tmp_path,
        "old",
        "1.0",
        {
            f"{SITE}/old.py": b"old\n",
            f"{dist_info}/INSTALLER": b"pip\n",
            f"{dist_info}/RECORD": b"old.py,,\nold-1.0.dist-info/RECORD,,\n",
        },
    )

    assert find_overwritten(tmp_path).files == ()


def test_a_pip_reinstall_of_the_same_version_is_found(tmp_path: Path) -> None:
    """pip --force-reinstall rewrites conda's dist-info in place: same folder, INSTALLER=pip."""
    dist_info = f"{SITE}/old-1.0.dist-info"
    install(
        tmp_path,
        "old",
        "1.0",
        {
            f"{SITE}/old.py": b"old\n",
            f"{dist_info}/INSTALLER": b"conda\n",
            f"{dist_info}/RECORD": b"old.py,,\nold-1.0.dist-info/RECORD,,\n",
        },
    )
    pip_dist(tmp_path, "old", "1.0", {"old.py": b"new\n"}, "pip")

    found = find_overwritten(tmp_path)

    assert {f.path: f.how for f in found.files}[f"{SITE}/old.py"] == LISTED_BY_PIP
