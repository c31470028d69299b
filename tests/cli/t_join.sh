# fl-join-subs: placement through peering, ambiguity, MAC and ID spellings,
# Unicode names, flow logs kept in another subscription, Resource Graph
# against az output, on-premises ranges, the --summary table.

INV="$DATA/inventory"
TA=aaaaaaaa-0000-4000-8000-00000000000a TB=bbbbbbbb-0000-4000-8000-00000000000b
SA1=11111111-1111-4111-8111-111111111111 SA2=22222222-2222-4222-8222-222222222222
SB1=33333333-3333-4333-8333-333333333333 SX=44444444-4444-4444-8444-444444444444
RGHUB='rg-prod-münchen-東京'
TG_HUB="/subscriptions/$SA1/resourceGroups/$RGHUB/providers/Microsoft.Network/virtualNetworks/vnet-hub-a"
TG_SPOKE="/subscriptions/$SA2/resourceGroups/rg-shared/providers/Microsoft.Network/virtualNetworks/vnet-spoke-a"
TG_B="/subscriptions/$SB1/resourceGroups/rg-partner/providers/Microsoft.Network/virtualNetworks/vnet-b"
TG_ISO="/subscriptions/$SA1/resourceGroups/rg-iso/providers/Microsoft.Network/virtualNetworks/vnet-iso-a"
# fll SUB : a flow log resource ID in subscription SUB, upper case as logged
fll() { printf '/SUBSCRIPTIONS/%s/RESOURCEGROUPS/NETWORKWATCHERRG/PROVIDERS/MICROSOFT.NETWORK/NETWORKWATCHERS/NETWORKWATCHER_WESTEUROPE/FLOWLOGS/FL1' "$(echo "$1" | tr a-z A-Z)"; }
# jrec TIME MAC TARGET FLOWLOG TUPLE... : one VNet v4 record (TARGET "" = absent)
jrec() {
	_t=$1 _m=$2 _tg=$3 _fl=$4; shift 4
	_tu=$(printf '"%s",' "$@"); _tu=${_tu%,}
	_tgf=""; [ -n "$_tg" ] && _tgf=$(printf '"targetResourceID":"%s",' "$_tg")
	printf '{"time":"%s","flowLogGUID":"00000000-0000-0000-0000-000000000001","macAddress":"%s","category":"FlowLogFlowEvent","flowLogResourceID":"%s",%s"flowLogVersion":4,"operationName":"FlowLogFlowEvent","flowRecords":{"flows":[{"aclID":"00000000-0000-0000-0000-000000000000","flowGroups":[{"rule":"PlatformRule","flowTuples":[%s]}]}]}}' \
		"$_t" "$_m" "$_fl" "$_tgf" "$_tu"
}
# jflt NAME RECORD... : the records as a blob, extracted to $TMP/NAME.flt
jflt() {
	_n=$1; shift
	_r=$(printf '%s,' "$@"); _r=${_r%,}
	printf '{"records":[%s]}' "$_r" > "$TMP/$_n.json"
	fl-extract --quiet "$TMP/$_n.json" > "$TMP/$_n.flt"
}
# jcsv FLT FIELDS [options] : annotate with the az inventory and the ranges, print FIELDS
jcsv() {
	_f=$1 _fields=$2; shift 2
	run "fl-join-subs $* -i '$INV/az' -i '$INV/ranges.csv' '$_f' | fl-cat --csv --no-header --fields '$_fields'"
}
T0=1793610000000

t "the remote end is found in the observer's peered VNet before another tenant's"
# 10.0.1.5 is nic-db-01 in tenant A's peered spoke and nic-b-01 in tenant B's
# VNet; hub-a's peering to vnet-b is only Initiated.
jflt peer "$(jrec 2026-11-02T09:01:00Z 000D3A123456 "$TG_HUB" "$(fll $SA1)" \
	"$T0,10.0.1.5,10.1.1.4,50000,443,6,I,B,NX,0,0,0,0")"
