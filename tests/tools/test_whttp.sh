#!/bin/sh
# ctest tools.whttp: runs whttp against the demo server (scripts/demo-server:
# nginx on loopback, HTTP and HTTPS with a CA generated for this run) and
# checks outputs and exit statuses.
# Usage: test_whttp.sh WHTTP DEMO_SERVER
#
# No sleeps: the server's READY line (read through a FIFO) means it serves;
# the "silent server" for the timeout case prints its port once listening.
# Every run's stderr is checked for sanitizer reports.
set -u
whttp=$1
demo_server=$2
. "$(dirname "$0")/../support/demo_server.sh"

tmp=$(mktemp -d "${TMPDIR:-/tmp}/test-whttp.XXXXXX")
demo_server_pid=""
silent=""
accepting=""
dripping=""
pids=""
cleanup() {
  for p in $demo_server_pid $silent $accepting $dripping $pids; do
    kill -TERM "$p" 2>/dev/null
    wait "$p" 2>/dev/null
  done
  rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

. "$(dirname "$0")/../support/check.sh"

# w NAME EXPECTED_STATUS whttp-args...: runs whttp (stdout to $tmp/out,
# stderr to $tmp/err) and checks its exit status.
w() {
  name=$1 want=$2
  shift 2
  "$whttp" "$@" >"$tmp/out" 2>"$tmp/err"
  status_is "$name" $? "$want"
}

# A TCP listener that never answers, for the timeout case.
start_silent() {
  mkfifo "$tmp/silent"
  python3 -c '
import signal, socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
s.listen(8)
print(s.getsockname()[1], flush=True)
signal.pause()
' >"$tmp/silent" &
  silent=$!
  read -r silent_port <"$tmp/silent"
}

# A server that answers every request with a head dripped one byte every
# 200 ms (a whole head would take a minute): each byte restarts a receive
# timeout, so only a bound on the whole head ends the wait.
start_dripping() {
  mkfifo "$tmp/dripping"
  python3 -c '
import socket, threading, time
def drip(c):
    try:
        c.recv(65536)
        for b in b"HTTP/1.1 200 OK\r\nX-Slow: " + b"x" * 300 + b"\r\n\r\n":
            c.send(bytes([b]))
            time.sleep(0.2)
    except OSError:
        pass
    c.close()
s = socket.socket()
s.bind(("127.0.0.1", 0))
s.listen(16)
print(s.getsockname()[1], flush=True)
while True:
    c, _ = s.accept()
    threading.Thread(target=drip, args=(c,), daemon=True).start()
' >"$tmp/dripping" &
  dripping=$!
  read -r dripping_port <"$tmp/dripping"
}

# A listener that never answers and says "accepted" for each connection
# (read on fd 5), so a test knows whttp's transfers are under way.
start_accepting() {
  mkfifo "$tmp/accepting"
  python3 -c '
import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
s.listen(64)
print(s.getsockname()[1], flush=True)
held = []
while True:
    c, _ = s.accept()
    held.append(c)
    print("accepted", flush=True)
' >"$tmp/accepting" &
  accepting=$!
  exec 5<"$tmp/accepting"
  read -r accepting_port <&5
}

start_demo_server "$demo_server" "$tmp" 8
H=$DEMO_HTTP_URL
S=$DEMO_HTTPS_URL
unset SSL_CERT_FILE SSL_CERT_DIR

# --- basics ---
w "GET 200" 0 "$H/index.html" && check "GET 200: the body is the page" cmp -s "$tmp/out" "$DEMO_ROOT/index.html"
w "-i" 0 -i "$H/hello.txt" && check "-i: status line first, then the body" \
  sh -c 'head -n 1 "$1" | grep -q "^HTTP/1.1 200 OK" && tail -n 1 "$1" | grep -qx "hello, world"' - "$tmp/out"
w "-I" 0 -I "$H/1m.bin" && check "-I: HEAD gives the head, no body" \
  sh -c 'grep -q "^Content-Length: 1048576" "$1" && [ "$(wc -c <"$1")" -lt 1000 ]' - "$tmp/out"
w "-o" 0 -o "$tmp/1m.bin" "$H/1m.bin" && check "-o: the file has the right size" \
  [ "$(wc -c <"$tmp/1m.bin")" -eq 1048576 ]
check "no progress bar when stderr is not a terminal" [ ! -s "$tmp/err" ]
mkdir "$tmp/cwd"
(cd "$tmp/cwd" && "$whttp" -O "$H/hello.txt" 2>"$tmp/err")
check "-O: saved under the URL's last segment" cmp -s "$tmp/cwd/hello.txt" "$DEMO_ROOT/hello.txt"
w "-O without a file name" 23 -O "$H/" && ok "-O without a file name: exit 23"
w "-v" 0 -v "$H/hello.txt" && check "-v: notifications and both heads on stderr" \
  sh -c 'grep -q "^\* CONNECTED_TO_SERVER 127.0.0.1" "$1" && grep -q "^\* REQUEST_SENT [0-9]* bytes" "$1" &&
         grep -q "^> GET /hello.txt HTTP/1.1" "$1" && grep -q "^< HTTP/1.1 200 OK" "$1"' - "$tmp/err"
w "-H" 0 -v -H "X-Demo: 42" "$H/hello.txt" && check "-H: the header is sent" grep -q "^> X-Demo: 42" "$tmp/err"

# --- bodies ---
w "-d" 0 -d "a=1" -d "b=2" "$H/post" && check "-d: POST, form type, joined with &" \
  grep -q '"method":"POST","content_type":"application/x-www-form-urlencoded","content_length":"7"' "$tmp/out"
printf 'x\ny\n' >"$tmp/data"
w "--data-binary @FILE" 0 --data-binary "@$tmp/data" -X PATCH "$H/post" && check "--data-binary @FILE: the bytes as is, -X" \
  grep -q '"method":"PATCH".*"content_length":"4"' "$tmp/out"
w "-T" 0 -T "$tmp/1m.bin" "$H/upload/" && check "-T: the uploaded file has the right size" \
  [ "$(wc -c <"$DEMO_ROOT/upload/1m.bin")" -eq 1048576 ]
w "-T missing file" 26 -T "$tmp/nonexistent" "$H/upload/x" && ok "-T missing file: exit 26"

w "--compressed" 0 -v --compressed "$H/text.txt" && check "--compressed: asks for gzip, writes the decoded text" \
  sh -c 'grep -q "^> Accept-Encoding: .*gzip" "$1" && grep -q "^< Content-Encoding: gzip" "$1" && cmp -s "$2" "$3"' \
  - "$tmp/err" "$tmp/out" "$DEMO_ROOT/text.txt"

# --- redirects and statuses ---
w "redirect not followed" 0 -i "$H/redirect" && check "without -L: the 302 itself" \
  grep -q "^HTTP/1.1 302" "$tmp/out"
w "-L" 0 -L "$H/redirect" && check "-L: the redirect is followed" cmp -s "$tmp/out" "$DEMO_ROOT/index.html"
w "404 without -f" 0 "$H/status/404" && ok "404 without -f: exit 0"
w "-f on 404" 22 -f "$H/status/404" && check "-f on 404: exit 22, no body" [ ! -s "$tmp/out" ]

# --- failures ---
w "bad URL" 3 "http://" && check "bad URL: the error is named" grep -q "ERROR_WINHTTP_INVALID_URL (12005)" "$tmp/err"
w "unsupported scheme" 1 "ftp://127.0.0.1/" && ok "unsupported scheme: exit 1"
w "usage" 2 --no-such-option "$H/" && ok "unknown option: exit 2"
w "no URL" 2 && ok "no URL: exit 2"
w "--help" 0 --help && check "--help lists the exit statuses" grep -q "Exit status" "$tmp/out"
w "connection refused" 7 "http://127.0.0.1:1/" && check "refused: ERROR_WINHTTP_CANNOT_CONNECT" \
  grep -q "ERROR_WINHTTP_CANNOT_CONNECT (12029)" "$tmp/err"
start_silent
w "--max-time on a silent server" 28 --max-time 1 "http://127.0.0.1:$silent_port/" && ok "--max-time: exit 28"
start_dripping
w "--max-time on a dripping head" 28 --max-time 1 "http://127.0.0.1:$dripping_port/" &&
  ok "--max-time bounds a head that trickles in: exit 28"
w "-Z --max-time on a dripping head" 28 -Z --discard --max-time 1 "http://127.0.0.1:$dripping_port/" &&
  ok "-Z --max-time bounds a head that trickles in: exit 28"

# --- HTTPS ---
export SSL_CERT_FILE="$DEMO_CA"
w "HTTPS with the CA" 0 "$S/hello.txt" && check "HTTPS with the CA: the body" \
  cmp -s "$tmp/out" "$DEMO_ROOT/hello.txt"
w "HTTPS -o" 0 -o "$tmp/1m-tls.bin" "$S/1m.bin" && check "HTTPS -o: the file has the right size" \
  [ "$(wc -c <"$tmp/1m-tls.bin")" -eq 1048576 ]
w "HTTPS --http2 -i" 0 --http2 -i "$S/hello.txt" && check "--http2: an HTTP/2 head, then the body" \
  sh -c 'head -n 1 "$1" | grep -q "^HTTP/2 200" && tail -c "$(wc -c <"$2")" "$1" | cmp -s - "$2"' \
  - "$tmp/out" "$DEMO_ROOT/hello.txt"
w "HTTPS without --http2 -i" 0 -i "$S/hello.txt" && check "without --http2: HTTP/1.1" \
  sh -c 'head -n 1 "$1" | grep -q "^HTTP/1.1 200"' - "$tmp/out"
w "HTTP --http2" 0 --http2 -i "$H/hello.txt" && check "--http2 over http://: HTTP/1.1 (no cleartext h2)" \
  sh -c 'head -n 1 "$1" | grep -q "^HTTP/1.1 200"' - "$tmp/out"
unset SSL_CERT_FILE
w "HTTPS without the CA" 35 "$S/hello.txt" && check "HTTPS without the CA: INVALID_CA reported" \
  grep -q "INVALID_CA" "$tmp/err"
w "HTTPS -k" 0 -k "$S/hello.txt" && check "-k: the body despite the unknown CA" \
  cmp -s "$tmp/out" "$DEMO_ROOT/hello.txt"

# --- TLS client certificates (--cert, --key): the demo's client-auth port ---
export SSL_CERT_FILE="$DEMO_CA"
C="$DEMO_CLIENT_AUTH_URL/whoami"
T=$DEMO_TLS
DN1="CN=client1,O=OpenWinHTTP Tests,C=US"
w "--cert PKCS#12" 0 --cert "$T/client.p12" --cert-password p12-secret "$C" &&
  check "--cert FILE.p12: the server saw client1" grep -qx "$DN1" "$tmp/out"
w "--cert PEM --key" 0 --cert "$T/client.pem" --key "$T/client.key" "$C" &&
  check "--cert FILE.pem --key FILE: the server saw client1" grep -qx "$DN1" "$tmp/out"
printf 'pem-secret\n' >"$tmp/certpw"
w "--key encrypted" 0 --cert "$T/client.pem" --key "$T/client-enc.key" \
  --cert-password-file "$tmp/certpw" "$C" &&
  check "an encrypted key, its password from --cert-password-file" grep -qx "$DN1" "$tmp/out"
w "--cert empty password" 0 --cert "$T/client2.p12" "$C" &&
  check "a PKCS#12 file without a password needs none" \
  grep -qx "CN=client2,O=OpenWinHTTP Tests,C=US" "$tmp/out"
w "--cert -Z" 0 -Z --discard --cert "$T/client.p12" --cert-password p12-secret "$C" "$C" "$C" &&
  check "--cert with -Z: three transfers" grep -q "^whttp: 3 transfers: 3 ok" "$tmp/err"
w "no --cert" 35 "$C" && check "without --cert: CLIENT_AUTH_CERT_NEEDED, and the option named" \
  sh -c 'grep -q "ERROR_WINHTTP_CLIENT_AUTH_CERT_NEEDED" "$1" && grep -q -- "--cert FILE" "$1"' - "$tmp/err"
w "--cert wrong password" 35 --cert "$T/client.p12" --cert-password nope "$C" &&
  check "--cert with a wrong password: said so" grep -q "wrong password" "$tmp/err"
setsid -w "$whttp" --cert "$T/client.p12" "$C" >"$tmp/out" 2>"$tmp/err" </dev/null
status_is "--cert protected, no password, no terminal" $? 35 &&
  check "a protected PKCS#12 file off a terminal: the ways to give the password are named" \
  grep -q -- "--cert-password-file" "$tmp/err"
w "--cert without key" 35 --cert "$T/client.pem" "$C" &&
  check "--cert PEM alone: no private key, --key named" grep -q -- "--key" "$tmp/err"
w "--key wrong" 35 --cert "$T/client.pem" --key "$T/client2.key" "$C" &&
  check "a key that is not the certificate's: said so" grep -q "not the certificate's" "$tmp/err"
w "--key without --cert" 2 --key "$T/client.key" "$C" && ok "--key without --cert: refused"
w "--cert missing file" 26 --cert "$tmp/nonexistent.p12" "$C" && ok "--cert with a missing file: exit 26"
w "--cert over http://" 0 --cert "$T/client.p12" --cert-password p12-secret "$H/hello.txt" &&
  check "--cert with an http:// URL: not used, no error" cmp -s "$tmp/out" "$DEMO_ROOT/hello.txt"
unset SSL_CERT_FILE

# --- through a proxy (-x): tests/peers/proxyserver.py ---
python=${python:-python3}
start_py_peer "$(dirname "$0")/../peers/proxyserver.py" proxy_port
P="127.0.0.1:$proxy_port"
w "-x http://" 0 -x "$P" "$H/hello.txt" && check "-x: the body, through the proxy" \
  cmp -s "$tmp/out" "$DEMO_ROOT/hello.txt"
export SSL_CERT_FILE="$DEMO_CA"
w "-x https://" 0 -x "$P" "$S/hello.txt" && check "-x https://: the body, through a tunnel" \
  cmp -s "$tmp/out" "$DEMO_ROOT/hello.txt"
w "-x -Z" 0 -x "$P" -Z --discard "$H/hello.txt" "$S/1m.bin" "$H/index.html" &&
  check "-x -Z: three transfers through the proxy" grep -q "^whttp: 3 transfers: 3 ok" "$tmp/err"
unset SSL_CERT_FILE
curl -s --max-time 10 -x "http://$P" http://proxy.report/ >"$tmp/report"
check "the proxy saw the absolute-form GET and the CONNECT" \
  sh -c 'grep -q "GET $1/hello.txt HTTP/1.1" "$3" && grep -q "CONNECT ${2#https://} HTTP/1.1" "$3"' \
  - "$H" "$S" "$tmp/report"
w "-x unreachable" 7 -x 127.0.0.1:1 "$H/hello.txt" && check "-x unreachable: CANNOT_CONNECT named" \
  grep -q "ERROR_WINHTTP_CANNOT_CONNECT" "$tmp/err"
w "-x list" 0 -x "127.0.0.1:1;$P" "$H/hello.txt" && ok "-x with a list: the second proxy carries it"

# --noproxy (curl's syntax): the hosts it names go direct, the others
# through -x's proxy; the proxy's report tells which went where.
w "--noproxy match" 0 -x "$P" --noproxy "example.org, 127.0.0.1" "$H/hello.txt?np=direct" &&
  check "--noproxy naming the host: the body" cmp -s "$tmp/out" "$DEMO_ROOT/hello.txt"
w "--noproxy other" 0 -x "$P" --noproxy "example.org,.corp.example" "$H/hello.txt?np=proxied" &&
  check "--noproxy naming other hosts: the body" cmp -s "$tmp/out" "$DEMO_ROOT/hello.txt"
curl -s --max-time 10 -x "http://$P" http://proxy.report/ >"$tmp/report"
check "--noproxy: the named host went direct, the other through the proxy" \
  sh -c 'grep -q "np=proxied" "$1" && ! grep -q "np=direct" "$1"' - "$tmp/report"
w "--noproxy '*'" 0 -x 127.0.0.1:1 --noproxy '*' "$H/hello.txt" &&
  check "--noproxy '*': direct, the unreachable proxy never tried" cmp -s "$tmp/out" "$DEMO_ROOT/hello.txt"
w "--noproxy without -x" 2 --noproxy example.org "$H/hello.txt" && ok "--noproxy without -x: refused (exit 2)"
w "--noproxy /12" 2 -x "$P" --noproxy 10.0.0.0/12 "$H/hello.txt" &&
  check "--noproxy with a range a bypass list cannot say: refused, the entry named" \
  grep -q "10.0.0.0/12" "$tmp/err"

# --- credentials (-u): the fault server's /auth, Basic ---
start_py_peer "$(dirname "$0")/../peers/faultserver.py" fault_port
A="http://127.0.0.1:$fault_port/auth?schemes=basic&user=alice&pass=s3cret"
w "-u" 0 -u alice:s3cret "$A" && check "-u: the challenge answered" grep -qx "authorized" "$tmp/out"
printf 's3cret\n' >"$tmp/pw"
w "-u --password-file" 0 -u alice --password-file "$tmp/pw" "$A" &&
  check "-u USER --password-file: the password from the file" grep -qx "authorized" "$tmp/out"
w "-u --basic" 0 -u alice:s3cret --basic "$A" && check "--basic: sent at once" grep -qx "authorized" "$tmp/out"
w "-u wrong -f" 22 -f -u alice:nope "$A" && ok "-u with a wrong password: the 401 stands (-f: exit 22)"
N="http://127.0.0.1:$fault_port/ntlm?n=10240"
w "--ntlm" 0 --ntlm -u 'WINHTTP\bob:pw' "$N" &&
  check "--ntlm: three legs on one connection, 10 KB refusals drained" grep -qx "authorized" "$tmp/out"
w "-u NTLM" 0 -u 'WINHTTP\bob:pw' "$N" && check "-u: an NTLM challenge answered" grep -qx "authorized" "$tmp/out"
w "--ntlm without -u" 2 --ntlm "$N" && ok "--ntlm without -u: refused (exit 2)"
w "--basic --ntlm" 2 --basic --ntlm -u a:b "$N" && ok "--basic with --ntlm: refused (exit 2)"
D="http://127.0.0.1:$fault_port/auth?schemes=digest&algorithm=SHA-256&user=alice&pass=s3cret"
w "-u Digest" 0 -u alice:s3cret "$D" && check "-u: a Digest challenge answered" grep -qx "authorized" "$tmp/out"
w "--digest" 0 --digest -u alice:s3cret "$D" && check "--digest: answered" grep -qx "authorized" "$tmp/out"
setsid -w "$whttp" -u alice "$A" >"$tmp/out" 2>"$tmp/err" </dev/null
status_is "-u without a password or a terminal" $? 2 && check "-u USER alone off a terminal: the way to give one is named" \
  grep -q "password-file" "$tmp/err"

# --- --proxy-for: what resolution chooses (the proxy peer and the fault
# server still run) ---
w "--proxy-for -x" 0 -x "$P" --proxy-for "$H/x" &&
  check "--proxy-for with -x: the named proxy" has_line "result: PROXY $P" "$tmp/out"
w "--proxy-for -x --noproxy" 0 -x "$P" --noproxy 127.0.0.1 --proxy-for "$H/x" &&
  check "--proxy-for with --noproxy naming the host: DIRECT" \
  has_line "result: DIRECT (bypass list)" "$tmp/out"
w "--proxy-for per scheme" 0 -x "http=a.example:1;https=b.example:2" --proxy-for https://www.example.com/ &&
  check "--proxy-for: the list's entry for the URL's scheme" has_line "result: PROXY b.example:2" "$tmp/out"
w "--proxy-for no entry" 0 -x "https=b.example:2" --proxy-for http://www.example.com/ &&
  check "--proxy-for: no entry for the scheme is DIRECT" has_line "result: DIRECT (no proxy for http)" "$tmp/out"
w "--proxy-for and a URL" 2 --proxy-for "$H/x" "$H/y" && ok "--proxy-for with another URL: refused (exit 2)"
w "--proxy-for ftp" 1 --proxy-for ftp://example.com/ && ok "--proxy-for an ftp:// URL: exit 1"

# Without -x, the user's settings decide. uw NAME STATUS [VAR=VALUE...] CMD...:
# runs CMD with them under control: no desktop but the one a case names
# (GIO's in-memory backend: GNOME configures nothing), no proxy variable
# but the ones it sets, no DNS search domain (no WPAD name is asked for).
uw() {
  name=$1 want=$2
  shift 2
  env -u XDG_CURRENT_DESKTOP -u http_proxy -u HTTP_PROXY -u https_proxy -u HTTPS_PROXY \
    -u no_proxy -u NO_PROXY -u all_proxy -u ALL_PROXY GSETTINGS_BACKEND=memory LOCALDOMAIN= \
    XDG_CONFIG_HOME="$tmp/xdg" XDG_CONFIG_DIRS="$tmp/xdg-sys" "$@" >"$tmp/out" 2>"$tmp/err"
  status_is "$name" $? "$want"
}
mkdir -p "$tmp/xdg" "$tmp/xdg-sys"
uw "--proxy-for nothing" 0 "$whttp" --proxy-for http://www.example.com/ &&
  check "--proxy-for with nothing configured: WPAD finds nothing, DIRECT" \
  sh -c 'grep -qx "user-auto-detect: yes" "$1" && grep -qx "pac-error: ERROR_WINHTTP_AUTODETECTION_FAILED (12180)" "$1" &&
         grep -qx "result: DIRECT" "$1"' - "$tmp/out"
uw "--proxy-for env" 0 http_proxy="http://$P" no_proxy=bypassed.example "$whttp" --proxy-for http://www.example.com/ &&
  check "--proxy-for from http_proxy: the manual proxy" \
  sh -c 'grep -qx "method: manual proxy (current user)" "$1" && grep -qx "result: PROXY $2" "$1"' - "$tmp/out" "$P"
uw "--proxy-for env bypassed" 0 http_proxy="http://$P" no_proxy=bypassed.example "$whttp" --proxy-for http://www.bypassed.example/ &&
  check "--proxy-for a host no_proxy names: DIRECT" has_line "result: DIRECT (bypass list)" "$tmp/out"
printf '[Proxy Settings]\nProxyType=2\nProxy Config Script=http://127.0.0.1:%s/pac?name=proxy&port=%s\n' \
  "$fault_port" "$proxy_port" >"$tmp/xdg/kioslaverc"
uw "--proxy-for KDE PAC" 0 XDG_CURRENT_DESKTOP=KDE "$whttp" --proxy-for http://www.example.com/ &&
  check "--proxy-for with KDE's PAC URL: the script's proxy" \
  sh -c 'grep -qx "method: pac" "$1" && grep -qx "result: PROXY 127.0.0.1:$2" "$1"' - "$tmp/out" "$proxy_port"
uw "--proxy-for KDE PAC direct" 0 XDG_CURRENT_DESKTOP=KDE "$whttp" --proxy-for http://localhost/ &&
  check "--proxy-for a host the script sends direct: DIRECT" \
  sh -c 'grep -qx "access-type: NO_PROXY" "$1" && grep -qx "result: DIRECT" "$1"' - "$tmp/out"
printf '[Proxy Settings]\nProxyType=2\nProxy Config Script=http://127.0.0.1:%s/status?code=404\n' \
  "$fault_port" >"$tmp/xdg/kioslaverc"
uw "--proxy-for KDE PAC 404" 0 XDG_CURRENT_DESKTOP=KDE "$whttp" --proxy-for http://www.example.com/ &&
  check "--proxy-for when the script cannot be downloaded: the error, then DIRECT" \
  sh -c 'grep -qx "pac-error: ERROR_WINHTTP_UNABLE_TO_DOWNLOAD_SCRIPT (12167)" "$1" && grep -qx "result: DIRECT" "$1"' \
  - "$tmp/out"
rm -f "$tmp/xdg/kioslaverc"

# --- parallel (-Z): the asynchronous API ---
export SSL_CERT_FILE="$DEMO_CA"
w "-Z: three URLs, -o with #1" 0 -Z 2 -o "$tmp/par#1" "$H/hello.txt" "$S/1m.bin" "$H/index.html" &&
  check "-Z: each body in its own file, a done line each, the summary" \
  sh -c 'cmp -s "$1/par1" "$2/hello.txt" && cmp -s "$1/par2" "$2/1m.bin" && cmp -s "$1/par3" "$2/index.html" &&
         [ "$(grep -c "^done .* 200 " "$1/err")" -eq 3 ] &&
         grep -q "^whttp: 3 transfers: 3 ok, 0 failed; 1048[0-9]* bytes" "$1/err"' - "$tmp" "$DEMO_ROOT"
mkdir "$tmp/pcwd"
(cd "$tmp/pcwd" && "$whttp" -Z -O "$H/hello.txt" "$S/index.html" 2>"$tmp/err")
check "-Z -O: each saved under its own name" \
  sh -c 'cmp -s "$1/hello.txt" "$2/hello.txt" && cmp -s "$1/index.html" "$2/index.html"' - "$tmp/pcwd" "$DEMO_ROOT"
w "-Z: one refused among good ones" 7 -Z --discard "$H/hello.txt" "http://127.0.0.1:1/" "$S/1m.bin" &&
  check "-Z: the failure is named, the others succeed" \
  sh -c 'grep -q "^done http://127.0.0.1:1/ - 0 .*ERROR_WINHTTP_CANNOT_CONNECT" "$1" &&
         grep -q "^whttp: 3 transfers: 2 ok, 1 failed" "$1"' - "$tmp/err"
w "-Z -f" 22 -Z -f --discard "$H/status/404" "$H/hello.txt" && check "-Z -f: 404 fails the run" \
  grep -q "^done $H/status/404 404 " "$tmp/err"
w "-Z --max-time" 28 -Z --discard --max-time 1 "http://127.0.0.1:$silent_port/" "$H/hello.txt" &&
  check "-Z --max-time: the silent one times out, the other succeeds" \
  grep -q "^whttp: 2 transfers: 1 ok, 1 failed" "$tmp/err"
w "-Z --http2: six URLs over one connection" 0 -Z --http2 -o "$tmp/h2par#1" "$S/hello.txt" "$S/1m.bin" \
  "$S/index.html" "$S/hello.txt" "$S/1m.bin" "$S/index.html" &&
  check "-Z --http2: every body right, six done lines" \
  sh -c 'cmp -s "$1/h2par1" "$2/hello.txt" && cmp -s "$1/h2par2" "$2/1m.bin" &&
         cmp -s "$1/h2par3" "$2/index.html" && cmp -s "$1/h2par5" "$2/1m.bin" &&
         [ "$(grep -c "^done .* 200 " "$1/err")" -eq 6 ]' - "$tmp" "$DEMO_ROOT"
w "-Z without an output" 2 -Z "$H/hello.txt" "$H/index.html" && ok "-Z needs -O, -o or --discard: exit 2"
w "-Z -o without #1" 2 -Z -o "$tmp/x" "$H/hello.txt" "$H/index.html" && ok "-Z -o FILE without #1 for two URLs: exit 2"
w "-Z -O same name twice" 2 -Z -O "$H/hello.txt" "$S/hello.txt" && ok "-Z -O with two URLs naming one file: exit 2"
w "two URLs without -Z" 2 "$H/hello.txt" "$H/index.html" && ok "two URLs without -Z: exit 2"
w "-Z 0" 2 -Z --parallel-max 0 --discard "$H/hello.txt" && ok "--parallel-max 0: exit 2"

# Ctrl-C: three transfers to a server that accepts and never answers; once
# the first connection is accepted, SIGINT. whttp closes every request,
# waits for each HANDLE_CLOSING and exits 130.
start_accepting
"$whttp" -Z --discard "http://127.0.0.1:$accepting_port/a" "http://127.0.0.1:$accepting_port/b" \
  "http://127.0.0.1:$accepting_port/c" >"$tmp/out" 2>"$tmp/err" &
wpid=$!
read -r _ <&5
kill -INT "$wpid"
wait "$wpid"
got=$?
if [ "$got" = 130 ] && grep -q "(interrupted)" "$tmp/err" && ! grep -qE "Sanitizer|runtime error" "$tmp/err"; then
  ok "-Z Ctrl-C: every transfer cancelled, exit 130"
else
  bad "-Z Ctrl-C: exit status $got, expected 130 and the interrupted summary"
fi
exec 5<&-
unset SSL_CERT_FILE

check_summary
