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
    # Leave sys.path without this directory (nothing else in it is importable), then import
    # `sitecustomize` again: the one this file shadows, if there is one, runs as usual.
    here = os.path.dirname(os.path.abspath(__file__))
    sys.path[:] = [entry for entry in sys.path if os.path.abspath(entry or os.curdir) != here]
    ours = sys.modules.pop("sitecustomize", None)
    try:
        import sitecustomize  # type: ignore[import-not-found]  # noqa: F401
    except ImportError as error:
        if error.name != "sitecustomize":
            raise
        sys.modules["sitecustomize"] = ours  # type: ignore[assignment]


_apply_overlays()
_chain_next_sitecustomize()
