"""Glue for conda's hooks: read what conda parsed and a few paths, ask policy.py, warn or stop.

Every hook runs inside `_guarded`: the deliberate PolicyError stops the command (as a CondaError,
so conda prints it like its own); anything else becomes one warning line on stderr, with the
traceback only in conda's debug log. No network, and no directory listing of shared trees.

Cost: the pre-command runs on every install/create/update/remove, and building policy.py's
dataclasses costs ~0.5 ms each, so policy.py is imported only once the facts gathered here
(-c given, an environment file, a shared or ambiguous -n, a shared cache in play) give it
something to decide; the common command pays for settings and a few stat calls only.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .errors import PolicyError, SharedError, as_conda_error
from .settings import Settings, from_conda_context

if TYPE_CHECKING:
    from typing import Protocol

    from .policy import Notice, TypedCommand

    class CondaModels(Protocol):
        """The few conda model APIs the post-solve check needs; tests pass a fake."""

        def channel_ids(self, channel: str) -> frozenset[str]:
            """Names and base URLs that identify a channel (every member of `defaults`)."""
            ...

        def newest_offered(
            self, name: str, spec: str | None, channels: frozenset[str]
        ) -> str | None:
            """Newest version of `name` matching `spec` in repodata conda already loaded."""
            ...

        def is_older(self, version: str, than: str) -> bool: ...


# A child of conda's logger, so `conda ... --debug` shows our tracebacks and nothing else does.
log = logging.getLogger("conda.conda_shared")

WARNING_PREFIX = "conda-shared: warning: "
_ENV_FILE_SUFFIXES = (".yml", ".yaml")
_RESERVED_NAMES = ("base", "root")
_OWN_ENVS_DIR = "~/.conda/envs"
_OWN_PKGS_DIR = "~/.conda/pkgs"
_ERROR_TEXT_LIMIT = 200
#: conda before this version turns `URL::pkg` into `channel_alias/<last part>::pkg` (#16176)
URL_SPECS_SINCE = (26, 7)
#: from this version the classic solver builds its index with use_cache=False, so an offline
#: solve no longer takes packages from pkgs_dirs (24.3 to 25.5 add every cached package)
OFFLINE_CACHE_SOLVES_UNTIL = (25, 7)

#: conda's pre-command names (24.3-26.7) for commands typed as two words
_TWO_WORDS = {
    "env_create": ("env", "create"),
    "env_update": ("env", "update"),
    "env_remove": ("env", "remove"),
}

#: (parsed-argument dest, value, option) that rebuild the options a user typed, conda 24.3-26.7.
#: Enum values (update_modifier, deps_modifier) compare by their `.value`.
_SWITCHES: tuple[tuple[str, object, str], ...] = (
    ("yes", True, "-y"),
    ("dry_run", True, "--dry-run"),
    ("quiet", True, "-q"),
    ("json", True, "--json"),
    ("offline", True, "--offline"),
    ("use_local", True, "--use-local"),
    ("use_index_cache", True, "--use-index-cache"),
    ("ssl_verify", False, "--insecure"),
    ("download_only", True, "--download-only"),
    ("force_reinstall", True, "--force-reinstall"),
    ("ignore_pinned", True, "--no-pin"),
    ("copy", True, "--copy"),
    ("clobber", True, "--clobber"),
    ("mkdir", True, "--mkdir"),
    ("no_default_packages", True, "--no-default-packages"),
    ("prune", True, "--prune"),
    ("all", True, "--all"),
    ("force", True, "--force"),
    ("unknown", True, "--unknown"),
    ("show_channel_urls", True, "--show-channel-urls"),
    ("show_channel_urls", False, "--no-show-channel-urls"),
    ("channel_priority", "strict", "--strict-channel-priority"),
    ("channel_priority", "disabled", "--no-channel-priority"),
    ("deps_modifier", "no_deps", "--no-deps"),
    ("deps_modifier", "only_deps", "--only-deps"),
    ("update_modifier", "freeze_installed", "--freeze-installed"),
    ("update_modifier", "update_deps", "--update-deps"),
    ("update_modifier", "specs_satisfied_skip_solve", "--satisfied-skip-solve"),
    ("update_modifier", "update_all", "--all"),
    ("update_modifier", "update_specs", "--update-specs"),
)
#: (dest, option) of options that carry values; a list value repeats the option
_VALUED: tuple[tuple[str, str], ...] = (
    ("solver", "--solver"),
    ("subdir", "--subdir"),
    ("repodata_fns", "--repodata-fn"),
    ("clone", "--clone"),
)


# ---------------------------------------------------------------- entry points (plugin.py)


def before_command(command: str, *, context: Any = None) -> None:
    """conda_pre_commands action: the channel policy and the shadowing checks."""
    with _guarded(f"the conda-shared checks before `{command}`"):
        context = context if context is not None else _conda_context()
        _tell(command_notices(command, context, conda_version=_conda_version()))


def after_solve(
    repodata_fn: str,
    unlink_precs: Sequence[Any],
    link_precs: Sequence[Any],
    *,
    context: Any = None,
    models: CondaModels | None = None,
) -> None:
    """conda_post_solves action: chosen packages from outside the configured channels."""
    with _guarded("the conda-shared checks after the solve"):
        context = context if context is not None else _conda_context()
        settings = from_conda_context(context)
        if settings.shadow_warnings and link_precs:
            _tell(record_notices(link_precs, context, settings, models or _RealCondaModels()))


def health_check(prefix: str, verbose: bool, *, context: Any = None) -> None:
    """conda_health_checks action: the root-wide checks of `conda shared doctor`."""
    with _guarded("the conda-shared doctor checks"):
        from .doctor import report_text

        print(report_text(_doctor_report(context if context is not None else _conda_context())))


def fix_health(
    prefix: str, args: Any, confirm: Callable[[str], None], *, context: Any = None
) -> int:
    """conda doctor --fix (conda >= 26.1): take group/other write permission off shared envs.

    `confirm` raises when the user declines or under --dry-run; that must reach conda, so it
    runs outside any guard.
    """
    from .doctor import fix_permissions

    report = _doctor_report(context if context is not None else _conda_context())
    if not report.writable:
        print(f"conda-shared: no shared environment under {report.root} is group/other-writable.")
        return 0
    confirm(
        f"Remove group and other write permission from {len(report.writable)} directories "
        f"under {report.root}?"
    )
    result = fix_permissions(root=report.root, dirs=report.writable)
    for path in result.fixed:
        print(f"conda-shared: fixed {path}")
    for path, reason in result.failed:
        print(f"conda-shared: could not fix {path}: {reason}", file=sys.stderr)
    if result.note:
        print(f"{WARNING_PREFIX}{result.note}", file=sys.stderr)
    return 1 if result.failed else 0


# ---------------------------------------------------------------- before the command


def command_notices(command: str, context: Any, *, conda_version: str) -> tuple[Notice, ...]:
    """Everything the pre-command hook has to say about `command` as conda parsed it."""
    settings = from_conda_context(context)
    args = parsed_args(context)
    notices: list[Notice] = []
    if _channels_given(args):
        from .policy import channel_notices

        typed = typed_command(command, args)
        notices += channel_notices(
            command=typed,
            policy=settings.channel_policy,
            configured_channels=tuple(context.channels) if typed.env_files else (),
            url_specs=url_specs_supported(conda_version),
        )
    if settings.shadow_warnings:
        places = _Places(settings)
        notices += _name_notices(command, args, context, places)
        notices += _cache_notices(command, args, context, places, conda_version=conda_version)
    return tuple(notices)


def _channels_given(args: Mapping[str, Any]) -> bool:
    """-c without --override-channels, or an environment file (which may list channels)."""
    if args.get("channel") and not args.get("override_channels"):
        return True
    return any(str(f).endswith(_ENV_FILE_SUFFIXES) for f in _files(args))


def _files(args: Mapping[str, Any]) -> tuple[Any, ...]:
    files = args.get("file") or ()
    return (files,) if isinstance(files, str) else tuple(files)


def parsed_args(context: Any) -> Mapping[str, Any]:
    """conda's parsed arguments (NULL-valued ones already dropped by conda)."""
    return getattr(context, "_argparse_args", None) or {}


