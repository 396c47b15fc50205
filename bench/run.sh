#!/bin/sh
# Runs bench_sync (WinHTTP's sync engine and libcurl's easy interface) against
# nginx and writes docs/PERFORMANCE.md (ARCHITECTURE-NOTES §7's method), with
# the limit of each row measured in the same interleaved rounds (issue 12
# §1): bench_raw (a minimal raw-socket client) for get and download, wrk for
# async, h2load for h2 and threads.
#
#   bench/run.sh [BUILD_DIR]      BUILD_DIR holds bench/bench_sync
#                                 (default build/bench, as `make bench` makes)
#
# Environment: MODES ("get download async h2 threads scale ws": get and
# download are bench_sync and bench_raw, the limit; async is bench_async,
# INFLIGHT (64) requests in flight through WinHTTP's async API and libcurl
# multi, and wrk -t1 -c INFLIGHT, the limit; scale is bench_scale against
# bench/slowserver.py, COUNTS ("1000 5000 10000") requests held in flight,
# threads and memory per request, and as many idle keep-alive connections
# left in the pool (bench_scale --idle), memory per connection;
# ws is bench_ws against bench/ws_echo_server.c: WebSocket echo through
# WinHTTP (async, and sync for reference) and libwebsockets' client, 100 B
# x WS_SOCKETS (64) and 1 MiB messages, then WS_COUNTS ("1000 5000 10000")
# idle WebSockets; skipped, with a message, when bench_ws was not built;
# h2 is bench_async --http2, INFLIGHT streams over one TLS connection to
# nginx's HTTP/2 port, against libcurl multi (multiplexing) and h2load, the
# limit, run the same way: -c 1 -m INFLIGHT for SECS; skipped, with a
# message, without h2load; threads is bench_threads, THREADS (8) threads of
# synchronous GETs sharing one session, over HTTP/2 (one connection) and
# HTTP/1.1 (a connection each), with h2load the same two ways (-c 1 -m
# THREADS, and --h1 -c THREADS) for reference);
# RUNS (5) runs of each (mode x scheme x client), interleaved;
# SECS (3) seconds per run; OUT (docs/PERFORMANCE.md; "-" for stdout only);
# SERVER_CPU (0) and CLIENT_CPU (1); HTTP_PORT, HTTPS_PORT, H2_PORT and
# STATUS_PORT (free ones);
# PROFILE=1 adds callgrind and strace profiles of WinHTTP, libcurl and
# bench_raw (instructions and syscalls per
# request or per MB, top functions in PROFDIR, BUILD_DIR/bench/profile);
# STEAL_MAX (3): the report leaves out every round of a row in which one of
# its measurements saw more hypervisor steal time than this, in % of its
# wall-clock time, on either CPU.
#
# Every client run goes through bench/measure.py, which records the steal
# time on both CPUs and checks the client's request count against nginx's
# own (stub_status, on STATUS_PORT): a mismatch stops the run.
#
# nginx runs as the current user in a temporary directory: one worker, pinned
# to SERVER_CPU by worker_cpu_affinity and by taskset on the whole server;
# every client run is pinned to CLIENT_CPU with taskset. TLS material comes
# from tests/peers/gen-certs.sh; WinHTTP trusts the CA through SSL_CERT_FILE,
# libcurl through CURLOPT_CAINFO, bench_raw through OpenSSL's
# SSL_CTX_load_verify_locations. Never run by ctest.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/.." && pwd)
build=${1:-$top/build/bench}
bin=$build/bench/bench_sync
rbin=$build/bench/bench_raw
abin=$build/bench/bench_async
sbin=$build/bench/bench_scale
wbin=$build/bench/bench_ws
ebin=$build/bench/ws_echo_server
MODES=${MODES:-get download async h2 threads scale ws}
THREADS=${THREADS:-8}
tbin=$build/bench/bench_threads
COUNTS=${COUNTS:-1000 5000 10000}
WS_COUNTS=${WS_COUNTS:-1000 5000 10000}
WS_SOCKETS=${WS_SOCKETS:-64}
INFLIGHT=${INFLIGHT:-64}
RUNS=${RUNS:-5}
SECS=${SECS:-3}
OUT=${OUT:-$top/docs/PERFORMANCE.md}
SERVER_CPU=${SERVER_CPU:-0}
CLIENT_CPU=${CLIENT_CPU:-1}
STEAL_MAX=${STEAL_MAX:-3}
# Requests bench_sync and bench_raw make before their timed loop (the
# connection, the handshake); nginx counts them, the clients do not.
WARMUP_GET=100
WARMUP_DOWNLOAD=1
free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}
HTTP_PORT=${HTTP_PORT:-$(free_port)}
HTTPS_PORT=${HTTPS_PORT:-$(free_port)}
H2_PORT=${H2_PORT:-$(free_port)}
STATUS_PORT=${STATUS_PORT:-$(free_port)}
BIG=104857600 # 100 MiB
SMALL=100

