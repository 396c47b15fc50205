#!/bin/sh
# ctest tools.whttp_ws: whttp's WebSocket mode against the raw-frame server
# (tests/peers/wsserver.py, plain and TLS), checking what arrives on stdout,
# the -v frame trace, the exit statuses, and, through the server's /report
# (fetched with whttp itself), what whttp sent: messages and close codes.
# --ws-deflate runs against python3-websockets' echo server
# (tests/peers/ws_echo_websockets.py), which really speaks permessage-deflate.
# Usage: test_whttp_ws.sh WHTTP WSSERVER GEN_CERTS WS_REF
#
# No sleeps: servers are ready when their READY line (read through a FIFO)
# says so; a stdin that must stay open is a FIFO the script holds; Ctrl-C is
# sent once whttp's stdout (a FIFO) shows the exchange under way. Every
# run's stderr is checked for sanitizer reports.
set -u
whttp=$1
wsserver=$2
gen_certs=$3
ws_ref=$4

python=python3
[ -x /usr/bin/python3 ] && python=/usr/bin/python3

tmp=$(mktemp -d "${TMPDIR:-/tmp}/test-whttp-ws.XXXXXX")
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

# w NAME EXPECTED_STATUS STDIN_FILE whttp-args...: runs whttp (stdout to
# $tmp/out, stderr to $tmp/err) and checks its exit status.
w() {
  name=$1 want=$2 input=$3
  shift 3
  "$whttp" "$@" <"$input" >"$tmp/out" 2>"$tmp/err"
  status_is "$name" $? "$want"
}

# start_ws VAR ARGS...: starts wsserver.py ARGS, sets VAR to its port.
start_ws() {
  start_py_peer "$wsserver" "$@"
}

# report NAME: what the server recorded of connection NAME (once it is
# over), into $tmp/report.
report() {
  "$whttp" -s "http://127.0.0.1:$port_ws/report?id=$1" >"$tmp/report" 2>"$tmp/err"
  status_is "report $1" $? 0
}

start_ws port_ws
base="ws://127.0.0.1:$port_ws"
: >"$tmp/empty"

# --- messages both ways ------------------------------------------------------------------

printf 'one\ntwo\nthree\n' >"$tmp/in"
if w "echo" 0 "$tmp/in" "$base/echo?id=echo"; then
  check "echo: every line back, in order" cmp -s "$tmp/in" "$tmp/out"
fi
if report echo; then
  check "echo: three text messages, without their newlines" \
    sh -c "grep -c '^msg=text:[35]:1\$' '$tmp/report' | grep -qx 3"
  check "echo: our close after the end of stdin is 1000" has_line "code=1000 reason=" "$tmp/report"
  check "echo: the close handshake completed" has_line "end=closed" "$tmp/report"
fi

printf 'first\nno newline at the end' >"$tmp/in"
if w "last line without a newline" 0 "$tmp/in" "$base/echo"; then
  printf 'first\nno newline at the end\n' >"$tmp/want"
  check "last line without a newline: sent too" cmp -s "$tmp/want" "$tmp/out"
fi

printf 'hi\n' >"$tmp/in"
if w "-v" 0 "$tmp/in" -v "$base/echo"; then
  check "-v: the upgrade request head" has "> Upgrade: websocket" "$tmp/err"
  check "-v: the 101" has "< HTTP/1.1 101 Switching Protocols" "$tmp/err"
  check "-v: the message sent" has_line "> text 2 bytes" "$tmp/err"
  check "-v: the message received" has_line "< text 2 bytes" "$tmp/err"
  check "-v: our close" has_line "> close 1000" "$tmp/err"
  check "-v: the server's close" has_line '< close 1000 ""' "$tmp/err"
  check "-v: stdout holds the message only" has_line "hi" "$tmp/out"
fi

printf 'ab\000c\nxyz' >"$tmp/in"
if w "--binary" 0 "$tmp/in" --binary -v "$base/echo?id=binary"; then
  printf 'ab\000cxyz' >"$tmp/want"
  check "--binary: messages back raw, without newlines" cmp -s "$tmp/want" "$tmp/out"
  check "--binary: -v says binary" has_line "> binary 4 bytes" "$tmp/err"
  check "--binary: -v on receipt" has_line "< binary 3 bytes" "$tmp/err"
