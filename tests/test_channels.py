"""channels.py: channel names as the source installation knew them, never with secrets."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from conda_shared.channels import (
    canonical_file_url,
    file_url_to_path,
    path_to_file_url,
    resolve_channel,
    spec_channel,
    split_package_url,
    strip_secrets,
)
from conda_shared.condarc import CondaConfig

STOCK = CondaConfig()


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        (
            "https://conda.anaconda.org/t/tk-123-abc/private/noarch/x.conda",
            "https://conda.anaconda.org/private/noarch/x.conda",
        ),
        (
            "https://user:s3cret@mirror.example.org/c/linux-64/x.conda",
            "https://mirror.example.org/c/linux-64/x.conda",
        ),
        ("file:///srv/chan/noarch/x.tar.bz2", "file:///srv/chan/noarch/x.tar.bz2"),
    ],
)
def test_strip_secrets(url: str, expected: str) -> None:
    assert strip_secrets(url) == expected


def test_split_package_url() -> None:
    assert split_package_url(
        "https://repo.anaconda.com/pkgs/main/linux-64/python-3.9.0-h_0.conda"
    ) == (
        "https://repo.anaconda.com/pkgs/main",
        "linux-64",
        "python-3.9.0-h_0.conda",
    )
    assert split_package_url("file:///tmp/x.tar.bz2") == ("file:///tmp", None, "x.tar.bz2")


@pytest.mark.parametrize(
    ("base", "name"),
    [
        ("https://repo.anaconda.com/pkgs/main", "defaults"),
        ("https://repo.continuum.io/pkgs/free", "https://repo.continuum.io/pkgs/free"),
        ("https://repo.anaconda.com/pkgs/pro", "https://repo.anaconda.com/pkgs/pro"),
        ("https://repo.anaconda.com/pkgs/msys2", "defaults"),
        ("pkgs/free", "https://repo.anaconda.com/pkgs/free"),
        ("pkgs/r", "defaults"),
        ("https://repo.anaconda.com/pkgs/r", "defaults"),
        ("https://conda.anaconda.org/conda-forge", "conda-forge"),
        ("https://conda.anaconda.org/user/label/dev", "user/label/dev"),
        (
            "https://conda-mirror.example.org/conda-forge",
            "https://conda-mirror.example.org/conda-forge",
        ),
        ("file:///pkg/ipums/conda/mpc", "file:///pkg/ipums/conda/mpc"),
        ("conda-forge", "conda-forge"),
        ("pkgs/main", "defaults"),
    ],
)
def test_spec_channel_with_stock_config(base: str, name: str) -> None:
    assert spec_channel(base, STOCK) == name


def test_custom_default_channels_keep_full_urls() -> None:
    config = CondaConfig(default_channels=("https://mirror.corp/pkgs/main",))
    assert (
        spec_channel("https://repo.anaconda.com/pkgs/main", config)
        == "https://repo.anaconda.com/pkgs/main"
    )
    assert spec_channel("https://mirror.corp/pkgs/main", config) == "https://mirror.corp/pkgs/main"


def test_bare_names_resolve_against_source_alias_and_custom_channels() -> None:
    config = CondaConfig(
        channel_alias="https://mirror.corp/conda",
        custom_channels=(("mpc", "file:///pkg/conda"),),
    )
    assert spec_channel("conda-forge", config) == "https://mirror.corp/conda/conda-forge"
    assert spec_channel("mpc", config) == "file:///pkg/conda/mpc"


def test_resolve_channel_prefers_url_and_handles_old_records() -> None:
    modern = resolve_channel(
        "https://conda.anaconda.org/conda-forge/noarch/a-1-0.conda", "conda-forge", STOCK
    )
    assert (modern.name, modern.base_url, modern.subdir) == (
        "conda-forge",
        "https://conda.anaconda.org/conda-forge",
        "noarch",
    )
    old = resolve_channel(None, "https://repo.continuum.io/pkgs/free/linux-64", STOCK)
    assert (old.name, old.subdir) == ("https://repo.continuum.io/pkgs/free", "linux-64")
    unknown = resolve_channel(None, "<unknown>", STOCK)
    assert unknown.name == "<unknown>"
    nothing = resolve_channel(None, None, STOCK)
    assert nothing.name == "<unknown>"


@pytest.mark.parametrize(
    "path",
    [
        "/srv/conda channels/site",
        "/srv/Kanäle/conda",
        "/srv/100% #1/chan",
        os.fsdecode(b"/srv/latin1-\xe9t\xe9"),  # not UTF-8: must survive the round trip
    ],
)
def test_file_urls_round_trip_paths_with_spaces_and_non_ascii(path: str) -> None:
    url = path_to_file_url(path)
    assert " " not in url and url.isascii() and "#" not in url
    assert file_url_to_path(url) == Path(path)
    assert canonical_file_url(url) == url


def test_file_urls_are_read_the_way_conda_writes_them() -> None:
    # conda.common.url.path_to_url encodes everything but alphanumerics and !'()*-._/:
    assert file_url_to_path("file:///srv/my%20chan/%C3%A4%7Eb") == Path("/srv/my chan/ä~b")
    assert file_url_to_path("file://localhost/srv/x") == Path("/srv/x")
    assert canonical_file_url("file:///srv/my chan/ä") == "file:///srv/my%20chan/%C3%A4"
    assert canonical_file_url("https://host/a b") == "https://host/a b"


def test_spec_channel_writes_file_channels_encoded() -> None:
    assert spec_channel("file:///srv/my chan", STOCK) == "file:///srv/my%20chan"
    ref = resolve_channel("file:///srv/my%20chan/noarch/x-1-0.conda", None, STOCK)
    assert (ref.name, ref.subdir) == ("file:///srv/my%20chan", "noarch")
