#!/usr/bin/env bash
# `make image-test`: build clarion's image from a local Debian base and run it.
#
# Where no public container registry is reachable, the base is made here: debootstrap's
# minimal bookworm with python3, python3-venv and ca-certificates, imported into buildah's
# storage (kept between runs; CLARION_IMAGE_TEST_NEW_BASE=1 makes it again). The Containerfile
# is built on it with `buildah bud --isolation chroot`, then `clarion server` is started in the
# image with `buildah run --isolation chroot` on the host's network, on SQLite, and must answer
# /healthz, pass the image's own HEALTHCHECK command, and deliver a test notification to a
# sink on the host. Needs root (debootstrap, buildah's chroot isolation).
#
# This machine's package mirrors are used inside as well: debootstrap takes the host's apt
# source, the host's extra CA certificates (/usr/local/share/ca-certificates) go into the
# base, and pip's index settings (PIP_INDEX_URL, PIP_EXTRA_INDEX_URL, PIP_TRUSTED_HOST, or pip
# config's global.index-url) are passed to the build as build arguments.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BASE_IMAGE=${CLARION_IMAGE_TEST_BASE:-localhost/clarion-image-test-base:bookworm}
IMAGE=${CLARION_IMAGE_TEST_IMAGE:-localhost/clarion:image-test}
SUITE=bookworm
WORK=$(mktemp -d "${TMPDIR:-/var/tmp}/clarion-image-test.XXXXXX")
CONTAINER=""
SERVER_PID=""
SINK_PID=""
started=$(date +%s)

say() { printf '==> %s\n' "$*"; }
fail() { printf 'image-test FAILED: %s\n' "$*" >&2; exit 1; }

