#!/bin/sh
# make bench: throughput of fl-extract against jq, python3's json module and
# unzip, and its peak memory on one big blob.  bench/README.md explains the
# figures and the targets.
#
#   sh bench/run.sh BIN_DIR
#
# Environment:
#   BENCH_MB   size of the generated export, MiB of uncompressed JSON (default 1024)
#   JQ_MB      jq and python3 read only the first JQ_MB MiB of it, because jq
#              runs at about 30 MB/s (default 256; set JQ_MB=$BENCH_MB for all)
#   RUNS       timed runs per command, after one warm-up (default 3)
#   GEN        the generator (default BIN_DIR/../fl-gen); agg-speed and
#              scan-speed, the parts timed alone, are looked for beside it
# The export, its zip and the results stay in bench/out/ (git-ignored) and
# are reused while BENCH_MB is unchanged.
set -eu
bin=${1:?usage: sh bench/run.sh BIN_DIR}
here=$(cd "$(dirname "$0")" && pwd)
out=$here/out
MB=${BENCH_MB:-1024}
JQ_MB=${JQ_MB:-256}
RUNS=${RUNS:-3}
GEN=${GEN:-$bin/../fl-gen}
MICRO=$(dirname "$GEN")
EXTRACT=$bin/fl-extract
FILTER='.records[].flowRecords.flows[].flowGroups[].flowTuples[]'

case $MB in '' | *[!0-9]*) echo "bench: BENCH_MB must be a number of MiB" >&2; exit 2 ;; esac
case $JQ_MB in '' | *[!0-9]*) echo "bench: JQ_MB must be a number of MiB" >&2; exit 2 ;; esac
[ "$JQ_MB" -le "$MB" ] || JQ_MB=$MB
for tool in "$GEN" "$EXTRACT"; do
	[ -x "$tool" ] || { echo "bench: $tool is missing (run make first)" >&2; exit 2; }
done
for tool in jq python3 zip unzip; do
	command -v $tool >/dev/null || { echo "bench: $tool is not installed" >&2; exit 2; }
done
mkdir -p "$out"

# ---- the export: a tree of PT1H.json blobs, its zip, and one big blob ----
# about 8 MiB per VM over 12 hours: a mid-size estate, busy enough that the
# application traffic (not the per-VM background) makes most of the bytes
vms=$((MB / 8)); [ $vms -ge 8 ] || vms=8; [ $vms -le 4000 ] || vms=4000
params="size=${MB}M hours=12 vms=$vms subs=4 seed=1 gen=$(cksum < "$GEN" | cut -d' ' -f1)"
if [ ! -f "$out/params" ] || [ "$(cat "$out/params")" != "$params" ]; then
	echo "== generating a ${MB} MiB export (fl-gen) and its zip: once, reused while BENCH_MB is unchanged"
	rm -rf "$out/export" "$out/export.zip" "$out/single.json" "$out/params"
	"$GEN" --out "$out/export" --size "${MB}M" --hours 12 --vms $vms --subs 4 --seed 1
	(cd "$out/export" && find insights-logs-* | LC_ALL=C sort | zip -q -X -@ ../export.zip)
	"$GEN" --single "$out/single.json" --size "${MB}M" --seed 1
	echo "$params" > "$out/params"
fi
find "$out/export" -name PT1H.json | LC_ALL=C sort > "$out/files.all"
# the subset for jq and python3: whole blobs in path order up to JQ_MB
xargs wc -c < "$out/files.all" | awk -v lim=$((JQ_MB * 1048576)) -v list="$out/files.sub" '
	$2 != "total" { all += $1; if (sum < lim) { print $2 > list; sum += $1 } }
	END { printf "%d %d\n", sum, all }' > "$out/bytes"
read -r sub_bytes all_bytes < "$out/bytes"
zip_bytes=$(wc -c < "$out/export.zip")
single_bytes=$(wc -c < "$out/single.json")

cat > "$out/py-extract.py" <<'EOF'
import json, sys
w = sys.stdout.write
for line in open(sys.argv[1]):
    with open(line.rstrip("\n"), "rb") as f:
        doc = json.load(f)
    for r in doc["records"]:
        for fl in r["flowRecords"]["flows"]:
            for g in fl["flowGroups"]:
                for t in g["flowTuples"]:
                    w(t + "\n")
