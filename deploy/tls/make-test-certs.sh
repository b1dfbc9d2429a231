#!/usr/bin/env bash
# Makes a private certificate authority and one certificate per nats-server
# node, for trying TLS out and for tests. Production uses certificates from
# the organisation's own CA; the layout is the same.
#
#   deploy/tls/make-test-certs.sh OUT [NODE...]
#
# NODE defaults to styr-1 styr-2 styr-3. For each node it writes
# OUT/NODE/node.pem, OUT/NODE/node-key.pem and OUT/NODE/ca.pem: copy that
# folder to the node's /etc/styrkedja/tls/. Each certificate names the node,
# NODE.internal, localhost and 127.0.0.1, and serves both as a server
# certificate (clients, routes) and as a client certificate (routes verify
# each other). OUT/ca.pem is what clients (styr: --tls-ca) trust.
set -euo pipefail
out=${1:?"användning: $0 UTMAPP [NOD...]"}
shift
nodes=("$@")
[ ${#nodes[@]} -gt 0 ] || nodes=(styr-1 styr-2 styr-3)
command -v openssl >/dev/null || { echo "openssl saknas: installera paketet openssl" >&2; exit 1; }
mkdir -p "$out"
umask 077
# openssl's own messages only when it fails.
ssl() { local log; log=$(openssl "$@" 2>&1) || { echo "openssl $1 misslyckades: $log" >&2; exit 1; }; }
if [ ! -f "$out/ca.pem" ]; then
  ssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 825 \
    -subj "/CN=Styrkedja test CA" -keyout "$out/ca-key.pem" -out "$out/ca.pem"
elif [ ! -f "$out/ca-key.pem" ]; then
  echo "$out/ca.pem finns men inte ca-key.pem: nya nodcertifikat kan inte signeras; ta bort $out eller lägg tillbaka nyckeln" >&2
  exit 1
fi
for node in "${nodes[@]}"; do
  dir="$out/$node"
  mkdir -p "$dir"
  ssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
    -subj "/CN=$node" -keyout "$dir/node-key.pem" -out "$dir/node.csr"
  printf '%s\n' \
    "subjectAltName=DNS:$node,DNS:$node.internal,DNS:localhost,IP:127.0.0.1" \
    "extendedKeyUsage=serverAuth,clientAuth" \
    "keyUsage=digitalSignature" > "$dir/ext.cnf"
  ssl x509 -req -in "$dir/node.csr" -CA "$out/ca.pem" -CAkey "$out/ca-key.pem" \
    -CAcreateserial -days 825 -extfile "$dir/ext.cnf" -out "$dir/node.pem"
  cp "$out/ca.pem" "$dir/ca.pem"
  rm -f "$dir/node.csr" "$dir/ext.cnf"
done
chmod 0644 "$out/ca.pem" "$out"/*/ca.pem "$out"/*/node.pem
echo "certifikat i $out: ca.pem (klienterna litar på den) och en mapp per nod (${nodes[*]})"
