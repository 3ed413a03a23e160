"""Uploads: multipart forms of 1-3 generated files, checked by SHA-256; now and then a streamed PUT.

Each multipart upload sends small random files with the XSRF token in the
``X-XSRFToken`` header (the handler streams its body, so the token cannot
wait in the body; never in the URL, where logs and Referer headers keep it),
then reads the listing and checks that every file is there with the size
and SHA-256 it was sent with; now and then one is downloaded back and hashed.

Cleaning up: the uploads demo has no delete. Its store keeps only the newest
``STORE_KEEP`` uploads and deletes older ones (services/uploads/store.py),
so what this scenario leaves behind is bounded by the service: at most
``STORE_KEEP`` files of at most ``PUT_MAX`` bytes. The same bound means a
file can be pruned by other users' uploads before the listing is read: a
file missing from a listing that is full (``STORE_KEEP`` rows) is pruned,
not lost, and is no failure.
"""

from __future__ import annotations

import hashlib
import random
import re
import secrets
import uuid
from typing import Any

from locust import tag, task

from .visitor import Visitor, expect

__all__ = ["UploadsUser"]

STORE_KEEP = 50
FILE_MIN, FILE_MAX = 1024, 64 * 1024
PUT_MIN, PUT_MAX = 2 * 1024 * 1024, 4 * 1024 * 1024
ROW = re.compile(r'<a href="/uploads/files/([A-Za-z0-9_-]{16})">.*?<code class="hash">([0-9a-f]{64})</code>', re.DOTALL)


def multipart(files: list[tuple[str, bytes]]) -> tuple[bytes, str]:
    """A ``multipart/form-data`` body holding ``files`` as ``files`` fields; (body, content type)."""
    boundary = uuid.uuid4().hex
    parts = []
    for name, data in files:
        head = (
            f'--{boundary}\r\nContent-Disposition: form-data; name="files"; filename="{name}"\r\n'
            "Content-Type: application/octet-stream\r\n\r\n"
        )
        parts.append(head.encode() + data + b"\r\n")
    body = b"".join(parts) + f"--{boundary}--\r\n".encode()
    return body, f"multipart/form-data; boundary={boundary}"


class UploadsUser(Visitor):
    """Uploads generated files, verifies them in the listing and by download, PUTs a larger one."""

    weight = 5

    @tag("uploads")
    @task(6)
    def upload_files(self) -> None:
        token = self.xsrf_token("/uploads/")
        files = [
            (f"locust-{secrets.token_hex(4)}.bin", random.randbytes(random.randint(FILE_MIN, FILE_MAX)))
            for _ in range(random.randint(1, 3))
        ]
        body, content_type = multipart(files)
        headers = {"Content-Type": content_type, "X-XSRFToken": token, "Accept": "application/json"}
        with self.client.post(
            "/uploads/upload", data=body, headers=headers, name="/uploads/upload (multipart)", catch_response=True
        ) as response:
            if not expect(response, 200):
                return
            stored = self._stored(response, files)
        if stored:
            self._check_listing(stored)
            if random.random() < 0.3:
                self._download(*random.choice(stored))

    @tag("uploads", "put")
    @task(1)
    def put_stream(self) -> None:
        data = random.randbytes(random.randint(PUT_MIN, PUT_MAX))
        digest = hashlib.sha256(data).hexdigest()
        name = f"locust-{secrets.token_hex(4)}.bin"
        with self.client.put(
            f"/uploads/put/{name}",
            data=data,
            name="/uploads/put/[name]",
            headers={"Content-Type": "application/octet-stream"},
            catch_response=True,
        ) as response:
            if not expect(response, 201):
                return
            info = response.json()
            if info.get("sha256") != digest or info.get("size") != len(data):
                response.failure(f"stored {info.get('size')} bytes, sha256 {info.get('sha256')}; sent {len(data)}, {digest}")

    def _stored(self, response: Any, files: list[tuple[str, bytes]]) -> list[tuple[str, str]]:
        """(id, sha256) of each file the upload answered with; a failure if any differs from what was sent."""
        try:
            answered = response.json()["files"]
        except (ValueError, KeyError, TypeError):
            response.failure("no JSON list of stored files")
            return []
        sent = [(name, hashlib.sha256(data).hexdigest(), len(data)) for name, data in files]
        got = [(f.get("name"), f.get("sha256"), f.get("size")) for f in answered]
        if got != sent:
            response.failure(f"stored {got}, sent {sent}")
            return []
        return [(f["id"], f["sha256"]) for f in answered]

    def _check_listing(self, stored: list[tuple[str, str]]) -> None:
        query = "&".join(f"uploaded={file_id}" for file_id, _ in stored)
        with self.client.get(f"/uploads/?{query}", name="/uploads/?uploaded=[ids]", catch_response=True) as response:
            if not expect(response, 200, contains=("<h1>Uploads</h1>",)):
                return
            page = response.text or ""
            listed = dict(ROW.findall(page))
            for file_id, digest in stored:
                if file_id not in listed:
                    if len(listed) < STORE_KEEP:
                        response.failure(f"{file_id} missing from a listing of {len(listed)} files")
                        return
                elif listed[file_id] != digest:
                    response.failure(f"{file_id} listed with sha256 {listed[file_id]}, uploaded {digest}")
                    return

    def _download(self, file_id: str, digest: str) -> None:
        with self.client.get(f"/uploads/files/{file_id}", name="/uploads/files/[id]", catch_response=True) as response:
            if response.status_code == 404:
                response.success()  # pruned by the store's bound since the upload (see the module docstring)
                return
            if not expect(response, 200):
                return
            got = hashlib.sha256(response.content or b"").hexdigest()
            if got != digest:
                response.failure(f"downloaded sha256 {got}, uploaded {digest}")