EOF

# ---- timing: hyperfine when present, else a loop; median seconds ----
median_of() { sort -n | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
now() { date +%s.%N 2>/dev/null | sed 's/\.N$/.0/'; }
# The whole export as one tuple stream, written again when the export or
# fl-extract (the stream writer) is newer than it.
export_flt() {
	[ -s "$out/export.flt" ] && [ "$out/export.flt" -nt "$out/params" ] &&
		[ "$out/export.flt" -nt "$EXTRACT" ] ||
		"$EXTRACT" --quiet -f -o "$out/export.flt" "$out/export"
}

peak_rss() { # NAME COMMAND... -> prints the peak RSS in KiB ("" without GNU time)
	name=$1
	shift
	[ -x /usr/bin/time ] || return 0
	/usr/bin/time -v "$@" > /dev/null 2> "$out/rss-$name.txt" || true
	awk -F: '/Maximum resident set size/ { gsub(/ /, "", $2); print $2 }' "$out/rss-$name.txt"
}

timeit() { # NAME COMMAND -> prints the median seconds
	if command -v hyperfine >/dev/null; then
		hyperfine --style none --warmup 1 --runs "$RUNS" --export-json "$out/h-$1.json" "$2" >/dev/null 2>&1 ||
			{ echo "bench: '$2' failed" >&2; echo nan; return; }
		jq '.results[0].median' "$out/h-$1.json"
	else
		sh -c "$2" || { echo "bench: '$2' failed" >&2; echo nan; return; }
		i=0
		while [ $i -lt "$RUNS" ]; do
			t0=$(now); sh -c "$2"; t1=$(now)
			echo "$t0 $t1" | awk '{ printf "%.6f\n", $2 - $1 }'
			i=$((i + 1))
		done | median_of
	fi
}

echo "== timing ($RUNS runs after a warm-up each; $(command -v hyperfine >/dev/null && echo hyperfine || echo 'shell loop'))"
t_jq=$(timeit jq "xargs jq -r '$FILTER' < '$out/files.sub' > /dev/null")
t_py=$(timeit python "python3 '$out/py-extract.py' '$out/files.sub' > /dev/null")
t_fx_sub=$(timeit fx-sub "xargs '$EXTRACT' --quiet < '$out/files.sub' > /dev/null")
t_fx_all=$(timeit fx-all "'$EXTRACT' --quiet '$out/export' > /dev/null")
t_unzip=$(timeit unzip "unzip -p '$out/export.zip' > /dev/null")
t_fx_zip=$(timeit fx-zip "'$EXTRACT' --quiet '$out/export.zip' > /dev/null")

rss=$(peak_rss extract "$EXTRACT" --quiet "$out/single.json")
[ -x /usr/bin/time ] ||
	echo "bench: /usr/bin/time is missing (Debian package 'time'): peak RSS skipped" >&2

# ---- the table -----------------------------------------------------------
{
	echo
	echo "fl-tools bench, $(date -u +%Y-%m-%dT%H:%M:%SZ), $(uname -m), $(nproc 2>/dev/null || echo '?') CPUs; MB = MiB (2^20 bytes) of uncompressed JSON"
	awk -v sb="$sub_bytes" -v ab="$all_bytes" -v zb="$zip_bytes" -v jq="$t_jq" -v py="$t_py" \
	    -v fs="$t_fx_sub" -v fa="$t_fx_all" -v uz="$t_unzip" -v fz="$t_fx_zip" 'BEGIN {
		M = 1048576; jqr = (jq > 0) ? sb / M / jq : 0
		printf "%-12s %-30s %8s %10s %9s %8s\n", "tool", "input", "MB", "s(median)", "MB/s", "vs jq"
		row("jq", "subset (blob files)", sb, jq)
		row("python3", "subset (json module)", sb, py)
		row("fl-extract", "subset (blob files)", sb, fs)
		row("fl-extract", "whole tree", ab, fa)
		row("unzip -p", sprintf("export.zip (%.0f MB zipped)", zb / M), ab, uz)
		row("fl-extract", "export.zip", ab, fz)
		printf "\n"
		if (jq > 0 && fs > 0)
			printf "fl-extract vs jq on the same files: %.1fx faster (target >= 10x): %s\n", jq / fs, (jq / fs >= 10) ? "met" : "MISSED"
		if (uz > 0 && fz > 0)
			printf "zip: fl-extract takes %.2fx the time of unzip -p (target <= 1.5x): %s\n", fz / uz, (fz / uz <= 1.5) ? "met" : "MISSED"
	}
	function row(tool, input, bytes, s) {
		if (s == "nan" || s <= 0) { printf "%-12s %-30s %8.0f %10s %9s %8s\n", tool, input, bytes / M, "failed", "-", "-"; return }
		r = bytes / M / s
		printf("%-12s %-30s %8.0f %10.2f %9.1f %7.1fx\n", tool, input, bytes / M, s, r, (jqr > 0) ? r / jqr : 0)
	}'
	if [ -n "$rss" ]; then
		awk -v k="$rss" -v b="$single_bytes" 'BEGIN {
			printf "peak RSS of fl-extract on one %.0f MB PT1H.json: %.1f MB (target < 64 MB): %s\n", b / 1048576, k / 1024, (k / 1024 < 64) ? "met" : "MISSED" }'
	else
		echo "peak RSS: not measured (/usr/bin/time missing)"
	fi
} | tee "$out/results.txt"

