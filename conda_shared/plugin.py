"""conda plugin hooks for conda-shared: registration only; the work lives elsewhere, loaded lazily.

conda imports this module for every command, so it imports nothing but conda's plugin types.
"""

from __future__ import annotations

from collections.abc import Iterable

from conda.plugins import hookimpl
from conda.plugins.types import CondaSetting, CondaSubcommand


def _run_shared(argv: tuple[str, ...]) -> int:
    # No configure_parser: conda passes our raw arguments ("greedy" subcommand), so the
    # parser is built only when `conda shared` runs, never for other conda commands.
    from .cli import main_in_conda

    return main_in_conda(argv)


@hookimpl
def conda_subcommands() -> Iterable[CondaSubcommand]:
    yield CondaSubcommand(
        name="shared",
        summary="Manage shared, multi-user conda installations (conda-shared).",
        action=_run_shared,
    )


@hookimpl
def conda_settings() -> Iterable[CondaSetting]:
    from conda.common.configuration import PrimitiveParameter

    from .settings import SETTINGS

    for spec in SETTINGS:
        yield CondaSetting(
            name=spec.name,
            description=spec.description,
            parameter=PrimitiveParameter(spec.default, element_type=spec.kind),
        )
