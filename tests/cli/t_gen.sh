# fl-gen: the generator the other tests, the demo and the benchmarks rely on.

# tuples of a VNet export, one per line, prefixed with the blob's path
gen_tuples() {
	find "$1" -name PT1H.json -path '*insights-logs-flowlogflowevent*' -exec \
		jq -r 'input_filename as $f | .records[].flowRecords.flows[].flowGroups[].flowTuples[] | $f + " " + .' {} +
}

if [ ! -x "$GEN" ]; then
	t "fl-gen is built"
	fail "no fl-gen at $GEN"
else

GA="$TMP/gen-a" GB="$TMP/gen-b"
"$GEN" --out "$GA" --seed 42 --vms 10 --hours 2 --nsg-share 0.3 --truth "$TMP/gen-a.csv" 2>"$TMP/gen-a.err"
"$GEN" --out "$GB" --seed 42 --vms 10 --hours 2 --nsg-share 0.3 --truth "$TMP/gen-b.csv" 2>/dev/null

t "same seed and options: byte-identical tree and truth"
run "diff -r '$GA' '$GB' && cmp '$TMP/gen-a.csv' '$TMP/gen-b.csv' && echo same"
assert_eq same "$out" "second run"
run "'$GEN' --out '$TMP/gen-c' --seed 43 --vms 10 --hours 2 --nsg-share 0.3 2>/dev/null; diff -rq '$GA' '$TMP/gen-c' >/dev/null || echo differ"
assert_eq differ "$out" "another seed"

t "summary line on stderr"
assert_match '^fl-gen: [0-9]+ files, [0-9]+ records, [0-9]+ tuples, [0-9]+ bytes' "$(cat "$TMP/gen-a.err")" "summary"

t "blob paths in the real short form (VNet) and the NSG form"
run "cd '$GA' && find . -type f | sed 's|^\./||' | grep -Ev '^insights-logs-flowlogflowevent/flowLogResourceID=/[0-9A-F]{8}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{12}_NETWORKWATCHERRG/NETWORKWATCHER_[A-Z0-9]+_[A-Z0-9-]+-FLOWLOG/y=2026/m=11/d=02/h=0[01]/m=00/macAddress=[0-9A-F]{12}/PT1H\.json\$' | grep -Ev '^insights-logs-networksecuritygroupflowevent/resourceId=/SUBSCRIPTIONS/[0-9A-F-]{36}/RESOURCEGROUPS/[A-Z0-9-]+/PROVIDERS/MICROSOFT\.NETWORK/NETWORKSECURITYGROUPS/[A-Z0-9-]+/y=2026/m=11/d=02/h=0[01]/m=00/macAddress=[0-9A-F]{12}/PT1H\.json\$'"
assert_eq "" "$out" "paths not in either form"
run "find '$GA' -name PT1H.json | grep -c networksecuritygroupflowevent"
assert_match '^[1-9]' "$out" "some NICs logged as NSG flow logs"
run "'$GEN' --out '$TMP/gen-long' --vms 5 --subs 1 --hours 1 --long-paths 2>/dev/null; cd '$TMP/gen-long' && find . -type f | head -n 1"
assert_match '^\./insights-logs-flowlogflowevent/flowLogResourceID=/SUBSCRIPTIONS/[0-9A-F-]{36}/RESOURCEGROUPS/NETWORKWATCHERRG/PROVIDERS/MICROSOFT\.NETWORK/NETWORKWATCHERS/NETWORKWATCHER_[A-Z0-9]+/FLOWLOGS/[A-Z0-9-]+/y=2026/m=11/d=02/h=00/m=00/macAddress=[0-9A-F]{12}/PT1H\.json$' "$out" "--long-paths"

t "every blob is valid compact JSON framed like Azure's block blobs"
bad=0
for f in $(find "$GA" -name PT1H.json); do
	jq empty "$f" 2>/dev/null || bad=$((bad + 1))
	[ "$(head -c 12 "$f")" = '{"records":[' ] && [ "$(tail -c 2 "$f")" = ']}' ] || bad=$((bad + 1))
