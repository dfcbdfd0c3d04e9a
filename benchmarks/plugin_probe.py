"""In one fresh interpreter, measure what conda-shared's plugin costs conda; print one JSON line.

usage: python plugin_probe.py [--memory] [--parser-rounds N]

Timings (default): the import of conda_shared.plugin, the first call of each of its hookimpls,
and conda's parser construction with the plugin registered and not, alternated in-process.
--memory: tracemalloc over the import and the first hook calls instead (tracing slows
everything down, so it never runs together with the timings).

The caller runs this many times and takes medians; only the standard library is imported
here, so the probe itself changes nothing about what the plugin finds already imported.
"""

from __future__ import annotations

import gc
import importlib
import inspect
import json
import sys
import time
import tracemalloc
from collections.abc import Callable, Iterator
from types import ModuleType
from typing import Any

PLUGIN_MODULE = "conda_shared.plugin"
#: pluggy marks a hookimpl of project "conda" with this attribute
HOOKIMPL_MARK = "conda_impl"


def import_what_conda_has_imported() -> None:
    """Everything conda imports before it loads plugin entry points on any command."""
    importlib.import_module("conda.base.context")
    importlib.import_module("conda.cli.conda_argparse")
    importlib.import_module("conda.plugins.manager")


def hookimpls(plugin: ModuleType) -> Iterator[tuple[str, Callable[..., Any]]]:
    for name, value in sorted(vars(plugin).items()):
        if callable(value) and hasattr(value, HOOKIMPL_MARK):
            yield name, value


def hook_arguments(hook: Callable[..., Any]) -> dict[str, Any] | None:
    """Plausible arguments for the few hooks that take any; None when we know none for it."""
    from conda.exceptions import CondaError

    known = {
        "host": "conda.anaconda.org",
        "path": "/conda-forge/noarch/repodata.json",
        "error": CondaError("benchmark"),
    }
    names = list(inspect.signature(hook).parameters)
    if not set(names) <= set(known):
        return None
    return {name: known[name] for name in names}


def call_hooks(plugin: ModuleType) -> tuple[dict[str, float | None], dict[str, list[str]]]:
    """Seconds for the first call of each hookimpl, results consumed as conda consumes them,
    and the modules each first call imported."""
    seconds: dict[str, float | None] = {}
    imported: dict[str, list[str]] = {}
    for name, hook in hookimpls(plugin):
        arguments = hook_arguments(hook)
        if arguments is None:
            seconds[name] = None
            continue
        before = set(sys.modules)
        start = time.perf_counter()
        result = hook(**arguments)
        if result is not None:
            list(result)
        seconds[name] = time.perf_counter() - start
        imported[name] = sorted(set(sys.modules) - before)
    return seconds, imported


def parser_seconds(plugin: ModuleType, rounds: int) -> tuple[list[float], list[float]]:
    """generate_parser() timings with the plugin registered and unregistered, alternated."""
    from conda.base.context import context
    from conda.cli.conda_argparse import generate_parser

    context.__init__()  # builds the plugin manager, which registers the plugin
    manager = context.plugin_manager
    name = manager.get_name(plugin)
    if name is None:
        raise SystemExit(f"{PLUGIN_MODULE} was imported but conda did not register it")
    generate_parser()  # first call imports conda's own parser modules; not ours to count
    with_plugin: list[float] = []
    without_plugin: list[float] = []
    for index in range(rounds):
        for registered in (True, False) if index % 2 == 0 else (False, True):
            if registered and not manager.is_registered(plugin):
                manager.register(plugin, name=name)
            elif not registered and manager.is_registered(plugin):
                manager.unregister(plugin)
            # As timeit does: a collection triggered by earlier garbage is noise, not cost.
            gc.collect()
            gc.disable()
            start = time.perf_counter()
            generate_parser()
            gc.enable()
            (with_plugin if registered else without_plugin).append(time.perf_counter() - start)
    return with_plugin, without_plugin


def measure_time(parser_rounds: int) -> dict[str, Any]:
    import_what_conda_has_imported()
    before = set(sys.modules)
    start = time.perf_counter()
    plugin = importlib.import_module(PLUGIN_MODULE)
    import_s = time.perf_counter() - start
    imported_by_plugin = sorted(set(sys.modules) - before)
    hooks, imported_by_hooks = call_hooks(plugin)
    with_plugin, without_plugin = parser_seconds(plugin, parser_rounds)
    return {
        "import_s": import_s,
        "imported_by_plugin": imported_by_plugin,
        "hooks_s": hooks,
        "imported_by_hooks": imported_by_hooks,
        "parser_with_s": with_plugin,
        "parser_without_s": without_plugin,
    }


def measure_memory() -> dict[str, Any]:
    import_what_conda_has_imported()
    tracemalloc.start()
    plugin = importlib.import_module(PLUGIN_MODULE)
    call_hooks(plugin)
    retained, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return {"retained_bytes": retained, "peak_bytes": peak}


def main(argv: list[str]) -> None:
    if "--memory" in argv:
        result = measure_memory()
    else:
        rounds = int(argv[argv.index("--parser-rounds") + 1]) if "--parser-rounds" in argv else 6
        result = measure_time(rounds)
    print(json.dumps(result))


if __name__ == "__main__":
    main(sys.argv[1:])
