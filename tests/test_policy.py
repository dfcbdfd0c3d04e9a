"""policy.py: channel-policy and shadowing decisions on plain data."""

from __future__ import annotations

import shlex

import pytest

from conda_shared.policy import (
    CAVEAT,
    WHY,
    EnvFile,
    EnvsDirHit,
    SolvedRecord,
    TypedCommand,
    cache_notices,
    channel_notices,
    name_notices,
    qualify,
    solve_notices,
    spec_channel_for,
)


def install(*packages: str, **fields: object) -> TypedCommand:
    return TypedCommand(words=("install",), packages=packages, **fields)  # type: ignore[arg-type]


def decide(command: TypedCommand, policy: str = "warn", *, url_specs: bool = True) -> tuple:  # type: ignore[type-arg]
    return channel_notices(
        command=command, policy=policy, configured_channels=("conda-forge",), url_specs=url_specs
    )


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ("numpy", "chan::numpy"),
        ("numpy>=1.2", "chan::numpy>=1.2"),
        ("numpy=1.2", "chan::numpy=1.2"),
        ("numpy 1.2.*", "chan::numpy 1.2.*"),
        ("numpy[version='>=1.2']", "chan::numpy[version='>=1.2']"),
        ("other::numpy", "other::numpy"),
        ("conda-forge/linux-64::numpy", "conda-forge/linux-64::numpy"),
        ("numpy[channel=other]", "numpy[channel=other]"),
        (
            "https://x.org/c/linux-64/numpy-1.2-0.conda",
            "https://x.org/c/linux-64/numpy-1.2-0.conda",
        ),
        ("./numpy-1.2-0.tar.bz2", "./numpy-1.2-0.tar.bz2"),
    ],
)
def test_qualify_prefixes_only_specs_without_an_origin(spec: str, expected: str) -> None:
    assert qualify(spec, "chan") == expected


def test_error_stops_with_the_rewritten_command() -> None:
    command = install("numpy>=1.2", "scipy=1.11", name="analysis", channels=("conda-forge",))
    (notice,) = decide(command, "error")
    assert notice.stop
    assert notice.next_step == (
        "Run instead: conda install -n analysis 'conda-forge::numpy>=1.2' conda-forge::scipy=1.11"
    )
    assert "-c conda-forge without --override-channels" in notice.message
    assert WHY in notice.message and CAVEAT in notice.message
    assert "shared_channel_policy is error" in notice.message


def test_warn_goes_on_and_off_says_nothing() -> None:
    command = install("numpy", prefix="/data/env", channels=("bioconda",))
    (notice,) = decide(command, "warn")
    assert not notice.stop
    assert notice.next_step == "Run instead: conda install -p /data/env bioconda::numpy"
    assert "shared_channel_policy" not in notice.message
    assert decide(command, "off") == ()


def test_the_rewrite_keeps_the_other_options_and_spec_files() -> None:
    command = install(
        "numpy",
        name="x",
        channels=("conda-forge",),
        options=("-y", "--solver", "classic"),
        files=("reqs.txt",),
    )
    (notice,) = decide(command)
    assert notice.next_step.endswith(
        "conda install -n x -y --solver classic --file reqs.txt conda-forge::numpy"
    )
    assert "the specs in reqs.txt are not rewritten" in notice.message


def test_the_rewrite_keeps_an_environment_file() -> None:
    """`conda create -n x -c X --file environment.yml` must not become `conda create -n x`,
    which makes an empty environment."""
    command = TypedCommand(
        words=("create",),
        name="x",
        channels=("conda-forge",),
        files=("my env.yml",),
        env_files=(EnvFile("my env.yml", ("bioconda",)),),
    )
    rewrite, listed = decide(command)
    assert rewrite.next_step == "Run instead: conda create -n x --file 'my env.yml'"
    assert "the specs in my env.yml are not rewritten" in rewrite.message
    assert "my env.yml lists bioconda, which is not among your configured" in listed.message


def test_several_channels_rewrite_with_the_first_and_say_so() -> None:
    command = install("numpy", "pysam", channels=("conda-forge", "bioconda"))
    (notice,) = decide(command)
    assert notice.next_step == "Run instead: conda install conda-forge::numpy conda-forge::pysam"
    assert "-c conda-forge -c bioconda" in notice.message
    assert "every package was written with the first, conda-forge" in notice.message


def test_qualified_specs_are_kept_and_override_channels_is_allowed() -> None:
    assert decide(install("conda-forge::numpy")) == ()
    overridden = install("numpy", channels=("conda-forge",), override_channels=True)
    assert decide(overridden, "error") == ()
    (notice,) = decide(install("bioconda::pysam", "numpy", channels=("conda-forge",)))
    assert notice.next_step == "Run instead: conda install bioconda::pysam conda-forge::numpy"


