"""Build hook for the optional C accelerators; all metadata is in pyproject.toml.

``optional=True``: where an extension cannot be compiled (no C compiler, no Python headers),
installation goes on without it and datagate takes its Python code paths, which give the same
results (see datagate/inventory/native.py and datagate/_accel.py).
"""

from setuptools import Extension, setup

setup(
    ext_modules=[
        Extension(
            "datagate.inventory._native",
            sources=["datagate/inventory/_native.c"],
            optional=True,
        ),
        Extension(
            "datagate._picklewalk",
            sources=["datagate/_picklewalk.c"],
            optional=True,
        ),
        Extension(
            "datagate._words",
            sources=["datagate/_words.c"],
            optional=True,
        ),
    ]
)