command_line="RUNS=$RUNS SECS=$SECS STEAL_MAX=$STEAL_MAX${PROFILE:+ PROFILE=$PROFILE} bench/run.sh $*"

for b in "$bin" "$rbin" "$abin" "$sbin" "$tbin"; do
  if [ ! -x "$b" ]; then
    echo "run.sh: no $b; build it first (make bench, or cmake -DWH_BUILD_BENCH=ON)" >&2
    exit 2
  fi
done
case " $MODES " in
  *" ws "*)
    if [ ! -x "$wbin" ] || [ ! -x "$ebin" ]; then
      echo "run.sh: no $wbin (libwebsockets-dev missing when it was built?): skipping the ws mode" >&2
      MODES=$(echo " $MODES " | sed 's/ ws / /')
    fi
    ;;
esac
case " $MODES " in
  *" h2 "* | *" threads "*)
    if ! command -v h2load >/dev/null 2>&1; then
      echo "run.sh: no h2load (Debian nghttp2-client): skipping the h2 and threads modes" >&2
      MODES=$(echo " $MODES " | sed 's/ h2 / /; s/ threads / /')
    fi
    ;;
esac
for tool in nginx taskset openssl python3 curl; do
  command -v "$tool" >/dev/null 2>&1 || { echo "run.sh: needs $tool" >&2; exit 2; }
done
case " $MODES " in
  *" async "*)
    command -v wrk >/dev/null 2>&1 ||
      { echo "run.sh: needs wrk for the async mode's limit (Debian wrk; scripts/install-deps)" >&2; exit 2; }
    ;;
esac
# nginx's own request counter, to check every client's count against.
if ! nginx -V 2>&1 | tr ' ' '\n' | grep -qx -- --with-http_stub_status_module; then
  echo "run.sh: this nginx has no stub_status module (its request counter)" >&2
  exit 2
fi
for port in "$HTTP_PORT" "$HTTPS_PORT" "$STATUS_PORT"; do
  rc=0
  curl -s -o /dev/null --max-time 1 "http://127.0.0.1:$port/" || rc=$?
  if [ "$rc" != 7 ]; then # 7: could not connect
    echo "run.sh: port $port is in use (set HTTP_PORT / HTTPS_PORT)" >&2
    exit 2
  fi
done

