"""Every command a message tells the user to run can be pasted as printed.

Two walks: the package's source, where no message may spell a conda-shared command by hand
(it goes through `CommandLine` or `SharedError(command=...)`), and the output of many commands
run on a root whose path has a space and a quote, where every command printed must parse back
with the CLI's own parser, with the program the user typed and the `--root` they gave.
"""

from __future__ import annotations

import ast
import os
import shlex
from collections.abc import Iterator
from pathlib import Path

import pytest

import conda_shared
from conda_shared.discovery import real_path
from conda_shared.text import CommandLine
from tests.roots import make_sample, run_cli
from tests.support.hints import COMMAND, commands_in, pasteable_problems, texts_in

Capsys = pytest.CaptureFixture[str]


# -- the source: commands are spelled by one mechanism -----------------------------------------


def _literaltexts_in(tree: ast.Module) -> Iterator[tuple[int, str]]:
    """Every string the code can print: constants and f-strings (placeholders as {}), no
    docstrings and no comment lines written into files (`# written by ...`)."""
    docstrings = {
        id(node.body[0].value)
        for node in ast.walk(tree)
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef))
        and node.body
        and isinstance(node.body[0], ast.Expr)
        and isinstance(node.body[0].value, ast.Constant)
    }
    inside_fstrings = {
        id(part)
        for node in ast.walk(tree)
        if isinstance(node, ast.JoinedStr)
        for part in node.values
    }
    for node in ast.walk(tree):
        if isinstance(node, ast.JoinedStr):
            text = "".join(
                part.value if isinstance(part, ast.Constant) else "{}" for part in node.values
            )
        elif isinstance(node, ast.Constant) and isinstance(node.value, str):
            if id(node) in docstrings or id(node) in inside_fstrings:
                continue
            text = node.value
        else:
            continue
        if not text.startswith("# "):
            yield node.lineno, text


def test_no_message_spells_a_command_by_hand() -> None:
    package = Path(conda_shared.__file__).parent
    by_hand = [
        f"{path.relative_to(package)}:{line}: {text!r}"
        for path in sorted(package.rglob("*.py"))
        for line, text in _literaltexts_in(ast.parse(path.read_text(encoding="utf-8")))
        if COMMAND.search(text)
    ]
    assert by_hand == [], (
        "spell conda-shared commands with CommandLine (or SharedError(command=...)), so they "
        "carry the program and --root the user typed:\n" + "\n".join(by_hand)
    )


def test_a_command_names_the_program_root_and_quotes_every_word() -> None:
    line = CommandLine(("conda-shared",), "/srv/it's a root")
    assert line("export", "--from", "v26.7", "my env") == (
        "conda-shared export --root '/srv/it'\"'\"'s a root' --from v26.7 'my env'"
    )
    assert CommandLine()("status") == "conda shared status"
    assert line("sample", "/tmp/demo") == "conda-shared sample /tmp/demo"
    assert line("cutover", "--root", "/other", "--to", "NAME") == (
        "conda-shared cutover --root /other --to NAME"
    )
    assert line.on("/new root")("status") == "conda-shared status --root '/new root'"


# -- the output: every command printed parses back ----------------------------------------------


@pytest.fixture
def odd_root(tmp_path: Path) -> Path:
    """The sample root at a path a shell splits and unquotes: a space and a single quote."""
    root = make_sample(tmp_path, "it's a root")
    env = root / "v24.11" / "envs" / "py env"
    (env / "conda-meta").mkdir(parents=True)
    (env / "bin").mkdir()
    (env / "bin" / "python").touch()
    return root


def _scenarios(root: Path) -> list[tuple[str, ...]]:
    """Commands that end in a hint: mistakes, missing state, and successes with a next step."""
    r = ("--root", str(root))
    env = str(root / "v24.11" / "envs" / "py env")
    return [
        ("status", *r),
        ("status", "--root", str(root / "current" / "envs" / "gitdev")),
        ("inventory", *r, "--from", "previous"),
        ("inventory", *r, "--from", "v24.11", "--write"),
        ("export", *r, "gitdeb", "no-such-thing", "py env"),
        ("export", *r, "v26.7/gitdev"),
        ("export", *r, "../x"),
        ("replicate", *r, "--resume"),
        ("replicate", *r, "--status"),
        ("replicate", *r, "--to", "qa", "no-such-env", "--dry-run"),
        ("replicate", *r, "--to", "qa", "--dry-run"),
        ("cutover", *r, "--dry-run"),
        ("cutover", *r, "--rollback", "--yes"),
        ("cutover", *r, "--to", "v9", "--dry-run"),
        ("qa", *r, "set"),
        ("qa", *r, "clear", "v26.7"),
        ("qa", *r, "set", "v24.11"),
        ("qa", *r, "set", "v26.7"),
        ("doctor", *r),
        ("kernels", *r),
        ("init", str(root / "v24.11")),
        ("init", str(root.parent / "new root"), "--adopt", str(root / "v26.7")),
        ("sample", str(root)),
        ("overlay", "install", *r, env),
        ("overlay", "install", *r, env, "pkg", "--no-deps"),
        ("overlay", "remove", *r, env),
        ("overlay", "run", *r, env),
        ("overlay", "list", *r, "py-env"),
        ("status", "--root", str(root), "--log", "-1"),
        ("release", *r, "--from", "v24.11", "py env", "--add", "x", "--yes"),
        ("release", *r, "list", "gitdev"),
        ("release", *r, "rollback", "gitdev"),
    ]


