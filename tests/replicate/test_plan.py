"""Planning from real exports of the sample root: each transform, the ladder, the lock's hash."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest

from conda_shared.export import export_envs
from conda_shared.replicate.plan import (
    EnvPlan,
    ExportedSpecs,
    plan_env,
    plan_from_json,
    plan_to_json,
    relaxed_rung,
    with_variant,
)
from tests.roots import make_sample

ENVS = ("legacy_mpc", "mixed_numpy", "gitdev", "editable_dev", "nhis_reformat", "mirror_env")


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = make_sample(tmp_path_factory.mktemp("plan"))
    result = export_envs(root=root, names=ENVS)
    assert result.ok, result
    return result.out_dir


def specs_of(specs_dir: Path, name: str) -> ExportedSpecs:
    def text(suffix: str) -> str:
        return (specs_dir / f"{name}{suffix}").read_text()

    return ExportedSpecs(
        name, json.loads(text(".json")), text(".lock"), text(".yml"), text(".history.yml")
    )


def plan(
    specs_dir: Path,
    name: str,
    *,
    conda: str = "26.7.1",
    relax: bool = False,
    exists: bool = True,
    overridable: bool = True,
) -> EnvPlan:
    return plan_env(
        specs=specs_of(specs_dir, name),
        target=Path("/opt/conda/v26"),
        target_conda_version=conda,
        inputs_dir=Path("/run/inputs"),
        relax=relax,
        overridable=overridable,
        exists=lambda _path: exists,
    )


def step_text(env: EnvPlan, strategy: str, index: int = 0) -> str:
    rung = next(r for r in env.rungs if r.strategy == strategy)
    return rung.steps[index].input_text or ""


def test_the_ladder_is_lock_pinned_loose_at_the_targets_real_path(exported: Path) -> None:
    env = plan(exported, "nhis_reformat")
    assert [r.strategy for r in env.rungs] == ["lock", "pinned", "loose"]
    assert env.target_prefix == "/opt/conda/v26/envs/nhis_reformat"
    lock_create = env.rungs[0].steps[0]
    assert lock_create.argv[:5] == ("/opt/conda/v26/bin/python", "-I", "-m", "conda", "create")
    assert ("--prefix", env.target_prefix) == lock_create.argv[7:9]
    assert lock_create.input_file == "/run/inputs/nhis_reformat.lock"
    pinned = env.rungs[1].steps[0]
    assert "--override-channels" in pinned.argv
    assert "numpy=1.26.4" in step_text(env, "pinned").splitlines()
    assert "python=3.9" in step_text(env, "loose").splitlines()
    pip = env.rungs[1].steps[1]
    assert pip.kind == "pip" and "--no-deps" in pip.argv
    assert pip.input_text == "pyreadstat==1.2.7\ntqdm==4.66.1\n"
    loose_pip = env.rungs[2].steps[1]
    assert "--no-deps" not in loose_pip.argv and loose_pip.input_text == "pyreadstat\ntqdm\n"
    assert env.transforms == () and env.post_steps == ()


def test_lock_hash_follows_the_target_conda(exported: Path) -> None:
    manifest = specs_of(exported, "nhis_reformat").manifest
    numpy = next(r for r in manifest["conda"] if r["name"] == "numpy")
    new = step_text(plan(exported, "nhis_reformat", conda="24.11.3"), "lock")
    old = step_text(plan(exported, "nhis_reformat", conda="24.3.0"), "lock")
    assert f"#{numpy['sha256']}" in new
    assert f"#{numpy['md5']}" in old and numpy["sha256"] not in old


def test_legacy_noarch_from_the_custom_channel_is_installed_after(exported: Path) -> None:
    env = plan(exported, "legacy_mpc")
    assert ("install-after", "mpctools") in [(t.code, t.package) for t in env.transforms]
    for strategy in ("lock", "pinned", "loose"):
        assert "mpctools" not in step_text(env, strategy)
    (after,) = [s for s in env.post_steps if s.kind == "conda"]
    assert after.argv[4] == "install" and after.argv[-1] == "mpctools=1.2"
    assert after.argv[after.argv.index("--channel") + 1] == "file://" + str(
        exported.parent.parent / "mpc"
    )


def test_noarch_only_in_the_pip_list_moves_to_conda(exported: Path) -> None:
    env = plan(exported, "legacy_mpc")
    assert ("pip-to-conda", "ipums-core") in [(t.code, t.package) for t in env.transforms]
    assert "ipums-core=2.0" in step_text(env, "pinned").splitlines()
    assert "ipums-core" in step_text(env, "loose").splitlines()
    lock_steps = env.rungs[0].steps
    assert lock_steps[1].argv[4] == "install" and lock_steps[1].argv[-1] == "ipums-core=2.0"
    assert all(step.kind != "pip" for rung in env.rungs for step in rung.steps)


def test_pip_entries_conda_also_installed_are_dropped(exported: Path) -> None:
    env = plan(exported, "mixed_numpy")
    assert ("drop-pip-duplicate", "numpy") in [(t.code, t.package) for t in env.transforms]
    for rung in env.rungs:
        for step in rung.steps:
            if step.kind == "pip":
                assert "numpy" not in (step.input_text or "")


def test_pip_from_git_runs_after_and_a_gone_local_source_is_manual(exported: Path) -> None:
    git = plan(exported, "gitdev")
    (step,) = git.post_steps
    assert step.kind == "pip" and step.argv[-1].startswith("git+https://github.com/ipums/")
    assert [t.code for t in git.transforms] == ["pip-post-step"]
    editable = plan(exported, "editable_dev", exists=False)
    assert {s.kind for s in editable.post_steps} == {"manual"}
    assert {t.code for t in editable.transforms} == {"manual-step"}
    assert any(s.argv[-2:] == ("-e", "/home/alice/src/hhtool") for s in editable.post_steps)
    present = plan(exported, "editable_dev", exists=True)
    assert {s.kind for s in present.post_steps} == {"pip"}


def test_relaxed_rung_unpins_exactly_the_packages_not_found(exported: Path) -> None:
    env = plan(exported, "nhis_reformat", relax=True)
    rung = relaxed_rung(env, ["python=3.9", "nosuch"])
    assert rung is not None and rung.strategy == "relaxed"
    loose = step_text(env, "loose").splitlines()
    relaxed = (rung.steps[0].input_text or "").splitlines()
    assert [line for line in loose if line not in relaxed] == ["python=3.9"]
    assert "python" in relaxed
    assert rung.steps[0].input_file == "/run/inputs/nhis_reformat.relaxed.txt"
    assert "/run/inputs/nhis_reformat.relaxed.txt" in rung.steps[0].argv
    assert relaxed_rung(env, ["nosuch"]) is None, "nothing to unpin: no fourth rung"


def test_a_plan_survives_plan_json(exported: Path) -> None:
    for name in ENVS:
        env = plan(exported, name, relax=True)
        assert plan_from_json(json.loads(json.dumps(plan_to_json(env)))) == env


MIRROR = "https://conda-mirror.example.org/conda-forge"


def channel_words(argv: tuple[str, ...]) -> list[str]:
    return [argv[i + 1] for i, word in enumerate(argv) if word == "--channel"]


def test_without_override_channels_the_source_channels_come_first_and_name_each_package(
    exported: Path,
) -> None:
    env = plan(exported, "mirror_env", overridable=False)

    for strategy in ("pinned", "loose"):
        create = next(r for r in env.rungs if r.strategy == strategy).steps[0]
        assert "--override-channels" not in create.argv
    pinned = next(r for r in env.rungs if r.strategy == "pinned").steps[0]
    assert channel_words(pinned.argv) == [MIRROR, "isrdi-private", "defaults", "conda-forge"]
    assert step_text(env, "pinned").splitlines() == [
        "isrdi-private::ipums-auth=0.9",
        f"{MIRROR}::python=3.12.7",
        f"{MIRROR}::requests=2.32.3",
    ]
    assert "isrdi-private::ipums-auth" in step_text(env, "loose").splitlines()
    (said,) = [t for t in env.transforms if t.code == "configured-channels"]
    assert "configured channels took part" in said.detail


def test_before_conda_26_7_a_url_channel_is_named_by_its_place_only(exported: Path) -> None:
    env = plan(exported, "mirror_env", overridable=False, conda="24.11.3")

    assert step_text(env, "pinned").splitlines() == [
        "isrdi-private::ipums-auth=0.9",
        "python=3.12.7",
        "requests=2.32.3",
    ]


def test_legacy_noarch_install_without_override_channels(exported: Path) -> None:
    env = plan(exported, "legacy_mpc", overridable=False)

    (after,) = [s for s in env.post_steps if s.kind == "conda"]
    assert "--override-channels" not in after.argv
    assert channel_words(after.argv)[0] == "file://" + str(exported.parent.parent / "mpc")


def test_with_override_channels_allowed_nothing_is_named_twice(exported: Path) -> None:
    env = plan(exported, "mirror_env")

    pinned = next(r for r in env.rungs if r.strategy == "pinned").steps[0]
    assert "--override-channels" in pinned.argv
    assert "python=3.12.7" in step_text(env, "pinned").splitlines()
    assert not [t for t in env.transforms if t.code == "configured-channels"]


def with_variants(specs: ExportedSpecs, variants: dict[str, str]) -> ExportedSpecs:
    """The specs as if the source's builds of `variants` (name -> word) named that variant."""
    listed = [{"package": n, "build": f"{w}_py39_0", "variant": w} for n, w in variants.items()]
    return dataclasses.replace(specs, manifest={**specs.manifest, "variants": listed})


