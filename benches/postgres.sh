#!/usr/bin/env bash
# The PostgreSQL peer of the benchmark report (benches/run): a plain event
# store — an append-only table with primary key (kommun, seq) — written by
# pgbench with a pool of connections, fsync and synchronous_commit on (and
# once more with a gap-free sequence per kommun, as a stream gives); a
# streamed read of the whole table; and a JSONB view read back by key.
#
# Usage: benches/postgres.sh OUT.jsonl SECONDS ROWS PLAN.json
# Appends {bench: "postgres", name, value, unit} lines to OUT.jsonl.
set -euo pipefail
out=$1 seconds=$2 rows=$3 plan=$4

bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1 || true)
if [ -z "$bin" ] || [ ! -x "$bin/initdb" ]; then
  echo "== PostgreSQL saknas: installerar Debians paket postgresql"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
  bin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)
fi

dir=$(mktemp -d /tmp/styr-bench-pg.XXXXXX)
# PostgreSQL will not run as root: as root, run it as the package's user.
as_pg=()
if [ "$(id -u)" = 0 ]; then
  chown postgres "$dir"
  as_pg=(runuser -u postgres --)
fi
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
cleanup() {
  ${as_pg[@]+"${as_pg[@]}"} "$bin/pg_ctl" -D "$dir/data" -m immediate stop >/dev/null 2>&1 || true
  rm -rf "$dir"
}
trap cleanup EXIT
${as_pg[@]+"${as_pg[@]}"} "$bin/initdb" -D "$dir/data" -A trust -U bench >/dev/null
${as_pg[@]+"${as_pg[@]}"} "$bin/pg_ctl" -D "$dir/data" -l "$dir/log" -w start \
  -o "-p $port -k $dir -c listen_addresses='' -c fsync=on -c synchronous_commit=on -c max_connections=100 -c shared_buffers=256MB" >/dev/null
psql=("$bin/psql" -h "$dir" -p "$port" -U bench -d postgres -qAt -v ON_ERROR_STOP=1)
pgbench=("$bin/pgbench" -h "$dir" -p "$port" -U bench -n postgres)
version=$("${psql[@]}" -c 'SHOW server_version')

figure() { # name value unit
  printf '{"bench":"postgres","name":"%s","value":%s,"unit":"%s"}\n' "$1" "$2" "$3" >>"$out"
}

"${psql[@]}" <<'SQL'
CREATE TABLE heads (kommun int PRIMARY KEY, seq bigint NOT NULL);
CREATE TABLE events (kommun int, seq bigint, event jsonb NOT NULL, PRIMARY KEY (kommun, seq));
CREATE TABLE sample (event jsonb NOT NULL);
CREATE TABLE views (kommun int, key text, doc jsonb NOT NULL, PRIMARY KEY (kommun, key));
INSERT INTO heads SELECT k, 0 FROM generate_series(1, 8) k;
SELECT format('CREATE SEQUENCE s%s', k) FROM generate_series(1, 8) k \gexec
SQL
# One event as Styrkedja stores it (an uppdrag status report, ≈ 0.8 KB).
"${psql[@]}" -c "INSERT INTO sample VALUES ('$(python3 - <<'PY'
import json
print(json.dumps({
  "event_id": "0192f0c4-5d1e-7a2b-9c3d-4e5f60718293", "kommun": "vimmerby",
  "aggregate": {"kind": "uppdrag", "id": "u-2026-01"}, "event_type": "UppdragStatusReported",
  "schema_version": 1,
  "provenance": {"decided_by": {"kind": "body", "body": "bun", "meeting_date": "2026-06-10", "paragraph": "33"},
                 "effective_date": "2026-06-10"},
  "recorded_at": "2026-06-11T08:15:02.123456Z", "recorded_by": "bun-sekreterare",
  "correlation_id": "0192f0c4-5d1e-7a2b-9c3d-4e5f60718294", "causation_id": None,
  "idempotency_key": "bun-2026-33-status-u-2026-01",
  "prev_hash": "sha256:" + "ab" * 32,
  "payload": {"uppdrag": "u-2026-01", "body": "bun", "as_of": "2026-05-31", "status": "ongoing",
              "reason": None, "comment": "Arbetet pågår enligt plan; redovisning till KF i oktober."},
  "signature": "cd" * 64}, separators=(",", ":")))