def typed_command(command: str, args: Mapping[str, Any]) -> TypedCommand:
    """Rebuild what the user typed from conda's parsed arguments (not sys.argv: conda can be
    called in-process with other arguments)."""
    from .policy import EnvFile, TypedCommand

    words = _TWO_WORDS.get(command, (command,))
    removes = words[-1] == "remove"
    packages = args.get("package_names" if removes else "packages") or ()
    files = _files(args)
    env_files = tuple(f for f in files if str(f).endswith(_ENV_FILE_SUFFIXES))
    return TypedCommand(
        words=words,
        packages=tuple(str(p) for p in packages),
        channels=tuple(_absolute_channel(str(c)) for c in args.get("channel") or ()),
        override_channels=bool(args.get("override_channels")),
        name=args.get("name") or None,
        prefix=args.get("prefix") or None,
        options=_options(args),
        spec_files=tuple(str(f) for f in files if f not in env_files),
        env_files=tuple(EnvFile(str(f), _env_file_channels(Path(f))) for f in env_files),
    )


def _absolute_channel(channel: str) -> str:
    """A path given to -c becomes absolute, so the rewrite works from any directory."""
    if "://" in channel or not channel.startswith((".", "~", os.sep)):
        return channel
    return str(Path(channel).expanduser().absolute())