fi
if report binary; then
  check "--binary: two binary messages" \
    sh -c "grep -q '^msg=binary:4:1\$' '$tmp/report' && grep -q '^msg=binary:3:1\$' '$tmp/report'"
fi

printf 'hello\n' >"$tmp/in"
if w "fragments received" 0 "$tmp/in" -v "$base/echo?frag=2"; then
  check "fragments received: assembled on stdout" has_line "hello" "$tmp/out"
  check "fragments received: -v shows each" has_line "< text 2 bytes (fragment)" "$tmp/err"
  check "fragments received: -v shows the last" has_line "< text 1 byte" "$tmp/err"
fi

# A line longer than whttp's 64 KiB buffer goes out in fragments, never
# cut inside a character: "a" then 100000 "é" (2 bytes each) puts one
# across the 64 KiB mark.
"$python" -c 'import sys; sys.stdout.write("a" + "\u00e9" * 100000 + "\n")' >"$tmp/in"
if w "long line" 0 "$tmp/in" -v "$base/echo?id=long"; then
  check "long line: back whole" cmp -s "$tmp/in" "$tmp/out"
  check "long line: a fragment ends before the split character" \
    has_line "> text 65535 bytes (fragment)" "$tmp/err"
fi
if report long; then
  check "long line: one message of four frames" has_line "msg=text:200001:4" "$tmp/report"
fi

printf 'ok\n\377\376\nnever sent\n' >"$tmp/in"
if w "a line that is not UTF-8" 26 "$tmp/in" "$base/echo?id=badutf8"; then
  check "not UTF-8: the lines before it went" has_line "ok" "$tmp/out"
  check "not UTF-8: the message names the line" has "stdin line 2 is not UTF-8" "$tmp/err"
fi
if report badutf8; then
  check "not UTF-8: nothing after it, a normal close" \
    sh -c "grep -qx 'messages=1' '$tmp/report' && grep -qx 'code=1000 reason=' '$tmp/report'"
fi

printf 'chat me\n' >"$tmp/in"
if w "subprotocol offered with -H" 0 "$tmp/in" -v -H 'Sec-WebSocket-Protocol: chat' \
  "$base/echo?proto=1&id=proto"; then
  check "subprotocol: chosen by the server" has "< Sec-WebSocket-Protocol: chat" "$tmp/err"
  check "subprotocol: echo" has_line "chat me" "$tmp/out"
fi
if report proto; then
  check "subprotocol: offered" has_line "offer-proto=chat" "$tmp/report"
fi

printf 'x\n' >"$tmp/in"
if w "--ws with an http URL" 0 "$tmp/in" --ws "http://127.0.0.1:$port_ws/echo"; then
  check "--ws: echo" has_line "x" "$tmp/out"
fi

# --- the server closes first ----------------------------------------------------------------

# held NAME WANT whttp-args...: runs whttp with a stdin the script holds
# open until whttp has exited, so that only the server can end the session.
held() {
  name=$1 want=$2
  shift 2
  rm -f "$tmp/hold"
  mkfifo "$tmp/hold"
  "$whttp" "$@" <"$tmp/hold" >"$tmp/out" 2>"$tmp/err" 6>&- &
  pid=$!
  exec 6>"$tmp/hold"
  wait "$pid"
  got=$?
  exec 6>&-
  status_is "$name" "$got" "$want"
}

if held "server closes with 4000" 57 -v "$base/close?id=c4000&code=4000&reason=bye"; then
  check "4000: -v shows the server's close" has_line '< close 4000 "bye"' "$tmp/err"
  check "4000: -v shows our answer" has_line "> close 4000" "$tmp/err"
  check "4000: the message says so" has "closed the WebSocket with status 4000" "$tmp/err"
fi
if report c4000; then
  check "4000: answered with the same code" has_line "code=4000 reason=" "$tmp/report"
  check "4000: the close handshake completed" has_line "end=closed" "$tmp/report"
fi

held "server closes with 1000" 0 -v "$base/close?id=c1000&code=1000" &&
  check "1000: -v shows it" has_line '< close 1000 ""' "$tmp/err"
