# Sourced by the shell tests that run a program against scripts/demo-server
# (nginx on loopback serving HTTP and HTTPS, with a CA made for the run):
# tests/examples/test_readdata.sh and tests/tools/test_whttp.sh.

# start_demo_server DEMO_SERVER DIR BIG_MIB: starts DEMO_SERVER with
# DEMO_BIG_MIB=BIG_MIB (the size of its big file) and returns once it has
# printed READY, which it does only when it serves: no sleeps. Its stdout
# comes through a FIFO made in DIR; each DEMO_NAME=value line before READY
# (ports, URLs, DEMO_ROOT, DEMO_CA...) sets the shell variable DEMO_NAME.
# The server's pid is left in demo_server_pid, for the caller to stop. When
# the server does not start, shows its stderr and exits the script with
# status 1.
start_demo_server() {
  mkfifo "$2/info"
  DEMO_BIG_MIB=$3 "$1" >"$2/info" 2>"$2/server.err" &
  demo_server_pid=$!
  exec 4<"$2/info"
  while IFS= read -r line <&4; do
    case $line in
      READY) exec 4<&-; return 0 ;;
      DEMO_*=*) eval "${line%%=*}=\${line#*=}" ;;
    esac
  done
  exec 4<&-
  cat "$2/server.err"
  echo "FAIL the demo server did not start"
  exit 1
}
