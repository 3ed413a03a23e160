"""The services' image as built: the C accelerator compiled in, and no compiler left in it."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable

Compose = Callable[..., subprocess.CompletedProcess[str]]

CHECK = (
    "import json, shutil, framework.http1.grammar as grammar, framework.http1.speedups as speedups; "
    "print(json.dumps({'built': speedups.__file__, 'pure': grammar.PURE_PYTHON, "
    "'compilers': [c for c in ('gcc', 'cc', 'cpp') if shutil.which(c)]}))"
)


def test_the_service_image_runs_the_compiled_accelerator_and_has_no_compiler(compose: Compose) -> None:
    found = json.loads(compose("exec", "-T", "portal", "python", "-c", CHECK).stdout)
    assert found["built"].endswith(".so") and not found["pure"]
    assert found["compilers"] == []
