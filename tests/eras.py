"""Copy an environment of one conda era (tests/data/eras/) into tmp_path, its paths filled in."""

from __future__ import annotations

import shutil
from pathlib import Path

ERAS_DIR = Path(__file__).parent / "data" / "eras"
ERAS = ("4.3", "4.8", "23", "24", "26")

#: Directories of an era that are not environments: the installation's own files (`_root`,
#: its .condarc) and the users' home directories (`_home`: source checkouts, downloads).
_ROOT = "_root"
_HOME = "_home"


def copy_era_env(era: str, env: str, destination: Path) -> Path:
    """Copy `tests/data/eras/ERA/ENV` to `destination/ERA/envs/ENV` and return that prefix.

    The era's installation files land in `destination/ERA` (the root), its home directories in
    `destination/ERA/home`; in every copied file `@PREFIX@`, `@PKGS@` and `@HOME@` become the
    prefix, `destination/ERA/pkgs` and that home, as conda and pip wrote absolute paths.
    """
    source = ERAS_DIR / era / env
    if env.startswith("_") or not (source / "conda-meta").is_dir():
        known = sorted(p.name for p in (ERAS_DIR / era).iterdir() if not p.name.startswith("_"))
        raise ValueError(f"no environment {env!r} in era {era!r}; known: {known}")
    root = destination / era
    prefix = root / "envs" / env
    home = root / "home"
    pkgs = root / "pkgs"
    shutil.copytree(source, prefix)
    for extra, target in ((_ROOT, root), (_HOME, home)):
        if (ERAS_DIR / era / extra).is_dir():
            shutil.copytree(ERAS_DIR / era / extra, target, dirs_exist_ok=True)
    pkgs.mkdir(parents=True, exist_ok=True)
    replacements = {"@PREFIX@": str(prefix), "@PKGS@": str(pkgs), "@HOME@": str(home)}
    for tree in (prefix, home, root / ".condarc"):
        _fill_placeholders(tree, replacements)
    return prefix


def era_root(prefix: Path) -> Path:
    """The installation root of a prefix made by `copy_era_env` (it holds the .condarc)."""
    return prefix.parent.parent


def _fill_placeholders(tree: Path, replacements: dict[str, str]) -> None:
    files = [tree] if tree.is_file() else [p for p in tree.rglob("*") if p.is_file()]
    for path in files:
        text = path.read_text(encoding="utf-8")
        filled = text
        for placeholder, value in replacements.items():
            filled = filled.replace(placeholder, value)
        if filled != text:
            path.write_text(filled, encoding="utf-8")
