"""The hooks' decisions on plain data: what to tell the user about a command, and whether to stop.

Nothing here imports conda or touches the disk: `hooks/` gathers the facts (what the user typed,
which directories are shared) and prints or raises what these functions return.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import PurePosixPath

from .text import command_words, quoted

POLICY_ERROR = "error"
POLICY_OFF = "off"

#: commands whose positional arguments are names to take away, not specs to install
_REMOVING = ("remove",)
#: a spec that is a package file or URL names its own origin; `channel::` cannot go before it
_ARCHIVE_SUFFIXES = (".tar.bz2", ".conda")
#: `nodefaults` in an environment file only drops the defaults channel; it adds none
_NO_DEFAULTS = "nodefaults"
#: how many packages a warning lists before it says "and N more"
_LISTED = 5

WHY = (
    "a -c channel becomes the top-priority channel for every package of the solve, "
    "dependencies included, not only for the packages you name"
)
CAVEAT = (
    "channel::pkg takes only that package from the channel, and its dependencies keep your "
    "configured channel order"
)


@dataclass(frozen=True)
class EnvFile:
    """An environment file given to the command, and the channels it lists."""

    path: str
    channels: tuple[str, ...]


@dataclass(frozen=True)
class TypedCommand:
    """A conda command as the user typed it, rebuilt from conda's parsed arguments."""

    words: tuple[str, ...]  # ("install",) or ("env", "update")
    packages: tuple[str, ...] = ()
    channels: tuple[str, ...] = ()  # -c/--channel values in the order given
    override_channels: bool = False
    name: str | None = None
    prefix: str | None = None
    options: tuple[str, ...] = ()  # every other option, as tokens: ("-y", "--solver", "classic")
    files: tuple[str, ...] = ()  # -f/--file arguments, spec files and environment files alike
    env_files: tuple[EnvFile, ...] = ()  # those of `files` that are environment files
    positionals: tuple[str, ...] = ()  # positional arguments that are not packages

    @property
    def removes(self) -> bool:
        return self.words[-1] in _REMOVING

    def render(self) -> str:
        """The command as one shell line, ready to copy."""
        tokens = list(self.words)
        if self.name is not None:
            tokens += ["-n", self.name]
        if self.prefix is not None:
            tokens += ["-p", self.prefix]
        for channel in self.channels:
            tokens += ["-c", channel]
        if self.override_channels:
            tokens.append("--override-channels")
        tokens += self.options
        for path in self.files:
            tokens += ["--file", path]
        tokens += self.packages
        tokens += self.positionals
        return command_words(["conda", *tokens])


@dataclass(frozen=True)
class Notice:
    """One thing to tell the user; `stop` means the command must not go on."""

    message: str
    next_step: str
    stop: bool = False

    @property
    def text(self) -> str:
        return f"{self.message.rstrip('. ')}. {self.next_step}"


@dataclass(frozen=True)
class EnvsDirHit:
    """An envs_dirs entry that holds a directory named like the `-n` argument."""

    prefix: str
    envs_dir: str
    shared: bool  # inside the shared root, or not writable by this user
    writable: bool


@dataclass(frozen=True)
class SolvedRecord:
    """A package the solver chose to link, reduced to what the shadowing check needs."""

    name: str
    version: str
    channel: str  # the channel URL or name conda recorded for it
    from_configured_channel: bool  # one of this command's channels (config, -c, chan::, file)
    cache_dir: str | None  # the package cache it was found in, when it came from one
    cache_shared: bool
    requested: bool
    newer: str | None  # the newest version the configured channels offer, when newer
    spec: str | None = None  # what the user typed for it, when requested


@dataclass(frozen=True)
class SpecChannel:
    """How to write a channel before `::`, and a command to run first when conda needs one."""

    token: str
    setup: str | None