def test_without_packages_the_rewrite_drops_the_channel() -> None:
    command = TypedCommand(
        words=("update",), name="x", channels=("conda-forge",), options=("--all",)
    )
    (notice,) = decide(command)
    assert notice.next_step == "Run instead: conda update -n x --all"
    assert "name it as conda-forge::pkg" in notice.message
    removal = TypedCommand(words=("remove",), packages=("numpy",), channels=("conda-forge",))
    (notice,) = decide(removal)
    assert notice.next_step == "Run instead: conda remove numpy"


def test_url_channels_before_and_after_conda_26_7() -> None:
    command = install("tool", channels=("file:///srv/chans/extra/",))
    (new,) = decide(command, url_specs=True)
    assert new.next_step == "Run instead: conda install file:///srv/chans/extra::tool"
    (old,) = decide(command, url_specs=False)
    assert old.next_step == (
        "Run instead: conda config --set custom_channels.extra file:///srv/chans "
        "&& conda install extra::tool"
    )
    assert "custom_channels" in old.message
    assert spec_channel_for("/srv/chans/extra", url_specs=True).token == "file:///srv/chans/extra"
    assert spec_channel_for("conda-forge/label/dev", url_specs=False).setup is None


def test_environment_file_channels_are_warned_never_stopped() -> None:
    command = TypedCommand(
        words=("env", "create"),
        env_files=(EnvFile("environment.yml", ("bioconda", "conda-forge/", "nodefaults")),),
    )
    (notice,) = decide(command, "error")
    assert not notice.stop
    assert (
        "environment.yml lists bioconda, which is not among your configured channels "
        "(configured: conda-forge)" in notice.message
    )
    assert "bioconda::pkg under dependencies:" in notice.next_step
    assert decide(command, "off") == ()
    known = TypedCommand(words=("env", "update"), env_files=(EnvFile("e.yml", ("conda-forge",)),))
    assert decide(known) == ()


def test_environment_file_warning_says_when_no_channels_are_configured() -> None:
    command = TypedCommand(
        words=("env", "create"), env_files=(EnvFile("e.yml", ("conda-forge", "defaults")),)
    )
    (notice,) = channel_notices(
        command=command, policy="warn", configured_channels=(), url_specs=True
    )
    assert notice.message.startswith(
        "e.yml lists conda-forge, defaults, which are not among your configured channels "
        "(none are configured)"
    )


@pytest.mark.parametrize("policy", ["error", "warn"])
def test_a_refused_channel_is_never_answered_with_channel_pkg(policy: str) -> None:
    command = install("pysam", "numpy", channels=("blocked", "bioconda"), name="x")
    refused, other = channel_notices(
        command=command,
        policy=policy,
        configured_channels=(),
        url_specs=True,
        refused={"blocked": "denylist_channels"},
    )
    assert refused.message.startswith(
        "-c blocked: this installation's denylist_channels refuses that channel"
    )
    assert "blocked::" not in refused.text
    assert "Leave it out (conda install -n x -c bioconda pysam numpy)" in refused.next_step
    assert refused.stop == (policy == "error")
    assert other.next_step == "Run instead: conda install -n x bioconda::pysam bioconda::numpy"
    (only,) = channel_notices(
        command=install("pysam", channels=("blocked",)),
        policy=policy,
        configured_channels=(),
        url_specs=True,
        refused={"blocked": "allowlist_channels"},
    )
    assert "allowlist_channels refuses" in only.message
    assert "Leave it out (conda install pysam)" in only.next_step


def hit(prefix: str, *, shared: bool, writable: bool = True) -> EnvsDirHit:
    return EnvsDirHit(prefix, prefix.rsplit("/", 1)[0], shared=shared, writable=writable)


def test_name_in_several_envs_dirs_suggests_p_and_envs_dirs_order() -> None:
    command = install("numpy", name="analysis")
    hits = [hit("/shared/envs/analysis", shared=True), hit("/home/u/envs/analysis", shared=False)]
    (notice,) = name_notices(command=command, hits=hits, own_envs_dir="/home/u/envs")
    assert (
        "matches 2 environments; conda uses the first, /shared/envs/analysis (a shared location)"
        in notice.message
    )
    assert "conda install -p /home/u/envs/analysis numpy" in notice.next_step
    assert "conda config --prepend envs_dirs /home/u/envs" in notice.next_step


