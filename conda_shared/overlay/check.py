"""`overlay check`: pip check over env + overlays, imports of overlaid packages, and drift of
the env (or a clone's baseline) since the overlay was last changed."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from .. import children
from ..condarc import CondaConfig
from ..errors import SharedError
from ..prefix import PythonDist, read_env
from ..specs import content_key
from . import pip
from .activate import activation
from .clone import BASELINE_FILE, read_baseline
from .contents import read_dists
from .locate import Placement, runnable_python
from .redundant import RedundantCopy, redundant_copies

_PROBE = """
import importlib, json, sys
found = {}
for name in sys.argv[1:]:
    try:
        found[name] = [True, getattr(importlib.import_module(name), "__file__", None) or ""]
    except BaseException as error:
        found[name] = [False, f"{type(error).__name__}: {error}"]
print(json.dumps(found))
"""


@dataclass(frozen=True)
class ImportCheck:
    """Importing one top-level module of an overlaid distribution in the env's Python."""

    dist: str
    module: str
    ok: bool
    detail: str  # the file it was imported from, or the error


@dataclass(frozen=True)
class CheckResult:
    env: Path
    overlays: tuple[Path, ...]
    pip_problems: tuple[str, ...]
    imports: tuple[ImportCheck, ...]
    warnings: tuple[str, ...]
    redundant: tuple[RedundantCopy, ...] = ()  # copies the env now holds itself: not a problem

    @property
    def ok(self) -> bool:
        return not self.pip_problems and all(i.ok for i in self.imports)


def check_overlays(*, placement: Placement, environ: Mapping[str, str]) -> CheckResult:
    """Everything that can break an overlay after the fact, for the overlays applied to ENV."""
    env = placement.env
    runnable_python(env)
    applied = placement.applied()
    environ = activation(env, applied).applied_to(environ)
    modules = {
        module: dist.name
        for overlay in applied
        for dist in read_dists(overlay.path).values()
        for module in top_level_modules(overlay.path, dist)
    }
    warnings = [*_drift(placement), *_baseline_drift(env.prefix)]
    warnings += [f"ignoring the overlay {o.path}: {o.problem}" for o in placement.ignored()]
    for overlay in applied:
        if env.python_version and not overlay.site_packages(env.python_version).is_dir():
            warnings.append(
                f"{overlay.path} has no lib/python{env.python_version}: it was built for "
                "another Python than the env's; clear and reinstall it"
            )
    return CheckResult(
        env=env.prefix,
        overlays=tuple(o.path for o in applied),
        pip_problems=tuple(line for _, line in pip.check(env, environ=environ)),
        imports=_imports(env.python, modules, environ),
        warnings=tuple(warnings),
        redundant=redundant_copies(placement),
    )


def top_level_modules(overlay: Path, dist: PythonDist) -> tuple[str, ...]:
    """The importable names a distribution installs: top_level.txt, else its RECORD."""
    metadata = overlay / dist.location
    try:
        names = (metadata / "top_level.txt").read_text(encoding="utf-8").split()
    except OSError:
        names = []
    if not names:
        try:
            record = (metadata / "RECORD").read_text(encoding="utf-8")
        except OSError:
            record = ""
        for row in csv.reader(io.StringIO(record)):
            head, _, rest = (row[0] if row else "").partition("/")
            if not rest:  # a file at the top of site-packages: only modules count
                if not head.endswith(".py"):
                    continue
                head = head[: -len(".py")]
            # dist-info dirs, `..` (scripts) and __pycache__/__editable__ helpers are no modules
            if head.isidentifier() and not head.startswith("__") and head not in names:
                names.append(head)
    fallback = dist.normalized.replace("-", "_")  # an editable install may list no module
    return tuple(names) or ((fallback,) if fallback.isidentifier() else ())


def _imports(
    python: Path, modules: Mapping[str, str], environ: Mapping[str, str]
) -> tuple[ImportCheck, ...]:
    if not modules:
        return ()
    result = children.run(
        children.python_argv(python, ["-c", _PROBE, *modules], keep_pythonpath=True),
        capture_output=True,
        text=True,
        env=dict(environ),
    )
    try:
        found = json.loads(result.stdout.strip().splitlines()[-1])
    except (ValueError, IndexError):
        detail = (result.stderr.strip().splitlines() or ["no output"])[-1]
        return tuple(ImportCheck(d, m, False, detail) for m, d in modules.items())
    return tuple(
        ImportCheck(dist, module, bool(found[module][0]), str(found[module][1]))
        for module, dist in modules.items()
    )


def _drift(placement: Placement) -> list[str]:
    recorded = [o for o in placement.applied() if o.recorded_key]
    if not recorded:
        return []
    env = placement.env
    now = content_key(read_env(env.prefix, name=env.name, config=CondaConfig(), owned_dists=False))
    return [
        f"the env {env.prefix} changed since {o.path} was last changed (content key "
        f"{o.recorded_key[:19]} then, {now[:19]} now): re-install what the overlay needs, "
        "then run this check again"
        for o in recorded
        if o.recorded_key and o.recorded_key != now
    ]


def _baseline_drift(prefix: Path) -> list[str]:
    baseline = read_baseline(prefix)
    if baseline is None:
        return []
    source = Path(baseline.source_env)
    try:
        now = content_key(
            read_env(source, name=source.name, config=CondaConfig(), owned_dists=False)
        )
    except SharedError:
        return [f"this clone's baseline {source} no longer exists ({prefix / BASELINE_FILE})"]
    if now == baseline.source_key:
        return []
    return [
        f"the baseline {source} changed since this env was cloned from it "
        f"({baseline.source_key[:19]} then, {now[:19]} now): clone it again to follow it"
    ]