def plan_variants(exported: Path, *, keep: bool, relax: bool = True) -> EnvPlan:
    return plan_env(
        specs=with_variants(specs_of(exported, "nhis_reformat"), {"numpy": "mkl", "python": "cpu"}),
        target=Path("/opt/conda/v26"),
        target_conda_version="26.7.1",
        inputs_dir=Path("/run/inputs"),
        relax=relax,
        keep_variants=keep,
    )


def test_pinned_and_looser_rungs_keep_the_sources_build_variants(exported: Path) -> None:
    env = plan_variants(exported, keep=True)
    assert "numpy=1.26.4[build=*mkl*]" in step_text(env, "pinned").splitlines()
    assert "python=3.9[build=*cpu*]" in step_text(env, "loose").splitlines()
    assert "python=3.9.20[build=*cpu*]" in step_text(env, "pinned").splitlines()
    assert "@EXPLICIT" in step_text(env, "lock"), "the lock names exact builds already"
    kept = [(t.code, t.package) for t in env.transforms]
    assert kept == [("keep-variant", "numpy"), ("keep-variant", "python")]
    relaxed = relaxed_rung(env, ["python=3.9[build=*cpu*]"])
    assert relaxed is not None
    assert "python[build=*cpu*]" in (relaxed.steps[0].input_text or "").splitlines()


def test_relax_variants_lets_the_rungs_choose_any_build(exported: Path) -> None:
    env = plan_variants(exported, keep=False)
    assert "numpy=1.26.4" in step_text(env, "pinned").splitlines()
    assert "python=3.9" in step_text(env, "loose").splitlines()
    assert env.transforms == ()
    relaxed = relaxed_rung(env, ["python=3.9"])
    assert relaxed is not None and "python" in (relaxed.steps[0].input_text or "").splitlines()


@pytest.mark.parametrize(
    ("spec", "kept"),
    [
        ("numpy", "numpy[build=*mkl*]"),
        ("conda-forge::numpy >=1.2", "conda-forge::numpy >=1.2[build=*mkl*]"),
        ("numpy=1.26=mkl_py39_0", "numpy=1.26=mkl_py39_0"),
        ("numpy 1.26 mkl_py39_0", "numpy 1.26 mkl_py39_0"),
        ("numpy[build=*openblas*]", "numpy[build=*openblas*]"),
        ("scipy=1.0", "scipy=1.0"),
    ],
)
def test_a_variant_is_added_only_where_the_spec_names_no_build(spec: str, kept: str) -> None:
    assert with_variant(spec, {"numpy": "mkl"}) == kept