def spec_channel_for(channel: str, *, url_specs: bool) -> SpecChannel:
    """`conda-forge` stays a name; a URL works before `::` only on conda >= 26.7, so on older
    conda the rewrite names it first with `custom_channels` (verified on 24.3 and 24.11)."""
    text = channel.rstrip("/")
    if text.startswith("/"):
        text = PurePosixPath(text).as_uri()
    if "://" not in text or url_specs:
        return SpecChannel(text, None)
    location, _, name = text.rpartition("/")
    setup = command_words(["conda", "config", "--set", f"custom_channels.{name}", location])
    return SpecChannel(name, setup)


def qualify(spec: str, channel: str) -> str:
    """`numpy>=1.2` -> `chan::numpy>=1.2`; specs that already name an origin stay as they are."""
    text = spec.strip()
    names_origin = (
        "::" in text
        or "://" in text
        or text.endswith(_ARCHIVE_SUFFIXES)
        or text.startswith(("/", ".", "~"))
        or "channel=" in text.replace(" ", "")
    )
    return spec if names_origin else f"{channel}::{text}"


def channel_notices(
    *,
    command: TypedCommand,
    policy: str,
    configured_channels: Sequence[str],
    url_specs: bool,
    refused: Mapping[str, str] | None = None,
) -> tuple[Notice, ...]:
    """What the channel policy says about `-c` and about channels inside environment files.

    `--override-channels -c X` is allowed without a word: the user replaced the channel list on
    purpose, so there is no priority inversion to warn about. Channels listed in an environment
    file are only ever warned about (never stopped): there is no command line to rewrite, and a
    file's `channels:` is often the deliberate, reviewed order of a project. `refused` maps a -c
    channel conda will refuse to the setting that refuses it: conda refuses `X::pkg` too, so
    that is never the advice for it.
    """
    if policy == POLICY_OFF:
        return ()
    notices = []
    stop = policy == POLICY_ERROR
    if command.channels and not command.override_channels:
        refused = {c: refused[c] for c in command.channels if c in refused} if refused else {}
        if refused:
            notices.append(_refused_channel_notice(command, refused, stop=stop))
        allowed = tuple(c for c in command.channels if c not in refused)
        if allowed:
            notices.append(
                _cli_channel_notice(
                    replace(command, channels=allowed), stop=stop, url_specs=url_specs
                )
            )
    configured = {_channel_key(channel) for channel in configured_channels}
    for env_file in command.env_files:
        extra = tuple(
            channel
            for channel in env_file.channels
            if channel != _NO_DEFAULTS and _channel_key(channel) not in configured
        )
        if extra:
            notices.append(_env_file_notice(env_file.path, extra, configured_channels))
    return tuple(notices)


def _refused_channel_notice(
    command: TypedCommand, refused: Mapping[str, str], *, stop: bool
) -> Notice:
    named = ", ".join(refused)
    settings = " and ".join(dict.fromkeys(refused.values()))
    without = replace(command, channels=tuple(c for c in command.channels if c not in refused))
    return Notice(
        f"-c {named}: this installation's {settings} refuses "
        f"{'that channel' if len(refused) == 1 else 'those channels'}, on the command line and "
        "as channel::pkg alike",
        f"Leave it out ({without.render()}), or ask the installation's admins for the packages "
        f"you need from {named}; `conda config --show {settings.replace(' and ', ' ')}` shows "
        "the setting",
        stop=stop,
    )


def _cli_channel_notice(command: TypedCommand, *, stop: bool, url_specs: bool) -> Notice:
    first = spec_channel_for(command.channels[0], url_specs=url_specs)
    qualified = () if command.removes else tuple(qualify(p, first.token) for p in command.packages)
    rewritten = replace(command, channels=(), packages=qualified or command.packages).render()
    run = f"{first.setup} && {rewritten}" if first.setup else rewritten
    typed = " ".join(f"-c {channel}" for channel in command.channels)
    parts = [f"{typed} without --override-channels: {WHY}", CAVEAT]
    if len(command.channels) > 1:
        parts.append(
            "conda-shared cannot tell which package you want from which of "
            f"{', '.join(command.channels)}, so every package was written with the first, "
            f"{first.token}: change any that belong to another"
        )
    if not qualified and not command.removes:
        parts.append(f"to take a package from {first.token}, name it as {first.token}::pkg")
    if command.files:
        parts.append(
            f"the specs in {', '.join(command.files)} are not rewritten: write "
            f"{first.token}::pkg in the file for the ones you need from it"
        )
    if first.setup:
        parts.append(
            "conda before 26.7 reads a URL before '::' as a channel name, so the rewrite first "
            "names the channel in your condarc (custom_channels)"
        )
    if stop:
        parts.append("site policy plugins.shared_channel_policy is error")
    return Notice("; ".join(parts), f"Run instead: {run}", stop=stop)


