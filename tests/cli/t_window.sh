# fl-window: the window rules on tuple time, two passes over files and pipes,
# temporary files, damaged streams.

# wrec TIME PATH-HOUR TUPLE... : one compact VNet v4 record
wrec() {
	_t=$1; shift
	_tu=$(printf '"%s",' "$@"); _tu=${_tu%,}
	printf '{"time":"%s","macAddress":"000D3A000001","category":"FlowLogFlowEvent","flowLogResourceID":"/SUBSCRIPTIONS/S/FLOWLOGS/FL1","targetResourceID":"/subscriptions/s/vnet1","flowLogVersion":4,"flowRecords":{"flows":[{"aclID":"a","flowGroups":[{"rule":"R","flowTuples":[%s]}]}]}}' "$_t" "$_tu"
}
# wtu MS DPORT : a tuple told apart by its destination port
wtu() { printf '%s,10.0.0.4,10.0.1.5,40000,%s,6,O,B,NX,0,0,0,0' "$1" "$2"; }

# N is the newest tuple, 2026-11-02T09:00:00.000Z; ports name the offsets.
N=1793610000000 D=86400000 H=3600000
printf '{"records":[%s]}' "$(wrec 2026-11-02T09:01:00Z \
	"$(wtu $N 1)" "$(wtu $((N - 8 * D)) 1008)" "$(wtu $((N - 7 * D)) 1007)" \
	"$(wtu $((N - 6 * D)) 1006)" "$(wtu $((N - 37 * H)) 37)" "$(wtu $((N - 36 * H)) 36)" \
	"$(wtu $((N - 35 * H)) 35)")" > "$TMP/win.json"
fl-extract "$TMP/win.json" > "$TMP/win.flt" 2>/dev/null
# ports OPTIONS... : the destination ports fl-window keeps from win.flt, sorted
ports() {
	run "fl-window $* '$TMP/win.flt' | fl-cat --csv --no-header --fields dport | sort -n | tr '\n' ' '"
	out=${out% }
}

t "default: the 7 days ending at the newest tuple, both ends included"
ports
assert_eq 0 "$rc" "exit"
assert_eq "1 35 36 37 1006 1007" "$out" "8 days before is out, exactly 7 days before is in"

t "--last 36h: the start is included"
ports --last 36h
assert_eq "1 35 36" "$out" "kept"

t "--now ends the window at TIME, inclusive"
ports --now 2026-10-27T09:00:00Z
assert_eq "1006 1007 1008" "$out" "kept"
ports --now 2026-10-27T09:00:00Z --last 1d
assert_eq "1006 1007" "$out" "with --last 1d"

t "--since inclusive, --until exclusive"
ports --since 2026-10-26T09:00:00Z --until 2026-10-27T09:00:00Z
assert_eq "1007" "$out" "[since, until)"
ports --since 2026-10-31T20:00:00Z
assert_eq "1 35 36 37" "$out" "--since alone has no end"
ports --since 2026-10-31T20:00:00Z --last 2h
assert_eq "36 37" "$out" "--since with --last is [since, since+last)"
ports --until 2026-10-27T09:00:00Z
assert_eq "1007 1008" "$out" "--until alone is the 7 days before it"
ports --until $N --last 36h
assert_eq "35 36" "$out" "epoch milliseconds; the newest tuple is at --until, so out"

t "tuple time decides, not the blob hour or the record time"
mkdir -p "$TMP/wtree/y=2026/m=11/d=02/h=09/m=00/macAddress=000D3A000001"
printf '{"records":[%s]}' "$(wrec 2026-11-02T09:00:56Z "$(wtu $((N - 11000)) 11)" "$(wtu $N 12)")" \
	> "$TMP/wtree/y=2026/m=11/d=02/h=09/m=00/macAddress=000D3A000001/PT1H.json"
run "fl-extract '$TMP/wtree' | fl-window --until 2026-11-02T09:00:00Z | fl-cat --csv --no-header --fields time,dport,blob_hour"
assert_eq "2026-11-02T08:59:49.000Z,11,2026-11-02T09:00:00.000Z" "$out" "08:59:49 in the h=09 blob is kept, 09:00:00 is not"