tmp=$(mktemp -d "${TMPDIR:-/tmp}/wh-bench.XXXXXX")
nginx_pid=
cleanup() {
  [ -n "${slow_pid:-}" ] && kill "$slow_pid" 2>/dev/null
  [ -n "${ws_pid:-}" ] && kill "$ws_pid" 2>/dev/null
  if [ -n "$nginx_pid" ]; then
    kill "$nginx_pid" 2>/dev/null || true
    wait "$nginx_pid" 2>/dev/null || true
  fi
  rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# --- TLS material and files ----------------------------------------------------
"$top/tests/peers/gen-certs.sh" "$tmp/certs"
mkdir -p "$tmp/root" "$tmp/tmp"
python3 -c 'import sys; sys.stdout.write("x" * 99 + "\n")' > "$tmp/root/100b"
head -c "$BIG" /dev/urandom > "$tmp/root/100m.bin"

# --- nginx ---------------------------------------------------------------------
user_line=
if [ "$(id -u)" = 0 ]; then
  # A root master would hand the worker to "nobody", who cannot read $tmp.
  user_line="user $(id -un) $(id -gn);"
fi
affinity=$(python3 -c "import sys; n=int(sys.argv[1]); print(''.join('1' if i == n else '0' for i in reversed(range(n + 1))))" "$SERVER_CPU")
cat > "$tmp/nginx.conf" <<EOF
$user_line
daemon off;
worker_processes 1;
worker_cpu_affinity $affinity;
pid $tmp/nginx.pid;
lock_file $tmp/nginx.lock;
error_log $tmp/error.log warn;

events {
    worker_connections 1024;
}

http {
    access_log off;
    client_body_temp_path $tmp/tmp/body;
    proxy_temp_path $tmp/tmp/proxy;
    fastcgi_temp_path $tmp/tmp/fastcgi;
    uwsgi_temp_path $tmp/tmp/uwsgi;
    scgi_temp_path $tmp/tmp/scgi;
    default_type application/octet-stream;
    sendfile on;
    tcp_nopush on;
    tcp_nodelay on;
    keepalive_timeout 300s;
    keepalive_requests 100000000;
    server_tokens off;
    ssl_protocols TLSv1.2 TLSv1.3;
    root $tmp/root;

    server {
        listen 127.0.0.1:$HTTP_PORT;
    }
    server {
        listen 127.0.0.1:$HTTPS_PORT ssl;
        listen 127.0.0.1:$H2_PORT ssl http2;
        http2_max_concurrent_streams 128;
        ssl_certificate $tmp/certs/server.pem;
        ssl_certificate_key $tmp/certs/server.key;
    }
    # The counter measure.py reads before and after each run: requests
    # (every HTTP/1.1 request and every HTTP/2 stream) and connections.
    server {
        listen 127.0.0.1:$STATUS_PORT;
        location = /status {
            stub_status;
        }
    }
}
EOF
taskset -c "$SERVER_CPU" nginx -p "$tmp" -c "$tmp/nginx.conf" -e "$tmp/error.log" &
nginx_pid=$!
ready=0
for _ in $(seq 1 100); do
  if curl -s -o /dev/null --max-time 1 "http://127.0.0.1:$HTTP_PORT/100b" &&
     curl -s -o /dev/null --max-time 1 --cacert "$tmp/certs/ca.pem" "https://127.0.0.1:$HTTPS_PORT/100b" &&
     curl -s -o /dev/null --max-time 1 "http://127.0.0.1:$STATUS_PORT/status"; then
    ready=1
    break
  fi
  sleep 0.1
done
if [ "$ready" != 1 ]; then
  echo "run.sh: nginx did not come up:" >&2
  cat "$tmp/error.log" >&2
  exit 1
fi
worker_affinity=
for w in $(pgrep -P "$nginx_pid" 2>/dev/null || true); do
  worker_affinity="$worker_affinity $(taskset -cp "$w" | sed 's/.*: //')"
done

# --- the runs ------------------------------------------------------------------
export SSL_CERT_FILE="$tmp/certs/ca.pem"
unset http_proxy https_proxy HTTP_PROXY HTTPS_PROXY all_proxy ALL_PROXY no_proxy NO_PROXY
results=$tmp/results.txt
: > "$results"

# measure [MEASURE.PY OPTIONS] -- COMMAND...: one client run on the client
# CPU through bench/measure.py (steal time on both CPUs, nginx's own count
# of the requests; see its header); prints the result line.
measure() {
  taskset -c "$CLIENT_CPU" python3 "$here/measure.py" --cpus "$SERVER_CPU,$CLIENT_CPU" \
    --status-url "http://127.0.0.1:$STATUS_PORT/status" "$@"
}

# RUN LINE: the result line, tagged with its round, into the results.
record() {
  echo "$2 run=$1" | tee -a "$results" >&2
}

one() { # RUN MODE SCHEME CLIENT
  port=$HTTP_PORT
  [ "$3" = https ] && port=$HTTPS_PORT
  url="$3://127.0.0.1:$port/100b"
  if [ "$2" = async ]; then
    if [ "$4" = wrk ]; then
      # One thread: the client has one CPU, as the others.
      line=$(measure --inflight "$INFLIGHT" --tool wrk --mode "async$INFLIGHT" --scheme "$3" \
        --client wrk -- wrk -t1 -c"$INFLIGHT" -d"${SECS}s" "$url")
    else
      tls=
      [ "$3" = https ] && tls=--https
      line=$(measure --inflight "$INFLIGHT" -- "$abin" --client "$4" $tls --port "$port" \
        --path /100b --inflight "$INFLIGHT" --expect "$SMALL" --seconds "$SECS" \
        --cafile "$tmp/certs/ca.pem")
    fi
    record "$1" "$line"
    return
  fi
  if [ "$2" = get ]; then path=/100b; expect=$SMALL; warm=$WARMUP_GET
  else path=/100m.bin; expect=$BIG; warm=$WARMUP_DOWNLOAD; fi
  client_bin=$bin
  client_arg="--client $4"
  if [ "$4" = raw ]; then client_bin=$rbin; client_arg=; fi
  # shellcheck disable=SC2086
  line=$(measure --extra "$warm" -- "$client_bin" --mode "$2" --scheme "$3" $client_arg \
    --port "$port" --path "$path" --expect "$expect" --seconds "$SECS" --warmup "$warm" \
    --cafile "$tmp/certs/ca.pem")
  record "$1" "$line"
}

# h2load, the HTTP/2 limit: MODE CLIENT CONNECTIONS STREAMS [--h1]; its
# CPU time is the kernel's (measure.py). Up to CONNECTIONS x STREAMS
# requests are on the wire, uncounted, when it stops.
h2load_line() {
  # shellcheck disable=SC2086 # $5: an optional flag, absent or one word
  measure --inflight $(($3 * $4)) --tool h2load --mode "$1" --scheme https --client "$2" -- \
    h2load ${5:-} -D "$SECS" -c "$3" -m "$4" "https://127.0.0.1:$H2_PORT/100b"
}

h2_one() { # RUN CLIENT
  if [ "$2" = h2load ]; then
    line=$(h2load_line "h2async$INFLIGHT" h2load 1 "$INFLIGHT")
  else
    line=$(measure --inflight "$INFLIGHT" -- "$abin" --client "$2" --https --http2 \
      --port "$H2_PORT" --path /100b --inflight "$INFLIGHT" --expect "$SMALL" \
      --seconds "$SECS" --cafile "$tmp/certs/ca.pem")
  fi
  record "$1" "$line"
}

# THREADS synchronous threads, HTTP/2 against HTTP/1.1, on the HTTP/2 port
# (nginx answers HTTP/1.1 there to a client that does not offer h2). Each
# bench_threads thread makes one warm-up request outside its count.
threads_one() { # RUN CLIENT
  case $2 in
    h2load-h2) line=$(h2load_line "threads$THREADS" h2load-h2 1 "$THREADS") ;;
    h2load-h1) line=$(h2load_line "threads$THREADS" h2load-h1 "$THREADS" 1 --h1) ;;
    winhttp-h2) line=$(measure --extra "$THREADS" -- "$tbin" --port "$H2_PORT" --path /100b \
      --threads "$THREADS" --expect "$SMALL" --seconds "$SECS" --http2) ;;
    *) line=$(measure --extra "$THREADS" -- "$tbin" --port "$H2_PORT" --path /100b \
      --threads "$THREADS" --expect "$SMALL" --seconds "$SECS") ;;
  esac
  record "$1" "$line"
}