def _env_file_notice(path: str, channels: tuple[str, ...], configured: Sequence[str]) -> Notice:
    named = ", ".join(channels)
    which = "which is" if len(channels) == 1 else "which are"
    yours = f"configured: {', '.join(configured)}" if configured else "none are configured"
    return Notice(
        f"{path} lists {named}, {which} not among your configured channels ({yours}); conda "
        "puts an environment file's channels above yours for every package of the "
        "environment, dependencies included (warned, not stopped: a file cannot be rewritten)",
        f"If you need only some packages from them, write those as {channels[0]}::pkg under "
        f"dependencies: and remove {named} from channels: in {path}",
    )


def _channel_key(channel: str) -> str:
    return channel.strip().rstrip("/")


def name_notices(
    *, command: TypedCommand, hits: Sequence[EnvsDirHit], own_envs_dir: str
) -> tuple[Notice, ...]:
    """Warn when `-n NAME` lands on a shared environment, or on one of several of that name.

    `hits` are the envs_dirs entries holding NAME, in conda's search order (the first wins).
    """
    if command.name is None or not hits:
        return ()
    chosen = hits[0]
    own_prefix = f"{own_envs_dir.rstrip('/')}/{command.name}"
    by_path = replace(command, name=None, prefix=own_prefix).render()
    if len(hits) > 1:
        others = ", ".join(hit.prefix for hit in hits[1:])
        where = " (a shared location)" if chosen.shared else ""
        mine = next((hit for hit in hits[1:] if not hit.shared), None)
        pick = replace(command, name=None, prefix=(mine or hits[1]).prefix).render()
        advice = f"Name the one you mean with -p: {pick}"
        if chosen.shared and mine is not None:
            advice += (
                f"; or put {mine.envs_dir} before {chosen.envs_dir} in envs_dirs "
                f"(conda config --prepend envs_dirs {quoted(mine.envs_dir)})"
            )
        return (
            Notice(
                f"-n {command.name} matches {len(hits)} environments; conda uses the first, "
                f"{chosen.prefix}{where}, not {others}",
                advice,
            ),
        )
    if not chosen.shared:
        return ()
    if command.words[-1] == "create":
        return (
            Notice(
                f"-n {command.name} is the shared environment {chosen.prefix}: this would "
                "replace it rather than make an environment of your own",
                f"Make your own with -p (or choose another name): {by_path}",
            ),
        )
    if chosen.writable:
        return ()  # an admin changing a shared environment on purpose
    return (
        Notice(
            f"-n {command.name} is the shared environment {chosen.prefix}, which you cannot change",
            "For an environment of your own, copy it and use -p: conda create -p "
            f"{quoted(own_prefix)} --clone {quoted(chosen.prefix)}, then {by_path}",
        ),
    )


