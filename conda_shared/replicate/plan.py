"""Plan one environment's replication from its export: named transforms and the strategy ladder."""

from __future__ import annotations

import dataclasses
import os
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .. import children
from ..errors import SharedError
from ..history import spec_name
from ..prefix import normalize_name
from ..specs.platform import variants_from_manifest
from ..text import command_words
from .conda import conda_command
from .rung_channels import URL_SPECS_SINCE, RungChannels, rung_channels

STRATEGIES = ("lock", "pinned", "loose", "relaxed")
#: conda older than this cannot read `#sha256` after an @EXPLICIT URL
SHA256_LOCK_SINCE = (24, 9)
#: the transform that says a target's configured channels took part in the fallback solves
CONFIGURED_CHANNELS = "configured-channels"
_VERSION_PART = re.compile(r"[=<>!~ ]")
_NAMED_BUILD = re.compile(r"^=?=?[^=<>!~\s,|]+=\S")  # `=1.0=cuda_0`, `==1.0=cuda_0`


@dataclass(frozen=True)
class Transform:
    """A named change to the exported specs, so the report says what was done and to what."""

    code: str  # install-after | pip-to-conda | drop-pip-duplicate | pip-post-step | manual-step
    # | keep-variant | configured-channels (package "*": the whole env)
    package: str
    detail: str


@dataclass(frozen=True)
class Step:
    """One command of a plan; `input_text` is written to `input_file` just before it runs."""

    kind: str  # conda | pip | manual
    argv: tuple[str, ...]
    packages: tuple[str, ...] = ()
    input_file: str | None = None
    input_text: str | None = None

    @property
    def command(self) -> str:
        return command_words(self.argv)


@dataclass(frozen=True)
class Rung:
    """One strategy of the ladder: the commands that build the env that way."""

    strategy: str
    steps: tuple[Step, ...]


@dataclass(frozen=True)
class EnvPlan:
    """Everything a task needs to replicate one environment (paths as strings: it is JSON)."""

    name: str
    source_prefix: str
    target_prefix: str
    transforms: tuple[Transform, ...]
    rungs: tuple[Rung, ...]
    post_steps: tuple[Step, ...]
    relax: bool
    source_packages: tuple[tuple[str, str], ...]  # (name, version): conda and pip-only dists
    kernels: tuple[str, ...]  # kernel.json paths of the source env's kernels
    #: the source env's current release: built as the target's first release of it, same ID
    release_id: str | None = None


@dataclass(frozen=True)
class ExportedSpecs:
    """The four files export wrote for one environment, as read back."""

    name: str
    manifest: Mapping[str, Any]
    lock: str
    pinned: str
    loose: str


