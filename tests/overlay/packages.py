"""Python packages for overlay tests, built offline: a wheelhouse and in-tree-backend sources."""

from __future__ import annotations

from pathlib import Path

from tests.support.channel import build_wheel

# A PEP 517/660 backend in the project itself (backend-path), so pip builds offline with no
# setuptools. Its editable wheel is a .pth pointing at src/, as setuptools' and hatch's are.
_BACKEND = """
import base64, hashlib, os, zipfile

NAME, VERSION, MODULE, FAIL, SLOW = {name!r}, {version!r}, {module!r}, {fail!r}, {slow!r}
DIST_INFO = NAME.replace("-", "_") + "-" + VERSION + ".dist-info"
METADATA = "Metadata-Version: 2.1\\nName: " + NAME + "\\nVersion: " + VERSION + "\\n\\n"
HERE = os.path.dirname(os.path.abspath(__file__))


def _wheel(directory, members):
    if SLOW:
        import time

        time.sleep(SLOW)
    if FAIL:
        raise RuntimeError("this package's build always fails (a test fixture)")
    members[DIST_INFO + "/METADATA"] = METADATA
    members[DIST_INFO + "/WHEEL"] = (
        "Wheel-Version: 1.0\\nRoot-Is-Purelib: true\\nTag: py3-none-any\\n"
    )
    record = []
    for path, text in members.items():
        digest = base64.urlsafe_b64encode(hashlib.sha256(text.encode()).digest()).rstrip(b"=")
        record.append(path + ",sha256=" + digest.decode() + "," + str(len(text.encode())))
    members[DIST_INFO + "/RECORD"] = "\\n".join(record + [DIST_INFO + "/RECORD,,"]) + "\\n"
    name = NAME.replace("-", "_") + "-" + VERSION + "-py3-none-any.whl"
    with zipfile.ZipFile(os.path.join(directory, name), "w") as archive:
        for path, text in members.items():
            archive.writestr(path, text)
    return name


def _metadata(directory):
    os.makedirs(os.path.join(directory, DIST_INFO))
    with open(os.path.join(directory, DIST_INFO, "METADATA"), "w") as stream:
        stream.write(METADATA)
    return DIST_INFO


def get_requires_for_build_wheel(config_settings=None):
    return []


get_requires_for_build_editable = get_requires_for_build_wheel
prepare_metadata_for_build_wheel = prepare_metadata_for_build_editable = (
    lambda directory, config_settings=None: _metadata(directory)
)


def build_wheel(directory, config_settings=None, metadata_directory=None):
    with open(os.path.join(HERE, "src", MODULE, "__init__.py")) as stream:
        return _wheel(directory, {{MODULE + "/__init__.py": stream.read()}})


def build_editable(directory, config_settings=None, metadata_directory=None):
    return _wheel(directory, {{"_" + MODULE + "_editable.pth": os.path.join(HERE, "src") + "\\n"}})
"""


def wheelhouse(directory: Path) -> Path:
    """tidy-util 1.0/1.1/1.2 (1.2 needs helper-lib>=2), helper-lib 1.0/2.0, fresh-tool 0.5
    (console script `fresh-tool`)."""
    build_wheel(directory, "tidy-util", "1.0")
    build_wheel(directory, "tidy-util", "1.1")
    build_wheel(directory, "tidy-util", "1.2", requires=["helper-lib>=2"])
    build_wheel(directory, "helper-lib", "1.0")
    build_wheel(directory, "helper-lib", "2.0")
    build_wheel(directory, "fresh-tool", "0.5", console_scripts={"fresh-tool": "fresh_tool:main"})
    return directory


def source_tree(
    directory: Path, name: str, version: str, *, fail_build: bool = False, slow: float = 0
) -> Path:
    """A project pip can build offline (wheel and editable) with its in-tree backend; its
    build raises with `fail_build`, and takes `slow` seconds more."""
    module = name.replace("-", "_")
    (directory / "src" / module).mkdir(parents=True)
    (directory / "src" / module / "__init__.py").write_text(f'__version__ = "{version}"\n')
    (directory / "pyproject.toml").write_text(
        '[build-system]\nrequires = []\nbuild-backend = "backend"\nbackend-path = ["."]\n'
    )
    (directory / "backend.py").write_text(
        _BACKEND.format(name=name, version=version, module=module, fail=fail_build, slow=slow)
    )
    return directory
