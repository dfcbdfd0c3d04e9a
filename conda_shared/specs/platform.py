"""An env's platform needs: the virtual packages its records ask for, the build variants it uses."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

from ..history import spec_name
from ..prefix import PackageRecord

#: Words in a build string that name a variant a solver may trade for another: a GPU build for
#: a CPU one, one BLAS or MPI for another. The first one in the build string is its variant.
VARIANT_WORDS = ("cuda", "rocm", "gpu", "cpu", "mkl", "openblas", "blis", "mpich", "openmpi")
_VARIANT = re.compile("|".join(sorted(VARIANT_WORDS, key=len, reverse=True)))


@dataclass(frozen=True)
class VirtualNeed:
    """One record's requirement on a virtual package (`__cuda >=11.8`).

    `depends`: the package is installable only where the virtual package exists and matches;
    `constrains`: only where it is absent or matches.
    """

    name: str  # __cuda
    spec: str  # __cuda >=11.8
    package: str  # the record that asks
    relation: str  # depends | constrains


@dataclass(frozen=True)
class Variant:
    """A package whose build string names a variant (`pytorch` built `cuda118py311h0_0`)."""

    package: str
    build: str
    variant: str  # one of VARIANT_WORDS


def build_variant(build: str) -> str | None:
    """The variant word a build string names first, or None."""
    found = _VARIANT.search(build.lower())
    return found.group(0) if found else None


def virtual_needs(records: Iterable[PackageRecord]) -> tuple[VirtualNeed, ...]:
    """Every `__*` entry of the records' depends and constrains, in record order."""
    needs = []
    for record in records:
        for relation, specs in (("depends", record.depends), ("constrains", record.constrains)):
            for spec in specs:
                name = spec_name(spec)
                if name.startswith("__"):
                    needs.append(VirtualNeed(name, spec.strip(), record.name, relation))
    return tuple(needs)


def variants(records: Iterable[PackageRecord]) -> tuple[Variant, ...]:
    """The records whose build string names a variant."""
    found = ((r, build_variant(r.build)) for r in records)
    return tuple(Variant(r.name, r.build, word) for r, word in found if word)


def needs_to_json(needs: Sequence[VirtualNeed]) -> list[dict[str, str]]:
    return [asdict(need) for need in needs]


def variants_to_json(found: Sequence[Variant]) -> list[dict[str, str]]:
    return [asdict(variant) for variant in found]


def needs_from_manifest(manifest: Mapping[str, Any]) -> tuple[VirtualNeed, ...]:
    """The manifest's `virtual_packages`; a manifest exported before they were listed has none."""
    return tuple(VirtualNeed(**item) for item in manifest.get("virtual_packages") or ())


def variants_from_manifest(manifest: Mapping[str, Any]) -> dict[str, str]:
    """{package name: variant word} of the manifest's `variants`."""
    return {str(v["package"]).lower(): str(v["variant"]) for v in manifest.get("variants") or ()}
