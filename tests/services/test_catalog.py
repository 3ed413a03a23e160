"""The service catalog (``services/catalog.py``) and everything derived from it or checked against it."""

from __future__ import annotations

import importlib
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from services.catalog import DEMOS, SERVICES, Proxy, Service, service_named
from services.uploads.app import MAX_UPLOAD_BYTES

REPO = Path(__file__).resolve().parents[2]
METRICS_OFFSET = 1000  # services/common/run.py: /metrics on the service's port + 1000


def test_names_ports_and_prefixes_are_unique() -> None:
    for attribute in ("name", "port", "prefix"):
        values = [getattr(service, attribute) for service in SERVICES]
        assert len(values) == len(set(values)), attribute
    ports = {s.port for s in SERVICES}
    assert not ports & {s.port + METRICS_OFFSET for s in SERVICES}  # no service on another's metrics port


def test_the_portal_is_the_one_service_at_the_root_and_not_a_demo() -> None:
    assert [s.name for s in SERVICES if s.prefix == "/"] == ["portal"]
    assert [s.name for s in DEMOS] == [s.name for s in SERVICES if s.name != "portal"]


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [("name", "Forms", "lower-case"), ("prefix", "/forms", "must look like"), ("port", 80, "above 1024"),
     ("port", 65000, "leave room")],
)  # fmt: skip
def test_a_malformed_entry_is_refused(field: str, value: object, message: str) -> None:
    entry: dict[str, object] = {"name": "forms", "port": 8002, "prefix": "/forms/", "title": "Forms", "summary": "x"}
    entry[field] = value
    with pytest.raises(ValueError, match=message):
        Service(**entry)  # type: ignore[arg-type]


@pytest.mark.parametrize("service", SERVICES, ids=lambda s: s.name)
def test_every_entry_is_a_package_with_an_application(service: Service) -> None:
    app = importlib.import_module(f"services.{service.name}.app")
    assert callable(app.make_app)
    assert (REPO / "services" / service.name / "templates").is_dir()
    assert service_named(service.name) is service
    assert service_named("no_such_service") is None


def test_python_dash_m_runs_a_service_of_the_catalog_with_its_defaults_and_options() -> None:
    env = dict(os.environ, PYTHONPATH=str(REPO))
    shown = subprocess.run(
        [sys.executable, "-m", "services.chat", "--help"],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    chat = service_named("chat")
    assert chat is not None
    assert shown.returncode == 0, shown.stderr
    help_text = " ".join((shown.stdout + shown.stderr).split())  # the columns joined up again
    assert "--redis_url" in help_text or "--redis-url" in help_text  # the chat's own option
    assert f"port to listen on (default {chat.port})" in help_text
    assert f"e.g. /forms/ (default {chat.prefix})" in help_text


def test_python_dash_m_knows_no_service_outside_the_catalog() -> None:
    missing = subprocess.run(
        [sys.executable, "-m", "services.common", "--help"],
        cwd=REPO, env=dict(os.environ, PYTHONPATH=str(REPO)), capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert missing.returncode != 0
    assert "cannot be directly executed" in missing.stderr


# -- nginx: rendered from the catalog ----------------------------------------------------


def test_the_committed_nginx_conf_is_what_the_catalog_renders() -> None:
    check = subprocess.run(
        [sys.executable, "scripts/render-nginx-conf", "--check"],
        cwd=REPO, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert check.returncode == 0, check.stdout + check.stderr


def nginx_blocks(kind: str) -> dict[str, str]:
    """``upstream`` or ``location`` blocks of nginx.conf by their name, each block's text."""
    text = (REPO / "nginx" / "nginx.conf").read_text()
    return {m.group(1): m.group(2) for m in re.finditer(rf"^\s*{kind} (\S+) \{{\n(.*?)^\s*\}}", text, re.MULTILINE | re.DOTALL)}


@pytest.mark.parametrize("service", SERVICES, ids=lambda s: s.name)
def test_nginx_proxies_each_prefix_to_its_service(service: Service) -> None:
    upstream = nginx_blocks("upstream")[service.name]
    assert f"server {service.name}:{service.port};" in upstream
    location = nginx_blocks("location")[service.prefix]
    assert f"proxy_pass http://{service.name};" in location
    if service.proxy.max_body != Proxy().max_body:
        assert f"client_max_body_size {service.proxy.max_body};" in location


def test_nginx_lets_a_full_size_upload_through() -> None:
    uploads = service_named("uploads")
    assert uploads is not None and uploads.proxy.stream_bodies
    number, unit = re.fullmatch(r"(\d+)([km]?)", uploads.proxy.max_body).groups()  # type: ignore[union-attr]
    limit = int(number) * {"": 1, "k": 1024, "m": 1024 * 1024}[unit]
    assert limit > MAX_UPLOAD_BYTES + 64 * 1024  # the file plus its multipart framing


# -- compose: written out, checked against the catalog -------------------------------------


def compose_blocks() -> dict[str, str]:
    """The compose file's services, each block's text by name (two-space indented keys)."""
    text = (REPO / "docker-compose.yml").read_text()
    services = text.split("\nservices:\n", 1)[1].split("\n\n# ", 1)[0]
    return {m.group(1): m.group(2) for m in re.finditer(r"^  ([a-z][a-z0-9_-]*):\n((?:(?:    .*)?\n)*)", services, re.MULTILINE)}


@pytest.mark.parametrize("service", SERVICES, ids=lambda s: s.name)
def test_compose_runs_each_service_with_a_health_check_at_its_port_and_prefix(service: Service) -> None:
    block = compose_blocks()[service.name]
    assert f'"-m", "services.{service.name}"' in block
    assert "--port" not in block and "--prefix" not in block  # the catalog's, not a second copy
    assert f'"services/common/healthcheck.sh", "{service.port}", "{service.prefix}healthz"' in block


def test_nginx_waits_for_every_service_of_the_catalog() -> None:
    nginx = compose_blocks()["nginx"]
    depends = nginx.split("depends_on:\n", 1)[1]
    waited = set(re.findall(r"^      ([a-z][a-z0-9_-]*): \{condition: service_healthy\}", depends, re.MULTILINE))
    assert waited == {s.name for s in SERVICES}
