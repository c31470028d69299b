# fl-geo: classes, both database schemas, IPv4 through IPv6 databases,
# service tags from Microsoft's file, the cache, damaged databases, discovery.

GEOFX=$TMP/geo-fx
TAGS=${SHARED_DATA:-$top/../shared/data}/ServiceTags_Public_20240506.json
# grec TUPLE... : one VNet record; gtu SRC DST DPORT : a tuple
grec() {
	_tu=$(printf '"%s",' "$@"); _tu=${_tu%,}
	printf '{"time":"2026-11-02T09:01:00Z","macAddress":"000D3A000001","category":"FlowLogFlowEvent","flowLogResourceID":"/SUBSCRIPTIONS/S/FLOWLOGS/FL1","targetResourceID":"/subscriptions/s/vnet1","flowLogVersion":4,"flowRecords":{"flows":[{"aclID":"a","flowGroups":[{"rule":"R","flowTuples":[%s]}]}]}}' "$_tu"
}
gtu() { printf '1793610000000,%s,%s,40000,%s,6,O,B,NX,0,0,0,0' "$1" "$2" "$3"; }

if ! perl -MMaxMind::DB::Writer::Tree -e1 2>/dev/null; then
	t "fl-geo fixtures"
	skip "MaxMind::DB::Writer is not installed (apt-get install libmaxmind-db-writer-perl)"
else
mkdir -p "$GEOFX"
perl "$top/tests/data/make-mmdb.pl" "$GEOFX"
printf '{"records":[%s]}' "$(grec \
	"$(gtu 81.2.69.160 10.0.0.4 1)" "$(gtu 10.0.0.4 168.63.129.16 2)" \
	"$(gtu 2a02:ff0::1 10.0.0.4 3)" "$(gtu 10.0.0.4 13.69.40.20 4)" \
	"$(gtu 10.0.0.4 20.60.123.7 5)" "$(gtu 10.0.0.4 2603:1020:207::5 6)" \
	"$(gtu 1.1.1.1 10.0.0.4 7)" "$(gtu 8.8.8.8 10.0.0.4 8)" \
	"$(gtu ::ffff:81.2.69.1 10.0.0.4 9)" "$(gtu 100.64.1.1 169.254.169.254 10)" \
	"$(gtu 192.0.2.1 224.0.0.5 11)" "$(gtu 127.0.0.1 fe80::1 12)" \
	"$(gtu 2001:db8::1 fd00::1 13)" "$(gtu 168.61.129.10 13.69.1.1 14)" \
	"$(gtu 198.18.0.1 8.8.8.8 15)")" > "$TMP/geo.json"
fl-extract "$TMP/geo.json" > "$TMP/geo.flt" 2>/dev/null
# row DPORT FIELDS OPTIONS... : fl-cat's CSV row of the tuple with that port
row() {
	_p=$1 _f=$2; shift 2
	run "fl-geo $* '$TMP/geo.flt' | fl-cat --csv --no-header --fields dport,$_f | sed -n 's/^$_p,//p'"
}

t "classes without a database (--classify-only)"
run "fl-geo --classify-only '$TMP/geo.flt' | fl-cat --csv --no-header --fields dport,src_class,dst_class"
assert_eq 0 "$rc" "exit"
assert_eq "1,public,private
2,private,azure-platform
3,public,private
4,private,public
5,private,public
6,private,public
7,public,private
8,public,private
9,public,private
10,shared,azure-platform
11,documentation,multicast
12,loopback,link-local
13,documentation,private
14,public,public
15,public,public" "$out" "classes"
assert_eq "" "$(fl-geo --classify-only "$TMP/geo.flt" | fl-cat --csv --no-header --fields src_country,dst_country,src_asn,dst_asn,src_service_tag | tr -d ',\n')" "nothing else"

