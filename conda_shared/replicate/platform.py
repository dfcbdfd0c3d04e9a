"""The compute nodes' virtual packages: --virtual-package values, CONDA_OVERRIDE_*, env checks."""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ..errors import InputError
from ..specs.platform import VirtualNeed

#: The virtual packages conda (24.11 to 26.x) lets CONDA_OVERRIDE_<NAME> set, and which part
#: of the package the value gives.
OVERRIDABLE = {"__cuda": "version", "__glibc": "version", "__osx": "version", "__linux": "version"}
OVERRIDABLE |= {"__archspec": "build"}
_VALUE = re.compile(r"^[A-Za-z0-9_.+-]*$")
_CONSTRAINT = re.compile(r"^(>=|<=|==|!=|~=|>|<|=)?\s*(\S+)$")
_PART = re.compile(r"\d+|[A-Za-z]+")
_EXACT_BUILD = re.compile(r"^=?([^=<>!~,|]+)=([^=<>!~,|]+)$")
_BRACKET_FIELD = re.compile(r"(\w+)\s*=\s*['\"]?([^'\"\]]+?)['\"]?(?=,\s*\w+\s*=|$)")


@dataclass(frozen=True)
class VirtualPackage:
    """One virtual package of the target as its conda reports it (`__cuda`, `12.4`, `0`)."""

    name: str
    version: str
    build: str


@dataclass(frozen=True)
class TargetPlatform:
    """What the run tells the target's conda (`overrides`, name -> value; an empty value
    means "absent") and the virtual packages that conda then reports."""

    overrides: tuple[tuple[str, str], ...]
    virtual_packages: tuple[VirtualPackage, ...]

    def describe(self) -> str:
        """`__cuda=12.0 (overridden), __glibc=2.36, ...`."""
        given = dict(self.overrides)
        words = [
            f"{p.name}={p.build if OVERRIDABLE.get(p.name) == 'build' else p.version}"
            + (" (overridden)" if p.name in given else "")
            for p in self.virtual_packages
        ]
        words += [f"{name} absent (overridden)" for name, v in self.overrides if not v]
        return ", ".join(words) or "none"


@dataclass(frozen=True)
class Mismatch:
    """Why the target cannot hold an env's builds: the needs it misses, and the option that
    describes nodes that would."""

    needs: tuple[VirtualNeed, ...]
    option: tuple[str, ...]  # --virtual-package __cuda=11.8 ...

    @property
    def packages(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(need.package for need in self.needs))

    def message(self, target: TargetPlatform) -> str:
        have = {p.name: p for p in target.virtual_packages}
        parts = []
        for need in self.needs:
            found = have.get(need.name)
            where = f"{need.name} {found.version} {found.build}" if found else "no " + need.name
            parts.append(f"{need.package} {need.relation} {need.spec} and the target has {where}")
        fix = " ".join(self.option)
        return (
            "; ".join(parts) + f": if the compute nodes have it, describe them with {fix}"
            if self.option
            else "; ".join(parts)
        )


#: a run that says nothing about virtual packages (a plan written before they were recorded)
NO_PLATFORM = TargetPlatform((), ())


def parse_overrides(values: Iterable[str], *, origin: str) -> tuple[tuple[str, str], ...]:
    """`__cuda=12.4` values (`__cuda=` for "absent"), later ones winning; a bad one is an
    InputError naming `origin` (the option or setting it came from)."""
    found: dict[str, str] = {}
    for value in values:
        name, sep, setting = value.strip().partition("=")
        name = name.strip().lower()
        if not sep or name not in OVERRIDABLE:
            raise InputError(
                f"{origin} {value!r} is not NAME=VALUE for a virtual package conda lets us set",
                f"Give one of {', '.join(sorted(OVERRIDABLE))} with a value, e.g. __cuda=12.4 "
                "(__cuda= for nodes without a GPU)",
            )
        setting = setting.strip()
        if not _VALUE.match(setting):
            raise InputError(
                f"{origin} {value!r}: {setting!r} is not a version or build conda reads",
                f"Give letters, digits and . _ + - only, e.g. {name}=12.4",
            )
        found[name] = setting
    return tuple(sorted(found.items()))


def override_variables(overrides: Sequence[tuple[str, str]]) -> dict[str, str]:
    """CONDA_OVERRIDE_CUDA=12.4 ... for each override (an empty value hides the package)."""
    return {f"CONDA_OVERRIDE_{name[2:].upper()}": value for name, value in overrides}


def reported_packages(info: Mapping[str, Any]) -> tuple[VirtualPackage, ...]:
    """The `virtual_pkgs` of `conda info --json`, as conda reports them."""
    found = []
    for item in info.get("virtual_pkgs") or ():
        if isinstance(item, list) and len(item) == 3:
            found.append(VirtualPackage(*(str(part) for part in item)))
    return tuple(found)


