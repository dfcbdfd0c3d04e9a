"""Tier 2: the policy, shadowing and doctor hooks inside real conda (subprocess, offline)."""

from __future__ import annotations

import json
import os
import shlex
import stat
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

from conda_shared.hooks.versions import offline_cache_joins_solve
from tests.conftest import CONDA_VERSION
from tests.roots import make_sample
from tests.support.channel import Channel
from tests.support.conda_runner import CondaRunner

pytestmark = pytest.mark.tier2

WARNING = "conda-shared: warning: "
CONDA = CONDA_VERSION or "0"
OFFLINE_CACHE_SOLVES = offline_cache_joins_solve(CONDA, "classic")
DOCTOR_SELECTS_CHECKS = tuple(int(p) for p in CONDA.split(".")[:2]) >= (26, 1)


@dataclass(frozen=True)
class Channels:
    """`base` is configured; `extra` is what users add with -c; `retired` is no longer used."""

    base: Channel
    extra: Channel
    retired: Channel

    @property
    def parent(self) -> Path:
        return self.base.root.parent


@pytest.fixture(scope="module")
def channels(tmp_path_factory: pytest.TempPathFactory) -> Channels:
    parent = tmp_path_factory.mktemp("channels")
    base, extra, retired = (Channel(parent / name) for name in ("base", "extra", "retired"))
    base.add("libz", "1.0")
    base.add("pkga", "1.0", depends=("libz",))
    base.add("pkga", "1.1", depends=("libz",))
    base.add("oldtool", "1.0", depends=("missingdep",))  # cannot be installed: dep is nowhere
    base.add("holder", "1.0", depends=("pkga 1.0",))  # holds pkga back from 1.1
    extra.add("libz", "9.0")  # -c extra would pull this in for every package that needs libz
    extra.add("pkga", "2.0", depends=("libz",))
    retired.add("libz", "0.8")
    retired.add("oldtool", "0.9", depends=("libz",))
    for channel in (base, extra, retired):
        channel.index()
    return Channels(base, extra, retired)


@pytest.fixture
def conda(tmp_path: Path, channels: Channels) -> CondaRunner:
    """A user of the configured `base` channel; `extra` is known by name (custom_channels)."""
    runner = CondaRunner.in_sandbox(tmp_path / "sandbox", [channels.base.url])
    add_config(runner, f"custom_channels:\n  extra: {channels.parent.as_uri()}\n")
    return runner


def add_config(runner: CondaRunner, text: str) -> None:
    runner.condarc.write_text(runner.condarc.read_text() + text)


def warnings(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.startswith(WARNING)]


def linked(runner: CondaRunner, prefix: Path) -> dict[str, tuple[str, str]]:
    rows = runner.json("list", "-p", prefix)
    return {row["name"]: (row["version"], row["channel"]) for row in rows}


def run_rewritten(runner: CondaRunner, line: str) -> None:
    """Run the `Run instead: ...` suggestion as a user would paste it."""
    suggestion = line.split("Run instead: ", 1)[1]
    for command in suggestion.split(" && "):
        argv = shlex.split(command)
        assert argv[0] == "conda"
        runner(*argv[1:])


# ---------------------------------------------------------------- channel policy


@pytest.mark.parametrize("channel_kind", ["name", "url"])
def test_error_stops_and_the_rewritten_command_works(
    conda: CondaRunner, channels: Channels, channel_kind: str
) -> None:
    channel = "extra" if channel_kind == "name" else channels.extra.url
    policy = {"CONDA_PLUGINS_SHARED_CHANNEL_POLICY": "error"}
    stopped = conda("create", "-n", "x", "-c", channel, "pkga", env_overrides=policy, check=False)
    assert stopped.returncode == 3
    assert "Traceback" not in stopped.stderr and "ERROR REPORT" not in stopped.stderr
    (line,) = [line for line in stopped.stderr.splitlines() if line.startswith("PolicyError: ")]
    assert f"-c {channel} without --override-channels" in line
    assert not (conda.envs_dir / "x").exists()
    run_rewritten(conda, line)
    # Only the package asked for comes from extra; its dependency keeps the configured channel.
    assert linked(conda, conda.envs_dir / "x") == {
        "pkga": ("2.0", "extra"),
        "libz": ("1.0", "base"),
    }


def test_warn_lets_it_through_with_one_warning(conda: CondaRunner) -> None:
    result = conda("create", "-n", "w", "-c", "extra", "pkga")
    (line,) = warnings(result.stderr)
    assert line.endswith("Run instead: conda create -n w extra::pkga")
    assert linked(conda, conda.envs_dir / "w")["libz"] == ("9.0", "extra")  # what -c does


