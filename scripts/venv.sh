# Sourced by scripts/test and scripts/demo: create or reuse .venv and install
# the pinned requirements and the framework (only when they changed since the
# last install).
VENV=${VENV:-.venv}
PYTHON=${PYTHON:-python3}
if [ ! -x "$VENV/bin/python" ]; then
  echo "== creating virtualenv $VENV"
  "$PYTHON" -m venv "$VENV"
fi
# The stamp covers the build too (setup.py and the C accelerator's source), so
# an edited framework/http1/speedups*.c or speedups.h is compiled again.
stamp="$VENV/.requirements.sha256"
want=$(cat requirements.txt requirements-dev.txt pyproject.toml setup.py framework/http1/speedups*.c framework/http1/speedups.h | sha256sum | cut -d' ' -f1)
# Also when the accelerator is missing (removed by `git clean -X`, or a compiler
# installed since a build that had none): the install tries to compile it again.
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ] || ! "$VENV/bin/python" -c "import framework.http1.speedups" 2>/dev/null; then
  echo "== installing pinned requirements into $VENV"
  "$VENV/bin/python" -m pip install -q --disable-pip-version-check -r requirements-dev.txt
  # The editable install compiles framework.http1.speedups in place when a C
  # compiler and the Python headers are there (an optional extension: without
  # them it installs the pure-Python framework). The old build goes first, so
  # a failed compile never leaves a stale one behind.
  rm -f framework/http1/speedups.*.so
  "$VENV/bin/python" -m pip install -q --disable-pip-version-check --no-deps -e .
  if "$VENV/bin/python" -c "import framework.http1.speedups" 2>/dev/null; then
    echo "== framework.http1.speedups built (the C accelerator of the HTTP/1.1 parser and writer)"
  else
    echo "== framework.http1.speedups not built (no C compiler or Python headers?): pure-Python http1"
  fi
  echo "$want" > "$stamp"
fi