t "MaxMind schema: City + ASN databases together, IPv4 in an IPv6 database"
F=src_country,src_city,src_asn,src_asorg
row 1 $F --db "$GEOFX/mm-city.mmdb" --db "$GEOFX/mm-asn.mmdb"
assert_eq 'GB,London,20712,Andrews & Arnold Ltd' "$out" "81.2.69.160"
row 3 $F --db "$GEOFX/mm-city.mmdb" --db "$GEOFX/mm-asn.mmdb"
assert_eq 'SE,Stockholm,29518,Bredband2 AB' "$out" "IPv6 2a02:ff0::1"
row 9 src,$F --db "$GEOFX/mm-city.mmdb" --db "$GEOFX/mm-asn.mmdb"
assert_eq '81.2.69.1,GB,London,20712,Andrews & Arnold Ltd' "$out" "::ffff:81.2.69.1 is 81.2.69.1"
row 7 $F --db "$GEOFX/mm-city.mmdb" --db "$GEOFX/mm-asn.mmdb"
assert_eq 'AU,,,' "$out" "anycast: the registered country"
row 8 $F --db "$GEOFX/mm-city.mmdb" --db "$GEOFX/mm-asn.mmdb"
assert_eq 'US,,15169,GOOGLE' "$out" "no city"
row 6 dst_country,dst_city,dst_asn --db "$GEOFX/mm-city.mmdb" --db "$GEOFX/mm-asn.mmdb"
assert_eq 'NL,Amsterdam,8075' "$out" "IPv6 Azure"

t "private and platform addresses are never looked up"
row 1 dst_class,dst_country,dst_city --db "$GEOFX/mm-city.mmdb"
assert_eq 'private,,' "$out" "10.0.0.4 is in the database as ZZ but private"
row 2 dst_class,dst_country,dst_city --db "$GEOFX/mm-city.mmdb"
assert_eq 'azure-platform,,' "$out" "168.63.129.16 is in the database as ZZ"

t "ip-location-db flat schema: country, ASN, city"
row 1 $F --db "$GEOFX/flat-country.mmdb" --db "$GEOFX/flat-asn.mmdb"
assert_eq 'IE,,64501,Flat Org One' "$out" "IPv4 in the flat IPv6 databases"
row 3 $F --db "$GEOFX/flat-country.mmdb" --db "$GEOFX/flat-asn.mmdb"
assert_eq 'NO,,64503,Flat Org Three' "$out" "IPv6"
row 8 $F --db "$GEOFX/flat-country.mmdb" --db "$GEOFX/flat-asn.mmdb"
assert_eq 'CA,,64502,' "$out" "ASN without organisation"
row 1 $F --db "$GEOFX/flat-city.mmdb"
assert_eq 'FR,Lyon,,' "$out" "flat city"
row 3 $F --db "$GEOFX/flat-country-v4.mmdb"
assert_eq ',,,' "$out" "IPv6 in an IPv4-only database: unknown, no error"
assert_eq 0 "$rc" "exit"
row 1 $F --db "$GEOFX/flat-country-v4.mmdb"
assert_eq 'IE,,,' "$out" "IPv4-only database"

t "several databases: the earlier wins field by field"
row 1 $F --db "$GEOFX/flat-city.mmdb" --db "$GEOFX/mm-city.mmdb" --db "$GEOFX/mm-asn.mmdb"
assert_eq 'FR,Lyon,20712,Andrews & Arnold Ltd' "$out" "flat city first"
row 1 $F --db "$GEOFX/mm-city.mmdb" --db "$GEOFX/flat-city.mmdb" --db "$GEOFX/flat-asn.mmdb" --db "$GEOFX/mm-asn.mmdb"
assert_eq 'GB,London,64501,Flat Org One' "$out" "MaxMind city first, flat ASN before MaxMind ASN"

t "cache: the same results with and without it"
ALL=src,dst,src_class,dst_class,src_country,dst_country,src_city,dst_city,src_asn,dst_asn,src_asorg,dst_asorg
fl-extract "$EXAMPLES/export.zip" 2>/dev/null | tee "$TMP/gex.flt" > /dev/null
cat "$TMP/geo.flt" "$TMP/gex.flt" "$TMP/geo.flt" > "$TMP/gmix.flt"
fl-geo --db "$GEOFX/mm-city.mmdb" --db "$GEOFX/flat-asn.mmdb" "$TMP/gmix.flt" | fl-cat --csv --fields $ALL > "$TMP/gc.csv"
fl-geo --no-cache --db "$GEOFX/mm-city.mmdb" --db "$GEOFX/flat-asn.mmdb" "$TMP/gmix.flt" | fl-cat --csv --fields $ALL > "$TMP/gn.csv"
assert_file_eq "$TMP/gc.csv" "$TMP/gn.csv"
assert_eq 4 "$(grep -c ',GB,' "$TMP/gc.csv")" "annotated rows present"
run "fl-geo --stats --db '$GEOFX/mm-city.mmdb' '$TMP/gmix.flt' > /dev/null"
assert_match '^tuples +'"$(($(wc -l < "$TMP/gc.csv") - 1))"'$' "$err" "tuples counted"
pub=$(fl-geo --classify-only "$TMP/gmix.flt" | fl-cat --csv --no-header --fields src,src_class,dst,dst_class |
	awk -F, '$2 == "public" { print $1 } $4 == "public" { print $3 }' | sort -u | wc -l)
