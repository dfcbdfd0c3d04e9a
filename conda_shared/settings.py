"""conda-shared's settings: one table, read from conda's context or, standalone, from disk."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple, Optional

if TYPE_CHECKING:
    from .errors import InputError

CHANNEL_POLICIES = ("error", "warn", "off")


# NamedTuples, not dataclasses: conda imports this module inside its settings hook, and
# creating a dataclass costs about a millisecond there. For the same reason errors.py (and
# text.py with it, ~0.65 ms) is imported only when a value is bad.
class SettingSpec(NamedTuple):
    """One `plugins.<name>` key: its type and default, and what it is for."""

    name: str
    kind: type
    default: Any
    description: str


SETTINGS: tuple[SettingSpec, ...] = (
    SettingSpec(
        "shared_root",
        str,
        "",
        "Directory of the shared conda root (holding current -> vX/). Empty: the running "
        "installation's parent if it holds a pointer to it, else the installation itself.",
    ),
    SettingSpec(
        "shared_channel_policy",
        str,
        "warn",
        "What to do when -c/--channel adds channels without --override-channels: "
        "error (stop and suggest channel::pkg), warn, or off.",
    ),
    SettingSpec(
        "shared_shadow_warnings",
        bool,
        True,
        "Warn when shared envs_dirs or pkgs_dirs may shadow what a user asked for.",
    ),
    SettingSpec(
        "shared_overlays_dir",
        str,
        "~/.conda/overlays",
        "Where users' own overlays live (admin overlays live in ROOT/overlays).",
    ),
    SettingSpec(
        "shared_slurm_options",
        str,
        "",
        "sbatch options for `replicate --executor slurm`, as on a command line "
        "(e.g. --partition=short --account=it); --slurm-option adds to them.",
    ),
    SettingSpec(
        "shared_target_virtual_packages",
        str,
        "",
        "The compute nodes' virtual packages for `replicate`, e.g. `__cuda=12.4 __glibc=2.28`: "
        "every conda call of a run gets them as CONDA_OVERRIDE_*; --virtual-package adds to them.",
    ),
    SettingSpec(
        "shared_admin_group",
        str,
        "",
        "Group that owns ROOT/requests/inbox and reads users' package requests "
        "(empty: root's group).",
    ),
    SettingSpec(
        "shared_request_notify",
        str,
        "",
        "Command run with a request's JSON on stdin when it is filed, approved or denied "
        "(split like a shell line, never run by a shell); its failure is only a warning.",
    ),
)


class Settings(NamedTuple):
    """Resolved settings, whichever way they were supplied."""

    shared_root: Optional[Path] = None
    channel_policy: str = "warn"
    shadow_warnings: bool = True
    overlays_dir: Path = Path("~/.conda/overlays")
    slurm_options: tuple[str, ...] = ()
    target_virtual_packages: tuple[str, ...] = ()  # NAME=VALUE words, checked by replicate
    admin_group: str = ""
    request_notify: tuple[str, ...] = ()


def from_values(values: Mapping[str, Any]) -> Settings:
    """Build Settings from a `plugins`-style mapping, validating each value."""
    root = str(values.get("shared_root") or "").strip()
    policy = str(values.get("shared_channel_policy") or "warn").strip().lower()
    if policy not in CHANNEL_POLICIES:
        raise _invalid(
            f"plugins.shared_channel_policy is {policy!r}, not one of "
            f"{', '.join(CHANNEL_POLICIES)}",
            "Set it to error, warn or off in your condarc (or CONDA_PLUGINS_SHARED_CHANNEL_POLICY)",
        )
    overlays = str(values.get("shared_overlays_dir") or "~/.conda/overlays")
    return Settings(
        shared_root=_path(root) if root else None,
        channel_policy=policy,
        shadow_warnings=_boolean(values.get("shared_shadow_warnings", True)),
        overlays_dir=_path(overlays),
        slurm_options=_words(str(values.get("shared_slurm_options") or ""), "slurm_options"),
        target_virtual_packages=tuple(
            str(values.get("shared_target_virtual_packages") or "").replace(",", " ").split()
        ),
        admin_group=str(values.get("shared_admin_group") or "").strip(),
        request_notify=_words(str(values.get("shared_request_notify") or ""), "request_notify"),
    )


def from_conda_context(context: Any) -> Settings:
    """Settings as conda resolved them (condarc `plugins:` maps and CONDA_PLUGINS_* vars)."""
    try:
        values = {spec.name: getattr(context.plugins, spec.name) for spec in SETTINGS}
    except AttributeError:
        # conda < 25.1: reset_context() can leave a stale cached `context.plugins`.
        with contextlib.suppress(AttributeError):
            del context.plugins
        plugins = getattr(context, "plugins", None)
        values = {spec.name: getattr(plugins, spec.name, spec.default) for spec in SETTINGS}
    return from_values(values)


def from_environment(running_prefix: Path | None) -> Settings:
    """Standalone: condarc `plugins:` maps, then CONDA_PLUGINS_* vars, then CONDA_SHARED_ROOT."""
    from .condarc import read_config, user_search_path

    values: dict[str, Any] = dict(read_config(user_search_path(running_prefix)).plugins)
    for spec in SETTINGS:
        env_value = os.environ.get(f"CONDA_PLUGINS_{spec.name.upper()}")
        if env_value is not None:
            values[spec.name] = env_value
    if os.environ.get("CONDA_SHARED_ROOT"):
        values["shared_root"] = os.environ["CONDA_SHARED_ROOT"]
    return from_values(values)


def _words(value: str, setting: str) -> tuple[str, ...]:
    import shlex

    try:
        return tuple(shlex.split(value))
    except ValueError as error:
        raise _invalid(
            f"plugins.shared_{setting} {value!r} cannot be split into words: {error}",
            "Quote it the way a shell would (e.g. --comment='two words'), in your condarc "
            f"(or CONDA_PLUGINS_SHARED_{setting.upper()})",
        ) from None


def _path(value: str) -> Path:
    return Path(os.path.expanduser(os.path.expandvars(value)))  # unchanged without a home


def _boolean(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("1", "true", "yes", "on"):
        return True
    if text in ("0", "false", "no", "off", ""):
        return False
    raise _invalid(
        f"plugins.shared_shadow_warnings is {value!r}, not true or false",
        "Set it to true or false in your condarc (or CONDA_PLUGINS_SHARED_SHADOW_WARNINGS)",
    )


def _invalid(message: str, next_step: str) -> InputError:
    from .errors import InputError

    return InputError(message, next_step)