held "server closes with 1001" 0 "$base/close?code=1001"
held "server closes without a status" 0 -v "$base/close?code=empty" &&
  check "no status: -v says so" has_line "< close 1005 (no status)" "$tmp/err"

if held "server sends, then closes" 0 "$base/send?m=text:hi,bin:3,close:1000:done"; then
  printf 'hi\n\000\001\002' >"$tmp/want"
  check "server sends: text with a newline, binary raw" cmp -s "$tmp/want" "$tmp/out"
fi

# --- failures ----------------------------------------------------------------------------------

if w "not a WebSocket endpoint" 22 "$tmp/empty" "$base/no-upgrade"; then
  check "not a WebSocket: the status is named" has "HTTP status 200, not 101" "$tmp/err"
fi
w "not a WebSocket, --ws" 22 "$tmp/empty" --ws "http://127.0.0.1:$port_ws/no-upgrade" &&
  ok "not a WebSocket, --ws: exit 22"
w "a 101 without the right accept" 52 "$tmp/empty" "$base/bad-accept" &&
  ok "bad accept: exit 52"

if held "a protocol error" 52 "$base/raw?id=perr&hex=c1026869"; then
  check "protocol error: named" has "ERROR_WINHTTP_INVALID_SERVER_RESPONSE" "$tmp/err"
fi
if report perr; then
  check "protocol error: the server heard 1002" has "code=1002" "$tmp/report"
fi
held "the connection dropped" 56 "$base/drop" && ok "dropped: exit 56"

w "--binary without WebSocket mode" 2 "$tmp/empty" --binary "http://127.0.0.1:$port_ws/" &&
  ok "--binary alone: usage error"
w "--ws-deflate without WebSocket mode" 2 "$tmp/empty" --ws-deflate "http://127.0.0.1:$port_ws/" &&
  ok "--ws-deflate alone: usage error"
w "-d in WebSocket mode" 2 "$tmp/empty" -d x "$base/echo" && ok "-d with ws://: usage error"
w "-Z in WebSocket mode" 2 "$tmp/empty" -Z -O "$base/echo" && ok "-Z with ws://: usage error"

# --max-time bounds the handshake: a listener that never answers.
mkfifo "$tmp/silent"
"$python" -c '
import signal, socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
s.listen(8)
print(s.getsockname()[1], flush=True)
signal.pause()
' >"$tmp/silent" &
pids="$pids $!"
read -r silent_port <"$tmp/silent"
w "--max-time, no answer" 28 "$tmp/empty" -m 0.5 "ws://127.0.0.1:$silent_port/" &&
  ok "--max-time: the handshake is bounded (exit 28)"

# --- Ctrl-C ---------------------------------------------------------------------------------

rm -f "$tmp/in.fifo" "$tmp/out.fifo"
mkfifo "$tmp/in.fifo" "$tmp/out.fifo"
"$whttp" -v "$base/echo?id=sigint" <"$tmp/in.fifo" >"$tmp/out.fifo" 2>"$tmp/err" 6>&- 7<&- &
pid=$!
exec 6>"$tmp/in.fifo" 7<"$tmp/out.fifo"
echo "before ctrl-c" >&6
# The echo's line (bounded only so that a broken whttp fails, not hangs).
echoed=$(timeout 30 head -n 1 <&7)
kill -INT "$pid"
cat <&7 >/dev/null
wait "$pid"
got=$?
exec 6>&- 7<&-
if status_is "Ctrl-C" "$got" 130; then
  check "Ctrl-C: the echo came first" test "$echoed" = "before ctrl-c"
  check "Ctrl-C: -v shows our close" has_line "> close 1001" "$tmp/err"
fi
if report sigint; then
  check "Ctrl-C: the server heard 1001" has_line "code=1001 reason=" "$tmp/report"
fi

# --- --ws-deflate ---------------------------------------------------------------------------

# What is offered, as wsserver.py saw it (it implements no extension and answers none).
printf 'plain\n' >"$tmp/in"
if w "--ws-deflate offer" 0 "$tmp/in" --ws-deflate "$base/echo?id=offer"; then
  check "--ws-deflate, server without the extension: echo uncompressed" has_line "plain" "$tmp/out"
