"""hooks/versions.py: the conda versions that change the hooks' advice."""

from __future__ import annotations

from conda_shared.hooks.versions import offline_cache_joins_solve, url_specs_supported


def test_conda_version_gates() -> None:
    assert url_specs_supported("26.7.1") and url_specs_supported("27.1.0")
    assert not url_specs_supported("26.5.3") and not url_specs_supported("24.11.3")
    assert offline_cache_joins_solve("24.3.0", "classic")
    assert offline_cache_joins_solve("25.5.1", "classic")
    assert not offline_cache_joins_solve("25.7.0", "classic")
    assert not offline_cache_joins_solve("24.11.3", "libmamba")