def test_qualified_spec_and_override_channels_pass_silently(conda: CondaRunner) -> None:
    policy = {"CONDA_PLUGINS_SHARED_CHANNEL_POLICY": "error"}
    conda("create", "-n", "q", "libz", env_overrides=policy)
    installed = conda("install", "-n", "q", "extra::pkga", env_overrides=policy)
    assert "conda-shared" not in installed.stderr
    overridden = conda(
        "create", "-n", "o", "--override-channels", "-c", "extra", "pkga", env_overrides=policy
    )
    assert "conda-shared" not in overridden.stderr


def test_environment_file_channels_warn_telling_the_files_from_the_configured_ones(
    conda: CondaRunner, channels: Channels, tmp_path: Path
) -> None:
    env_file = tmp_path / "environment.yml"
    env_file.write_text("name: fromfile\nchannels:\n  - extra\ndependencies:\n  - pkga\n")
    policy = {"CONDA_PLUGINS_SHARED_CHANNEL_POLICY": "error"}
    result = conda("env", "create", "-f", env_file, env_overrides=policy)
    (line,) = warnings(result.stderr)
    assert (
        f"{env_file} lists extra, which is not among your configured channels "
        f"(configured: {channels.base.url})"
    ) in line


@pytest.mark.parametrize("policy", ["error", "warn"])
def test_a_denied_channel_is_not_answered_with_channel_pkg(
    conda: CondaRunner, channels: Channels, policy: str
) -> None:
    add_config(conda, f"denylist_channels:\n  - {channels.extra.url}\n")
    setting = {"CONDA_PLUGINS_SHARED_CHANNEL_POLICY": policy}
    result = conda("create", "-n", "d", "-c", "extra", "pkga", env_overrides=setting, check=False)
    assert result.returncode != 0  # conda refuses the denied channel whatever we say
    said = [
        line
        for line in result.stderr.splitlines()
        if line.startswith((WARNING, "PolicyError: ")) and "extra" in line
    ]
    assert said, result.stderr
    assert "extra::" not in " ".join(said)
    assert "denylist_channels" in said[0]
    # what conda does with the advice we no longer give:
    refused = conda("create", "-n", "d", "extra::pkga", check=False)
    assert refused.returncode != 0 and "ChannelDenied" in refused.stdout + refused.stderr


def test_the_held_back_probe_keeps_the_other_specs_and_shows_the_conflict(
    conda: CondaRunner,
) -> None:
    created = conda("create", "-n", "held", "pkga", "holder")
    (line,) = warnings(created.stderr)
    assert "pkga 1.0 (your channels offer 1.1)" in line
    probe = shlex.split(line.split("See what holds it back: ", 1)[1])
    assert probe[:2] == ["conda", "create"] and "holder" in probe
    shown = conda(*probe[1:], "-n", "held-probe", check=False)
    assert shown.returncode != 0, "the dry run must show the conflict, not solve cleanly"
    assert "holder" in shown.stdout + shown.stderr


# ---------------------------------------------------------------- shadowing


@pytest.fixture
def shared_root(tmp_path: Path, channels: Channels, conda: CondaRunner) -> Path:
    """What an admin left: a shared env made from the retired channel, and its package cache."""
    root = tmp_path / "shared"
    admin = {"CONDA_PKGS_DIRS": str(root / "pkgs")}
    conda(
        "create", "-p", root / "envs" / "analysis", "--override-channels",
        "-c", channels.retired.url, "oldtool", env_overrides=admin,
    )  # fmt: skip
    assert (root / "pkgs" / "oldtool-0.9-0" / "info" / "repodata_record.json").is_file()
    return root


def test_name_resolving_to_a_shared_env(
    conda: CondaRunner, shared_root: Path, tmp_path: Path
) -> None:
    own = tmp_path / "own-envs"
    add_config(
        conda,
        f"envs_dirs:\n  - {shared_root / 'envs'}\n  - {own}\n"
        f"plugins:\n  shared_root: {shared_root}\n",
    )
    from_config = {"CONDA_ENVS_DIRS": None}
    created = conda(
        "create", "-n", "analysis", "pkga", "--dry-run", env_overrides=from_config, check=False
    )  # conda refuses `create --dry-run` over an existing env; without it, it would replace it
    (line,) = warnings(created.stderr)
    assert f"-n analysis is the shared environment {shared_root}/envs/analysis" in line
    assert f"conda create -p {own}/analysis --dry-run pkga" in line
    conda("create", "-p", own / "analysis", "libz")
    installed = conda("install", "-n", "analysis", "pkga", "--dry-run", env_overrides=from_config)
    (line,) = warnings(installed.stderr)
    assert "-n analysis matches 2 environments; conda uses the first" in line
    assert f"conda install -p {own}/analysis --dry-run pkga" in line