# ---- the parts alone: the JSON scanner, the aggregation core -------------
# scan-speed feeds one file to the scanner with callbacks that only count
# (CPU time, best of RUNS): fl-extract's parsing without I/O, threads or the
# stream writer.  agg-speed upserts random 36-byte keys with 80-byte values
# (an edge's shape) into tables of 10 thousand to 1 million keys, best of
# RUNS: the core's rate when the keys fit in cache and when they do not.
if [ -x "$MICRO/scan-speed" ] && [ -x "$MICRO/agg-speed" ]; then
	{
		echo
		"$MICRO/scan-speed" -r "$RUNS" "$out/single.json" |
			sed 's/^.*: \([0-9]*\) records, \([0-9]*\) tuples.*, \([0-9.]*\) MB\/s.*/scanner alone, one thread, on single.json: \3 MB\/s (\2 tuples)/'
		echo "aggregation core (agg-speed; per second, best of $RUNS):"
		"$MICRO/agg-speed" -u 10000000 -r "$RUNS" 10000 100000 1000000
	} | tee -a "$out/results.txt"
else
	echo "bench: $MICRO/agg-speed or scan-speed is missing (run make first)" >&2
fi

# ---- fl-graph: aggregation from a binary stream -------------------------
# Target: 20 million tuples per second on one core, at most 128 bytes of
# memory per distinct edge.  The stream is the whole export, extracted once.
GRAPH=$bin/fl-graph
if [ -x "$GRAPH" ]; then
	export_flt
	"$GRAPH" --stats --format csv "$out/export.flt" 2> "$out/graph-stats.txt" > /dev/null
	tuples=$(awk '/^tuples/ { print $2 }' "$out/graph-stats.txt")
	t_graph=$(timeit graph "'$GRAPH' --format csv '$out/export.flt' > /dev/null")
	g_rss=$(peak_rss graph "$GRAPH" --format csv "$out/export.flt")
	{
		echo
		cat "$out/graph-stats.txt"
		awk -v n="$tuples" -v s="$t_graph" -v k="${g_rss:-0}" 'BEGIN {
			printf "fl-graph --format csv: %d tuples in %.2f s (median): %.2f million tuples/s (target >= 20): %s\n",
			       n, s, n / s / 1e6, (n / s / 1e6 >= 20) ? "met" : "MISSED"
			if (k > 0) printf "fl-graph peak RSS: %.0f MB\n", k / 1024
		}'
		awk '/^edges/ { b = $0; sub(/.*MB, /, "", b); sub(/ bytes.*/, "", b);
			printf "memory per distinct edge: %s bytes (target <= 128): %s\n", b, (b + 0 <= 128) ? "met" : "MISSED" }' "$out/graph-stats.txt"
	} | tee -a "$out/results.txt"
fi