# curl -o /dev/null, the tool, for the download (reference, no bar): 20
# transfers of the file on one connection, bytes over the tool's own times.
curl_tool() { # RUN SCHEME
  port=$HTTP_PORT
  [ "$2" = https ] && port=$HTTPS_PORT
  url="$2://127.0.0.1:$port/100m.bin"
  args=
  for _ in $(seq 1 20); do args="$args -o /dev/null $url"; done
  # shellcheck disable=SC2086
  line=$(measure --tool curl-tool --mode download --scheme "$2" --client curl-tool \
    --expect "$BIG" -- curl -s --cacert "$tmp/certs/ca.pem" \
    -w '%{http_code} %{size_download} %{time_total}\n' $args)
  record "$1" "$line"
}

# A round: every client of a row back to back, the order reversed every
# other round, so that none always runs on a server that just served the
# same one.
run=1
while [ "$run" -le "$RUNS" ]; do
  for mode in $MODES; do
    [ "$mode" = scale ] && continue # below, against its own server
    [ "$mode" = ws ] && continue    # below, against its own server
    if [ "$mode" = h2 ]; then
      if [ $((run % 2)) = 1 ]; then order="winhttp curl h2load"; else order="h2load curl winhttp"; fi
      for client in $order; do h2_one "$run" "$client"; done
      continue
    fi
    if [ "$mode" = threads ]; then
      order="winhttp-h2 winhttp-h1 h2load-h2 h2load-h1"
      [ $((run % 2)) = 0 ] && order="h2load-h1 h2load-h2 winhttp-h1 winhttp-h2"
      for client in $order; do threads_one "$run" "$client"; done
      continue
    fi
    limit=raw
    [ "$mode" = async ] && limit=wrk
    for scheme in http https; do
      if [ $((run % 2)) = 1 ]; then order="winhttp curl $limit"; else order="$limit curl winhttp"; fi
      for client in $order; do one "$run" "$mode" "$scheme" "$client"; done
      [ "$mode" = download ] && curl_tool "$run" "$scheme"
    done
  done
  run=$((run + 1))
