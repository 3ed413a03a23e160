"""C10K through the stack: N idle keep-alive connections, then M chat long-polls, with memory per connection.

Phase 1 opens ``-n`` keep-alive connections (10,000), each answered once, and
holds them idle; meanwhile ``--probes`` fresh requests on new connections
measure latency (p50/p99); after the hold every held connection sends a second
request (nothing dropped is the goal). Phase 2 starts ``-m`` chat long-polls
(5,000) on one new room, posts one message and times its arrival at every
poller. Each container's memory (cgroup) is read before and while the
connections are held: (held - before) / connections.

Strategy: the engine's userland proxy on the published port (``docker-proxy``)
spends about 5 descriptors per connection and exits near 3,500 connections, so
against the stack the client runs in a container on the compose network and
talks to ``nginx:8080`` (``--via-compose``, the default when docker answers and
the URL is the stack's published port). This file then starts that container
(``--client`` inside), reads the containers' cgroups from the host at each
mark the client prints on stdout, and acknowledges on its stdin. ``--direct``
runs the client here, e.g. against one service started alone, with memory
from ``/proc/<pid>`` (``--pid``). Every phase has its own timeout, the run a
global deadline; errors are counted, not raised.

    python loadtest/c10k.py                                 # the stack, 10,000 / 5,000
    python loadtest/c10k.py -n 2000 -m 500 --json out.json  # PNG beside it
    python loadtest/c10k.py --direct --url http://127.0.0.1:18004 --pid 1234
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import ipaddress
import json
import os
import resource
import secrets
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any, TextIO
from urllib.parse import urlsplit

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))  # the sibling modules, also when run as /c10k/c10k.py in the container

import c10k_client as client
import c10k_host as host
import c10k_report as report

PROXY_CONNECTIONS_PER_20000 = 3_500  # measured here: docker-proxy died near 3,500 connections at 20,000 files
FD_MARGIN = 100  # descriptors beyond the connections: probes in flight, stdio, the event loop
MARK_ACK_TIMEOUT = 120.0
FALLBACK_IMAGE = "framework-suite/services:latest"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    run = parser.add_argument_group("the run")
    run.add_argument("--url", default="http://127.0.0.1:8080", help="the target (default: the stack's public port)")
    run.add_argument("-n", "--connections", type=int, default=10_000, help="idle keep-alive connections to hold")
    run.add_argument("-m", "--pollers", type=int, default=5_000, help="chat long-polls in the fan-out (0: skip)")
    run.add_argument("--chat-prefix", default="/chat/", help="where the chat is mounted")
    run.add_argument("--path", help="what the held connections ask for (default: <chat-prefix>healthz)")
    run.add_argument("--hold", type=float, default=15.0, help="seconds the connections stay idle (probes meanwhile)")
    run.add_argument("--probes", type=int, default=200, help="fresh requests while held, spaced over the hold")
    run.add_argument("--concurrency", type=int, default=200, help="connections being opened at once")
    run.add_argument("--timeout", type=float, default=10.0, help="seconds for one connect, and for one answer")
    run.add_argument("--ramp-timeout", type=float, default=180.0, help="seconds for opening all connections")
    run.add_argument("--settle", type=float, default=2.0, help="seconds between a ramp's end and the memory reading")
    run.add_argument("--fanout-timeout", type=float, default=60.0, help="seconds for the message to reach every poller")
    run.add_argument("--deadline", type=float, default=600.0, help="the whole run stops by then (seconds)")
    out = parser.add_argument_group("output")
    out.add_argument("--json", type=Path, help="write the results here")
    out.add_argument("--plot", type=Path, help="PNG (default: beside --json, same name)")
    mode = parser.add_argument_group("where the client runs")
    where = mode.add_mutually_exclusive_group()
    where.add_argument("--via-compose", action="store_true", help="client in a container on the compose network")
    where.add_argument("--direct", action="store_true", help="client in this process, straight to --url")
    where.add_argument("--client", action="store_true", help=argparse.SUPPRESS)  # inside the container
    mode.add_argument("--project", default="framework-suite", help="compose project name")
    mode.add_argument(
        "--image",
        default="framework-suite/locust:latest",
        help="image the client runs in (any with python3; default: the locust image, else the services image)",
    )
    mode.add_argument("--inner-url", default="http://nginx:8080", help="the target seen from the compose network")
    mode.add_argument("--containers", default="nginx,chat", help="compose services whose memory is read")
    mode.add_argument(
        "--nofile",
        type=int,
        help="the client container's open-file limit (default: what the run needs plus 1,024; the engine's own limit caps it)",
    )
    mode.add_argument("--pid", type=int, help="--direct: a server process on this host whose memory is read")
    mode.add_argument("--force", action="store_true", help="run even when the published-port check says no")
    args = parser.parse_args(argv)
    args.path = args.path or f"{args.chat_prefix}healthz"
    args.nofile = args.nofile or needed_descriptors(args) + 1024
    return args


def client_config(args: argparse.Namespace, url: str) -> client.Config:
    return client.Config(
        url=url,
        connections=args.connections,
        pollers=args.pollers,
        path=args.path,
        chat_prefix=args.chat_prefix,
        hold=args.hold,
        probes=args.probes,
        concurrency=args.concurrency,
        timeout=args.timeout,
        ramp_timeout=args.ramp_timeout,
        settle=args.settle,
        fanout_timeout=args.fanout_timeout,
    )


# -- open-file limits, checked before anything is opened ---------------------------------


def needed_descriptors(args: argparse.Namespace) -> int:
    return max(args.connections, args.pollers) + FD_MARGIN


def raise_own_nofile(needed: int) -> str | None:
    """Lift this process's soft open-file limit to its hard one; a message if still too low."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    if needed <= hard:
        return None
    return (
        f"this run needs about {needed:,} open files, and this process may open {hard:,} (hard limit). "
        f"Raise it (`ulimit -n {needed}` as root, or LimitNOFILE/--ulimit nofile for a container), "
        f"or lower -n/-m."
    )


