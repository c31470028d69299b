#!/bin/sh
# CLI test runner: sources every tests/cli/t_*.sh with the helpers below.
# Each test file calls `t NAME` to start a test and the assert_* helpers;
# the runner prints one line per failure and "N passed, N failed" at the end.
# FL_BIN points at the built tools; SAMPLES at ../shared/samples/public.
set -u
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
: "${FL_BIN:=$top/build/bin}"
: "${SAMPLES:=$top/../shared/samples/public}"
PATH="$FL_BIN:$PATH"
export PATH FL_BIN SAMPLES
TMP=$(mktemp -d "${TMPDIR:-/tmp}/fl-cli.XXXXXX")
trap 'rm -rf "$TMP"' EXIT INT TERM
DATA="$top/tests/data"
EXAMPLES="$top/examples"
GEN="$FL_BIN/../fl-gen"

passed=0 failed=0 skipped=0 current=""
t() { current=$1; }
ok() { passed=$((passed + 1)); }
fail() { failed=$((failed + 1)); echo "FAIL [$file] $current: $*"; }
skip() { skipped=$((skipped + 1)); echo "skipped [$file] $current: $*"; }
# assert_eq EXPECTED ACTUAL [what]
assert_eq() { if [ "$1" = "$2" ]; then ok; else fail "${3:-value}: expected '$1', got '$2'"; fi; }
# assert_match REGEX TEXT [what]  (grep -E)
assert_match() { if printf '%s\n' "$2" | grep -Eq -- "$1"; then ok; else fail "${3:-text} does not match /$1/: $(printf '%s' "$2" | head -c 400)"; fi; }
assert_no_match() { if printf '%s\n' "$2" | grep -Eq -- "$1"; then fail "${3:-text} matches /$1/"; else ok; fi; }
assert_file_eq() { if cmp -s "$1" "$2"; then ok; else fail "$1 differs from $2: $(diff "$1" "$2" | head -5)"; fi; }
have_samples() { [ -d "$SAMPLES" ]; }
# xc INPUT [fl-cat options]: fl-extract INPUT to a file, then fl-cat it;
# $rc and $err are fl-extract's, $out is fl-cat's output.
xc() {
	_in=$1; shift
	sh -c "fl-extract $_in" > "$TMP/xc.flt" 2>"$TMP/stderr"; rc=$?; err=$(cat "$TMP/stderr")
	out=$(fl-cat "$@" "$TMP/xc.flt")
}
# run CMD...: runs a shell command line, sets $out, $err, $rc
run() { out=$(sh -c "$*" 2>"$TMP/stderr"); rc=$?; err=$(cat "$TMP/stderr"); }

for f in "$here"/t_*.sh; do
	file=$(basename "$f")
	. "$f"
done
echo "cli: $passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