fi
if report offer; then
  check "--ws-deflate: permessage-deflate offered" grep -q '^offer-ext=permessage-deflate' "$tmp/report"
fi
if w "no --ws-deflate" 0 "$tmp/in" "$base/echo?id=nooffer" && report nooffer; then
  check "without --ws-deflate: no extension offered" sh -c "! grep -q '^offer-ext=' '$tmp/report'"
fi

# w_echoed NAME EXPECTED_STATUS N whttp-args...: like w with $tmp/in as
# stdin, but stdin ends only once N messages came back. python3-websockets
# answers a close at once, dropping echoes still queued in its handler; so
# whttp's close (sent at the end of stdin) must come after the echoes.
w_echoed() {
  name=$1 want=$2 n=$3
  shift 3
  rm -f "$tmp/in.fifo" "$tmp/out.fifo"
  mkfifo "$tmp/in.fifo" "$tmp/out.fifo"
  "$whttp" "$@" <"$tmp/in.fifo" >"$tmp/out.fifo" 2>"$tmp/err" 6>&- 7<&- &
  pid=$!
  exec 6>"$tmp/in.fifo" 7<"$tmp/out.fifo"
  cat "$tmp/in" >&6
  : >"$tmp/out"
  i=0
  while [ "$i" -lt "$n" ] && IFS= read -r line <&7; do
    printf '%s\n' "$line" >>"$tmp/out"
    i=$((i + 1))
  done
  exec 6>&-
  cat <&7 >>"$tmp/out"
  exec 7<&-
  wait "$pid"
  status_is "$name" $? "$want"
}

# Against python3-websockets, which compresses: long, compressible lines and a short one.
start_py_peer "$ws_ref" port_ref
ref="ws://127.0.0.1:$port_ref"
"$python" -c '
for i in range(3):
    print(("line %d " % i) * 2000)
print("short")
' >"$tmp/in"
if w_echoed "--ws-deflate echo" 0 4 --ws-deflate -v "$ref/echo?id=deflate"; then
  check "--ws-deflate: every message back intact" cmp -s "$tmp/in" "$tmp/out"
  check "--ws-deflate -v: the server accepted it" \
    grep -qi '^< Sec-WebSocket-Extensions: permessage-deflate' "$tmp/err"
fi
if "$whttp" -s "http://127.0.0.1:$port_ref/report?id=deflate" >"$tmp/report" 2>"$tmp/err" &&
   sanitizer_free "report deflate"; then
  check "--ws-deflate: the server negotiated permessage-deflate" \
    grep -q '^ext=permessage-deflate' "$tmp/report"
  check "--ws-deflate: our close was 1000" has_line "code=1000 reason=" "$tmp/report"
fi
if w_echoed "--ws-deflate, refused" 0 4 --ws-deflate -v "$ref/echo?deflate=0"; then
  check "--ws-deflate refused by the server: echo uncompressed" cmp -s "$tmp/in" "$tmp/out"
  check "--ws-deflate refused: no extension in the 101" \
    sh -c "! grep -qi '^< Sec-WebSocket-Extensions' '$tmp/err'"
fi

# --- wss:// ---------------------------------------------------------------------------------

if sh "$gen_certs" "$tmp/certs"; then
  start_ws port_wss --tls-cert "$tmp/certs/server.pem" --tls-key "$tmp/certs/server.key"
  printf 'secure\n' >"$tmp/in"
  export SSL_CERT_FILE="$tmp/certs/ca.pem"
  w "wss:// trusting the CA" 0 "$tmp/in" "wss://127.0.0.1:$port_wss/echo" &&
    check "wss: echo" has_line "secure" "$tmp/out"
  SSL_CERT_FILE="$tmp/certs/other-ca.pem"
  w "wss:// not trusted" 35 "$tmp/in" "wss://127.0.0.1:$port_wss/echo" &&
    ok "wss untrusted: exit 35"
  w "wss:// -k" 0 "$tmp/in" -k "wss://127.0.0.1:$port_wss/echo" &&
    check "wss -k: echo" has_line "secure" "$tmp/out"
  unset SSL_CERT_FILE
else
  bad "gen-certs.sh failed"
fi

check_summary
