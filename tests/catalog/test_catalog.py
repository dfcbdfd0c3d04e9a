"""`conda-shared catalog` on real roots: what the site shows, incremental reads, the report."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from conda_shared.catalog import collect as collect_module
from conda_shared.catalog.model import Catalog, EnvEntry, Package
from conda_shared.catalog.publish import sites_dir
from conda_shared.catalog.render import search_index_script
from conda_shared.prefix.cache import CACHE_DIR
from conda_shared.release.layout import ReleaseRecord, record_json, records_dir, release_prefix
from tests.catalog.helpers import conda_install, pip_install, settle
from tests.roots import make_sample, run_cli
from tests.support.users import OTHER

Capsys = pytest.CaptureFixture[str]


@pytest.fixture
def root(tmp_path: Path) -> Path:
    root = make_sample(tmp_path)
    settle(root)
    return root


def catalog(capsys: Capsys, root: Path, out: Path, *options: str) -> dict:  # type: ignore[type-arg]
    result = run_cli(capsys, "catalog", "--root", str(root), "--out", str(out), "--json", *options)
    assert result.code == 0, result.out + result.err
    return result.json()


def page_of(site: Path, name: str) -> str:
    index = (site / "index.html").read_text()
    link = re.search(rf'<a href="(envs/[^"]+)">{re.escape(name)}</a>', index)
    assert link, f"{name} is not listed on the index page"
    return (site / link.group(1)).read_text()


def test_the_site_lists_installations_envs_and_each_envs_packages(
    root: Path, tmp_path: Path, capsys: Capsys
) -> None:
    run_cli(capsys, "export", "--root", str(root))
    out = tmp_path / "www" / "catalog"
    result = catalog(capsys, root, out)
    assert result["envs"] == 14 and result["installations"] == 2
    assert result["read_again"] == 14 and result["incremental"] is False
    index = (out / "index.html").read_text()
    assert "<td>v24.11</td><td>current</td>" in index and "<td>24.11.3</td>" in index
    assert "<td>v26.7</td><td>qa</td>" in index and "<td>26.7.1</td>" in index
    gitdev = page_of(out, "gitdev")
    assert '<code class="activate">conda activate gitdev</code>' in gitdev
    assert (
        "<td>python</td><td>3.11.10</td><td>hc5c86c4_3_cpython</td><td>conda-forge</td>" in gitdev
    )
    assert (
        "<td>ipumspy</td><td>0.5.1</td><td>vcs</td><td>https://github.com/ipums/ipumspy.git</td>"
        in gitdev
    )
    # export's files are offered for download, copied into the site
    links = re.findall(r'<a href="\.\./(specs/[^"]+)" download>', gitdev)
    assert [Path(link).name for link in links] == [
        "gitdev.yml", "gitdev.lock", "gitdev.history.yml", "gitdev.conda-lock.yml", "gitdev.json",
    ]  # fmt: skip
    assert (out / links[1]).read_bytes() == (root / "specs/v24.11/gitdev.lock").read_bytes()
    # an env of the qa installation is activated by its path through the pointer
    smoke = page_of(out, "smoke")
    assert f"conda activate {root}/qa/envs/smoke" in smoke


def test_a_kernel_and_an_admin_overlay_show_on_their_envs_page(
    root: Path, tmp_path: Path, capsys: Capsys
) -> None:
    gitdev = (root / "v24.11" / "envs" / "gitdev").resolve()
    overlays = root / "overlays"
    generation = overlays / ".gitdev.gen-0123abcd"
    (generation / "conda-meta").mkdir(parents=True)
    (generation / "overlay.json").write_text(json.dumps({"env_prefix": str(gitdev)}))
    pip_install(generation, "ipumspy", "0.6.0", site="lib/python3.11/site-packages")
    (overlays / "gitdev").symlink_to(generation.name)
    subprocess.run(["chmod", "-R", "go-w", str(overlays)], check=True)
    out = tmp_path / "site"
    catalog(capsys, root, out)
    kernel_env = page_of(out, "super_important_jupyter_kernel")
    assert re.search(r"<dt>kernels</dt><dd>[^<]*\S[^<]*</dd>", kernel_env)
    page = page_of(out, "gitdev")
    assert "<dt>kernels</dt><dd>none</dd>" in page
    assert "<h2>Admin overlays</h2>" in page and "Admin overlays" not in page_of(out, "r_env")
    assert "<td>ipumspy</td><td>0.6.0</td><td>0.5.1</td>" in page, "it shadows the env's 0.5.1"


def test_incremental_reads_again_only_the_envs_pip_or_conda_changed(
    root: Path, tmp_path: Path, capsys: Capsys
) -> None:
    out = tmp_path / "site"
    assert catalog(capsys, root, out)["read_again"] == 14
    again = catalog(capsys, root, out)
    assert (again["incremental"], again["read_again"]) == (True, 0), "nothing changed"
    envs = root / "v24.11" / "envs"
    pip_install(envs / "gitdev", "polars", "1.2.3")
    conda_install(envs / "r_env", "r-ggplot2", "3.5.1")
    changed = catalog(capsys, root, out)
    assert changed["read_again"] == 2
    assert "<td>polars</td><td>1.2.3</td>" in page_of(out, "gitdev")
    assert "<td>r-ggplot2</td><td>3.5.1</td>" in page_of(out, "r_env")
    assert catalog(capsys, root, out, "--full")["read_again"] == 14


def test_an_unchanged_env_is_not_read_again(
    root: Path, tmp_path: Path, capsys: Capsys, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "site"
    catalog(capsys, root, out)

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("an unchanged env was read again")

    monkeypatch.setattr(collect_module, "read_env", refuse)
    assert catalog(capsys, root, out)["read_again"] == 0
    assert "<td>ipumspy</td><td>0.5.1</td>" in page_of(out, "gitdev")


def test_a_cache_another_user_could_write_is_ignored(
    root: Path, tmp_path: Path, capsys: Capsys
) -> None:
    out = tmp_path / "site"
    catalog(capsys, root, out)
    entries = {}
    # plant a lie in every entry: the same signature, a package the env does not have
    cache = sites_dir(out) / CACHE_DIR
    for entry in cache.glob("*.catalog.json"):
        document = json.loads(entry.read_text())
        entries[Path(document["signature"].splitlines()[0]).name] = entry
        document["data"]["packages"] = [["planted", "6.6.6", "0", "evil"]]
        entry.write_text(json.dumps(document))
    assert len(entries) == 14
    entries["gitdev"].chmod(0o666)
    if os.geteuid() == 0:
        os.chown(entries["r_env"], OTHER, OTHER)
    result = catalog(capsys, root, out)
    planted = [env for env in ("gitdev", "r_env", "smoke") if "planted" in page_of(out, env)]
    assert planted == (["smoke"] if os.geteuid() == 0 else ["r_env", "smoke"])
    assert result["read_again"] == (2 if os.geteuid() == 0 else 1)
    cache.chmod(0o777)
    result = catalog(capsys, root, out)
    assert result["read_again"] == 14
    assert any("env cache" in note and "ignored" in note for note in result["notes"])
    assert "planted" not in page_of(out, "gitdev")


def test_releases_show_with_date_who_and_diff(root: Path, tmp_path: Path, capsys: Capsys) -> None:
    installation = (root / "v24.11").resolve()
    env = installation / "envs" / "gitdev"
    for release_id, parent in (("2026.12.01", None), ("2026.12.07", "2026.12.01")):
        prefix = release_prefix(installation, "gitdev", release_id)
        shutil.copytree(env, prefix, symlinks=True)
        record = ReleaseRecord(
            id=release_id, env="gitdev", installation=installation.name, parent=parent,
            user="ann", uid=1000, sudo_user=None, created=f"{release_id.replace('.', '-')}T10:00Z",
            kind="release", change={"add": ["polars"]},
            diff={"added": [["polars", "1.2.3"]], "removed": [], "changed": [["pip", "2", "3"]]},
            content_key="sha256:" + "0" * 64, smoke=None,
        )  # fmt: skip
        folder = records_dir(root, installation, "gitdev", release_id)
        folder.mkdir(parents=True)
        (folder / "release.json").write_text(record_json(record))
    subprocess.run(["chmod", "-R", "u+w", str(env)], check=True)
    shutil.rmtree(env)
    env.symlink_to(".releases/gitdev/2026.12.07")
    out = tmp_path / "site"
    catalog(capsys, root, out)
    page = page_of(out, "gitdev")
    rows = re.findall(r"<tr( class=\"current\")?><td>(2026\.12\.0\d)", page)
    assert rows == [(' class="current"', "2026.12.07"), ("", "2026.12.01")]
    assert "<td>2026-12-07T10:00Z</td><td>ann</td><td>release</td>" in page
    assert '<span class="added">+polars=1.2.3</span>' in page
    assert '<span class="changed">pip 2 → 3</span>' in page


def test_the_latest_replicate_run_is_a_page_with_a_chart(
    root: Path, tmp_path: Path, capsys: Capsys
) -> None:
    from conda_shared.replicate.run import replicate
    from tests.support.fake_target import add_fake_target

    add_fake_target(root)
    data = Path(__file__).parent.parent / "data" / "conda_errors" / "26.7.1"
    rule = {"match": "pandas", "document": str(data / "unsatisfiable.json"), "download_only": False}
    (root / "vfake" / "fake-rules.json").write_text(json.dumps([rule]))
    replicate(root=root, names=("nhis_reformat", "mixed_numpy"), target="vfake")
    out = tmp_path / "site"
    catalog(capsys, root, out)
    report = (out / "report.html").read_text()
    bars = re.findall(r'<text x="0" y="\d+" class="label">([^<]+)</text>', report)
    assert bars == ["replicated", "failed", "failed: unsatisfiable"]
    assert report.count("<rect ") == 3
    assert (
        '<tr class="failed"><td>nhis_reformat</td><td>failed</td><td>unsatisfiable</td>' in report
    )


def test_recent_audit_entries_are_listed_newest_first(
    root: Path, tmp_path: Path, capsys: Capsys
) -> None:
    run_cli(capsys, "export", "--root", str(root), "gitdev")
    run_cli(capsys, "export", "--root", str(root), "r_env")
    out = tmp_path / "site"
    catalog(capsys, root, out)
    activity = (out / "activity.html").read_text()
    commands = re.findall(r"<td>(export 1 envs[^<]*)</td>", activity)
    assert len(commands) == 2


def test_text_output_says_what_was_read_and_where_to_open_it(
    root: Path, tmp_path: Path, capsys: Capsys
) -> None:
    out = tmp_path / "site"
    result = run_cli(capsys, "catalog", "--root", str(root), "--out", str(out))
    assert result.code == 0
    lines = result.out.splitlines()
    assert lines[0].startswith("catalog of 2 installations and 14 environments (all read)")
    assert lines[1] == f"open {(out / 'index.html').as_uri()} (or serve {out} with any web server)"
    assert "[14] v26.7 smoke" in result.err


def test_without_jinja2_one_line_names_the_extra(
    root: Path, tmp_path: Path, capsys: Capsys, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "jinja2", None)
    out = tmp_path / "site"
    result = run_cli(capsys, "catalog", "--root", str(root), "--out", str(out))
    assert result.code == 1
    assert result.err.splitlines() == [
        "conda-shared: error: the catalog needs Jinja2, which is not installed in this Python. "
        "Install the catalog extra: pip install conda-shared[catalog]"
    ]
    assert not os.path.lexists(out) and not any(sites_dir(out).glob("*"))


def test_an_unreadable_env_is_listed_and_the_others_still_shown(
    root: Path, tmp_path: Path, capsys: Capsys
) -> None:
    record = next((root / "v24.11" / "envs" / "gitdev" / "conda-meta").glob("python-*.json"))
    record.write_text("{not json")
    out = tmp_path / "site"
    result = run_cli(capsys, "catalog", "--root", str(root), "--out", str(out))
    assert result.code == 1
    assert result.out.splitlines()[0].startswith(
        f"FAILED  v24.11/gitdev: {record} is not valid JSON"
    )
    assert "Could not be read:" in page_of(out, "gitdev")
    assert "<td>ipumspy</td>" not in page_of(out, "gitdev")
    assert "<td>pyreadstat</td>" in page_of(out, "nhis_reformat")


def test_the_search_index_of_200_envs_of_150_packages_stays_under_2_mib() -> None:
    names = [f"package-{number:03d}-{'x' * (number % 12)}" for number in range(600)]
    envs = tuple(
        EnvEntry(
            installation="v26.7",
            name=f"team-{env:03d}-analysis",
            prefix=Path(f"/e/{env}"),
            page=f"envs/v26.7-team-{env:03d}-analysis-0123456789.html",
            activate="",
            python_version="3.12.7",
            content_key=None,
            packages=tuple(
                Package(names[(env * 7 + n) % 600], f"{n % 30}.{env % 20}.{n % 7}", "h1_0", "c")
                for n in range(150)
            ),
            pip=(),
            kernels=("Python",) if env % 3 else (),
            overlays=(),
            releases=(),
            spec_files=(),
            error=None,
            read_again=True,
        )
        for env in range(200)
    )
    catalog = Catalog(Path("/r"), "", (), envs, None, (), ())
    size = len(search_index_script(catalog).encode())
    assert size < 2 * 2**20, f"{size / 2**20:.2f} MiB"
