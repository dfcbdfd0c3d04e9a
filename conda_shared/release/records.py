"""A release's record folder ROOT/specs/INSTNAME/releases/NAME/ID: release.json, export's
files and files.json, written whole in one rename."""

from __future__ import annotations

import datetime
import os
from pathlib import Path
from typing import Any

from .. import fs
from ..installation import read_installation
from ..kernels.read import Kernel
from ..prefix import read_env
from ..specs import SourceInfo, build_specs
from .integrity import files_json
from .layout import FILES_LIST, RECORD_FILE, ReleaseRecord, record_json, records_dir
from .solve import Change, PackageDiff


def _new_record(
    *,
    installation: Path,
    name: str,
    release_id: str,
    parent: str | None,
    kind: str,
    change: Change,
    diff: PackageDiff,
    content_key: str,
    smoke: dict[str, Any] | None,
    strategy: str,
) -> ReleaseRecord:
    uid = os.getuid()
    return ReleaseRecord(
        id=release_id,
        env=name,
        installation=installation.name,
        parent=parent,
        user=fs.user_name(uid),
        uid=uid,
        sudo_user=os.environ.get("SUDO_USER") or None,
        created=datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        kind=kind,
        change=change.as_json(),
        diff=diff.as_json(),
        content_key=content_key,
        smoke=smoke,
        solve=strategy,
    )


def export_files(
    *, installation: Path, name: str, prefix: Path, kernels: tuple[Kernel, ...]
) -> tuple[dict[str, str], str]:
    """Export's files for the release at `prefix` ({file name: text}) and its content key."""
    found = read_installation(installation)
    source = SourceInfo(path=found.path, conda_version=found.conda_version, config=found.config)
    env = read_env(prefix, name=name, config=source.config, owned_dists=False)
    specs = build_specs(env, source=source, kernels=kernels, stem=name)
    return {f"{name}{suffix}": text for suffix, text in specs.files().items()}, specs.content_key


def _write_records(
    *,
    root: Path,
    installation: Path,
    record: ReleaseRecord,
    files: dict[str, str],
    files_json: str,
) -> Path:
    """Publish the record folder of a new release in one rename (it must not exist yet)."""
    destination = records_dir(root, installation, record.env, record.id)
    fs.make_dirs(destination.parent)
    built = fs.private_dir_beside(destination)
    for file_name, text in files.items():
        fs.write_file(built / file_name, text)
    fs.write_file(built / FILES_LIST, files_json)
    fs.write_file(built / RECORD_FILE, record_json(record))
    fs.writable_by_owner_only(built, readable_by_all=True)
    fs.publish_dir(built, destination, mode=0o755)
    return destination


def record_release(
    *,
    root: Path,
    installation: Path,
    name: str,
    release_id: str,
    prefix: Path,
    kernels: tuple[Kernel, ...],
    parent: str | None,
    kind: str,
    change: Change,
    diff: PackageDiff,
    smoke: dict[str, Any] | None,
    strategy: str,
) -> ReleaseRecord:
    """Write the record folder of the release built at `prefix`: export's files of it, its
    files.json and its release.json."""
    files, key = export_files(installation=installation, name=name, prefix=prefix, kernels=kernels)
    record = _new_record(
        installation=installation,
        name=name,
        release_id=release_id,
        parent=parent,
        kind=kind,
        change=change,
        diff=diff,
        content_key=key,
        smoke=smoke,
        strategy=strategy,
    )
    _write_records(
        root=root,
        installation=installation,
        record=record,
        files=files,
        files_json=files_json(prefix),
    )
    return record
