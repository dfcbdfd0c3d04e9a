"""Result files and the report rebuilt from them: JSON round trip, summary, CSV, Markdown."""

from __future__ import annotations

import csv
import dataclasses
import io
import json
from pathlib import Path

import pytest

from conda_shared.errors import SharedError
from conda_shared.replicate.plan import Transform
from conda_shared.replicate.report import (
    Attempt,
    EnvResult,
    PostStep,
    diff_versions,
    load_report,
    read_result,
    result_path,
    write_report,
    write_result,
)
from conda_shared.replicate.smoke import SmokeCheck, SmokeResult


def result(name: str, status: str, failure_class: str | None = None) -> EnvResult:
    ok = status == "replicated"
    return EnvResult(
        name=name,
        source_prefix=f"/src/envs/{name}",
        target_prefix=f"/dst/envs/{name}",
        status=status,
        strategy="pinned" if ok else None,
        attempts=(
            Attempt("lock", False, "package-not-found", ("libfoo=1.0",), 1.5),
            Attempt("pinned", ok, None if ok else failure_class, (), 2.0),
        ),
        failure_class=None if ok else failure_class,
        failure_packages=() if ok else ("libfoo=1.0",),
        error=None if ok else "The following packages are not available | from channels",
        transforms=(Transform("install-after", "mpctools", "legacy noarch"),),
        post_steps=(PostStep("manual", "pip install -e /gone", False),),
        diff=diff_versions({"a": "1", "b": "2", "gone": "1"}, {"a": "1", "b": "3", "new": "1"})
        if ok
        else None,
        smoke=SmokeResult(False, (SmokeCheck("import a", False, "ImportError: x"),))
        if ok
        else None,
        log=f"/run/logs/{name}.log",
        seconds=3.5,
    )


def test_diff_names_added_removed_and_changed_versions() -> None:
    diff = diff_versions({"a": "1", "b": "2", "gone": "1"}, {"a": "1", "b": "3", "new": "1"})
    assert diff.added == ("new=1",) and diff.removed == ("gone=1",)
    assert [(c.name, c.from_, c.to) for c in diff.changed] == [("b", "2", "3")]


def test_a_result_file_round_trips_and_uses_the_issue_field_names(tmp_path: Path) -> None:
    (tmp_path / "envs").mkdir()
    original = result("alpha", "replicated")
    write_result(tmp_path, original)
    data = json.loads(result_path(tmp_path, "alpha").read_text())
    assert data["diff"]["changed"] == [{"name": "b", "from": "2", "to": "3"}]
    assert data["smoke"] == {
        "ok": False,
        "checks": [{"name": "import a", "ok": False, "detail": "ImportError: x"}],
    }
    assert read_result(result_path(tmp_path, "alpha")) == original


def test_a_damaged_result_file_is_an_error_that_says_what_to_do(tmp_path: Path) -> None:
    (tmp_path / "envs").mkdir()
    result_path(tmp_path, "alpha").write_text('{"name": ')
    with pytest.raises(SharedError, match="damaged") as error:
        read_result(result_path(tmp_path, "alpha"))
    assert error.value.command == ("replicate", "--resume")
    assert read_result(result_path(tmp_path, "missing")) is None


def test_report_in_plan_order_with_summary_csv_and_markdown(tmp_path: Path) -> None:
    (tmp_path / "envs").mkdir()
    for item in (
        result("b", "failed", "unsatisfiable"),
        result("a", "replicated"),
        result("c", "failed", "package-not-found"),
        result("d", "failed", "package-not-found"),
        result("z-export-failed", "failed", "other"),
    ):
        write_result(tmp_path, item)
    report = load_report(
        tmp_path,
        source="/src",
        target="/dst",
        started="2026-12-02T15:30:00Z",
        planned=["a", "b", "c", "d", "e"],
        finished=None,
    )
    assert [e.name for e in report.envs] == ["a", "b", "c", "d", "z-export-failed"]
    assert report.summary() == (
        "1 replicated, 4 failed: 2 package-not-found, 1 unsatisfiable, 1 other; 1 not done"
    )
    write_report(report)
    document = json.loads((tmp_path / "report.json").read_text())
    assert document["finished"] is None and len(document["envs"]) == 5
    rows = list(csv.DictReader(io.StringIO((tmp_path / "report.csv").read_text())))
    assert rows[1]["failure_class"] == "unsatisfiable"
    assert rows[1]["failure_packages"] == "libfoo=1.0"
    assert rows[0]["smoke"] == "failed: import a"
    assert rows[0]["post_steps"] == "manual:failed"
    assert rows[0]["diff"] == "b 2→3, +new=1, -gone=1"
    markdown = (tmp_path / "report.md").read_text()
    assert "# Replication /src → /dst" in markdown
    assert "not available \\| from channels" in markdown, "a | in a cell is escaped"
    assert not list(tmp_path.glob(".*tmp")), "no temporary file left behind"