def _options(args: Mapping[str, Any]) -> tuple[str, ...]:
    tokens: list[str] = []
    for dest, value, option in _SWITCHES:
        given = args.get(dest)
        if given is not None and getattr(given, "value", given) == value and option not in tokens:
            tokens.append(option)
    for dest, option in _VALUED:
        given = args.get(dest)
        for item in [given] if isinstance(given, str) else given or ():
            tokens += [option, str(item)]
    return tuple(tokens)


def _env_file_channels(path: Path) -> tuple[str, ...]:
    """The `channels:` of an environment file; an unreadable file is conda's to report."""
    from ruamel.yaml import YAML
    from ruamel.yaml.error import YAMLError

    try:
        data = YAML(typ="safe", pure=True).load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, YAMLError):
        return ()
    channels = data.get("channels") if isinstance(data, dict) else None
    return tuple(str(c) for c in channels if c) if isinstance(channels, list) else ()


class _Places:
    """Is a path shared (inside the shared root, or not writable by this user)? A few stat calls
    per path asked about, never a listing."""

    def __init__(self, settings: Settings) -> None:
        root = settings.shared_root
        self.root = os.path.realpath(root) if root is not None else None

    def inside_root(self, path: str) -> bool:
        if self.root is None:
            return False
        real = os.path.realpath(path)
        return real == self.root or real.startswith(self.root + os.sep)

    def shared(self, path: str) -> bool:
        return self.inside_root(path) or not writable(path)

    def own(self, dirs: Iterable[str], default: str) -> str:
        """The first of `dirs` that is the user's: outside the root, writable or not made yet."""
        for path in dirs:
            if not self.inside_root(path) and (not os.path.exists(path) or writable(path)):
                return path
        return os.path.expanduser(default)


def writable(path: str) -> bool:
    return os.access(path, os.W_OK)


def _name_notices(
    command: str, args: Mapping[str, Any], context: Any, places: _Places
) -> tuple[Notice, ...]:
    name = args.get("name")
    if not name or args.get("prefix") or name in _RESERVED_NAMES:
        return ()
    envs_dirs = [str(d) for d in context.envs_dirs]
    # conda's locate_prefix_by_name: the first envs dir holding a NAME directory wins
    found = [(d, os.path.join(d, name)) for d in envs_dirs if os.path.isdir(os.path.join(d, name))]
    shared = [places.shared(envs_dir) for envs_dir, _ in found]
    if len(found) < 2 and not any(shared):
        return ()  # nothing shared, nothing ambiguous: nothing for the policy to weigh
    from .policy import EnvsDirHit, name_notices

    hits = [
        EnvsDirHit(prefix, envs_dir, shared=is_shared, writable=writable(prefix))
        for (envs_dir, prefix), is_shared in zip(found, shared)
    ]
    own = places.own(envs_dirs, _OWN_ENVS_DIR)
    return name_notices(command=typed_command(command, args), hits=hits, own_envs_dir=own)


