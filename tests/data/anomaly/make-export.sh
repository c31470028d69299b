#!/bin/sh
# make-export.sh MODE DIR: writes a small VNet flow-log export (the
# insights-logs-flowlogflowevent blob tree, one PT1H.json per NIC and hour)
# with one planted case of every fl-anomaly detector, over six hours from
# 2026-11-02T00:00Z.  Deterministic: its own random numbers, the same bytes
# on any awk.
#   MODE baseline: the estate's ordinary traffic only (the previous week's
#                  picture, for --baseline);
#   MODE planted:  the same plus the planted cases:
#     exposure/geography  10.2.0.5:5432 (a database) from 81.2.69.160/.161 (GB
#                         in make-mmdb.pl's mm-city.mmdb) and 13.69.10.20 (NL)
#     open-port           10.3.0.6:3389 from 60 public sources in 60 networks
#     exfiltration        10.4.0.7 -> 185.220.101.5:443, 3 GB over two hours
#                         from 03:00 (a new destination)
#     new-edge            10.6.0.10 -> 10.7.0.11:22 (cache host to payments),
#                         beside DNS/LDAP/Kerberos to 10.20.0.53/10.20.0.10
#                         (shared infrastructure: never new edges)
#     scan                45.155.205.233 -> 10.8.0.12, 30 ports, all denied
#     cross-boundary      10.1.1.4 (vm-app-01, subscription 1111...) ->
#                         10.0.1.5 (vm-db-01, 2222...):1433, with the NICs of
#                         tests/data/inventory/az; beside it SMB (445) on the
#                         same path, shared infrastructure: not reported
#     beaconing           10.10.0.13 -> 91.219.236.18:8443 every 300 s (+-2 s)
#     old scan            5.188.10.10 -> 10.8.0.12, 25 ports, ten days earlier
#                         (outside a 7-day window)
#   Negatives in both modes: a public web tier 10.1.0.4:443 reached by 40
#   public sources (5 of them US), service-to-service volume (10.4.0.7 ->
#   10.4.0.8:5432, 500 MB), backups to five storage endpoints (400 MB each).
set -eu
mode=${1:?usage: make-export.sh baseline|planted DIR}
dir=${2:?usage: make-export.sh baseline|planted DIR}
case $mode in baseline | planted) ;; *) echo "make-export.sh: MODE is baseline or planted" >&2; exit 2 ;; esac
mkdir -p "$dir"

