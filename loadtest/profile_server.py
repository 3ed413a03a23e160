"""Where a contender's time goes under load: cProfile around the server while wrk drives it.

Starts ``python -m cProfile -o OUT servers/<script>`` pinned to CPU 0, drives
it with ``wrk -t1 -c100`` pinned to CPU 1 for ``--duration`` seconds, stops it
with SIGINT (the server scripts catch it and return, so cProfile writes its
file), then prints the top functions by own time (tottime) and by cumulative
time. cProfile slows Python code several-fold, so read the shares, not the
absolute times or the req/s it prints.

Usage: ``python loadtest/profile_server.py [--server framework_web] [--duration 5] [--top 25]``.
"""

from __future__ import annotations

import argparse
import io
import pstats
import signal
import subprocess
import sys
from pathlib import Path

from serverproc import LOADTEST, interrupt_on_signals, pinned, select


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--server", default="framework_web", help="contender to profile (default framework_web)")
    parser.add_argument("--duration", type=int, default=5, help="seconds of wrk load (default 5)")
    parser.add_argument("--top", type=int, default=25, help="rows per listing (default 25)")
    parser.add_argument("--out", help="profile file (default loadtest/results/<server>.prof)")
    args = parser.parse_args()
    interrupt_on_signals()
    if not 1 <= args.duration <= 120:
        parser.error("--duration must be 1..120")
    (contender,) = select(args.server, [])
    out = Path(args.out or LOADTEST / "results" / f"{contender.name}.prof").resolve()
    out.parent.mkdir(parents=True, exist_ok=True)
    out.unlink(missing_ok=True)

    server = contender.process(cpu=0, python_args=("-m", "cProfile", "-o", str(out)))
    try:
        server.start()
        wrk = subprocess.run(
            pinned(1, ["wrk", "-t1", "-c100", f"-d{args.duration}s", "--latency", f"http://127.0.0.1:{server.port}/"]),
            capture_output=True,
            text=True,
            timeout=args.duration + 30,
            check=False,
        )
        print(wrk.stdout)
        server.check_alive()
        code = server.stop(signal.SIGINT, timeout=30)
    finally:
        server.stop()
    if code != 0 or not out.exists():
        print(f"server exited {code}; no profile written:\n{server.log_tail()}", file=sys.stderr)
        return 1
    for key, title in (("tottime", "own time (tottime)"), ("cumulative", "cumulative time")):
        buffer = io.StringIO()
        stats = pstats.Stats(str(out), stream=buffer)
        stats.sort_stats(key).print_stats(args.top)
        print(f"===== top {args.top} by {title} =====")
        text = buffer.getvalue()
        print(text[text.find("   ncalls") :].rstrip() + "\n")
    print(f"profile kept in {out} (python -m pstats {out})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
