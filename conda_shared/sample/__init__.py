"""A realistic sample shared root, written the way each conda era wrote it (4.3 to 26.x), so
every reader and verb can be tried on a fresh machine without conda."""

from .root import SampleRoot, build_sample

__all__ = ["SampleRoot", "build_sample"]
