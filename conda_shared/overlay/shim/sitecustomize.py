"""conda-shared overlay guard: in the overlaid environment's Python only, put its overlays first.

`conda shared overlay activate|run` puts this directory on PYTHONPATH and names the environment
(CONDA_SHARED_OVERLAY_ENV, its real path) and the overlays (CONDA_SHARED_OVERLAY_DIRS, the
user's before the admin's). Every other Python (other envs, conda's own) does nothing here but
run the `sitecustomize` this one shadows. Standard library only, in syntax every CPython from
2.7 parses (tests/overlay/test_shim.py walks it): any Python that sees PYTHONPATH reads it.
conda-shared itself imports `overlay_problem` from here (as a module, where the two calls at
the bottom do not run), so the shim and the commands judge an overlay the same way.
"""

import os
import stat
import sys

_HEX = frozenset("0123456789abcdef")


def overlay_problem(pointer, version, owners):
    # type: (str, str | None, frozenset[int]) -> str | None
    """Why the overlay at `pointer` must not be used, or None when it is safe (or absent
    from a safe folder). A link must be ours: relative, to `.NAME.gen-XXXXXXXX` beside it (a
    directory is a stage being built). Safe: the overlays folder, the link, the generation and
    its lib/`version`/site-packages (those that exist) belong to one of `owners` and nobody
    else may write them (group write only through the user's own private group). A few stat
    calls; never raises."""
    try:
        return _problem(pointer, version, owners)
    except Exception as error:  # a guard that crashed would break every Python start
        return "cannot check it ({})".format(error)


def _problem(pointer, version, owners):
    # type: (str, str | None, frozenset[int]) -> str | None
    folder, name = os.path.split(pointer)
    if not os.path.isdir(folder):
        return None
    found = _unsafe(folder, os.stat(folder), owners)
    if found or not os.path.lexists(pointer):
        return found
    if os.path.islink(pointer):
        link = os.readlink(pointer)
        prefix = ".{}.gen-".format(name)
        suffix = link[len(prefix) :]
        if not link.startswith(prefix) or len(suffix) != 8 or not set(suffix) <= _HEX:
            return "it is a link to {}, not to a generation made by conda-shared ({})".format(
                link, prefix + "XXXXXXXX"
            )
        found = _unsafe("it", os.lstat(pointer), owners)
        name = link
    path = folder
    for part in [name] + (["lib", version, "site-packages"] if version else []):
        path = os.path.join(path, part)
        if found or not os.path.lexists(path):
            break
        info = os.lstat(path)
        if not stat.S_ISDIR(info.st_mode):
            return "{} is not a directory".format(path)
        found = _unsafe(path, info, owners)
    return found


def _unsafe(path, info, owners):
    # type: (str, os.stat_result, frozenset[int]) -> str | None
    if info.st_uid not in owners:
        return "{} belongs to {}".format(path, _user_name(info.st_uid))
    if stat.S_ISLNK(info.st_mode):
        return None  # a link's own mode means nothing; its owner is what counts
    if info.st_mode & stat.S_IWOTH:
        return "{} is writable by every user".format(path)
    if info.st_mode & stat.S_IWGRP and info.st_gid != _private_group():
        return "{} is writable by the group {}".format(path, _group_name(info.st_gid))
    return None


def _private_group():
    # type: () -> int | None
    """The user's own group (named after them, nobody else in it), or None without one."""
    try:
        import grp
        import pwd

        group = grp.getgrgid(os.getgid())
        user = pwd.getpwuid(os.geteuid()).pw_name
    except (ImportError, KeyError, OSError):
        return None
    if group.gr_name == user and not [m for m in group.gr_mem if m != user]:
        return group.gr_gid
    return None


def _user_name(uid):
    # type: (int) -> str
    try:
        import pwd

        return "user {}".format(pwd.getpwuid(uid).pw_name)
    except (ImportError, KeyError):
        return "uid {}".format(uid)


def _group_name(gid):
    # type: (int) -> str
    try:
        import grp

        return grp.getgrgid(gid).gr_name
    except (ImportError, KeyError):
        return str(gid)


def _apply_overlays():
    # type: () -> None
    target = os.environ.get("CONDA_SHARED_OVERLAY_ENV")
    dirs = os.environ.get("CONDA_SHARED_OVERLAY_DIRS")
    # realpath on both sides: the target of a release-managed env is its pointer (envs/NAME),
    # which leads to whichever release is current
    if not target or not dirs or os.path.realpath(sys.prefix) != os.path.realpath(target):
        return
    import site

    version = "python{}.{}".format(sys.version_info[0], sys.version_info[1])
    # You, root, and whoever owns the env (who can change what it runs anyway).
    owners = frozenset([os.geteuid(), 0, os.stat(sys.prefix).st_uid])
    known = set(sys.path)
    for overlay in dirs.split(os.pathsep):
        problem = overlay_problem(overlay, version, owners)
        if problem:
            sys.stderr.write("conda-shared: ignoring the overlay {}: {}\n".format(overlay, problem))
            continue
        site_dir = os.path.join(overlay, "lib", version, "site-packages")
        if os.path.isdir(site_dir):
            # addsitedir processes .pth files: editable installs and packages that rely on them.
            site.addsitedir(site_dir)
    added = [entry for entry in sys.path if entry not in known]
    kept = [entry for entry in sys.path if entry in known]
    # In front of the env's site-packages (so upgrades win), behind the standard library.
    index = len(kept)
    for i, entry in enumerate(kept):
        if os.path.basename(entry) == "site-packages":
            index = i
            break
    sys.path[:] = kept[:index] + added + kept[index:]


def _chain_next_sitecustomize():
    # type: () -> None
    # Leave sys.path without this directory (nothing else in it is importable), then import
    # `sitecustomize` again: the one this file shadows, if there is one, runs as usual.
    here = os.path.dirname(os.path.abspath(__file__))
    sys.path[:] = [entry for entry in sys.path if os.path.abspath(entry or os.curdir) != here]
    ours = sys.modules.pop("sitecustomize", None)
    try:
        import sitecustomize  # type: ignore[import-not-found]  # noqa: F401
    except ImportError as error:
        # Python 2's ImportError has no `name`; then the only import here is the one missing.
        if getattr(error, "name", "sitecustomize") != "sitecustomize":
            raise
        sys.modules["sitecustomize"] = ours  # type: ignore[assignment]


if __name__ == "sitecustomize":
    _apply_overlays()
    _chain_next_sitecustomize()
