# fl-graph: golden edges against the generator's ground truth, spill,
# merge of split aggregates, applications, formats, errors.

fl-extract --quiet "$EXAMPLES/export.zip" > "$TMP/ex.flt"

t "golden: the example export's edges equal its ground truth"
fl-graph --format csv "$TMP/ex.flt" > "$TMP/ex-edges.csv"
assert_file_eq "$EXAMPLES/export-truth.csv" "$TMP/ex-edges.csv"

t "golden: a window in the middle, NSG and VNet observers, IPv6, both ends"
"$GEN" --out "$TMP/gw" --seed 7 --subs 3 --vms 16 --hours 4 --rate 0.4 --nsg-share 0.3 --ipv6 \
	--truth "$TMP/gw-truth.csv" --truth-since 2026-11-02T01:30:00Z --truth-until 2026-11-02T03:00:00Z 2>/dev/null
fl-extract --quiet "$TMP/gw" | fl-window --since 2026-11-02T01:30:00Z --until 2026-11-02T03:00:00Z \
	| fl-graph --format csv > "$TMP/gw-edges.csv"
assert_file_eq "$TMP/gw-truth.csv" "$TMP/gw-edges.csv"
assert_match ',2$' "$(cat "$TMP/gw-edges.csv")" "edges seen from both ends exist"
assert_match '^[0-9a-f:]+:[0-9a-f:]*,' "$(cat "$TMP/gw-edges.csv")" "IPv6 edges exist"
# connections that straddle the window start: C/E in the window, B before it
fl-extract --quiet "$TMP/gw" | fl-window --since 2026-11-02T01:30:00Z --until 2026-11-02T03:00:00Z \
	| fl-cat --csv --no-header --fields src,dst,sport,dport,state > "$TMP/gw-tuples.csv"
