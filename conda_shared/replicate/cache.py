"""Fill the target's package cache once, before parallel builds link from it."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

from .. import fs
from .conda import conda_command, failed_urls, run_conda
from .plan import EnvPlan
from .runfolder import RunPlan


def fill_cache(run: RunPlan, envs: Sequence[EnvPlan]) -> RunPlan:
    """Download every lock's packages once, in one conda call, before parallel builds.

    A URL the channel no longer has is dropped and the rest fetched again; the envs whose
    whole lock made it into the cache are recorded as `filled` (their builds need no turn).
    """
    locks = {env.name: _lock_lines(env) for env in envs}
    wanted = list(dict.fromkeys(line for lines in locks.values() for line in lines))
    log = run.run_dir / "logs" / "cache-fill.log"
    scratch = run.run_dir / "cache-fill-prefix"
    lock_file = run.run_dir / "inputs" / "cache-fill.lock"
    try:
        for _ in range(3):
            if not wanted:
                return run
            fs.atomic_write(lock_file, "@EXPLICIT\n" + "\n".join(wanted) + "\n")
            argv = [*conda_command(run.target), "create", "--download-only", "--json", "--yes"]
            outcome = run_conda(
                [*argv, "--prefix", str(scratch), "--file", str(lock_file)], log=log
            )
            if outcome.ok:
                fetched = set(wanted)
                filled = tuple(n for n, lines in locks.items() if fetched.issuperset(lines))
                return dataclasses.replace(run, filled=filled)
            gone = {_file_path(u) for u in failed_urls(outcome.document or {})}
            kept = [line for line in wanted if _file_path(line.split("#")[0]) not in gone]
            if len(kept) == len(wanted):
                return run
            wanted = kept
        return run
    finally:
        fs.remove_tree(scratch)


def _lock_lines(env: EnvPlan) -> list[str]:
    lock = next((r for r in env.rungs if r.strategy == "lock"), None)
    text = (lock.steps[0].input_text or "") if lock else ""
    return [line for line in text.splitlines() if line and not line.startswith(("#", "@"))]


def _file_path(url: str) -> str:
    return url[len("file://") :] if url.startswith("file://") else url
