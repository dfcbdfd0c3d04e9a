"""conda plugin hooks for conda-shared: registration only; the work lives elsewhere, loaded lazily.

conda imports this module for every command, so it imports nothing but conda's plugin types.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from conda.plugins import hookimpl
from conda.plugins.types import (
    CondaHealthCheck,
    CondaPostSolve,
    CondaPreCommand,
    CondaSetting,
    CondaSubcommand,
)

#: conda's names (24.3-26.7) for the commands that solve into, create or remove an environment:
#: `env create` is "create" from 26.7, `env remove` is "remove" from 24.9.
POLICED_COMMANDS = frozenset(
    {"install", "create", "update", "remove", "env_create", "env_update", "env_remove"}
)


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


def _before_command(command: str) -> None:
    from .hooks import before_command

    before_command(command)


def _after_solve(repodata_fn: str, unlink_precs: Any, link_precs: Any) -> None:
    from .hooks import after_solve

    after_solve(repodata_fn, unlink_precs, link_precs)


def _health_check(prefix: str, verbose: bool) -> None:
    from .hooks import health_check

    health_check(prefix, verbose)


def _fix_health(prefix: str, args: Any, confirm: Callable[[str], None]) -> int:
    from .hooks import fix_health

    return fix_health(prefix, args, confirm)


def _exporter(level: str) -> Callable[[Any], str]:
    def export(env: Any) -> str:
        from .hooks.exporters import exported_text

        return exported_text(env, level=level)

    return export


def _fields(plugin_type: type) -> frozenset[str]:
    # NamedTuple up to conda 25.5, dataclass from 25.7.
    fields: Any = getattr(plugin_type, "__dataclass_fields__", None)
    return frozenset(str(field) for field in fields or getattr(plugin_type, "_fields", ()))


@hookimpl
def conda_pre_commands() -> Iterable[CondaPreCommand]:
    yield CondaPreCommand(
        name="conda-shared-policy", action=_before_command, run_for=set(POLICED_COMMANDS)
    )


@hookimpl
def conda_post_solves() -> Iterable[CondaPostSolve]:
    yield CondaPostSolve(name="conda-shared-shadowing", action=_after_solve)


@hookimpl
def conda_health_checks() -> Iterable[CondaHealthCheck]:
    fixer: dict[str, Any] = {}
    if "fixer" in _fields(CondaHealthCheck):  # conda >= 26.1
        fixer = {
            "fixer": _fix_health,
            "summary": "Shared root: env permissions, pointers, kernels, policy config",
            "fix": "Remove group/other write permission from shared environments",
        }
    yield CondaHealthCheck(name="conda-shared", action=_health_check, **fixer)


@hookimpl
def conda_environment_exporters() -> Iterable[Any]:
    # conda >= 25.7 only (older conda never calls it); the names and file patterns must clash
    # with none of conda's or conda-lockfiles', or conda refuses to load any exporter.
    from conda.plugins import types

    exporter: Any = types.CondaEnvironmentExporter
    kind: dict[str, Any] = {}
    if "environment_format" in _fields(exporter):  # conda >= 26.3
        kind = {"environment_format": types.EnvironmentFormat.environment}
    yield exporter(
        name="conda-shared-manifest",
        aliases=("shared-manifest",),
        default_filenames=("*.conda-shared.json",),
        export=_exporter("manifest"),
        description="conda-shared's manifest: every package with provenance, risks, content key",
        **kind,
    )
    yield exporter(
        name="conda-shared-history",
        aliases=("shared-history",),
        default_filenames=("*.history.yml", "*.history.yaml"),
        export=_exporter("loose"),
        description="What users asked for (conda history) plus their pip packages",
        **kind,
    )
