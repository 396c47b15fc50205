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
# and for TLS client authentication (clientAuth, digitalSignature):
#
#   client-ca.pem .key       "OpenWinHTTP Client CA", the CA nginx's client-auth
#                            ports accept (ssl_client_certificate)
#   client.pem .key          /C=US/O=OpenWinHTTP Tests/CN=client1, by client-ca
#   client.p12               client.pem + client.key + client-ca.pem, password
#                            "p12-secret"
#   client-enc.key           client.key as encrypted PKCS#8, password "pem-secret"
#   client2.pem .key         /C=US/O=OpenWinHTTP Tests/CN=client2, by client-ca
#   client2.p12              client2's, with an empty password
#   intruder.pem .key        /O=Elsewhere/CN=intruder, signed by other-ca: a
#                            certificate the client-auth ports do not accept
#
# The server leaves are TLS server certificates (serverAuth, digitalSignature).
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
ca client-ca "OpenWinHTTP Client CA"

# client NAME SUBJECT ISSUER: a client certificate signed by ISSUER
client() {
  key "$1.key"
  "$OPENSSL" req -new -key "$1.key" -out "$1.pem" -days 825 -subj "$2" \
    -CA "$3.pem" -CAkey "$3.key" -addext "$LEAF_EXT" -addext "$KU" \
    -addext "extendedKeyUsage=clientAuth" 2>/dev/null
}

client client "/C=US/O=OpenWinHTTP Tests/CN=client1" client-ca
client client2 "/C=US/O=OpenWinHTTP Tests/CN=client2" client-ca
client intruder "/O=Elsewhere/CN=intruder" other-ca
"$OPENSSL" pkcs12 -export -in client.pem -inkey client.key -certfile client-ca.pem \
  -name client1 -out client.p12 -passout pass:p12-secret 2>/dev/null
"$OPENSSL" pkcs12 -export -in client2.pem -inkey client2.key -name client2 \
  -out client2.p12 -passout pass: 2>/dev/null
"$OPENSSL" pkcs8 -topk8 -v2 aes-256-cbc -in client.key -out client-enc.key \
  -passout pass:pem-secret 2>/dev/null

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
