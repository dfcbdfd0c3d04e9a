"""The shadowing facts: which envs_dirs, pkgs_dirs and solved records are shared, for policy.py.

A few stat calls per path asked about, never a listing of a shared tree; policy.py (and its
dataclasses, ~0.5 ms to build) is imported only once something shared is in play.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

from ..settings import Settings
from .command import command_name, parsed_args, typed_command
from .versions import offline_cache_joins_solve

if TYPE_CHECKING:
    from typing import Protocol

    from ..policy import Notice, TypedCommand

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


_RESERVED_NAMES = ("base", "root")
_OWN_ENVS_DIR = "~/.conda/envs"
_OWN_PKGS_DIR = "~/.conda/pkgs"


class Places:
    """Is a path shared (inside the shared root, or not writable by this user)?"""

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


def before_command_notices(
    command: str, context: Any, settings: Settings, *, conda_version: str
) -> tuple[Notice, ...]:
    """Before the solve: `-n NAME` landing on a shared or ambiguous env, and shared caches or
    local builds that can win over the channels (`command` as conda's pre-command names it)."""
    places = Places(settings)
    return (
        *_name_notices(command, context, places),
        *_cache_notices(command, context, places, conda_version=conda_version),
    )


def _typed(command: str, context: Any) -> TypedCommand:
    return typed_command(command, parsed_args(context))


def _name_notices(command: str, context: Any, places: Places) -> tuple[Notice, ...]:
    args = parsed_args(context)
    name = args.get("name")
    if not name or args.get("prefix") or name in _RESERVED_NAMES:
        return ()
    envs_dirs = [str(d) for d in context.envs_dirs]
    # conda's locate_prefix_by_name: the first envs dir holding a NAME directory wins
    found = [(d, os.path.join(d, name)) for d in envs_dirs if os.path.isdir(os.path.join(d, name))]
    shared = [places.shared(envs_dir) for envs_dir, _ in found]
    if len(found) < 2 and not any(shared):
        return ()  # nothing shared, nothing ambiguous: nothing for the policy to weigh
    from ..policy import EnvsDirHit, name_notices

    hits = [
        EnvsDirHit(prefix, envs_dir, shared=is_shared, writable=writable(prefix))
        for (envs_dir, prefix), is_shared in zip(found, shared, strict=True)
    ]
    own = places.own(envs_dirs, _OWN_ENVS_DIR)
    return name_notices(command=_typed(command, context), hits=hits, own_envs_dir=own)


def _cache_notices(
    command: str, context: Any, places: Places, *, conda_version: str
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
    from ..policy import cache_notices

    return cache_notices(
        command=_typed(command, context),
        offline=offline,
        shared_pkgs_dirs=shared_pkgs,
        own_pkgs_dir=places.own(pkgs_dirs, _OWN_PKGS_DIR),
        use_local=use_local,
        shared_build_dirs=shared_builds,
    )


def record_notices(
    link_precs: Sequence[Any], context: Any, settings: Settings, models: CondaModels
) -> tuple[Notice, ...]:
    """The post-solve check: one pass over the records to link; repodata is only looked up for
    the few that are foreign or were asked for by name."""
    from ..history import spec_channel, spec_name
    from ..policy import SolvedRecord, solve_notices

    args = parsed_args(context)
    typed = typed_command(command_name(args, "install"), args)
    requested = {} if typed.removes else {spec_name(p): p for p in typed.packages}
    wanted = [
        *context.channels,
        *(c for c in (spec_channel(p) for p in typed.packages) if c),
        *(c for f in typed.env_files for c in f.channels),
    ]
    configured = frozenset(key for channel in wanted for key in models.channel_ids(channel))
    places = Places(settings)
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
                spec=requested.get(record.name),
                newer=newest if newest and models.is_older(record.version, newest) else None,
            )
        )
    own = places.own([str(d) for d in context.pkgs_dirs], _OWN_PKGS_DIR)
    return solve_notices(command=typed, records=records, own_pkgs_dir=own)


def _cache_dir(record: Any) -> str | None:
    extracted = getattr(record, "extracted_package_dir", None)
    return os.path.dirname(str(extracted)) if extracted else None


class RealCondaModels:
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