def _cache_notices(
    command: str, args: Mapping[str, Any], context: Any, places: _Places, *, conda_version: str
) -> tuple[Notice, ...]:
    offline = bool(getattr(context, "offline", False)) and offline_cache_joins_solve(
        conda_version, str(getattr(context, "solver", ""))
    )
    use_local = bool(getattr(context, "use_local", False))
    if not (offline or use_local):
        return ()
    pkgs_dirs = [str(d) for d in context.pkgs_dirs]
    shared_pkgs = [d for d in pkgs_dirs if os.path.isdir(d) and places.shared(d)] if offline else []
    build_dirs = [str(d) for d in context.conda_build_local_paths] if use_local else []
    shared_builds = [d for d in build_dirs if places.shared(d)]
    if not (shared_pkgs or shared_builds):
        return ()
    from .policy import cache_notices

    return cache_notices(
        command=typed_command(command, args),
        offline=offline,
        shared_pkgs_dirs=shared_pkgs,
        own_pkgs_dir=places.own(pkgs_dirs, _OWN_PKGS_DIR),
        use_local=use_local,
        shared_build_dirs=shared_builds,
    )


def url_specs_supported(conda_version: str) -> bool:
    """Whether this conda keeps a URL channel's identity in `URL::pkg` (26.7.0 and later)."""
    return _release(conda_version) >= URL_SPECS_SINCE


def offline_cache_joins_solve(conda_version: str, solver: str) -> bool:
    """Whether an offline solve takes packages straight from pkgs_dirs: the classic solver of
    conda 24.3 to 25.5 (read from conda's source, reproduced on 24.3 and 24.11)."""
    return solver == "classic" and _release(conda_version) < OFFLINE_CACHE_SOLVES_UNTIL


def _release(conda_version: str) -> tuple[int, ...]:
    parts = []
    for part in conda_version.split(".")[:2]:
        digits = "".join(ch for ch in part if ch.isdigit())
        parts.append(int(digits) if digits else 0)
    return tuple(parts)


# ---------------------------------------------------------------- after the solve


def record_notices(
    link_precs: Sequence[Any], context: Any, settings: Settings, models: CondaModels
) -> tuple[Notice, ...]:
    """The post-solve check: one pass over the records to link; repodata is only looked up for
    the few that are foreign or were asked for by name."""
    from .history import spec_channel, spec_name
    from .policy import SolvedRecord, solve_notices

    args = parsed_args(context)
    typed = typed_command(_command_name(args), args)
    requested = {} if typed.removes else {spec_name(p): p for p in typed.packages}
    wanted = [
        *context.channels,
        *(c for c in (spec_channel(p) for p in typed.packages) if c),
        *(c for f in typed.env_files for c in f.channels),
    ]
    configured = frozenset(key for channel in wanted for key in models.channel_ids(channel))
    places = _Places(settings)
    records = []
    known: dict[int, bool] = {}  # records of one subdir share a Channel object: test it once
    for record in link_precs:
        channel = record.channel
        from_configured = known.get(id(channel))
        if from_configured is None:
            ids = {channel.canonical_name, channel.base_url}
            from_configured = known[id(channel)] = bool(ids & configured)
        asked = record.name in requested
        if from_configured and not asked:
            continue
        newest = models.newest_offered(record.name, requested.get(record.name), configured)
        cache_dir = _cache_dir(record)
        records.append(
            SolvedRecord(
                name=record.name,
                version=record.version,
                channel=str(channel.canonical_name or channel.base_url),
                from_configured_channel=from_configured,
                cache_dir=cache_dir,
                cache_shared=cache_dir is not None and places.shared(cache_dir),
                requested=asked,
                newer=newest if newest and models.is_older(record.version, newest) else None,
            )
        )
    own = places.own([str(d) for d in context.pkgs_dirs], _OWN_PKGS_DIR)
    return solve_notices(command=typed, records=records, own_pkgs_dir=own)


