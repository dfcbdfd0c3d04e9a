"""Health of a shared root: shared-env permissions, pointers, kernels, policy-defeating config."""

from __future__ import annotations

import re
import stat
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from . import audit, fs
from .condarc import installation_condarc_files
from .errors import SharedError
from .installation import Installation, read_installation
from .kernels.read import read_kernels
from .layout import SharedRoot, open_root
from .text import CommandLine, decode, quoted, table

PROBLEM = "problem"
NOTE = "note"
#: admin-owned condarc locations conda reads before the user's (Linux and macOS)
SYSTEM_CONFIG_DIRS = (Path("/etc/conda"), Path("/var/lib/conda"))

_WRITE_BY_OTHERS = stat.S_IWGRP | stat.S_IWOTH
_PINNED_KEYS = ("no_plugins", "override_channels_enabled", "shared_channel_policy")
#: `key: value  #!final` on one line: conda's marker that later (user) files cannot override
_SETTING_LINE = re.compile(
    r"^(?P<indent>\s*)(?P<key>\w+)\s*:\s*(?P<value>[^#\s]*)\s*(?P<final>#!final)?"
)
_FALSE = ("false", "no", "off", "0", "n")
_FILES_SHOWN = 5


@dataclass(frozen=True)
class Finding:
    """One thing wrong (problem: doctor exits 1) or worth knowing (note) about the root."""

    # pointers | installations | permissions | releases | kernels | overlays | requests | config
    # | plugin | overwritten
    check: str
    severity: str
    subject: str
    message: str
    fix: str


@dataclass(frozen=True)
class WritableDir:
    """A directory of a shared environment that users other than its owner can write."""

    path: Path
    mode: int  # permission bits as found
    identity: tuple[int, int]  # (st_dev, st_ino) as checked: the fix touches only this one


@dataclass(frozen=True)
class PluginInstall:
    """Whether conda-shared is installed in an installation's base, and which version."""

    installation: str
    path: Path
    pointers: tuple[str, ...]
    conda_shared_version: str | None


@dataclass(frozen=True)
class DoctorReport:
    """Everything `conda shared doctor` and the `conda doctor` check found."""

    root: Path
    findings: tuple[Finding, ...]
    installations: tuple[PluginInstall, ...]
    writable: tuple[WritableDir, ...]

    @property
    def problems(self) -> tuple[Finding, ...]:
        return tuple(f for f in self.findings if f.severity == PROBLEM)

    @property
    def notes(self) -> tuple[Finding, ...]:
        return tuple(f for f in self.findings if f.severity == NOTE)


@dataclass(frozen=True)
class PermissionFix:
    """What `fix_permissions` changed, and what it could not."""

    fixed: tuple[Path, ...]
    failed: tuple[tuple[Path, str], ...]
    note: str | None = None  # set when the audit log could not be written


@dataclass(frozen=True)
class _Pinned:
    value: str
    final: bool