jcsv "$TMP/peer.flt" src_tenant,src_sub,src_rg,src_vnet,src_subnet,src_nic,src_vm,dst_vnet,dst_nic,flow_type
assert_eq 0 "$rc" "exit"
assert_eq "$TA,$SA2,rg-shared,vnet-spoke-a,snet-db,nic-db-01,vm-db-01,vnet-hub-a,nic-app-01,CrossSubscription" "$out" "resolved to A's peer"

t "an address in two VNets that are neither the observer's nor peered with it is ambiguous"
jflt amb "$(jrec 2026-11-02T09:01:00Z 000D3A990001 "$TG_ISO" "$(fll $SA1)" \
	"$T0,10.9.0.4,10.0.1.5,40000,443,6,O,B,NX,0,0,0,0" \
	"$((T0 + 1000)),10.9.0.4,10.9.0.99,40001,22,6,O,B,NX,0,0,0,0")"
jcsv "$TMP/amb.flt" src_vnet,dst_tenant,dst_sub,dst_rg,dst_vnet,dst_subnet,dst_nic,dst_vm,flow_type --stats
assert_eq "vnet-iso-a,ambiguous,ambiguous,ambiguous,ambiguous,ambiguous,ambiguous,ambiguous,ambiguous
vnet-iso-a,$TA,$SA1,rg-iso,vnet-iso-a,default,,,IntraVNet" "$out" "marked, not guessed"
assert_match '^ambiguous +1$' "$err" "counted by --stats"

t "MAC spellings: the log's and the inventory's forms meet"
jflt mac "$(jrec 2026-11-02T09:01:00Z 000d3a123456 "$TG_HUB" "$(fll $SA1)" \
	"$T0,10.1.1.4,10.1.1.9,40000,443,6,O,B,NX,0,0,0,0")" \
	"$(jrec 2026-11-02T09:02:00Z 00:0d:3a:12:34:56 "$TG_HUB" "$(fll $SA1)" \
	"$((T0 + 60000)),10.1.1.4,10.1.1.9,40000,443,6,O,E,NX,1,100,1,100")"
jcsv "$TMP/mac.flt" src_nic,dst_subnet,dst_nic,flow_type
assert_eq "nic-app-01,snet-app,,IntraVNet
nic-app-01,snet-app,,IntraVNet" "$out" "lower case and colons in the log"
mkdir -p "$TMP/macinv"
sed 's/"00-0D-3A-12-34-56"/"00:0d:3a:12:34:56"/' "$INV/az/nic-list.json" > "$TMP/macinv/nics.json"
cp "$INV/az/vnet-list.json" "$INV/az/account-list.json" "$TMP/macinv/"
run "fl-join-subs -i '$TMP/macinv' '$TMP/mac.flt' | fl-cat --csv --no-header --fields src_nic"
assert_eq "nic-app-01
nic-app-01" "$out" "colons and lower case in the inventory"

t "upper-case IDs in the log match the inventory's mixed case; names stay byte for byte"
up=$(printf '%s' "$TG_HUB" | tr a-z A-Z | sed 's/ü/Ü/g')
jflt upper "$(jrec 2026-11-02T09:01:00Z 000D3AFFFFFF "$up" "$(fll $SA1)" \
	"$T0,10.1.1.4,10.1.1.5,40000,443,6,O,B,NX,0,0,0,0")"
jcsv "$TMP/upper.flt" src_sub,src_rg,src_vnet,src_subnet,src_nic,dst_vnet,flow_type --stats
assert_eq "$SA1,$RGHUB,vnet-hub-a,snet-app,nic-app-01,vnet-hub-a,IntraVNet" "$out" "VNet found by its upper-cased ID, the NIC by the address"
assert_match "by MAC, 1 by the record's IDs only" "$err" "observer from the IDs"
assert_match '^unknown MAC 1: 000D3AFFFFFF$' "$err" "the MAC the inventory lacks is named"
rg=$(fl-join-subs -i "$INV/az" "$TMP/upper.flt" | fl-cat --csv --no-header --fields src_rg)
assert_eq "$(printf 'rg-prod-m\303\274nchen-\346\235\261\344\272\254')" "$rg" "UTF-8 bytes of the name"

