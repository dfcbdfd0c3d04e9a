"""Tier 2: every command the hooks suggest parses, with conda's own parser, into the command typed.

"The same command" is judged on conda's parsed namespaces: every argument the user gave (a value
that differs from the bare command's) comes back with the same value, the suggestion adds none,
and only what the suggestion changes on purpose (-c, the specs it qualifies, -n for -p) differs.
"""

from __future__ import annotations

import argparse
import shlex
from collections.abc import Iterator, Mapping
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from conda_shared.hooks import command_notices
from conda_shared.hooks.command import command_name, typed_command
from tests.conftest import CONDA_VERSION

pytestmark = [
    pytest.mark.tier2,
    # conda 26.x flags options it will retire (--experimental, --env-spec); they still parse
    pytest.mark.filterwarnings("ignore::PendingDeprecationWarning"),
    pytest.mark.filterwarnings("ignore:`remote_definition` is deprecated:FutureWarning"),
]

#: the commands the hooks police, as typed
POLICED = (
    ("install",),
    ("create",),
    ("update",),
    ("remove",),
    ("env", "create"),
    ("env", "update"),
    ("env", "remove"),
)
#: arguments the completeness test does not set one by one: the command's target, channels,
#: files and specs are set by every form below
TARGET_AND_SPECS = frozenset(
    {"help", "name", "prefix", "channel", "override_channels", "file", "packages",
     "package_names", "remote_definition"}
)  # fmt: skip
SAMPLE_VALUES = {"clone": "base", "subdir": "linux-64", "revision": "1"}


@pytest.fixture(scope="module")
def parser() -> argparse.ArgumentParser:
    from conda.cli.conda_argparse import generate_parser

    built: argparse.ArgumentParser = generate_parser()
    return built


def parse(parser: argparse.ArgumentParser, argv: list[str]) -> dict[str, Any]:
    """What conda keeps in context._argparse_args: the namespace without NULL values."""
    from conda.common.constants import NULL

    return {k: v for k, v in vars(parser.parse_args(argv)).items() if v is not NULL}


def given(parser: argparse.ArgumentParser, argv: list[str], words: tuple[str, ...]) -> dict:
    """The arguments of `argv` that differ from the bare command's (given a prefix, which
    conda 24.3 requires)."""
    bare = parse(parser, [*words, "-p", "/bare"])
    return {k: v for k, v in parse(parser, argv).items() if bare.get(k, None) != v}


def assert_same_command(
    parser: argparse.ArgumentParser,
    typed: list[str],
    suggested: list[str],
    *,
    changed: Mapping[str, object],
) -> None:
    """`suggested` is `typed` with exactly the `changed` arguments (dest -> new value)."""
    before = parse(parser, typed)
    after = parse(parser, suggested)
    assert after["func"] == before["func"], (typed, suggested)
    typed_words = tuple(w for w in typed[:2] if not w.startswith("-"))
    suggested_words = tuple(w for w in suggested[:2] if not w.startswith("-"))
    for key, value in given(parser, typed, typed_words).items():
        expected = changed.get(key, value)
        assert after.get(key) == expected, (key, typed, suggested)
    for key, value in given(parser, suggested, suggested_words).items():
        if key not in changed:
            assert before.get(key) == value, (key, typed, suggested)


def suggestion(text: str, words: tuple[str, ...]) -> list[str]:
    """The last `conda WORDS ...` command in a hint, as a shell would split it."""
    start = text.rindex(" ".join(("conda", *words)) + " ")
    command = text[start:].split("; or put ", 1)[0]
    argv = shlex.split(command)
    assert argv[0] == "conda"
    return argv[1:]


def conda_words(args: Mapping[str, Any]) -> tuple[str, ...]:
    """The words conda runs the command as (26.7 runs `env create` as `create`)."""
    name = command_name(args, "")
    return tuple(name.split("_")) if name.startswith("env_") else (name,)


# ---------------------------------------------------------------- every option, one at a time


def option_cases(parser: argparse.ArgumentParser) -> Iterator[tuple[str, ...]]:
    for words in POLICED:
        sub: Any = parser
        for word in words:
            sub = next(
                a for a in sub._actions if isinstance(a, argparse._SubParsersAction)
            ).choices[word]
        for action in sub._actions:
            if action.dest == "remote_definition":  # `conda env create USER/ENV`, conda < 25.9
                yield (*words, "someone/an-env")
            if action.dest in TARGET_AND_SPECS or not action.option_strings:
                continue
            for option in action.option_strings:
                if not option.startswith("--"):
                    continue  # the short form parses to the same dest and value
                yield (*words, *_with_value(action, option))


def _with_value(action: argparse.Action, option: str) -> tuple[str, ...]:
    if type(action).__name__ == "NullCountAction":
        return (option, option)
    if action.nargs == 0:
        return (option,)
    choices = list(action.choices or ())
    value = choices[0] if choices else SAMPLE_VALUES.get(action.dest, "x")
    return (option, str(value))