def test_every_printed_command_can_be_pasted(
    odd_root: Path, capsys: Capsys, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(odd_root.parent)
    problems, printed = [], 0
    for argv in _scenarios(odd_root):
        for as_json in ((), ("--json",)):
            result = run_cli(capsys, *argv, *as_json)
            assert "Traceback" not in result.err, (argv, result.err)
            for output in (result.out, result.err):
                printed += sum(1 for text in texts_in(output) for _ in commands_in(text))
                given = odd_root if "--root" in argv else None
                problems += [
                    f"{' '.join(argv)}: {p}" for p in pasteable_problems(output, root=given)
                ]
    assert problems == []
    assert printed > 40  # the scenarios do reach their hints


@pytest.mark.parametrize(
    ("printed", "problem"),
    [
        ("next: conda shared status --root {root}", "the user typed conda-shared"),
        ("next: conda-shared status --root {root}", "not shell words"),
        ("see `conda-shared export` first", "lost --root"),
        ("next: conda-shared cutover --root {quoted} --dry-run.", "does not parse"),
    ],
)
def test_the_walk_catches_what_cannot_be_pasted(odd_root: Path, printed: str, problem: str) -> None:
    text = printed.format(root=odd_root, quoted=shlex.quote(str(odd_root)))
    (found,) = pasteable_problems(text, root=odd_root)
    assert problem in found
    good = CommandLine(("conda-shared",), str(odd_root))("export", "--from", "v26.7", "x y")
    assert pasteable_problems(f"next: {good}", root=odd_root) == []


# -- empty paths and roots that are environments -----------------------------------------------


@pytest.mark.parametrize(
    "argv",
    [("status", "--root", ""), ("init", ""), ("sample", " "), ("export", "--out", "", "x")],
)
def test_an_empty_path_is_an_error_not_the_working_directory(
    argv: tuple[str, ...], tmp_path: Path, capsys: Capsys, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    result = run_cli(capsys, *argv)
    assert result.code == 2
    assert "an empty path is not a directory" in result.err
    assert len(result.err.strip().splitlines()) == 1
    assert os.listdir(tmp_path) == []


def test_a_root_that_is_an_environment_says_so(odd_root: Path, capsys: Capsys) -> None:
    env = odd_root / "current" / "envs" / "gitdev"
    result = run_cli(capsys, "status", "--root", str(env))
    assert result.code == 2
    assert f"{env} is an environment of the installation {real_path(odd_root)}/v24.11" in result.err
    assert f"Pass --root {shlex.quote(str(odd_root))}" in result.err


def test_a_mistyped_env_name_suggests_the_closest_ones(odd_root: Path, capsys: Capsys) -> None:
    root = shlex.quote(str(odd_root))
    typo = run_cli(capsys, "export", "--root", str(odd_root), "gitdeb")
    assert typo.code == 1
    failed, hint = typo.out.splitlines()[:2]
    assert failed.endswith(
        f"no environment named 'gitdeb' in {real_path(odd_root)}/v24.11 (did you mean gitdev?)"
    )
    assert hint.strip() == f"next: if you meant gitdev: conda-shared export --root {root} gitdev"
    nothing_close = run_cli(capsys, "export", "--root", str(odd_root), "zzzzzz")
    assert f"next: choose one of the names this lists: conda-shared inventory --root {root}" in (
        nothing_close.out
    )


def test_overlay_suggests_the_closest_env_names(odd_root: Path, capsys: Capsys) -> None:
    result = run_cli(capsys, "overlay", "list", "--root", str(odd_root), "gitdeb")
    assert result.code == 2
    assert "no environment named 'gitdeb'" in result.err
    assert "(did you mean gitdev?)" in result.err