def check_root(
    *,
    root: Path,
    system_config_dirs: Sequence[Path] = SYSTEM_CONFIG_DIRS,
    command_line: CommandLine | None = None,
    admin_group: str = "",
) -> DoctorReport:
    """Check a shared root; reads it (listing installations, envs and kernels), never writes.

    `command_line` spells the conda-shared commands in fix lines (default: `conda shared`).
    """
    command_line = command_line or CommandLine()
    shared = open_root(root)
    findings = list(_pointer_findings(shared))
    installs: list[PluginInstall] = []
    writable: list[WritableDir] = []
    config: list[Finding] = []
    plugin: list[Finding] = []
    releases: list[Finding] = []
    unreadable: list[Finding] = []
    overwritten: list[Finding] = []
    for path, pointers in shared.installations_with_pointers().items():
        try:
            inst = read_installation(path)
        except SharedError as error:
            findings.append(
                Finding(
                    "installations",
                    PROBLEM,
                    path.name,
                    error.message,
                    error.next_step_for(command_line),
                )
            )
            continue
        installs.append(PluginInstall(inst.name, inst.path, pointers, inst.conda_shared_version))
        config += [
            Finding(
                "config",
                NOTE,
                inst.name,
                f"{inst.name}: {warning}",
                "Make it readable to every user of the installation, saved as UTF-8",
            )
            for warning in inst.config.warnings
        ]
        for found in _writable_dirs(inst, shared.path):
            if isinstance(found, WritableDir):
                writable.append(found)
            else:
                unreadable.append(found)
        plugin += _plugin_findings(inst, pointers, single=shared.single)
        releases += _release_findings(shared.state_dir, inst.path, command_line)
        overwritten += _overwritten_findings(inst, shared.path)
        if inst.conda_shared_version is not None:
            config += _config_findings(inst, system_config_dirs)
    findings += [_writable_finding(w) for w in dict.fromkeys(writable)]
    findings += dict.fromkeys(unreadable)
    findings += releases
    findings += overwritten
    findings += _kernel_findings(shared)
    findings += _overlay_findings(shared, command_line)
    findings += _request_findings(shared, admin_group, command_line)
    findings += config + plugin
    return DoctorReport(
        root=shared.path,
        findings=tuple(findings),
        installations=tuple(installs),
        writable=tuple(dict.fromkeys(writable)),
    )


def fix_permissions(*, root: Path, dirs: Sequence[WritableDir]) -> PermissionFix:
    """Take group and other write permission off each directory (the doctor's fixer)."""
    fixed: list[Path] = []
    failed: list[tuple[Path, str]] = []
    for found in dirs:
        try:
            fs.remove_write_by_others(found.path, identity=found.identity)
        except SharedError as error:
            failed.append((found.path, error.message))
        except OSError as error:
            failed.append((found.path, error.strerror or str(error)))
        else:
            fixed.append(found.path)
    note = audit.try_record(
        open_root(root).log_path,
        action="doctor-fix",
        command=f"doctor --fix: remove group/other write from {len(dirs)} directories",
        result=f"{len(fixed)} fixed, {len(failed)} failed",
    )
    return PermissionFix(tuple(fixed), tuple(failed), note)


def _pointer_findings(shared: SharedRoot) -> Iterator[Finding]:
    if shared.single:
        return
    for pointer in shared.pointers:
        link = shared.path / pointer.name
        if pointer.problem:
            yield Finding(
                "pointers",
                PROBLEM,
                str(link),
                f"{link}: {pointer.problem}",
                f"Point it at an installation of the root (ln -sfn vX {quoted(link)}) or remove it",
            )
        elif pointer.name == "current" and pointer.unset:
            yield Finding(
                "pointers",
                PROBLEM,
                str(link),
                f"{link} is not set: users of this root get no installation",
                f"Point it at an installation: ln -s vX {quoted(link)}",
            )


def _writable_dirs(inst: Installation, root: Path) -> Iterator[WritableDir | Finding]:
    """Envs dirs and the top directories of each environment inside the root.

    A directory this user cannot look into is a note naming it, and the scan goes on.
    """
    candidates = [d for d in inst.envs_dirs if fs.is_within(root, d)]
    for env in inst.envs:
        if fs.is_within(root, env.prefix):
            candidates += [env.prefix, env.prefix / "conda-meta", env.prefix / "bin"]
    closed: set[Path] = set()  # folders this user cannot look into: one note each
    for path in candidates:
        if path.parent in closed:
            continue
        try:
            info = path.lstat()
        except FileNotFoundError:
            continue
        except OSError as error:
            # lstat needs search permission on the parent only: name that folder once.
            closed.add(path.parent)
            yield Finding(
                "permissions",
                NOTE,
                str(path.parent),
                f"cannot look into {path.parent}: {(error.strerror or str(error)).lower()}",
                "Run the doctor as a user who can read every shared environment (an admin)",
            )
            continue
        if stat.S_ISDIR(info.st_mode) and info.st_mode & _WRITE_BY_OTHERS:
            yield WritableDir(path, stat.S_IMODE(info.st_mode), (info.st_dev, info.st_ino))


