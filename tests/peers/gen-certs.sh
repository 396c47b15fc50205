#!/bin/sh
# Generates throwaway TLS material for the tests into the directory given as
# the only argument (created if missing), with the openssl CLI and EC P-256
# keys, so that it takes a fraction of a second:
#
#   ca.pem  ca.key           the test CA ("OpenWinHTTP Test CA"); tests trust it
#   server.pem  server.key   localhost + IP 127.0.0.1 + IP ::1, signed by the CA
#   expired.pem expired.key  same names, signed by the CA, valid 2020-01-01..02
#   wronghost.pem .key       only "wrong.example", signed by the CA
#   selfsigned.pem .key      localhost + 127.0.0.1 + ::1, self-signed
#   unknownca.pem .key       localhost + 127.0.0.1 + ::1, signed by another CA
#                            (other-ca.pem), which no test trusts
#
# Every leaf is a TLS server certificate (serverAuth, digitalSignature).
# Prints nothing on success; exits non-zero on any failure.
set -eu

if [ $# -ne 1 ]; then
  echo "usage: $0 DIR" >&2
  exit 2
fi
dir=$1
mkdir -p "$dir"
cd "$dir"

OPENSSL=${OPENSSL:-openssl}
# Keep the CLI away from any system or user configuration.
export OPENSSL_CONF=/dev/null

SAN="subjectAltName=DNS:localhost,IP:127.0.0.1,IP:::1"
LEAF_EXT="basicConstraints=critical,CA:FALSE"
KU="keyUsage=critical,digitalSignature"
EKU="extendedKeyUsage=serverAuth"

key() {
  "$OPENSSL" genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1" 2>/dev/null
}

# ca NAME CN: a self-signed CA certificate
ca() {
  key "$1.key"
  "$OPENSSL" req -new -x509 -key "$1.key" -out "$1.pem" -days 3650 -subj "/CN=$2" \
    -addext "basicConstraints=critical,CA:TRUE" \
    -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null
}

# leaf NAME CN SAN ISSUER: a leaf signed by ISSUER (ISSUER.pem/.key), valid now
leaf() {
  key "$1.key"
  "$OPENSSL" req -new -key "$1.key" -out "$1.pem" -days 825 -subj "/CN=$2" \
    -CA "$4.pem" -CAkey "$4.key" \
    -addext "$3" -addext "$LEAF_EXT" -addext "$KU" -addext "$EKU" 2>/dev/null
}

ca ca "OpenWinHTTP Test CA"
ca other-ca "OpenWinHTTP Unknown CA"

leaf server localhost "$SAN" ca
leaf wronghost wrong.example "subjectAltName=DNS:wrong.example" ca
leaf unknownca localhost "$SAN" other-ca

key selfsigned.key
"$OPENSSL" req -new -x509 -key selfsigned.key -out selfsigned.pem -days 825 \
  -subj "/CN=localhost" -addext "$SAN" -addext "$LEAF_EXT" -addext "$KU" \
  -addext "$EKU" 2>/dev/null

# The expired certificate needs an explicit validity window in the past, which
# only "openssl ca" can set in OpenSSL 3.0; it wants a tiny database.
key expired.key
"$OPENSSL" req -new -key expired.key -out expired.csr -subj "/CN=localhost" 2>/dev/null
mkdir -p ca-db
: > ca-db/index.txt
echo 1000 > ca-db/serial
cat > ca-db/ca.cnf <<CNF
[ca]
default_ca = test_ca
[test_ca]
database = ca-db/index.txt
serial = ca-db/serial
new_certs_dir = ca-db
default_md = sha256
policy = any
unique_subject = no
[any]
commonName = supplied
[ext]
$SAN
$LEAF_EXT
$KU
$EKU
CNF
"$OPENSSL" ca -batch -notext -config ca-db/ca.cnf -cert ca.pem -keyfile ca.key \
  -in expired.csr -out expired.pem -extensions ext \
  -startdate 20200101000000Z -enddate 20200102000000Z 2>/dev/null
rm -rf ca-db expired.csr
