#!/bin/sh
# ctest examples.clientcert: runs examples/clientcert (Microsoft's "SSL in
# WinHTTP" client-certificate flow) against the demo server's client-auth
# port (scripts/demo-server: nginx requiring a certificate from the client
# CA of tests/peers/gen-certs.sh).
# Usage: test_clientcert.sh CLIENTCERT DEMO_SERVER
#
# No sleeps: the server's READY line, read through a FIFO, means it serves.
set -u
clientcert=$1
demo_server=$2
. "$(dirname "$0")/../support/demo_server.sh"

tmp=$(mktemp -d "${TMPDIR:-/tmp}/test-clientcert.XXXXXX")
demo_server_pid=""
cleanup() {
  if [ -n "$demo_server_pid" ]; then
    kill -TERM "$demo_server_pid" 2>/dev/null
    wait "$demo_server_pid" 2>/dev/null
  fi
  rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

. "$(dirname "$0")/../support/check.sh"
show_failure() {
  head -c 2000 "$tmp/out" | awk '{ print "     stdout: " $0 }'
  tail -n 12 "$tmp/err" | awk '{ print "     stderr: " $0 }'
}

# c NAME EXPECTED_STATUS clientcert-args...
c() {
  name=$1 want=$2
  shift 2
  "$clientcert" "$@" >"$tmp/out" 2>"$tmp/err"
  status_is "$name" $? "$want"
}

start_demo_server "$demo_server" "$tmp" 1 || exit 1
export SSL_CERT_FILE="$DEMO_CA"
port=${DEMO_CLIENT_AUTH_URL##*:}

c "certificate found by subject" 0 127.0.0.1 "$port" /whoami "$DEMO_TLS/client.p12" p12-secret client1 &&
  check "asked, one issuer, then 200 with client1's subject" \
  sh -c 'grep -qx "issuers: 1" "$1" && grep -qx "status: 200" "$1" &&
         grep -qx "CN=client1,O=OpenWinHTTP Tests,C=US" "$1"' - "$tmp/out"
c "no certificate" 0 127.0.0.1 "$port" /whoami "$DEMO_TLS/client.p12" p12-secret - &&
  check "WINHTTP_NO_CLIENT_CERT_CONTEXT where one is required: nginx's 400" \
  grep -qx "status: 400" "$tmp/out"
c "no such subject" 1 127.0.0.1 "$port" /whoami "$DEMO_TLS/client.p12" p12-secret nobody &&
  check "a subject the store does not hold: CertFindCertificateInStore's CRYPT_E_NOT_FOUND" \
  grep -qx "Error 2148081668 has occurred." "$tmp/out"
c "wrong password" 1 127.0.0.1 "$port" /whoami "$DEMO_TLS/client.p12" wrong client1 &&
  ok "a wrong PFX password: no certificate, exit 1"

check_summary