done

# --- scale: requests held in flight by a slow server ----------------------------
slow_pid=
case " $MODES " in
  *" scale "*)
    mkfifo "$tmp/slow"
    taskset -c "$SERVER_CPU" python3 "$here/slowserver.py" >"$tmp/slow" &
    slow_pid=$!
    read -r _ slow_port <"$tmp/slow"
    run=1
    while [ "$run" -le "$RUNS" ]; do
      for count in $COUNTS; do
        line=$(taskset -c "$CLIENT_CPU" "$sbin" --port "$slow_port" --count "$count")
        echo "$line run=$run" | tee -a "$results" >&2
        # The same count of connections left idle in the pool (issue 12 §3).
        line=$(taskset -c "$CLIENT_CPU" "$sbin" --port "$slow_port" --count "$count" --idle)
        echo "$line run=$run" | tee -a "$results" >&2
      done
      run=$((run + 1))
    done
    kill "$slow_pid" 2>/dev/null || true
    wait "$slow_pid" 2>/dev/null || true
    slow_pid=
    ;;
esac

# --- ws: WebSocket echo and idle WebSockets ----------------------------------------
# The echo server (libwebsockets, one thread) is pinned to the server core
# as nginx is. 10,000 idle WebSockets need more descriptors than the usual
# soft limit: the server and bench_ws each raise their own (the hard limit
# too, to 65,536, where the process may), as bench_scale does.
ws_pid=
case " $MODES " in
  *" ws "*)
    mkfifo "$tmp/ws"
    taskset -c "$SERVER_CPU" "$ebin" >"$tmp/ws" &
    ws_pid=$!
    read -r _ ws_port <"$tmp/ws"
    # Through measure.py for the steal time; no nginx here to count.
    ws_one() { # RUN MODE CLIENT
      line=$(taskset -c "$CLIENT_CPU" python3 "$here/measure.py" --cpus "$SERVER_CPU,$CLIENT_CPU" -- \
        "$wbin" --client "$3" --mode "$2" --port "$ws_port" \
        --sockets "$([ "$2" = small ] && echo "$WS_SOCKETS" || echo 1)" --seconds "$SECS" \
        --server-pid "$ws_pid")
      record "$1" "$line"
    }
    run=1
    while [ "$run" -le "$RUNS" ]; do
      for mode in small large; do
        # Alternate which client goes first, as above.
        if [ $((run % 2)) = 1 ]; then
          ws_one "$run" "$mode" winhttp
          ws_one "$run" "$mode" lws
        else
          ws_one "$run" "$mode" lws
          ws_one "$run" "$mode" winhttp
        fi
        ws_one "$run" "$mode" winhttp-sync
      done
      run=$((run + 1))
    done
    run=1
    while [ "$run" -le "$RUNS" ]; do
      for count in $WS_COUNTS; do
        line=$(taskset -c "$CLIENT_CPU" "$wbin" --mode idle --port "$ws_port" --count "$count")
        echo "$line run=$run" | tee -a "$results" >&2
      done
      run=$((run + 1))
    done
    ;; # the server stays up for the profiles; stopped below
