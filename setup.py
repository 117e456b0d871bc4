"""Build hook for the optional C accelerator of the inventory; all metadata is in pyproject.toml.

``optional=True``: where the extension cannot be compiled (no C compiler, no Python headers),
installation goes on without it and datagate uses the pure-Python twins of its two functions,
which give the same results (see datagate/inventory/native.py).
"""

from setuptools import Extension, setup

setup(
    ext_modules=[
        Extension(
            "datagate.inventory._native",
            sources=["datagate/inventory/_native.c"],
            optional=True,
        )
    ]
)
