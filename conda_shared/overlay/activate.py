"""The variables that put overlays in front of one env's Python, and shell code to set them."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import NamedTuple

from ..errors import InputError
from .locate import OverlayDir, TargetEnv

SHIM_DIR = Path(__file__).resolve().parent / "shim"
ENV_VAR = "CONDA_SHARED_OVERLAY_ENV"
DIRS_VAR = "CONDA_SHARED_OVERLAY_DIRS"
SHELLS = ("bash", "zsh", "fish", "csh", "powershell")
DEACTIVATE = "deactivate_overlay"


class Activation(NamedTuple):  # not a dataclass: see locate.TargetEnv
    """What applying overlays adds: two variables, and entries in front of two path lists."""

    env: Path
    overlays: tuple[Path, ...]
    variables: tuple[tuple[str, str], ...]
    prepended: tuple[tuple[str, tuple[str, ...]], ...]  # (PATH, (bin dirs)), (PYTHONPATH, ...)

    def applied_to(self, environ: Mapping[str, str]) -> dict[str, str]:
        """`environ` with the overlays applied (for `run` and for pip)."""
        result = self.without_previous(environ)
        for name, entries in self.prepended:
            result[name] = os.pathsep.join([*entries, *_split(result.get(name))])
        result.update(self.variables)
        return result

    def without_previous(self, environ: Mapping[str, str]) -> dict[str, str]:
        """`environ` without what an earlier activation (of any env) added, so activating
        twice, or another env, never stacks entries."""
        earlier = _split(environ.get(DIRS_VAR))
        stale = {str(SHIM_DIR), *(os.path.join(d, "bin") for d in earlier)}
        stale.update(entry for _, entries in self.prepended for entry in entries)
        result = {k: v for k, v in environ.items() if k not in (ENV_VAR, DIRS_VAR)}
        for name, _ in self.prepended:
            if name in result:
                kept = [e for e in result[name].split(os.pathsep) if e not in stale]
                if any(kept):
                    result[name] = os.pathsep.join(kept)
                else:
                    del result[name]
        return result


def activation(env: TargetEnv, overlays: Sequence[OverlayDir | Path]) -> Activation:
    """Overlays (user's first) for `env`'s Python; the shim ignores every other Python."""
    paths = tuple(o.path if isinstance(o, OverlayDir) else o for o in overlays)
    for path in (env.prefix, *paths, SHIM_DIR):
        if os.pathsep in str(path):
            raise InputError(
                f"{path} contains {os.pathsep!r}, which separates entries of PATH and PYTHONPATH",
                "Move it (or set plugins.shared_overlays_dir) to a path without that character",
            )
    return Activation(
        env=env.prefix,
        overlays=paths,
        variables=((ENV_VAR, str(env.prefix)), (DIRS_VAR, os.pathsep.join(map(str, paths)))),
        prepended=(
            ("PATH", tuple(str(p / "bin") for p in paths)),
            ("PYTHONPATH", (str(SHIM_DIR),)),
        ),
    )


def _split(value: str | None) -> list[str]:
    return [entry for entry in (value or "").split(os.pathsep) if entry]


def shell_code(applied: Activation, *, shell: str, environ: Mapping[str, str]) -> str:
    """Code for `eval` that applies the overlays, and defines `deactivate_overlay`, which
    removes exactly the entries and variables it added (and any earlier activation first)."""
    writer = {
        "bash": _posix,
        "zsh": _posix,
        "fish": _fish,
        "csh": _csh,
        "powershell": _powershell,
    }[shell]
    return writer(applied, applied.applied_to(environ), applied.without_previous(environ))


_POSIX_STRIP = """_conda_shared_overlay_strip() {
  _cso_var=$1; shift
  eval "_cso_rest=\\"\\${$_cso_var}:\\""
  _cso_out=; _cso_first=1
  while [ -n "$_cso_rest" ]; do
    _cso_item=${_cso_rest%%:*}; _cso_rest=${_cso_rest#*:}; _cso_keep=1
    for _cso_entry in "$@"; do [ "$_cso_item" = "$_cso_entry" ] && _cso_keep=; done
    if [ -n "$_cso_keep" ]; then
      if [ -n "$_cso_first" ]; then _cso_out=$_cso_item; _cso_first=
      else _cso_out="$_cso_out:$_cso_item"; fi
    fi
  done
  if [ -n "$_cso_out" ]; then eval "export $_cso_var=\\"\\$_cso_out\\""; else unset "$_cso_var"; fi
  unset _cso_var _cso_rest _cso_out _cso_first _cso_item _cso_keep _cso_entry
}"""


def _posix(applied: Activation, new: Mapping[str, str], _old: Mapping[str, str]) -> str:
    # Entries are compared as whole strings, never used as patterns: any path is safe.
    from ..text import quoted as q

    lines = [f"command -v {DEACTIVATE} >/dev/null 2>&1 && {DEACTIVATE}", _POSIX_STRIP]
    lines += [f"export {name}={q(new[name])}" for name, _ in applied.prepended]
    lines += [f"export {name}={q(value)}" for name, value in applied.variables]
    lines += [
        f"{DEACTIVATE}() {{",
        *(
            f"  _conda_shared_overlay_strip {name} {' '.join(q(e) for e in entries)}"
            for name, entries in applied.prepended
        ),
        f"  unset {' '.join(name for name, _ in applied.variables)}",
        f"  unset -f {DEACTIVATE} _conda_shared_overlay_strip",
        "}",
    ]
    return "\n".join(lines) + "\n"


def _fish_quote(value: str) -> str:
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def _fish(applied: Activation, new: Mapping[str, str], _old: Mapping[str, str]) -> str:
    q = _fish_quote
    lines = [f"functions -q {DEACTIVATE}; and {DEACTIVATE}"]
    body = []
    for name, entries in applied.prepended:
        lines.append(f"set -gx {name} {' '.join(q(v) for v in new[name].split(os.pathsep))}")
        for entry in entries:
            body.append(
                f"    if set -l i (contains -i -- {q(entry)} ${name}); set -e {name}[$i]; end"
            )
        body.append(f"    test (count ${name}) -eq 0; and set -e {name}")
    lines += [f"set -gx {name} {q(value)}" for name, value in applied.variables]
    lines += [
        f"function {DEACTIVATE}",
        *body,
        *(f"    set -e {name}" for name, _ in applied.variables),
        f"    functions -e {DEACTIVATE}",
        "end",
    ]
    return "\n".join(lines) + "\n"


def _csh_quote(value: str) -> str:
    if "\n" in value:
        raise InputError("a path contains a newline, which csh cannot quote", "Rename it")
    return "'" + value.replace("'", "'\\''").replace("!", "\\!") + "'"


def _csh(applied: Activation, new: Mapping[str, str], old: Mapping[str, str]) -> str:
    # csh has no functions, and it expands `$VAR` even in a branch not taken, so
    # deactivate_overlay is an alias restoring the values this activation replaced, literally.
    q = _csh_quote
    lines = [f"setenv {name} {q(new[name])};" for name, _ in applied.prepended]
    lines += [f"setenv {name} {q(value)};" for name, value in applied.variables]
    restore = [
        f"setenv {name} {q(old[name])};" if name in old else f"unsetenv {name};"
        for name, _ in applied.prepended
    ]
    restore += [f"unsetenv {name};" for name, _ in applied.variables]
    restore.append(f"unalias {DEACTIVATE};")
    lines.append(f"alias {DEACTIVATE} {q(' '.join(restore))};")
    return "\n".join(lines) + "\n"


def _powershell(applied: Activation, new: Mapping[str, str], _old: Mapping[str, str]) -> str:
    def q(value: str) -> str:
        return "'" + value.replace("'", "''") + "'"

    lines = [f"if (Test-Path function:{DEACTIVATE}) {{ {DEACTIVATE} }}"]
    body = []
    for name, entries in applied.prepended:
        lines.append(f"$env:{name} = {q(new[name])}")
        drop = ", ".join(q(e) for e in entries)
        body.append(
            f"    $env:{name} = (($env:{name} -split [IO.Path]::PathSeparator) | "
            f"Where-Object {{ $_ -notin @({drop}) }}) -join [IO.Path]::PathSeparator"
        )
    lines += [f"$env:{name} = {q(value)}" for name, value in applied.variables]
    lines += [
        f"function global:{DEACTIVATE} {{",
        *body,
        *(
            f"    Remove-Item env:{name} -ErrorAction SilentlyContinue"
            for name, _ in applied.variables
        ),
        f"    Remove-Item function:{DEACTIVATE}",
        "}",
    ]
    return "\n".join(lines) + "\n"