def test_an_unchanged_report_is_not_rewritten_and_a_missing_part_is(tmp_path: Path) -> None:
    (tmp_path / "envs").mkdir()
    write_result(tmp_path, result("a", "replicated"))

    def report(finished: str | None = None):  # type: ignore[no-untyped-def]
        return load_report(
            tmp_path, source="/s", target="/d", started="x", planned=["a"], finished=finished
        )

    write_report(report())
    files = [tmp_path / f"report.{suffix}" for suffix in ("json", "csv", "md")]
    inodes = [path.stat().st_ino for path in files]
    write_report(report())
    assert [path.stat().st_ino for path in files] == inodes, "nothing rewritten"
    (tmp_path / "report.md").unlink()
    write_report(report())
    assert (tmp_path / "report.md").exists()
    write_report(report(finished="2026-12-02T00:00:00Z"))
    assert json.loads(files[0].read_text())["finished"] == "2026-12-02T00:00:00Z"


def test_the_time_split_and_our_cpu_are_in_the_result_the_json_and_the_csv(tmp_path: Path) -> None:
    (tmp_path / "envs").mkdir()
    timed = dataclasses.replace(
        result("a", "replicated"), build_seconds=2.75, check_seconds=0.5, cpu_seconds=0.084
    )
    write_result(tmp_path, timed)
    assert read_result(result_path(tmp_path, "a")) == timed
    report = load_report(
        tmp_path, source="/s", target="/d", started="x", planned=["a"], finished=None
    )
    write_report(report)
    (row,) = csv.DictReader(io.StringIO((tmp_path / "report.csv").read_text()))
    assert (row["build_seconds"], row["check_seconds"], row["cpu_seconds"]) == (
        "2.8",
        "0.5",
        "0.08",
    )
    env = json.loads((tmp_path / "report.json").read_text())["envs"][0]
    assert (env["build_seconds"], env["check_seconds"], env["cpu_seconds"]) == (2.75, 0.5, 0.084)


def test_a_result_written_before_the_time_split_was_recorded_still_reads(tmp_path: Path) -> None:
    (tmp_path / "envs").mkdir()
    write_result(tmp_path, result("old", "replicated"))
    path = result_path(tmp_path, "old")
    data = json.loads(path.read_text())
    for key in ("build_seconds", "check_seconds", "cpu_seconds"):
        del data[key]
    path.write_text(json.dumps(data))

    read = read_result(path)

    assert read is not None
    assert (read.seconds, read.build_seconds, read.check_seconds) == (3.5, 0.0, 0.0)


def test_the_commands_cpu_stays_in_the_report_when_status_rebuilds_it(tmp_path: Path) -> None:
    (tmp_path / "envs").mkdir()
    write_result(tmp_path, result("a", "replicated"))

    def rebuilt(cpu_seconds: float | None, finished: str | None) -> dict:  # type: ignore[type-arg]
        write_report(
            load_report(
                tmp_path,
                source="/s",
                target="/d",
                started="x",
                planned=["a"],
                finished=finished,
                cpu_seconds=cpu_seconds,
            )
        )
        document: dict = json.loads((tmp_path / "report.json").read_text())  # type: ignore[type-arg]
        return document

    assert rebuilt(None, None)["cpu_seconds"] is None, "not known until the command finishes"
    assert rebuilt(0.31, "2026-12-07T22:00:00Z")["cpu_seconds"] == 0.31
    later = rebuilt(None, "2026-12-07T22:00:00Z")
    assert later["cpu_seconds"] == 0.31
