"""Which envs a run replicates: inventory entries that are full paths (same-named envs) map to
the export key of that env, and nothing a run writes leaves the run folder or the target's envs/."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from tests.replicate.test_run import root, target  # noqa: F401
from tests.roots import run_cli, tree_digest

_SECOND = re.compile(r"^nhis_reformat~[0-9a-f]{8}$")


@pytest.fixture
def twins(root: Path) -> Path:  # noqa: F811
    """A second nhis_reformat (in the installation's other envs dir) and a gone old_not_used
    twin, both REPLICATE in the inventory `inventory --write` wrote."""
    projects = root / "project-envs"
    shutil.copytree(root / "v24.11" / "envs" / "nhis_reformat", projects / "nhis_reformat")
    shutil.copytree(root / "v24.11" / "envs" / "old_not_used", projects / "old_not_used")
    return projects


def write_inventory(root: Path, capsys: pytest.CaptureFixture[str]) -> Path:  # noqa: F811
    assert run_cli(capsys, "inventory", "--root", str(root), "--no-sizes", "--write").code == 0
    path = root / "specs" / "v24.11" / "inventory.ini"
    lines = path.read_text().splitlines()
    marked = [
        re.sub(r"= \w+", "= REPLICATE", line)
        if line.split(" = ")[0].endswith(("/nhis_reformat", "/old_not_used"))
        else line.replace("= REPLICATE", "= skip").replace("= export", "= skip")
        for line in lines
    ]
    path.write_text("\n".join(marked) + "\n")
    return path


def test_full_paths_in_the_inventory_replicate_each_same_named_env_by_its_export_key(
    root: Path,  # noqa: F811
    twins: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    inventory = write_inventory(root, capsys)
    assert f"{twins / 'nhis_reformat'} = REPLICATE" in inventory.read_text()
    shutil.rmtree(twins / "old_not_used")  # gone since the inventory was written
    source = root.resolve() / "v24.11"
    before = (tree_digest(source), tree_digest(twins))
    plan = run_cli(capsys, "replicate", "--root", str(root), "--to", "vfake", "--dry-run")
    assert plan.code == 0, plan.err
    assert re.search(
        r"note: no environment named 'old_not_used~\w+' .* a run reports it failed", plan.out
    )
    result = run_cli(capsys, "replicate", "--root", str(root), "--to", "vfake", "--json")
    assert result.code == 1, result.err  # the gone env fails; the others replicate
    envs = {env["name"]: env for env in result.json()["envs"]}
    second = next(name for name in envs if _SECOND.match(name))
    assert envs["nhis_reformat"]["source_prefix"] == str(source / "envs" / "nhis_reformat")
    assert envs[second]["source_prefix"] == str(twins / "nhis_reformat")
    for name in ("nhis_reformat", "old_not_used", second):
        assert envs[name]["status"] == "replicated", envs[name]["error"]
        assert envs[name]["target_prefix"] == str(target(root) / "envs" / name)
    (gone,) = [name for name in envs if name.startswith("old_not_used~")]
    assert envs[gone]["status"] == "failed"
    assert envs[gone]["target_prefix"] == str(target(root) / "envs" / gone)
    assert (tree_digest(source), tree_digest(twins)) == before, "the source was written to"
    run_dir = Path(envs[gone]["log"]).parent.parent
    assert (run_dir / "envs" / f"{gone}.json").is_file()


def test_an_inventory_path_that_is_no_env_is_built_in_the_target_envs_or_refused(
    root: Path,  # noqa: F811
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    victim = tmp_path / "home" / "alice" / "project"
    victim.mkdir(parents=True)
    (victim / "notes.txt").write_text("mine")
    inventory = tmp_path / "crafted.ini"
    inventory.write_text(f"{victim} = REPLICATE\n")
    argv = ("replicate", "--root", str(root), "--to", "vfake", "--force", "--json")
    result = run_cli(capsys, *argv, "--inventory", str(inventory))
    (env,) = result.json()["envs"]
    assert (env["name"], env["status"]) == ("project", "failed")
    assert env["target_prefix"] == str(target(root) / "envs" / "project")
    assert sorted(p.name for p in victim.parent.iterdir()) == ["project"]
    assert (victim / "notes.txt").read_text() == "mine" and len(list(victim.iterdir())) == 1
    inventory.write_text("/ = REPLICATE\n")
    refused = run_cli(capsys, *argv, "--inventory", str(inventory))
    assert refused.code == 2
    assert refused.json()["message"].startswith("'/' is not a valid environment name")
