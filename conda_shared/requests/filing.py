"""The user's side of requests: check and file one, list one's own, withdraw one."""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from .. import fs
from ..errors import InputError, SharedError
from ..history import spec_name
from ..installation import validate_env_name
from ..layout import open_root
from ..overlay.locate import place, resolve_env
from ..overlay.redundant import RedundantCopy, redundant_copies
from ..release.layout import env_link
from ..release.solve import Change, PackageDiff, Solution, solve_change
from ..release.specs import check_add_specs, check_text
from . import document, index, notify, store
from .pypi import pip_requirement

MAX_REASON = 1000


@dataclass(frozen=True)
class FileResult:
    """A filed request: its id, the dry run's diff or failure, and what can stand in now."""

    id: str
    env: str
    installation: Path
    add: tuple[str, ...]
    remove: tuple[str, ...]
    diff: PackageDiff
    failure: Mapping[str, Any] | None
    overlay_commands: tuple[tuple[str, ...], ...]  # `overlay install NAME REQ` words, each
    no_overlay: tuple[str, ...]  # added specs no PyPI distribution can stand in for
    index: Path | None
    warnings: tuple[str, ...]


@dataclass(frozen=True)
class OwnRequests:
    """The caller's requests for one root, oldest first, and overlay copies now redundant."""

    root: Path
    requests: tuple[document.RequestView, ...]
    redundant: tuple[RedundantCopy, ...]


def file_request(
    *,
    root: Path,
    installation: str | None,
    name: str,
    add: Sequence[str],
    remove: Sequence[str] = (),
    reason: str = "",
    file_anyway: bool = False,
    notify_command: Sequence[str] = (),
    progress: Callable[[str], None] = lambda line: None,
) -> FileResult:
    """Check a request (env, specs, policy, a solve-only dry run), then file it in the inbox."""
    shared = open_root(root)
    inst = shared.installation(installation)
    store.require_inbox(shared.path)
    prefix = _readable_env(inst, validate_env_name(name))
    add, remove = tuple(add), tuple(remove)
    if not add and not remove:
        raise InputError(
            "a request must add or remove at least one package",
            "Name what you need",
            command=("request", name, "--add", "SPEC"),
        )
    check_add_specs(inst, add)
    _check_removals(prefix, remove)
    _check_reason(reason)
    progress(f"solving {name} plus your change with the conda of {inst} (nothing is installed)")
    with fs.private_temp_dir() as cache:
        solution = solve_change(
            installation=inst, name=name, change=Change(add=add, remove=remove), cache_dir=cache
        )
    failure = _failure_json(solution)
    if failure is not None and not file_anyway:
        raise SharedError(
            f"{name} plus your change cannot be solved ({failure['class']}): {failure['message']}",
            "Change the specs, or file it for an admin anyway",
            command=("request", name, *_words(add, remove), "--file-anyway"),
        )
    request = document.request_document(
        env=name,
        installation=inst.name,
        add=add,
        remove=remove,
        reason=reason,
        diff=solution.diff.as_json() if failure is None else None,
        failure=failure,
    )
    request_id = store.write_request(shared.path, request)
    warnings = []
    index_file: Path | None = None
    try:
        entries = index.read_index(shared.path)
        entry = index.IndexEntry(request_id, name, str(request["filed"]))
        index_file = index.write_index(shared.path, (*entries, entry))
    except (SharedError, OSError) as error:
        text = error.message if isinstance(error, SharedError) else error.strerror
        warnings.append(f"your request index was not updated ({text}): keep the id {request_id}")
    warnings += notify.send(notify_command, {"event": "filed", "id": request_id, **request})
    overlay, no_overlay = _overlay_stand_ins(name, add, solution)
    return FileResult(
        id=request_id,
        env=name,
        installation=inst,
        add=add,
        remove=remove,
        diff=solution.diff,
        failure=failure,
        overlay_commands=overlay,
        no_overlay=no_overlay,
        index=index_file,
        warnings=tuple(warnings),
    )


