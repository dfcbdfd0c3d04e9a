"""The migration on real conda for `bash .ci/demo`: a small shared root built offline, then
export, replicate (one env fails, with its class and fix), cutover, rollback and an overlay on a
read-only env, each step printed as a user types it, followed by its real output.

    python .ci/demo_migration.py DIR   # a Python where `import conda` works; DIR new or empty

CONDA_SHARED_SOURCE_CONDA_PYTHON names the (older) conda that builds the source installation;
the new installation runs the conda of this Python. The root is built by the tests' builders.
"""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.overlay.packages import wheelhouse
from tests.support.channel import Channel
from tests.support.installation import installation_environ, make_installation
from tests.support.replication import (
    SOURCE_CONDA_PYTHON_VARIABLE,
    EnvRecipe,
    build_source,
    remove_package,
    source_conda_python,
)

ENVS = (
    EnvRecipe("analysis", ("python", "pip", "tidy-util", "libdata")),
    EnvRecipe("legacy", ("oldlib=1.0",)),
    EnvRecipe("survey", ("python", "pip", "tidy-util=1.0")),
)
PROBE = "import tidy_util as t; print(t.__version__, t.__file__)"


def conda_version(python: Path) -> str:
    probe = [str(python), "-c", "import conda; print(conda.__version__)"]
    return subprocess.run(probe, capture_output=True, text=True, check=True).stdout.strip()


def build_root(work: Path) -> tuple[Path, Path, Path]:
    """work/root with `current` -> the old installation (ENVS built by the source conda; survey
    read-only) and `qa` -> a new one (this Python's conda, conda-shared in its base); then the
    channel drops oldlib 1.0, which `legacy` asked for. Returns root, old, new."""
    old_version, new_version = (
        conda_version(source_conda_python()),
        conda_version(Path(sys.executable)),
    )
    old_name = "v" + ".".join(old_version.split(".")[:2])
    new_name = "v" + ".".join(new_version.split(".")[:2])
    if new_name == old_name:
        new_name += "-new"
    channel = Channel(work / "channel")
    channel.add_basics()
    channel.add("oldlib", "1.0")
    channel.add("oldlib", "2.0")
    channel.index()
    old = build_source(work, envs=ENVS, main_channel=channel, name=old_name)
    new = make_installation(
        work / "root" / new_name, channel_urls=[channel.url], work=work, with_conda_shared=True
    )
    root = work / "root"
    (root / "current").symlink_to(old_name)
    (root / "qa").symlink_to(new_name)
    remove_package(channel, "oldlib", "1.0")
    subprocess.run(["chmod", "-R", "a-w", str(old / "envs" / "survey")], check=True)
    print(f"A shared root that real conda built offline, in {root}:")
    print(f"  current -> {old_name}  conda {old_version}: envs analysis, legacy, survey")
    print("                       (survey is read-only, as shared envs are)")
    print(f"  qa      -> {new_name}  conda {new_version}, conda-shared in its base, no envs yet")
    print("Since the envs were built, the channel dropped oldlib 1.0, which legacy asked for.")
    print(f"`conda` below is {new}/bin/python -m conda; HOME is {work / 'home'}.")
    return root, old, new


def note(text: str) -> None:
    print(f"\n# {text}")


def step(new: Path, home: Path, *args: str | Path, expect: int = 0) -> None:
    """Print `$ conda shared ARGS` and run it with the new installation's conda."""
    words = [str(arg) for arg in args]
    print(f"\n$ conda shared {shlex.join(words)}", flush=True)
    done = subprocess.run(
        [str(new / "bin" / "python"), "-m", "conda", "shared", *words],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=installation_environ(home),
        cwd=home,
        check=False,
    )
    print(done.stdout, end="")
    if done.returncode:
        print(f"[exit {done.returncode}]")
    if done.returncode != expect:
        raise SystemExit(f"demo: `conda shared {words[0]}` exited {done.returncode}, not {expect}")


def main(work: Path) -> None:
    if SOURCE_CONDA_PYTHON_VARIABLE not in os.environ:
        print(f"(one conda on both sides; {SOURCE_CONDA_PYTHON_VARIABLE} can name an older one)")
    root, _old, new = build_root(work)
    home = work / "home"
    wheels = wheelhouse(work / "wheels")
    step(new, home, "status", "--root", root)
    step(new, home, "export", "--root", root)
    names = [env.name for env in ENVS]
    step(new, home, "replicate", "--root", root, *names, "--jobs", "2", expect=1)
    note("legacy pinned oldlib=1.0, which the channel dropped; --relax unpins exactly that")
    step(new, home, "replicate", "--root", root, "--resume", "--relax")
    note("every env replicated and passed its smoke test: switch current to the new installation")
    step(new, home, "cutover", "--root", root, "--yes")
    note("and back, in one command, if anything falls apart")
    step(new, home, "cutover", "--root", root, "--rollback", "--yes")
    note("a user needs a newer tidy-util in the read-only env survey: their own overlay")
    step(new, home, "overlay", "install", "survey", "--root", root, "tidy-util==1.2",
         "--", "--no-index", "--find-links", wheels)  # fmt: skip
    step(new, home, "overlay", "run", "--root", root, "survey", "--", "python", "-c", PROBE)


def is_new_or_empty(path: Path) -> bool:
    """Nothing in it but dot files (such as the marker `.ci/demo` puts there)."""
    return not path.exists() or all(entry.name.startswith(".") for entry in path.iterdir())


if __name__ == "__main__":
    if len(sys.argv) != 2 or not is_new_or_empty(Path(sys.argv[1])):
        raise SystemExit("usage: python .ci/demo_migration.py DIR  (a new or empty folder)")
    target = Path(sys.argv[1]).resolve()
    target.mkdir(parents=True, exist_ok=True)
    main(target)