def cache_notices(
    *,
    command: TypedCommand,
    offline: bool,  # offline, and this conda solves from pkgs_dirs (see hooks/versions.py)
    shared_pkgs_dirs: Sequence[str],
    own_pkgs_dir: str,
    use_local: bool,
    shared_build_dirs: Sequence[str],
) -> tuple[Notice, ...]:
    """Warn when shared package caches or shared local builds can win over the channels."""
    notices = []
    if offline and shared_pkgs_dirs:
        dirs = ", ".join(shared_pkgs_dirs)
        notices.append(
            Notice(
                f"offline, this conda adds every package cached in pkgs_dirs to the solve, "
                f"including the shared caches {dirs}, so old or foreign builds cached there can "
                "be chosen over what your channels offer (classic solver of conda 24.3 to 25.5)",
                f"Solve from your own cache only: CONDA_PKGS_DIRS={quoted(own_pkgs_dir)} "
                f"{command.render()}; or list {own_pkgs_dir} first in pkgs_dirs and drop {dirs}",
            )
        )
    if use_local and shared_build_dirs:
        dirs = ", ".join(shared_build_dirs)
        without = replace(command, options=tuple(o for o in command.options if o != "--use-local"))
        notices.append(
            Notice(
                f"--use-local puts the local build channel, which includes the shared {dirs}, "
                "above every configured channel (conda 24.3 to 26.7), so anyone's old builds "
                "there win over your channels",
                f"Drop --use-local and name only the package you built as local::pkg: "
                f"{without.render()}",
            )
        )
    return tuple(notices)


def solve_notices(
    *, command: TypedCommand, records: Sequence[SolvedRecord], own_pkgs_dir: str
) -> tuple[Notice, ...]:
    """After the solve: packages from outside the configured channels, and requested packages
    chosen older than the channels offer. One pass over the records, one notice per kind."""
    foreign = [r for r in records if not r.from_configured_channel]
    held_back = [r for r in records if r.from_configured_channel and r.requested and r.newer]
    notices = []
    if foreign:
        items = _listed([_foreign_item(record) for record in foreign])
        shared = sorted({r.cache_dir for r in foreign if r.cache_dir and r.cache_shared})
        avoid = (
            f"Solve from your own cache only (CONDA_PKGS_DIRS={quoted(own_pkgs_dir)}, or "
            f"{own_pkgs_dir} first in pkgs_dirs without {', '.join(shared)})"
            if shared
            else "Drop the cache or local channel they came from for this command"
        )
        notices.append(
            Notice(
                f"{_count(foreign)} chosen by this solve {'comes' if len(foreign) == 1 else 'come'}"
                f" from outside your configured channels: {items}",
                f"{avoid}; if you do want one, ask for it as channel::pkg",
            )
        )
    if held_back:
        items = _listed(
            [f"{r.name} {r.version} (your channels offer {r.newer})" for r in held_back]
        )
        first = held_back[0]
        dry_run = () if "--dry-run" in command.options else ("--dry-run",)
        wanted = _newest_spec(first)
        # The other specs stay: they are what held it back, and a dry run without them solves.
        packages = tuple(wanted if p == first.spec else p for p in command.packages)
        probe = replace(
            command,
            packages=packages if wanted in packages else (*packages, wanted),
            options=(*command.options, *dry_run),
        )
        notices.append(
            Notice(
                f"{_count(held_back)} you asked for {'was' if len(held_back) == 1 else 'were'} "
                f"chosen older than your channels offer for your spec: {items}",
                f"See what holds it back: {probe.render()}",
            )
        )
    return tuple(notices)


def _newest_spec(record: SolvedRecord) -> str:
    """`chan::name==newer`, keeping the channel the user named for it."""
    channel, sep, _ = (record.spec or "").rpartition("::")
    return f"{channel}{sep}{record.name}=={record.newer}"


def _foreign_item(record: SolvedRecord) -> str:
    if record.cache_dir:
        where = f"the {'shared ' if record.cache_shared else ''}package cache {record.cache_dir}"
    else:
        where = "a local build" if _is_local_build(record.channel) else "an unconfigured channel"
    newer = f", your channels offer {record.newer}" if record.newer else ""
    return f"{record.name} {record.version} from {where} (channel {record.channel}{newer})"


def _is_local_build(channel: str) -> bool:
    return channel == "local" or "conda-bld" in channel


def _count(records: Sequence[SolvedRecord]) -> str:
    return f"{len(records)} package{'' if len(records) == 1 else 's'}"


def _listed(items: Sequence[str]) -> str:
    shown = "; ".join(items[:_LISTED])
    return shown if len(items) <= _LISTED else f"{shown}; and {len(items) - _LISTED} more"