done
assert_eq 0 "$bad" "invalid or badly framed blobs"
run "find '$GA' -name PT1H.json -path '*flowlogflowevent*' -exec jq -c '.records[0] | keys_unsorted' {} + | sort -u"
assert_eq '["time","flowLogGUID","macAddress","category","flowLogResourceID","targetResourceID","flowLogVersion","operationName","flowRecords"]' "$out" "VNet record keys in the real order"
find "$GA" -name PT1H.json -path '*networksecuritygroupflowevent*' -exec \
	jq -r '.records[].properties | (.Version | tostring) + " " + .flows[].flows[].flowTuples[]' {} + > "$TMP/gen-nsg.tuples"
run "cut -d' ' -f1 '$TMP/gen-nsg.tuples' | sort -u"
assert_eq 2 "$out" "NSG records are Version 2"
out=$(cut -d' ' -f2 "$TMP/gen-nsg.tuples" |
	awk -F, '($6 != "T" && $6 != "U") || $8 !~ /^[AD]$/ || length($1) != 10 || ($9 == "B" && $0 !~ /,,,,$/)' | head -n 3)
assert_eq "" "$out" "NSG tuples: seconds, T/U, A/D, Begin with empty counters"

t "truth CSV header"
run "head -n 1 '$TMP/gen-a.csv'"
assert_eq "src,dst,dport,proto,flows,packets,bytes,packets_sd,bytes_sd,packets_ds,bytes_ds,denied,first_seen,last_seen,observers" "$out" "header"
run "sed 1d '$TMP/gen-a.csv' | grep -Evc '^[0-9a-f.:]+,[0-9a-f.:]+,[0-9]+,(6|17),([0-9]+,){8}20[0-9]{2}-[0-9]{2}-[0-9]{2}T[0-9:]{8}\.[0-9]{3}Z,20[0-9]{2}-[0-9]{2}-[0-9]{2}T[0-9:]{8}\.[0-9]{3}Z,[1-9][0-9]*\$'"
assert_eq 0 "$out" "malformed truth rows"

# a plain VNet export for the tuple-level checks
GV="$TMP/gen-v"
"$GEN" --out "$GV" --seed 5 --vms 8 --subs 2 --hours 2 --truth "$TMP/gen-v.csv" 2>/dev/null
gen_tuples "$GV" > "$TMP/gen-v.tuples"

t "a flow between two monitored NICs is logged O by one and I by the other, same counters"
# key: src,dst,sport,dport,proto,state,counters (direction and time dropped)
awk '{ split($2, f, ","); k = f[2] "," f[3] "," f[4] "," f[5] "," f[6] "," f[8] "," f[10] "," f[11] "," f[12] "," f[13];
       if (f[8] == "E") { if (f[7] == "O") o[k] = $1; else i[k] = $1 } }
     END { n = 0; for (k in o) if ((k in i) && i[k] != o[k]) n++; print n }' "$TMP/gen-v.tuples" > "$TMP/gen-pairs"
assert_match '^[1-9][0-9]*$' "$(cat "$TMP/gen-pairs")" "E tuples seen as O and I in two blobs"

