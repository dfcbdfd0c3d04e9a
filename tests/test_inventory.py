"""inventory.py: the seed's .ini format, strict parsing, and rewrites that keep admins' edits."""

from __future__ import annotations

from pathlib import Path

import pytest

from conda_shared.errors import InputError
from conda_shared.inventory import default_inventory_path, parse_inventory, take_inventory
from conda_shared.layout import open_root
from tests.roots import make_sample

SEED = """\
# v4.3 environments as of 2020-10-19
# keep
nhis_reformat = REPLICATE
super_important_jupyter_kernel = REPLICATE

# do not migrate
old_not_used = export
"""


def test_parses_the_seed_example() -> None:
    entries = parse_inventory(SEED, source="envs.ini")
    assert [(e.name, e.action, e.line) for e in entries] == [
        ("nhis_reformat", "replicate", 3),
        ("super_important_jupyter_kernel", "replicate", 4),
        ("old_not_used", "export", 7),
    ]


def test_actions_are_case_insensitive_and_inline_comments_allowed() -> None:
    entries = parse_inventory("a = replicate\nb = Export  # ask bob\nc=SKIP\n", source="f")
    assert [e.action for e in entries] == ["replicate", "export", "skip"]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("a = migrate\n", "f:1: unknown action 'migrate' for a"),
        ("a = export\n\na = skip\n", "f:3: a is listed twice (first on line 1)"),
        ("../x = export\n", "f:1: '../x' is not a valid environment name"),
        ("just-a-name\n", "f:1: expected `NAME = ACTION`"),
        ("= export\n", "f:1: expected `NAME = ACTION`"),
    ],
)
def test_bad_lines_name_file_and_line(text: str, message: str) -> None:
    with pytest.raises(InputError) as caught:
        parse_inventory(text, source="f")
    assert message in str(caught.value)


def test_inventory_of_the_sample(tmp_path: Path) -> None:
    root = make_sample(tmp_path)
    inventory = take_inventory(root=root)
    by_name = {e.name: e for e in inventory.envs}
    assert len(by_name) == 13 and "base" not in by_name
    kernel = by_name["super_important_jupyter_kernel"]
    assert (kernel.action, kernel.kernels) == ("replicate", ("super_important_jupyter_kernel",))
    assert by_name["nhis_reformat"].action == "export"
    assert by_name["with_removals"].last_change == "2024-05-03 12:00:00"
    assert by_name["isis3.6.0"].packages == 5
    assert by_name["isis3.6.0"].size_bytes and by_name["isis3.6.0"].size_bytes > 0
    assert by_name["proj_alpha"].found_in.endswith("project-envs")
    assert inventory.written is None


def test_rewrite_keeps_comments_and_choices_appends_new_and_marks_gone(tmp_path: Path) -> None:
    root = make_sample(tmp_path)
    target = tmp_path / "envs.ini"
    target.write_text(
        SEED.replace("old_not_used = export", "old_not_used = skip  # per Slack")
        + "retired = export\n"
    )
    result = take_inventory(root=root, write=target, sizes=False)
    text = target.read_text()
    assert text.startswith(SEED.split("old_not_used", maxsplit=1)[0])
    assert "old_not_used = skip  # per Slack" in text
    assert "# gone " in text and ": retired = export" in text
    assert result.gone == ("retired",)
    assert "isis3.6.0 = export" in text
    assert "nhis_reformat" not in result.added
    again = take_inventory(root=root, write=target, sizes=False)
    assert again.added == () and target.read_text() == text
    assert {e.name: e.action for e in again.envs}["old_not_used"] == "skip"


def test_invalid_existing_file_is_left_alone(tmp_path: Path) -> None:
    root = make_sample(tmp_path)
    target = tmp_path / "envs.ini"
    target.write_text("a = bogus\n")
    with pytest.raises(InputError, match="unknown action"):
        take_inventory(root=root, write=target, sizes=False)
    assert target.read_text() == "a = bogus\n"


def test_writing_the_inventory_is_audited(tmp_path: Path) -> None:
    import json

    root = make_sample(tmp_path)
    take_inventory(root=root, write=tmp_path / "envs.ini", sizes=False)
    last = json.loads((root / "log" / "shared.log").read_text().splitlines()[-1])
    assert last["command"] == f"inventory of v24.11 written to {tmp_path / 'envs.ini'}"
    assert last["result"] == "ok: 13 added, 0 marked gone"


def test_default_location_cannot_be_redirected_out_of_the_root(tmp_path: Path) -> None:
    from conda_shared.errors import SharedError

    root = make_sample(tmp_path)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (root / "specs").symlink_to(elsewhere)
    with pytest.raises(SharedError, match="outside the shared root"):
        default_inventory_path(open_root(root), "v24.11")
    assert list(elsewhere.iterdir()) == []


def test_a_mark_survives_the_env_being_listed_by_path_and_back(tmp_path: Path) -> None:
    import shutil

    root = make_sample(tmp_path)
    target = tmp_path / "envs.ini"
    take_inventory(root=root, write=target, sizes=False)
    target.write_text(target.read_text().replace("isis3.6.0 = export", "isis3.6.0 = REPLICATE"))
    own = (root / "v24.11" / "envs" / "isis3.6.0").resolve()
    namesake = root / "project-envs" / "isis3.6.0"
    shutil.copytree(own, namesake, symlinks=True)

    both = take_inventory(root=root, write=target, sizes=False)
    actions = {env.key: env.action for env in both.envs if env.name == "isis3.6.0"}
    assert actions == {str(own): "replicate", str(namesake.resolve()): "export"}

    shutil.rmtree(namesake)
    again = take_inventory(root=root, write=target, sizes=False)
    assert {env.key: env.action for env in again.envs}["isis3.6.0"] == "replicate"
    assert "isis3.6.0 = REPLICATE" in target.read_text().splitlines()