def test_every_option_of_every_policed_command_survives_the_rebuild(
    parser: argparse.ArgumentParser,
) -> None:
    cases = list(option_cases(parser))
    assert len(cases) > 150, cases  # every option of seven commands, not an empty loop
    for case in cases:
        typed = [*case, "-n", "x"]
        args = parse(parser, typed)
        rebuilt = typed_command(command_name(args, ""), args).render()
        assert_same_command(parser, typed, shlex.split(rebuilt)[1:], changed={})


# ---------------------------------------------------------------- the suggestions themselves


@pytest.fixture
def places(tmp_path: Path) -> SimpleNamespace:
    """A shared root and the user's own envs dir, both holding `analysis`; paths with spaces."""
    root = tmp_path / "shared root"
    own = tmp_path / "my envs"
    for envs_dir in (root / "envs", own):
        (envs_dir / "analysis" / "conda-meta").mkdir(parents=True)
    env_file = tmp_path / "my env.yml"
    env_file.write_text("name: analysis\nchannels: [base]\ndependencies: [numpy]\n")
    specs = tmp_path / "req s.txt"
    specs.write_text("numpy\n")
    return SimpleNamespace(root=root, own=own, env_file=str(env_file), specs=str(specs))


def notices_for(parser: argparse.ArgumentParser, argv: list[str], places: SimpleNamespace) -> Any:
    args = parse(parser, argv)
    context = SimpleNamespace(
        _argparse_args=args,
        plugins=SimpleNamespace(
            shared_root=str(places.root),
            shared_channel_policy="warn",
            shared_shadow_warnings=True,
            shared_overlays_dir="~/.conda/overlays",
            shared_slurm_options="",
        ),
        channels=("base",),
        envs_dirs=(str(places.root / "envs"), str(places.own)),
        pkgs_dirs=(),
        offline=False,
        use_local=False,
        conda_build_local_paths=(),
        solver="classic",
    )
    return command_notices(command_name(args, ""), context, conda_version=CONDA_VERSION or "0")


CHANNEL_FORMS = [
    (["install", "-n", "x", "-c", "extra", "numpy", "scipy>=1.2"],
     ["extra::numpy", "extra::scipy>=1.2"]),
    (["install", "-p", "{own}/x", "-c", "extra", "-y", "--freeze-installed", "--solver",
      "classic", "--file", "{specs}", "numpy"], ["extra::numpy"]),
    (["create", "-n", "x", "-c", "extra", "--clone", "base"], []),
    (["create", "-n", "x", "-c", "extra", "--file", "{env_file}"], []),
    (["create", "-p", "{own}/y", "-c", "extra", "-c", "more", "--no-default-packages",
      "--subdir", "linux-64", "--dry-run", "python=3.11", "bioconda::pysam"],
     ["extra::python=3.11", "bioconda::pysam"]),
    (["update", "-n", "x", "-c", "extra", "--all"], []),
    (["update", "-n", "x", "-c", "extra", "-S", "--no-deps", "numpy"], ["extra::numpy"]),
    (["remove", "-n", "x", "-c", "extra", "--force", "numpy"], ["numpy"]),
    (["remove", "-n", "x", "-c", "extra", "--all", "-y"], []),
]  # fmt: skip


@pytest.mark.parametrize(("form", "packages"), CHANNEL_FORMS)
def test_the_channel_rewrite_is_the_typed_command_without_c(
    parser: argparse.ArgumentParser, places: SimpleNamespace, form: list[str], packages: list[str]
) -> None:
    typed = [part.format(**vars(places)) for part in form]
    (notice,) = notices_for(parser, typed, places)
    words = conda_words(parse(parser, typed))
    suggested = suggestion(notice.next_step, words)
    key = "package_names" if words[-1] == "remove" else "packages"
    assert_same_command(parser, typed, suggested, changed={"channel": None, key: packages or None})


NAME_FORMS = [
    ["install", "-n", "analysis", "--dry-run", "numpy"],
    ["create", "-n", "analysis", "--file", "{specs}", "python=3.11"],
    ["create", "-n", "analysis", "--file", "{env_file}"],
    ["update", "-n", "analysis", "--update-all", "-y"],
    ["remove", "-n", "analysis", "--all"],
    ["env", "create", "-n", "analysis", "--file", "{env_file}"],
    ["env", "update", "-n", "analysis", "--file", "{env_file}", "--prune"],
    ["env", "remove", "-n", "analysis", "-y"],
]


@pytest.mark.parametrize("form", NAME_FORMS, ids=lambda form: " ".join(form[:2]))
def test_the_name_rewrite_is_the_typed_command_with_p(
    parser: argparse.ArgumentParser, places: SimpleNamespace, form: list[str]
) -> None:
    typed = [part.format(**vars(places)) for part in form]
    notices = notices_for(parser, typed, places)
    (notice,) = [n for n in notices if "-n analysis matches 2 environments" in n.message]
    suggested = suggestion(notice.next_step, conda_words(parse(parser, typed)))
    mine = str(places.own / "analysis")
    assert_same_command(parser, typed, suggested, changed={"name": None, "prefix": mine})