def plan_env(
    *,
    specs: ExportedSpecs,
    target: Path,
    target_conda_version: str | None,
    inputs_dir: Path,
    relax: bool,
    overridable: bool = True,
    keep_variants: bool = True,
    exists: Callable[[str], bool] = os.path.exists,
    release: tuple[str, Path] | None = None,
) -> EnvPlan:
    """The transforms and the ladder lock → pinned → loose for one env; touches nothing.

    `keep_variants`: the pinned and looser rungs ask for each package's build variant as the
    source has it (`[build=*cuda*]`), so a solve never trades a CUDA build for a CPU one.

    `release` (ID, prefix) builds the env as that release of it in the target.
    `overridable` False: the target's conda refuses `--override-channels`, so the source's
    channels are named with -c (first priority) and each package as `channel::pkg` where this
    conda reads that form; the target's configured channels then join those solves.
    """
    manifest = specs.manifest
    name = specs.name
    # a release-managed env (`release`: its ID and prefix in the target) is built at the
    # release's final path, since conda writes the prefix into files
    prefix = str(release[1] if release else target / "envs" / name)
    conda = conda_command(target)
    use = rung_channels(
        manifest,
        exclusive=overridable,
        url_specs=_conda_at_least(target_conda_version, URL_SPECS_SINCE),
    )
    pinned_channels, pinned_conda = _yaml_specs(specs.pinned, f"{name}.yml")
    loose_channels, loose_conda = _yaml_specs(specs.loose, f"{name}.history.yml")
    changes = _transform(
        manifest, conda=conda, prefix=prefix, channels=pinned_channels, use=use, exists=exists
    )

    variants = variants_from_manifest(manifest) if keep_variants else {}

    def kept(found: Sequence[str]) -> list[str]:
        return [with_variant(s, variants) for s in found if spec_name(s) not in changes.taken_out]

    def spec_file(suffix: str) -> Path:
        return inputs_dir / f"{name}.{suffix}"

    pinned_pip = [f"{n}=={v}" for n, v in changes.pip]
    moved = [f"{n}={v}" for n, v in changes.to_conda]
    rungs = []
    lock = _render_lock(
        specs.lock,
        manifest,
        changes.taken_out,
        _conda_at_least(target_conda_version, SHA256_LOCK_SINCE),
    )
    if lock is not None:
        moved_step = [_install_step(conda, prefix, pinned_channels, moved, use)] if moved else []
        rungs.append(
            Rung(
                "lock",
                (
                    _create_step(conda, prefix, spec_file("lock"), (), lock),
                    *moved_step,
                    *_pip_steps(prefix, spec_file("lock.pip.txt"), pinned_pip, exact=True),
                ),
            )
        )
    ladder = (
        ("pinned", pinned_channels, kept(pinned_conda) + moved, pinned_pip),
        ("loose", loose_channels, kept(loose_conda) + [n for n, _ in changes.to_conda], None),
    )
    for strategy, channels, conda_specs, pip in ladder:
        text = "\n".join(use.specs(conda_specs, channels)) + "\n"
        exact = pip is not None  # loose asks pip for names and lets it resolve
        pip_entries = pip if pip is not None else [n for n, _ in changes.pip]
        create = _create_step(conda, prefix, spec_file(f"{strategy}.txt"), use.args(channels), text)
        rungs.append(
            Rung(
                strategy,
                (
                    create,
                    *_pip_steps(prefix, spec_file(f"{strategy}.pip.txt"), pip_entries, exact=exact),
                ),
            )
        )
    source = manifest.get("source") or {}
    return EnvPlan(
        name=name,
        source_prefix=str(source.get("prefix") or ""),
        target_prefix=prefix,
        transforms=changes.transforms
        + _kept_variants(variants, [*pinned_conda, *loose_conda])
        + (() if overridable else (_configured_channels(target),)),
        rungs=tuple(rungs),
        post_steps=changes.post_steps,
        relax=relax,
        source_packages=_source_packages(manifest),
        kernels=tuple(str(k["spec"]) for k in manifest.get("kernels", []) if k.get("spec")),
        release_id=release[0] if release else None,
    )


@dataclass(frozen=True)
class _Changes:
    """What the transforms did to one env's specs."""

    transforms: tuple[Transform, ...]
    post_steps: tuple[Step, ...]
    taken_out: frozenset[str]  # conda packages installed after the env exists
    to_conda: tuple[tuple[str, str], ...]  # (name, version) moved from the pip list to conda
    pip: tuple[tuple[str, str], ...]  # pip dists from an index, kept in the specs


def _transform(
    manifest: Mapping[str, Any],
    *,
    conda: Sequence[str],
    prefix: str,
    channels: Sequence[str],
    use: RungChannels,
    exists: Callable[[str], bool],
) -> _Changes:
    transforms: list[Transform] = []
    post_steps: list[Step] = []
    after = [r for r in manifest.get("conda", []) if r.get("legacy_noarch")]
    for record in after:
        transforms.append(
            Transform(
                "install-after",
                str(record["name"]),
                f"legacy noarch from {record.get('channel')}: installed after the env exists",
            )
        )
        own = [str(record.get("channel_url") or record.get("channel")), *channels]
        spec = f"{record['name']}={record['version']}"
        post_steps.append(_install_step(conda, prefix, own, (spec,), use))
    to_conda: list[tuple[str, str]] = []
    pip: list[tuple[str, str]] = []
    for dist in manifest.get("pip", []):
        name, version = str(dist["name"]), str(dist["version"])
        source = dist.get("source") or {}
        if dist.get("also_conda"):
            detail = "conda installs it too; pip entry dropped"
            transforms.append(Transform("drop-pip-duplicate", name, detail))
        elif dist.get("installer") == "conda":
            to_conda.append((name, version))
            detail = "noarch package listed only by pip; asked of conda"
            transforms.append(Transform("pip-to-conda", name, detail))
        elif source.get("kind") in ("vcs", "editable", "local", "archive") and source.get("url"):
            transforms.append(_source_transform(name, source, exists))
            post_steps.append(_pip_source_step(prefix, name, source, exists))
        else:
            pip.append((name, version))
    return _Changes(
        transforms=tuple(transforms),
        post_steps=tuple(post_steps),
        taken_out=frozenset(str(r["name"]).lower() for r in after),
        to_conda=tuple(to_conda),
        pip=tuple(pip),
    )


