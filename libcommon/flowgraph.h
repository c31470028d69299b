/*
 * flowgraph.h - from a tuple stream to the edges of the runtime topology.
 *
 * Tuples (or aggregate records written by fg_write_aggregate) go into the
 * connection-level aggregate of flowagg.h, which is bounded by a memory
 * cap and spills to disk; fg_edges() folds it into edges between nodes in
 * one sweep in key order (flowagg.h: the 5-tuples of an edge are adjacent)
 * and sorts them.
 * A node is an address, an address block, or a label (MAC, subnet, VNet,
 * subscription, country, ASN) learned from the stream for that address.
 */
#ifndef FL_FLOWGRAPH_H
#define FL_FLOWGRAPH_H

#include <stddef.h>
#include <stdint.h>
#include "flowagg.h"
#include "flt.h"
#include "strpool.h"

enum fg_ntype { FG_ADDR = 0, FG_PREFIX = 1, FG_LABEL = 2 };

typedef struct fg_node {
	uint8_t type;            /* enum fg_ntype */
	uint8_t v[16];           /* address, network address, or label id (u32, big-endian) */
} fg_node;

typedef struct fg_edge {
	fg_node src, dst;
	uint16_t dport;
	uint8_t proto;
	fa_edge val;
} fg_edge;

/* How addresses become nodes. */
enum fg_by { FG_BY_IP, FG_BY_MAC, FG_BY_COLUMN };
enum fg_ext { FG_EXT_IP, FG_EXT_PREFIX, FG_EXT_COLUMN };
typedef struct fg_map {
	enum fg_by by;           /* internal (non-public) addresses */
	const char *by_column;   /* "subnet": uses src_subnet / dst_subnet */
	enum fg_ext ext;         /* public addresses */
	const char *ext_column;  /* "country": uses src_country / dst_country */
} fg_map;

typedef struct flowgraph flowgraph;

/* map is copied; max_memory caps the connection-level aggregate (0 = none). */
flowgraph *fg_new(const fg_map *map, size_t max_memory, const char *tmpdir);
/* A hint: about n tuples are coming (sizes the tables once). */
void fg_expect(flowgraph *g, uint64_t tuples);
/* Adds one record of r: a tuple, or an aggregate record when r's stream is
 * an aggregate (see fg_is_aggregate).  Returns 0, or -1 when the record
 * lacks what the map needs (message in fg_error). */
int fg_add(flowgraph *g, flt_reader *r, const flt_rec *rec);
/* 1 when the current segment of r holds aggregate records. */
int fg_is_aggregate(flt_reader *r);
/* For tools that need tuples: exits with a usage error naming the input
 * when the current segment of r is an aggregate (fl-graph --format flt),
 * whose records are connection summaries, not tuples. */
void fg_need_tuples(flt_reader *r);
/* Declares in h the columns fg_write_aggregate() fills. */
void fg_aggregate_header(flt_header *h);
/* Writes the connection-level aggregate as a stream fg_add() can read back
 * (mergeable partial aggregate).  Ends the aggregation.  0 or -1. */
int fg_write_aggregate(flowgraph *g, flt_writer *w);
/* Folds into edges sorted by (src, dst, dport, proto).  Ends the
 * aggregation; the array belongs to the graph.  -1 on a spill I/O error. */
int fg_edges(flowgraph *g, fg_edge **edges, size_t *n);
/* A node labelled with text (an application name, ...). */
void fg_label_node(flowgraph *g, const char *label, fg_node *n);
/* Sorts edges and merges those that became equal after relabelling; returns
 * the new count. */
size_t fg_merge_edges(flowgraph *g, fg_edge *e, size_t n);
/* Label strings of FG_LABEL nodes. */
const strpool *fg_labels(const flowgraph *g);
/* Renders a node: address, "a.b.c.0/24", or the label. */
size_t fg_node_format(const flowgraph *g, const fg_node *n, char *buf, size_t cap);
/* Orders nodes: addresses and prefixes by bytes, labels by text. */
int fg_node_cmp(const flowgraph *g, const fg_node *a, const fg_node *b);
/* 1 when the node stands for the outside: public, Azure platform,
 * multicast or documentation addresses, or a label of such addresses. */
int fg_node_external(const flowgraph *g, const fg_node *n);
uint64_t fg_tuples(const flowgraph *g);

/* What the aggregation held, for --stats and the benchmarks. */
typedef struct fg_stats {
	uint64_t tuples;          /* records added */
	uint64_t conn_keys;       /* (5-tuple, observer) keys in memory at the end */
	unsigned conn_runs;       /* spill runs written */
	size_t conn_bytes;        /* memory of that table at the end */
	uint64_t edges;
	size_t edge_bytes;        /* memory of the edge array */
} fg_stats;
/* Valid after fg_edges() (the connection figures after fg_write_aggregate() too). */
void fg_get_stats(const flowgraph *g, fg_stats *st);
const char *fg_error(const flowgraph *g);
void fg_free(flowgraph *g);

#endif
