/*
 * inventory.h - an Azure estate as exported with the az CLI (account,
 * vnet, nic and public-ip lists, or Azure Resource Graph rows of the same
 * types) plus a CSV of on-premises ranges, and the placement of both ends
 * of a flow tuple in it.  See man/fl-join-subs.1 for the rules.
 *
 * Placement of one tuple:
 *   the observer (direction O: the source, I: the destination) is the NIC
 *   whose MAC logged it (any spelling of the MAC); when the inventory does
 *   not know that MAC, the record's targetResourceID, then the subscription
 *   of its flowLogResourceID, say what they can;
 *   the remote end is looked up, in this order: the observer's VNet, the
 *   VNets peered with it (Connected), public IPs of the inventory's NICs,
 *   the CSV ranges (longest prefix), then every other VNet.  The first
 *   step that matches decides; several matches there are several
 *   candidates, and a field on which they disagree is "ambiguous".
 * Resource IDs are compared without case (ASCII and Latin-1 letters);
 * names are kept byte for byte.
 */
#ifndef FL_INVENTORY_H
#define FL_INVENTORY_H

#include <stddef.h>
#include <stdint.h>

#define INV_AMBIGUOUS "ambiguous"

typedef struct inv inv;

/* Results of inv_load() below zero. */
#define INV_UNKNOWN (-1) /* parsed, but not an inventory shape we know */
#define INV_BAD (-2)     /* not valid JSON / CSV */

inv *inv_new(void);
void inv_free(inv *v);
/* Loads one file's bytes, detected by content (JSON shape, or the CSV
 * header "cidr,label,kind"); UTF-8 or UTF-16 with a BOM.  Returns the
 * number of resources or ranges taken (0 for an empty list), INV_UNKNOWN or
 * INV_BAD with a reason in why. */
int inv_load(inv *v, const char *buf, size_t n, char *why, size_t whyn);
/* Builds the indexes; call once after the last inv_load(). */
void inv_finish(inv *v);

/* Counts of what was loaded (after inv_finish, duplicates removed). */
typedef struct inv_counts {
	size_t subs, vnets, subnets, nics, pips, ranges, peerings, skipped;
} inv_counts;
void inv_get_counts(const inv *v, inv_counts *c);

/* One end of a tuple.  Strings are owned by the inventory (or are
 * INV_AMBIGUOUS); NULL is unknown. */
enum inv_field { INV_TENANT, INV_SUB, INV_RG, INV_VNET, INV_SUBNET, INV_NIC, INV_VM, INV_SITE,
	INV_NFIELDS };
typedef struct inv_end {
	const char *f[INV_NFIELDS];
	unsigned ncand;   /* places the address matched (0: none) */
} inv_end;

typedef struct inv_flow {
	const uint8_t *src, *dst; /* 16 bytes each */
	int dir;                  /* 'I' or 'O' */
	const char *mac;          /* as logged, any spelling; NULL or "" if none */
	const char *target;       /* targetResourceID, may be NULL */
	const char *flowlog;      /* flowLogResourceID / NSG resourceId, may be NULL */
	int src_tagged, dst_tagged; /* an Azure service tag is known for the address */
} inv_flow;

typedef struct inv_result {
	inv_end src, dst;
	const char *flow_type;    /* never NULL */
	int observer_known;       /* the MAC was found in the inventory */
	int remote_ambiguous;     /* the remote address matched several places */
} inv_result;

void inv_resolve(inv *v, const inv_flow *f, inv_result *out);

/* "000D3A123456" from "00-0d-3a-12-34-56", "00:0D:3A:12:34:56",
 * "000d.3a12.3456", ...: 0, or -1 when s is not a MAC. */
int inv_mac_norm(const char *s, char out[13]);

#endif
