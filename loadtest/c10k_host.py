"""What ``c10k.py`` reads on the host: containers and processes, their memory and open-file limits.

Strategy: memory comes from the kernel's own accounting, read from the host
while the client holds its connections. A container's cgroup is found from its
first process (``/proc/<pid>/cgroup``), which works for cgroup v1 and v2 and
for either cgroup driver; ``docker stats --no-stream`` is the fallback when
the cgroup files cannot be read. A process on the host (``--pid``) is read from
``/proc/<pid>/status``, its children included (``--processes N`` services).
Each reading keeps ``usage`` (everything the kernel charges), ``anon``
(heap and stacks: what a connection costs the program) and, where the cgroup
reports it, ``kernel`` (socket structures and buffers).
"""

from __future__ import annotations

import dataclasses
import json
import re
import shutil
import subprocess
from pathlib import Path

__all__ = [
    "ContainerGroup",
    "ProcessTree",
    "Sample",
    "compose_containers",
    "docker_available",
    "nofile_limit",
    "parse_docker_size",
    "parse_memory_stat",
    "published_port_proxy",
]

CGROUP_ROOT = Path("/sys/fs/cgroup")
DOCKER_TIMEOUT = 20.0


@dataclasses.dataclass(frozen=True, slots=True)
class Sample:
    """Memory of one container or process tree at one moment, in bytes (``None``: not reported)."""

    usage: int | None
    anon: int | None
    kernel: int | None
    source: str

    def __add__(self, other: Sample) -> Sample:
        def add(a: int | None, b: int | None) -> int | None:
            return None if a is None or b is None else a + b

        return Sample(add(self.usage, other.usage), add(self.anon, other.anon), add(self.kernel, other.kernel), self.source)