assert_match "^db-reads +$pub\$" "$err" "each public address read from the database once"
run "fl-geo --stats --no-cache --db '$GEOFX/mm-city.mmdb' '$TMP/gmix.flt' > /dev/null"
assert_match '^cached +0$' "$err" "--no-cache"

t "columns: names in fl-cat, re-running overwrites by name"
run "fl-geo --db '$GEOFX/mm-city.mmdb' '$TMP/geo.flt' | fl-cat --list-fields | tail -12 | tr '\n' ' '"
assert_eq "src_class dst_class src_country dst_country src_city dst_city src_asn dst_asn src_asorg dst_asorg src_service_tag dst_service_tag " "$out" "columns"
run "fl-geo --db '$GEOFX/mm-city.mmdb' '$TMP/geo.flt' | fl-cat --csv | head -1"
assert_match ',src_class,dst_class,src_country,dst_country,src_city,dst_city,src_asn,dst_asn,src_asorg,dst_asorg,src_service_tag,dst_service_tag' "$out" "CSV header"
fl-geo --db "$GEOFX/mm-city.mmdb" "$TMP/geo.flt" > "$TMP/g1.flt"
run "fl-geo --db '$GEOFX/flat-country.mmdb' --db '$GEOFX/mm-asn.mmdb' '$TMP/g1.flt' | fl-cat --csv --no-header --fields dport,src_country,src_city,src_asn | sed -n 's/^1,//p'"
assert_eq 'IE,,20712' "$out" "values of the second run, none left from the first"
run "fl-geo --db '$GEOFX/flat-country.mmdb' '$TMP/g1.flt' | fl-cat --list-fields | grep -c _class"
assert_eq 2 "$out" "no duplicated columns"
hdr=$(fl-geo --db "$GEOFX/flat-country.mmdb" "$TMP/g1.flt" | LC_ALL=C tr -c '[:print:]' '\n')
assert_match 'geo-whois-asn-country 20[0-9-]+T[0-9:]+Z flat-country\.mmdb' "$hdr" "provenance: type, build time, file"
assert_no_match 'GeoLite2-City' "$hdr" "the first run's provenance is gone"
assert_match 'GeoLite2-City 20[0-9-]+T[0-9:]+Z mm-city\.mmdb' "$(LC_ALL=C tr -c '[:print:]' '\n' < "$TMP/g1.flt")" "first run's provenance"

t "damaged databases: exit 2, named, no output"
head -c 1500 "$GEOFX/mm-city.mmdb" > "$TMP/gtrunc.mmdb"
printf 'not a database at all\n' > "$TMP/gjunk.mmdb"
# the search tree intact, the data section and metadata kept, bytes in the tree broken
cp "$GEOFX/mm-city.mmdb" "$TMP/gbad.mmdb"
printf '\377\377\377\377\377\377\377\377\377\377\377\377\377\377\377\377\377\377\377\377\377\377\377\377\377\377\377\377\377\377\377\377' |
	dd of="$TMP/gbad.mmdb" bs=1 seek=0 conv=notrunc 2>/dev/null
mkdir -p "$TMP/gout"
for bad in gtrunc gjunk gbad; do
	run "fl-geo --db '$TMP/$bad.mmdb' -o '$TMP/gout/x.flt' '$TMP/geo.flt'"
	assert_eq 2 "$rc" "$bad: exit"
	assert_match "^fl-geo: .*$bad\.mmdb.*(not a usable MaxMind DB|damaged)" "$err" "$bad: message"
	assert_eq "" "$(ls -A "$TMP/gout")" "$bad: no output"
