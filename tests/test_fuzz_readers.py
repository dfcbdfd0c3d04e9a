"""Fuzz the readers through `conda-shared export`: any corrupted file fails only its own env.

Records, dist-infos, egg-links and histories of a multi-env installation are corrupted in every
way the issue lists (JSON that is not an object, fields of the wrong type, null or list
direct_url.json, relative egg-links, undecodable METADATA, files that cannot be read); export
must print no traceback, export every env it did not touch, and change nothing in the source.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from conda_shared.cli import main
from tests.roots import make_sample, tree_digest

hypothesis = pytest.importorskip("hypothesis")
st = pytest.importorskip("hypothesis.strategies")

#: what a corruption can hit, as a glob under one environment's prefix
TARGETS = {
    "record": "conda-meta/*.json",
    "history": "conda-meta/history",
    "metadata": "lib/python*/site-packages/*.dist-info/METADATA",
    "direct_url": "lib/python*/site-packages/*.dist-info/direct_url.json",
    "installer": "lib/python*/site-packages/*.dist-info/INSTALLER",
    "egg_link": "lib/python*/site-packages/*.egg-link",
    "dist_info": "lib/python*/site-packages/*.dist-info",
    "site_packages": "lib/python*/site-packages",
}

#: contents that readers have tripped on: each is valid in some format and wrong for the file
AWKWARD = [
    b"",
    b"null",
    b"[]",
    b'["https://example.org/x"]',
    b'"just a string"',
    b"7",
    b"{}",
    b'{"url": null}',
    b'{"url": ["a"], "vcs_info": []}',
    b'{"name": "x", "version": "1", "build_number": "abc", "depends": "python"}',
    b"[" * 50_000 + b"]" * 50_000,
    b"../../../src/project\n.\n",
    b"src\n",
    b"C:\\Users\\bob\\src\\project\n.\n",
    b"/home/bob/\x00src\n",
    b"Metadata-Version: 2.1\nName: caf\xe9\nVersion: 1.0\n",
    b"Name: \nVersion: \n",
    b"==> not a date <==\n# cmd: /tmp/my root/bin/conda create\n# update specs: [unclosed\n",
    b"\xff\xfe\x00n\x00u\x00l\x00l",
]

#: keys of conda records and PEP 610 files whose type readers rely on
FIELDS = [
    "name",
    "version",
    "build",
    "build_number",
    "channel",
    "url",
    "depends",
    "files",
    "noarch",
    "subdir",
    "md5",
    "vcs_info",
    "dir_info",
    "requested_spec",
]

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=8), children, max_size=3)
    ),
    max_leaves=8,
)


@dataclass(frozen=True)
class Corruption:
    """One change to one file or directory of one environment."""

    target: str
    pick: int  # which of the matching paths (modulo their number)
    action: str
    payload: Any = None


corruptions = st.one_of(
    st.builds(
        Corruption,
        st.sampled_from(sorted(TARGETS)),
        st.integers(0, 1000),
        st.sampled_from(["loop", "dangling", "directory", "delete"]),
    ),
    st.builds(
        Corruption,
        st.sampled_from(sorted(TARGETS)),
        st.integers(0, 1000),
        st.just("write"),
        st.sampled_from(AWKWARD) | st.sampled_from(AWKWARD) | st.binary(max_size=200),
    ),
    st.builds(
        Corruption,
        st.sampled_from(["record", "direct_url"]),
        st.integers(0, 1000),
        st.just("field"),
        st.tuples(
            st.sampled_from(FIELDS),
            json_values,
        ),
    ),
    st.builds(
        Corruption,
        st.sampled_from(["record", "metadata", "history"]),
        st.integers(0, 1000),
        st.just("truncate"),
        st.floats(0, 1),
    ),
)


def _apply(corruption: Corruption, envs_dir: Path) -> str | None:
    """Corrupt one of the matching paths of all envs; return the name of the env it hit."""
    matches = sorted(envs_dir.glob(f"*/{TARGETS[corruption.target]}"))
    if not matches:  # an earlier corruption took the last one
        return None
    path = matches[corruption.pick % len(matches)]
    env_name = path.relative_to(envs_dir).parts[0]
    plain_file = path.is_file() and not path.is_symlink()
    original = path.read_bytes() if plain_file else b""
    # An earlier corruption may have made this path a directory or a link: the ones that
    # write content replace it with a file.
    if corruption.action in ("loop", "dangling", "directory", "delete") or not plain_file:
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path)
        elif path.is_symlink() or path.exists():
            path.unlink()
    if corruption.action == "loop":
        path.symlink_to(path.name)
    elif corruption.action == "dangling":
        path.symlink_to(path.name + ".gone")
    elif corruption.action == "directory":
        path.mkdir()
    elif corruption.action == "write":
        path.write_bytes(corruption.payload)
    elif corruption.action == "truncate":
        path.write_bytes(original[: int(len(original) * corruption.payload)])
    elif corruption.action == "field":
        key, value = corruption.payload
        try:
            data = json.loads(original)
        except ValueError:
            data = {}
        if isinstance(data, dict):
            data[key] = value
        path.write_text(json.dumps(data))
    return env_name


#: every corruption the issue names, always tried (hypothesis adds random ones around them)
NAMED = [
    Corruption("direct_url", 0, "write", b"null"),
    Corruption("direct_url", 1, "write", b'["https://example.org/x"]'),
    Corruption("egg_link", 0, "write", b"../../../src/project\n.\n"),
    Corruption("metadata", 5, "write", b"Metadata-Version: 2.1\nName: caf\xe9\nVersion: 1.0\n"),
    Corruption("record", 7, "write", b"[]"),
    Corruption("record", 9, "field", ("build_number", "abc")),
    Corruption("record", 11, "directory"),
    Corruption("history", 2, "loop"),
    Corruption("site_packages", 1, "write", b"not a directory"),
]


@hypothesis.settings(
    max_examples=int(os.environ.get("CONDA_SHARED_FUZZ_EXAMPLES", "25")),
    deadline=None,
    suppress_health_check=[hypothesis.HealthCheck.too_slow],
)
@hypothesis.given(plan=st.lists(corruptions, min_size=1, max_size=4))
@hypothesis.example(plan=NAMED[:3])
@hypothesis.example(plan=NAMED[3:6])
@hypothesis.example(plan=NAMED[6:])
def test_corrupted_envs_fail_alone_and_the_source_is_untouched(plan: list[Corruption]) -> None:
    with tempfile.TemporaryDirectory() as scratch:
        root = make_sample(Path(scratch))
        source = root / "v24.11"
        touched = {_apply(corruption, source / "envs") for corruption in plan}
        before = tree_digest(source)
        out, err = io.StringIO(), io.StringIO()
        # in-process like tests.roots.run_cli, without capsys: hypothesis runs this many times
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = main(["export", "--root", str(root), "--out", f"{scratch}/out", "--json"])
        after = tree_digest(source)

    assert code in (0, 1), err.getvalue()
    assert "Traceback" not in err.getvalue()
    outcome = {env["name"]: env for env in json.loads(out.getvalue())["envs"]}
    for name, env in outcome.items():
        if name not in touched:
            assert env["ok"], f"{name} was not corrupted but failed: {env['error']}"
        elif not env["ok"]:
            assert "\n" not in env["error"] and "Traceback" not in env["error"]
            assert "None" not in env["error"].split(), env["error"]
    assert after == before