esac

# --- profiles (PROFILE=1) --------------------------------------------------------
# perf has no hardware counters on this kind of machine, so the profile is
# valgrind's: instructions per request (or per MB) as the difference between
# a run of N and of 2N requests, so connecting and the handshake cancel out,
# with the top functions of the longer run; and strace's syscall counts per
# request. Both are independent of whatever else runs on the machine.
if [ "${PROFILE:-0}" = 1 ]; then
  prof=${PROFDIR:-$build/bench/profile}
  rm -rf "$prof"
  mkdir -p "$prof"
  # Shell functions share their caller's variables: p_* are profile_one's.
  profile_one() { # MODE SCHEME CLIENT N
    p_port=$HTTP_PORT
    [ "$2" = https ] && p_port=$HTTPS_PORT
    if [ "$1" = get ]; then p_path=/100b; p_expect=$SMALL; else p_path=/100m.bin; p_expect=$BIG; fi
    p_base=$prof/cg.$1.$2.$3
    # bench_raw, the limit, takes bench_sync's options but --client.
    p_bin=$bin
    p_client="--client $3"
    if [ "$3" = raw ]; then p_bin=$rbin; p_client=; fi
    for p_n in "$4" $(($4 * 2)); do
      # shellcheck disable=SC2086
      taskset -c "$CLIENT_CPU" valgrind --tool=callgrind -q \
        --callgrind-out-file="$p_base.$p_n" "$p_bin" --mode "$1" --scheme "$2" \
        $p_client --port "$p_port" --path "$p_path" --expect "$p_expect" --requests "$p_n" \
        --cafile "$tmp/certs/ca.pem" > /dev/null
    done
    # shellcheck disable=SC2086
    taskset -c "$CLIENT_CPU" strace -f -c -o "$prof/strace.$1.$2.$3" "$p_bin" --mode "$1" \
      --scheme "$2" $p_client --port "$p_port" --path "$p_path" --expect "$p_expect" \
      --requests $(($4 * 2)) --warmup 0 --cafile "$tmp/certs/ca.pem" > /dev/null
    p_calls=$(awk '$NF == "total" { print $4 }' "$prof/strace.$1.$2.$3")
    if [ "$1" = get ]; then p_per=request; p_div=$4; else p_per=MB; p_div=$(($4 * BIG / 1000000)); fi
    python3 "$here/cgdiff.py" "$p_base.$4" "$p_base.$(($4 * 2))" "$p_div" 15 \
      > "$prof/top.$1.$2.$3.txt"
    p_ins=$(awk 'NR == 1 { gsub(",", "", $1); print $1 }' "$prof/top.$1.$2.$3.txt")
    echo "profile mode=$1 scheme=$2 client=$3 instructions_per_$p_per=$p_ins syscalls_per_$p_per=$(( p_calls / (p_div * 2) ))" |
      tee -a "$results" >&2
  }
  for mode in get download; do
    case " $MODES " in *" $mode "*) ;; *) continue ;; esac
    for scheme in http https; do
      for client in winhttp curl raw; do
        if [ "$mode" = get ]; then profile_one "$mode" "$scheme" "$client" 2000
        else profile_one "$mode" "$scheme" "$client" 1; fi
      done
    done
  done
  # WebSocket echo: N and 2N messages per WebSocket (opening them cancels
  # out), per message (small) or per MB (large); p_* are profile_ws's.
  profile_ws() { # MODE CLIENT N
    p_base=$prof/cg.ws-$1.ws.$2
    p_socks=1
    [ "$1" = small ] && p_socks=$WS_SOCKETS
    for p_n in "$3" $(($3 * 2)); do
      taskset -c "$CLIENT_CPU" valgrind --tool=callgrind -q \
        --callgrind-out-file="$p_base.$p_n" "$wbin" --client "$2" --mode "$1" \
        --port "$ws_port" --sockets "$p_socks" --messages "$p_n" > /dev/null
    done
    taskset -c "$CLIENT_CPU" strace -f -c -o "$prof/strace.ws-$1.ws.$2" "$wbin" --client "$2" \
      --mode "$1" --port "$ws_port" --sockets "$p_socks" --messages $(($3 * 2)) > /dev/null
    p_calls=$(awk '$NF == "total" { print $4 }' "$prof/strace.ws-$1.ws.$2")
    if [ "$1" = small ]; then p_per=message; p_div=$(($3 * p_socks))
    else p_per=MB; p_div=$(awk "BEGIN { print $3 * 1048576 / 1e6 }"); fi
    python3 "$here/cgdiff.py" "$p_base.$3" "$p_base.$(($3 * 2))" "$p_div" 15 \
      > "$prof/top.ws-$1.ws.$2.txt"
    p_ins=$(awk 'NR == 1 { gsub(",", "", $1); print $1 }' "$prof/top.ws-$1.ws.$2.txt")
    p_sys=$(awk "BEGIN { printf \"%.1f\", $p_calls / ($p_div * 2) }")
    echo "profile mode=ws-$1 scheme=ws client=$2 instructions_per_$p_per=$p_ins syscalls_per_$p_per=$p_sys" |
      tee -a "$results" >&2
  }
  if [ -n "$ws_pid" ]; then
    for client in winhttp lws; do
      profile_ws small "$client" 200
      profile_ws large "$client" 20
    done
  fi
  echo "run.sh: profiles in $prof" >&2
