"""Jupyter kernelspecs: read them from disk (read) and keep them following `current` (follow)."""
