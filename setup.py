"""The one build step pyproject.toml cannot say for every setuptools: the optional C accelerator.

``framework.http1.speedups`` (``framework/http1/speedups.c``) is built when a C
compiler and the Python headers are there; ``optional=True`` turns a failed
build into a warning, and the framework then runs its pure-Python parser and
writer (the reference the accelerator is tested against). Everything else
about the package is in pyproject.toml.
"""

from setuptools import Extension, setup

setup(
    ext_modules=[
        Extension(
            "framework.http1.speedups",
            ["framework/http1/speedups.c"],
            optional=True,
        )
    ]
)
