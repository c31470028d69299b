/*
 * apps.h - microservices unified into applications: connected components
 * over internal edges, where shared infrastructure does not glue workloads
 * together.  An edge to a shared port (DNS, Kerberos, NTP, LDAP, SMB,
 * LDAPS, ...) is not a bond, and a node whose fan-in (distinct internal
 * clients) reaches the hub threshold is a shared service of its own.
 */
#ifndef FL_APPS_H
#define FL_APPS_H

#include <stddef.h>
#include <stdint.h>
#include "flowgraph.h"

#define APPS_MAX_SHARED 64
/* DNS, DHCP, Kerberos, NTP, RPC, NetBIOS, SNMP, LDAP, SMB, kpasswd, LDAPS,
 * global catalog, WinRM, Prometheus node exporter, Zabbix agent/server. */
#define APPS_DEFAULT_SHARED \
	"53,67,88,123,135,137,138,139,161,389,445,464,636,3268,3269,5985,5986,9100,10050,10051"
#define APPS_DEFAULT_HUB_FAN_IN 10

typedef struct apps_opts {
	uint16_t shared[APPS_MAX_SHARED];
	size_t nshared;
	unsigned hub_fan_in;
} apps_opts;

typedef struct app_info {
	char name[32];          /* "app-3", or "shared-2" for a shared service */
	int shared;             /* 1: a hub or a server of shared ports only */
	size_t nmembers;
	fg_node *members;       /* sorted */
	size_t internal_edges;  /* edges with both ends in the application */
	size_t public_peers_in; /* distinct public nodes reaching members */
	size_t public_peers_out;/* distinct public nodes members reach */
	uint64_t flows, bytes;  /* over every edge touching a member (internal edges once) */
	char exposed[160];      /* allowed inbound ports by distinct public peers: "443/tcp:1200 3389/tcp:2" */
} app_info;

typedef struct apps apps;

/* Parses "53,88,123"; -1 on a bad list. */
int apps_parse_ports(const char *list, apps_opts *o);
/* Builds the applications of a graph at address granularity. */
apps *apps_build(const flowgraph *g, const fg_edge *edges, size_t n, const apps_opts *o);
size_t apps_count(const apps *a);
const app_info *apps_get(const apps *a, size_t i);
/* Application of an internal node, or NULL (external, unknown). */
const app_info *apps_of(const apps *a, const fg_node *n);
void apps_free(apps *a);

#endif