# ---- fl-geo: annotation of a binary stream --------------------------------
# Target: 5 million tuples per second with a City and an ASN database and
# the service tags (when ../shared/data has them).  The databases are the
# test fixtures, written by tests/data/make-mmdb.pl (MaxMind's writer):
# their networks barely overlap the generated addresses, so what is timed is
# the realistic part (classes, cache, columns), not the cost of each miss.
GEO=$bin/fl-geo
if [ -x "$GEO" ] && perl -MMaxMind::DB::Writer::Tree -e1 2>/dev/null; then
	export_flt
	mkdir -p "$out/geo-fx"
	perl "$here/../tests/data/make-mmdb.pl" "$out/geo-fx"
	printf '{"records":[]}' > "$out/geo-empty.json"
	"$EXTRACT" --quiet -f -o "$out/geo-empty.flt" "$out/geo-empty.json"
	geo_tags=${SHARED_DATA:-$here/../../shared/data}/ServiceTags_Public_20240506.json
	geo_opts="--db '$out/geo-fx/mm-city.mmdb' --db '$out/geo-fx/mm-asn.mmdb'"
	[ -f "$geo_tags" ] && geo_opts="$geo_opts --service-tags '$geo_tags'"
	sh -c "'$GEO' --stats $geo_opts '$out/export.flt'" 2> "$out/geo-stats.txt" > /dev/null
	tuples=$(awk '/^tuples/ { print $2 }' "$out/geo-stats.txt")
	t_geo=$(timeit geo "'$GEO' $geo_opts '$out/export.flt' > /dev/null")
	t_geo0=$(timeit geo-start "'$GEO' $geo_opts '$out/geo-empty.flt' > /dev/null")
	t_geon=$(timeit geo-nocache "'$GEO' --no-cache $geo_opts '$out/export.flt' > /dev/null")
	{
		echo
		cat "$out/geo-stats.txt"
		awk -v n="$tuples" -v s="$t_geo" -v s0="$t_geo0" -v sn="$t_geon" 'BEGIN {
			printf "fl-geo: %d tuples in %.2f s (median): %.2f million tuples/s (target >= 5): %s\n",
			       n, s, n / s / 1e6, (n / s / 1e6 >= 5) ? "met" : "MISSED"
			if (s > s0)
				printf "fl-geo: start-up (databases, service tags) %.2f s; after it %.2f million tuples/s\n",
				       s0, n / (s - s0) / 1e6
			printf "fl-geo --no-cache: %.2f s (%.1fx the time with the cache)\n", sn, sn / s
		}'
	} | tee -a "$out/results.txt"
elif [ -x "$GEO" ]; then
	echo "bench: fl-geo skipped: MaxMind::DB::Writer is missing (make deps)" >&2
fi

# ---- fl-anomaly: every detector over the whole export's tuple stream --------
# A separate block: the stream of the whole tree is written once (reused
# while the export is unchanged), then fl-anomaly reads it twice (detectors,
# then evidence) as it does on any regular file.
ANOMALY=$bin/fl-anomaly
if [ -x "$ANOMALY" ]; then
	export_flt
	flt_bytes=$(wc -c < "$out/export.flt")
	t_an=$(timeit anomaly "'$ANOMALY' --jsonl '$out/export.flt' > '$out/anomaly.jsonl' 2>/dev/null")
	an_rss=$(peak_rss anomaly "$ANOMALY" --jsonl "$out/export.flt")
	"$ANOMALY" "$out/export.flt" 2>/dev/null | head -n 1 > "$out/anomaly.txt" || true
	tuples=$(sed -n 's/.* in \([0-9]*\) tuples .*/\1/p' "$out/anomaly.txt")
	awk -v s="$t_an" -v b="$flt_bytes" -v n="${tuples:-0}" -v k="${an_rss:-0}" -v f="$(wc -l < "$out/anomaly.jsonl")" 'BEGIN {
		if (s == "nan" || s <= 0) { print "fl-anomaly: failed"; exit }
		printf "fl-anomaly on the whole export (%.0f MB stream, %d tuples): %.2f s median, %.2f M tuples/s, %d findings", b / 1048576, n, s, n / s / 1e6, f
		if (k > 0) printf ", peak RSS %.1f MB", k / 1024
		printf "\n" }' | tee -a "$out/results.txt"
else
	echo "bench: $ANOMALY is missing: fl-anomaly not timed" >&2
fi
