"""smoke_test on real interpreters: venvs in tmp_path holding small hand-written distributions."""

from __future__ import annotations

import json
import subprocess
import sys
import zipfile
from collections.abc import Mapping, Sequence
from pathlib import Path

import pytest

from conda_shared.kernels.read import read_kernels
from conda_shared.replicate import smoke
from conda_shared.replicate.smoke import SmokeCheck, smoke_test, top_level_modules
from tests.support.channel import base_interpreter, bundled_pip_wheel

PY = f"python{sys.version_info[0]}.{sys.version_info[1]}"


def make_env(path: Path, *, copies: bool = False) -> Path:
    """A real environment: a venv (its own interpreter) with a conda-meta folder."""
    args = [str(base_interpreter()), "-m", "venv", "--without-pip", str(path)]
    subprocess.run([*args, "--copies"] if copies else args, check=True)
    (path / "conda-meta").mkdir()
    return path


def site(prefix: Path) -> Path:
    return prefix / "lib" / PY / "site-packages"


def write_dist(
    prefix: Path,
    name: str,
    version: str,
    modules: Mapping[str, str],
    *,
    requires: Sequence[str] = (),
    top_level: Sequence[str] | None = None,
) -> None:
    """A dist-info and its modules (path relative to site-packages: source)."""
    site_dir = site(prefix)
    dist_info = site_dir / f"{name.replace('-', '_')}-{version}.dist-info"
    dist_info.mkdir(parents=True)
    metadata = f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n"
    metadata += "".join(f"Requires-Dist: {requirement}\n" for requirement in requires)
    (dist_info / "METADATA").write_text(metadata)
    record = [f"{dist_info.name}/METADATA,,"]
    for relative, source in modules.items():
        (site_dir / relative).parent.mkdir(parents=True, exist_ok=True)
        (site_dir / relative).write_text(source)
        record.append(f"{relative},,")
    record.append(f"../../../bin/{name}-tool,,")  # a script: not a module
    (dist_info / "RECORD").write_text("\n".join(record) + "\n")
    if top_level is not None:
        (dist_info / "top_level.txt").write_text("".join(f"{line}\n" for line in top_level))


def add_pip(prefix: Path) -> None:
    """pip unpacked into site-packages, as conda links it."""
    with zipfile.ZipFile(bundled_pip_wheel()) as wheel:
        wheel.extractall(site(prefix))


def by_name(checks: Sequence[SmokeCheck]) -> dict[str, SmokeCheck]:
    return {check.name: check for check in checks}


@pytest.fixture
def env(tmp_path: Path) -> Path:
    return make_env(tmp_path / "envs" / "new env")  # a space in the path, as sites have


def test_a_sound_env_passes_every_import_and_pip_check(env: Path) -> None:
    add_pip(env)
    write_dist(env, "tidy-util", "1.0", {"tidy_util/__init__.py": "X = 1\n"})
    write_dist(env, "single", "2.0", {"single.py": ""}, requires=["tidy-util>=1"])
    write_dist(
        env, "declared", "3.0", {"dec_a/__init__.py": "", "dec_b.py": ""}, top_level=["dec_a"]
    )

    result = smoke_test(prefix=env)

    checks = by_name(result.checks)
    assert result.ok, result.checks
    assert checks["import tidy_util"] == SmokeCheck("import tidy_util", True, "from tidy_util 1.0")
    assert checks["import single"].ok
    assert "import dec_a" in checks
    assert "import dec_b" not in checks, "top_level.txt wins over RECORD"
    assert "import pip" in checks
    assert checks["pip check"] == SmokeCheck("pip check", True, "No broken requirements found.")


def test_a_module_that_does_not_import_fails_the_smoke_naming_the_error(env: Path) -> None:
    write_dist(env, "good", "1.0", {"good.py": ""})
    write_dist(env, "broken", "1.0", {"broken/__init__.py": "import not_installed_dep\n"})

    result = smoke_test(prefix=env)

    checks = by_name(result.checks)
    assert not result.ok
    assert checks["import broken"] == SmokeCheck(
        "import broken", False, "ModuleNotFoundError: No module named 'not_installed_dep'"
    )
    assert checks["import good"].ok
    assert checks["pip check"].detail == "skipped: pip is not installed in the environment"


