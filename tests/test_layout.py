"""layout.py: finding and validating a shared root; every bad root is one clear error."""

from __future__ import annotations

from pathlib import Path

import pytest

from conda_shared import fs
from conda_shared.errors import InputError
from conda_shared.layout import discover_root, open_root
from tests.roots import make_installation, make_sample


def test_pointer_root(tmp_path: Path) -> None:
    root = open_root(make_sample(tmp_path))
    assert not root.single
    assert [p.name for p in root.installations] == ["v24.11", "v26.7"]
    current = root.pointer("current")
    assert current is not None and current.ok and current.link == "v24.11"
    previous = root.pointer("previous")
    assert previous is not None and previous.unset
    assert root.installation("qa").name == "v26.7"
    assert root.installation("v24.11") == root.path / "v24.11"
    assert root.installation(None).name == "v24.11"


def test_single_installation_is_a_root(tmp_path: Path) -> None:
    inst = make_installation(tmp_path / "anaconda3_linux")
    root = open_root(inst)
    assert root.single
    assert root.installation("current") == inst.resolve()


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (lambda p: p / "missing", "does not exist"),
        (lambda p: (p / "file").write_text("x") and p / "file", "is not a directory"),
        (lambda p: p, "is not a shared root"),
    ],
)
def test_bad_roots(tmp_path: Path, build, message: str) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(InputError) as caught:
        open_root(build(tmp_path))
    assert message in str(caught.value)
    assert "\n" not in str(caught.value)


def test_unreadable_root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from conda_shared import layout

    monkeypatch.setattr(
        layout.os, "listdir", lambda _p: (_ for _ in ()).throw(PermissionError(13, "x"))
    )
    with pytest.raises(InputError, match="permission denied"):
        open_root(tmp_path)


def test_dangling_and_wrong_pointers_are_reported_not_raised(tmp_path: Path) -> None:
    make_installation(tmp_path / "v24.11")
    (tmp_path / "current").symlink_to("v26.9")
    (tmp_path / "qa").symlink_to("notes")
    (tmp_path / "notes").mkdir()
    root = open_root(tmp_path)
    current, qa = root.pointer("current"), root.pointer("qa")
    assert current is not None and current.problem == "dangling: v26.9 does not exist"
    assert qa is not None and "not a conda installation" in (qa.problem or "")
    with pytest.raises(InputError, match="cannot be used: dangling"):
        root.installation("current")


def test_unknown_installation_lists_the_known_ones(tmp_path: Path) -> None:
    root = open_root(make_sample(tmp_path))
    with pytest.raises(InputError, match=r"no installation v9 in .*v24.11, v26.7"):
        root.installation("v9")


def test_discovery_order(tmp_path: Path) -> None:
    root = make_sample(tmp_path)
    running = root / "v24.11"
    assert discover_root(
        explicit=Path("/x"), configured=Path("/y"), running_prefix=running
    ) == Path("/x")
    assert discover_root(explicit=None, configured=Path("/y"), running_prefix=running) == Path("/y")
    assert discover_root(explicit=None, configured=None, running_prefix=running) == root
    lone = make_installation(tmp_path / "lone")
    assert discover_root(explicit=None, configured=None, running_prefix=lone) == lone.resolve()
    with pytest.raises(InputError, match="no shared root given"):
        discover_root(explicit=None, configured=None, running_prefix=tmp_path)


def test_a_plain_installation_keeps_its_state_outside_itself(
    tmp_path: Path, private_home: Path
) -> None:
    inst = make_installation(tmp_path / "anaconda3")
    root = open_root(inst)
    state = root.state_dir
    assert state.parent == private_home / ".conda" / "shared"
    assert state.name.startswith("anaconda3-") and len(state.name) == len("anaconda3-") + 8
    assert not fs.is_within(inst, root.log_path) and not fs.is_within(inst, root.specs_dir)
    assert open_root(tmp_path / "anaconda3").state_dir == state  # same installation, same folder
    assert open_root(make_installation(tmp_path / "b" / "anaconda3")).state_dir != state


def test_a_shared_root_keeps_its_state_in_itself(tmp_path: Path) -> None:
    root = open_root(make_sample(tmp_path))
    assert root.log_path == root.path / "log" / "shared.log"
    assert root.specs_dir == root.path / "specs"


def test_a_pointer_that_loops_is_a_problem_not_a_crash(tmp_path: Path) -> None:
    sample = make_sample(tmp_path)
    (sample / "previous").symlink_to("previous")
    root = open_root(sample)
    previous = root.pointer("previous")
    assert previous is not None and not previous.ok
    assert previous.problem == "a symlink loop: previous leads back to itself"
    with pytest.raises(InputError, match="previous cannot be used: a symlink loop"):
        root.installation("previous")


def test_an_unset_pointer_says_so_in_words(tmp_path: Path) -> None:
    root = open_root(make_sample(tmp_path))
    with pytest.raises(InputError) as caught:
        root.installation("previous")
    assert "previous cannot be used: it is not set" in str(caught.value)
    assert "None" not in str(caught.value)
    assert caught.value.command == ("status",)


def test_an_installation_of_another_root_is_refused(tmp_path: Path) -> None:
    root = open_root(make_sample(tmp_path))
    stranger = make_installation(tmp_path / "elsewhere" / "v24.11")
    with pytest.raises(InputError, match="is not an installation of the root"):
        root.installation(str(stranger))
    assert root.installation(str(root.path / "v26.7")) == root.path / "v26.7"
