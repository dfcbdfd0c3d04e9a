"""The specs a change names, checked before anything is solved: MatchSpecs, channels, text."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from ..errors import InputError, PolicyError
from ..history import spec_channel, spec_name
from ..hooks.versions import url_specs_supported
from ..installation import package_version
from ..policy import spec_channel_for
from ..text import control_character


def check_add_specs(inst: Path, specs: Sequence[str]) -> None:
    """Each spec parses as a MatchSpec and names its channel the way this installation's conda
    reads it (a URL before `::` only on conda 26.7+; older ones need it configured first)."""
    version = package_version(inst, "conda") or "0"
    url_specs = url_specs_supported(version)
    for spec in specs:
        check_text("--add", spec)
        problem = match_spec_problem(spec)
        if problem is not None:
            raise InputError(
                f"--add {spec!r} is not a package spec: {problem}",
                "Write it as conda does, e.g. numpy, 'numpy>=1.26' or conda-forge::numpy",
            )
        channel = spec_channel(spec)
        if channel is None:
            continue
        named = spec_channel_for(channel, url_specs=url_specs)
        if named.setup is not None:
            raise PolicyError(
                f"--add {spec!r}: the conda of {inst} ({version}) cannot read a URL before "
                f"'::'; name that channel instead ({named.token}::{spec_name(spec)}), "
                f"once configured with: {named.setup}",
                "Configure the channel in the installation's condarc, or name one it has",
            )


def match_spec_problem(spec: str) -> str | None:
    """Why conda's MatchSpec refuses `spec`, or None (conda is loaded only to parse specs)."""
    try:
        from conda.models.match_spec import MatchSpec
    except ImportError:
        return None if spec_name(spec) else "it names no package"
    try:
        MatchSpec(spec)
    except Exception as error:  # conda raises several types for a bad spec
        return str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
    return None


def check_text(option: str, value: str) -> None:
    """A value typed for `option` holds no control character (it is shown and recorded)."""
    bad = control_character(value)
    if bad is not None:
        raise InputError(f"{option} holds the control character {bad}", f"Type {option} without it")