awk -v mode="$mode" '
function rnd(n) { seed = (seed * 16807) % 2147483647; return seed % n }
function mac(ip,   o) {
	if (ip in macs) return macs[ip]
	split(ip, o, "."); return sprintf("000D3A%02X%02X%02X", o[2], o[3], o[4])
}
function internal(ip) { return ip ~ /^10\./ }
function out(m, t, tu) { printf "%s %.0f %s\n", m, int(t / 3600000), tu }
# one tuple, logged at each internal end: O by the initiator, I by the responder
function tuple(t, s, d, sp, dp, pr, st, ps, bs, pd, bd) {
	if (internal(s)) out(mac(s), t, sprintf("%.0f,%s,%s,%d,%d,%d,O,%s,NX,%.0f,%.0f,%.0f,%.0f", t, s, d, sp, dp, pr, st, ps, bs, pd, bd))
	if (internal(d)) out(mac(d), t + 7, sprintf("%.0f,%s,%s,%d,%d,%d,I,%s,NX,%.0f,%.0f,%.0f,%.0f", t + 7, s, d, sp, dp, pr, st, ps, bs, pd, bd))
}
# a connection: B, C every five minutes, E with the rest of the counters
function conn(t, s, d, dp, pr, dur, bs, bd,   sp, n, i, tt, cs, cd) {
	sp = 30000 + rnd(30000)
	tuple(t, s, d, sp, dp, pr, "B", 0, 0, 0, 0)
	n = int(dur / 300) + 1
	for (i = 1; i < n; i++) {
		tt = t + i * 300000; cs = int(bs / n); cd = int(bd / n)
		tuple(tt, s, d, sp, dp, pr, "C", int(cs / 1400) + 1, cs, int(cd / 1400) + 1, cd)
	}
	cs = bs - (n - 1) * int(bs / n); cd = bd - (n - 1) * int(bd / n)
	tuple(t + dur * 1000, s, d, sp, dp, pr, "E", int(cs / 1400) + 1, cs, int(cd / 1400) + 1, cd)
}
function deny(t, s, d, dp) { tuple(t, s, d, 40000 + rnd(20000), dp, 6, "D", 0, 0, 0, 0) }
function any_time() { return T0 + rnd(6 * 3600) * 1000 }
BEGIN {
	seed = 20261102; T0 = 1793577600000
	macs["10.1.1.4"] = "000D3A123456"; macs["10.0.1.5"] = "000D3AAABB01"
	# the public web tier: 40 sources, 5 from 8.8.8.0/24 (US in the test database)
	for (i = 0; i < 40; i++) {
		src = i < 5 ? "8.8.8." (10 + i) : "20." (30 + i) "." i ".7"
		for (k = rnd(3); k >= 0; k--)
			conn(any_time(), src, "10.1.0.4", 443, 6, 1 + rnd(30), 2000 + rnd(18000), 20000 + rnd(480000))
		conn(any_time(), "10.1.0.4", "10.4.0.7", 8080, 6, 1 + rnd(5), 3000, 150000)
	}
	# service to service: a lot of internal volume is ordinary
	for (i = 0; i < 50; i++) {
		conn(any_time(), "10.4.0.7", "10.4.0.8", 5432, 6, 60, 10000000, 200000)
		conn(any_time(), "10.4.0.7", "10.2.0.5", 5432, 6, 10, 1000000, 50000)
		conn(any_time(), "10.4.0.7", "10.6.0.10", 6379, 6, 1, 200000, 20000)
		conn(any_time(), "10.4.0.7", "10.7.0.11", 8443, 6, 2, 100000, 10000)
	}
	for (i = 1; i <= 3; i++)
		conn(any_time(), "10.4.0.7", "20.50.1." i, 443, 6, 20, 1000000 * i, 30000000)
	# backups: five storage endpoints, evenly, every hour
	for (h = 0; h < 6; h++)
		for (i = 1; i <= 5; i++)
			conn(T0 + h * 3600000 + i * 60000, "10.5.0.9", "52.239.140." i, 443, 6, 600, 66000000 + rnd(1000000), 400000)
	if (mode != "planted")
		exit
	# exposure + geography: a private database reached from GB and NL
	conn(T0 + 3700000, "81.2.69.160", "10.2.0.5", 5432, 6, 40, 9000, 1200000)
	conn(T0 + 9100000, "81.2.69.161", "10.2.0.5", 5432, 6, 20, 5000, 800000)
	conn(T0 + 15000000, "13.69.10.20", "10.2.0.5", 5432, 6, 30, 7000, 2500000)
	# open-port: RDP open to the internet
	for (i = 1; i <= 60; i++)
		conn(any_time(), "45." i "." (i * 7 % 250) "." (i + 1), "10.3.0.6", 3389, 6, 5 + rnd(60), 30000, 90000)
	# exfiltration: 3 GB to a new destination, from 03:00 for two hours
	conn(T0 + 3 * 3600000, "10.4.0.7", "185.220.101.5", 443, 6, 7200, 3000000000, 2000000)
	# new edge: the cache host opens SSH to the payments host; shared services beside it
	for (i = 0; i < 3; i++) {
		conn(T0 + (2 + i) * 3600000, "10.6.0.10", "10.7.0.11", 22, 6, 120, 40000, 90000)
		conn(T0 + (2 + i) * 3600000 - 500, "10.6.0.10", "10.20.0.53", 53, 17, 0, 80, 200)
		conn(T0 + (2 + i) * 3600000 - 300, "10.6.0.10", "10.20.0.10", 389, 6, 1, 3000, 9000)
		conn(T0 + (2 + i) * 3600000 - 200, "10.6.0.10", "10.20.0.10", 88, 6, 1, 1500, 1600)
	}
	# scan: one public source, 30 ports on one host, all denied
	for (p = 20; p < 50; p++)
		deny(T0 + 4 * 3600000 + p * 1000, "45.155.205.233", "10.8.0.12", p == 49 ? 3389 : p)
	# cross-boundary: subscription 1111 to subscription 2222
	for (i = 0; i < 4; i++) {
		conn(T0 + 3600000 * (1 + i), "10.1.1.4", "10.0.1.5", 1433, 6, 30, 50000, 400000)
		conn(T0 + 3600000 * (1 + i) + 60000, "10.1.1.4", "10.0.1.5", 445, 6, 5, 20000, 90000)
	}
	# beaconing: every 300 s, +-2 s, for six hours
	for (t = T0 + 60000; t < T0 + 6 * 3600000 - 300000; t += 300000)
		conn(t + (rnd(5) - 2) * 1000, "10.10.0.13", "91.219.236.18", 8443, 6, 1, 500, 300)
	# the old case: a scan ten days before, outside a 7-day window
	for (p = 100; p < 125; p++)
		deny(T0 - 10 * 86400000 + p * 1000, "5.188.10.10", "10.8.0.12", p)
}' | sort -k1,1 -k2,2n -k3,3 -s | awk -v dir="$dir" '
function flush() {
	if (!n) return
	path = dir "/insights-logs-flowlogflowevent/flowLogResourceID=/SUBSCRIPTIONS/11111111-1111-4111-8111-111111111111/RESOURCEGROUPS/NETWORKWATCHERRG/PROVIDERS/MICROSOFT.NETWORK/NETWORKWATCHERS/NETWORKWATCHER_WESTEUROPE/FLOWLOGS/FL-ESTATE/" hourpath(h) "/macAddress=" m
	system("mkdir -p \"" path "\"")
	f = path "/PT1H.json"
	printf "{\"records\":[" > f
	for (r = 0; r * 50 < n; r++) {
		last = tu[(r * 50 + 50 <= n) ? r * 50 + 50 : n]
		split(last, x, ",")
		printf "%s{\"time\":\"%s\",\"flowLogGUID\":\"6b1f4d0e-4a4e-4f4e-9a43-0c3f0e6a9b11\",\"macAddress\":\"%s\",\"category\":\"FlowLogFlowEvent\",\"flowLogResourceID\":\"/SUBSCRIPTIONS/11111111-1111-4111-8111-111111111111/RESOURCEGROUPS/NETWORKWATCHERRG/PROVIDERS/MICROSOFT.NETWORK/NETWORKWATCHERS/NETWORKWATCHER_WESTEUROPE/FLOWLOGS/FL-ESTATE\",\"targetResourceID\":\"/subscriptions/11111111-1111-4111-8111-111111111111/resourceGroups/rg-estate/providers/Microsoft.Network/virtualNetworks/vnet-estate\",\"flowLogVersion\":4,\"operationName\":\"FlowLogFlowEvent\",\"flowRecords\":{\"flows\":[{\"aclID\":\"9a1c4f3e-0000-4000-8000-000000000001\",\"flowGroups\":[{\"rule\":\"DefaultRule_AllowVnetInBound\",\"flowTuples\":[", r ? "," : "", iso(x[1] + 60000), m > f
		for (i = r * 50 + 1; i <= n && i <= r * 50 + 50; i++)
			printf "%s\"%s\"", (i > r * 50 + 1 ? "," : ""), tu[i] > f
		printf "]}]}]}}" > f
	}
	printf "]}\n" > f
	close(f)
	n = 0
}
# civil date from epoch ms (days-to-civil, Howard Hinnant)
function civil(ms,   z, era, doe, yoe, doy, mp) {
	z = int(ms / 86400000) + 719468; era = int(z / 146097); doe = z - era * 146097
	yoe = int((doe - int(doe / 1460) + int(doe / 36524) - int(doe / 146096)) / 365)
	Y = yoe + era * 400; doy = doe - (365 * yoe + int(yoe / 4) - int(yoe / 100)); mp = int((5 * doy + 2) / 153)
	D = doy - int((153 * mp + 2) / 5) + 1; M = mp < 10 ? mp + 3 : mp - 9; if (M <= 2) Y++
	sec = int(ms / 1000) % 86400
}
function hourpath(hh) { civil(hh * 3600000); return sprintf("y=%04d/m=%02d/d=%02d/h=%02d/m=00", Y, M, D, int(sec / 3600)) }
function iso(ms) { civil(ms); return sprintf("%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", Y, M, D, int(sec / 3600), int(sec % 3600 / 60), sec % 60, ms % 1000) }
$1 != m || $2 != h { flush(); m = $1; h = $2 }
{ tu[++n] = $3 }
END { flush() }'