def test_create_over_a_shared_env_and_install_into_a_read_only_one() -> None:
    create = TypedCommand(words=("create",), packages=("numpy",), name="analysis")
    shared = [hit("/shared/envs/analysis", shared=True, writable=False)]
    (notice,) = name_notices(command=create, hits=shared, own_envs_dir="/home/u/envs")
    assert "would replace it" in notice.message
    assert notice.next_step.endswith("conda create -p /home/u/envs/analysis numpy")
    (notice,) = name_notices(
        command=install("numpy", name="analysis"), hits=shared, own_envs_dir="/home/u/envs"
    )
    assert "which you cannot change" in notice.message
    assert "--clone /shared/envs/analysis" in notice.next_step


def test_names_that_need_no_warning() -> None:
    own = [hit("/home/u/envs/analysis", shared=False)]
    admin = [hit("/shared/envs/analysis", shared=True, writable=True)]
    for hits in ([], own, admin):
        assert (
            name_notices(command=install("x", name="analysis"), hits=hits, own_envs_dir="/h") == ()
        )
    assert name_notices(command=install("x", prefix="/p"), hits=own, own_envs_dir="/h") == ()


def test_cache_notices_for_offline_and_use_local() -> None:
    command = install("numpy", name="x", options=("--use-local",))
    offline, local = cache_notices(
        command=command,
        offline=True,
        shared_pkgs_dirs=("/shared/pkgs",),
        own_pkgs_dir="/home/u/pkgs",
        use_local=True,
        shared_build_dirs=("/shared/conda-bld",),
    )
    assert "shared caches /shared/pkgs" in offline.message and "24.3 to 25.5" in offline.message
    assert "CONDA_PKGS_DIRS=/home/u/pkgs conda install -n x --use-local numpy" in offline.next_step
    assert "/shared/conda-bld" in local.message
    assert local.next_step.endswith("conda install -n x numpy")
    quiet = cache_notices(
        command=command,
        offline=False,
        shared_pkgs_dirs=("/shared/pkgs",),
        own_pkgs_dir="/h",
        use_local=True,
        shared_build_dirs=(),
    )
    assert quiet == ()


def record(name: str, version: str = "1.0", **fields: object) -> SolvedRecord:
    values: dict[str, object] = {
        "channel": "conda-forge",
        "from_configured_channel": True,
        "cache_dir": None,
        "cache_shared": False,
        "requested": False,
        "newer": None,
    }
    values.update(fields)
    return SolvedRecord(name=name, version=version, **values)  # type: ignore[arg-type]


def test_solve_notices_name_package_version_origin_and_newer() -> None:
    records = [
        record("numpy", "1.26"),
        record(
            "oldtool",
            "0.9",
            channel="file:///retired",
            from_configured_channel=False,
            cache_dir="/shared/pkgs",
            cache_shared=True,
            newer="1.0",
        ),
        record("mine", "0.1", channel="local", from_configured_channel=False),
        record("scipy", "1.10", requested=True, newer="1.14", spec="conda-forge::scipy>=1"),
    ]
    foreign, held = solve_notices(
        command=install("conda-forge::scipy>=1", "numpy", name="x"),
        records=records,
        own_pkgs_dir="/home/u/pkgs",
    )
    assert foreign.message.startswith("2 packages chosen by this solve come from outside")
    assert (
        "oldtool 0.9 from the shared package cache /shared/pkgs "
        "(channel file:///retired, your channels offer 1.0)"
    ) in foreign.message
    assert "mine 0.1 from a local build (channel local)" in foreign.message
    assert "CONDA_PKGS_DIRS=/home/u/pkgs" in foreign.next_step
    assert "scipy 1.10 (your channels offer 1.14)" in held.message
    assert held.next_step == (  # the other specs stay: they are what may hold it back
        "See what holds it back: conda install -n x --dry-run conda-forge::scipy==1.14 numpy"
    )
    assert solve_notices(command=install("numpy"), records=records[:1], own_pkgs_dir="/h") == ()


def test_long_lists_are_cut() -> None:
    records = [record(f"p{i}", from_configured_channel=False) for i in range(8)]
    (notice,) = solve_notices(command=install(), records=records, own_pkgs_dir="/h")
    assert "8 packages" in notice.message and "and 3 more" in notice.message


def test_rendered_commands_are_shell_safe() -> None:
    command = install("numpy>=1.2,<2", prefix="/data/my env", options=("--solver", "classic"))
    assert shlex.split(command.render()) == [
        "conda",
        "install",
        "-p",
        "/data/my env",
        "--solver",
        "classic",
        "numpy>=1.2,<2",
    ]