t "flow logs stored in another subscription: the NIC's subscription wins"
jflt away "$(jrec 2026-11-02T09:01:00Z 000D3A123456 "$TG_HUB" "$(fll $SX)" \
	"$T0,10.1.1.4,10.1.1.9,40000,443,6,O,B,NX,0,0,0,0")" \
	"$(jrec 2026-11-02T09:01:00Z 000D3AEEEEEE "$TG_SPOKE" "$(fll $SX)" \
	"$T0,10.0.1.77,10.0.1.9,40000,443,6,O,B,NX,0,0,0,0")" \
	"$(jrec 2026-11-02T09:01:00Z 000D3AEEEEEE "" "$(fll $SX)" \
	"$T0,10.0.1.77,10.0.1.9,40000,443,6,O,B,NX,0,0,0,0")"
jcsv "$TMP/away.flt" src_sub,src_vnet
assert_eq "$SA1,vnet-hub-a
$SA2,vnet-spoke-a
$SX," "$out" "NIC, then target, then the flow log's subscription"

t "Resource Graph results and az output give the same annotated stream"
jflt both "$(jrec 2026-11-02T09:01:00Z 000D3A123456 "$TG_HUB" "$(fll $SA1)" \
	"$T0,10.1.1.4,10.0.1.5,40000,1433,6,O,B,NX,0,0,0,0" \
	"$T0,10.1.1.4,fd00:1:0:1::9,40000,80,6,O,B,NX,0,0,0,0" \
	"$T0,10.1.1.4,168.63.129.16,40000,53,17,O,B,NX,0,0,0,0" \
	"$T0,10.1.1.4,10.50.0.1,40000,53,17,O,B,NX,0,0,0,0" \
	"$T0,10.1.1.4,192.168.1.1,40000,53,17,O,B,NX,0,0,0,0")" \
	"$(jrec 2026-11-02T09:01:00Z 000D3ABB0001 "$TG_B" "$(fll $SB1)" \
	"$T0,10.0.1.5,20.50.1.10,40000,443,6,O,B,NX,0,0,0,0")" \
	"$(jrec 2026-11-02T09:01:00Z 000D3A990001 "$TG_ISO" "$(fll $SA1)" \
	"$T0,10.9.0.4,10.0.1.5,40000,443,6,O,B,NX,0,0,0,0")"
fl-join-subs -i "$INV/az" -i "$INV/ranges.csv" "$TMP/both.flt" | fl-cat --csv > "$TMP/both-az.csv"
fl-join-subs -i "$INV/arg" -i "$INV/ranges.csv" "$TMP/both.flt" | fl-cat --csv > "$TMP/both-arg.csv"
assert_file_eq "$TMP/both-az.csv" "$TMP/both-arg.csv"
assert_eq 7 "$(tail -n +2 "$TMP/both-arg.csv" | wc -l | tr -d ' ')" "tuples"
assert_match "20\.50\.1\.10,.*,$TB,$TA,$SB1,$SA1,rg-partner,$RGHUB,vnet-b,vnet-hub-a,default,snet-app,nic-b-01,nic-app-01,vm-b-01,vm-app-01,,,CrossTenant" \
	"$(cat "$TMP/both-arg.csv")" "a public IP of a NIC is that NIC"
run "fl-join-subs --stats -i '$INV/arg' '$TMP/both.flt' > /dev/null"
assert_match '1 other resources skipped' "$err" "the storage account in the query result"

