#!/bin/sh
# make demo: the main pipeline on the bundled example export.
# Usage: sh examples/demo.sh BIN_DIR [OUT_DIR]   (OUT_DIR receives topology.svg)
set -eu
bin=$1
keep=${2:-.}
here=$(cd "$(dirname "$0")" && pwd)
out=$(mktemp -d "${TMPDIR:-/tmp}/fl-demo.XXXXXX")
trap 'rm -rf "$out"' EXIT INT TERM
PATH="$bin:$PATH"

echo "== fl-extract: the example export ($here/export.zip) to a tuple stream, with per-input counts"
fl-extract --stats -o "$out/example.flt" "$here/export.zip"
echo
echo "== fl-cat: the first rows as text"
fl-cat "$out/example.flt" | head -n 15
echo
echo "== fl-cat --csv: denied inbound attempts, by source address (top 5)"
fl-cat --csv --fields src,dport,action "$out/example.flt" | awk -F, '$3 == "D" { n[$1]++ }
    END { for (s in n) print n[s], s }' | sort -rn | head -n 5
echo
echo "== fl-cat --jsonl --provenance: one tuple with the exact blob and position it came from"
fl-cat --jsonl --provenance --fields time,src,dst,dport,state "$out/example.flt" | head -n 1
echo
echo "== fl-window | fl-graph: the topology of the last 7 days of tuple time, rendered by Graphviz"
fl-window --stats "$out/example.flt" > "$out/week.flt"
fl-graph "$out/week.flt" > "$out/topology.dot"
dot -Tsvg "$out/topology.dot" > "$keep/topology.svg"
echo "$(grep -c ' -> ' "$out/topology.dot") edges drawn (dotted: derived from traffic) in $keep/topology.svg"
echo
echo "== fl-graph --apps: workloads unified into applications"
fl-graph --apps "$out/week.flt"
echo
echo "== fl-graph --format csv --top 5: the heaviest edges"
fl-graph --format csv --top 5 "$out/week.flt"
echo
echo "== fl-join-subs --summary: paths that cross subscriptions and tenants (inventory in examples/inventory)"
fl-join-subs -i "$here/inventory" --summary "$out/week.flt"
echo
# A fetched or installed database when there is one, else a fictitious one made for the example.
if [ -n "${FL_GEO_DB:-}" ] || ls /usr/local/share/fl-tools/geo/*.mmdb >/dev/null 2>&1; then
	geo_db=""
	echo "== fl-geo: countries of external sources (installed database)"
else
	perl "$here/make-geo.pl" "$out/example-geo.mmdb"
	geo_db="--db $out/example-geo.mmdb"
	echo "== fl-geo: countries of external sources (FICTITIOUS data made by examples/make-geo.pl)"
fi
fl-join-subs -i "$here/inventory" "$out/week.flt" | fl-geo $geo_db > "$out/annotated.flt"
echo "tuples  allowed  denied  country"
fl-cat --csv --no-header --fields src_class,src_country,action "$out/annotated.flt" |
    awk -F, '$1 == "public" { t[$2]++; if ($3 == "A") a[$2]++; else d[$2]++ }
    END { for (c in t) printf "%6d %8d %7d  %s\n", t[c], a[c], d[c], c }' | sort -rn | head -n 8
echo
echo "== fl-anomaly: flows worth a look in the window, each with the rule, its numbers and its evidence (head)"
fl-anomaly "$out/annotated.flt" 2>&1 | head -n 14