def is_loopback(url: str) -> bool:
    hostname = urlsplit(url).hostname or ""
    try:
        return hostname == "localhost" or ipaddress.ip_address(hostname).is_loopback
    except ValueError:
        return False


def proxy_check(args: argparse.Namespace) -> str | None:
    """Refuse (with the way out) a run the engine's userland proxy would not survive."""
    if not is_loopback(args.url):
        return None
    port = urlsplit(args.url).port or 80
    proxy = host.published_port_proxy(port)
    if proxy is None:
        return None
    pid, limit = proxy
    survives = (limit or 20_000) * PROXY_CONNECTIONS_PER_20000 // 20_000
    if max(args.connections, args.pollers) <= survives * 0.85:
        return None
    return (
        f"port {port} is published through the engine's userland proxy (docker-proxy, pid {pid}), which "
        f"uses about 5 descriptors per connection and exits at its open-file limit ({limit or '?'}: "
        f"near {survives:,} connections); from then on the published port refuses everything while every "
        f"container still reports healthy. Run through the compose network instead (--via-compose, the "
        f'default when docker answers), or lift the limit on the engine: "userland-proxy": false in '
        f"/etc/docker/daemon.json, or a higher LimitNOFILE for dockerd (systemctl edit docker), then restart "
        f"it. --force runs anyway."
    )


def container_limits_warnings(groups: list[host.ContainerGroup], args: argparse.Namespace) -> list[str]:
    """Containers whose processes may open fewer files than this run gives them (warnings only)."""
    warnings = []
    for group in groups:
        for container in group.containers:
            for pid, name, limit in host.open_files_of(host.container_processes(container)):
                if limit is not None and limit[0] < needed_descriptors(args):
                    warnings.append(
                        f"{group.name}: {name} (pid {pid}) may open {limit[0]:,} files;"
                        f" this run gives it up to about {needed_descriptors(args):,} connections"
                    )
    return warnings


# -- the client, in this process (--direct, --client) --------------------------------------


def run_client(config: client.Config, deadline: float, mark: client.Mark) -> dict[str, Any]:
    """Both phases within ``deadline``; a run cut short keeps what it had measured."""
    result: dict[str, Any] = {}

    async def main() -> None:
        try:
            await asyncio.wait_for(client.run(config, mark, result), deadline)
        except TimeoutError:
            result["failure"] = f"stopped by the global deadline ({deadline:.0f} s) in phase {result.get('phase')}"
            client.log(result["failure"])

    asyncio.run(main())
    return result