cleanup() {
  local status=$?
  if [ -n "$SERVER_PID" ] && kill -0 "$SERVER_PID" 2>/dev/null; then
    kill -TERM -- "-$SERVER_PID" 2>/dev/null || true
    wait "$SERVER_PID" 2>/dev/null || true
  fi
  if [ -n "$SINK_PID" ]; then
    kill "$SINK_PID" 2>/dev/null || true
    wait "$SINK_PID" 2>/dev/null || true
  fi
  if [ -n "$CONTAINER" ]; then
    buildah rm "$CONTAINER" >/dev/null 2>&1 || true
  fi
  if [ "$status" -ne 0 ] && [ -s "$WORK/server.log" ]; then
    echo "--- server log (last lines) ---" >&2
    tail -n 40 "$WORK/server.log" >&2
  fi
  rm -rf "$WORK"
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

[ "$(id -u)" -eq 0 ] || fail "run as root: debootstrap and buildah's chroot isolation need it"

if ! command -v buildah >/dev/null || ! command -v debootstrap >/dev/null; then
  say "installing buildah and debootstrap"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q
  apt-get install -y -q buildah debootstrap
fi

apt_mirror() {
  # The host's own Debian source, so the base comes through the same mirror.
  local uri=""
  if [ -f /etc/apt/sources.list.d/debian.sources ]; then
    uri=$(awk '/^URIs:/ {print $2; exit}' /etc/apt/sources.list.d/debian.sources)
  fi
  if [ -z "$uri" ] && [ -f /etc/apt/sources.list ]; then
    uri=$(awk '$1 == "deb" && $0 !~ /security/ {for (i = 2; i <= NF; i++) if ($i ~ /^[a-z]+:\/\//) {print $i; exit}}' /etc/apt/sources.list)
  fi
  echo "${DEBIAN_MIRROR:-${uri:-http://deb.debian.org/debian}}"
}

if [ "${CLARION_IMAGE_TEST_NEW_BASE:-0}" = 1 ] || ! buildah inspect --type image "$BASE_IMAGE" >/dev/null 2>&1; then
  mirror=$(apt_mirror)
  say "making the base $BASE_IMAGE with debootstrap ($SUITE, minbase, from $mirror)"
  # The earlier base and the image built on it, so that neither stays behind untagged.
  buildah rmi "$IMAGE" >/dev/null 2>&1 || true
  buildah rmi "$BASE_IMAGE" >/dev/null 2>&1 || true
  debootstrap --variant=minbase --include=python3,python3-venv,ca-certificates \
    "$SUITE" "$WORK/rootfs" "$mirror" >"$WORK/debootstrap.log" 2>&1 \
    || { tail -n 20 "$WORK/debootstrap.log" >&2; fail "debootstrap"; }
  if compgen -G "/usr/local/share/ca-certificates/*.crt" >/dev/null; then
    cp /usr/local/share/ca-certificates/*.crt "$WORK/rootfs/usr/local/share/ca-certificates/"
    chroot "$WORK/rootfs" update-ca-certificates >>"$WORK/debootstrap.log" 2>&1
  fi
  chroot "$WORK/rootfs" apt-get clean
  rm -rf "$WORK"/rootfs/var/lib/apt/lists/* "$WORK"/rootfs/usr/share/doc/* "$WORK"/rootfs/usr/share/man/*
  tar -C "$WORK/rootfs" -cf "$WORK/base.tar" .
  rm -rf "$WORK/rootfs"
  base=$(buildah from scratch)
  buildah add "$base" "$WORK/base.tar" / >/dev/null
  buildah config --env PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    --cmd /bin/bash "$base"
  buildah commit --rm --quiet "$base" "$BASE_IMAGE" >/dev/null
  rm -f "$WORK/base.tar"
else
  say "using the base $BASE_IMAGE made before (CLARION_IMAGE_TEST_NEW_BASE=1 to make it again)"
fi

build_args=(--build-arg "BASE=$BASE_IMAGE" --build-arg "PIP_CERT=/etc/ssl/certs/ca-certificates.crt")
index_url=${PIP_INDEX_URL:-}
if [ -z "$index_url" ] && command -v pip3 >/dev/null; then
  index_url=$(pip3 config get global.index-url 2>/dev/null || true)
fi
[ -z "$index_url" ] || build_args+=(--build-arg "PIP_INDEX_URL=$index_url")
# Only network indexes: a file:// index of the host is not inside the build.
extra=""
for url in ${PIP_EXTRA_INDEX_URL:-}; do
  case "$url" in http://* | https://*) extra="${extra:+$extra }$url" ;; esac
done
[ -z "$extra" ] || build_args+=(--build-arg "PIP_EXTRA_INDEX_URL=$extra")
[ -z "${PIP_TRUSTED_HOST:-}" ] || build_args+=(--build-arg "PIP_TRUSTED_HOST=$PIP_TRUSTED_HOST")

say "building $IMAGE from the Containerfile"
# The image of an earlier run, so that it does not stay behind untagged.
buildah rmi "$IMAGE" >/dev/null 2>&1 || true
build_started=$(date +%s)
buildah bud --isolation chroot --format docker "${build_args[@]}" \
  -f "$ROOT/Containerfile" -t "$IMAGE" "$ROOT" >"$WORK/build.log" 2>&1 \
  || { tail -n 30 "$WORK/build.log" >&2; fail "buildah bud"; }
say "image built in $(($(date +%s) - build_started))s"

config() { buildah inspect --type image "$IMAGE"; }
config | python3 -c '
import json, sys
c = json.load(sys.stdin)["Docker"]["config"]
assert c["Entrypoint"] == ["clarion"], c["Entrypoint"]
assert c["Cmd"] == ["server"], c["Cmd"]
assert c["User"] == "clarion", c["User"]
assert "/data" in c["Volumes"], c["Volumes"]
assert c["Healthcheck"]["Test"][0] == "CMD", c["Healthcheck"]
env = dict(e.split("=", 1) for e in c["Env"])
assert env["CLARION_DATA_DIR"] == "/data" and env["CLARION_HTTP_ADDRESS"] == "0.0.0.0:8080", env
' || fail "the image's configuration"

free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
PORT=$(free_port)
SINK_PORT=$(free_port)
ADMIN_TOKEN="clarion_admin_$(python3 -c 'import secrets; print(secrets.token_urlsafe(24))')"

# The sink: records each POST (path and body) as one JSON line.
cat >"$WORK/sink.py" <<'PY'
import json, sys
from http.server import BaseHTTPRequestHandler, HTTPServer

class Sink(BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        with open(sys.argv[2], "a") as out:
            out.write(json.dumps({"path": self.path, "body": body.decode()}) + "\n")
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass

HTTPServer(("127.0.0.1", int(sys.argv[1])), Sink).serve_forever()
PY
: >"$WORK/received.jsonl"
python3 "$WORK/sink.py" "$SINK_PORT" "$WORK/received.jsonl" &
SINK_PID=$!

CONTAINER=$(buildah from --name "clarion-image-test-$$" "$IMAGE")
run_env=(
  -e "CLARION_HTTP_ADDRESS=127.0.0.1:$PORT"
  -e "CLARION_ADMIN_TOKEN=$ADMIN_TOKEN"
  -e "CLARION_METHOD=webhook"
  -e "CLARION_WEBHOOK_ENDPOINT=http://127.0.0.1:$SINK_PORT/hook"
  -e "CLARION_ALLOW_PRIVATE_DESTINATIONS=true"
  -e "CLARION_URL=http://127.0.0.1:$PORT"
)
in_image() { buildah run --isolation chroot --network host "${run_env[@]}" "$@"; }

say "starting clarion server in the image on 127.0.0.1:$PORT (SQLite in /data)"
# Its own process group, so that stopping it reaches the server under buildah run.
setsid buildah run --isolation chroot --network host "${run_env[@]}" "$CONTAINER" \
  -- clarion server >"$WORK/server.log" 2>&1 &
SERVER_PID=$!

healthy=""
for _ in $(seq 1 120); do
  if python3 -c "
import json, sys, urllib.request
with urllib.request.urlopen('http://127.0.0.1:$PORT/healthz', timeout=2) as r:
    sys.exit(0 if json.load(r) == {'status': 'ok', 'database': 'ok'} else 1)
" 2>/dev/null; then
    healthy=1
    break
  fi
  kill -0 "$SERVER_PID" 2>/dev/null || fail "the server stopped"
  sleep 0.5
done
[ -n "$healthy" ] || fail "no healthy answer on /healthz"
say "/healthz: ok"

# The image's own HEALTHCHECK command, run inside it as a container engine would.
mapfile -t check < <(config | python3 -c '
import json, sys
for arg in json.load(sys.stdin)["Docker"]["config"]["Healthcheck"]["Test"][1:]:
    print(arg)
')
in_image -e "CLARION_HTTP_ADDRESS=127.0.0.1:$PORT" "$CONTAINER" -- "${check[@]}" \
  || fail "the image's HEALTHCHECK command failed"
say "HEALTHCHECK command: ok"

say "sending a test notification to the sink at 127.0.0.1:$SINK_PORT"
in_image -e "CLARION_TOKEN=$ADMIN_TOKEN" "$CONTAINER" -- \
  clarion users create image-test@example.com --name "Image Test" >/dev/null
token=$(in_image -e "CLARION_TOKEN=$ADMIN_TOKEN" "$CONTAINER" -- \
  clarion tokens create --user image-test@example.com --name image-test 2>/dev/null | tail -n 1)
[ -n "$token" ] || fail "no token for the test user"
in_image -e "CLARION_TOKEN=$token" "$CONTAINER" -- clarion notifications test >/dev/null

delivered=""
for _ in $(seq 1 60); do
  if python3 - "$WORK/received.jsonl" <<'PY'
import json, sys
lines = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
sys.exit(0 if any(l["path"] == "/hook" and "image-test@example.com" in l["body"] for l in lines) else 1)
PY
  then
    delivered=1
    break
  fi
  sleep 0.5
done
[ -n "$delivered" ] || fail "the test notification did not reach the sink"
say "test notification delivered to the sink"

say "stopping the server"
kill -TERM -- "-$SERVER_PID"
stopped=""
for _ in $(seq 1 40); do
  if ! kill -0 "$SERVER_PID" 2>/dev/null; then
    stopped=1
    break
  fi
  sleep 0.5
done
[ -n "$stopped" ] || fail "the server did not stop on SIGTERM"
wait "$SERVER_PID" 2>/dev/null || true
SERVER_PID=""
say "image-test passed in $(($(date +%s) - started))s"
