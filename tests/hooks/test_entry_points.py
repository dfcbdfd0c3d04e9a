"""The hooks' entry points with a fake conda context: what users see, and that a broken hook
never stops conda."""

from __future__ import annotations

import logging
import os
import stat
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from conda_shared import hooks
from conda_shared.errors import PolicyError
from conda_shared.hooks import shadowing
from tests.hooks.fakes import FakeContext
from tests.roots import make_sample

NEW_CONDA = "26.7.1"
OLD_CONDA = "24.11.3"


@pytest.fixture(autouse=True)
def policy_error_as_is(monkeypatch: pytest.MonkeyPatch) -> None:
    """Under conda the guard turns PolicyError into a CondaError; without conda keep it as is."""
    monkeypatch.setattr("conda_shared.hooks.as_conda_error", lambda error: error)


def warnings_in(err: str) -> list[str]:
    return [line for line in err.splitlines() if line.startswith(hooks.WARNING_PREFIX)]


# ---------------------------------------------------------------- channel policy


def test_error_policy_stops_with_the_rewritten_command(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(hooks, "running_conda_version", lambda: NEW_CONDA)
    context = FakeContext(
        args={
            "func": "conda.cli.main_create.execute",
            "packages": ["numpy>=1.2", "scipy"],
            "channel": ["conda-forge"],
            "name": "x",
            "yes": True,
            "dry_run": None,
        },
        policy="error",
    )
    with pytest.raises(PolicyError) as caught:
        hooks.before_command("create", context=context)
    assert caught.value.exit_code == 3
    assert caught.value.next_step == (
        "Run instead: conda create -n x -y 'conda-forge::numpy>=1.2' conda-forge::scipy"
    )
    assert warnings_in(capsys.readouterr().err) == []


def test_warn_policy_prints_exactly_one_warning(capsys: pytest.CaptureFixture[str]) -> None:
    context = FakeContext(args={"packages": ["numpy"], "channel": ["bioconda"], "prefix": "/e"})
    hooks.before_command("install", context=context)
    (line,) = warnings_in(capsys.readouterr().err)
    assert line.endswith("Run instead: conda install -p /e bioconda::numpy")


def test_qualified_specs_override_channels_and_off_are_silent(
    capsys: pytest.CaptureFixture[str],
) -> None:
    for context in (
        FakeContext(args={"packages": ["bioconda::pysam"]}),
        FakeContext(args={"packages": ["x"], "channel": ["c"], "override_channels": True}),
        FakeContext(args={"packages": ["x"], "channel": ["c"]}, policy="off"),
    ):
        hooks.before_command("install", context=context)
    assert capsys.readouterr().err == ""


def test_environment_file_channels_warn(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    env_file = tmp_path / "environment.yml"
    env_file.write_text("channels: [bioconda, conda-forge]\ndependencies: [pysam]\n")
    context = FakeContext(args={"file": str(env_file)}, policy="error")
    hooks.before_command("env_create", context=context)
    (line,) = warnings_in(capsys.readouterr().err)
    assert f"{env_file} lists bioconda, which is not among your configured channels" in line
    broken = tmp_path / "broken.yml"
    broken.write_text("channels: [unclosed\n")
    hooks.before_command("env_create", context=FakeContext(args={"file": str(broken)}))
    assert capsys.readouterr().err == ""


def test_url_channel_rewrite_depends_on_the_running_conda(
    capsys: pytest.CaptureFixture[str],
) -> None:
    context = FakeContext(args={"packages": ["tool"], "channel": ["file:///srv/chans/extra"]})
    (old,) = hooks.command_notices("install", context, conda_version=OLD_CONDA)
    (new,) = hooks.command_notices("install", context, conda_version=NEW_CONDA)
    assert "custom_channels.extra file:///srv/chans" in old.next_step
    assert new.next_step == "Run instead: conda install file:///srv/chans/extra::tool"


# ---------------------------------------------------------------- shadowing before the solve


@pytest.fixture
def shared_and_own(tmp_path: Path) -> tuple[Path, Path]:
    root = tmp_path / "shared"
    own = tmp_path / "home" / "envs"
    (root / "envs" / "analysis" / "conda-meta").mkdir(parents=True)
    own.mkdir(parents=True)
    return root, own


def analysis_in(shared: Path, own: Path, **fields: Any) -> FakeContext:
    """`-n analysis` with envs_dirs [SHARED/envs, own], SHARED the shared root by default."""
    fields.setdefault("root", str(shared))
    return FakeContext(
        args={"packages": ["numpy"], "name": "analysis"},
        envs_dirs=(str(shared / "envs"), str(own)),
        **fields,
    )


def test_name_resolving_into_the_shared_root_warns(
    shared_and_own: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    root, own = shared_and_own
    context = analysis_in(root, own)
    hooks.before_command("create", context=context)
    (line,) = warnings_in(capsys.readouterr().err)
    assert f"-n analysis is the shared environment {root}/envs/analysis" in line
    assert f"conda create -p {own}/analysis numpy" in line
    (own / "analysis").mkdir()
    hooks.before_command("install", context=context)
    (line,) = warnings_in(capsys.readouterr().err)
    assert "-n analysis matches 2 environments" in line
    assert f"conda config --prepend envs_dirs {own}" in line


def test_unwritable_envs_dir_counts_as_shared(
    shared_and_own: tuple[Path, Path],
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    root, own = shared_and_own
    monkeypatch.setattr(shadowing, "writable", lambda path: not path.startswith(str(root)))
    hooks.before_command("install", context=analysis_in(root, own, root=""))
    (line,) = warnings_in(capsys.readouterr().err)
    assert "which you cannot change" in line


def test_offline_shared_cache_warns_only_where_conda_solves_from_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = tmp_path / "shared"
    (root / "pkgs").mkdir(parents=True)
    own = tmp_path / "own-pkgs"
    context = FakeContext(
        args={"packages": ["numpy"]},
        root=str(root),
        offline=True,
        pkgs_dirs=(str(own), str(root / "pkgs")),
    )
    (notice,) = hooks.command_notices("install", context, conda_version=OLD_CONDA)
    assert f"shared caches {root}/pkgs" in notice.message
    assert f"CONDA_PKGS_DIRS={own}" in notice.next_step
    assert hooks.command_notices("install", context, conda_version=NEW_CONDA) == ()
    context.solver = "libmamba"
    assert hooks.command_notices("install", context, conda_version=OLD_CONDA) == ()


def test_use_local_with_a_shared_build_dir_warns(tmp_path: Path) -> None:
    root = tmp_path / "shared"
    (root / "conda-bld").mkdir(parents=True)
    context = FakeContext(
        args={"packages": ["tool"], "use_local": True},
        root=str(root),
        use_local=True,
        conda_build_local_paths=(str(root / "conda-bld"), str(tmp_path / "mine")),
    )
    (notice,) = hooks.command_notices("install", context, conda_version=NEW_CONDA)
    assert f"includes the shared {root}/conda-bld" in notice.message
    assert notice.next_step.endswith("conda install tool")


def test_shadow_warnings_can_be_switched_off(
    shared_and_own: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    root, own = shared_and_own
    hooks.before_command("create", context=analysis_in(root, own, shadow="false"))
    assert capsys.readouterr().err == ""


def test_clean_config_sees_nothing(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    own = tmp_path / "envs"
    (own / "mine").mkdir(parents=True)
    context = FakeContext(
        args={"packages": ["numpy"], "name": "mine"},
        envs_dirs=(str(own),),
        pkgs_dirs=(str(tmp_path / "pkgs"),),
        offline=True,
    )
    hooks.before_command("install", context=context)
    assert capsys.readouterr().err == ""


# ---------------------------------------------------------------- a hook never crashes conda


def test_an_internal_error_is_one_warning_line(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    def broken(**_: Any) -> None:
        raise RuntimeError("injected\nfailure")

    monkeypatch.setattr("conda_shared.policy.channel_notices", broken)
    context = FakeContext(args={"packages": ["numpy"], "channel": ["c"]}, policy="error")
    with caplog.at_level(logging.DEBUG, logger="conda.conda_shared"):
        hooks.before_command("install", context=context)
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    (line,) = warnings_in(err)
    assert "failed and were skipped (RuntimeError: injected failure); conda goes on" in line
    (logged,) = caplog.records
    assert logged.levelno == logging.DEBUG and logged.exc_info is not None


def test_a_bad_setting_is_one_warning_line(capsys: pytest.CaptureFixture[str]) -> None:
    context = FakeContext(args={"packages": ["numpy"], "channel": ["c"]}, policy="sometimes")
    hooks.before_command("install", context=context)
    (line,) = warnings_in(capsys.readouterr().err)
    assert "were skipped: plugins.shared_channel_policy is 'sometimes'" in line


def test_policy_error_reaches_conda_converted(monkeypatch: pytest.MonkeyPatch) -> None:
    class Converted(Exception):
        pass

    monkeypatch.setattr("conda_shared.hooks.as_conda_error", lambda error: Converted(str(error)))
    context = FakeContext(args={"packages": ["numpy"], "channel": ["c"]}, policy="error")
    with pytest.raises(Converted, match="Run instead: conda install c::numpy"):
        hooks.before_command("install", context=context)


# ---------------------------------------------------------------- after the solve


class FakeModels:
    """Channels are their own ids; `offered` is what loaded repodata would say."""

    def __init__(self, offered: dict[str, str]) -> None:
        self.offered = offered
        self.asked: list[str] = []

    def channel_ids(self, channel: str) -> frozenset[str]:
        return frozenset({channel})

    def newest_offered(self, name: str, spec: str | None, channels: frozenset[str]) -> str | None:
        self.asked.append(name)
        return self.offered.get(name)

    def is_older(self, version: str, than: str) -> bool:
        return tuple(map(int, version.split("."))) < tuple(map(int, than.split(".")))


def solved(name: str, version: str, channel: str, cache: str | None = None) -> SimpleNamespace:
    extracted = f"{cache}/{name}-{version}-0" if cache else None
    return SimpleNamespace(
        name=name,
        version=version,
        channel=SimpleNamespace(canonical_name=channel, base_url=f"https://x/{channel}"),
        extracted_package_dir=extracted,
    )


def test_after_solve_names_foreign_and_held_back_records(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = tmp_path / "shared"
    (root / "pkgs").mkdir(parents=True)
    context = FakeContext(
        args={"func": "conda.cli.main_install.execute", "packages": ["scipy", "bioconda::pysam"]},
        root=str(root),
        pkgs_dirs=(str(tmp_path / "own"), str(root / "pkgs")),
    )
    models = FakeModels({"oldtool": "1.0", "scipy": "1.14", "numpy": "2.0"})
    records = [
        solved("numpy", "1.26", "conda-forge"),
        solved("pysam", "0.22", "bioconda"),
        solved("oldtool", "0.9", "retired", cache=str(root / "pkgs")),
        solved("scipy", "1.10", "conda-forge"),
    ]
    hooks.after_solve("repodata.json", (), records, context=context, models=models)
    foreign, held = warnings_in(capsys.readouterr().err)
    assert (
        f"oldtool 0.9 from the shared package cache {root}/pkgs "
        "(channel retired, your channels offer 1.0)"
    ) in foreign
    assert f"CONDA_PKGS_DIRS={tmp_path}/own" in foreign
    assert "scipy 1.10 (your channels offer 1.14)" in held
    assert "conda install --dry-run scipy==1.14" in held
    assert models.asked == ["pysam", "oldtool", "scipy"]  # numpy: configured, not asked for


def test_after_solve_is_silent_when_everything_comes_from_the_channels(
    capsys: pytest.CaptureFixture[str],
) -> None:
    context = FakeContext(args={"packages": ["numpy"]})
    records = [solved("numpy", "2.0", "conda-forge"), solved("python", "3.12", "conda-forge")]
    hooks.after_solve("repodata.json", (), records, context=context, models=FakeModels({}))
    assert capsys.readouterr().err == ""


def test_after_solve_failure_is_one_warning_line(capsys: pytest.CaptureFixture[str]) -> None:
    class Broken(FakeModels):
        def channel_ids(self, channel: str) -> frozenset[str]:
            raise KeyError(channel)

    context = FakeContext(args={"packages": ["numpy"]})
    hooks.after_solve(
        "repodata.json", (), [solved("numpy", "2.0", "x")], context=context, models=Broken({})
    )
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "after the solve failed and were skipped (KeyError" in err


@pytest.mark.parametrize(
    ("func", "typed"),
    [
        ("conda.cli.main_create.execute", "conda create -n x"),
        ("conda.cli.main_env_update.execute", "conda env update -n x"),
        (None, "conda install -n x"),
    ],
)
def test_after_solve_names_the_command_as_conda_does(
    func: str | None, typed: str, capsys: pytest.CaptureFixture[str]
) -> None:
    context = FakeContext(args={"func": func, "packages": ["scipy"], "name": "x"})
    records = [solved("scipy", "1.10", "conda-forge")]
    hooks.after_solve("r", (), records, context=context, models=FakeModels({"scipy": "1.14"}))
    assert f"{typed} --dry-run scipy==1.14" in capsys.readouterr().err


# ---------------------------------------------------------------- conda doctor


def test_health_check_prints_the_doctor_report(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = make_sample(tmp_path)
    hooks.health_check("/some/env", False, context=FakeContext(root=str(root)))
    out = capsys.readouterr().out
    assert f"conda-shared doctor: shared root {root}" in out
    assert "kernel retired_kernel" in out


def test_fixer_asks_then_removes_group_write(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = make_sample(tmp_path)
    envs = root / "v24.11" / "envs"
    os.chmod(envs, 0o775)
    asked: list[str] = []
    code = hooks.fix_health("/env", None, asked.append, context=FakeContext(root=str(root)))
    assert code == 0 and len(asked) == 1 and "1 directories" in asked[0]
    assert stat.S_IMODE(envs.stat().st_mode) == 0o755
    assert hooks.fix_health("/env", None, asked.append, context=FakeContext(root=str(root))) == 0
    assert "no shared environment" in capsys.readouterr().out


def test_fixer_lets_a_refusal_reach_conda(tmp_path: Path) -> None:
    root = make_sample(tmp_path)
    os.chmod(root / "v24.11" / "envs", 0o777)

    def decline(message: str) -> None:
        raise SystemExit("declined")

    with pytest.raises(SystemExit):
        hooks.fix_health("/env", None, decline, context=FakeContext(root=str(root)))
    assert stat.S_IMODE((root / "v24.11" / "envs").stat().st_mode) == 0o777
