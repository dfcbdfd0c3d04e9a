"""Change one shared environment as a dated, immutable release, switched atomically.

The package root imports nothing: replicate's task processes load `replicated` and `layout`
alone, without the solve and build machinery of `change`.
"""
