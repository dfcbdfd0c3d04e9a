"""Overlays: per-user and admin pip prefixes put in front of one read-only environment's Python."""
