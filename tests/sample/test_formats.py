"""sample/formats.py: records, history and dist-info read back as conda-shared's readers (and
conda) read them, in each era's shape."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from conda_shared.condarc import CondaConfig
from conda_shared.history import parse_history
from conda_shared.prefix import read_env
from conda_shared.sample import formats
from conda_shared.sample.environments import FORGE, Package

NUMPY = Package("numpy", "1.26.4", "py_0", FORGE, python_dist="numpy")
ERAS = tuple(formats.ERA_CONDA)


@pytest.mark.parametrize("era", ERAS)
def test_history_reads_back_as_written(era: str) -> None:
    entries = [
        formats.HistoryEntry(
            date="2024-03-01 10:00:00",
            conda="/opt/my root/bin/conda",
            arguments="create -n x python=3.10 numpy",
            linked=(formats.dist_string("conda-forge", NUMPY, era),),
            update=("python=3.10", "numpy"),
        ),
        formats.HistoryEntry(
            date="2024-04-02 11:00:00",
            conda="/opt/my root/bin/conda",
            arguments="remove -n x numpy",
            unlinked=(formats.dist_string("conda-forge", NUMPY, era),),
            remove=("numpy",),
        ),
    ]
    history = parse_history(formats.history_text(entries, era))
    created, removed = history.revisions
    assert created.conda_version == (None if era == "4.3" else formats.ERA_CONDA[era])
    assert created.added == (formats.dist_string("conda-forge", NUMPY, era),)
    assert removed.removed == created.added and removed.remove_specs == ("numpy",)
    update = ("python 3.10*", "numpy") if era == "4.3" else ("python=3.10", "numpy")
    assert created.update_specs == update


def test_key_order_is_sorted_until_conda_26(tmp_path: Path) -> None:
    paths = [formats.path_entry("share/x", path_type="hardlink", sha256="ab", size=2)]
    for era, requested in (("24", "numpy"), ("26", None)):
        record = formats.record(
            NUMPY,
            era=era,
            url=NUMPY.url,
            pkgs_dir="/pkgs",
            requested=requested,
            files=["share/x"],
            paths=paths,
        )
        text = formats.json_text(record, era)
        keys = list(json.loads(text))
        assert (keys == sorted(keys)) == (era == "24")
        assert json.loads(text)["extracted_package_dir"] == "/pkgs/numpy-1.26.4-py_0"
    assert "requested_spec" not in record and record["_requested_specs"] == []


def test_an_env_written_from_formats_reads_back(tmp_path: Path) -> None:
    site = "lib/python3.11/site-packages"
    prefix = tmp_path / "env"
    editable = {"url": "file:///home/a/src/hh", "dir_info": {"editable": True}}
    files = formats.dist_info(
        site=site,
        name="hh-tool",
        version="0.3",
        installer="pip",
        metadata_text=formats.metadata("hh-tool", "0.3"),
        direct_url=editable,
    )
    for relative, content in files.items():
        (prefix / relative).parent.mkdir(parents=True, exist_ok=True)
        (prefix / relative).write_text(content)
    (prefix / "conda-meta").mkdir()
    (prefix / "conda-meta" / "history").write_text("")
    # Only the env's own Python's site-packages is read: the env needs its python record.
    python = {
        "name": "python",
        "version": "3.11.7",
        "build": "h0_0",
        "build_number": 0,
        "channel": "https://conda.anaconda.org/conda-forge/linux-64",
        "subdir": "linux-64",
        "fn": "python-3.11.7-h0_0.conda",
        "url": "https://conda.anaconda.org/conda-forge/linux-64/python-3.11.7-h0_0.conda",
        "depends": [],
        "files": [],
    }
    (prefix / "conda-meta" / "python-3.11.7-h0_0.json").write_text(json.dumps(python))
    assert (prefix / site / "__editable__.hh_tool-0.3.pth").read_text() == "/home/a/src/hh\n"
    record = (prefix / site / "hh_tool-0.3.dist-info" / "RECORD").read_text().splitlines()
    assert record[-1] == "hh_tool-0.3.dist-info/RECORD,,"
    (dist,) = read_env(prefix, name="env", config=CondaConfig()).pip_dists
    assert (dist.name, dist.version, dist.installer) == ("hh-tool", "0.3", "pip")
    assert dist.source.kind == "editable"
