"""specs.py: the four spec levels and the risks, built from the sample's environments."""

from __future__ import annotations

import json
import random
import shlex
from pathlib import Path

import pytest
from ruamel.yaml import YAML

from conda_shared.channels import path_to_file_url
from conda_shared.installation import read_installation
from conda_shared.kernels.read import read_kernels
from conda_shared.prefix import EnvState, read_env
from conda_shared.specs import EnvSpecs, SourceInfo, build_specs, content_key
from tests.roots import make_sample


@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_sample(tmp_path_factory.mktemp("specs"))


def specs_for(root: Path, name: str) -> tuple[EnvState, EnvSpecs]:
    inst = read_installation(root / "current")
    location = inst.find_env(name)
    assert location is not None
    env = read_env(location.prefix, name=name, config=inst.config)
    source = SourceInfo(path=inst.path, conda_version=inst.conda_version, config=inst.config)
    return env, build_specs(env, source=source, kernels=read_kernels(root / "kernels"))


def load(text: str) -> dict:  # type: ignore[type-arg]
    return YAML(typ="safe").load(text)


def codes(specs: EnvSpecs) -> set[str]:
    return {r.code for r in specs.risks}


def test_pinned_yaml_is_the_no_builds_form_with_pip(sample: Path) -> None:
    _, specs = specs_for(sample, "nhis_reformat")
    doc = load(specs.pinned)
    assert doc["name"] == "nhis_reformat"
    assert "prefix" not in doc
    assert doc["channels"][0] == "defaults"
    assert doc["dependencies"][:4] == ["numpy=1.26.4", "pandas=1.5.3", "pip=24.2", "python=3.9.20"]
    assert doc["dependencies"][4] == {"pip": ["pyreadstat==1.2.7", "tqdm==4.66.1"]}
    assert codes(specs) == {"conda-lock-omits"}  # from an index: no URL and hash recorded


def test_lock_is_explicit_with_hashes_and_no_tokens(sample: Path) -> None:
    env, specs = specs_for(sample, "mirror_env")
    lines = specs.lock.splitlines()
    assert "# platform: linux-64" in lines
    assert f"# content-key: {specs.content_key}" in lines
    urls = lines[lines.index("@EXPLICIT") + 1 :]
    assert len(urls) == len(env.records)
    for url in urls:
        base, digest = url.split("#")
        assert len(digest) == 64 and base.endswith(".tar.bz2")
    assert not any("/t/" in line for line in lines)
    assert any(line.startswith("https://conda-mirror.example.org/conda-forge/") for line in urls)
    assert "https://conda-mirror.example.org/conda-forge" in load(specs.pinned)["channels"]
    assert "isrdi-private" in load(specs.pinned)["channels"]


def test_old_records_lock_with_md5(sample: Path) -> None:
    _, specs = specs_for(sample, "old_not_used")
    urls = specs.lock.split("@EXPLICIT\n")[1].splitlines()
    assert all(u.startswith("https://repo.continuum.io/pkgs/free/linux-64/") for u in urls)
    assert all(len(u.split("#")[1]) == 32 for u in urls)


def test_loose_yaml_follows_history_and_command_channels(sample: Path) -> None:
    _, specs = specs_for(sample, "with_removals")
    assert load(specs.loose)["dependencies"] == ["numpy", "pandas=2.2", "python=3.10"]
    _, isis = specs_for(sample, "isis3.6.0")
    loose = load(isis.loose)
    assert loose["channels"][:2] == ["usgs-astrogeology", "conda-forge"]
    assert loose["dependencies"] == ["isis=3.6.0", "python=3.6"]


def test_pip_provenance_in_pinned_and_loose(sample: Path) -> None:
    _, git = specs_for(sample, "gitdev")
    pip_pinned = load(git.pinned)["dependencies"][-1]["pip"]
    assert pip_pinned == [
        "ipumspy @ git+https://github.com/ipums/ipumspy.git@3f1c2e9a7b5d4c6e8f0a1b2c3d4e5f6a7b8c9d0e"
    ]
    assert load(git.loose)["dependencies"][-1]["pip"] == [
        "ipumspy @ git+https://github.com/ipums/ipumspy.git@main"
    ]
    assert codes(git) == {"pip-vcs", "conda-lock-omits"}
    _, editable = specs_for(sample, "editable_dev")
    assert load(editable.pinned)["dependencies"][-1]["pip"] == [
        "-e /home/alice/src/hhtool",
        "-e /home/bob/src/census_utils",
    ]
    assert codes(editable) == {"pip-editable", "conda-lock-omits"}


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ("mixed_numpy", {"conda-and-pip", "conda-lock-omits"}),
        ("legacy_mpc", {"legacy-noarch", "custom-channel", "noarch-in-pip", "conda-lock-omits"}),
        ("mirror_env", {"custom-channel"}),
        ("isis4.3.0", set()),
    ],
)
def test_risks_predict_replication_failures(sample: Path, env: str, expected: set[str]) -> None:
    assert codes(specs_for(sample, env)[1]) == expected