PY
)')"

# Writers, the peer the targets are set against: each statement appends one
# event under the kommun's next number from a sequence of its own. Nothing
# is held until commit, so concurrent commits share their WAL flushes —
# but numbers are not gap-free (a rolled-back insert leaves a hole) nor in
# commit order, which a kommun's stream guarantees.
cat >"$dir/write.sql" <<'SQL'
\set k 1 + :client_id % :kommuner
INSERT INTO events SELECT :k, nextval(('s' || :k)::regclass), event FROM sample;
SQL
# The same guarantee as a stream's expected sequence: the kommun's head row
# is locked until commit, so one kommun's writers take turns.
cat >"$dir/write-gapfree.sql" <<'SQL'
\set k 1 + :client_id % :kommuner
BEGIN;
UPDATE heads SET seq = seq + 1 WHERE kommun = :k RETURNING seq AS s \gset
INSERT INTO events SELECT :k, 100000000 + :s, event FROM sample;
END;
SQL
# The rate without connection set-up; no figure is an error, not an empty value.
tps() {
  local rate
  rate=$(sed -n 's/^tps = \([0-9.]*\) (without initial connection time)$/\1/p' | head -1)
  [ -n "$rate" ] || { echo "pgbench gav ingen tps-rad" >&2; return 1; }
  echo "$rate"
}
for scenario in "1 1 1_writer write" "64 1 64_connections_1_kommun write" \
  "64 8 64_connections_8_kommuner write" "64 1 64_connections_1_kommun_gapfree write-gapfree"; do
  set -- $scenario
  rate=$("${pgbench[@]}" -c "$1" -j 2 -T "$seconds" -D kommuner="$2" -f "$dir/$4.sql" | tps)
  figure "$3" "$rate" "events/s"
done

# A streamed read of the whole log in order, at the rebuild's size.
"${psql[@]}" -c "INSERT INTO events SELECT 100 + g / 10000, g, event FROM sample, generate_series(1, $rows) g" \
  -c "VACUUM ANALYZE events"
# Only these rows (kommuner 100 and up), not what the writers left.
count=$("${psql[@]}" -c "SELECT count(*) FROM events WHERE kommun >= 100")
start=$(date +%s.%N)
"${psql[@]}" -c "COPY (SELECT event FROM events WHERE kommun >= 100 ORDER BY kommun, seq) TO STDOUT" >/dev/null
end=$(date +%s.%N)
figure streamed_read "$(python3 -c "print($count / ($end - $start))")" "rows/s"

# The plan answer stored as JSONB by key, read back by key (one client).
"${psql[@]}" -v planfile="$plan" <<'SQL'
\set plan `cat :'planfile'`
INSERT INTO views SELECT k, 'plan/2026', :'plan'::jsonb FROM generate_series(1, 100) k;
VACUUM ANALYZE views;
SQL
cat >"$dir/read.sql" <<'SQL'
\set k random(1, 100)
SELECT doc FROM views WHERE kommun = :k AND key = 'plan/2026';
SQL
(cd "$dir" && "${pgbench[@]}" -c 1 -j 1 -T "$seconds" -f read.sql -l --log-prefix=read >/dev/null)
sort -n -k3,3 "$dir"/read.* | awk '{print $3}' >"$dir/lat"
n=$(wc -l <"$dir/lat")
for p in 50 99; do
  i=$(( (n - 1) * p / 100 + 1 ))
  us=$(sed -n "${i}p" "$dir/lat")
  figure "plan_by_key_p$p" "$(python3 -c "print($us / 1000)")" "ms"
done
echo "PostgreSQL $version: klart"
