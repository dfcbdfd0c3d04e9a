"""Cutover's preflight: each check a pass/fail item with its fix; the target's conda runs once."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from .. import children, fs
from ..errors import SharedError
from ..installation import package_version
from ..inventory import default_inventory_path, read_inventory
from ..kernels.follow import below_installation, resolves_in
from ..kernels.pinned import pinned_to
from ..kernels.read import read_kernels
from ..layout import SharedRoot
from ..pointers import lock_path, writable_problem
from ..text import command_words, plural, quoted
from .replicate_report import reports_into
from .replicated import Needed, Verdict, judge

CONDA_TIMEOUT_SECONDS = 120


@dataclass(frozen=True)
class Check:
    """One preflight item: passed or not, what was found, and the command that fixes it."""

    name: str
    ok: bool
    detail: str
    fix: str | None
    #: conda-shared commands (verb, arguments) that fix it, in order; the CLI spells them the
    #: way the user called conda-shared, with their --root, after `fix`
    commands: tuple[tuple[str, ...], ...] = ()


def installation_check(target: Path) -> Check:
    """The target holds a base environment with python and conda, as an installer leaves it."""
    missing = [
        str(part)
        for part in (Path("conda-meta"), Path("bin") / "python", Path("envs"))
        if not (target / part).exists()
    ]
    conda = package_version(target, "conda")
    python = package_version(target, "python")
    if conda is None:
        missing.append("a conda package record in conda-meta/")
    if missing:
        return Check(
            "installation",
            False,
            f"{target.name} is incomplete: no {', '.join(missing)}",
            f"Finish installing conda there (Miniforge installer: -b -u -p {quoted(target)})",
        )
    return Check(
        "installation", True, f"{target.name}: conda {conda}, python {python or '?'}", None
    )


def conda_runs_check(target: Path) -> Check:
    """Run the target's own conda (`bin/conda`, else `bin/python -m conda`) once."""
    conda = target / "bin" / "conda"
    command = (
        [str(conda), "--version"]
        if conda.is_file()
        else children.python_argv(
            target / "bin" / "python", ["-m", "conda", "--version"], keep_pythonpath=False
        )
    )
    shown = command_words(command)
    environ = children.without_caller_variables(os.environ)
    fix = f"Repair or reinstall conda in {target}, then check with `{shown}`"
    try:
        done = children.run(
            command,
            capture_output=True,
            text=True,
            errors="replace",
            env=environ,
            timeout=CONDA_TIMEOUT_SECONDS,
        )
    except OSError as error:
        return Check("conda", False, f"`{shown}` cannot start: {error.strerror}", fix)
    except subprocess.TimeoutExpired:
        return Check("conda", False, f"`{shown}` did not answer in {CONDA_TIMEOUT_SECONDS}s", fix)
    said = (done.stdout.strip() or done.stderr.strip()).splitlines()
    last = said[-1] if said else "no output"
    if done.returncode != 0 or not last.startswith("conda "):
        return Check("conda", False, f"`{shown}` failed (exit {done.returncode}): {last}", fix)
    return Check("conda", True, f"{last} runs", None)


def conda_shared_check(target: Path) -> Check:
    version = package_version(target, "conda-shared")
    if version is None:
        return Check(
            "conda-shared",
            False,
            f"conda-shared is not installed in {target.name}'s base: after the cutover "
            "`conda shared` (and the channel policy) would vanish for everyone",
            command_words([target / "bin" / "conda", "install", "-p", target, "conda-shared"]),
        )
    return Check("conda-shared", True, f"conda-shared {version} in {target.name}'s base", None)


