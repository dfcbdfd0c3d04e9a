"""hooks/command.py: the typed command rebuilt from what conda parsed, rendered to paste."""

from __future__ import annotations

from pathlib import Path

from conda_shared.hooks.command import command_name, typed_command
from tests.hooks.fakes import UpdateModifier


def test_typed_command_reads_what_conda_parsed(tmp_path: Path) -> None:
    env_file = tmp_path / "environment.yml"
    env_file.write_text(
        "name: x\nchannels:\n  - bioconda\n  - conda-forge\ndependencies: [numpy]\n"
    )
    typed = typed_command(
        "install",
        {
            "packages": ["numpy"],
            "channel": ["./local-chan", "conda-forge"],
            "update_modifier": UpdateModifier.FREEZE_INSTALLED,
            "channel_priority": "strict",
            "ssl_verify": False,
            "repodata_fns": ["repodata.json"],
            "file": [str(env_file), "reqs.txt"],
        },
    )
    assert typed.channels == (str(Path("local-chan").absolute()), "conda-forge")
    assert typed.options == (
        "--insecure",
        "--strict-channel-priority",
        "--freeze-installed",
        "--repodata-fn",
        "repodata.json",
    )
    assert typed.files == (str(env_file), "reqs.txt")
    assert typed.env_files[0].channels == ("bioconda", "conda-forge")
    removal = typed_command("env_remove", {"package_names": ["numpy"], "name": "x"})
    assert removal.words == ("env", "remove") and removal.packages == ("numpy",)
    assert removal.removes


def test_files_positionals_and_counted_options_are_rendered() -> None:
    typed = typed_command(
        "create",
        {"name": "x", "channel": ["c"], "file": ["my env.yml", "reqs.txt"], "verbosity": 2},
    )
    assert typed.render() == "conda create -n x -c c -v -v --file 'my env.yml' --file reqs.txt"
    remote = typed_command("env_create", {"remote_definition": "someone/env", "file": "e.yml"})
    assert remote.render() == "conda env create --file e.yml someone/env"


def test_env_remove_run_as_remove_keeps_only_what_was_typed() -> None:
    """conda >= 24.9 runs `conda env remove -n x` as remove with all=True and force=True among
    its defaults; after `conda remove`, --force would mean --force-remove."""
    args = {"func": "conda.cli.main_remove.execute", "name": "x", "all": True, "force": True}
    assert command_name(args, "") == "remove"
    assert typed_command("remove", {**args, "package_names": []}).render() == (
        "conda remove -n x --all"
    )


def test_command_name_follows_condas_naming() -> None:
    assert command_name({"func": "conda.cli.main_env_create.execute"}, "x") == "env_create"
    assert command_name({"func": None}, "install") == "install"
