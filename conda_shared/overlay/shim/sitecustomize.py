"""conda-shared overlay guard: in the overlaid environment's Python only, put its overlays first.

`conda shared overlay activate|run` puts this directory on PYTHONPATH and names the environment
(CONDA_SHARED_OVERLAY_ENV, its real path) and the overlays (CONDA_SHARED_OVERLAY_DIRS, the
user's before the admin's). Every other Python (other envs, conda's own) does nothing here but
run the `sitecustomize` this one shadows. Standard library only: it runs in any env's Python.
"""

import os
import sys


def _apply_overlays() -> None:
    target = os.environ.get("CONDA_SHARED_OVERLAY_ENV")
    dirs = os.environ.get("CONDA_SHARED_OVERLAY_DIRS")
    if not target or not dirs or os.path.realpath(sys.prefix) != target:
        return
    import site

    version = f"python{sys.version_info[0]}.{sys.version_info[1]}"
    known = set(sys.path)
    for overlay in dirs.split(os.pathsep):
        # addsitedir processes .pth files: editable installs and packages that rely on them.
        site.addsitedir(os.path.join(overlay, "lib", version, "site-packages"))
    added = [entry for entry in sys.path if entry not in known]
    kept = [entry for entry in sys.path if entry in known]
    # In front of the env's site-packages (so upgrades win), behind the standard library.
    index = next(
        (i for i, entry in enumerate(kept) if os.path.basename(entry) == "site-packages"),
        len(kept),
    )
    sys.path[:] = kept[:index] + added + kept[index:]


def _chain_next_sitecustomize() -> None:
    import importlib.machinery
    import importlib.util

    here = os.path.dirname(os.path.abspath(__file__))
    rest = [entry for entry in sys.path if os.path.abspath(entry or os.curdir) != here]
    spec = importlib.machinery.PathFinder.find_spec("sitecustomize", rest)
    if spec is not None and spec.loader is not None:
        module = importlib.util.module_from_spec(spec)
        sys.modules["sitecustomize"] = module
        spec.loader.exec_module(module)


_apply_overlays()
_chain_next_sitecustomize()