def docker(*args: str, timeout: float = DOCKER_TIMEOUT) -> str:
    """``docker ARGS``'s stdout; raises ``RuntimeError`` with its stderr on failure."""
    try:
        done = subprocess.run(["docker", *args], capture_output=True, text=True, timeout=timeout, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise RuntimeError(f"docker {' '.join(args[:2])}: {exc}") from exc
    if done.returncode != 0:
        raise RuntimeError(f"docker {' '.join(args[:2])}: {done.stderr.strip()}")
    return done.stdout


def docker_available() -> bool:
    """Whether a ``docker`` CLI is here and its engine answers."""
    if shutil.which("docker") is None:
        return False
    try:
        docker("version", "--format", "{{.Server.Version}}", timeout=10)
    except RuntimeError:
        return False
    return True


def compose_containers(project: str, service: str) -> list[str]:
    """Running container ids of a compose service (several when it is scaled)."""
    out = docker(
        "ps",
        "-q",
        "--no-trunc",
        "--filter",
        f"label=com.docker.compose.project={project}",
        "--filter",
        f"label=com.docker.compose.service={service}",
    )
    return out.split()


def container_pid(container: str) -> int:
    return int(docker("inspect", "-f", "{{.State.Pid}}", container).strip())


# -- memory ----------------------------------------------------------------------------


def parse_memory_stat(text: str) -> dict[str, int]:
    """``memory.stat``'s ``key value`` lines as a dict."""
    stats = {}
    for line in text.splitlines():
        key, _, value = line.partition(" ")
        if value.strip().isdigit():
            stats[key] = int(value)
    return stats


def memory_cgroup(pid: int) -> Path | None:
    """The memory cgroup directory of ``pid`` as the host sees it, or ``None``."""
    try:
        lines = Path(f"/proc/{pid}/cgroup").read_text().splitlines()
    except OSError:
        return None
    for line in lines:
        _, controllers, path = line.split(":", 2)
        if "memory" in controllers.split(","):
            candidate = CGROUP_ROOT / "memory" / path.lstrip("/")  # cgroup v1
            return candidate if candidate.is_dir() else None
    for line in lines:
        if line.startswith("0::"):
            candidate = CGROUP_ROOT / line[3:].lstrip("/")  # cgroup v2
            return candidate if (candidate / "memory.current").exists() else None
    return None


def read_cgroup(directory: Path) -> Sample:
    """Usage, anon and kernel memory of a cgroup (v1 or v2)."""
    stats = parse_memory_stat((directory / "memory.stat").read_text())
    if (directory / "memory.current").exists():  # v2
        kernel = stats.get("kernel", stats.get("sock", 0) + stats.get("slab", 0) + stats.get("kernel_stack", 0))
        return Sample(int((directory / "memory.current").read_text()), stats.get("anon"), kernel, "cgroup v2")
    kmem = directory / "memory.kmem.usage_in_bytes"
    kernel = int(kmem.read_text()) if kmem.exists() else None
    return Sample(
        int((directory / "memory.usage_in_bytes").read_text()), stats.get("total_rss", stats.get("rss")), kernel, "cgroup v1"
    )


_SIZE = re.compile(r"([0-9.]+)\s*([KMGT]?i?B)", re.IGNORECASE)
_UNITS = {"b": 1, "kb": 10**3, "mb": 10**6, "gb": 10**9, "tb": 10**12, "kib": 2**10, "mib": 2**20, "gib": 2**30, "tib": 2**40}


def parse_docker_size(text: str) -> int:
    """``docker stats``'s ``12.5MiB`` (the part before `` / ``) in bytes."""
    match = _SIZE.search(text.split("/")[0])
    if match is None:
        raise ValueError(f"not a size: {text!r}")
    return round(float(match[1]) * _UNITS[match[2].lower()])


class ContainerGroup:
    """The containers of one compose service (or one named container), read as one."""

    def __init__(self, name: str, containers: list[str]) -> None:
        self.name = name
        self.containers = containers
        # Resolved once: the cgroup of each container does not move while it runs.
        self.cgroups = [memory_cgroup(container_pid(c)) for c in containers]

    def sample(self) -> Sample:
        if self.containers and all(self.cgroups):
            try:
                return sum_samples([read_cgroup(d) for d in self.cgroups if d is not None])
            except (OSError, ValueError):
                pass
        return self.docker_stats()

    def docker_stats(self) -> Sample:
        out = docker("stats", "--no-stream", "--format", "{{json .}}", *self.containers)
        usage = sum(parse_docker_size(json.loads(line)["MemUsage"]) for line in out.splitlines() if line.strip())
        return Sample(usage, None, None, "docker stats")


class ProcessTree:
    """A process on this host and its children (a service run with ``--processes N``)."""

    def __init__(self, pid: int) -> None:
        self.name = f"pid {pid}"
        self.pid = pid

    def sample(self) -> Sample:
        rss = anon = 0
        for pid in [self.pid, *descendants(self.pid)]:
            status = proc_status(pid)
            rss += status.get("VmRSS", 0)
            anon += status.get("RssAnon", 0)
        return Sample(rss, anon, None, "/proc status")


def sum_samples(samples: list[Sample]) -> Sample:
    total = samples[0]
    for sample in samples[1:]:
        total = total + sample
    return total


def proc_status(pid: int) -> dict[str, int]:
    """The ``kB`` lines of ``/proc/<pid>/status``, in bytes ({} once the process is gone)."""
    try:
        text = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return {}
    values = {}
    for line in text.splitlines():
        key, _, rest = line.partition(":")
        if rest.strip().endswith(" kB"):
            values[key] = int(rest.split()[0]) * 1024
    return values


def descendants(pid: int) -> list[int]:
    """Every descendant of ``pid`` (via ``/proc/<pid>/task/*/children``)."""
    found: list[int] = []
    frontier = [pid]
    while frontier:
        parent = frontier.pop()
        for children in Path(f"/proc/{parent}/task").glob("*/children"):
            try:
                kids = [int(k) for k in children.read_text().split()]
            except OSError:
                continue
            found.extend(kids)
            frontier.extend(kids)
    return found


# -- open-file limits ------------------------------------------------------------------


def nofile_limit(pid: int) -> tuple[int, int] | None:
    """``(soft, hard)`` open-file limit of a process on this host, or ``None``."""
    try:
        text = Path(f"/proc/{pid}/limits").read_text()
    except OSError:
        return None
    for line in text.splitlines():
        if line.startswith("Max open files"):
            soft, hard = line.split()[3:5]
            return (int(soft) if soft.isdigit() else 2**31), (int(hard) if hard.isdigit() else 2**31)
    return None


def published_port_proxy(port: int) -> tuple[int, int | None] | None:
    """The ``docker-proxy`` serving a published ``port``: ``(pid, its soft open-file limit)``, or ``None``.

    With the engine's ``"userland-proxy": false`` there is none, and the port is
    forwarded by the kernel alone.
    """
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            if (proc / "comm").read_text().strip() != "docker-proxy":
                continue
            argv = (proc / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if b"-host-port" in argv and argv[argv.index(b"-host-port") + 1] == str(port).encode():
            limit = nofile_limit(int(proc.name))
            return int(proc.name), (limit[0] if limit else None)
    return None


def open_files_of(pids: list[int]) -> list[tuple[int, str, tuple[int, int] | None]]:
    """``(pid, command name, open-file limit)`` for each pid (the container's workers)."""
    rows = []
    for pid in pids:
        try:
            name = Path(f"/proc/{pid}/comm").read_text().strip()
        except OSError:
            continue
        rows.append((pid, name, nofile_limit(pid)))
    return rows


def container_processes(container: str) -> list[int]:
    """Host pids of a container's processes."""
    return [pid for pid in [container_pid(container)] + descendants(container_pid(container)) if pid > 0]