t "flow types of unplaced addresses"
jcsv "$TMP/both.flt" dst,dst_vnet,dst_subnet,dst_site,flow_type
assert_eq "10.0.1.5,vnet-spoke-a,snet-db,,CrossSubscription
fd00:1:0:1::9,vnet-hub-a,snet-v6,,IntraVNet
168.63.129.16,,,,AzurePublic
10.50.0.1,,,,UnknownPrivate
192.168.1.1,,,onprem-hq,S2S
20.50.1.10,vnet-hub-a,snet-app,,CrossTenant
10.0.1.5,ambiguous,ambiguous,,ambiguous" "$out" "one line each"

t "S2S and P2S ranges from the CSV, longest prefix first"
jflt vpn "$(jrec 2026-11-02T09:01:00Z 000D3A123456 "$TG_HUB" "$(fll $SA1)" \
	"$T0,192.168.7.9,10.1.1.4,40000,22,6,I,B,NX,0,0,0,0" \
	"$T0,192.168.8.9,10.1.1.4,40000,22,6,I,B,NX,0,0,0,0" \
	"$T0,172.20.3.4,10.1.1.4,40000,3389,6,I,B,NX,0,0,0,0" \
	"$T0,10.1.1.4,10.200.9.9,40000,443,6,O,B,NX,0,0,0,0" \
	"$T0,172.20.4.4,10.1.1.4,40000,3389,6,I,B,NX,0,0,0,0")"
jcsv "$TMP/vpn.flt" src_site,dst_site,flow_type
assert_eq '"onprem-lab, Building 7",,S2S
onprem-hq,,S2S
vpn-clients,,P2S
,partner-er,S2S
,,UnknownPrivate' "$out" "sites and kinds (ExpressRoute is S2S)"

t "an Azure service tag on the public end makes it AzurePublic"
cat > "$TMP/tags.json" <<'EOF'
{"changeNumber": 1, "cloud": "Public", "values": [{"name": "Storage.WestEurope", "id": "Storage.WestEurope",
 "properties": {"changeNumber": 1, "region": "westeurope", "regionId": 18, "platform": "Azure",
 "systemService": "AzureStorage", "addressPrefixes": ["20.60.0.0/16"], "networkFeatures": ["NSG"]}}]}
EOF
jflt tag "$(jrec 2026-11-02T09:01:00Z 000D3A123456 "$TG_HUB" "$(fll $SA1)" \
	"$T0,10.1.1.4,20.60.1.1,40000,443,6,O,B,NX,0,0,0,0" \
	"$T0,10.1.1.4,20.61.1.1,40000,443,6,O,B,NX,0,0,0,0")"
if fl-geo --classify-only --service-tags "$TMP/tags.json" "$TMP/tag.flt" > "$TMP/tag-geo.flt" 2>/dev/null &&
	fl-cat --list-fields "$TMP/tag-geo.flt" 2>/dev/null | grep -q '^dst_service_tag$'; then
	run "fl-join-subs -i '$INV/az' '$TMP/tag-geo.flt' | fl-cat --csv --no-header --fields dst,dst_service_tag,flow_type"
	assert_eq "20.60.1.1,Storage.WestEurope,AzurePublic
20.61.1.1,,ExternalPublic" "$out" "after fl-geo"
else
	skip "fl-geo with --service-tags is not available"
fi
jcsv "$TMP/tag.flt" flow_type
assert_eq "ExternalPublic
ExternalPublic" "$out" "without the column, public is external"
t "the other order: fl-geo after fl-join-subs also makes it AzurePublic"
run "fl-join-subs -i '$INV/az' '$TMP/tag.flt' | fl-geo --classify-only --service-tags '$TMP/tags.json' | fl-cat --csv --no-header --fields dst,dst_service_tag,flow_type"
assert_eq "20.60.1.1,Storage.WestEurope,AzurePublic
20.61.1.1,,ExternalPublic" "$out" "fl-geo updates the flow type"