def test_channel_gone_when_local_channel_lost_the_package(sample: Path, tmp_path: Path) -> None:
    root = make_sample(tmp_path)
    (root / "mpc" / "noarch" / "repodata.json").write_text('{"packages": {}}')
    assert "channel-gone" in codes(specs_for(root, "legacy_mpc")[1])


def test_manifest_tells_everything(sample: Path) -> None:
    env, specs = specs_for(sample, "super_important_jupyter_kernel")
    manifest = json.loads(specs.manifest)
    assert manifest["schema"] == "conda-shared/manifest/1"
    assert manifest["content_key"] == specs.content_key == content_key(env)
    assert manifest["kernels"][0]["name"] == "super_important_jupyter_kernel"
    assert manifest["made_by_conda"] == "24.11.3"
    assert {p["name"] for p in manifest["conda"]} == {r.name for r in env.records}
    assert manifest["files"] == {
        "lock": "super_important_jupyter_kernel.lock",
        "pinned": "super_important_jupyter_kernel.yml",
        "loose": "super_important_jupyter_kernel.history.yml",
        "conda_lock": "super_important_jupyter_kernel.conda-lock.yml",
    }
    _, legacy = specs_for(sample, "legacy_mpc")
    pip = json.loads(legacy.manifest)["pip"][0]
    assert (pip["name"], pip["installer"], pip["source"]["kind"]) == (
        "ipums-core",
        "conda",
        "unknown",
    )


def test_content_key_changes_with_the_package_set(sample: Path, tmp_path: Path) -> None:
    root = make_sample(tmp_path)
    before, _ = specs_for(root, "isis4.3.0")
    record = next((root / "current/envs/isis4.3.0/conda-meta").glob("numpy-*.json"))
    data = json.loads(record.read_text())
    data["sha256"] = "f" * 64
    record.write_text(json.dumps(data))
    after, _ = specs_for(root, "isis4.3.0")
    assert content_key(before) != content_key(after)
    assert content_key(before) == content_key(specs_for(sample, "isis4.3.0")[0])


@pytest.mark.parametrize(
    "document",
    [
        {"name": "x", "channels": ["defaults", "file:///srv/chan"], "dependencies": ["a=1"]},
        {
            "name": "yes",
            "channels": ["https://mirror.example.org/conda-forge", "user/label/dev"],
            "dependencies": [
                "numpy>=1.2,<2",
                "conda-forge::pandas=2.2",
                "weird name: with # signs",
                {"pip": ["-e /home/a b/src", "x @ git+https://h/r.git@abc", "on", "'quoted'"]},
            ],
        },
    ],
)
def test_yaml_emitter_round_trips(document: dict) -> None:  # type: ignore[type-arg]
    from conda_shared.specs.yaml import dump as _yaml

    assert YAML(typ="safe").load(_yaml(document)) == document


def _generated_scalars(seed: int, count: int) -> list[str]:
    """Names, versions and pip entries YAML may misread: numbers, dates, words, indicators."""
    rng = random.Random(seed)
    tricky = [
        "1.10",
        "2024",
        "1e3",
        "0x1F",
        "0o17",
        "+1",
        "-1",
        ".5",
        "1_000",
        "12:30:00",
        "2024-01-02",
        "yes",
        "No",
        "ON",
        "off",
        "y",
        "N",
        "null",
        "Null",
        "~",
        "true",
        "False",
        ".inf",
        "-.Inf",
        ".NaN",
        "=",
        "<<",
        "a: b",
        "#x",
        "x #y",
        "- x",
        "? x",
        "!tag",
        "&a",
        "*a",
        "@x",
        "`x",
        "%x",
        "[1]",
        "{a}",
        "'q'",
        '"q"',
        "|",
        ">",
        ",",
        "a\tb",
        " lead",
        "trail ",
        "",
        "ä-ü",
        "x\\y",
        "1.10 ",
        "0",
    ]
    alphabet = "abz019._-=<>!,*+~/: #'\"\\[]{}&?|%@`"
    generated = [
        "".join(rng.choice(alphabet) for _ in range(rng.randint(1, 8))) for _ in range(count)
    ]
    return tricky + generated