t "--stats: counts, the window, oldest and newest"
run "fl-window --stats '$TMP/win.flt' > /dev/null"
assert_match '^window +\[2026-10-26T09:00:00\.000Z,2026-11-02T09:00:00\.000Z\] ' "$err" "window"
assert_match '^kept +6$' "$err" "kept"
assert_match '^before +1$' "$err" "before"
assert_match '^after +0$' "$err" "after"
assert_match '^oldest +2026-10-25T09:00:00\.000Z$' "$err" "oldest"
assert_match '^newest +2026-11-02T09:00:00\.000Z$' "$err" "newest"
run "fl-window --stats --since 2026-10-26T09:00:00Z --until 2026-10-27T09:00:00Z '$TMP/win.flt' > /dev/null"
assert_match '^window +\[2026-10-26T09:00:00\.000Z,2026-10-27T09:00:00\.000Z\) ' "$err" "half-open"
assert_match '^after +5$' "$err" "after"

t "header: this tool's invocation and the window applied"
fl-window -o "$TMP/hdr.flt" "$TMP/win.flt"
hdr=$(LC_ALL=C tr -c '[:print:]' '\n' < "$TMP/hdr.flt")
assert_match 'fl-extract [0-9.]+ [0-9TZ:-]+ .*win\.json' "$hdr" "the extract invocation is kept"
assert_match "fl-window [0-9.]+ [0-9TZ:-]+ -o $TMP/hdr\.flt" "$hdr" "invocation"
assert_match '\[2026-10-26T09:00:00\.000Z,2026-11-02T09:00:00\.000Z\]' "$hdr" "window in the provenance"

t "a pipe is spooled and gives what the file gives (example export)"
fl-extract "$EXAMPLES/export.zip" > "$TMP/ex.flt" 2>/dev/null
mkdir -p "$TMP/priv"
fl-window "$TMP/ex.flt" | fl-cat --csv > "$TMP/wf.csv"
run "cat '$TMP/ex.flt' | TMPDIR='$TMP/priv' fl-window --stats | fl-cat --csv > '$TMP/wp.csv'"
assert_file_eq "$TMP/wf.csv" "$TMP/wp.csv"
assert_match "^spooled +$(wc -c < "$TMP/ex.flt") bytes of standard input" "$err" "spooled"
assert_eq "$(($(wc -l < "$TMP/wf.csv") - 1))" "$(printf '%s\n' "$err" | sed -n 's/^kept *//p')" "kept = rows"
assert_eq "" "$(ls -A "$TMP/priv")" "no temporary file left"
run "fl-window --since 2026-11-02T01:00:00Z --until 2026-11-02T02:00:00Z --stats '$TMP/ex.flt' > /dev/null"
wstat() { printf '%s\n' "$err" | sed -n "s/^$1 *//p"; }
assert_eq "$(fl-cat --csv --no-header "$TMP/ex.flt" | wc -l)" \
	"$(($(wstat kept) + $(wstat before) + $(wstat after)))" "kept + before + after = all"
run "fl-window '$TMP/win.flt' '$TMP/ex.flt' | fl-cat --csv --no-header | wc -l"
assert_eq "$(cat "$TMP/win.flt" "$TMP/ex.flt" | fl-window | fl-cat --csv --no-header | wc -l)" "$(echo $out)" "several inputs are one stream"

t "damaged streams: exit 3, the block named, nothing left behind"
size=$(wc -c < "$TMP/win.flt")
head -c $((size - 5)) "$TMP/win.flt" > "$TMP/wtrunc.flt"
run "TMPDIR='$TMP/priv' fl-window '$TMP/wtrunc.flt' > /dev/null"
assert_eq 3 "$rc" "truncated file"
assert_match 'wtrunc\.flt: .*block [0-9]+.*trunc' "$err" "names the block"
mkdir -p "$TMP/wout"
run "cat '$TMP/wtrunc.flt' | TMPDIR='$TMP/priv' fl-window -o '$TMP/wout/w.flt'"
assert_eq 3 "$rc" "truncated pipe"
assert_match 'standard input: .*block [0-9]+' "$err" "names the block"
assert_eq "" "$(ls -A "$TMP/wout")" "no output file, no temporary beside it"
assert_eq "" "$(ls -A "$TMP/priv")" "no spool left"
run "fl-window --now 2026-11-02T09:00:00Z -o '$TMP/wout/w.flt' '$TMP/wtrunc.flt'"
assert_eq 3 "$rc" "one pass"
assert_eq "" "$(ls -A "$TMP/wout")" "no output file"