def _command_name(args: Mapping[str, Any]) -> str:
    """conda's own naming: the module of the command's function without `main_`."""
    func = str(args.get("func") or "")
    module = func.rsplit(".", 2)[-2] if func.count(".") >= 2 else str(args.get("cmd") or "install")
    return module[len("main_") :] if module.startswith("main_") else module


def _cache_dir(record: Any) -> str | None:
    extracted = getattr(record, "extracted_package_dir", None)
    return os.path.dirname(str(extracted)) if extracted else None


class _RealCondaModels:
    """CondaModels backed by the running conda; only reads what the solve already loaded."""

    def __init__(self) -> None:
        from conda.core.subdir_data import SubdirData
        from conda.models.channel import Channel
        from conda.models.match_spec import MatchSpec
        from conda.models.version import VersionOrder

        self._channel = Channel
        self._match_spec = MatchSpec
        self._version = VersionOrder
        self._subdir_data = SubdirData

    def channel_ids(self, channel: str) -> frozenset[str]:
        found = self._channel(channel)
        members = getattr(found, "channels", None) or (found,)  # a MultiChannel ("defaults")
        return frozenset(key for c in members for key in (c.canonical_name, c.base_url) if key)

    def newest_offered(self, name: str, spec: str | None, channels: frozenset[str]) -> str | None:
        """Only SubdirData that conda already loaded for this solve (the classic solver keeps
        them in SubdirData._cache_); never loads, so no network and no repodata re-read. With a
        solver that parses repodata elsewhere (libmamba) nothing is loaded here: None."""
        try:
            match = self._match_spec(spec or name)
        except ValueError:
            match = self._match_spec(name)
        best: Any = None
        for data in list(getattr(self._subdir_data, "_cache_", {}).values()):
            if not getattr(data, "_loaded", False):
                continue
            found = data.channel
            if not {found.canonical_name, found.base_url} & channels:
                continue
            for record in data.query(match):
                version = self._version(record.version)
                if best is None or version > best:
                    best = version
        return str(best) if best is not None else None

    def is_older(self, version: str, than: str) -> bool:
        return bool(self._version(version) < self._version(than))


# ---------------------------------------------------------------- doctor


def _doctor_report(context: Any) -> Any:
    from .doctor import check_root
    from .layout import discover_root

    settings = from_conda_context(context)
    root = discover_root(
        explicit=None, configured=settings.shared_root, running_prefix=Path(context.root_prefix)
    )
    return check_root(root=root)


# ---------------------------------------------------------------- telling the user


def warn(text: str) -> None:
    """One warning line on stderr."""
    print(WARNING_PREFIX + " ".join(text.split()), file=sys.stderr, flush=True)


def _tell(notices: Sequence[Notice]) -> None:
    if not notices:
        return
    for notice in notices:
        if not notice.stop:
            warn(notice.text)
    stop = next((notice for notice in notices if notice.stop), None)
    if stop is not None:
        raise PolicyError(stop.message, stop.next_step)


@contextlib.contextmanager
def _guarded(what: str) -> Iterator[None]:
    try:
        yield
    except PolicyError as error:
        raise as_conda_error(error) from None
    except SharedError as error:  # e.g. a setting with a bad value: say so, let conda go on
        warn(f"{what} were skipped: {error}")
    except Exception as error:
        log.debug("%s failed", what, exc_info=True)
        detail = " ".join(f"{type(error).__name__}: {error}".split())[:_ERROR_TEXT_LIMIT]
        warn(
            f"{what} failed and were skipped ({detail}); conda goes on. "
            "Run with --debug for the traceback"
        )


def _conda_context() -> Any:
    from conda.base.context import context

    return context


def _conda_version() -> str:
    return str(getattr(sys.modules.get("conda"), "__version__", "0"))