def relaxed_rung(plan: EnvPlan, not_found: Sequence[str]) -> Rung | None:
    """The loose rung with version constraints removed from exactly the packages not found."""
    names = {spec_name(p) for p in not_found}
    loose = next((r for r in plan.rungs if r.strategy == "loose"), None)
    if loose is None or not names:
        return None
    create, *rest = loose.steps
    specs = (create.input_text or "").splitlines()
    relaxed = [_unversioned(s) if spec_name(s) in names else s for s in specs]
    if relaxed == specs or create.input_file is None:
        return None
    old_file = create.input_file
    new_file = old_file[: -len(".loose.txt")] + ".relaxed.txt"
    argv = tuple(new_file if word == old_file else word for word in create.argv)
    text = "\n".join(relaxed) + "\n"
    return Rung("relaxed", (Step("conda", argv, input_file=new_file, input_text=text), *rest))


def plan_to_json(plan: EnvPlan) -> dict[str, Any]:
    return dataclasses.asdict(plan)


def plan_from_json(data: Mapping[str, Any]) -> EnvPlan:
    """The inverse of plan_to_json (plan.json holds one per env)."""

    def step(item: Mapping[str, Any]) -> Step:
        return Step(
            kind=item["kind"],
            argv=tuple(item["argv"]),
            packages=tuple(item.get("packages", ())),
            input_file=item.get("input_file"),
            input_text=item.get("input_text"),
        )

    return EnvPlan(
        name=data["name"],
        source_prefix=data["source_prefix"],
        target_prefix=data["target_prefix"],
        transforms=tuple(Transform(**t) for t in data["transforms"]),
        rungs=tuple(Rung(r["strategy"], tuple(step(s) for s in r["steps"])) for r in data["rungs"]),
        post_steps=tuple(step(s) for s in data["post_steps"]),
        relax=bool(data["relax"]),
        source_packages=tuple((n, v) for n, v in data["source_packages"]),
        kernels=tuple(data["kernels"]),
        release_id=data.get("release_id"),
    )


def _yaml_specs(text: str, what: str) -> tuple[list[str], list[str]]:
    """(channels, conda specs) of an exported env YAML; its pip section is planned separately."""
    from ruamel.yaml import YAML
    from ruamel.yaml.error import YAMLError

    try:
        document = YAML(typ="safe", pure=True).load(text) or {}
    except YAMLError as error:
        raise SharedError(f"{what} is not valid YAML: {error}", "Export the env again") from None
    if not isinstance(document, dict):
        raise SharedError(f"{what} is not an environment file", "Export the env again")
    channels = [str(c) for c in document.get("channels") or []]
    dependencies = [str(d) for d in document.get("dependencies") or [] if not isinstance(d, dict)]
    return channels, dependencies


def _conda_at_least(version: str | None, since: tuple[int, int]) -> bool:
    """Whether the target's conda is `since` or newer (an unknown version counts as new)."""
    numbers = tuple(int(p) for p in re.findall(r"\d+", version or "")[:2])
    return not numbers or numbers >= since


def _configured_channels(target: Path) -> Transform:
    return Transform(
        CONFIGURED_CHANNELS,
        "*",
        f"override_channels_enabled is false in {target}: the pinned and loose rungs name the "
        "source's channels with -c (first priority) and channel::pkg, and the target's "
        "configured channels took part in their solves too",
    )


def _render_lock(
    lock: str, manifest: Mapping[str, Any], taken_out: frozenset[str], sha256: bool
) -> str | None:
    """NAME.lock for the target's conda: its hash kind, without the packages taken out.

    None when some package has no URL (installed from a file): a lock cannot reproduce it.
    """
    records = {str(r.get("url")): r for r in manifest.get("conda", []) if r.get("url")}
    lines = []
    for line in lock.splitlines():
        if line.startswith("# no URL for"):
            return None
        if not line.strip() or line.startswith(("#", "@")):
            lines.append(line)
            continue
        url = line.split("#", 1)[0]
        record = records.get(url, {})
        if str(record.get("name", "")).lower() in taken_out:
            continue
        digests = (record.get("sha256"), record.get("md5")) if sha256 else (record.get("md5"),)
        digest = next((d for d in digests if d), None)
        lines.append(f"{url}#{digest}" if digest else url)
    return "\n".join(lines) + "\n"


def _create_step(
    conda: Sequence[str], prefix: str, spec_file: Path, channel_args: Sequence[str], text: str
) -> Step:
    """`conda create --file` (an @EXPLICIT lock needs no channels; specs get the source's)."""
    argv = (*conda, "create", "--json", "--yes", "--prefix", prefix, *channel_args)
    argv += ("--file", str(spec_file))
    return Step("conda", argv, input_file=str(spec_file), input_text=text)


