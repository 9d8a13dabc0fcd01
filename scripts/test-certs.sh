#!/usr/bin/env bash
# Makes a throwaway certificate chain for the TLS tests and benchmarks:
#   DIR/ca.pem     a root CA (what a client trusts: curl --cacert, SSL_CERT_FILE)
#   DIR/chain.pem  the server's certificate, then the intermediate CA that signed it
#   DIR/key.pem    the server's private key (tls_key)
# The server certificate is for localhost and 127.0.0.1 and carries NAME as its
# common name (default "magpie-test"), so that a test can tell two apart.
# Usage: scripts/test-certs.sh DIR [NAME]
set -euo pipefail
dir=$1
name=${2:-magpie-test}
mkdir -p "$dir"
cd "$dir"
ossl() { openssl "$@" 2>/dev/null; }
ossl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
  -subj "/CN=Magpie Test Root" -keyout ca.key -out ca.pem \
  -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign
ossl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=Magpie Test Intermediate" \
  -keyout inter.key -out inter.csr
printf 'basicConstraints=critical,CA:TRUE,pathlen:0\nkeyUsage=critical,keyCertSign,cRLSign\n' >inter.ext
ossl x509 -req -in inter.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 \
  -extfile inter.ext -out inter.pem
ossl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=$name" \
  -keyout key.pem -out leaf.csr
printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n' >leaf.ext
ossl x509 -req -in leaf.csr -CA inter.pem -CAkey inter.key -CAcreateserial -days 2 \
  -extfile leaf.ext -out leaf.pem
cat leaf.pem inter.pem >chain.pem
rm -f ca.key inter.key inter.csr leaf.csr inter.ext leaf.ext ./*.srl
