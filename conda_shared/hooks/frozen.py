"""CEP 22's conda-meta/frozen enforced before the command on condas that do not enforce it (< 25.5).

A few stat calls: the target prefix is found the way conda's `-n`/`-p` lookup finds it, without
conda's own lookup (which may create an envs directory); the marker is read only when it exists.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from typing import Any

from .command import parsed_args
from .versions import frozen_enforced_by_conda

#: the escape, an environment variable: conda < 25.5 cannot parse `--override-frozen`
OVERRIDE_VARIABLE = "CONDA_SHARED_OVERRIDE_FROZEN"
#: conda's pre-command names of the commands that change an existing env (24.3-25.4)
CHANGING_COMMANDS = frozenset({"install", "update", "remove", "env_update", "env_remove"})
FROZEN_FILE = os.path.join("conda-meta", "frozen")
_RESERVED_NAMES = ("base", "root")
_MESSAGE_LIMIT = 2000


def frozen_refusal(command: str, context: Any, *, conda_version: str) -> tuple[str, str] | None:
    """(message, next step) when `command` would change a frozen env that this conda lets
    through; None otherwise."""
    if command not in CHANGING_COMMANDS or frozen_enforced_by_conda(conda_version):
        return None
    if os.environ.get(OVERRIDE_VARIABLE) == "1":
        return None
    prefix = target_prefix(parsed_args(context), context)
    if prefix is None:
        return None
    marker = os.path.join(prefix, FROZEN_FILE)
    if not os.path.isfile(marker):
        return None
    reason = frozen_reason(marker)
    message = f"Cannot modify '{prefix}': the environment is marked as frozen"
    if reason:
        message += f". Reason: {' '.join(reason.split())}"
    return message, (
        f"To bypass this protection at your own risk, run the command again with "
        f"{OVERRIDE_VARIABLE}=1 set"
    )


def frozen_reason(marker: str) -> str:
    """The `message` of a CEP 22 marker; "" when it is empty, unreadable or not that JSON."""
    try:
        with open(marker, "rb") as stream:
            data = json.loads(stream.read(_MESSAGE_LIMIT * 4) or b"{}")
    except (OSError, ValueError):
        return ""
    message = data.get("message") if isinstance(data, dict) else None
    return str(message)[:_MESSAGE_LIMIT] if message else ""


def target_prefix(args: Mapping[str, Any], context: Any) -> str | None:
    """The env `args` name: -p, else the first envs dir holding -n's name (conda's order),
    else the active env; None when -n names nothing that exists."""
    prefix = args.get("prefix")
    if prefix:
        return os.path.abspath(os.path.expanduser(str(prefix)))
    name = args.get("name")
    if name in _RESERVED_NAMES:
        return str(context.root_prefix)
    if name:
        for envs_dir in context.envs_dirs:
            candidate = os.path.join(str(envs_dir), str(name))
            if os.path.isdir(candidate):
                return candidate
        return None
    active = getattr(context, "default_prefix", None)
    return str(active) if active else None
