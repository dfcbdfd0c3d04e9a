"""The command the user typed, rebuilt from conda's parsed arguments, so a hint can be pasted.

Not from sys.argv: conda can be called in-process with other arguments. Every option of the
policed commands of conda 24.3 to 26.7 is rebuilt (tests/tier2/test_typed_command_in_conda.py
checks the table against conda's own parser), so a suggested command does what the typed one
did, minus what the suggestion changes on purpose.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ..policy import TypedCommand

ENV_FILE_SUFFIXES = (".yml", ".yaml")

#: conda's pre-command names (24.3-26.7) for commands typed as two words
_TWO_WORDS = {
    "env_create": ("env", "create"),
    "env_update": ("env", "update"),
    "env_remove": ("env", "remove"),
}

#: (parsed-argument dest, value, option): a flag whose parsed value stands for one option.
#: Enum values (update_modifier, deps_modifier) compare by their `.value`.
_FLAGS: tuple[tuple[str, object, str], ...] = (
    ("yes", True, "-y"),
    ("dry_run", True, "--dry-run"),
    ("quiet", True, "-q"),
    ("json", True, "--json"),
    ("debug", True, "--debug"),
    ("trace", True, "--trace"),
    ("offline", True, "--offline"),
    ("use_local", True, "--use-local"),
    ("use_index_cache", True, "--use-index-cache"),
    ("ssl_verify", False, "--insecure"),
    ("protect_frozen_envs", False, "--override-frozen"),
    ("no_lock", True, "--no-lock"),
    ("repodata_use_zst", True, "--repodata-use-zst"),
    ("repodata_use_zst", False, "--no-repodata-use-zst"),
    ("repodata_use_shards", True, "--repodata-use-shards"),
    ("repodata_use_shards", False, "--no-repodata-use-shards"),
    ("download_only", True, "--download-only"),
    ("force_reinstall", True, "--force-reinstall"),
    ("force_pscheck", True, "--force-pscheck"),
    ("ignore_pinned", True, "--no-pin"),
    ("copy", True, "--copy"),
    ("clobber", True, "--clobber"),
    ("shortcuts", True, "--shortcuts"),
    ("shortcuts", False, "--no-shortcuts"),
    ("mkdir", True, "--mkdir"),
    ("no_default_packages", True, "--no-default-packages"),
    ("prune", True, "--prune"),
    ("all", True, "--all"),
    ("force", True, "--force"),
    ("force_remove", True, "--force-remove"),
    ("features", True, "--features"),
    ("keep_env", True, "--keep-env"),
    ("unknown", True, "--unknown"),
    ("show_channel_urls", True, "--show-channel-urls"),
    ("show_channel_urls", False, "--no-show-channel-urls"),
    ("channel_priority", True, "--channel-priority"),
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
#: (dest, option) of options that carry a value; a list value repeats the option
_VALUED: tuple[tuple[str, str], ...] = (
    ("solver", "--solver"),
    ("subdir", "--subdir"),
    ("repodata_fns", "--repodata-fn"),
    ("experimental", "--experimental"),
    ("shortcuts_only", "--shortcuts-only"),
    ("environment_specifier", "--environment-specifier"),  # --format is 26.x only
    ("console", "--console"),
    ("revision", "--revision"),
    ("clone", "--clone"),
)
#: (dest, option) of options that count how often they were given
_COUNTED: tuple[tuple[str, str], ...] = (("verbosity", "-v"), ("dev", "--dev"))
#: `conda env remove` runs `conda remove` (24.9+) with force=True among its defaults; typed
#: after `conda remove`, --force would mean --force-remove
_NOT_FOR_REMOVE = frozenset({"force"})
#: `conda env create URL` (conda < 25.9): an environment definition on anaconda.org
_REMOTE_DEFINITION = "remote_definition"


def parsed_args(context: Any) -> Mapping[str, Any]:
    """conda's parsed arguments (NULL-valued ones already dropped by conda)."""
    return getattr(context, "_argparse_args", None) or {}


def command_name(args: Mapping[str, Any], default: str) -> str:
    """conda's own name of the command: the module of its function without `main_`, as the
    pre-command hook is told (so `conda env remove` is "remove" from conda 24.9)."""
    func = str(args.get("func") or "")
    if func.count(".") < 2:
        return default
    module = func.rsplit(".", 2)[-2]
    return module[len("main_") :] if module.startswith("main_") else module


def channels_given(args: Mapping[str, Any]) -> bool:
    """-c without --override-channels, or an environment file (which may list channels)."""
    if args.get("channel") and not args.get("override_channels"):
        return True
    return any(_is_env_file(f) for f in _files(args))


def typed_command(command: str, args: Mapping[str, Any]) -> TypedCommand:
    """Rebuild what the user typed from conda's parsed arguments."""
    from ..policy import EnvFile, TypedCommand

    words = _TWO_WORDS.get(command, (command,))
    removes = words[-1] == "remove"
    packages = args.get("package_names" if removes else "packages") or ()
    files = tuple(str(f) for f in _files(args))
    remote = args.get(_REMOTE_DEFINITION)
    return TypedCommand(
        words=words,
        packages=tuple(str(p) for p in packages),
        channels=tuple(_absolute_channel(str(c)) for c in args.get("channel") or ()),
        override_channels=bool(args.get("override_channels")),
        name=args.get("name") or None,
        prefix=args.get("prefix") or None,
        options=_options(args, removes=removes),
        files=files,
        env_files=tuple(EnvFile(f, _env_file_channels(Path(f))) for f in files if _is_env_file(f)),
        positionals=(str(remote),) if remote else (),
    )


def _files(args: Mapping[str, Any]) -> tuple[Any, ...]:
    files = args.get("file") or ()
    return (files,) if isinstance(files, str) else tuple(files)


def _is_env_file(path: object) -> bool:
    return str(path).endswith(ENV_FILE_SUFFIXES)


def _absolute_channel(channel: str) -> str:
    """A path given to -c becomes absolute, so the rewrite works from any directory."""
    if "://" in channel or not channel.startswith((".", "~", os.sep)):
        return channel
    return str(Path(channel).expanduser().absolute())


def _options(args: Mapping[str, Any], *, removes: bool) -> tuple[str, ...]:
    tokens: list[str] = []
    for dest, value, option in _FLAGS:
        given = args.get(dest)
        if removes and dest in _NOT_FOR_REMOVE:
            continue
        if given is not None and getattr(given, "value", given) == value and option not in tokens:
            tokens.append(option)
    for dest, option in _COUNTED:
        count = args.get(dest)
        if isinstance(count, int) and not isinstance(count, bool):
            tokens += [option] * count
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