def _overwritten_findings(inst: Installation, root: Path) -> list[Finding]:
    """Shared envs whose conda packages pip overwrote (or removed): conda-pack refuses them, and
    conda's own records no longer describe what runs. Sizes only: hashing every file of every
    env would make the doctor read the whole root."""
    from .prefix.overwritten import find_overwritten

    findings = []
    for env in inst.envs:
        if not fs.is_within(root, env.prefix):
            continue
        try:
            found = find_overwritten(env.prefix)
        except SharedError:
            continue  # an unreadable record: every reader of the env says so, not this check
        if not found.files:
            continue
        names = sorted({f.package for f in found.files})
        conda = inst.path / "bin" / "conda"
        restore = f"{quoted(conda)} install -p {quoted(env.prefix)} --force-reinstall " + " ".join(
            quoted(name) for name in names
        )
        pip_names = sorted({dist.split(" ")[0] for dist in found.pip_dists})
        undo = (
            f"{quoted(env.prefix / 'bin' / 'python')} -m pip uninstall -y "
            + " ".join(quoted(name) for name in pip_names)
            + ", then "
            if pip_names
            else ""
        )
        findings.append(
            Finding(
                "overwritten",
                PROBLEM,
                str(env.prefix),
                f"{env.prefix}: pip overwrote or removed files of conda packages {found.summary()}",
                f"Undo the pip install and restore conda's files: {undo}{restore} (pip packages "
                "belong in an overlay)",
            )
        )
    return findings


def _writable_finding(found: WritableDir) -> Finding:
    who = " and ".join(
        name
        for name, bit in (("group", stat.S_IWGRP), ("others", stat.S_IWOTH))
        if found.mode & bit
    )
    return Finding(
        "permissions",
        PROBLEM,
        str(found.path),
        f"{found.path} is writable by {who} (mode {found.mode:o}): users other than its "
        "admins can change a shared environment",
        f"chmod go-w {quoted(found.path)} (or `conda doctor conda-shared --fix` on conda >= 26.1)",
    )


def _release_findings(root: Path, installation: Path, command_line: CommandLine) -> list[Finding]:
    """Releases changed since publish or never published, env links leading nowhere."""
    from .release import health

    findings = []
    where = ("--from", installation.name)
    for issue in health.release_issues(root=root, installation=installation):
        release = f"release {issue.env}@{issue.release_id}"
        if issue.kind == health.CHANGED:
            changes = issue.changes
            message = (
                f"{release} changed since it was published: {len(changes.all)} files "
                f"({changes.summary(_FILES_SHOWN)})"
            )
            lock = (issue.records or issue.path) / f"{issue.env}.lock"
            fix = (
                "Find who changed it in log/shared.log, and give users an intact copy: "
                f"{command_line('release', issue.env, '--file', str(lock), *where)}"
            )
        elif issue.kind == health.UNVERIFIABLE:
            message = f"{release} cannot be checked: {issue.path} is missing or unreadable"
            fix = "Restore ROOT/specs from a backup (a release's files.json is written at publish)"
        elif issue.kind == health.UNPUBLISHED:
            message = f"{issue.path} is a build of {issue.env} that was never published"
            fix = f"Nothing runs it: remove it with rm -rf {quoted(issue.path)}"
        else:
            message = f"{issue.path} points at a release that does not exist: {issue.env} is gone"
            fix = (
                f"Point it at its newest release: "
                f"{command_line('release', 'rollback', issue.env, '--to', issue.latest, *where)}"
                if issue.latest
                else f"Remove it (rm {quoted(issue.path)}) and rebuild {issue.env} from ROOT/specs"
            )
        severity = NOTE if issue.kind == health.UNVERIFIABLE else PROBLEM
        findings.append(Finding("releases", severity, str(issue.path), message, fix))
    return findings