t "--summary: cross-subscription and cross-tenant paths, a connection seen from both ends counts once"
jflt sum "$(jrec 2026-11-02T09:05:00Z 000D3A123456 "$TG_HUB" "$(fll $SA1)" \
	"$T0,10.1.1.4,10.0.1.5,40000,1433,6,O,B,NX,0,0,0,0" \
	"$((T0 + 240000)),10.1.1.4,10.0.1.5,40000,1433,6,O,E,NX,5,500,4,4000" \
	"$((T0 + 1000)),10.1.1.4,10.0.1.5,40001,1433,6,O,B,NX,0,0,0,0" \
	"$((T0 + 2000)),10.1.1.4,10.1.1.9,40002,80,6,O,B,NX,0,0,0,0")" \
	"$(jrec 2026-11-02T09:05:00Z 000D3AAABB01 "$TG_SPOKE" "$(fll $SA2)" \
	"$((T0 + 1500)),10.1.1.4,10.0.1.5,40000,1433,6,I,B,NX,0,0,0,0" \
	"$((T0 + 241500)),10.1.1.4,10.0.1.5,40000,1433,6,I,E,NX,5,500,4,4000")" \
	"$(jrec 2026-11-02T09:05:00Z 000D3ABB0001 "$TG_B" "$(fll $SB1)" \
	"$((T0 + 3000)),10.0.1.5,20.50.1.10,41000,443,6,O,B,NX,0,0,0,0" \
	"$((T0 + 4000)),10.0.1.5,20.50.1.10,41001,443,6,O,D,NX,0,0,0,0")"
run "fl-join-subs --summary --summary-format csv -i '$INV/az' '$TMP/sum.flt'"
assert_eq 0 "$rc" "exit"
assert_eq "flow_type,src_sub,src_tenant,dst_sub,dst_tenant,port,connections,denied,bytes,first_seen,last_seen
CrossSubscription,$SA1,$TA,$SA2,$TA,1433/tcp,2,0,4500,2026-11-02T09:00:00.000Z,2026-11-02T09:04:01.500Z
CrossTenant,$SB1,$TB,$SA1,$TA,443/tcp,1,1,0,2026-11-02T09:00:03.000Z,2026-11-02T09:00:04.000Z" "$out" "csv"
run "fl-join-subs --summary -i '$INV/az' '$TMP/sum.flt'"
assert_match "^flow_type +src_sub +src_tenant +dst_sub +dst_tenant +port +connections +denied +bytes +first_seen +last_seen$" "$out" "text header"
assert_match "^CrossSubscription +$SA1 +$TA +$SA2 +$TA +1433/tcp +2 +0 +4500 +2026-11-02T09:00:00\.000Z +2026-11-02T09:04:01\.500Z$" "$out" "text row"
run "fl-join-subs --summary -i '$INV/az' '$TMP/peer.flt'"
assert_match '^CrossSubscription .* 443/tcp ' "$out" "an I tuple alone makes a path"

t "running twice re-annotates instead of duplicating columns"
fl-join-subs -i "$INV/az" "$TMP/both.flt" | fl-join-subs -i "$INV/az" | fl-cat --csv > "$TMP/twice.csv"
fl-join-subs -i "$INV/az" "$TMP/both.flt" | fl-cat --csv > "$TMP/once.csv"
assert_file_eq "$TMP/once.csv" "$TMP/twice.csv"

