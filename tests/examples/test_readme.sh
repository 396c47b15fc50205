#!/bin/sh
# ctest examples.readme: every C example of README.md (each ```c block)
# compiles against the public header as a user would write it: C11,
# -Wall -Wextra -Werror. Compiled only (the symbols are checked by
# header.exports), so that sanitizer builds need not link them.
# Usage: test_readme.sh README CC INCLUDE_DIR...
set -u
readme=$1
cc=$2
shift 2
incs=""
for d in "$@"; do incs="$incs -I$d"; done
tmp=$(mktemp -d "${TMPDIR:-/tmp}/test-readme.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
awk -v dir="$tmp" '
  /^```c$/ { n++; out = dir "/example" n ".c"; inside = 1; next }
  /^```/   { inside = 0; next }
  inside   { print > out }
' "$readme"
count=0
failures=0
for f in "$tmp"/example*.c; do
  [ -f "$f" ] || continue
  count=$((count + 1))
  # shellcheck disable=SC2086
  if "$cc" -std=c11 -Wall -Wextra -Werror -fsyntax-only $incs "$f" 2>"$tmp/err"; then
    echo "ok   README example $count compiles"
  else
    failures=$((failures + 1))
    echo "FAIL README example $count:"
    sed 's/^/     /' "$tmp/err"
  fi
done
if [ "$count" -eq 0 ]; then
  echo "FAIL no C example found in $readme"
  exit 1
fi
[ "$failures" -eq 0 ]