straddle=$(awk -F, '{ k = $1 "," $2 "," $3 "," $4 } $5 == "B" { b[k] = 1 } $5 == "C" || $5 == "E" { ce[k] = 1 }
	END { for (k in ce) if (!(k in b)) n++; print n + 0 }' "$TMP/gw-tuples.csv")
assert_match '^[1-9][0-9]*$' "$straddle" "5-tuples without B in the window"

t "a tiny memory cap spills and gives byte-identical output"
fl-graph --format csv --max-memory 16K "$TMP/ex.flt" > "$TMP/spilled.csv"
assert_file_eq "$TMP/ex-edges.csv" "$TMP/spilled.csv"
fl-graph --format json --max-memory 16K "$TMP/ex.flt" > "$TMP/spilled.json"
fl-graph --format json "$TMP/ex.flt" > "$TMP/ex.json"
assert_file_eq "$TMP/ex.json" "$TMP/spilled.json"

t "aggregates of a split input merge to the one-pass result"
fl-window --until 2026-11-02T01:17:00Z "$TMP/ex.flt" | fl-graph --format flt > "$TMP/a.agg"
fl-window --since 2026-11-02T01:17:00Z "$TMP/ex.flt" | fl-graph --format flt > "$TMP/b.agg"
fl-graph --merge --format csv "$TMP/a.agg" "$TMP/b.agg" > "$TMP/merged.csv"
assert_file_eq "$TMP/ex-edges.csv" "$TMP/merged.csv"
cat "$TMP/b.agg" "$TMP/a.agg" | fl-graph --merge --format csv > "$TMP/merged2.csv"
assert_file_eq "$TMP/ex-edges.csv" "$TMP/merged2.csv"
run "fl-graph --format csv '$TMP/a.agg'"
assert_eq 2 "$rc" "an aggregate needs --merge"
run "fl-graph --merge '$TMP/ex.flt'"
assert_eq 2 "$rc" "--merge needs aggregates"

t "tools that need tuples refuse an aggregate, even after a tuple segment"
for cmd in "fl-window" "fl-window --since 0" "fl-geo --classify-only" "fl-join-subs -i '$EXAMPLES/inventory'" "fl-anomaly"; do
	run "cat '$TMP/ex.flt' '$TMP/a.agg' | $cmd > /dev/null"
	tool=${cmd%% *}
	assert_eq 2 "$rc" "$cmd: exit 2"
	assert_match "^$tool: standard input: an aggregate stream \(fl-graph --format flt\): $tool needs the tuples" "$err" "$cmd: message"
done

# A small estate: two applications that share a DNS server and a monitoring
# poller; web tiers reached from the internet.
grec() { # TIME MAC TUPLE...
	_t=$1 _m=$2; shift 2
	_tu=$(printf '"%s",' "$@"); _tu=${_tu%,}
	printf '{"time":"%s","macAddress":"%s","category":"FlowLogFlowEvent","flowLogResourceID":"/X","flowLogVersion":4,"flowRecords":{"flows":[{"aclID":"a","flowGroups":[{"rule":"r","flowTuples":[%s]}]}]}}' "$_t" "$_m" "$_tu"
}
T=1793610000000
{
	printf '{"records":['
	grec 2026-11-02T09:01:00Z 000000000001 \
		"$T,10.1.0.4,10.1.0.5,40000,8080,6,O,B,NX,0,0,0,0" "$((T+10)),10.1.0.4,10.1.0.5,40000,8080,6,O,E,NX,3,300,3,900" \
		"$T,10.1.0.4,10.0.0.53,40001,53,17,O,B,NX,0,0,0,0" "$((T+10)),10.1.0.4,10.0.0.53,40001,53,17,O,E,NX,1,60,1,120" \
		"$T,198.51.100.7,10.1.0.4,50000,443,6,I,B,NX,0,0,0,0" "$((T+10)),198.51.100.7,10.1.0.4,50000,443,6,I,E,NX,9,900,9,9000"
	printf ','
	grec 2026-11-02T09:01:00Z 000000000002 \
		"$T,10.2.0.4,10.2.0.5,40000,5432,6,O,B,NX,0,0,0,0" "$((T+10)),10.2.0.4,10.2.0.5,40000,5432,6,O,E,NX,3,300,3,900" \
		"$T,10.2.0.4,10.0.0.53,40002,53,17,O,B,NX,0,0,0,0" "$((T+10)),10.2.0.4,10.0.0.53,40002,53,17,O,E,NX,1,60,1,120" \
		"$T,10.0.0.9,10.1.0.5,40003,9100,6,I,B,NX,0,0,0,0" "$T,10.0.0.9,10.2.0.5,40003,9100,6,I,B,NX,0,0,0,0"
	printf ']}'
} > "$TMP/estate.json"
fl-extract "$TMP/estate.json" > "$TMP/estate.flt" 2>/dev/null

t "shared DNS and a monitoring poller do not merge applications"
run "fl-graph --apps '$TMP/estate.flt'"
assert_match '^app-2 +2 +1 +1 +0 ' "$out" "an application of two members, one internal edge, one public peer"
assert_match '^ +10\.1\.0\.4 10\.1\.0\.5$' "$out" "its members"
assert_match '^ +10\.2\.0\.4 10\.2\.0\.5$' "$out" "second application apart"
assert_match '^shared-1 ' "$out" "DNS server is a shared service"
assert_match '^ +10\.0\.0\.53$' "$out" "the DNS server"
assert_match '443/tcp:1' "$out" "exposure of the web tier"
run "fl-graph --apps --shared-port 1 '$TMP/estate.flt'"
assert_match '10\.0\.0\.9 10\.0\.0\.53 10\.1\.0\.4 10\.1\.0\.5 10\.2\.0\.4 10\.2\.0\.5' "$out" "without shared ports, one component"
run "fl-graph --apps --hub-fan-in 2 --shared-port 1 '$TMP/estate.flt'"
assert_no_match '10\.0\.0\.9 10\.0\.0\.53' "$out" "a hub by fan-in splits it again"

t "--by app collapses members into their application"
run "fl-graph --by app --format csv '$TMP/estate.flt'"
assert_match '^app-2,app-2,8080,6,1,' "$out" "internal edge of app-2"
assert_match '^198\.51\.100\.7,app-2,443,6,1,' "$out" "exposure edge"

t "dot: dotted traffic edges, clusters, labels; it renders"
fl-graph "$TMP/estate.flt" > "$TMP/estate.dot"
assert_eq "$(grep -c -- ' -> ' "$TMP/estate.dot")" "$(grep -c -- ' -> .*style=dotted' "$TMP/estate.dot")" "every edge dotted"
assert_match 'label="tcp/443 · 9\.9 kB · 1 conn"' "$(cat "$TMP/estate.dot")" "edge label"
assert_match 'label="external"' "$(cat "$TMP/estate.dot")" "external cluster"
if command -v dot >/dev/null; then
	dot -Tsvg "$TMP/estate.dot" > "$TMP/estate.svg" 2>"$TMP/dot.err"
	assert_eq 0 $? "dot -Tsvg"
	assert_match '<svg' "$(head -c 2000 "$TMP/estate.svg")" "an SVG"
else
	skip "graphviz absent"
fi

t "json: nodes, edges, applications"
run "fl-graph --format json '$TMP/estate.flt' | jq -c '[(.nodes|length), (.edges|length), (.applications|map(.name))]'"
assert_eq '[7,7,["app-1","shared-1","app-2","app-3"]]' "$out" "counts and names"

t "filters: --top, --min-bytes, --proto, --port"
run "fl-graph --format csv --top 1 '$TMP/estate.flt' | tail -n +2 | cut -d, -f1-3"
assert_eq "198.51.100.7,10.1.0.4,443" "$out" "top edge by bytes"
run "fl-graph --format csv --proto udp '$TMP/estate.flt' | tail -n +2 | cut -d, -f3 | sort -u"
assert_eq "53" "$out" "udp only"
run "fl-graph --format csv --port 9100,5432 --min-bytes 1 '$TMP/estate.flt' | tail -n +2 | cut -d, -f1-3"
assert_eq "10.2.0.4,10.2.0.5,5432" "$out" "ports and bytes"

t "--by mac and --external prefix24"
run "fl-graph --format csv --by mac --external prefix24 '$TMP/estate.flt' | tail -n +2 | cut -d, -f1-3"
assert_match '^198\.51\.100\.0/24,000000000001,443$' "$out" "public /24 to the NIC's MAC"
run "fl-graph --by subnet '$TMP/estate.flt'"
assert_eq 2 "$rc" "needs annotations"
assert_match 'no src_subnet/dst_subnet columns' "$err" "says which"

t "a tuple at 08:59:49 in the h=09 blob belongs to a window ending at 09:00"
mkdir -p "$TMP/h9/y=2026/m=11/d=02/h=09/m=00"
T9=$(( 1793610000000 - 11000 ))
printf '{"records":[%s]}' "$(grec 2026-11-02T09:00:20Z 000000000001 "$T9,10.1.0.4,10.1.0.5,1,22,6,O,B,NX,0,0,0,0" "$((T9+11000)),10.1.0.4,10.1.0.6,1,22,6,O,B,NX,0,0,0,0")" \
	> "$TMP/h9/y=2026/m=11/d=02/h=09/m=00/PT1H.json"
run "fl-extract --quiet '$TMP/h9' | fl-window --since 2026-11-02T08:00:00Z --until 2026-11-02T09:00:00Z | fl-graph --format csv | tail -n +2 | cut -d, -f1,2,5,13"
assert_eq "10.1.0.4,10.1.0.5,1,2026-11-02T08:59:49.000Z" "$out" "by tuple time"

t "damaged stream: exit 3 naming the block"
head -c 300 "$TMP/ex.flt" > "$TMP/cut.flt"
run "fl-graph '$TMP/cut.flt'"
assert_eq 3 "$rc" "truncated"
assert_match 'block' "$err" "block named"

t "--stats says what the aggregation held"
run "fl-graph --stats --format csv '$TMP/estate.flt' > /dev/null"
assert_match '^tuples +12$' "$err" "tuples read"
assert_match '^edges +7 \(' "$err" "edges"
run "fl-graph --stats --max-memory 1K --format csv '$TMP/ex.flt' > /dev/null"
assert_match 'connection keys .* [1-9][0-9]* spill runs' "$err" "spill runs counted under a tiny cap"
run "fl-graph --stats --format flt '$TMP/estate.flt' > /dev/null"
assert_match '^tuples +12$' "$err" "--format flt: tuples read"
assert_match '^connection keys +[1-9]' "$err" "--format flt: connections written"
assert_no_match '^edges' "$err" "--format flt: no edges are made"

t "merging aggregates made with other filters is said"
fl-graph --format flt --port 22 "$TMP/ex.flt" > "$TMP/p22.agg"
run "fl-graph --merge --format csv '$TMP/a.agg' '$TMP/p22.agg' > /dev/null"
assert_eq 0 "$rc" "exit 0: it may be meant"
assert_match "p22\.agg: made with other filters \(proto=any ports=22\) than the first aggregate \(proto=any ports=any\)" "$err" "said"
run "fl-graph --merge --format csv '$TMP/a.agg' '$TMP/b.agg' > /dev/null"
assert_eq "" "$err" "the same filters: nothing to say"

t "an aggregate keeps no annotations: grouping by them is refused, by the others works"
run "fl-graph --merge --by subnet '$TMP/a.agg'"
assert_eq 2 "$rc" "--merge --by subnet"
assert_match "^fl-graph: --by subnet needs the tuples' annotations, which an aggregate" "$err" "says why"
run "fl-graph --format flt --external country '$TMP/ex.flt'"
assert_eq 2 "$rc" "--format flt --external country"
run "fl-graph --merge --by mac --external prefix24 --format csv '$TMP/a.agg' '$TMP/b.agg' > '$TMP/mac-merged.csv'"
assert_eq 0 "$rc" "--merge --by mac --external prefix24"
fl-graph --by mac --external prefix24 --format csv "$TMP/ex.flt" > "$TMP/mac-one.csv"
assert_file_eq "$TMP/mac-one.csv" "$TMP/mac-merged.csv"
