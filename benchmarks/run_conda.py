"""Run conda as `python -m conda` does, with chosen distributions' conda plugins hidden.

usage: python run_conda.py [--hide DIST]... [--list-plugins | CONDA_ARGUMENTS...]

Why hide an entry point rather than use `conda --no-plugins` / CONDA_NO_PLUGINS: those still
import every external plugin module (conda loads all entry points when it builds its plugin
manager) and only block the hooks afterwards, so the import cost, the part most likely to
grow, would be in both arms. They also switch off every other external plugin. Hiding the
distribution from `importlib.metadata.distributions()` before conda imports its plugin manager
removes exactly one plugin, import included, and leaves other plugins alone.

Both arms of a comparison run through this script (`--hide` given or not), so the launcher
and the filter cost the same on each side and only the plugin differs.
"""

from __future__ import annotations

import importlib.metadata
import json
import runpy
import sys
from collections.abc import Iterator
from typing import Any


def normalized(project: str) -> str:
    return project.replace("-", "_").replace(".", "_").lower()


def hide_distributions(hidden: frozenset[str]) -> None:
    """Make `importlib.metadata.distributions()` skip the projects named in `hidden`."""
    unfiltered = importlib.metadata.distributions

    def distributions(**kwargs: Any) -> Iterator[importlib.metadata.Distribution]:
        for dist in unfiltered(**kwargs):
            # The dist-info folder name (PROJECT-VERSION.dist-info) is free to read; the
            # project name proper means parsing METADATA for every installed distribution.
            folder = getattr(dist, "_path", None)
            project = folder.name.partition("-")[0] if folder is not None else ""
            if normalized(project) not in hidden:
                yield dist

    importlib.metadata.distributions = distributions


def list_plugins() -> list[str]:
    """Names of the plugins conda would run hooks of (after --no-plugins / no_plugins)."""
    from conda.base.context import context

    context.__init__()
    if context.no_plugins:
        context.plugin_manager.disable_external_plugins()
    names: list[str] = [
        name
        for name, plugin in context.plugin_manager.list_name_plugin()
        if plugin is not None and not name.startswith("conda.plugins.")
    ]
    return sorted(names)


def main(argv: list[str]) -> None:
    hidden: set[str] = set()
    while argv[:1] == ["--hide"] and len(argv) > 1:
        hidden.add(normalized(argv[1]))
        argv = argv[2:]
    hide_distributions(frozenset(hidden))
    if argv == ["--list-plugins"]:
        print(json.dumps(list_plugins()))
        return
    sys.argv = ["conda", *argv]
    runpy.run_module("conda", run_name="__main__", alter_sys=True)


if __name__ == "__main__":
    main(sys.argv[1:])
