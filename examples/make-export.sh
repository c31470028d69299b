#!/bin/sh
# Regenerates the bundled example export: examples/export.zip (the blob tree
# as a responder receives it, zipped) and examples/export-truth.csv (what is
# really in it, per edge), and examples/inventory/ (the estate as az CLI
# lists).  Deterministic: the same fl-gen gives the same bytes.
#   sh examples/make-export.sh [path/to/fl-gen]
set -eu
here=$(cd "$(dirname "$0")" && pwd)
GEN=${1:-$here/../build/fl-gen}
work=$(mktemp -d "${TMPDIR:-/tmp}/fl-example.XXXXXX")
trap 'rm -rf "$work"' EXIT INT TERM
"$GEN" --out "$work/export" --seed 2026 --subs 2 --vms 12 --hours 3 --rate 0.5 \
	--nsg-share 0.2 --truth "$work/export-truth.csv" --inventory "$work/inventory"
cd "$work/export"
# Fixed times and order, so that the zip itself is reproducible.
find . -exec touch -h -d 2026-11-02T03:05:00Z {} +
rm -f "$here/export.zip"
find insights-logs-* | LC_ALL=C sort | TZ=UTC zip -q -X -@ "$here/export.zip"
cp "$work/export-truth.csv" "$here/export-truth.csv"
# the estate as az CLI lists, for fl-join-subs
mkdir -p "$here/inventory"
cp "$work/inventory/account-list.json" "$work/inventory/vnet-list.json" "$work/inventory/nic-list.json" "$here/inventory/"
ls -l "$here/export.zip" "$here/export-truth.csv"