def stdio_mark(stdin: TextIO = sys.stdin) -> client.Mark:
    """``--client``: a mark is a JSON line on stdout; go on once the host answers a line on stdin."""

    async def mark(name: str, info: dict[str, Any]) -> None:
        print(json.dumps({"event": "mark", "mark": name, **info}), flush=True)
        loop = asyncio.get_running_loop()
        try:
            await asyncio.wait_for(loop.run_in_executor(None, stdin.readline), MARK_ACK_TIMEOUT)
        except TimeoutError:
            client.log(f"no acknowledgement of mark {name!r}; going on")

    return mark


def client_main(args: argparse.Namespace) -> int:
    """Inside the container: the client alone; marks and the result as JSON lines on stdout."""
    problem = raise_own_nofile(needed_descriptors(args))
    if problem:
        print(json.dumps({"event": "refused", "reason": problem}), flush=True)
        return 2
    result = run_client(client_config(args, args.url), args.deadline, stdio_mark())
    print(json.dumps({"event": "result", "result": result}), flush=True)
    return 0


def direct_main(args: argparse.Namespace) -> dict[str, Any]:
    """The client in this process against ``--url``; memory of ``--pid`` if given."""
    groups: list[host.ProcessTree] = [host.ProcessTree(args.pid)] if args.pid else []
    memory: dict[str, dict[str, Any]] = {}

    async def mark(name: str, info: dict[str, Any]) -> None:
        memory[name] = {
            "connections": info.get("connections"),
            "groups": {g.name: dataclasses.asdict(g.sample()) for g in groups},
        }

    result = run_client(client_config(args, args.url), args.deadline, mark)
    return {**result, "mode": "direct", "memory": memory}


# -- the client in a container on the compose network (--via-compose) -----------------------


def container_command(args: argparse.Namespace, name: str) -> list[str]:
    """``docker run`` for the client: on the compose network, this folder mounted read-only."""
    passed = [
        "--connections",
        args.connections,
        "--pollers",
        args.pollers,
        "--chat-prefix",
        args.chat_prefix,
        "--path",
        args.path,
        "--hold",
        args.hold,
        "--probes",
        args.probes,
        "--concurrency",
        args.concurrency,
        "--timeout",
        args.timeout,
        "--ramp-timeout",
        args.ramp_timeout,
        "--settle",
        args.settle,
        "--fanout-timeout",
        args.fanout_timeout,
        "--deadline",
        args.deadline,
    ]
    return [
        "docker",
        "run",
        "--rm",
        "-i",
        "--name",
        name,
        "--network",
        f"{args.project}_default",
        "--ulimit",
        f"nofile={args.nofile}:{args.nofile}",
        "--label",
        "framework-suite.c10k=1",
        "-e",
        "PYTHONDONTWRITEBYTECODE=1",
        "-v",
        f"{HERE}:/c10k:ro",
        "--entrypoint",
        "python",
        args.image,
        "/c10k/c10k.py",
        "--client",
        "--url",
        args.inner_url,
        *map(str, passed),
    ]