t "inventory files: provenance hashes, unknown and broken files, no inventory"
fl-join-subs -i "$INV/az" -o "$TMP/prov.flt" "$TMP/peer.flt"
hdr=$(LC_ALL=C tr -c '[:print:]' '\n' < "$TMP/prov.flt")
sum=$(sha256sum "$INV/az/nic-list.json" | cut -c1-64)
assert_match "$sum  .*az/nic-list\.json" "$hdr" "sha256sum line in the provenance"
mkdir -p "$TMP/junk"
printf '{"records":[]}' > "$TMP/junk/flowlog.json"
printf 'hello\n' > "$TMP/junk/notes.txt"
printf '[{"id": 1' > "$TMP/junk/cut.json"
run "fl-join-subs -i '$TMP/junk' -i '$INV/az' -o '$TMP/junk.flt' '$TMP/peer.flt'"
assert_eq 1 "$rc" "a broken file is damaged input"
assert_eq "vnet-spoke-a" "$(fl-cat --csv --no-header --fields src_vnet "$TMP/junk.flt")" "the rest is still used"
assert_match 'junk/flowlog\.json: skipped: ' "$err" "unknown JSON named"
assert_match 'junk/notes\.txt: skipped: ' "$err" "not JSON"
assert_match 'junk/cut\.json: line 1, column [0-9]+' "$err" "broken JSON located"
printf 'cidr,label,kind\n10.0.0.0/33,x,S2S\n' > "$TMP/badranges.csv"
run "fl-join-subs -i '$TMP/badranges.csv' '$TMP/peer.flt' > /dev/null"
assert_eq 1 "$rc" "bad range row"
assert_match 'badranges\.csv: line 2: bad CIDR' "$err" "row named"
run "fl-join-subs '$TMP/peer.flt'"
assert_eq 2 "$rc" "no --inventory"
run "fl-join-subs --summary-format xml -i '$INV/az' '$TMP/peer.flt'"
assert_eq 2 "$rc" "bad --summary-format"

t "example: fl-gen --inventory gives examples/inventory, and the export is unchanged by it"
"$GEN" --out "$TMP/exgen" --seed 2026 --subs 2 --vms 12 --hours 3 --rate 0.5 --nsg-share 0.2 \
	--truth "$TMP/exgen-truth.csv" --inventory "$TMP/exinv" 2>/dev/null
for f in account-list.json vnet-list.json nic-list.json; do
	assert_file_eq "$EXAMPLES/inventory/$f" "$TMP/exinv/$f"
done
assert_file_eq "$EXAMPLES/export-truth.csv" "$TMP/exgen-truth.csv"

t "example: the cross-subscription summary equals the ground truth's edges between subscriptions"
# subscription 1: the hub (10.255/16) and prod 10.16/16; subscription 2: prod 10.17/16
awk -F, 'function sub_of(a) { return a ~ /^10\.17\./ ? 2 : a ~ /^10\.(255|16)\./ ? 1 : 0 }
	NR > 1 { s = sub_of($1); d = sub_of($2); if (s && d && s != d) { k = s ">" d "," $3 "/" ($4 == 6 ? "tcp" : "udp")
		f[k] += $5; n[k] += $12; b[k] += $7 } }
	END { for (k in f) print k "," f[k] "," n[k] "," b[k] }' "$EXAMPLES/export-truth.csv" | sort > "$TMP/ex-want.csv"
s1=$(jq -r '.[0].id' "$EXAMPLES/inventory/account-list.json")
fl-extract --quiet "$EXAMPLES/export.zip" | fl-join-subs --summary --summary-format csv -i "$EXAMPLES/inventory" \
	| awk -F, -v s1="$s1" 'NR > 1 { print ($2 == s1 ? 1 : 2) ">" ($4 == s1 ? 1 : 2) "," $6 "," $7 "," $8 "," $9 }' \
	| sort > "$TMP/ex-got.csv"
assert_file_eq "$TMP/ex-want.csv" "$TMP/ex-got.csv"
assert_eq 10 "$(wc -l < "$TMP/ex-got.csv" | tr -d ' ')" "paths and ports"

t "an empty inventory folder or a device is refused, not read forever"
mkdir -p "$TMP/noinv"
run "fl-join-subs -i '$TMP/noinv' '$TMP/peer.flt' > /dev/null"
assert_eq 2 "$rc" "empty folder"
assert_match 'no inventory found' "$err" "says so"
run "fl-join-subs -i /dev/zero '$TMP/peer.flt' > /dev/null"
assert_match "'/dev/zero' is not a regular file or folder" "$err" "a device is skipped"
