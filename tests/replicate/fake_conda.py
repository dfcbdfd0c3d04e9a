"""A stand-in for a target installation's `bin/python` (tier 1 orchestration tests only).

`python -m conda ...` answers with REAL captured conda JSON documents (tests/data/conda_errors):
a create whose input matches a rule in `<target>/fake-rules.json` half-builds the prefix and
fails with that rule's document (or sleeps, or kills the task, or builds an env whose smoke test
fails); otherwise it writes a conda-meta record per requested package (with --download-only: an
empty file per package in <target>/pkgs, one each $FAKE_FETCH_SECONDS).
`python -m pip ...` succeeds; anything else runs the real interpreter. Every call is appended
to `<target>/calls.jsonl`, the directory it started in to `<target>/cwds.txt`, and what the
prefix's build marker held at each build call to `<target>/markers.jsonl`, and the
CONDA_OVERRIDE_* variables of each call to `<target>/overrides.jsonl`. `info` reports the virtual
packages of a CPU-only glibc 2.36 host, as those variables change them.
"""

import json
import os
import re
import signal
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve()
TARGET = Path(os.environ.get("FAKE_CONDA_TARGET") or HERE.parent.parent)
RULES = TARGET / "fake-rules.json"
PACKAGE_FILE = re.compile(r"([^/#]+?)-([^-/#]+)-([^-/#]+?)(?:\.tar\.bz2|\.conda)(?:#\S*)?$")


def main(argv):
    with open(TARGET / "calls.jsonl", "a") as log:
        log.write(json.dumps(argv) + "\n")
    with open(TARGET / "cwds.txt", "a") as log:
        log.write(os.getcwd() + "\n")
    overrides = {k: v for k, v in os.environ.items() if k.startswith("CONDA_OVERRIDE_")}
    with open(TARGET / "overrides.jsonl", "a") as log:
        log.write(json.dumps([argv, overrides]) + "\n")
    command = argv[1:] if argv[:1] == ["-I"] else argv  # replicate runs them isolated
    if command[:2] == ["-m", "pip"]:
        return 0
    if command[:2] != ["-m", "conda"]:
        os.execv(REAL_PYTHON, [REAL_PYTHON, *argv])
    args = command[2:]
    if args[0] == "info":
        found = {"__glibc": "2.36", "__linux": "6.1", "__unix": "0", "__archspec": "x86_64"}
        for variable, value in overrides.items():
            found[f"__{variable[len('CONDA_OVERRIDE_') :].lower()}"] = value
        virtual = [
            [name, "1", value] if name == "__archspec" else [name, value, "0"]
            for name, value in sorted(found.items())
            if value
        ]
        document = {"conda_version": "26.7.1", "root_prefix": str(TARGET), "virtual_pkgs": virtual}
        print(json.dumps(document))
        return 0
    if args[0] == "config":  # config --show override_channels_enabled --json
        print(json.dumps({"override_channels_enabled": True}))
        return 0
    prefix = Path(args[args.index("--prefix") + 1])
    if "--download-only" not in args:  # what conda-shared's build marker said at this call
        marker = prefix / ".conda-shared-build"
        with open(TARGET / "markers.jsonl", "a") as seen:
            seen.write((marker.read_text().strip() if marker.is_file() else "null") + "\n")
    if "--file" in args:
        lines = Path(args[args.index("--file") + 1]).read_text().splitlines()
        requested = [line for line in lines if line.strip() and not line.startswith(("#", "@"))]
    else:
        requested = [a for a in args[args.index(str(prefix)) + 1 :] if not a.startswith("-")]
        requested = [a for a in requested if "://" not in a and a != "defaults"]
    for rule in json.loads(RULES.read_text()) if RULES.exists() else []:
        if rule.get("download_only") != ("--download-only" in args):
            continue
        hits = [line for line in requested if rule["match"] in line]
        if hits and rule.get("sleep"):  # a slow build, to be interrupted half-way
            (prefix / "conda-meta").mkdir(parents=True, exist_ok=True)
            time.sleep(rule["sleep"])
        elif hits and rule.get("kill_task"):  # the task dies mid-build (SIGKILL, OOM killer)
            (prefix / "conda-meta").mkdir(parents=True, exist_ok=True)
            os.kill(os.getppid(), signal.SIGKILL)
            return 1
        elif hits and rule.get("break_smoke"):  # builds, but the smoke test's import fails
            meta = prefix / "lib" / "python3.11" / "site-packages" / "broken-1.0.dist-info"
            meta.mkdir(parents=True, exist_ok=True)
            (meta / "top_level.txt").write_text("broken_on_purpose\n")
            (meta.parent / "broken_on_purpose.py").write_text("raise ImportError('broken')\n")
        elif hits:
            document = json.loads(Path(rule["document"]).read_text())
            if "packages" in document:
                document["packages"] = hits
            if "errors" in document:  # an @EXPLICIT fetch failure names the file
                for item in document["errors"]:
                    item["path"] = hits[0].split("#")[0].replace("file://", "")
            if not rule.get("download_only"):
                (prefix / "conda-meta").mkdir(parents=True, exist_ok=True)  # half-built
            print(json.dumps(document))
            return 1
    if "--download-only" in args:  # each package lands in the target's cache, one by one
        (TARGET / "pkgs").mkdir(exist_ok=True)
        for line in requested:
            time.sleep(float(os.environ.get("FAKE_FETCH_SECONDS", "0")))
            (TARGET / "pkgs" / line.split("#")[0].rsplit("/", 1)[-1]).write_text("")
    else:
        for line in requested:
            write_record(prefix, line)
        python = prefix / "bin" / "python"
        if not python.exists():
            python.parent.mkdir(parents=True, exist_ok=True)
            python.symlink_to(HERE)
    print(json.dumps({"success": True, "prefix": str(prefix)}))
    return 0


def write_record(prefix, spec):
    sys.path.insert(0, REPOSITORY)
    from tests.support.installation import write_record as write

    found = PACKAGE_FILE.search(spec)
    name, version = (found.group(1), found.group(2)) if found else [*spec.split("="), "0"][:2]
    (prefix / "conda-meta").mkdir(parents=True, exist_ok=True)
    write(prefix, name.split("::")[-1], version, channel="https://conda.anaconda.org/conda-forge")


REAL_PYTHON = "@REAL_PYTHON@"
REPOSITORY = "@REPOSITORY@"

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
