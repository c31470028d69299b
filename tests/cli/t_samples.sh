# Every public sample through `fl-extract FILE | fl-cat --csv`, read in place
# from $SAMPLES (never copied into the project): tuple counts and field values.

# sample_count FILE EXPECTED_TUPLES EXPECTED_EXIT
sample_count() {
	run "fl-extract --quiet '$SAMPLES/$1' | fl-cat --csv --no-header | wc -l"
	assert_eq "$2" "$(echo $out)" "$1 tuples"
	run "fl-extract --quiet '$SAMPLES/$1' > /dev/null"
	assert_eq "$3" "$rc" "$1 exit status"
}

t "samples present"
if ! have_samples; then
	skip "no $SAMPLES: the sample tests are skipped"
else
	t "S1 VNet v4 real"; sample_count vnet-v4-real-canadaeast-chshin9-PT1H.json 76 0
	run "fl-extract '$SAMPLES/vnet-v4-real-canadaeast-chshin9-PT1H.json' | fl-cat --csv"
	assert_match '^time,src,dst,sport,dport,proto,dir,state,action,enc,pkts_sd,bytes_sd,pkts_ds,bytes_ds' "$out" "S1 header"
	assert_match '^2026-08-13T20:33:30\.736Z,10\.0\.5\.4,20\.150\.1\.97,33620,443,6,O,E,A,NX,10,2659,15,15208,vnet,4,DefaultRule_AllowInternetOutBound,/subscriptions/71d310bf-1718-4d11-87d1-99a7d4e2053f/.*,0022486DBA37,' "$out" "S1 E tuple"
	assert_match '^2026-08-13T20:34:16\.424Z,86\.227\.118\.61,10\.0\.5\.4,48857,22195,17,I,D,D,NX,0,0,0,0,' "$out" "S1 UDP deny"
	t "S1 states and protocols"
	assert_eq "5 5 66" "$(printf '%s\n' "$out" | awk -F, 'NR>1 { s[$8]++ } END { print s["B"], s["E"], s["D"] }')" "B E D"
	assert_eq "75 1" "$(printf '%s\n' "$out" | awk -F, 'NR>1 { p[$6]++ } END { print p[6], p[17] }')" "tcp udp"
	t "S1 duplicate tuple kept"
	assert_eq 2 "$(printf '%s\n' "$out" | grep -c '^2026-08-13T20:33:24\.957Z,10\.0\.5\.4,20\.150\.1\.97,33620,443,6,O,B,')" "repeated B tuple"

	t "S2 Cribl envelope"; sample_count vnet-v4-real-cribl-event-jpederson-YkNkNQ.json 0 0
	run "fl-extract '$SAMPLES/vnet-v4-real-cribl-event-jpederson-YkNkNQ.json' > /dev/null"
	assert_match 'skipped: not a flow log' "$err" "S2 named as skipped"

	t "S3 NSG v2, 15 records with one time"; sample_count nsg-v2-real-danifitz-PT1H.json 8203 0
	run "fl-extract '$SAMPLES/nsg-v2-real-danifitz-PT1H.json' | fl-cat --csv --fields state,action,pkts_sd,kind,version"
	assert_eq "5054 3142 7" "$(printf '%s\n' "$out" | awk -F, '$1=="B"&&$2=="A"{b++} $1=="E"&&$2=="A"{e++} $2=="D"{d++} END {print b, e, d}')" "A,B A,E D,B"
	assert_eq 0 "$(printf '%s\n' "$out" | awk -F, '$1=="B" && $3 != ""' | wc -l)" "B tuples unmeasured"
	assert_eq 8203 "$(printf '%s\n' "$out" | grep -c ',nsg,2$')" "kind nsg version 2"

	t "S4 NSG v2 then v1 in one blob"; sample_count nsg-v2-real-abhishekg-PT1H.json 2637 0
	run "fl-extract '$SAMPLES/nsg-v2-real-abhishekg-PT1H.json' | fl-cat --csv --no-header --fields version"
	assert_eq "227 2410" "$(printf '%s\n' "$out" | awk '{v[$1]++} END {print v[2], v[1]}')" "v2 v1 tuples"
	run "fl-extract '$SAMPLES/nsg-v2-real-abhishekg-PT1H.json' | fl-cat --csv --no-header"
	assert_match '^2021-12-13T05:18:53\.000Z,20\.0\.0\.4,20\.150\.38\.228,50125,443,6,O,E,A,,55,4357,437,647481,nsg,2,DefaultRule_AllowInternetOutBound,' "$out" "largest counter"
	assert_match '^2021-12-13T05:21:52\.000Z,20\.0\.0\.4,52\.239\.169\.196,50166,443,6,O,,A,,,,,,nsg,1,' "$out" "v1 tuple without state or counters"

	t "S5 redacted addresses"
	sample_count nsg-v1-real-redacted-kongou-PT1H.jsona 138 1
	run "fl-extract '$SAMPLES/nsg-v1-real-redacted-kongou-PT1H.jsona' > /dev/null"
	assert_eq 7 "$(printf '%s\n' "$err" | grep -c 'bad tuple: bad address: ".*xxx\.xxx\.xxx\.xxx')" "one message per redacted tuple"
	assert_match 'nsg-v1-real-redacted-kongou-PT1H\.jsona: byte [0-9]+: bad tuple' "$err" "file and offset named"

	t "S6"; sample_count nsg-v1-real-msconnector-sampleJsonInput.json 38 0
	t "S7"; sample_count nsg-v1-real-msconnector-sampleOfInputV1.json 1187 0
	t "S8 trailing comma"; sample_count nsg-v2-real-msconnector-AzureNSGFlowLogsv1-INVALID.json 8 1
	run "fl-extract '$SAMPLES/nsg-v2-real-msconnector-AzureNSGFlowLogsv1-INVALID.json' 2>&1 >/dev/null"
	assert_match 'AzureNSGFlowLogsv1-INVALID\.json: byte [0-9]+: JSON syntax error' "$out" "S8 diagnostic"
	run "fl-extract '$SAMPLES/nsg-v2-real-msconnector-AzureNSGFlowLogsv1-INVALID.json' 2>/dev/null | fl-cat --csv --no-header --fields time,src,dst,dport,proto,state,pkts_sd,bytes_ds,rule"
	assert_match '^2020-01-10T16:33:03\.000Z,10\.201\.4\.6,10\.244\.2\.21,80,6,E,4,126,DefaultRule_AllowVnetOutBound$' "$out" "last tuple before the comma kept"
	t "S9 BOM, 3 records of 586 identical tuples"; sample_count nsg-v1-synthetic-sebastus-nsgFlowLogsSample.json 1758 0

	t "all samples at once, provenance"
	run "fl-extract --quiet '$SAMPLES' | fl-cat --csv --provenance --no-header --fields ordinal | wc -l"
	assert_eq $((76 + 8203 + 2637 + 138 + 38 + 1187 + 8 + 1758)) "$(echo $out)" "tuples of the whole folder"
	t "the same folder twice: every record is a duplicate the second time"
	run "fl-extract --quiet '$SAMPLES' '$SAMPLES' | fl-cat --csv --no-header | wc -l"
	assert_eq $((76 + 8203 + 2637 + 138 + 38 + 1187 + 8 + 1758)) "$(echo $out)" "no tuple twice"
	assert_match 'dropped [0-9]+ duplicate records \(14052 tuples\)' "$err" "duplicates reported"
fi
