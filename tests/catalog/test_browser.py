"""The catalog in a real browser: Debian's chromium, headless, loads the site from disk; a user
types into the search box and follows a result. Skips (one line) where chromium or Playwright
is missing; not tier 2 (no conda involved)."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.catalog.helpers import settle
from tests.roots import make_sample, run_cli

CHROMIUM = "/usr/bin/chromium"
DOCS = Path(__file__).resolve().parents[2] / "docs"


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    sync_api = pytest.importorskip(
        "playwright.sync_api", reason="Playwright is not installed (pip install playwright)"
    )
    if not os.access(CHROMIUM, os.X_OK):
        pytest.skip(f"no {CHROMIUM}: install Debian's chromium (apt-get install chromium)")
    with sync_api.sync_playwright() as playwright:
        # --no-sandbox: chromium's sandbox refuses to run as root, as CI does
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        yield launched
        launched.close()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    opened = browser.new_page(viewport={"width": 1100, "height": 760})
    dialogs: list[str] = []
    opened.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    errors: list[str] = []
    opened.on("pageerror", lambda error: errors.append(str(error)))
    remote: list[str] = []
    opened.on(
        "request",
        lambda request: None if request.url.startswith("file://") else remote.append(request.url),
    )
    yield opened
    assert dialogs == [], "a value from disk ran as a script"
    assert errors == [], "the page's script failed"
    assert remote == [], "the catalog loaded something from the network"
    opened.close()


@pytest.fixture
def site(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Path:
    root = make_sample(tmp_path)
    settle(root)
    run_cli(capsys, "export", "--root", str(root))
    out = tmp_path / "catalog"
    assert run_cli(capsys, "catalog", "--root", str(root), "--out", str(out)).code == 0
    return out


def results(page: Any) -> list[str]:
    return [str(text) for text in page.locator("#results li").all_inner_texts()]


def test_typing_a_package_and_version_lists_the_envs_that_have_it(
    page: Any, site: Path, tmp_path: Path
) -> None:
    page.goto((site / "index.html").as_uri())
    page.locator("#query").press_sequentially("numpy 1.26")
    assert results(page) == [
        "nhis_reformat (v24.11): numpy 1.26.4",
        "with_removals (v24.11): numpy 1.26.4",
    ]
    assert page.inner_text("#search-status") == "2 matches"
    shot = tmp_path / "catalog.png"
    page.screenshot(path=str(shot))
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    if os.environ.get("CONDA_SHARED_UPDATE_DOCS"):  # docs/catalog.png, as docs/catalog.md says
        shutil.copyfile(shot, DOCS / "catalog.png")
    page.locator("#results a").first.click()
    page.wait_for_load_state()
    assert page.title().startswith("nhis_reformat (v24.11)")
    assert page.inner_text("code.activate") == "conda activate nhis_reformat"


def test_the_kernel_box_keeps_only_envs_with_a_kernel(page: Any, site: Path) -> None:
    page.goto((site / "index.html").as_uri())
    page.locator("#query").fill("python")
    every = results(page)
    page.locator("#with-kernel").check()
    with_kernel = results(page)
    assert len(every) == 13 and 0 < len(with_kernel) < len(every), "r_env has no Python"
    assert all(line.endswith("kernel") for line in with_kernel)
    page.locator("#query").fill("no-such-package")
    assert results(page) == [] and page.inner_text("#search-status") == "0 matches"


def test_hostile_names_show_as_text_in_the_results(
    page: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = make_sample(tmp_path)
    envs = root / "v24.11" / "envs"
    hostile = "<img src=x onerror=alert(1)>"
    os.rename(envs / "gitdev", envs / hostile)
    out = tmp_path / "catalog"
    assert run_cli(capsys, "catalog", "--root", str(root), "--out", str(out)).code == 0
    page.goto((out / "index.html").as_uri())
    page.locator("#query").fill("ipumspy")
    assert results(page) == [f"{hostile} (v24.11): ipumspy 0.5.1"]
    page.locator("#results a").first.click()
    page.wait_for_load_state()
    assert page.locator("h1").inner_text().startswith(hostile)