def test_a_module_that_kills_the_interpreter_is_recorded_and_the_rest_still_run(env: Path) -> None:
    write_dist(env, "a-first", "1.0", {"a_first.py": ""})
    write_dist(env, "crasher", "1.0", {"crasher.py": "import os\nos.kill(os.getpid(), 9)\n"})
    write_dist(env, "z-last", "1.0", {"z_last.py": "print('noise on import')\n"})

    checks = by_name(smoke_test(prefix=env).checks)

    assert checks["import crasher"] == SmokeCheck(
        "import crasher", False, "the interpreter was killed by SIGKILL"
    )
    assert checks["import a_first"].ok
    assert checks["import z_last"].ok


def test_a_module_that_hangs_times_out_and_the_rest_still_run(
    env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(smoke, "IMPORT_TIMEOUT_S", 3.0)
    write_dist(env, "hangs", "1.0", {"hangs.py": "import time\ntime.sleep(600)\n"})
    write_dist(env, "later", "1.0", {"later.py": ""})

    checks = by_name(smoke_test(prefix=env).checks)

    assert checks["import hangs"] == SmokeCheck("import hangs", False, "timed out after 3 s")
    assert checks["import later"].ok


def test_modules_that_need_a_display_or_gpu_are_skipped_and_recorded(env: Path) -> None:
    write_dist(env, "PyAutoGUI", "0.9", {"pyautogui/__init__.py": "raise RuntimeError('X')\n"})
    write_dist(env, "cupy", "13.0", {"cupy/__init__.py": "raise RuntimeError('no CUDA')\n"})

    result = smoke_test(prefix=env)

    checks = by_name(result.checks)
    assert result.ok
    assert checks["import pyautogui"] == SmokeCheck(
        "import pyautogui", True, "skipped: needs a display"
    )
    assert checks["import cupy"].detail == "skipped: needs a GPU"


def test_pip_check_failure_names_the_missing_requirement(env: Path) -> None:
    add_pip(env)
    write_dist(env, "needy", "1.0", {"needy.py": ""}, requires=["absent-thing>=2"])

    result = smoke_test(prefix=env)

    check = by_name(result.checks)["pip check"]
    assert not result.ok
    assert not check.ok
    assert check.detail == "needy 1.0 requires absent-thing, which is not installed."


def test_the_env_is_checked_isolated_from_the_callers_python_settings(
    env: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "not_installed_dep.py").write_text("")
    monkeypatch.setenv("PYTHONPATH", str(outside))
    monkeypatch.chdir(outside)
    write_dist(env, "broken", "1.0", {"broken.py": "import not_installed_dep\n"})

    assert not by_name(smoke_test(prefix=env).checks)["import broken"].ok


def test_an_env_without_python_has_nothing_to_import(tmp_path: Path) -> None:
    prefix = tmp_path / "r-env"
    (prefix / "conda-meta").mkdir(parents=True)

    result = smoke_test(prefix=prefix)

    assert result.ok
    assert result.checks == (SmokeCheck("python", True, "no Python in this environment: skipped"),)


def test_python_distributions_without_an_interpreter_fail(tmp_path: Path) -> None:
    prefix = tmp_path / "half"
    write_dist(prefix, "tidy-util", "1.0", {"tidy_util/__init__.py": ""})

    result = smoke_test(prefix=prefix)

    assert not result.ok
    assert result.checks[0].name == "python"
    assert "no " + str(prefix / "bin" / "python") in result.checks[0].detail


def test_modules_listed_but_never_installed_are_not_tested(env: Path) -> None:
    write_dist(env, "pywin-ish", "1.0", {"real_mod.py": ""}, top_level=["real_mod", "win32api"])

    assert list(top_level_modules(env)) == ["real_mod"]


def kernel_dir(root: Path, name: str, argv: Sequence[str]) -> Path:
    folder = root / "kernels" / name
    folder.mkdir(parents=True)
    (folder / "kernel.json").write_text(json.dumps({"argv": list(argv), "display_name": name}))
    return root / "kernels"


LAUNCHER = "import sys\nif __name__ == '__main__':\n    sys.exit('started')\n"


def test_a_kernel_resolves_its_launcher_in_the_new_env(tmp_path: Path, env: Path) -> None:
    source = make_env(tmp_path / "v1" / "envs" / "lab", copies=True)
    (tmp_path / "current").symlink_to("v1")  # kernels point through the site's pointer
    through_pointer = tmp_path / "current" / "envs" / "lab" / "bin" / "python"
    kernels = read_kernels(
        kernel_dir(tmp_path, "lab", [str(through_pointer), "-m", "ipykernel_launcher", "-f", "{c}"])
    )
    write_dist(env, "ipykernel", "6.0", {"ipykernel_launcher.py": LAUNCHER})

    result = smoke_test(prefix=env, kernels=kernels)

    check = by_name(result.checks)["kernel lab"]
    assert kernels[0].env_prefix == source
    assert result.ok, check
    origin = site(env) / "ipykernel_launcher.py"
    assert check.detail == f"{env / 'bin' / 'python'} -m ipykernel_launcher resolves to {origin}"


def test_a_kernel_whose_launcher_is_missing_fails(tmp_path: Path, env: Path) -> None:
    source = make_env(tmp_path / "old" / "lab", copies=True)
    (site(source) / "ipykernel_launcher.py").write_text(LAUNCHER)
    kernels = read_kernels(
        kernel_dir(tmp_path, "lab", [str(source / "bin" / "python"), "-m", "ipykernel_launcher"])
    )

    result = smoke_test(prefix=env, kernels=kernels)

    check = by_name(result.checks)["kernel lab"]
    assert not result.ok
    assert check.detail == f"{env / 'bin' / 'python'} cannot find module ipykernel_launcher"


def test_a_kernel_interpreter_missing_in_the_new_env_fails(tmp_path: Path, env: Path) -> None:
    source = make_env(tmp_path / "old" / "lab", copies=True)
    (source / "bin" / "python3.6").symlink_to("python")
    kernels = read_kernels(kernel_dir(tmp_path, "lab", [str(source / "bin" / "python3.6")]))

    check = by_name(smoke_test(prefix=env, kernels=kernels).checks)["kernel lab"]

    assert check == SmokeCheck(
        "kernel lab",
        False,
        f"{source / 'bin' / 'python3.6'} maps to {env / 'bin' / 'python3.6'}, which does not exist",
    )


def test_an_unreadable_kernelspec_fails_with_its_path(tmp_path: Path, env: Path) -> None:
    kernels_root = kernel_dir(tmp_path, "bad", ["python"])
    spec = kernels_root / "bad" / "kernel.json"
    spec.write_bytes(b"\xff{not json")
    kernels = read_kernels(kernels_root)

    check = by_name(smoke_test(prefix=env, kernels=kernels).checks)["kernel bad"]

    assert not check.ok
    assert check.detail.startswith(f"cannot read argv from {spec}: ")


def pip_check_lines(env: Path) -> list[str]:
    """What pip itself says of the env (the check the smoke test reproduces without pip)."""
    python = env / "bin" / "python"
    done = subprocess.run(
        [str(python), "-I", "-m", "pip", "check", "--disable-pip-version-check"],
        capture_output=True,
        text=True,
        cwd=env,
        check=False,
    )
    return sorted(line for line in done.stdout.splitlines() if line.strip())


def test_broken_requirements_are_reported_in_pip_checks_words(env: Path) -> None:
    add_pip(env)
    write_dist(env, "helper_lib", "1.0", {"helper_lib.py": ""})
    write_dist(env, "Tidy.Util", "1.2", {"tidy_util.py": ""}, requires=["helper-lib>=2"])
    write_dist(env, "needy", "1.0.0-RC1", {"needy.py": ""}, requires=["Absent_Thing"])
    write_dist(
        env,
        "picky",
        "3.0",
        {"picky.py": ""},
        requires=[
            "helper-lib<1.0; python_version < '3'",  # never for this Python: not judged
            "never-there; sys_platform == 'win32'",
            "optional-dep; extra == 'fast'",  # only with picky[fast]
            "helper-lib>=1,!=1.0.1",
        ],
    )
    expected = pip_check_lines(env)
    assert len(expected) == 2, expected  # pip sees the breakage planted here

    check = by_name(smoke_test(prefix=env).checks)["pip check"]

    assert not check.ok
    assert sorted(check.detail.split("; ")) == expected
    assert check.detail == (
        "needy 1.0.0rc1 requires absent-thing, which is not installed.; "
        "tidy-util 1.2 has requirement helper-lib>=2, but you have helper-lib 1.0."
    )


def started_processes(monkeypatch: pytest.MonkeyPatch) -> list[Sequence[str]]:
    """The arguments of every interpreter the smoke test starts from now on."""
    started: list[Sequence[str]] = []
    real_run = smoke._run

    def recording(python: Path, args: Sequence[str], timeout: float) -> object:
        started.append(args)
        return real_run(python, args, timeout)

    monkeypatch.setattr(smoke, "_run", recording)
    return started


def test_one_python_process_runs_imports_and_pip_check_and_none_runs_for_nothing(
    env: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    started = started_processes(monkeypatch)
    bare = make_env(tmp_path / "bare")

    assert smoke_test(prefix=bare).checks == (
        SmokeCheck("pip check", True, "skipped: pip is not installed in the environment"),
    )
    assert started == [], "an env with no modules and no pip starts no process"

    add_pip(env)
    write_dist(env, "tidy-util", "1.0", {"tidy_util/__init__.py": ""})
    result = smoke_test(prefix=env)

    assert result.ok, result.checks
    assert {"import pip", "import tidy_util", "pip check"} <= set(by_name(result.checks))
    assert len(started) == 1, "imports and pip check share one interpreter"


def test_pip_check_still_judges_after_a_module_kills_the_interpreter(env: Path) -> None:
    add_pip(env)
    write_dist(env, "crasher", "1.0", {"crasher.py": "import os\nos.kill(os.getpid(), 9)\n"})
    write_dist(env, "needy", "1.0", {"needy.py": ""}, requires=["absent-thing"])

    checks = by_name(smoke_test(prefix=env).checks)

    assert not checks["import crasher"].ok
    assert checks["import needy"].ok
    assert checks["pip check"] == SmokeCheck(
        "pip check", False, "needy 1.0 requires absent-thing, which is not installed."
    )


def test_a_python_without_importlib_metadata_gets_pip_check_from_pip(
    env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    started = started_processes(monkeypatch)
    add_pip(env)
    write_dist(env, "needy", "1.0", {"needy.py": ""}, requires=["absent-thing"])
    # As on Python 3.7: the check script cannot import importlib.metadata (pip still can).
    (site(env) / "old_python.pth").write_text(
        "import sys; sys.argv[1:2] == ['list'] and "
        "sys.modules.__setitem__('importlib.metadata', None)\n"
    )

    check = by_name(smoke_test(prefix=env).checks)["pip check"]

    assert check == SmokeCheck(
        "pip check", False, "needy 1.0 requires absent-thing, which is not installed."
    )
    assert [args[:2] for args in started] == [["-c", smoke._CHECK_SCRIPT], ["-m", "pip"]]


def test_distributions_that_cannot_be_listed_fail_pip_check_and_the_imports_still_run(
    env: Path,
) -> None:
    add_pip(env)
    write_dist(env, "tidy-util", "1.0", {"tidy_util.py": ""})
    (site(env) / "broken_listing.pth").write_text(
        "import sys; sys.argv[1:2] == ['list'] and "
        "setattr(__import__('importlib.metadata').metadata, 'distributions', None)\n"
    )

    checks = by_name(smoke_test(prefix=env).checks)

    assert checks["import tidy_util"].ok
    assert checks["pip check"] == SmokeCheck(
        "pip check",
        False,
        "cannot list the distributions: TypeError: 'NoneType' object is not callable",
    )
