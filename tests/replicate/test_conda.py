"""Failure classes read from REAL conda --json error documents of three conda releases."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest

from conda_shared.replicate.conda import (
    classify,
    failed_urls,
    run_conda,
    run_pip,
    target_environ,
)

DATA = Path(__file__).parent.parent / "data" / "conda_errors"
VERSIONS = sorted(p.name for p in DATA.iterdir() if p.is_dir())


def document(version: str, case: str) -> dict:  # type: ignore[type-arg]
    return json.loads((DATA / version / f"{case}.json").read_text())


def test_documents_of_every_release_are_kept() -> None:
    assert VERSIONS == ["24.11.3", "24.3.0", "26.7.1"]


@pytest.mark.parametrize("version", VERSIONS)
def test_packages_not_found_names_each_missing_spec(version: str) -> None:
    failure = classify(document(version, "package-not-found"))
    assert failure.failure_class == "package-not-found"
    assert sorted(failure.packages) == ["nosuchpkg", "tidy-util=9.9"]
    assert failure.message.startswith("The following packages are not available")
    assert failure.message.endswith(":" + " " + ", ".join(failure.packages))


@pytest.mark.parametrize("version", VERSIONS)
def test_not_found_falls_back_to_the_message_without_a_packages_key(version: str) -> None:
    older = {k: v for k, v in document(version, "package-not-found").items() if k != "packages"}
    assert sorted(classify(older).packages) == ["nosuchpkg", "tidy-util=9.9"]


@pytest.mark.parametrize("version", VERSIONS)
def test_unsatisfiable_names_the_conflicting_requests(version: str) -> None:
    failure = classify(document(version, "unsatisfiable"))
    assert failure.failure_class == "unsatisfiable"
    assert sorted(failure.packages) == ["needs-old", "tidy-util"]


@pytest.mark.parametrize("version", VERSIONS)
def test_unsatisfiable_from_the_message_alone(version: str) -> None:
    bare = {k: v for k, v in document(version, "unsatisfiable").items() if k != "unsatisfiable"}
    assert sorted(classify(bare).packages) == ["needs-old", "tidy-util"]


@pytest.mark.parametrize("version", VERSIONS)
def test_a_gone_channel_is_channel_unavailable(version: str) -> None:
    failure = classify(document(version, "channel-unavailable"))
    assert failure.failure_class == "channel-unavailable"
    assert "gone" in failure.message


@pytest.mark.parametrize("version", VERSIONS)
def test_a_lock_url_no_longer_in_the_channel_is_package_not_found(version: str) -> None:
    doc = document(version, "explicit-missing")
    failure = classify(doc)
    assert failure.failure_class == "package-not-found"
    assert failure.packages == ("tidy-util=0.5",)
    (missing,) = failed_urls(doc)
    assert missing.endswith("/noarch/tidy-util-0.5-0.tar.bz2")


@pytest.mark.parametrize("version", VERSIONS)
def test_an_unwritable_prefix_is_filesystem(version: str) -> None:
    failure = classify(document(version, "filesystem"))
    assert failure.failure_class == "filesystem"
    assert "Unable to create prefix directory" in failure.message


def test_an_unknown_exception_is_other_and_keeps_its_name() -> None:
    failure = classify({"exception_name": "CondaValueError", "message": "bad value\nmore"})
    assert (failure.failure_class, failure.message) == ("other", "CondaValueError: bad value")


def test_http_404_on_a_tarball_is_not_found_and_on_repodata_is_channel() -> None:
    tarball = classify(
        {
            "exception_name": "CondaHTTPError",
            "error": "CondaHTTPError: HTTP 404 NOT FOUND for url <https://x/noarch/a-1.0-0.conda>",
            "url": "https://x/noarch/a-1.0-0.conda",
            "message": "HTTP 404 NOT FOUND for url",
        }
    )
    assert (tarball.failure_class, tarball.packages) == ("package-not-found", ("a=1.0",))
    index = classify(
        {
            "exception_name": "CondaHTTPError",
            "error": "CondaHTTPError: HTTP 000 CONNECTION FAILED for url <https://x/noarch/repodata.json>",
            "url": "https://x/noarch/repodata.json",
            "message": "HTTP 000 CONNECTION FAILED",
        }
    )
    assert index.failure_class == "channel-unavailable"


def fake_program(path: Path, stdout: str, status: int) -> Path:
    path.write_text(f"#!/bin/sh\ncat <<'EOF'\n{stdout}\nEOF\necho 'to stderr' >&2\nexit {status}\n")
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return path


@pytest.mark.parametrize("version", VERSIONS)
def test_run_conda_logs_everything_and_classifies_the_json_error(
    version: str, tmp_path: Path
) -> None:
    text = (DATA / version / "unsatisfiable.json").read_text()
    program = fake_program(tmp_path / "conda", "progress line\n" + text, 1)
    log = tmp_path / "env.log"
    outcome = run_conda([str(program), "create"], log=log)
    assert not outcome.ok
    assert outcome.failure is not None and outcome.failure.failure_class == "unsatisfiable"
    logged = log.read_text()
    assert "to stderr" in logged and "UnsatisfiableError" in logged and "[exit status 1]" in logged


def test_run_conda_success_and_garbage(tmp_path: Path) -> None:
    success = (DATA / "26.7.1" / "success.json").read_text()
    assert run_conda([str(fake_program(tmp_path / "ok", success, 0))], log=tmp_path / "l").ok
    crashed = run_conda(
        [str(fake_program(tmp_path / "bad", "Traceback (most", 1))], log=tmp_path / "l"
    )
    assert crashed.failure is not None and crashed.failure.failure_class == "other"
    missing = run_conda([str(tmp_path / "nothing-here")], log=tmp_path / "l")
    assert missing.failure is not None and missing.failure.failure_class == "other"


def test_run_pip_failure_is_pip_failed_with_its_error_line(tmp_path: Path) -> None:
    program = fake_program(tmp_path / "pip", "Collecting x\nERROR: No matching distribution", 1)
    outcome = run_pip([str(program)], log=tmp_path / "l", packages=["x"])
    assert outcome.failure is not None
    assert outcome.failure.failure_class == "pip-failed"
    assert outcome.failure.packages == ("x",)
    assert outcome.failure.message == "ERROR: No matching distribution"


def test_the_callers_conda_activation_does_not_leak_into_the_target(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("CONDA_PREFIX", "/somewhere/else")
    monkeypatch.setenv("CONDA_PKGS_DIRS", "/shared/pkgs")
    monkeypatch.setenv("CONDARC", "/home/me/.condarc-other")
    monkeypatch.setenv("PYTHONPATH", "/mine")
    monkeypatch.setenv("PIP_INDEX_URL", "https://mirror.example/simple")
    env = target_environ()
    assert "CONDA_PREFIX" not in env and "CONDA_PKGS_DIRS" not in env and "CONDARC" not in env
    assert "PYTHONPATH" not in env
    assert env["CONDA_REGISTER_ENVS"] == "false"
    assert env["PIP_INDEX_URL"] == "https://mirror.example/simple", "site pip config is kept"
    assert env["PATH"] == os.environ["PATH"]


def test_a_conda_that_crashes_instead_of_printing_json_is_read_from_its_traceback(
    tmp_path: Path,
) -> None:
    # conda 26.7.1 %-formats its own message while dumping the JSON error, so a `%20` in a
    # channel URL crashes it; the traceback still names the real exception.
    output = (DATA / "26.7.1" / "crashed-on-percent-in-channel-url.log").read_text()
    program = tmp_path / "conda"
    program.write_text(f"#!/bin/sh\ncat >&2 <<'EOF'\n{output}\nEOF\nexit 1\n")
    program.chmod(0o755)
    outcome = run_conda([str(program)], log=tmp_path / "l")
    assert outcome.failure is not None
    assert outcome.failure.failure_class == "channel-unavailable"
    assert outcome.failure.message.startswith("HTTP 404 UNAVAILABLE OR INVALID for channel")
