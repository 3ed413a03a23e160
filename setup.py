"""The one build step pyproject.toml cannot say for every setuptools: the optional C accelerator.

``framework.http1.speedups`` (``framework/http1/speedups*.c``: one module, compiled
from one file per concept, which share ``speedups.h``) is built when a C
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
            [
                "framework/http1/speedups.c",
                "framework/http1/speedups_head.c",
                "framework/http1/speedups_requesthead.c",
                "framework/http1/speedups_response.c",
                "framework/http1/speedups_urlencoded.c",
            ],
            # Rebuilt when the shared header changes (MANIFEST.in puts it in the sdist).
            depends=["framework/http1/speedups.h"],
            optional=True,
        )
    ]
)
