"""Peak server memory while a large upload streams to disk (the uploads demo, real process).

Starts ``python -m services.uploads`` with a temporary upload directory,
sends ``--size-mb`` of random-looking bytes as a raw ``PUT`` and then as a
``multipart/form-data`` POST (both with Content-Length, in 256 KiB writes),
and reads the server's peak resident memory (``VmHWM``) before and after
each. A streaming server stays flat however large the upload; one that
buffered the body would grow by its size. Loopback only; bounded in time.

    .venv/bin/python loadtest/upload_memory.py --size-mb 1024
"""

from __future__ import annotations

import argparse
import hashlib
import html
import json
import os
import re
import socket
import sys
import tempfile
import time
import urllib.request

from serverproc import ROOT, ServerProcess, answers, proc_status

BLOCK = os.urandom(256 * 1024)


def status_kb(pid: int, field: str) -> int:
    """A memory line of ``/proc/<pid>/status`` (``VmRSS``, ``VmHWM``) in kB, as the report gives it."""
    return proc_status(pid)[field] // 1024


def form_xsrf_token(page: str) -> str:
    """The token of the page's ``xsrf_form_html()`` field (``<input type="hidden" name="_xsrf" value="...">``)."""
    match = re.search(r'name="_xsrf" value="([^"]*)"', page)
    if match is None:
        raise RuntimeError("the uploads page has no _xsrf form field")
    return html.unescape(match[1])


def send(port: int, head: bytes, prefix: bytes, size: int, suffix: bytes) -> bytes:
    """Send a request whose body is prefix + size bytes + suffix; return the response."""
    digest = hashlib.sha256()
    with socket.create_connection(("127.0.0.1", port), timeout=120) as sock:
        sock.sendall(head + prefix)
        left = size
        while left:
            piece = BLOCK[: min(left, len(BLOCK))]
            sock.sendall(piece)
            digest.update(piece)
            left -= len(piece)
        sock.sendall(suffix)
        # No shutdown(SHUT_WR): the server takes a half-close as the client leaving.
        response = b""
        while chunk := sock.recv(65536):
            response += chunk
    return response + b"\n" + digest.hexdigest().encode()


def _sha_matches(answer: bytes) -> bool:
    """The server's reported SHA-256 equals the one of the bytes sent (appended by send())."""
    response, sent = answer.rsplit(b"\n", 1)
    body = response.split(b"\r\n\r\n", 1)[1]
    info = json.loads(body)
    reported = info["files"][0]["sha256"] if "files" in info else info["sha256"]
    return bool(reported == sent.decode())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-mb", type=int, default=1024)
    parser.add_argument("--port", type=int, default=18733)
    args = parser.parse_args()
    size = args.size_mb * 1024 * 1024
    upload_dir = tempfile.mkdtemp(prefix="upload-memory-")
    server = ServerProcess(
        "uploads",
        [sys.executable, "-m", "services.uploads", f"--port={args.port}", "--prefix=/uploads/"],
        port=args.port,
        ready=answers("/uploads/healthz"),
        env={"PYTHONPATH": str(ROOT), "UPLOAD_DIR": upload_dir},
    )
    try:
        server.start(timeout=20)
        results = {"size_bytes": size, "rss_start_kb": status_kb(server.pid, "VmRSS")}
        started = time.monotonic()
        put_head = (
            f"PUT /uploads/put/big.bin HTTP/1.1\r\nHost: t\r\nContent-Length: {size}\r\nConnection: close\r\n\r\n"
        ).encode()
        answer = send(args.port, put_head, b"", size, b"")
        results["put_seconds"] = round(time.monotonic() - started, 2)
        results["put_ok"] = b" 201 " in answer.split(b"\r\n", 1)[0] and _sha_matches(answer)
        results["peak_after_put_kb"] = status_kb(server.pid, "VmHWM")
        with urllib.request.urlopen(f"http://127.0.0.1:{args.port}/uploads/", timeout=10) as page:
            cookie = page.headers["Set-Cookie"].split(";", 1)[0]
            token = form_xsrf_token(page.read().decode())
        boundary = "----measure" + os.urandom(8).hex()
        prefix = (
            f'--{boundary}\r\nContent-Disposition: form-data; name="files"; filename="big.bin"\r\n'
            "Content-Type: application/octet-stream\r\n\r\n"
        ).encode()
        suffix = f"\r\n--{boundary}--\r\n".encode()
        post_head = (
            f"POST /uploads/upload HTTP/1.1\r\nHost: t\r\nAccept: application/json\r\n"
            f"Cookie: {cookie}\r\nX-XSRFToken: {token}\r\nContent-Type: multipart/form-data; boundary={boundary}\r\n"
            f"Content-Length: {len(prefix) + size + len(suffix)}\r\nConnection: close\r\n\r\n"
        ).encode()
        started = time.monotonic()
        answer = send(args.port, post_head, prefix, size, suffix)
        results["multipart_seconds"] = round(time.monotonic() - started, 2)
        results["multipart_ok"] = b" 200 " in answer.split(b"\r\n", 1)[0] and _sha_matches(answer)
        results["peak_after_multipart_kb"] = status_kb(server.pid, "VmHWM")
    finally:
        server.stop()
        for name in os.listdir(upload_dir):
            path = os.path.join(upload_dir, name)
            if os.path.isfile(path):
                os.unlink(path)
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
