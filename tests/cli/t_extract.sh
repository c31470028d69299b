# fl-extract on project-written inputs: damage, shapes, containers, options.

# vrec TIME MAC TUPLE... : one compact VNet v4 record
vrec() {
	_t=$1 _m=$2; shift 2
	_tu=$(printf '"%s",' "$@"); _tu=${_tu%,}
	printf '{"time":"%s","flowLogGUID":"00000000-0000-0000-0000-000000000001","macAddress":"%s","category":"FlowLogFlowEvent","flowLogResourceID":"/SUBSCRIPTIONS/11111111-2222-3333-4444-555555555555/RESOURCEGROUPS/NETWORKWATCHERRG/PROVIDERS/MICROSOFT.NETWORK/NETWORKWATCHERS/NETWORKWATCHER_WESTEUROPE/FLOWLOGS/FL1","targetResourceID":"/subscriptions/11111111-2222-3333-4444-555555555555/resourceGroups/rg/providers/Microsoft.Network/virtualNetworks/vnet1","flowLogVersion":4,"operationName":"FlowLogFlowEvent","flowRecords":{"flows":[{"aclID":"00000000-0000-0000-0000-000000000000","flowGroups":[{"rule":"PlatformRule","flowTuples":[%s]}]}]}}' "$_t" "$_m" "$_tu"
}
R1=$(vrec 2026-11-02T09:01:00.1234567Z 000D3A000001 \
	"1793610000000,10.0.0.4,10.0.1.5,40000,443,6,O,B,NX,0,0,0,0" \
	"1793610001000,10.0.0.4,10.0.1.5,40000,443,6,O,E,NX,5,500,4,4000")
R2=$(vrec 2026-11-02T09:02:00.1234567Z 000D3A000001 \
	"1793610060000,10.0.0.4,203.0.113.9,40001,22,6,O,D,NX,0,0,0,0" \
	"1793610061000,2001:DB8:0:0:0:0:0:1,10.0.1.5,40002,80,17,I,B,NX_FUTURE_VALUE,,,,")
R3=$(vrec 2026-11-02T09:03:00.1234567Z 000D3A000001 \
	"1793610120000,10.0.0.4,10.0.1.6,40003,443,6,O,B,X,0,0,0,0")
printf '{"records":[%s,%s,%s]}' "$R1" "$R2" "$R3" > "$TMP/good.json"

t "a well-formed blob"
run "fl-extract '$TMP/good.json' | fl-cat --csv --no-header"
assert_eq 0 "$rc" "exit"
assert_eq 5 "$(printf '%s\n' "$out" | wc -l)" "tuples"
assert_match '^2026-11-02T09:00:01\.000Z,10\.0\.0\.4,10\.0\.1\.5,40000,443,6,O,E,A,NX,5,500,4,4000,vnet,4,PlatformRule,00000000-0000-0000-0000-000000000000,000D3A000001,/subscriptions/11111111-2222-3333-4444-555555555555/resourceGroups/rg/providers/Microsoft\.Network/virtualNetworks/vnet1,/SUBSCRIPTIONS/' "$out" "E tuple, every field"
assert_match '^2026-11-02T09:01:00\.000Z,10\.0\.0\.4,203\.0\.113\.9,40001,22,6,O,D,D,NX,0,0,0,0,' "$out" "denied"
t "IPv6 canonical, unknown encryption verbatim, unmeasured counters empty"
assert_match '^2026-11-02T09:01:01\.000Z,2001:db8::1,10\.0\.1\.5,40002,80,17,I,B,A,NX_FUTURE_VALUE,,,,,' "$out" "ipv6 tuple"
run "fl-extract '$TMP/good.json' | fl-cat --jsonl --fields src,enc,pkts_sd | sed -n 4p"
assert_eq '{"src":"2001:db8::1","enc":"NX_FUTURE_VALUE","pkts_sd":null}' "$out" "jsonl"