done
run "fl-geo --db '$TMP/no-such.mmdb' '$TMP/geo.flt'"
assert_eq 2 "$rc" "missing database"
assert_match "cannot open '.*no-such\.mmdb': No such file" "$err" "missing: message"

t "discovery: FL_GEO_DB, then the data directory; none is a usage error"
run "FL_GEO_DB='$GEOFX/flat-country.mmdb:$GEOFX/mm-asn.mmdb' fl-geo '$TMP/geo.flt' | fl-cat --csv --no-header --fields dport,src_country,src_asn | sed -n 's/^1,//p'"
assert_eq 'IE,20712' "$out" "FL_GEO_DB, colon-separated"
run "FL_GEO_DB='$GEOFX/flat-country.mmdb' fl-geo --db '$GEOFX/mm-city.mmdb' '$TMP/geo.flt' | fl-cat --csv --no-header --fields dport,src_country | sed -n 's/^1,//p'"
assert_eq 'GB' "$out" "--db wins over FL_GEO_DB"
datadir=$(fl-geo --help | sed -n 's/.*else \(.*\)\/geo\/\*\.mmdb.*/\1/p')
if [ ! -d "$datadir/geo" ] || [ -z "$(ls "$datadir"/geo/*.mmdb 2>/dev/null)" ]; then
	run "FL_GEO_DB= fl-geo '$TMP/geo.flt'"
	assert_eq 2 "$rc" "no database"
	assert_match 'no geolocation database found; looked in --db .*FL_GEO_DB.*/geo/\*\.mmdb' "$err" "where it looked"
	assert_match 'classify-only' "$err" "the way out"
else
	skip "databases installed in $datadir/geo"
fi

t "usage"
run "fl-geo --classify-only --db '$GEOFX/mm-city.mmdb' '$TMP/geo.flt'"
assert_eq 2 "$rc" "--classify-only with --db"
run "fl-geo --classify-only -o '$TMP/gout/x.flt' '$TMP/geo.flt' && fl-geo --classify-only -o '$TMP/gout/x.flt' '$TMP/geo.flt'"
assert_eq 2 "$rc" "existing -o without --force"
run "fl-geo --classify-only --service-tags '$TMP/geo.json' '$TMP/geo.flt'"
assert_eq 2 "$rc" "not a service-tags file"
assert_match 'not an Azure service-tags file' "$err" "says why"
rm -f "$TMP/gout/x.flt"
fi

t "service tags from Microsoft's file"
if [ ! -f "$TAGS" ] || [ ! -f "$TMP/geo.flt" ]; then
	skip "$TAGS is absent"
else
	run "fl-geo --classify-only --service-tags '$TAGS' '$TMP/geo.flt' | fl-cat --csv --no-header --fields dport,src_service_tag,dst_service_tag"
	assert_eq 0 "$rc" "exit"
	tag() { printf '%s\n' "$out" | sed -n "s/^$1,//p"; }
	assert_eq ',Storage.WestEurope' "$(tag 4)" "13.69.40.16/28: Storage and Storage.WestEurope"
	assert_eq ',AzureCloud' "$(tag 5)" "20.60.123.0/24: AzureCloud only"
	assert_eq ',Storage.WestEurope' "$(tag 6)" "IPv6 2603:1020:207::/48"
	assert_eq 'Storage.CentralUS,AzureCloud.westeurope' "$(tag 14)" "four tags on one prefix; a region of AzureCloud"
	assert_eq ',' "$(tag 8)" "8.8.8.8 is not Azure"
	assert_eq ',' "$(tag 2)" "168.63.129.16 is platform, not looked up"
	hdr=$(fl-geo --classify-only --service-tags "$TAGS" "$TMP/geo.flt" | LC_ALL=C tr -c '[:print:]' '\n')
	assert_match 'changeNumber [0-9]+ cloud Public ServiceTags_Public_20240506\.json, 76793 prefixes' "$hdr" "provenance"
	{ printf '\357\273\277'; cat "$TAGS"; } > "$TMP/tags-bom.json"
	fl-geo --classify-only --service-tags "$TMP/tags-bom.json" "$TMP/geo.flt" | fl-cat --csv --no-header --fields dport,src_service_tag,dst_service_tag > "$TMP/tags-bom.csv"
	assert_eq "$out" "$(cat "$TMP/tags-bom.csv")" "the same file saved with a byte-order mark"
fi