def own_requests(*, root: Path, installation: str | None, overlays_dir: Path) -> OwnRequests:
    """The caller's requests from their index, each state read from the inbox and answers."""
    shared = open_root(root)
    views = []
    for entry in index.read_index(shared.path):
        seen = document.view(
            entry.id,
            filed=store.read_own_request(shared.path, entry.id),
            answer=store.read_answer(shared.path, entry.id),
            fallback_env=entry.env,
        )
        if seen.state == document.GONE and entry.withdrawn:
            seen = replace(seen, state=document.WITHDRAWN)
        views.append(seen)
    approved = sorted({v.env for v in views if v.state == document.APPROVED})
    redundant = tuple(
        copy
        for env in approved
        for copy in _redundant(shared.path, installation, env, overlays_dir)
    )
    return OwnRequests(shared.path, tuple(views), redundant)


def _redundant(
    root: Path, installation: str | None, env: str, overlays_dir: Path
) -> tuple[RedundantCopy, ...]:
    """Your overlay copies of what `env` now holds; none when the env is gone or unreadable."""
    try:
        target = resolve_env(env, root=root, installation=installation)
    except SharedError:
        return ()
    return redundant_copies(place(target, overlays_dir=overlays_dir, root=root))


def withdraw(*, root: Path, request_id: str) -> document.RequestView:
    """Withdraw one of the caller's pending requests: its file says so, for the admins too."""
    shared = open_root(root)
    store.checked_id(request_id)
    if store.read_answer(shared.path, request_id) is not None:
        raise InputError(
            f"request {request_id} is already answered",
            "See its state",
            command=("request", "list"),
        )
    filed = store.read_own_request(shared.path, request_id)
    if filed is None or filed.document.get("withdrawn"):
        raise InputError(
            f"request {request_id} is not one of your pending requests",
            "See your requests and their states",
            command=("request", "list"),
        )
    withdrawn = {**filed.document, "withdrawn": document.now_iso()}
    store.rewrite_own_request(shared.path, filed, withdrawn)
    entries = index.read_index(shared.path)
    index.write_index(
        shared.path,
        tuple(replace(e, withdrawn=e.withdrawn or e.id == request_id) for e in entries),
    )
    return document.view(request_id, filed=replace(filed, document=withdrawn), answer=None)


def _readable_env(inst: Path, name: str) -> Path:
    prefix = env_link(inst, name)
    if os.path.lexists(prefix) and not os.access(prefix, os.R_OK | os.X_OK):
        raise InputError(
            f"you cannot read the environment {name} ({prefix}), so you cannot request "
            "changes to it",
            "Ask its admins for access, or request for an environment you use",
        )
    if not (prefix / "conda-meta").is_dir():
        raise InputError(
            f"no environment named {name!r} in {inst}",
            "See the environments",
            command=("inventory",),
        )
    return prefix


def _check_removals(prefix: Path, packages: Sequence[str]) -> None:
    installed = {n.rsplit("-", 2)[0].lower() for n in os.listdir(prefix / "conda-meta")}
    for package in packages:
        check_text("--remove", package)
        if spec_name(package) != package.lower() or package.lower() not in installed:
            raise InputError(
                f"--remove {package!r} is not a package installed in {prefix}",
                "Give the name of an installed package (see `conda list -p PREFIX`)",
            )


def _check_reason(value: str) -> None:
    check_text("--reason", value)
    if len(value) > MAX_REASON:
        raise InputError(
            f"--reason is {len(value)} characters long, more than {MAX_REASON}",
            "Shorten it: a sentence or two for the admins",
        )


def _failure_json(solution: Solution) -> dict[str, Any] | None:
    if solution.failure is None:
        return None
    message = solution.failure.message.strip().splitlines()
    return {
        "class": solution.failure.failure_class,
        "packages": list(solution.failure.packages),
        "message": message[0] if message else "",
    }


def _overlay_stand_ins(
    name: str, add: Sequence[str], solution: Solution
) -> tuple[tuple[tuple[str, ...], ...], tuple[str, ...]]:
    builds = {p.name: p.build for p in solution.packages}
    commands = []
    none = []
    for spec in add:
        requirement = pip_requirement(spec, build=builds.get(spec_name(spec)))
        if requirement is None:
            none.append(spec)
        else:
            commands.append(("overlay", "install", name, requirement))
    return tuple(commands), tuple(none)


def _words(add: Sequence[str], remove: Sequence[str]) -> list[str]:
    return [*(["--add", *add] if add else []), *(["--remove", *remove] if remove else [])]