t "killed while spooling: no temporary file left"
if [ -d /proc/self/fd ]; then
	rm -f "$TMP/wfifo"; mkfifo "$TMP/wfifo"
	# Open read-write so neither side blocks; the stream never ends.
	exec 3<>"$TMP/wfifo"
	TMPDIR="$TMP/priv" fl-window -o "$TMP/wout/k.flt" "$TMP/wfifo" 2>/dev/null &
	pid=$!
	cat "$TMP/win.flt" >&3
	i=0
	while [ $i -lt 100 ] && ! ls -l "/proc/$pid/fd" 2>/dev/null | grep -q "$TMP/priv/fl-window\..*(deleted)"; do
		sleep 0.05; i=$((i + 1))
	done
	assert_match '(deleted)' "$(ls -l "/proc/$pid/fd" 2>/dev/null)" "spool open and already unlinked"
	kill -TERM "$pid"; wait "$pid" 2>/dev/null; rc=$?
	exec 3>&-
	assert_eq 143 "$rc" "killed by SIGTERM"
	assert_eq "" "$(ls -A "$TMP/priv")" "no spool left"
	assert_eq "" "$(ls -A "$TMP/wout")" "no output temporary left"
else
	skip "no /proc to see the spool"
fi

t "an empty stream gives an empty stream"
printf '{"records":[]}' > "$TMP/wempty.json"
fl-extract "$TMP/wempty.json" > "$TMP/wempty.flt" 2>/dev/null
run "fl-window --stats '$TMP/wempty.flt' | fl-cat --csv --no-header"
assert_eq 0 "$rc" "exit 0, readable by fl-cat"
assert_eq "" "$out" "no rows"
assert_match '^kept +0$' "$err" "kept 0"
assert_match '^newest +-$' "$err" "no newest"

t "usage errors"
run "fl-window --now 2026-11-02 --until 2026-11-03 '$TMP/win.flt'"
assert_eq 2 "$rc" "--now with --until"
assert_match 'cannot be combined with --until' "$err" "says why"
run "fl-window --now 2026-11-02 --since 2026-11-01 '$TMP/win.flt'"
assert_eq 2 "$rc" "--now with --since"
run "fl-window --since 2026-11-01 --until 2026-11-02 --last 1d '$TMP/win.flt'"
assert_eq 2 "$rc" "three bounds"
run "fl-window --since 2026-11-02 --until 2026-11-01 '$TMP/win.flt'"
assert_eq 2 "$rc" "since after until"
run "fl-window --last 0 '$TMP/win.flt'"
assert_eq 2 "$rc" "empty --last"
run "fl-window --last week '$TMP/win.flt'"
assert_eq 2 "$rc" "bad duration"
run "fl-window --since yesterday '$TMP/win.flt'"
assert_eq 2 "$rc" "bad time"
: > "$TMP/wexists.flt"
run "fl-window -o '$TMP/wexists.flt' '$TMP/win.flt'"
assert_eq 2 "$rc" "existing -o without --force"
run "fl-window -f -o '$TMP/wexists.flt' '$TMP/win.flt' && fl-cat --csv --no-header '$TMP/wexists.flt' | wc -l"
assert_eq 6 "$(echo $out)" "overwritten with --force"

t "a missing file is damage, the others are still read"
run "fl-window '$TMP/win.flt' '$TMP/no-such.flt' | fl-cat --csv --no-header | wc -l"
assert_match "cannot open .*no-such\.flt.: No such file or directory" "$err" "named"
assert_eq 6 "$(echo $out)" "the readable file is windowed"
run "fl-window '$TMP/win.flt' '$TMP/no-such.flt' > /dev/null"
assert_eq 1 "$rc" "exit 1"
