# The bookkeeping the shell tests share, sourced by each of them once $tmp
# (its scratch folder) and $pids (processes to stop at exit) are set:
#   . "$(dirname "$0")/../support/check.sh"
# A test may redefine show_failure after sourcing, to print what explains a
# failed check (by default: the end of $tmp/err).

failures=0
checks=0

show_failure() {
  [ -f "$tmp/err" ] && tail -n 12 "$tmp/err" | sed 's/^/     stderr: /'
  return 0
}

ok() { checks=$((checks + 1)); echo "ok   $1"; }
bad() {
  checks=$((checks + 1)); failures=$((failures + 1))
  echo "FAIL $1"
  show_failure
}

# check NAME CMD...: the shell test CMD... holds.
check() {
  name=$1
  shift
  if "$@"; then ok "$name"; else bad "$name"; fi
}

has() { grep -qF -- "$1" "$2"; }
has_line() { grep -qxF -- "$1" "$2"; }

# sanitizer_free NAME: the last run's stderr ($tmp/err) holds no sanitizer
# report.
sanitizer_free() {
  if grep -qE "Sanitizer|runtime error" "$tmp/err"; then
    bad "$1: sanitizer report"
    return 1
  fi
  return 0
}

# status_is NAME GOT WANT: no sanitizer report, and exit status GOT is WANT.
status_is() {
  sanitizer_free "$1" || return 1
  if [ "$2" != "$3" ]; then
    bad "$1: exit status $2, expected $3"
    return 1
  fi
  return 0
}

# start_py_peer SCRIPT VAR ARGS...: starts the Python test server SCRIPT
# with ARGS ($python), waits for its READY line (through a FIFO: no sleep),
# sets VAR to its port and peer_pid to its process id (also added to $pids).
start_py_peer() {
  script=$1 var=$2
  shift 2
  fifo="$tmp/ready.$var"
  mkfifo "$fifo"
  "$python" "$script" "$@" >"$fifo" 2>"$tmp/server.$var.err" &
  peer_pid=$!
  pids="$pids $peer_pid"
  line=""
  read -r line <"$fifo"
  case $line in
    "READY "*) port=${line#READY }; eval "$var=\${port%% *}" ;;
    *) cat "$tmp/server.$var.err"; echo "FAIL $(basename "$script") $* did not start"; exit 1 ;;
  esac
}

# check_summary: the count line; its status is the test's (0: all passed).
check_summary() {
  echo "$((checks - failures))/$checks checks passed"
  [ "$failures" -eq 0 ]
}
