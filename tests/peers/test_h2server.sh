#!/bin/sh
# ctest peers.h2server: the scriptable HTTP/2 server (tests/peers/h2server.py)
# checked with nghttp2's `nghttp` client, over cleartext (prior knowledge)
# and over TLS (ALPN h2; curl checks the 505 for ALPN http/1.1), by the
# content of nghttp's -v frame trace and of the bodies it receives: every
# scenario, flow control with tiny windows, --max-streams and --no-settings,
# the connection-aware scenarios (/conn, /barrier, /refuse-once,
# /goaway-once), and that the server survives clients that vanish
# mid-stream.
# Usage: test_h2server.sh H2SERVER GEN_CERTS
# Exits 77 (ctest SKIP) when python3-h2 or nghttp is missing.
#
# No sleeps: servers are ready when their READY line (read through a FIFO)
# says so. Every nghttp run is bounded by its -t timeout.
set -u
h2server=$1
gen_certs=$2

python=python3
[ -x /usr/bin/python3 ] && python=/usr/bin/python3

if ! "$python" -c 'import h2.connection' 2>/dev/null; then
  echo "SKIP: python3-h2 is not installed (scripts/install-deps installs it)"
  exit 77
fi
if ! command -v nghttp >/dev/null 2>&1; then
  echo "SKIP: nghttp is not installed (Debian nghttp2-client; scripts/install-deps)"
  exit 77
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/test-h2server.XXXXXX")
pids=""
cleanup() {
  for p in $pids; do
    kill -TERM "$p" 2>/dev/null
    wait "$p" 2>/dev/null
  done
  rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

. "$(dirname "$0")/../support/check.sh"
show_failure() { tail -n 15 "$tmp/out" | sed 's/^/     out: /'; }

has_re() { grep -qE -- "$1" "$2"; }
lacks_re() { ! grep -qE -- "$1" "$2"; }

# start_peer VAR PIDVAR ARGS...: starts h2server.py with ARGS, sets VAR to
# its port and PIDVAR to its process id.
start_peer() {
  var=$1 pidvar=$2
  shift 2
  start_py_peer "$h2server" "$var" "$@"
  eval "$pidvar=\$peer_pid"
}

ts() { [ -n "${H2T_TIME:-}" ] && date +%s.%N >&2; return 0; }
# n ARGS...: nghttp with a 5 s bound, stdout (trace and body) to $tmp/out.
n() { ts; nghttp -t 5 "$@" >"$tmp/out" 2>&1; }
# nb ARGS...: nghttp with a 5 s bound, the body alone to $tmp/body.
nb() { ts; nghttp -t 5 "$@" >"$tmp/body" 2>"$tmp/out"; }

# pattern N FILE: the servers' N-byte body pattern ('a' + i % 26).
pattern() {
  "$python" -c 'import sys; sys.stdout.buffer.write(bytes(97 + i % 26 for i in range(int(sys.argv[1]))))' "$1" >"$2"
}
pattern 100000 "$tmp/p100000"
pattern 70000 "$tmp/p70000"
"$python" -c 'import os, sys; sys.stdout.buffer.write(os.urandom(200000))' >"$tmp/random"
printf 'hello h2 echo\n' >"$tmp/small"

# vanish plain|tls: asks the server for 50 MB, reads 20000 bytes, closes.
vanish() {
  if [ "$1" = plain ]; then vport=$plain; else vport=$tls; fi
  "$python" - "$1" "$vport" <<'PY' && ok "$1: a client vanishing mid-body" || bad "$1: the vanishing client failed"
import socket, ssl, sys
import h2.config, h2.connection
s = socket.create_connection(("127.0.0.1", int(sys.argv[2])), timeout=5)
if sys.argv[1] == "tls":
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    ctx.set_alpn_protocols(["h2"])
    s = ctx.wrap_socket(s)
c = h2.connection.H2Connection(h2.config.H2Configuration(client_side=True))
c.initiate_connection()
c.send_headers(1, [(":method", "GET"), (":path", "/ok?len=50000000"),
                   (":scheme", "https" if sys.argv[1] == "tls" else "http"),
                   (":authority", "127.0.0.1")], end_stream=True)
s.sendall(c.data_to_send())
got = 0
while got < 20000:
    d = s.recv(65536)
    if not d:
        sys.exit("connection closed early")
    got += len(d)
s.close()
PY
}

# Cleartext with prior knowledge, then TLS.
start_peer plain plain_pid
sh "$gen_certs" "$tmp/certs" || { echo "FAIL gen-certs.sh"; exit 1; }
start_peer tls tls_pid --tls-cert "$tmp/certs/server.pem" --tls-key "$tmp/certs/server.key"
start_peer ms ms_pid --max-streams 7
start_peer ns ns_pid --no-settings

for mode in plain tls; do
  if [ $mode = plain ]; then base="http://127.0.0.1:$plain"; else base="https://127.0.0.1:$tls"; fi
  t="$mode:"

  # /ok: the exact body, then the same under tiny windows (stream 1023
  # bytes, connection 4095): no DATA frame larger than the window, and the
  # server resumes on WINDOW_UPDATE until all 100000 bytes are there.
  nb "$base/ok?len=100000"
  check "$t /ok?len=100000 body" cmp -s "$tmp/body" "$tmp/p100000"
  nb -w 10 -W 12 "$base/ok?len=100000"
  check "$t /ok under a 1023-byte window: body" cmp -s "$tmp/body" "$tmp/p100000"
  n -nv -w 10 -W 12 "$base/ok?len=100000"
  big=$(sed -n 's/.*recv DATA frame <length=\([0-9]*\).*/\1/p' "$tmp/out" | sort -n | tail -n 1)
  frames=$(grep -c "recv DATA frame" "$tmp/out")
  check "$t /ok under a 1023-byte window: DATA <= 1023 bytes ($frames frames, max ${big:-none})" \
    test -n "$big" -a "${big:-0}" -le 1023 -a "$frames" -ge 98
  n -nv "$base/ok?len=0"
  check "$t /ok?len=0: HEADERS with END_STREAM, content-length 0" \
    sh -c "grep -qF 'content-length: 0' '$tmp/out' && grep -A1 'recv HEADERS' '$tmp/out' | grep -qF 'END_STREAM'"

  # /trailers: body, then a trailer block with END_STREAM.
  n -v "$base/trailers"
  check "$t /trailers body" has "trailers body" "$tmp/out"
  check "$t /trailers trailer grpc-status: 0" has_re 'recv \(stream_id=[0-9]+\) grpc-status: 0$' "$tmp/out"
  check "$t /trailers trailer block ends the stream" \
    sh -c "sed -n '/grpc-status: 0/,\$p' '$tmp/out' | grep -A1 'recv HEADERS' | grep -qF 'END_STREAM | END_HEADERS'"

  # /rst
  n -nv "$base/rst"
  check "$t /rst: RST_STREAM INTERNAL_ERROR" has "error_code=INTERNAL_ERROR(0x02)" "$tmp/out"
  check "$t /rst: no response headers" lacks_re ':status:' "$tmp/out"
  n -nv "$base/rst?code=5"
  check "$t /rst?code=5: RST_STREAM STREAM_CLOSED" \
    sh -c "grep -A1 'recv RST_STREAM' '$tmp/out' | grep -qF 'error_code=STREAM_CLOSED(0x05)'"
  n -nv "$base/rst?at=body&code=8"
  check "$t /rst?at=body: status 200" has_re 'recv \(stream_id=[0-9]+\) :status: 200' "$tmp/out"
  check "$t /rst?at=body: 10 body bytes" has_re 'recv DATA frame <length=10,' "$tmp/out"
  check "$t /rst?at=body&code=8: RST_STREAM CANCEL" \
    sh -c "grep -A1 'recv RST_STREAM' '$tmp/out' | grep -qF 'error_code=CANCEL(0x08)'"

  # /refuse
  n -nv "$base/refuse"
  check "$t /refuse: RST_STREAM REFUSED_STREAM" \
    sh -c "grep -A1 'recv RST_STREAM' '$tmp/out' | grep -qF 'error_code=REFUSED_STREAM(0x07)'"

  # /goaway: nghttp's request is stream 13 by default (it opens priority
  # streams first), stream 1 with --no-dep.
  n -nv "$base/goaway"
  check "$t /goaway: GOAWAY last_stream_id=11 NO_ERROR" \
    sh -c "grep -A1 'recv GOAWAY' '$tmp/out' | grep -qF '(last_stream_id=11, error_code=NO_ERROR(0x00)'"
  n -nv --no-dep "$base/goaway"
  check "$t /goaway (stream 1): last_stream_id=0" \
    sh -c "grep -A1 'recv GOAWAY' '$tmp/out' | grep -qF '(last_stream_id=0, error_code=NO_ERROR(0x00)'"
  n -nv "$base/goaway?last=5&code=11"
  check "$t /goaway?last=5&code=11" \
    sh -c "grep -A1 'recv GOAWAY' '$tmp/out' | grep -qF '(last_stream_id=5, error_code=ENHANCE_YOUR_CALM(0x0b)'"
  check "$t /goaway: no response" lacks_re ':status:' "$tmp/out"

  # /bigheaders: 400 headers of 100 bytes; a block larger than the 16384
  # max frame size, so it came as HEADERS + CONTINUATION.
  n -nv "$base/bigheaders?n=400"
  got=$(grep -cE 'recv \(stream_id=[0-9]+\) x-big-[0-9]{5}: [a-z]{89}$' "$tmp/out")
  check "$t /bigheaders?n=400: 400 headers arrive (got $got)" test "$got" -eq 400
  check "$t /bigheaders: first header exact" \
    has 'x-big-00000: abcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyzabcdefghijk' "$tmp/out"
  blk=$(sed -n 's/.*recv HEADERS frame <length=\([0-9]*\).*/\1/p' "$tmp/out" | head -n 1)
  check "$t /bigheaders: header block ${blk:-?} bytes > 16384 (CONTINUATION)" test "${blk:-0}" -gt 16384

  # /echo: small and 200000 random bytes (beyond the 65535 initial window,
  # so the server must acknowledge what it reads).
  nb -d "$tmp/small" "$base/echo"
  check "$t /echo small body" cmp -s "$tmp/body" "$tmp/small"
  nb -d "$tmp/random" "$base/echo"
  check "$t /echo 200000 bytes" cmp -s "$tmp/body" "$tmp/random"

  # /stall: headers, then nothing; nghttp's 1 s timeout fires.
  nghttp -nv -t 1 "$base/stall" >"$tmp/out" 2>&1
  check "$t /stall: status 200 arrives" has_re 'recv \(stream_id=[0-9]+\) :status: 200' "$tmp/out"
  check "$t /stall: no DATA" lacks_re 'recv DATA' "$tmp/out"
  check "$t /stall: client timeout" has "[ERROR] Timeout" "$tmp/out"

  # 404
  n -v "$base/nope"
  check "$t /nope: 404" has_re 'recv \(stream_id=[0-9]+\) :status: 404' "$tmp/out"
  check "$t /nope: body" has "not found" "$tmp/out"

  # A client that disappears mid-body: h2 as a client reads 20000 bytes of
  # a 50 MB body (the server then waits for WINDOW_UPDATE) and closes.
  vanish $mode
done

# TLS without ALPN h2: the 505.
if command -v curl >/dev/null 2>&1; then
  curl -s -i --max-time 5 --cacert "$tmp/certs/ca.pem" --http1.1 "https://127.0.0.1:$tls/ok" >"$tmp/out" 2>&1
  check "tls: ALPN http/1.1 gets 505" has "HTTP/1.1 505 HTTP Version Not Supported" "$tmp/out"
  check "tls: 505 body" has "HTTP/2 only (ALPN h2)" "$tmp/out"
else
  echo "note: curl missing, ALPN http/1.1 not checked"
fi
n -nv "https://127.0.0.1:$tls/ok?len=5"
check "tls: negotiated h2" has "The negotiated protocol: h2" "$tmp/out"

# --max-streams 7: in the server's SETTINGS.
n -nv "http://127.0.0.1:$ms/ok?len=5"
check "--max-streams 7 in SETTINGS" \
  sh -c "sed -n '/recv SETTINGS frame/,/recv/p' '$tmp/out' | grep -qF 'SETTINGS_MAX_CONCURRENT_STREAMS(0x03):7]'"
check "--max-streams 7: request served" has_re 'recv \(stream_id=[0-9]+\) :status: 200' "$tmp/out"
n -nv "http://127.0.0.1:$plain/ok?len=5"
check "default server: MAX_CONCURRENT_STREAMS 100" \
  sh -c "sed -n '/recv SETTINGS frame/,/recv/p' '$tmp/out' | grep -qF 'SETTINGS_MAX_CONCURRENT_STREAMS(0x03):100]'"

# --no-settings: the preface goes unanswered.
nghttp -nv -t 1 "http://127.0.0.1:$ns/ok" >"$tmp/out" 2>&1
check "--no-settings: no SETTINGS from the server" lacks_re 'recv SETTINGS' "$tmp/out"
check "--no-settings: client timeout" has "[ERROR] Timeout" "$tmp/out"

# The connection-aware scenarios, on a server of their own so that its
# connections are counted from 1: each nghttp run below is one connection.
start_peer fresh fresh_pid
fb="http://127.0.0.1:$fresh"
# /conn: "<connection> <stream>"; two requests of one run share connection 2
# (distinct URIs: nghttp fetches a repeated one once).
nb --no-dep "$fb/conn"
check "/conn: first connection, stream 1 (got '$(cat "$tmp/body")')" has_line "1 1" "$tmp/body"
nb --no-dep "$fb/conn?a" "$fb/conn?b"
check "/conn twice on one connection (got '$(cat "$tmp/body")')" \
  sh -c "grep -qxE '2 12 3|2 32 1' '$tmp/body'"
# /barrier?n=3: three streams at once are all answered; a lone one times out.
nb "$fb/barrier?n=3&i=1" "$fb/barrier?n=3&i=2" "$fb/barrier?n=3&i=3"
check "/barrier?n=3 with 3 streams: all ok (got '$(cat "$tmp/body")')" has_line "okokok" "$tmp/body"
n -v "$fb/barrier?n=2&ms=200"
check "/barrier?n=2 alone: 504 after ms=200" has_re 'recv \(stream_id=[0-9]+\) :status: 504' "$tmp/out"
check "/barrier timeout body" has "barrier timeout" "$tmp/out"
# /refuse-once: refused on the first connection that asks (connection 5),
# twice; served with the /conn body on the next one.
n -nv --no-dep "$fb/refuse-once?a" "$fb/refuse-once?b"
got=$(grep -A1 'recv RST_STREAM' "$tmp/out" | grep -cF 'error_code=REFUSED_STREAM(0x07)')
check "/refuse-once: both streams of connection 5 refused (got $got)" test "$got" -eq 2
nb --no-dep "$fb/refuse-once"
check "/refuse-once: served on connection 6 (got '$(cat "$tmp/body")')" has_line "6 1" "$tmp/body"
# /goaway-once: GOAWAY on connection 7; connection 8 is served.
n -nv --no-dep "$fb/goaway-once"
check "/goaway-once: GOAWAY last_stream_id=0 on connection 7" \
  sh -c "grep -A1 'recv GOAWAY' '$tmp/out' | grep -qF '(last_stream_id=0, error_code=NO_ERROR(0x00)'"
nb --no-dep "$fb/goaway-once"
check "/goaway-once: served on connection 8 (got '$(cat "$tmp/body")')" has_line "8 1" "$tmp/body"

# Every server is still alive and answering, and said nothing on stderr.
for v in plain tls ms; do
  eval "p=\$$v"
  scheme=http
  [ $v = tls ] && scheme=https
  nb "$scheme://127.0.0.1:$p/ok?len=70000"
  check "$v: server still serves after all the above" cmp -s "$tmp/body" "$tmp/p70000"
done
for v in plain tls ms ns fresh; do
  eval "p=\$${v}_pid"
  check "$v: server process alive" kill -0 "$p"
  cp "$tmp/server.$v.err" "$tmp/out"
  check "$v: server stderr empty" test ! -s "$tmp/server.$v.err"
done

check_summary