def compose_main(args: argparse.Namespace) -> dict[str, Any]:
    """Start the client container, read the containers' memory at its marks, collect its result."""
    if args.nofile < needed_descriptors(args):
        raise SystemExit(f"c10k: --nofile {args.nofile} is below the {needed_descriptors(args):,} this run needs")
    groups = [host.ContainerGroup(s, host.compose_containers(args.project, s)) for s in args.containers.split(",")]
    missing = [g.name for g in groups if not g.containers]
    if missing:
        raise SystemExit(f"c10k: no running container for {', '.join(missing)} in compose project {args.project}")
    for warning in container_limits_warnings(groups, args):
        client.log(f"warning: {warning}")
    args.image = pick_image(args.image)
    name = f"c10k-{os.getpid()}-{secrets.token_hex(3)}"
    process = subprocess.Popen(container_command(args, name), stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    watchdog = threading.Timer(args.deadline + 60, stop_container, (name, process))
    watchdog.start()
    try:
        result, memory = follow_client(process, groups, name)
    finally:
        watchdog.cancel()
        if process.poll() is None:
            stop_container(name, process)
    return {**result, "mode": f"via the compose network ({args.project}_default), client in {args.image}", "memory": memory}


def pick_image(wanted: str) -> str:
    """``wanted`` if it is here, else the services' image: the client needs only python3's stdlib."""
    for image in (wanted, FALLBACK_IMAGE):
        try:
            host.docker("image", "inspect", "--format", "{{.Id}}", image)
        except RuntimeError:
            continue
        if image != wanted:
            client.log(f"{wanted} is not built (compose --profile loadtest builds it); using {image}")
        return image
    raise SystemExit(f"c10k: neither {wanted} nor {FALLBACK_IMAGE} is built: bring the stack up first")


def follow_client(
    process: subprocess.Popen[str], groups: list[host.ContainerGroup], name: str
) -> tuple[dict[str, Any], dict[str, dict[str, Any]]]:
    """Read the client's JSON lines: sample memory at each mark, return its result."""
    assert process.stdin is not None and process.stdout is not None  # both are pipes (Popen above)
    memory: dict[str, dict[str, Any]] = {}
    readers = list(groups)
    for line in process.stdout:
        event = json.loads(line) if line.startswith("{") else {"event": "text"}
        if event["event"] == "mark":
            if len(readers) == len(groups):  # the client container is running by now: read it too
                readers.append(host.ContainerGroup("client", [name]))
            memory[event["mark"]] = {
                "connections": event.get("connections"),
                "groups": {g.name: dataclasses.asdict(g.sample()) for g in readers},
            }
            process.stdin.write("ok\n")
            process.stdin.flush()
        elif event["event"] == "refused":
            raise SystemExit(f"c10k: {event['reason']}")
        elif event["event"] == "result":
            return event["result"], memory
    raise SystemExit(
        f"c10k: the client container ended without a result (status {process.wait(30)}; if docker"
        f" refused the ulimit, the engine allows fewer open files per container than --nofile)"
    )


def stop_container(name: str, process: subprocess.Popen[str]) -> None:
    """Remove the client container (killing ``docker run`` alone would leave it running)."""
    subprocess.run(["docker", "rm", "-f", name], capture_output=True, timeout=60, check=False)
    if process.poll() is None:
        process.kill()


# -- main ---------------------------------------------------------------------------------------


def choose_mode(args: argparse.Namespace) -> str:
    """``compose`` when docker answers and ``--url`` is the stack's published port; else ``direct``."""
    if args.via_compose or args.direct:
        return "compose" if args.via_compose else "direct"
    if not is_loopback(args.url) or not host.docker_available():
        return "direct"
    try:
        nginx = host.compose_containers(args.project, "nginx")
    except RuntimeError:
        return "direct"
    port = str(urlsplit(args.url).port or 80)
    published = host.docker("port", nginx[0], "8080/tcp") if nginx else ""
    return "compose" if any(line.rsplit(":", 1)[-1] == port for line in published.split()) else "direct"


def finish(args: argparse.Namespace, result: dict[str, Any]) -> int:
    """Per-connection figures, verdict, table, JSON and PNG; 0 when every goal was met."""
    result["per_connection"] = report.per_connection(result.get("memory", {}))
    result["verdict"] = report.verdict(result)
    result["measured_at"] = time.strftime("%Y-%m-%dT%H:%M:%S%z")
    print(report.render_table(result))
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(result, indent=1) + "\n")
    plot = args.plot or (args.json.with_suffix(".png") if args.json else None)
    if plot is not None:
        try:
            report.write_plot(result, plot)
        except ImportError:
            client.log("matplotlib is not installed: no plot (pip install -r requirements-dev.txt)")
    goals = result["verdict"]
    return 0 if goals and all(goals.values()) and "failure" not in result else 1


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.client:
        return client_main(args)
    mode = choose_mode(args)
    if mode == "direct":
        problem = raise_own_nofile(needed_descriptors(args)) or (None if args.force else proxy_check(args))
        if problem:
            print(f"c10k: {problem}", file=sys.stderr)
            return 2
        return finish(args, direct_main(args))
    return finish(args, compose_main(args))


if __name__ == "__main__":
    sys.exit(main())