def _install_step(
    conda: Sequence[str],
    prefix: str,
    channels: Sequence[str],
    specs: Sequence[str],
    use: RungChannels,
) -> Step:
    """`conda install` into the env being built, from `channels`."""
    argv = (*conda, "install", "--json", "--yes", "--prefix", prefix, *use.args(channels))
    return Step("conda", (*argv, *use.specs(specs, channels)), tuple(specs))


def _pip_steps(
    prefix: str, requirements: Path, entries: Sequence[str], *, exact: bool
) -> list[Step]:
    if not entries:
        return []
    argv = list(_pip_install(prefix))
    if exact:  # the export lists every pip dist, so their dependencies are already in the list
        argv.append("--no-deps")
    argv += ["-r", str(requirements)]
    names = tuple(spec_name(e.split("==")[0]) for e in entries)
    return [Step("pip", tuple(argv), names, str(requirements), "\n".join(entries) + "\n")]


def _pip_install(prefix: str) -> tuple[str, ...]:
    """pip of the new env itself, never asking questions."""
    pip = ["-m", "pip", "install", "--no-input", "--disable-pip-version-check"]
    return tuple(children.python_argv(f"{prefix}/bin/python", pip, keep_pythonpath=False))


def _source_requirement(source: Mapping[str, Any]) -> tuple[str, ...]:
    url = str(source["url"])
    if source.get("kind") == "vcs":
        commit = f"@{source['commit']}" if source.get("commit") else ""
        return (f"{source.get('vcs') or 'git'}+{url}{commit}",)
    path = url[len("file://") :] if url.startswith("file://") else url
    return ("-e", path) if source.get("kind") == "editable" else (path,)


def _local_path(source: Mapping[str, Any]) -> str | None:
    """The path a source lives at on this machine, when it is a local one."""
    url = str(source["url"])
    if url.startswith("file://"):
        return url[len("file://") :]
    return url if url.startswith("/") else None


def _source_gone(source: Mapping[str, Any], exists: Callable[[str], bool]) -> bool:
    path = _local_path(source)
    return path is not None and not exists(path)


def _source_transform(
    name: str, source: Mapping[str, Any], exists: Callable[[str], bool]
) -> Transform:
    where = str(source["url"])
    if _source_gone(source, exists):
        return Transform("manual-step", name, f"{where} no longer exists: install it by hand")
    return Transform("pip-post-step", name, f"pip-installed from {where}: installed after the env")


def _pip_source_step(
    prefix: str, name: str, source: Mapping[str, Any], exists: Callable[[str], bool]
) -> Step:
    argv = (*_pip_install(prefix), *_source_requirement(source))
    return Step("manual" if _source_gone(source, exists) else "pip", argv, (name,))


def _unversioned(spec: str) -> str:
    """The spec without its version; a `[build=*cuda*]` variant stays."""
    channel, sep, body = spec.strip().rpartition("::")
    body, bracket, keys = body.partition("[")
    bare = _VERSION_PART.split(body, maxsplit=1)[0]
    return f"{channel}{sep}{bare}{bracket}{keys}"


def with_variant(spec: str, variants: Mapping[str, str]) -> str:
    """`gpukit=1.0` -> `gpukit=1.0[build=*cuda*]` when the source's build was a cuda one; a
    spec that names its build or brackets already stays as it is."""
    word = variants.get(spec_name(spec))
    body = spec.strip().rpartition("::")[2]
    rest = body[len(spec_name(spec)) :].strip()
    names_build = "[" in body or bool(_NAMED_BUILD.match(rest)) or len(rest.split()) > 1
    return spec if word is None or names_build else f"{spec.strip()}[build=*{word}*]"


def _kept_variants(variants: Mapping[str, str], specs: Sequence[str]) -> tuple[Transform, ...]:
    named = sorted({spec_name(s) for s in specs} & set(variants))
    return tuple(
        Transform(
            "keep-variant",
            name,
            f"a {variants[name]} build in the source: the pinned and looser rungs ask for "
            f"build *{variants[name]}* (--relax-variants lets them choose)",
        )
        for name in named
    )


def _source_packages(manifest: Mapping[str, Any]) -> tuple[tuple[str, str], ...]:
    found = {normalize_name(str(r["name"])): str(r["version"]) for r in manifest.get("conda", [])}
    for dist in manifest.get("pip", []):
        found.setdefault(normalize_name(str(dist["name"])), str(dist["version"]))
    return tuple(sorted(found.items()))
