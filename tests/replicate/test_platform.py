"""The compute nodes' virtual packages: option parsing, needs against the target, overrides that
reach every conda call of a run (FAKE target conda), platform-mismatch in every report."""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path

import pytest

from conda_shared.errors import InputError
from conda_shared.replicate.platform import (
    TargetPlatform,
    VirtualPackage,
    mismatch,
    override_variables,
    parse_overrides,
)
from conda_shared.replicate.run import replicate
from conda_shared.replicate.runfolder import load_plan
from conda_shared.specs.platform import VirtualNeed
from tests.roots import make_sample, run_cli, write_record
from tests.support.fake_target import add_fake_target

CPU_HOST = (
    VirtualPackage("__archspec", "1", "x86_64_v3"),
    VirtualPackage("__glibc", "2.28", "0"),
    VirtualPackage("__linux", "6.1", "0"),
)


def host(*extra: VirtualPackage) -> TargetPlatform:
    return TargetPlatform((), (*CPU_HOST, *extra))


def need(spec: str, relation: str = "depends") -> VirtualNeed:
    return VirtualNeed(
        spec.split(maxsplit=1)[0].split("[", maxsplit=1)[0], spec, "torchlite", relation
    )


def test_overrides_parse_to_conda_override_variables() -> None:
    given = parse_overrides(["__cuda=12.4", "__glibc=2.28", "__CUDA=12.0 "], origin="--x")
    assert given == (("__cuda", "12.0"), ("__glibc", "2.28"))
    assert override_variables(given) == {
        "CONDA_OVERRIDE_CUDA": "12.0",
        "CONDA_OVERRIDE_GLIBC": "2.28",
    }
    nodes_without_gpu = parse_overrides(["__cuda="], origin="--x")
    assert override_variables(nodes_without_gpu) == {"CONDA_OVERRIDE_CUDA": ""}


@pytest.mark.parametrize("value", ["cuda=12", "__cuda", "__gpu=1", "__cuda=12;rm", "__glibc=2 28"])
def test_a_bad_virtual_package_is_refused(value: str) -> None:
    with pytest.raises(InputError, match="--virtual-package"):
        parse_overrides([value], origin="--virtual-package")


def test_cuda_needed_and_missing_names_the_option_that_fixes_it() -> None:
    needs = (need("__cuda >=11.8"), need("__glibc >=2.17,<3.0.a0"))
    found = mismatch(needs, host())
    assert found is not None
    assert found.needs == (needs[0],), "glibc 2.28 meets >=2.17,<3.0.a0"
    assert found.option == ("--virtual-package", "__cuda=11.8")
    assert found.packages == ("torchlite",)
    assert "no __cuda" in found.message(host())
    assert mismatch(needs, host(VirtualPackage("__cuda", "12.0", "0"))) is None
    assert mismatch(needs, host(VirtualPackage("__cuda", "11.2", "0"))) is not None


def test_constrains_hold_only_where_the_package_exists() -> None:
    assert mismatch((need("__cuda >=12", "constrains"),), host()) is None
    old = host(VirtualPackage("__cuda", "11.2", "0"))
    assert mismatch((need("__cuda >=12", "constrains"),), old) is not None
    found = mismatch((need("__glibc >=2.34", "constrains"),), host())
    assert found is not None and found.option == ("--virtual-package", "__glibc=2.34")


def test_archspec_is_matched_on_its_build_and_an_unreadable_spec_is_left_to_conda() -> None:
    found = mismatch((need("__archspec 1 x86_64_v4"),), host())
    assert found is not None and found.option == ("--virtual-package", "__archspec=x86_64_v4")
    assert mismatch((need("__archspec 1 x86_64_v3"),), host()) is None
    assert mismatch((need("__archspec 1=*v3"),), host()) is None
    assert mismatch((need("__archspec =1=x86_64_v4"),), host()) is not None
    assert mismatch((need("__glibc >=two"),), host()) is None


# --- a run with the fake target conda ---------------------------------------------------------


@pytest.fixture
def root(tmp_path: Path) -> Path:
    """The sample root and a fake target; nhis_reformat gains a CUDA build of `torchlite`."""
    root = make_sample(tmp_path)
    add_fake_target(root)
    env = root / "current" / "envs" / "nhis_reformat"
    write_record(
        env,
        {
            "name": "torchlite",
            "version": "2.1",
            "build": "cuda118_py39_0",
            "build_number": 0,
            "channel": "https://conda.anaconda.org/conda-forge/linux-64",
            "subdir": "linux-64",
            "url": "https://conda.anaconda.org/conda-forge/linux-64/torchlite-2.1-cuda118_py39_0.tar.bz2",
            "md5": "0" * 32,
            "depends": ["python >=3.9", "__cuda >=11.8"],
            "constrains": ["__glibc >=2.17"],
        },
    )
    with (env / "conda-meta" / "history").open("a") as history:
        history.write(
            "==> 2026-12-01 10:00:00 <==\n# cmd: conda install torchlite\n"
            "+conda-forge/linux-64::torchlite-2.1-cuda118_py39_0\n"
            "# update specs: ['torchlite']\n"
        )
    return root


def target(root: Path) -> Path:
    return (root / "vfake").resolve()


def conda_calls(root: Path) -> list[tuple[list[str], dict[str, str]]]:
    lines = (target(root) / "overrides.jsonl").read_text().splitlines()
    calls = [json.loads(line) for line in lines]
    return [(argv, env) for argv, env in calls if "conda" in argv]


