#!/bin/sh
# ctest examples.readdata: runs examples/readdata (Microsoft's WinHttpReadData
# sample, ported) against the demo server (scripts/demo-server: nginx on
# loopback, HTTP and HTTPS with a CA generated for this run) and checks that
# what it prints is, byte for byte, what the server served.
# Usage: test_readdata.sh READDATA DEMO_SERVER
#
# No sleeps: the server's READY line, read through a FIFO, means it serves.
set -u
readdata=$1
demo_server=$2
. "$(dirname "$0")/../support/demo_server.sh"

tmp=$(mktemp -d "${TMPDIR:-/tmp}/test-readdata.XXXXXX")
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

# The sample connects through WINHTTP_ACCESS_TYPE_DEFAULT_PROXY: keep any
# proxy of the environment out of a loopback test.
unset http_proxy https_proxy all_proxy no_proxy HTTP_PROXY HTTPS_PROXY ALL_PROXY NO_PROXY
unset SSL_CERT_FILE SSL_CERT_DIR

. "$(dirname "$0")/../support/check.sh"
show_failure() {
  # awk ends every line, the last one included, with a newline.
  head -c 2000 "$tmp/out" | awk '{ print "     stdout: " $0 }'
  tail -n 12 "$tmp/err" | awk '{ print "     stderr: " $0 }'
}

# r NAME EXPECTED_STATUS readdata-args...: runs readdata (stdout to
# $tmp/out, stderr to $tmp/err); fails on a sanitizer report or another
# exit status.
r() {
  name=$1 want=$2
  shift 2
  "$readdata" "$@" >"$tmp/out" 2>"$tmp/err"
  status_is "$name" $? "$want"
}

# same NAME FILE: stdout was exactly FILE.
same() {
  if cmp -s "$tmp/out" "$2"; then ok "$1"; else bad "$1: stdout differs from $2"; fi
}

start_demo_server "$demo_server" "$tmp" 1
H=$DEMO_HTTP_PORT
S=$DEMO_HTTPS_PORT

r "HTTP page" 0 127.0.0.1 "$H" /index.html http && same "HTTP: the page, byte for byte" "$DEMO_ROOT/index.html"
# 16 KiB: more than one round of the QueryDataAvailable / ReadData loop.
r "HTTP 16 KiB" 0 127.0.0.1 "$H" /text.txt http && same "HTTP 16 KiB: the text, byte for byte" "$DEMO_ROOT/text.txt"
r "host name" 0 localhost "$H" /hello.txt http && same "localhost: the text, byte for byte" "$DEMO_ROOT/hello.txt"

# HTTPS is the sample's own case (WINHTTP_FLAG_SECURE). The library trusts
# the CA named by SSL_CERT_FILE, as OpenSSL does.
export SSL_CERT_FILE="$DEMO_CA"
r "HTTPS page" 0 127.0.0.1 "$S" /index.html && same "HTTPS: the page, byte for byte" "$DEMO_ROOT/index.html"
r "HTTPS 16 KiB" 0 localhost "$S" /text.txt && same "HTTPS 16 KiB: the text, byte for byte" "$DEMO_ROOT/text.txt"
unset SSL_CERT_FILE

# Without the CA, WinHttpSendRequest fails with ERROR_WINHTTP_SECURE_FAILURE
# and the sample's own report is all it prints.
printf 'Error 12175 has occurred.\n' >"$tmp/want"
r "HTTPS, unknown CA" 1 127.0.0.1 "$S" /index.html && same "HTTPS, unknown CA: the sample's error line" "$tmp/want"
printf 'Error 12029 has occurred.\n' >"$tmp/want"
r "refused" 1 127.0.0.1 1 / http && same "refused: ERROR_WINHTTP_CANNOT_CONNECT in the sample's error line" "$tmp/want"

# The wmain shim: arguments are decoded in the locale's encoding, and bytes
# that are not text in it are refused before wmain runs.
if LC_ALL=C.UTF-8 "$readdata" 127.0.0.1 "$H" "$(printf '/\377')" http >"$tmp/out" 2>"$tmp/err"; then
  bad "undecodable argument: accepted"
elif [ $? = 2 ] && grep -q "argument 3 is not valid text" "$tmp/err" && [ ! -s "$tmp/out" ]; then
  ok "undecodable argument: refused by the shim, exit 2"
else
  bad "undecodable argument: not refused as expected"
fi

check_summary
