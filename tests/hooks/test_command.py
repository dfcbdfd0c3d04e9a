"""hooks/command.py: the typed command rebuilt from what conda parsed, rendered to paste."""

from __future__ import annotations

from pathlib import Path

from conda_shared.hooks.command import typed_command
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