def _kernel_findings(shared: SharedRoot) -> Iterator[Finding]:
    current = shared.path / "current"
    for kernel in read_kernels(shared.kernels_dir):
        if kernel.problem:
            yield Finding(
                "kernels",
                PROBLEM,
                kernel.name,
                f"kernel {kernel.name}: {kernel.problem}",
                f"Fix argv in {kernel.spec_path}, or remove {kernel.spec_path.parent}",
            )
        elif (
            not shared.single
            and kernel.executable
            and fs.is_within(shared.path, Path(kernel.executable))
            and not _goes_through(Path(kernel.executable), current)
        ):
            yield Finding(
                "kernels",
                NOTE,
                kernel.name,
                f"kernel {kernel.name} runs {kernel.executable} directly, not through "
                f"{current}, so it will not follow a cutover",
                f"Write its argv[0] as {current}/envs/<env>/bin/python in {kernel.spec_path}",
            )


def _goes_through(path: Path, pointer: Path) -> bool:
    """Whether `path` is written through the pointer (read as written: resolving would lose it)."""
    return pointer in path.parents


def _plugin_findings(
    inst: Installation, pointers: tuple[str, ...], *, single: bool
) -> list[Finding]:
    if inst.conda_shared_version is not None:
        return []
    serves_users = single or "current" in pointers
    return [
        Finding(
            "plugin",
            PROBLEM if serves_users else NOTE,
            inst.name,
            f"conda-shared is not installed in the base of {inst.name}"
            + (f" ({', '.join(pointers)})" if pointers else "")
            + ": its users get no channel policy, no shadowing warnings and no `conda shared`",
            "Install it from your site channel: "
            f"{quoted(inst.path / 'bin' / 'conda')} install -p {quoted(inst.path)} "
            "conda-shared" + ("" if serves_users else " (before it becomes current)"),
        )
    ]


def _config_findings(inst: Installation, system_config_dirs: Sequence[Path]) -> list[Finding]:
    """Settings in admin-owned condarc files that let users step around the hooks."""
    files = [f for d in system_config_dirs for f in installation_condarc_files(d)]
    files += installation_condarc_files(inst.path)
    pinned = _pinned_settings(files)
    policy = pinned["shared_channel_policy"].value if "shared_channel_policy" in pinned else "warn"
    if policy == "off":
        return []
    severity = PROBLEM if policy == "error" else NOTE
    condarc = inst.path / ".condarc"
    findings = []
    if not _pinned_false(pinned.get("no_plugins")):
        findings.append(
            Finding(
                "config",
                severity,
                inst.name,
                f"{inst.name}: users can switch conda-shared off (--no-plugins or "
                "CONDA_NO_PLUGINS=true): no_plugins is not pinned",
                f"Add `no_plugins: false  #!final` to {condarc}",
            )
        )
    if not _pinned_false(pinned.get("override_channels_enabled")):
        findings.append(
            Finding(
                "config",
                severity,
                inst.name,
                f"{inst.name}: users can step around the channel policy with "
                "--override-channels -c X (override_channels_enabled is not pinned false)",
                f"Add `override_channels_enabled: false  #!final` to {condarc} (this also "
                "refuses deliberate --override-channels)",
            )
        )
    if not pinned.get("shared_channel_policy", _Pinned(policy, False)).final:
        findings.append(
            Finding(
                "config",
                severity,
                inst.name,
                f"{inst.name}: users can set plugins.shared_channel_policy to off in their own "
                "condarc",
                f"Pin it under `plugins:` in {condarc}: `shared_channel_policy: {policy}  #!final`",
            )
        )
    return findings


