"""conda's hooks for conda-shared: the entry points plugin.py calls, each inside one guard.

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
import sys
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import PolicyError, SharedError, as_conda_error
from ..settings import from_conda_context
from . import shadowing
from .command import channels_given, parsed_args, typed_command
from .frozen import frozen_refusal
from .versions import running_conda_version, url_specs_supported

if TYPE_CHECKING:
    from ..policy import Notice
    from .shadowing import CondaModels

# A child of conda's logger, so `conda ... --debug` shows our tracebacks and nothing else does.
log = logging.getLogger("conda.conda_shared")

WARNING_PREFIX = "conda-shared: warning: "
_ERROR_TEXT_LIMIT = 200


def before_command(command: str, *, context: Any = None) -> None:
    """conda_pre_commands action: the frozen-env guard, the channel policy and the shadowing
    checks."""
    with _guarded(f"the conda-shared checks before `{command}`"):
        context = context if context is not None else _conda_context()
        conda_version = running_conda_version()
        refusal = frozen_refusal(command, context, conda_version=conda_version)
        if refusal is not None:
            raise PolicyError(*refusal)
        _tell(command_notices(command, context, conda_version=conda_version))


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
            models = models or shadowing.RealCondaModels()
            _tell(shadowing.record_notices(link_precs, context, settings, models))


def health_check(prefix: str, verbose: bool, *, context: Any = None) -> None:
    """conda_health_checks action: the root-wide checks of `conda shared doctor`."""
    with _guarded("the doctor checks of conda-shared"):
        from ..doctor import report_text

        print(report_text(_doctor_report(context if context is not None else _conda_context())))


def fix_health(
    prefix: str, args: Any, confirm: Callable[[str], None], *, context: Any = None
) -> int:
    """conda doctor --fix (conda >= 26.1): take group/other write permission off shared envs.

    `confirm` raises when the user declines or under --dry-run; that must reach conda, so it
    runs outside any guard.
    """
    from ..doctor import fix_permissions

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


def command_notices(command: str, context: Any, *, conda_version: str) -> tuple[Notice, ...]:
    """Everything the pre-command hook has to say about `command` as conda parsed it."""
    settings = from_conda_context(context)
    args = parsed_args(context)
    notices: list[Notice] = []
    if channels_given(args):
        from ..policy import channel_notices

        typed = typed_command(command, args)
        notices += channel_notices(
            command=typed,
            policy=settings.channel_policy,
            configured_channels=tuple(context.channels) if typed.env_files else (),
            url_specs=url_specs_supported(conda_version),
            refused=refused_channels(typed.channels, context),
        )
    if settings.shadow_warnings:
        notices += shadowing.before_command_notices(
            command, context, settings, conda_version=conda_version
        )
    return tuple(notices)


def refused_channels(channels: Sequence[str], context: Any) -> dict[str, str]:
    """Each of `channels` that conda's denylist_channels or allowlist_channels refuses, and the
    setting that does, matched by base URL as conda matches them."""
    denied = tuple(getattr(context, "denylist_channels", ()) or ())
    allowed = tuple(getattr(context, "allowlist_channels", ()) or ())
    if not channels or not (denied or allowed):
        return {}
    from conda.models.channel import Channel

    def urls(names: Sequence[str]) -> set[str]:
        return {url for name in names for url in Channel(name).base_urls}

    denied_urls, allowed_urls = urls(denied), urls(allowed)
    refused = {}
    for channel in channels:
        own = urls((channel,))
        if own & denied_urls:
            refused[channel] = "denylist_channels"
        elif allowed_urls and not own <= allowed_urls:
            refused[channel] = "allowlist_channels"
    return refused


def _doctor_report(context: Any) -> Any:
    from ..discovery import discover_root
    from ..doctor import check_root

    settings = from_conda_context(context)
    root = discover_root(
        explicit=None, configured=settings.shared_root, running_prefix=Path(context.root_prefix)
    )
    return check_root(root=root)


def warn(text: str) -> None:
    """One warning line on stderr."""
    print(WARNING_PREFIX + " ".join(text.split()), file=sys.stderr, flush=True)


def _tell(notices: Sequence[Notice]) -> None:
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