def test_every_scalar_reads_back_as_the_same_string_the_way_conda_loads_it() -> None:
    from conda_shared.specs.yaml import dump

    conda_yaml = YAML(typ="safe", pure=True)  # how conda reads environment files
    values = _generated_scalars(seed=8, count=2000)
    for value in values:
        document = {"name": value, "channels": [value], "dependencies": [value, {"pip": [value]}]}
        assert conda_yaml.load(dump(document, key="sha256:" + "0" * 64)) == document, value


@pytest.mark.parametrize("name", ["1.10", "2024", "1e3", "0x1F", "yes", "null", "a: b", "#x"])
def test_env_files_keep_names_yaml_would_misread(tmp_path: Path, name: str) -> None:
    root = make_sample(tmp_path)
    envs = root / "current" / "envs"
    (envs / "r_env").rename(envs / name)
    _, specs = specs_for(root, name)
    conda_yaml = YAML(typ="safe", pure=True)
    assert conda_yaml.load(specs.pinned)["name"] == name
    assert conda_yaml.load(specs.loose)["name"] == name
    assert json.loads(specs.manifest)["name"] == name


def test_all_five_files_name_the_content_key(sample: Path) -> None:
    _, specs = specs_for(sample, "gitdev")
    for text in (specs.pinned, specs.loose, specs.lock, specs.conda_lock):
        assert f"# content-key: {specs.content_key}\n" in text
    assert json.loads(specs.manifest)["content_key"] == specs.content_key
    assert set(specs.files()) == {".yml", ".lock", ".history.yml", ".conda-lock.yml", ".json"}
    assert list(specs.files())[-1] == ".json"  # the manifest is replaced last


def test_retired_defaults_channels_keep_their_urls(sample: Path) -> None:
    _, specs = specs_for(sample, "old_not_used")
    assert "https://repo.continuum.io/pkgs/free" in load(specs.pinned)["channels"]


def _encode_like_conda(record_path: Path) -> None:
    """Rewrite a record's file:// channel and url the way conda writes them: percent-encoded."""
    data = json.loads(record_path.read_text())
    for field in ("channel", "url"):
        path = data[field][len("file://") :]
        data[field] = path_to_file_url(path)
    record_path.write_text(json.dumps(data))


def test_file_channel_in_a_path_with_spaces_is_not_gone(tmp_path: Path) -> None:
    root = make_sample(tmp_path, name="shared root ä")
    record = next((root / "current/envs/legacy_mpc/conda-meta").glob("mpctools-*.json"))
    _encode_like_conda(record)
    _, specs = specs_for(root, "legacy_mpc")
    assert "channel-gone" not in codes(specs)
    channel = path_to_file_url(root / "mpc")
    assert "%20" in channel and "%C3%A4" in channel
    assert channel in load(specs.pinned)["channels"]
    assert f"{channel}/noarch/mpctools-1.2-py_0.tar.bz2#" in specs.lock
    (root / "mpc" / "noarch" / "repodata.json").write_text('{"packages": {}}')
    assert "channel-gone" in codes(specs_for(root, "legacy_mpc")[1])


def test_pip_paths_with_spaces_stay_one_argument(tmp_path: Path) -> None:
    root = make_sample(tmp_path)
    site = next((root / "current/envs/editable_dev").glob("lib/python*/site-packages"))
    direct_url = next(site.glob("*.dist-info/direct_url.json"))
    data = json.loads(direct_url.read_text())
    data["url"] = path_to_file_url("/home/al ice/src/Wörk tool")
    direct_url.write_text(json.dumps(data))
    _, specs = specs_for(root, "editable_dev")
    pip = load(specs.pinned)["dependencies"][-1]["pip"]
    assert "-e '/home/al ice/src/Wörk tool'" in pip
    assert shlex.split(next(p for p in pip if "al ice" in p))[1] == "/home/al ice/src/Wörk tool"
