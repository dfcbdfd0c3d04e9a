"""The cache fill's judgement of what conda fetched: gone files by conda's own names for them,
and packages that count as cached only once extracted whole."""

from __future__ import annotations

from pathlib import Path

from conda_shared.replicate.cache import cached, without_gone

CHANNEL = "file:///srv/my%20channels/main/linux-64"


def line(file_name: str, folder: str = CHANNEL) -> str:
    return f"{folder}/{file_name}#{'0' * 64}"


def test_a_gone_file_is_matched_by_the_path_conda_names_spaces_and_all() -> None:
    # conda 26.7.1's document for a file:// URL that is gone: the path, decoded
    document = {
        "exception_name": "CondaMultiError",
        "errors": [
            {
                "exception_name": "PathNotFoundError",
                "path": "/srv/my channels/main/linux-64/drift-1.0-0.tar.bz2",
            }
        ],
    }
    lines = [line("python-3.11.2-0.tar.bz2"), line("drift-1.0-0.tar.bz2")]

    assert without_gone(lines, document) == [line("python-3.11.2-0.tar.bz2")]


def test_a_gone_http_file_is_matched_by_its_url() -> None:
    url = "https://conda.example.org/main/linux-64/old-1.0-0.conda"
    document = {"exception_name": "CondaHTTPError", "url": url}
    kept = line("new-2.0-0.conda", "https://conda.example.org/main/linux-64")

    assert without_gone([f"{url}#{'0' * 64}", kept], document) == [kept]


def test_only_a_package_extracted_whole_counts_as_cached(tmp_path: Path) -> None:
    first, second = tmp_path / "pkgs", tmp_path / "user pkgs"
    whole = first / "python-3.11.2-0" / "info"
    whole.mkdir(parents=True)
    (whole / "repodata_record.json").write_text("{}")
    (first / "pip-23.0.1-0.tar.bz2").write_text("")  # a failed fill's: fetched, never extracted
    (first / "pip-23.0.1-0" / "info").mkdir(parents=True)
    elsewhere = second / "tidy-util-1.0-0" / "info"
    elsewhere.mkdir(parents=True)
    (elsewhere / "repodata_record.json").write_text("{}")
    lines = [
        line("python-3.11.2-0.tar.bz2"),
        line("pip-23.0.1-0.tar.bz2"),
        line("tidy-util-1.0-0.conda"),
        line("missing-1.0-0.conda"),
    ]

    assert cached(lines, [first, second]) == {lines[0], lines[2]}