fi
if [ -n "$ws_pid" ]; then
  kill "$ws_pid" 2>/dev/null || true
  wait "$ws_pid" 2>/dev/null || true
  ws_pid=
fi

# --- the report ----------------------------------------------------------------
facts=$tmp/facts.txt
{
  echo "date: $(date -u '+%Y-%m-%d %H:%M UTC')"
  echo "cpu: $(lscpu | sed -n 's/^Model name: *//p') ($(nproc) cores online)"
  echo "kernel: $(uname -sr)"
  echo "compiler: $(${CC:-cc} --version | head -n 1)"
  echo "build: $(sed -n 's/^CMAKE_BUILD_TYPE:[A-Z]*=//p' "$build/CMakeCache.txt" 2>/dev/null) ($build)"
  echo "nginx: $(nginx -v 2>&1 | sed 's/.*: //'), 1 worker, worker_cpu_affinity $affinity (worker on CPU$worker_affinity)"
  echo "openssl: $(openssl version)"
  echo "libcurl: $(pkg-config --modversion libcurl 2>/dev/null || curl-config --version)"
  echo "curl tool: $(curl --version | head -n 1 | cut -d' ' -f1-2)"
  case " $MODES " in
    *" h2 "*) echo "h2load: $(h2load --version | head -n 1) (one connection, -m $INFLIGHT)" ;;
  esac
  case " $MODES " in
    *" async "*) echo "wrk: $(wrk --version 2>&1 | head -n 1 | cut -d' ' -f1-2) (-t1 -c$INFLIGHT)" ;;
  esac
  echo "load average at the end: $(cut -d" " -f1-3 /proc/loadavg) (other work on the machine shares both cores)"
  echo "pinning: nginx on CPU $SERVER_CPU, clients on CPU $CLIENT_CPU (taskset)"
  case " $MODES " in
    *" ws "*)
      echo "libwebsockets: $(pkg-config --modversion libwebsockets 2>/dev/null | sed 's/-$//') (echo server bench/ws_echo_server.c on CPU $SERVER_CPU, poll(), one thread; the lws client in bench_ws)"
      ;;
  esac
  if perf stat -e instructions true 2>&1 | grep -q 'not supported'; then
    echo "perf: hardware counters not supported on this machine (profiles use valgrind --tool=callgrind)"
  fi
} > "$facts"

python3 "$here/report.py" --results "$results" --facts "$facts" --profdir "${prof:-}" \
  --command "$command_line" --build "$build" --runs "$RUNS" --secs "$SECS" --out "$OUT" \
  --steal-max "$STEAL_MAX"
