"""`pip check`'s test of installed distributions' requirements, without pip: the lines it prints.

The smoke test lists an env's distributions in the env's own Python (with importlib.metadata,
in the process that also tries the imports); this module judges that list the way pip does:
a requirement whose marker holds must be installed, and an installed one must match its
version specifier (pre-releases allowed). `packaging` comes with conda, which runs us.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from ..prefix import normalize_name


@dataclass(frozen=True)
class InstalledDist:
    """One distribution as the env's Python sees it: its Requires-Dist lines unparsed."""

    name: str
    version: str
    requires: tuple[str, ...]


def broken_requirements(
    dists: Sequence[InstalledDist], markers: Mapping[str, str]
) -> tuple[str, ...]:
    """pip check's complaints about `dists`, in pip's words; `markers` is the env's PEP 508
    marker environment. The first distribution of a name wins, as on sys.path."""
    from packaging.requirements import InvalidRequirement, Requirement

    installed: dict[str, InstalledDist] = {}
    for dist in dists:
        installed.setdefault(normalize_name(dist.name), dist)
    missing: list[str] = []
    conflicting: list[str] = []
    environment = {**markers, "extra": ""}
    for name, dist in sorted(installed.items()):
        shown = _normalized(dist.version)
        for line in dist.requires:
            try:
                requirement = Requirement(line)
            except InvalidRequirement as error:
                conflicting.append(f"{name} {shown} has an invalid requirement {line!r}: {error}")
                continue
            if requirement.marker is not None and not requirement.marker.evaluate(environment):
                continue
            wanted = normalize_name(requirement.name)
            found = installed.get(wanted)
            if found is None:
                missing.append(f"{name} {shown} requires {wanted}, which is not installed.")
            elif not requirement.specifier.contains(found.version, prereleases=True):
                conflicting.append(
                    f"{name} {shown} has requirement {requirement}, "
                    f"but you have {wanted} {_normalized(found.version)}."
                )
    return tuple(missing + conflicting)


def _normalized(version: str) -> str:
    """A version as pip prints it (`1.0.0-RC1` as `1.0.0rc1`); one it cannot parse as it is."""
    from packaging.version import InvalidVersion, Version

    try:
        return str(Version(version))
    except InvalidVersion:
        return version