def _pinned_settings(files: Iterable[Path]) -> dict[str, _Pinned]:
    """The watched keys as conda merges them: later files win unless an earlier one is final.

    Read line by line because the `#!final` marker is a YAML comment; `shared_channel_policy`
    only counts nested (under `plugins:`), the others only at the top level.
    """
    found: dict[str, _Pinned] = {}
    for path in files:
        try:
            lines = decode(path.read_bytes(), source=path)[0].splitlines()
        except OSError:
            continue
        for line in lines:
            match = _SETTING_LINE.match(line)
            if match is None or match["key"] not in _PINNED_KEYS:
                continue
            nested = bool(match["indent"])
            if nested != (match["key"] == "shared_channel_policy"):
                continue
            if match["key"] in found and found[match["key"]].final:
                continue
            value = match["value"].strip("'\"").lower()
            found[match["key"]] = _Pinned(value, match["final"] is not None)
    return found


def _pinned_false(setting: _Pinned | None) -> bool:
    return setting is not None and setting.final and setting.value in _FALSE


def report_text(report: DoctorReport) -> str:
    """The doctor's report as text: `conda shared doctor` and `conda doctor` print this."""
    lines = [f"conda-shared doctor: shared root {report.root}"]
    rows = [
        [
            install.installation,
            ",".join(install.pointers) or "-",
            install.conda_shared_version or "not installed",
        ]
        for install in report.installations
    ]
    lines.append("installations:")
    lines += [
        f"  {line}" for line in table(rows, ["NAME", "POINTERS", "CONDA-SHARED"]).splitlines()
    ]
    for title, findings in (("problems", report.problems), ("notes", report.notes)):
        if findings:
            lines.append(f"{title} ({len(findings)}):")
            lines += [line for finding in findings for line in _finding_lines(finding)]
    if not report.problems:
        lines.append("no problems found")
    return "\n".join(lines)


def _finding_lines(finding: Finding) -> list[str]:
    return [f"  [{finding.check}] {finding.message}", f"      fix: {finding.fix}"]


def _overlay_findings(shared: SharedRoot, command_line: CommandLine) -> list[Finding]:
    """Admin overlays whose environment changed (or vanished) since the overlay last changed:
    what the overlay installed may no longer fit what the env holds now."""
    from .condarc import CondaConfig
    from .overlay.locate import admin_overlays
    from .prefix import read_env
    from .specs import content_key

    findings = []
    for overlay in admin_overlays(shared.path):
        env = overlay.target
        if env is None or not overlay.recorded_key:
            continue
        check = f"Check it with `{command_line('overlay', 'check', env)}`"
        try:
            now = content_key(read_env(env, name=env.name, config=CondaConfig(), owned_dists=False))
        except SharedError as error:
            findings.append(
                Finding(
                    "overlays",
                    PROBLEM,
                    str(overlay.path),
                    f"admin overlay {overlay.path}: its env cannot be read: {error.message}",
                    "Re-target it to the env that replaced it "
                    f"(`{command_line('overlay', 'install', '--admin', 'ENV', '--retarget')}`) "
                    f"or remove it; {check[0].lower()}{check[1:]}",
                )
            )
            continue
        if now != overlay.recorded_key:
            findings.append(
                Finding(
                    "overlays",
                    NOTE,
                    str(overlay.path),
                    f"admin overlay {overlay.path}: the env {env} changed since the overlay was "
                    f"last changed (content key {overlay.recorded_key[:19]} then, {now[:19]} now)",
                    f"{check}, then reinstall into the overlay what no longer fits",
                )
            )
    return findings


def _request_findings(
    shared: SharedRoot, admin_group: str, command_line: CommandLine
) -> list[Finding]:
    """The request folders' owners and modes: a listable inbox shows everyone's requests, a
    writable answers folder lets users approve their own."""
    from .requests.store import admin_gid, folder_problems

    try:
        gid = admin_gid(admin_group)
    except SharedError as error:
        return [Finding("requests", PROBLEM, "requests", error.message, error.next_step)]
    return [
        Finding(
            "requests",
            PROBLEM,
            "requests",
            problem,
            f"Put it right as root: `{command_line('init')}`",
        )
        for problem in folder_problems(shared.path, admin_gid=gid)
    ]
