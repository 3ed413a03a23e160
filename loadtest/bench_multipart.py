"""Measure framework.multipart: streaming throughput and the pathological body.

A measurement, not a test: prints numbers, asserts nothing about time.
Run from the repository root: .venv/bin/python loadtest/bench_multipart.py
"""

from __future__ import annotations

import random
import time

from framework.multipart import (
    NEED_DATA,
    MultipartDecoder,
    MultipartLimits,
    PartData,
    parse_multipart,
)

BOUNDARY = b"----WebKitFormBoundary7MA4YWxkTrZu0gW"
DELIMITER = b"\r\n--" + BOUNDARY
HEAD = b"--" + BOUNDARY + b'\r\nContent-Disposition: form-data; name="f"; filename="big.bin"\r\n\r\n'
CLOSE = DELIMITER + b"--\r\n"


def stream(pieces: list[bytes], boundary: bytes = BOUNDARY) -> tuple[float, int, int]:
    """Feed ``pieces``, draining events after each; (seconds, body bytes, peak buffer)."""
    decoder = MultipartDecoder(boundary)
    total = peak = 0
    start = time.perf_counter()
    for piece in pieces:
        decoder.feed(piece)
        peak = max(peak, decoder.buffered)
        while (event := decoder.next_event()) is not NEED_DATA:
            if isinstance(event, PartData):
                total += len(event.data)
    decoder.feed_eof()
    decoder.next_event()
    return time.perf_counter() - start, total, peak


def file_throughput(size: int = 100 * 1024 * 1024, chunk: int = 64 * 1024) -> None:
    block = random.Random(1).randbytes(chunk)
    pieces = [HEAD] + [block] * (size // chunk) + [CLOSE]
    seconds, total, peak = stream(pieces)
    print(
        f"100 MB file part, 64 KiB feeds: {size / seconds / 1e6:,.0f} MB/s "
        f"({seconds:.3f} s, {total:,} bytes out, peak buffer {peak:,} bytes)"
    )


def pathological(size: int = 8 * 1024 * 1024, chunk: int = 16) -> None:
    partial = b"\r\n--" + BOUNDARY[:-1]
    body = HEAD + (partial * (size // len(partial) + 1))[:size] + CLOSE
    pieces = [body[i : i + chunk] for i in range(0, len(body), chunk)]
    seconds, _, peak = stream(pieces)
    print(
        f"8 MB of partial delimiters, {chunk}-byte feeds ({len(pieces):,} feeds): "
        f"{seconds:.3f} s ({size / seconds / 1e6:,.1f} MB/s, peak buffer {peak} bytes)"
    )
    one = body[: 512 * 1024] + CLOSE
    seconds, _, _ = stream([one[i : i + 1] for i in range(len(one))])
    print(f"512 KiB of partial delimiters, 1-byte feeds: {seconds:.3f} s")


def tiny_parts(count: int = 10_000) -> None:
    parts = b"".join(
        b"--" + BOUNDARY + b'\r\nContent-Disposition: form-data; name="f%d"\r\n\r\n%d\r\n' % (i, i) for i in range(count)
    )
    body = parts + b"--" + BOUNDARY + b"--\r\n"
    content_type = "multipart/form-data; boundary=" + BOUNDARY.decode()
    start = time.perf_counter()
    fields, _ = parse_multipart(content_type, body, limits=MultipartLimits(max_parts=count))
    seconds = time.perf_counter() - start
    print(f"{len(fields):,} tiny parts, parse_multipart: {seconds:.3f} s ({count / seconds:,.0f} parts/s)")


if __name__ == "__main__":
    file_throughput()
    pathological()
    tiny_parts()