t "a blob without its closing ]}"
printf '{"records":[%s,%s' "$R1" "$R2" > "$TMP/noclose.json"
xc "'$TMP/noclose.json'" --csv --no-header
assert_eq 4 "$(printf '%s\n' "$out" | wc -l)" "both records"
assert_eq 1 "$rc" "exit 1"
assert_match "noclose\.json: byte $(wc -c < "$TMP/noclose.json"): truncated" "$err" "offset of the end"

t "a record cut in half"
full=$(printf '{"records":[%s,%s' "$R1" "$R2")
cut=$(printf '%s' "$full" | head -c $(( ${#full} - 40 )))
printf '%s' "$cut" > "$TMP/cut.json"
xc "'$TMP/cut.json'" --csv --no-header --fields time,dport
assert_eq 1 "$rc" "exit 1"
assert_match '2026-11-02T09:00:01\.000Z,443' "$out" "first record complete"
assert_match '2026-11-02T09:01:00\.000Z,22' "$out" "complete tuple of the cut record"
assert_match 'cut\.json: byte [0-9]+: truncated' "$err" "reported"

t "a block seam that starts with a comma"
printf ',%s,%s' "$R2" "$R3" > "$TMP/seam.json"
xc "'$TMP/seam.json'" --csv --no-header
assert_eq 3 "$(printf '%s\n' "$out" | wc -l)" "records after the seam"
assert_eq 1 "$rc" "exit 1"
assert_match 'seam\.json: byte 0: ' "$err" "seam at byte 0"

t "a record cut short and followed by the next one"
half=$(printf '%s' "$R1" | head -c 500)
printf '{"records":[%s%s,%s]}' "$half" "$R2" "$R3" > "$TMP/resync.json"
xc "'$TMP/resync.json'" --csv --no-header --fields dport
assert_eq 1 "$rc" "exit 1"
assert_eq "22 80 443" "$(printf '%s\n' "$out" | tr '\n' ' ' | sed 's/ $//')" "the records after the cut"

t "a trailing comma"
printf '{"records":[%s,]}' "$(printf '%s' "$R1" | sed 's/4000"\]/4000",]/')" > "$TMP/comma.json"
xc "'$TMP/comma.json'" --csv --no-header
assert_eq 2 "$(printf '%s\n' "$out" | wc -l)" "every tuple"
assert_eq 1 "$rc" "exit 1"
assert_match 'comma\.json: byte [0-9]+: JSON syntax error' "$err" "reported"

t "bad addresses and wrong field counts"
printf '{"records":[%s]}' "$(vrec 2026-11-02T09:01:00Z 000D3A000001 \
	"1793610000000,xxx.xxx.xxx.xxx,10.0.1.5,40000,443,6,O,B,NX,0,0,0,0" \
	"1793610000000,10.0.0.4,10.0.1.5,40000,443,6,O,B,NX,0,0,0" \
	"1793610000000,10.0.0.4,10.0.1.5,40000,443,6,O,B,NX,0,0,0,0,7" \
	"1793610000000,10.0.0.4,10.0.1.5,40000,8443,6,O,B,NX,0,0,0,0")" > "$TMP/badtuple.json"
xc "'$TMP/badtuple.json'" --csv --no-header --fields dport,ordinal
assert_eq "8443,4" "$out" "the good tuple, with its ordinal"
assert_eq 1 "$rc" "exit 1"
assert_eq 3 "$(printf '%s\n' "$err" | grep -c 'badtuple\.json: byte [0-9]*: bad tuple')" "three reports"

t "files that are not flow logs are skipped, not errors"
mkdir -p "$TMP/tree/h=09"
cp "$TMP/good.json" "$TMP/tree/h=09/PT1H.json"
printf '{"time":"2026-11-02T09:00:00Z","category":"AppServiceHTTPLogs","properties":{}}\n{"time":"2026-11-02T09:00:01Z","category":"AppServiceHTTPLogs","properties":{}}\n' > "$TMP/tree/diag.json"
printf 'readme\n' > "$TMP/tree/README.md"
run "fl-extract '$TMP/tree' | fl-cat --csv --no-header | wc -l"
assert_eq 0 "$rc" "exit 0"
assert_eq 5 "$(echo $out)" "tuples"
assert_match 'diag\.json: skipped: not a flow log \(AppServiceHTTPLogs\)' "$err" "diagnostic log named"
assert_match 'README\.md: skipped' "$err" "readme"
run "fl-extract --quiet '$TMP/tree' > /dev/null"
assert_eq "" "$err" "--quiet"

t "containers: zip, tar.gz, tar.zst, tar.xz, 7z, json.gz, stdin give the same tuples"
fl-extract "$TMP/tree" 2>/dev/null | fl-cat --csv --fields time,src,dst,sport,dport,state,bytes_ds > "$TMP/want.csv"
(cd "$TMP/tree" && zip -qr ../t.zip . && tar czf ../t.tgz . && tar cf - . | zstd -q > ../t.tar.zst && tar cJf ../t.txz . && 7z a -bd -bso0 ../t.7z . && gzip -c h=09/PT1H.json > ../t.json.gz)
for f in t.zip t.tgz t.tar.zst t.txz t.7z t.json.gz; do
	fl-extract --quiet "$TMP/$f" | fl-cat --csv --fields time,src,dst,sport,dport,state,bytes_ds > "$TMP/got.csv"
	assert_file_eq "$TMP/want.csv" "$TMP/got.csv"
done
fl-extract --quiet - < "$TMP/t.tgz" | fl-cat --csv --fields time,src,dst,sport,dport,state,bytes_ds > "$TMP/got.csv"
assert_file_eq "$TMP/want.csv" "$TMP/got.csv"
cp "$TMP/t.zip" "$TMP/renamed.json"
run "fl-extract --quiet '$TMP/renamed.json' | fl-cat --csv --no-header | wc -l"
assert_eq 5 "$(echo $out)" "a zip named .json is still a zip"

t "a cut archive: a zip keeps what precedes the cut; a small .json.gz only reports it"
all=$(fl-extract --quiet "$EXAMPLES/export.zip" | fl-cat --csv --no-header | wc -l)
head -c $(( $(wc -c < "$EXAMPLES/export.zip") / 2 )) "$EXAMPLES/export.zip" > "$TMP/half.zip"
xc "'$TMP/half.zip'" --csv --no-header
got=$(printf '%s\n' "$out" | grep -c .)
assert_eq 1 "$rc" "exit 1"
assert_match "half\.zip: [^ ]*PT1H\.json: byte [0-9]+: " "$err" "the member and offset of the cut"
[ "$got" -gt $((all / 4)) ] && [ "$got" -lt "$all" ] || fail "half the zip gave $got of $all tuples"
head -c $(( $(wc -c < "$EXAMPLES/export.zip") - 100 )) "$EXAMPLES/export.zip" > "$TMP/nocd.zip"
xc "'$TMP/nocd.zip'" --csv --no-header
assert_eq 1 "$rc" "cut in the central directory: exit 1"
assert_match "nocd\.zip: byte [0-9]+: the zip ends without its central directory" "$err" "said"
assert_eq "$all" "$(printf '%s\n' "$out" | grep -c .)" "every member read"
head -c $(( $(wc -c < "$TMP/t.json.gz") / 2 )) "$TMP/t.json.gz" > "$TMP/cut.json.gz"
xc "'$TMP/cut.json.gz'" --csv --no-header
assert_eq 1 "$rc" "exit 1"
assert_match "cut\.json\.gz: byte 0: truncated gzip input" "$err" "the decompressor's message (man page: a limit)"

t "bytes that begin like an archive and are nothing more: said so, once"
printf 'PK' > "$TMP/pk.zip"
head -c 10 "$TMP/t.json.gz" > "$TMP/g10.json.gz"
for f in pk.zip g10.json.gz; do
	run "fl-extract '$TMP/$f' > /dev/null"
	assert_eq 1 "$rc" "$f: exit 1"
	assert_match "$f: byte 0: begins like an archive, but no archive or compression format is recognised" "$err" "$f: the message"
done

t "a zip that flags its names as UTF-8 (7-Zip, Python, .NET): the name is kept, in any locale"
mkdir -p "$TMP/utf8/ünï"
cp "$TMP/tree/h=09/PT1H.json" "$TMP/utf8/ünï/PT1H.json"
(cd "$TMP/utf8" && 7z a -tzip -bd -bso0 ../utf8.zip "ünï")
run "LC_ALL=C fl-extract --quiet '$TMP/utf8.zip' | fl-cat --csv --no-header --fields member | sort -u"
assert_eq "ünï/PT1H.json" "$out" "member name"

t "a member name longer than a stream can record (70,000 bytes, pax tar) is cut and said so"
long=$(head -c 70000 /dev/zero | tr '\0' 'a')
(cd "$TMP/tree" && tar --format=pax -cf ../long.tar --transform "s|^|$long/|" h=09/PT1H.json)
xc "'$TMP/long.tar'" --csv --no-header --fields member
assert_eq 1 "$rc" "exit 1"
assert_match "\[\.\.\. [0-9]+ bytes \.\.\.\].*: member name longer than the 64 KiB a stream can record: cut$" "$err" "the reason survives a huge name"
assert_eq "5 65536" "$(printf '%s\n' "$out" | wc -l) $(printf '%s\n' "$out" | head -n 1 | wc -c)" "tuples kept, name cut to 65535 bytes"

t "provenance names the member and the tuple"
run "fl-extract --quiet '$TMP/t.zip' | fl-cat --csv --no-header --fields dport,archive,member,ordinal | sed -n 5p"
assert_eq "443,$TMP/t.zip,h=09/PT1H.json,5" "$out" "archive, member, ordinal"

t "the same blob in two exports and a growing blob are read once"
printf '{"records":[%s]}' "$R1" > "$TMP/early.json"
run "fl-extract '$TMP/t.zip' '$TMP/t.tgz' '$TMP/early.json' | fl-cat --csv --no-header | wc -l"
assert_eq 5 "$(echo $out)" "tuples"
assert_match 'dropped 4 duplicate records \(7 tuples\)' "$err" "reported"
assert_eq 0 "$rc" "duplicates are not damage"

t "--since/--until filter on tuple time and prune blobs by hour"
mkdir -p "$TMP/hours/y=2026/m=11/d=02/h=09/m=00" "$TMP/hours/y=2026/m=11/d=02/h=20/m=00"
cp "$TMP/good.json" "$TMP/hours/y=2026/m=11/d=02/h=09/m=00/PT1H.json"
cp "$TMP/good.json" "$TMP/hours/y=2026/m=11/d=02/h=20/m=00/PT1H.json"
(cd "$TMP/hours" && zip -qr ../hours.zip .)
run "fl-extract --stats --since 2026-11-02T09:00:30Z --until 2026-11-02T09:01:01Z '$TMP/hours.zip' | fl-cat --csv --no-header --fields time"
assert_eq "2026-11-02T09:01:00.000Z" "$out" "since inclusive, until exclusive"
assert_match 'hours\.zip +1 +3 +1 +0 +1 +0 +0$' "$err" "1 member read, 1 pruned"
run "fl-extract --since yesterday '$TMP/good.json'"
assert_eq 2 "$rc" "bad time is a usage error"

t "-o refuses to overwrite without --force"
: > "$TMP/exists.flt"
run "fl-extract -o '$TMP/exists.flt' '$TMP/good.json'"
assert_eq 2 "$rc" "refused"
assert_match 'exists; use --force' "$err" "says why"
run "fl-extract -f -o '$TMP/exists.flt' '$TMP/good.json' && fl-cat '$TMP/exists.flt' | wc -l"
assert_eq 6 "$(echo $out)" "overwritten with --force"

t "--hash records the member's SHA-256"
run "fl-extract --hash '$TMP/good.json' | fl-cat --csv --no-header --fields sha256 | sort -u"
assert_eq "$(sha256sum "$TMP/good.json" | cut -d' ' -f1)" "$out" "sha256"

t "usage errors"
run "fl-extract"
assert_eq 2 "$rc" "no input"
run "fl-extract --no-such-option x"
assert_eq 2 "$rc" "unknown option"
run "fl-extract '$TMP/does-not-exist' > /dev/null"
assert_eq 1 "$rc" "missing input is damage, not fatal"
assert_match "does-not-exist: No such file or directory" "$err" "named"

t "an interrupted run leaves no temporary file behind"
mkdir -p "$TMP/intr"
mkfifo "$TMP/intr/fifo"
fl-extract -o "$TMP/intr/out.flt" "$TMP/intr/fifo" 2>/dev/null &
pid=$!
exec 9>"$TMP/intr/fifo"   # opening the FIFO waits until fl-extract has opened it
printf '{"records":[' >&9
i=0; while [ $i -lt 50 ] && [ -z "$(ls "$TMP/intr" | grep tmp)" ]; do sleep 0.1; i=$((i + 1)); done
assert_match 'out\.flt\.tmp' "$(ls "$TMP/intr")" "a temporary exists while running"
kill -TERM $pid; wait $pid 2>/dev/null
exec 9>&-
assert_eq "fifo" "$(ls "$TMP/intr")" "gone after SIGTERM"

t "parallel parsing gives the same stream, counts and messages as one thread"
mkdir -p "$TMP/par/a" "$TMP/par/b"
cp "$TMP/good.json" "$TMP/par/a/1.json"; cp "$TMP/noclose.json" "$TMP/par/a/2.json"
cp "$TMP/badtuple.json" "$TMP/par/b/3.json"; cp "$TMP/t.zip" "$TMP/par/b/4.zip"
cp "$TMP/good.json" "$TMP/par/b/5.json"; cp "$TMP/tree/README.md" "$TMP/par/b/6.md"
cp "$TMP/tree/diag.json" "$TMP/par/b/7.json"; cp "$TMP/seam.json" "$TMP/par/b/8.json"
for j in 1 3; do
	fl-extract --stats --hash --jobs $j "$TMP/par" "$TMP/early.json" 2> "$TMP/par-err$j" |
		fl-cat --csv --provenance --fields time,src,dport,sha256,member,ordinal,rule > "$TMP/par-out$j"
	echo "exit $?" >> "$TMP/par-err$j"
done
assert_file_eq "$TMP/par-out1" "$TMP/par-out3"
assert_file_eq "$TMP/par-err1" "$TMP/par-err3"
assert_match 'dropped [0-9]+ duplicate records' "$(cat "$TMP/par-err3")" "duplicates decided in file order"
run "fl-extract --jobs 0 '$TMP/good.json'"
assert_eq 2 "$rc" "bad --jobs"

t "names from the input cannot drive the terminal through messages"
evil=$(printf 'evil\033]0;pwned\007\nfl-extract: fake.json')
printf 'not json' > "$TMP/$evil"
run "fl-extract '$TMP/evil'* > /dev/null"
assert_match 'evil\\x1b\]0;pwned\\x07\\x0afl-extract: fake\.json: skipped' "$err" "escaped, one line"
assert_eq 1 "$(printf '%s\n' "$err" | grep -c 'skipped')" "no forged line"

t "usage: an empty -o, options after the files, impossible dates"
run "fl-extract -o '' '$TMP/good.json'"
assert_eq 2 "$rc" "empty output name"
run "fl-extract '$TMP/good.json' --stats > /dev/null"
assert_eq 0 "$rc" "an option after the files is an option"
assert_match 'members +records' "$err" "--stats applied"
run "fl-extract --since 2026-02-30 '$TMP/good.json'"
assert_eq 2 "$rc" "February 30th"
run "fl-extract --since 2026-11-02T10:00:00+25:00 '$TMP/good.json'"
assert_eq 2 "$rc" "offset of 25 hours"