def test_without_the_nodes_cuda_the_env_is_platform_mismatch_and_never_built(root: Path) -> None:
    result = replicate(root=root, names=["nhis_reformat", "mixed_numpy"], target="vfake")
    assert result.report is not None
    by_name = {env.name: env for env in result.report.envs}
    failed = by_name["nhis_reformat"]
    assert (failed.status, failed.failure_class) == ("failed", "platform-mismatch")
    assert failed.failure_packages == ("torchlite",)
    assert failed.fix_options == ("--virtual-package", "__cuda=11.8")
    assert "--virtual-package __cuda=11.8" in (failed.error or "")
    assert by_name["mixed_numpy"].status == "replicated"
    built = [argv for argv, _ in conda_calls(root) if "create" in argv]
    assert not any(str(target(root) / "envs" / "nhis_reformat") in argv for argv in built)
    assert not (target(root) / "envs" / "nhis_reformat").exists()
    run_dir = result.report.run_dir
    rows = {row["name"]: row for row in csv.DictReader((run_dir / "report.csv").open())}
    assert rows["nhis_reformat"]["failure_class"] == "platform-mismatch"
    markdown = (run_dir / "report.md").read_text()
    assert "1 platform-mismatch" in markdown
    assert "Target virtual packages: __archspec=x86_64, __glibc=2.36" in markdown
    document = json.loads((run_dir / "report.json").read_text())
    assert document["virtual_packages"]["overrides"] == {}
    assert ["__glibc", "2.36", "0"] in document["virtual_packages"]["target"]


def test_the_nodes_virtual_packages_reach_every_conda_call_and_are_recorded(
    root: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    result = run_cli(
        capsys,
        "replicate", "--root", str(root), "--to", "vfake", "nhis_reformat",
        "--virtual-package", "__cuda=12.0", "--virtual-package=__glibc=2.28", "--json",
    )  # fmt: skip
    assert result.code == 0, result.err
    (env,) = result.json()["envs"]
    assert env["status"] == "replicated"
    kept = [(t["code"], t["package"]) for t in env["transforms"]]
    assert ("keep-variant", "torchlite") in kept
    calls = conda_calls(root)
    kinds = {
        "info" if "info" in argv else "fill" if "--download-only" in argv else "build"
        for argv, _ in calls
    }
    assert kinds >= {"info", "fill", "build"}
    wanted = {"CONDA_OVERRIDE_CUDA": "12.0", "CONDA_OVERRIDE_GLIBC": "2.28"}
    assert all(environ == wanted for _, environ in calls)
    run_dir = Path(env["log"]).parent.parent
    plan = load_plan(run_dir)
    assert plan.platform.overrides == (("__cuda", "12.0"), ("__glibc", "2.28"))
    assert ["__cuda", "12.0", "0"] in result.json()["virtual_packages"]["target"]
    assert "__cuda=12.0 (overridden)" in (run_dir / "report.md").read_text()
    log = (run_dir / "logs" / "nhis_reformat.log").read_text()
    assert "$ CONDA_OVERRIDE_CUDA=12.0 CONDA_OVERRIDE_GLIBC=2.28 " in log, "as one reruns it"


def test_a_resumed_run_keeps_the_virtual_packages_it_started_with(root: Path) -> None:
    first = replicate(
        root=root, names=["nhis_reformat"], target="vfake", virtual_packages=[("__cuda", "12.0")]
    )
    assert first.report is not None and first.report.envs[0].status == "replicated"
    (target(root) / "overrides.jsonl").unlink()
    shutil.rmtree(target(root) / "envs" / "nhis_reformat")  # as if this env was never built
    (first.report.run_dir / "envs" / "nhis_reformat.json").unlink()
    resumed = replicate(root=root, target="vfake", resume=True)
    assert resumed.report is not None and resumed.report.envs[0].status == "replicated"
    calls = conda_calls(root)
    assert any("create" in argv for argv, _ in calls)
    assert all(env == {"CONDA_OVERRIDE_CUDA": "12.0"} for _, env in calls)


def test_the_setting_describes_the_nodes_and_a_bad_one_is_a_one_line_error(
    root: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CONDA_PLUGINS_SHARED_TARGET_VIRTUAL_PACKAGES", "__cuda=12.0, __glibc=2.28")
    argv = ("replicate", "--root", str(root), "--to", "vfake", "nhis_reformat", "--json")
    ok = run_cli(capsys, *argv)
    assert ok.code == 0, ok.err
    assert ok.json()["virtual_packages"]["overrides"] == {"__cuda": "12.0", "__glibc": "2.28"}
    monkeypatch.setenv("CONDA_PLUGINS_SHARED_TARGET_VIRTUAL_PACKAGES", "cuda=12")
    bad = run_cli(capsys, *argv[:-1])
    assert bad.code == 2
    assert bad.err.count("\n") == 1
    assert "plugins.shared_target_virtual_packages 'cuda=12'" in bad.err


def test_a_dry_run_shows_the_targets_virtual_packages_and_the_mismatch(
    root: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ("replicate", "--root", str(root), "--to", "vfake", "nhis_reformat", "--dry-run")
    text = run_cli(capsys, *argv)
    assert text.code == 0, text.err
    assert "preflight ok     target virtual packages: __archspec=x86_64, __glibc=2.36" in text.out
    assert "note: nhis_reformat: platform-mismatch: torchlite depends __cuda >=11.8" in text.out
    document = run_cli(capsys, *argv, "--json", "--virtual-package", "__cuda=12.0").json()
    assert document["virtual_packages"]["overrides"] == {"__cuda": "12.0"}
    assert not any("platform-mismatch" in note for note in document["notes"])
    assert not (root / "reports").exists()