t "tuples of a flow in later hours: a C or E in h=01 whose B is in h=00"
run "awk '{ split(\$2, f, \",\"); k = f[2] \",\" f[3] \",\" f[4] \",\" f[5] \",\" f[7];
      if (f[8] == \"B\" && \$1 ~ /h=00/) b[k] = 1; else if (f[8] != \"B\" && \$1 ~ /h=01/ && (k in b)) n++ }
      END { print n + 0 }' '$TMP/gen-v.tuples'"
assert_match '^[1-9]' "$out" "flows straddling the hour"

t "denied attempts are D tuples with zero counters, retried from the same port"
run "grep -c ',I,D,NX,0,0,0,0\$' '$TMP/gen-v.tuples'"
assert_match '^[1-9]' "$out" "D tuples"
run "grep ',I,D,' '$TMP/gen-v.tuples' | cut -d, -f2-5 | sort | uniq -d | head -n 1"
assert_match '^[0-9.]+,' "$out" "a retried denied attempt"

t "B..C..E life cycle: the deltas of one edge add up to its truth row"
# the internal edge with the most C tuples, seen from its initiator (O)
edge=$(awk '{ split($2, f, ","); if (f[8] == "C" && f[7] == "O") print f[2] "," f[3] "," f[5] "," f[6] }' "$TMP/gen-v.tuples" |
	sort | uniq -c | sort -k1,1nr -k2 | head -n 1 | awk '{ print $2 }')
assert_match '^10\.' "$edge" "an internal edge with C tuples"
sums=$(awk -v e="$edge" '{ split($2, f, ","); if (f[2] "," f[3] "," f[5] "," f[6] != e || f[7] != "O") next;
	if (f[8] == "B" && f[10] f[11] f[12] f[13] != "0000") bad++;
	if (f[8] == "C" || f[8] == "E") { p += f[10] + f[12]; b += f[11] + f[13] } }
	END { print p + 0 "," b + 0 "," bad + 0 }' "$TMP/gen-v.tuples")
row=$(grep "^$edge," "$TMP/gen-v.csv" | cut -d, -f6,7)
assert_eq "$row,0" "$sums" "packets,bytes of $edge from the JSON vs the truth"
run "grep '^$edge,' '$TMP/gen-v.csv' | cut -d, -f15"
assert_eq 2 "$out" "both ends observed the edge"

t "--ipv6 and --encryption-mix: compressed IPv6 tuples, the documented values and one more"
"$GEN" --out "$TMP/gen-6" --seed 9 --vms 10 --hours 1 --ipv6 --encryption-mix --truth "$TMP/gen-6.csv" 2>/dev/null
gen_tuples "$TMP/gen-6" | cut -d' ' -f2 > "$TMP/gen-6.tuples"
run "cut -d, -f2 '$TMP/gen-6.tuples' | grep -c '::'"
assert_match '^[1-9]' "$out" "IPv6 addresses in compressed spelling"
run "cut -d, -f2,3 '$TMP/gen-6.tuples' | tr , '\\n' | grep ':' | grep -Ec '(^|:)0[0-9a-f]|:0:0:|[A-F]'"
assert_eq 0 "$out" "no leading zeros, no uncompressed zero runs, lower case"
run "cut -d, -f9 '$TMP/gen-6.tuples' | sort -u | tr '\\n' ' '"
assert_match '^NX NX_[A-Z_]+ .*X $' "$out" "encryption values"
run "grep -c ':' '$TMP/gen-6.csv'"
assert_match '^[1-9]' "$out" "IPv6 edges in the truth"

t "--single writes one blob of about --size bytes"
run "'$GEN' --single '$TMP/one.json' --size 2M"
assert_eq 0 "$rc" "exit"
size=$(wc -c < "$TMP/one.json")
assert_match '^(1[5-9]|2[0-9])[0-9]{5}$' "$size" "size near 2 MiB"
run "jq -r '[.records[].macAddress] | unique | length' '$TMP/one.json'"
assert_eq 1 "$out" "one NIC"

t "options are validated: exit 2 and a clear message"
run "'$GEN' --out '$TMP/x' --hours 0"
assert_eq 2 "$rc" "--hours 0"
assert_match "invalid value '0' for --hours" "$err" "message"
run "'$GEN' --out '$TMP/x' --rate fast"
assert_eq 2 "$rc" "--rate fast"
run "'$GEN' --out '$TMP/x' --size 12Q"
assert_eq 2 "$rc" "--size 12Q"
run "'$GEN' --out '$TMP/x' --size 1M --rate 2"
assert_eq 2 "$rc" "--size with --rate"
run "'$GEN'"
assert_eq 2 "$rc" "no output"
run "'$GEN' --out '$GA'"
assert_eq 2 "$rc" "non-empty directory"
assert_match "not empty" "$err" "message"
run "'$GEN' --help"
assert_eq 0 "$rc" "--help"
assert_match '--nsg-share' "$out" "help lists options"

fi