def platform_to_json(target: TargetPlatform) -> dict[str, Any]:
    return {
        "overrides": dict(target.overrides),
        "target": [[p.name, p.version, p.build] for p in target.virtual_packages],
    }


def platform_from_json(data: Mapping[str, Any] | None) -> TargetPlatform:
    """The inverse of platform_to_json; a plan written before it was recorded has nothing."""
    data = data or {}
    overrides = tuple(sorted((str(k), str(v)) for k, v in (data.get("overrides") or {}).items()))
    listed = tuple(VirtualPackage(*(str(part) for part in item)) for item in data.get("target", ()))
    return TargetPlatform(overrides, listed)


def mismatch(needs: Sequence[VirtualNeed], target: TargetPlatform) -> Mismatch | None:
    """The needs the target's virtual packages do not meet, or None when it meets them all.

    A constraint this cannot read counts as met: the target's conda decides.
    """
    have = {p.name: p for p in target.virtual_packages}
    missed = tuple(need for need in needs if not _met(need, have.get(need.name)))
    if not missed:
        return None
    option: list[str] = []
    for name in dict.fromkeys(need.name for need in missed):
        if name in OVERRIDABLE:
            wanted = [n for n in missed if n.name == name]
            value = next((v for v in (_fitting(n) for n in wanted) if v), "VERSION")
            option += ["--virtual-package", f"{name}={value}"]
    return Mismatch(missed, tuple(option))


def _met(need: VirtualNeed, found: VirtualPackage | None) -> bool:
    if found is None:
        return need.relation == "constrains"
    version, build = _version_and_build(need.spec)
    if build and not fnmatch.fnmatchcase(found.build, build):
        return False
    return version is None or _version_matches(found.version, version) is not False


def _version_and_build(spec: str) -> tuple[str | None, str | None]:
    """(version constraint, build) of `__cuda >=11.8`, `__glibc>=2.17`, `__archspec 1 x86_64_v3`
    or `__cuda[version='>=12']`."""
    body = spec.strip()
    bracket = re.search(r"\[(.*)\]$", body)
    if bracket:
        fields = dict(_BRACKET_FIELD.findall(bracket.group(1)))
        return fields.get("version"), fields.get("build")
    rest = re.sub(r"^__[\w-]+", "", body).strip()
    words = rest.split()
    exact = _EXACT_BUILD.match(words[0]) if len(words) == 1 else None
    if exact:  # `=1=x86_64_v3`, `1=*v3`
        return exact.group(1), exact.group(2)
    return (words[0] if words else None), (words[1] if len(words) > 1 else None)


def _version_matches(version: str, constraint: str) -> bool | None:
    """Whether `version` meets `>=2.17,<3.0a0` (`,` and, `|` or); None when unreadable."""
    results = []
    for alternative in constraint.split("|"):
        met: bool | None = True
        for part in alternative.split(","):
            found = _CONSTRAINT.match(part.strip())
            if found is None:
                return None
            operator, wanted = found.group(1) or "==", found.group(2)
            if wanted.endswith(".*") or wanted == "*" or operator == "=":
                prefix = _key(wanted.rstrip("*").rstrip("."))
                met = met and (not prefix or _key(version)[: len(prefix)] == prefix)
                continue
            difference = _compare(_key(version), _key(wanted))
            met = (
                met
                and {
                    ">=": difference >= 0,
                    "<=": difference <= 0,
                    ">": difference > 0,
                    "<": difference < 0,
                    "==": difference == 0,
                    "!=": difference != 0,
                    "~=": difference >= 0,
                }[operator]
            )
        results.append(met)
    return any(results)


def _key(version: str) -> list[int | str]:
    return [int(p) if p.isdigit() else p.lower() for p in _PART.findall(version)]


def _compare(left: list[int | str], right: list[int | str]) -> int:
    """conda's order, near enough for virtual packages: numbers above words (`3.0a0` < `3.0`),
    missing parts as 0."""
    for index in range(max(len(left), len(right))):
        a = left[index] if index < len(left) else 0
        b = right[index] if index < len(right) else 0
        if a == b:
            continue
        if isinstance(a, int) and isinstance(b, int):
            return -1 if a < b else 1
        if isinstance(a, str) and isinstance(b, str):
            return -1 if a < b else 1
        return 1 if isinstance(a, int) else -1
    return 0


def _fitting(need: VirtualNeed) -> str | None:
    """An override value that meets `need`: its build (`__archspec`), or the lowest version a
    `>=11.8` (or `==12.0`, `12.*`) constraint accepts; None when the spec does not say."""
    version, build = _version_and_build(need.spec)
    if OVERRIDABLE.get(need.name) == "build":
        return build if build and not any(c in build for c in "*?[") else None
    found = re.search(r"(?:^|[,|])\s*(?:>=|==|=)?\s*(\d[\w.]*?)(?:\.\*)?(?:,|\||$)", version or "")
    return found.group(1) if found else None
