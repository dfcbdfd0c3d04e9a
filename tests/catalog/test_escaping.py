"""Every value from disk stays data: names and URLs with markup, quotes and `../` in them."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pytest

from conda_shared.catalog.render import script_json
from tests.catalog.helpers import pip_install, settle
from tests.roots import make_sample, run_cli

HOSTILE = '<script>alert("x")</script>\'..\u2028'
HOSTILE_ENV = "<img src=x onerror=alert(1)>'\"..x"


@pytest.fixture
def site(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Path:
    """The sample with an env, a conda package and a pip URL named to break out of HTML."""
    root = make_sample(tmp_path)
    envs = root / "v24.11" / "envs"
    hostile = envs / HOSTILE_ENV
    os.rename(envs / "gitdev", hostile)
    record = {
        "name": HOSTILE,
        "version": "1.0</script>",
        "build": '"><b>0',
        "build_number": 0,
        "channel": "https://conda.anaconda.org/conda-forge/linux-64",
        "subdir": "linux-64",
        "url": "https://conda.anaconda.org/conda-forge/linux-64/x-1.0-0.conda",
        "md5": "0" * 32,
    }
    (hostile / "conda-meta" / "x-1.0-0.json").write_text(json.dumps(record))
    pip_install(hostile, "evil", "2.0", url='https://x.example/../../<script>alert(1)</script>"')
    settle(root)
    out = tmp_path / "site"
    result = run_cli(capsys, "catalog", "--root", str(root), "--out", str(out), "--json")
    assert result.code == 0, result.out
    return out


def test_no_markup_from_disk_reaches_a_page(site: Path) -> None:
    pages = list(site.rglob("*.html"))
    assert len(pages) == 17, "14 envs, the index, the report and the activity"
    for page in pages:
        text = page.read_text()
        assert "<script>alert" not in text and "<img" not in text and "<b>" not in text, page
    assert "&lt;img src=x onerror=alert(1)&gt;&#39;&#34;..x" in (site / "index.html").read_text()
    hostile = next(p for p in (site / "envs").iterdir() if "img" in p.name)
    text = hostile.read_text()
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;&#39;.." in text
    assert "<td>1.0&lt;/script&gt;</td><td>&#34;&gt;&lt;b&gt;0</td>" in text
    assert "https://x.example/../../&lt;script&gt;alert(1)&lt;/script&gt;&#34;" in text


def test_page_names_stay_inside_the_site(site: Path) -> None:
    for path in site.rglob("*"):
        assert Path(os.path.realpath(path)).is_relative_to(os.path.realpath(site))
    names = [p.name for p in (site / "envs").iterdir()]
    assert all(re.fullmatch(r"[A-Za-z0-9._-]+\.html", name) for name in names), names


def test_the_search_index_is_data_that_cannot_end_its_script(site: Path) -> None:
    script = (site / "search-index.js").read_text()
    assert script.startswith("window.CATALOG_INDEX = ") and script.endswith(";\n")
    assert "<" not in script and ">" not in script and "\u2028" not in script
    index = json.loads(script[len("window.CATALOG_INDEX = ") : -2])
    assert HOSTILE.lower() in index["packages"]
    assert [env[1] for env in index["envs"] if "img" in env[1]] == [HOSTILE_ENV]


def test_script_json_round_trips_what_it_escapes() -> None:
    value = {"a</script><!--": ["\u2028\u2029&", "'\""]}
    text = script_json(value)
    assert not set("<>&\u2028\u2029") & set(text)
    assert json.loads(text) == value
