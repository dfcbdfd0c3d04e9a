"""conda-shared: tools and conda hooks for shared, multi-user conda installations."""

__version__ = "0.1.0"