def replicate_check(shared: SharedRoot, source: Path | None, target: Path) -> Check:
    """Every env the source's inventory marks REPLICATE is in the target: by its latest result
    across the replicate runs into the target, smoke-tested, and still there."""
    search = reports_into(shared.reports_dir, target)
    try:
        required, basis, inventory = _required_envs(shared, source)
    except SharedError as error:
        commands = (error.command,) if error.command else ()
        return Check("replicate", False, error.message, error.next_step, commands)
    if required == [] and inventory is not None:
        # All of nothing would pass: an inventory whose REPLICATE marks were lost is no proof.
        return Check(
            "replicate",
            False,
            f"{inventory} marks no environment REPLICATE",
            f"Mark the envs users need `NAME = REPLICATE` in {inventory}, then replicate them",
            (("replicate", "--to", target.name),),
        )
    if required is None:
        required = list(dict.fromkeys(env.name for r in search.reports for env in r.envs))
    if not search.reports and not required:
        unreadable = (
            f" ({len(search.unreadable)} unreadable: {search.unreadable[0]})"
            if search.unreadable
            else ""
        )
        detail = f"no replicate report into {target.name} in {shared.reports_dir}{unreadable}"
        if inventory is None:
            return Check(
                "replicate",
                False,
                detail,
                "Write the inventory, mark the envs users need REPLICATE, then replicate them",
                (("inventory", "--write"), ("replicate", "--to", target.name)),
            )
        return Check("replicate", False, detail, None, (("replicate", "--to", target.name),))
    judgement = judge(search, [Needed(entry) for entry in required], target)
    runs = plural(len(search.reports), "run")
    if judgement.problems:
        return Check(
            "replicate",
            False,
            _describe(judgement.problems) + f" (latest results of {runs} into {target.name})",
            None,
            judgement.commands,
        )
    return Check(
        "replicate",
        True,
        f"all {len(required)} {basis} replicated, passed their smoke tests and are in "
        f"{target.name} (latest results of {runs})",
        None,
    )


def _describe(problems: Sequence[Verdict]) -> str:
    """`plain: failed in run R; geo: smoke test failed in run R; ml: not replicated yet`."""
    return "; ".join(f"{verdict.needed.entry}: {verdict.problem}" for verdict in problems)


def kernels_check(shared: SharedRoot, target: Path) -> Check:
    """Every kernelspec goes through ROOT/current and its interpreter exists in the target;
    kernels pinned to a release (`kernels pin`) are exempt."""
    problems = []
    kernels = read_kernels(shared.kernels_dir)
    for kernel in kernels:
        if kernel.executable is None:
            problems.append(f"{kernel.name}: {kernel.problem}")
            continue
        below = below_installation(kernel.executable, shared.path)
        if below is None:
            if pinned_to(kernel.executable, shared.path) is not None:
                continue  # runs one release of its installation, whatever current becomes
            inside = _inside(shared.path, Path(kernel.executable))
            if inside:
                problems.append(f"{kernel.name}: {kernel.executable} bypasses current/")
            continue
        if not resolves_in(target, below):
            already = "" if kernel.problem is None else " (broken in current too)"
            problems.append(f"{kernel.name}: {target.name}/{below} does not exist{already}")
    if problems:
        return Check(
            "kernels",
            False,
            "; ".join(problems),
            "Replicate those kernels' envs into the target, point argv[0] of each kernel.json at "
            f"{shared.path}/current/envs/NAME/bin/python, or retire stale kernelspecs",
            (("kernels", "sync", "--remove-stale"),),
        )
    return Check(
        "kernels", True, f"every kernelspec ({len(kernels)}) resolves in {target.name}", None
    )


def writable_check(root: Path) -> Check:
    problem = writable_problem(root)
    if problem:
        return Check(
            "writable",
            False,
            problem,
            f"Run as a user who can write to {root} (usually the admin account)",
        )
    return Check("writable", True, f"user {fs.current_user()} can change the pointers", None)


def lock_check(root: Path, *, held_by_us: bool) -> Check:
    if held_by_us:
        return Check("lock", True, "no other cutover is running (lock held)", None)
    holder = fs.lock_holder(lock_path(root))
    if holder:
        return Check(
            "lock",
            False,
            f"another cutover is running ({holder})",
            "Wait for it to finish, then run this one again",
        )
    return Check("lock", True, "no other cutover is running", None)


def _required_envs(
    shared: SharedRoot, source: Path | None
) -> tuple[list[str] | None, str, Path | None]:
    """The inventory entries of the source marked REPLICATE, as written: a name, or the path
    of one of several envs that share a name (None when there is no inventory), the words
    for them, and the inventory file."""
    if source is None:
        return None, "envs of the reports", None
    path = default_inventory_path(shared, source.name)
    if not path.exists():
        return None, f"envs of the reports (no inventory at {path})", None
    inventory = read_inventory(path)
    entries = [e.name for e in inventory.entries if e.action == "replicate"]
    return entries, "REPLICATE envs of the inventory", path


def _inside(root: Path, path: Path) -> bool:
    # The folder, not the file: an env's bin/python is often a symlink to a system Python.
    return root.resolve() in Path(os.path.realpath(path.parent)).parents
