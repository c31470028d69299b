# fl-cat: formats, fields, escaping of hostile strings, corrupt streams.

hostile() {
	printf '{"records":[{"time":"2026-11-02T09:01:00Z","macAddress":"00-0d-3a-00-00-02","category":"FlowLogFlowEvent","flowLogResourceID":"/SUBSCRIPTIONS/S/x","targetResourceID":"@SUM(1+1)","flowLogVersion":4,"flowRecords":{"flows":[{"aclID":"-2+3","flowGroups":[{"rule":"=HYPERLINK(\\"http://x\\",\\"a,b\\")","flowTuples":["1793610000000,10.0.0.4,10.0.1.5,40000,443,6,O,B,NX,0,0,0,0"]},{"rule":"esc\\u001b[31mred\\\\ \\u00e9 \377\376","flowTuples":["1793610000001,10.0.0.4,10.0.1.5,40001,443,6,O,B,NX,0,0,0,0"]}]}]}}]}'
}
hostile > "$TMP/hostile.json"
fl-extract "$TMP/hostile.json" > "$TMP/hostile.flt" 2>/dev/null

t "CSV neutralises formulas from the input and quotes"
run "fl-cat --csv --no-header --fields rule,acl,target,mac '$TMP/hostile.flt' | head -n 1"
assert_eq "\"'=HYPERLINK(\"\"http://x\"\",\"\"a,b\"\")\",\"'-2+3\",\"'@SUM(1+1)\",000D3A000002" "$out" "csv cells"

t "JSON lines escape control bytes and replace invalid UTF-8"
run "fl-cat --jsonl --fields rule '$TMP/hostile.flt' | sed -n 2p"
assert_eq '{"rule":"esc\u001b[31mred\\ é \ufffd\ufffd"}' "$out" "json"
run "fl-cat --jsonl '$TMP/hostile.flt' | jq -c .sport"
assert_eq "$(printf '40000\n40001')" "$out" "valid JSON for jq"

t "text shows control bytes, never sends them"
run "fl-cat --fields rule '$TMP/hostile.flt' | sed -n 3p"
assert_eq 'esc\x1b[31mred\x5c é \xff\xfe' "$out" "text"

t "--fields order, --list-fields, unknown field"
run "fl-cat --csv --fields dport,src '$TMP/hostile.flt'"
assert_eq "$(printf 'dport,src\n443,10.0.0.4\n443,10.0.0.4')" "$out" "chosen columns"
run "fl-cat --list-fields '$TMP/hostile.flt'"
assert_match '^blob_hour$' "$out" "lists fields"
run "fl-cat --fields nope '$TMP/hostile.flt'"
assert_eq 2 "$rc" "unknown field is a usage error"
assert_match "unknown field 'nope'" "$err" "named"

t "concatenated streams are one stream"
fl-extract "$TMP/hostile.json" > "$TMP/a.flt" 2>/dev/null
run "cat '$TMP/hostile.flt' '$TMP/a.flt' | fl-cat --csv --no-header --fields sport,rule | cut -c1-14"
assert_eq "$(printf '40000,"\047=HYPER\n40001,esc\033[31m\n40000,"\047=HYPER\n40001,esc\033[31m')" "$out" "both segments, their own dictionaries"

t "corrupt and truncated streams: rows before the damage, the block named, exit 3"
size=$(wc -c < "$TMP/hostile.flt")
head -c $((size - 5)) "$TMP/hostile.flt" > "$TMP/trunc.flt"
run "fl-cat '$TMP/trunc.flt'"
assert_eq 3 "$rc" "truncated"
assert_match 'trunc\.flt.*block [0-9]+.*trunc' "$err" "says truncated and where"
cp "$TMP/hostile.flt" "$TMP/flip.flt"
printf 'X' | dd of="$TMP/flip.flt" bs=1 seek=$((size - 60)) conv=notrunc 2>/dev/null
run "fl-cat '$TMP/flip.flt'"
assert_eq 3 "$rc" "flipped byte"
assert_match 'flip\.flt.*block [0-9]+' "$err" "names the block"
printf '{"records":[]}' > "$TMP/notflt"
run "fl-cat '$TMP/notflt'"
assert_eq 3 "$rc" "garbage"
assert_match 'not an FLT stream' "$err" "says what it is not"
run "fl-cat '$TMP/missing.flt'"
assert_eq 1 "$rc" "missing file"

t "concatenated streams whose columns differ: the later columns are announced, not silently lost"
fl-cat --list-fields "$TMP/hostile.flt" > /dev/null
printf 'cidr,label,kind\n10.0.0.0/8,lab,S2S\n' > "$TMP/ranges.csv"
if fl-join-subs -i "$TMP/ranges.csv" "$TMP/a.flt" > "$TMP/ann.flt" 2>/dev/null; then
	run "cat '$TMP/hostile.flt' '$TMP/ann.flt' | fl-cat --csv > /dev/null"
	assert_match "later stream segment has column 'src_tenant'" "$err" "announced"
	run "cat '$TMP/ann.flt' '$TMP/hostile.flt' | fl-cat --csv > /dev/null"
	assert_eq "" "$err" "the first segment's columns are all shown"
else
	skip "fl-join-subs unavailable"
fi
run "fl-cat -F '' '$TMP/hostile.flt'"
assert_eq 2 "$rc" "an empty field list"
