"""`init` lays out a shared root around an installation and never touches the installation."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from ruamel.yaml import YAML

from conda_shared.errors import InputError
from conda_shared.init_root import init_root
from conda_shared.status import shared_status
from tests.roots import make_installation, run_cli, tree_digest, write_record

Capsys = pytest.CaptureFixture[str]


def test_init_around_an_installation_folder_in_the_root(tmp_path: Path) -> None:
    root = tmp_path / "conda"
    installation = make_installation(root / "v4.3", conda_version="4.3.31")
    before = tree_digest(installation)
    result = init_root(root=root)
    assert result.name == "v4.3"
    assert os.readlink(root / "current") == "v4.3"
    assert os.readlink(root / "envs") == "current/envs"
    assert all((root / folder).is_dir() for folder in ("kernels", "specs", "reports", "log"))
    assert result.created == (
        "kernels/", "specs/", "reports/", "log/", "current -> v4.3", "envs -> current/envs",
    )  # fmt: skip
    assert tree_digest(installation) == before
    (entry,) = [json.loads(line) for line in (root / "log" / "shared.log").read_text().splitlines()]
    assert (entry["action"], entry["to"], entry["result"]) == (
        "init",
        "v4.3",
        "ok: current -> v4.3",
    )
    assert shared_status(root=root).problems == ()


def test_init_again_keeps_everything(tmp_path: Path) -> None:
    root = tmp_path / "conda"
    make_installation(root / "v24.11", conda_version="24.11.3")
    init_root(root=root)
    again = init_root(root=root)
    assert again.created == ()
    assert "current -> v24.11" in again.kept


def test_an_installation_outside_the_root_gets_a_name_in_it(tmp_path: Path) -> None:
    installation = make_installation(tmp_path / "opt" / "conda", conda_version="23.11.0")
    before = tree_digest(installation)
    result = init_root(root=tmp_path / "shared", adopt=installation)
    assert result.name == "v23.11"
    assert os.readlink(tmp_path / "shared" / "v23.11") == str(installation)
    assert (tmp_path / "shared" / "current").resolve() == installation
    named = init_root(root=tmp_path / "other", adopt=installation, name="prod")
    assert named.name == "prod"
    assert tree_digest(installation) == before


def test_condarc_and_shell_lines_survive_a_path_with_spaces(tmp_path: Path) -> None:
    root = tmp_path / "shared conda #1"
    make_installation(root / "v26.7")
    result = init_root(root=root)
    parsed = YAML(typ="safe").load(result.condarc)
    assert parsed == {
        "plugins": {"shared_root": str(root), "shared_channel_policy": "error"},
        "no_plugins": False,
        "override_channels_enabled": False,
    }
    assert "no_plugins: false  #!final" in result.condarc
    assert result.shell == f". '{root}/current/etc/profile.d/conda.sh'"


@pytest.mark.parametrize(
    ("arrange", "kwargs", "message"),
    [
        (lambda r: None, {}, "found 0"),
        (lambda r: make_installation(r / "v2"), {}, "found 2"),
        (lambda r: None, {"adopt": Path("/nonexistent")}, "not a conda installation"),
        (lambda r: os.symlink("v2", r / "current"), {"adopt": "v1"}, "already points to v2"),
        (lambda r: None, {"adopt": "v1", "name": "other"}, "never moved or renamed"),
        (lambda r: (r / "current").mkdir(), {}, "current is a real directory"),
    ],
)
def test_init_refuses_what_it_cannot_do_without_moving_things(
    tmp_path: Path,
    arrange,
    kwargs: dict[str, object],
    message: str,  # type: ignore[no-untyped-def]
) -> None:
    root = tmp_path / "root"
    make_installation(root / "v1")
    arrange(root)
    if kwargs.get("adopt") == "v1":
        kwargs = {**kwargs, "adopt": root / "v1"}
    if kwargs == {} and message == "found 0":
        (root / "v1" / "conda-meta").rename(root / "v1" / "meta")
    with pytest.raises(InputError, match=message):
        init_root(root=root, **kwargs)  # type: ignore[arg-type]


def test_init_inside_an_installation_is_refused(tmp_path: Path) -> None:
    installation = make_installation(tmp_path / "conda")
    with pytest.raises(InputError, match="is itself a conda installation"):
        init_root(root=installation)


def test_cli_init_prints_what_to_add(tmp_path: Path, capsys: Capsys) -> None:
    root = tmp_path / "conda"
    make_installation(root / "v24.11", conda_version="24.11.3")
    result = run_cli(capsys, "init", str(root))
    assert result.code == 0, result.err
    assert f"shared root {root}: current -> v24.11 ({root}/v24.11)" in result.out
    assert f'    shared_root: "{root}"' in result.out
    assert "\n  no_plugins: false  #!final\n" in result.out
    assert f"  . {root}/current/etc/profile.d/conda.sh" in result.out


def test_the_condarc_init_prints_passes_the_doctor(tmp_path: Path) -> None:
    from conda_shared.doctor import check_root

    root = tmp_path / "conda"
    installation = make_installation(root / "v26.7", conda_version="26.7.1")
    write_record(installation, {"name": "conda-shared", "version": "0.1.0", "build": "py_0"})
    system = tmp_path / "etc-conda"
    system.mkdir()
    (system / ".condarc").write_text(init_root(root=root).condarc + "\n")

    report = check_root(root=root, system_config_dirs=(system,))

    assert [f.message for f in report.findings if f.check == "config"] == []