def test_shared_package_cache(
    conda: CondaRunner, channels: Channels, shared_root: Path, tmp_path: Path
) -> None:
    add_config(conda, f"plugins:\n  shared_root: {shared_root}\n")
    caches = {"CONDA_PKGS_DIRS": f"{tmp_path / 'own-pkgs'},{shared_root / 'pkgs'}"}
    result = conda("create", "-p", tmp_path / "env", "oldtool", env_overrides=caches, check=False)
    if OFFLINE_CACHE_SOLVES:
        assert result.returncode == 0, result.stderr
        before, after = warnings(result.stderr)
        assert f"including the shared caches {shared_root}/pkgs" in before
        assert (
            f"oldtool 0.9 from the shared package cache {shared_root}/pkgs "
            f"(channel {channels.retired.url}, your channels offer 1.0)"
        ) in after
        assert f"libz 0.8 from the shared package cache {shared_root}/pkgs" in after
    else:
        # conda >= 25.7 never solves from pkgs_dirs, so the cached 0.9 cannot be chosen, and
        # conda-shared rightly says nothing about the cache.
        assert result.returncode != 0 and "missingdep" in result.stdout + result.stderr
        assert warnings(result.stderr) == []


def test_shared_local_builds_with_use_local(
    conda: CondaRunner, channels: Channels, tmp_path: Path
) -> None:
    root = tmp_path / "shared"
    builds = Channel(root / "conda-bld")
    builds.add("pkga", "0.5", depends=("libz",))
    builds.index()
    add_config(conda, f"croot: {builds.root}\nplugins:\n  shared_root: {root}\n")
    result = conda("create", "-p", tmp_path / "env", "--use-local", "pkga", "--dry-run")
    before, after = warnings(result.stderr)
    assert f"includes the shared {builds.root}" in before
    assert "pkga 0.5 (your channels offer 1.1)" in after


def test_clean_config_sees_nothing(conda: CondaRunner, tmp_path: Path) -> None:
    created = conda("create", "-n", "clean", "pkga")
    installed = conda("install", "-n", "clean", "pkga=1.0")
    removed = conda("remove", "-n", "clean", "pkga")
    for result in (created, installed, removed):
        assert "conda-shared" not in result.stderr


# ---------------------------------------------------------------- a broken hook


@pytest.mark.parametrize(
    ("module", "broken"),
    [("conda_shared.hooks", "command_notices"), ("conda_shared.hooks.shadowing", "record_notices")],
)
def test_a_broken_hook_leaves_conda_working(
    conda: CondaRunner, tmp_path: Path, module: str, broken: str
) -> None:
    script = (
        "import sys\n"
        f"import {module} as hooks\n"
        "def broken(*args, **kwargs):\n"
        "    raise RuntimeError('injected failure')\n"
        f"hooks.{broken} = broken\n"
        "from conda.cli.main import main\n"
        "sys.argv[0] = 'conda'\n"
        "sys.exit(main())\n"
    )
    prefix = tmp_path / "env"
    result = subprocess.run(
        [str(conda.python), "-c", script, "create", "-p", str(prefix), "pkga"],
        env=conda.environ(),
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    (line,) = warnings(result.stderr)
    assert "failed and were skipped (RuntimeError: injected failure); conda goes on" in line
    assert "Traceback" not in result.stderr
    assert (prefix / "conda-meta").is_dir()


# ---------------------------------------------------------------- doctor


def test_conda_doctor_runs_the_shared_checks(conda: CondaRunner, tmp_path: Path) -> None:
    root = make_sample(tmp_path)
    envs = root / "v24.11" / "envs"
    os.chmod(envs, 0o775)
    plugin_root = {"CONDA_PLUGINS_SHARED_ROOT": str(root)}
    select = ("conda-shared",) if DOCTOR_SELECTS_CHECKS else ()
    report = conda("doctor", *select, env_overrides=plugin_root)
    assert f"conda-shared doctor: shared root {root}" in report.stdout
    assert f"[permissions] {envs} is writable by group" in report.stdout
    if DOCTOR_SELECTS_CHECKS:  # fixers exist from conda 26.1
        conda("doctor", "conda-shared", "--fix", "--yes", env_overrides=plugin_root)
        assert stat.S_IMODE(envs.stat().st_mode) == 0o755


def test_conda_shared_doctor_verb(conda: CondaRunner, tmp_path: Path) -> None:
    root = make_sample(tmp_path)
    result = conda("shared", "doctor", "--root", root, "--json", check=False)
    assert result.returncode == 1
    data = json.loads(result.stdout)
    assert [i["conda_shared_version"] for i in data["installations"]] == ["0.1.0", None]
