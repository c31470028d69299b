/*
 * test_inventory.c - loading az CLI and Resource Graph shapes, MAC
 * spellings, prefix matching, and the placement rules: own VNet, peers,
 * public IPs, ranges, elsewhere; ambiguity kept per field.
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "inventory.h"
#include "ip.h"
#include "suite.h"

#define SA "11111111-1111-4111-8111-111111111111"
#define SB "22222222-2222-4222-8222-222222222222"
#define SC "33333333-3333-4333-8333-333333333333"
#define TA "aaaaaaaa-0000-4000-8000-00000000000a"
#define TB "bbbbbbbb-0000-4000-8000-00000000000b"
#define VN(s, rg, n) "/subscriptions/" s "/resourceGroups/" rg "/providers/Microsoft.Network/virtualNetworks/" n
#define NIC(s, rg, n) "/subscriptions/" s "/resourceGroups/" rg "/providers/Microsoft.Network/networkInterfaces/" n

/* az shapes: hub (SA) peered with spoke (SA, other VNet) and, Initiated
 * only, with far (SC, tenant B); spoke and far both use 10.0.0.0/16;
 * dev1 (SA) and dev2 (SB) both 172.16.0.0/16, same tenant. */
static const char accounts[] =
	"[{\"id\":\"" SA "\",\"name\":\"a\",\"tenantId\":\"" TA "\",\"isDefault\":true},"
	" {\"id\":\"" SB "\",\"name\":\"b\",\"tenantId\":\"" TA "\"},"
	" {\"id\":\"" SC "\",\"name\":\"c\",\"tenantId\":\"" TB "\"}]";
static const char vnets[] =
	"[{\"type\":\"Microsoft.Network/virtualNetworks\",\"name\":\"hub\",\"id\":\"" VN(SA, "rg1", "hub") "\","
	"  \"addressSpace\":{\"addressPrefixes\":[\"10.1.0.0/16\",\"2001:db8:1::/48\"]},"
	"  \"subnets\":[{\"name\":\"s1\",\"id\":\"" VN(SA, "rg1", "hub") "/subnets/s1\",\"addressPrefix\":\"10.1.0.0/16\"},"
	"             {\"name\":\"s2\",\"id\":\"" VN(SA, "rg1", "hub") "/subnets/s2\",\"addressPrefixes\":[\"10.1.2.0/24\"]}],"
	"  \"virtualNetworkPeerings\":[{\"peeringState\":\"Connected\",\"remoteVirtualNetwork\":{\"id\":\"" VN(SA, "RG2", "SPOKE") "\"}},"
	"                             {\"peeringState\":\"Initiated\",\"remoteVirtualNetwork\":{\"id\":\"" VN(SC, "rg3", "far") "\"}}]},"
	" {\"type\":\"Microsoft.Network/virtualNetworks\",\"name\":\"spoke\",\"id\":\"" VN(SA, "rg2", "spoke") "\","
	"  \"addressSpace\":{\"addressPrefixes\":[\"10.0.0.0/16\"]},\"subnets\":[]},"
	" {\"type\":\"Microsoft.Network/virtualNetworks\",\"name\":\"far\",\"id\":\"" VN(SC, "rg3", "far") "\","
	"  \"addressSpace\":{\"addressPrefixes\":[\"10.0.0.0/16\"]}},"
	" {\"type\":\"Microsoft.Network/virtualNetworks\",\"name\":\"dev1\",\"id\":\"" VN(SA, "rg4", "dev1") "\","
	"  \"addressSpace\":{\"addressPrefixes\":[\"172.16.0.0/16\"]}},"
	" {\"type\":\"Microsoft.Network/virtualNetworks\",\"name\":\"dev2\",\"id\":\"" VN(SB, "rg4", "dev2") "\","
	"  \"addressSpace\":{\"addressPrefixes\":[\"172.16.0.0/16\"]}}]";
static const char nics[] =
	"[{\"type\":\"Microsoft.Network/networkInterfaces\",\"name\":\"n1\",\"id\":\"" NIC(SA, "rg1", "n1") "\","
	"  \"macAddress\":\"00-0D-3A-12-34-56\",\"virtualMachine\":{\"id\":\"/subscriptions/" SA "/resourceGroups/rg1/providers/Microsoft.Compute/virtualMachines/vm1\"},"
	"  \"ipConfigurations\":[{\"privateIPAddress\":\"10.1.2.4\",\"subnet\":{\"id\":\"" VN(SA, "rg1", "hub") "/subnets/s2\"}}]},"
	/* the same MAC in another subscription: the record's subscription picks */
	" {\"type\":\"Microsoft.Network/networkInterfaces\",\"name\":\"n9\",\"id\":\"" NIC(SC, "rg3", "n9") "\","
	"  \"macAddress\":\"00-0D-3A-12-34-56\","
	"  \"ipConfigurations\":[{\"privateIPAddress\":\"10.0.0.9\",\"subnet\":{\"id\":\"" VN(SC, "rg3", "far") "/subnets/x\"}}]}]";
/* Resource Graph shape for a public IP, and a NIC under "properties" */
static const char graph[] =
	"{\"count\":2,\"data\":["
	" {\"id\":\"/subscriptions/" SA "/resourceGroups/rg1/providers/Microsoft.Network/publicIPAddresses/p1\",\"name\":\"p1\","
	"  \"type\":\"microsoft.network/publicipaddresses\",\"tenantId\":\"" TA "\",\"subscriptionId\":\"" SA "\","
	"  \"properties\":{\"ipAddress\":\"20.1.2.3\",\"ipConfiguration\":{\"id\":\"" NIC(SA, "rg1", "n1") "/ipConfigurations/ipconfig1\"}}},"
	" {\"id\":\"" NIC(SA, "rg2", "n2") "\",\"name\":\"n2\",\"type\":\"microsoft.network/networkinterfaces\","
	"  \"tenantId\":\"" TA "\",\"subscriptionId\":\"" SA "\",\"properties\":{\"macAddress\":\"00-0D-3A-00-00-02\","
	"  \"ipConfigurations\":[{\"properties\":{\"privateIPAddress\":\"10.0.1.5\",\"subnet\":{\"id\":\"" VN(SA, "rg2", "spoke") "/subnets/db\"}}}]}}]}";
static const char ranges[] =
	"cidr,label,kind\r\n192.168.0.0/16,hq,S2S\r\n192.168.7.0/24,lab,ExpressRoute\r\n172.20.0.0/22,vpn,P2S\r\n"
	"2001:db8:99::/48, \"hq, v6\" ,s2s\r\n";

static inv *load_all(void)
{
	inv *v = inv_new();
	const char *docs[] = { accounts, vnets, nics, graph, ranges };
	char why[256];
	for (size_t i = 0; i < 5; i++)
		ck_assert_int_gt(inv_load(v, docs[i], strlen(docs[i]), why, sizeof why), 0);
	inv_finish(v);
	return v;
}

static void addr(const char *s, uint8_t a[16])
{
	ck_assert_int_eq(ip_parse(s, strlen(s), a), 0);
}

static inv_result res;

static void resolve(inv *v, const char *mac, const char *target, const char *src, const char *dst, int dir)
{
	static uint8_t a[16], b[16];
	addr(src, a);
	addr(dst, b);
	inv_flow f = { a, b, dir, mac, target, NULL, 0, 0 };
	inv_resolve(v, &f, &res);
}

#define S(x) ((x) ? (x) : "")
#define L(s) s, strlen(s)

START_TEST(mac_spellings)
{
	static const char *const ok[] = { "00-0D-3A-12-34-56", "000d3a123456", "00:0d:3a:12:34:56",
	                                  "000D.3A12.3456", "000D3A123456" };
	char out[13];
	for (size_t i = 0; i < sizeof ok / sizeof *ok; i++) {
		ck_assert_int_eq(inv_mac_norm(ok[i], out), 0);
		ck_assert_str_eq(out, "000D3A123456");
	}
	static const char *const bad[] = { "", "000D3A12345", "000D3A1234567", "00-0D-3A-12-34-5G", NULL };
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
		ck_assert_int_eq(inv_mac_norm(bad[i], out), -1);
}
END_TEST

START_TEST(peer_before_elsewhere)
{
	inv *v = load_all();
	/* n1 (hub) receives from 10.0.1.5: spoke (peered) and far (Initiated) hold it */
	resolve(v, "000D3A123456", VN(SA, "rg1", "hub"), "10.0.1.5", "10.1.2.4", 'I');
	ck_assert_str_eq(S(res.src.f[INV_VNET]), "spoke");
	ck_assert_str_eq(S(res.src.f[INV_NIC]), "n2");
	ck_assert_str_eq(S(res.src.f[INV_SUBNET]), "db");
	ck_assert_str_eq(S(res.dst.f[INV_NIC]), "n1");
	ck_assert_str_eq(S(res.dst.f[INV_VM]), "vm1");
	ck_assert_str_eq(S(res.dst.f[INV_SUBNET]), "s2");
	ck_assert_str_eq(res.flow_type, "InterVNet");
	ck_assert_int_eq(res.observer_known, 1);
	ck_assert_int_eq(res.remote_ambiguous, 0);
	/* the same address from an observer with no peers: two places */
	resolve(v, NULL, VN(SA, "rg4", "dev1"), "172.16.0.4", "10.0.1.5", 'O');
	ck_assert_str_eq(S(res.dst.f[INV_VNET]), INV_AMBIGUOUS);
	ck_assert_str_eq(S(res.dst.f[INV_TENANT]), INV_AMBIGUOUS);
	ck_assert_str_eq(res.flow_type, INV_AMBIGUOUS);
	ck_assert_uint_eq(res.dst.ncand, 2);
	/* and from the hub again: the cache is per observer VNet */
	resolve(v, "000D3A123456", VN(SA, "rg1", "hub"), "10.1.2.4", "10.0.1.5", 'O');
	ck_assert_str_eq(S(res.dst.f[INV_VNET]), "spoke");
	inv_free(v);
}
END_TEST

START_TEST(ambiguity_per_field)
{
	inv *v = load_all();
	/* 172.16.0.4 from the hub: dev1 (SA) and dev2 (SB), one tenant */
	resolve(v, "000D3A123456", NULL, "10.1.2.4", "172.16.0.4", 'O');
	ck_assert_str_eq(S(res.dst.f[INV_TENANT]), TA);
	ck_assert_str_eq(S(res.dst.f[INV_SUB]), INV_AMBIGUOUS);
	ck_assert_str_eq(S(res.dst.f[INV_RG]), "rg4");
	ck_assert_str_eq(S(res.dst.f[INV_VNET]), INV_AMBIGUOUS);
	ck_assert_ptr_null(res.dst.f[INV_NIC]);
	/* InterVNet (dev1, same subscription) or CrossSubscription (dev2) */
	ck_assert_str_eq(res.flow_type, INV_AMBIGUOUS);
	ck_assert_int_eq(res.remote_ambiguous, 1);
	inv_free(v);
}
END_TEST

START_TEST(observer_rules)
{
	inv *v = load_all();
	/* a MAC in two subscriptions: the target's subscription decides */
	resolve(v, "000d3a123456", VN(SC, "rg3", "far"), "10.0.0.9", "10.0.0.10", 'O');
	ck_assert_str_eq(S(res.src.f[INV_NIC]), "n9");
	ck_assert_str_eq(S(res.src.f[INV_TENANT]), TB);
	ck_assert_str_eq(S(res.dst.f[INV_VNET]), "far");
	ck_assert_str_eq(res.flow_type, "IntraVNet");
	/* a NIC listed without a subnet: the target gives its VNet */
	{
		inv *w = inv_new();
		char why[256];
		const char *n3 = "[{\"type\":\"Microsoft.Network/networkInterfaces\",\"name\":\"n3\","
		                 "\"id\":\"" NIC(SA, "rg1", "n3") "\",\"macAddress\":\"00-0D-3A-00-00-03\"}]";
		ck_assert_int_eq(inv_load(w, n3, strlen(n3), why, sizeof why), 1);
		ck_assert_int_gt(inv_load(w, vnets, strlen(vnets), why, sizeof why), 0);
		inv_finish(w);
		resolve(w, "000D3A000003", VN(SA, "rg1", "hub"), "10.1.7.7", "10.1.2.9", 'O');
		ck_assert_str_eq(S(res.src.f[INV_NIC]), "n3");
		ck_assert_str_eq(S(res.src.f[INV_VNET]), "hub");
		ck_assert_str_eq(res.flow_type, "IntraVNet");
		inv_free(w);
	}
	/* without a target, both NICs remain */
	resolve(v, "000d3a123456", NULL, "10.0.0.9", "8.8.8.8", 'O');
	ck_assert_str_eq(S(res.src.f[INV_NIC]), INV_AMBIGUOUS);
	ck_assert_str_eq(res.flow_type, "ExternalPublic");
	/* unknown MAC, upper-cased subnet target: the subnet and its VNet */
	resolve(v, "000D3AFFFFFF", "/SUBSCRIPTIONS/" SA "/RESOURCEGROUPS/RG1/PROVIDERS/MICROSOFT.NETWORK/"
	        "VIRTUALNETWORKS/HUB/SUBNETS/S1", "10.1.9.9", "10.1.2.4", 'O');
	ck_assert_str_eq(S(res.src.f[INV_VNET]), "hub");
	ck_assert_str_eq(S(res.src.f[INV_SUBNET]), "s1");
	ck_assert_str_eq(S(res.src.f[INV_RG]), "rg1");
	ck_assert_int_eq(res.observer_known, 0);
	ck_assert_str_eq(S(res.dst.f[INV_NIC]), "n1");
	ck_assert_str_eq(res.flow_type, "IntraVNet");
	/* a target the inventory does not know: what its ID says */
	resolve(v, NULL, VN("55555555-5555-4555-8555-555555555555", "Rg-X", "vx"), "10.7.0.4", "10.1.2.4", 'O');
	ck_assert_str_eq(S(res.src.f[INV_SUB]), "55555555-5555-4555-8555-555555555555");
	ck_assert_str_eq(S(res.src.f[INV_RG]), "Rg-X");
	ck_assert_str_eq(S(res.src.f[INV_VNET]), "vx");
	ck_assert_ptr_null(res.src.f[INV_TENANT]);
	/* 10.1.2.4 is found anywhere (n1 in hub): different subscriptions */
	ck_assert_str_eq(S(res.dst.f[INV_VNET]), "hub");
	ck_assert_str_eq(res.flow_type, "CrossSubscription");
	inv_free(v);
}
END_TEST

START_TEST(flow_types)
{
	inv *v = load_all();
	static const struct { const char *remote; int tagged; const char *type, *site; } t[] = {
		{ "192.168.1.1", 0, "S2S", "hq" },
		{ "192.168.7.200", 0, "S2S", "lab" },     /* longest prefix; ExpressRoute is S2S */
		{ "172.20.3.255", 0, "P2S", "vpn" },
		{ "172.20.4.0", 0, "UnknownPrivate", NULL },
		{ "100.64.0.1", 0, "UnknownPrivate", NULL },
		{ "8.8.8.8", 0, "ExternalPublic", NULL },
		{ "8.8.8.8", 1, "AzurePublic", NULL },
		{ "168.63.129.16", 0, "AzurePublic", NULL },
		{ "10.1.255.255", 0, "IntraVNet", NULL },
		{ "2001:db8:1:ffff::1", 0, "IntraVNet", NULL },
		{ "2001:db8:2::1", 0, "Unknown", NULL },   /* documentation range outside the VNet */
		{ "20.1.2.3", 0, "IntraVNet", NULL },      /* n1's own public IP */
		{ "224.0.0.5", 0, "Unknown", NULL },
		{ "2001:db8:99:1::1", 0, "S2S", "hq, v6" },
	};
	for (size_t i = 0; i < sizeof t / sizeof *t; i++) {
		uint8_t a[16], b[16];
		addr("10.1.2.4", a);
		addr(t[i].remote, b);
		inv_flow f = { a, b, 'O', "00-0D-3A-12-34-56", VN(SA, "rg1", "hub"), NULL, 0, t[i].tagged };
		inv_resolve(v, &f, &res);
		ck_assert_msg(!strcmp(res.flow_type, t[i].type), "%s: %s, expected %s", t[i].remote,
		              res.flow_type, t[i].type);
		ck_assert_str_eq(S(res.dst.f[INV_SITE]), S(t[i].site));
	}
	/* no observer at all: a private remote end is Unknown, a public one still external */
	resolve(v, NULL, NULL, "10.99.0.1", "10.98.0.1", 'O');
	ck_assert_str_eq(res.flow_type, "Unknown");
	resolve(v, NULL, NULL, "10.99.0.1", "9.9.9.9", 'O');
	ck_assert_str_eq(res.flow_type, "ExternalPublic");
	inv_free(v);
}
END_TEST

START_TEST(shapes_and_errors)
{
	inv *v = inv_new();
	char why[256];
	/* PowerShell's UTF-16LE with a BOM */
	const char *s = accounts;
	size_t n = strlen(s);
	char *u = malloc(2 * n + 2);
	u[0] = (char)0xFF, u[1] = (char)0xFE;
	for (size_t i = 0; i < n; i++)
		u[2 + 2 * i] = s[i], u[3 + 2 * i] = 0;
	ck_assert_int_eq(inv_load(v, u, 2 * n + 2, why, sizeof why), 3);
	free(u);
	ck_assert_int_eq(inv_load(v, L("[]"), why, sizeof why), 0);
	ck_assert_int_eq(inv_load(v, L("{\"data\":[]}"), why, sizeof why), 0);
	ck_assert_int_eq(inv_load(v, L("{\"records\":[]}"), why, sizeof why), INV_UNKNOWN);
	ck_assert_int_eq(inv_load(v, L("[{\"type\":\"microsoft.storage/storageaccounts\"}]"), why, sizeof why),
	                 INV_UNKNOWN);
	ck_assert_int_eq(inv_load(v, L("readme\n"), why, sizeof why), INV_UNKNOWN);
	ck_assert_int_eq(inv_load(v, L("[{\"id\": 1"), why, sizeof why), INV_BAD);
	ck_assert_ptr_nonnull(strstr(why, "line 1"));
	const char *csv = "cidr,label,kind\n10.0.0.0/8,x,S2S\n10.0.0.0/8,y,VPN\n";
	ck_assert_int_eq(inv_load(v, csv, strlen(csv), why, sizeof why), INV_BAD);
	ck_assert_ptr_nonnull(strstr(why, "line 3"));
	csv = "cidr,label,kind\n10.0.0.0/33,x,S2S\n";
	ck_assert_int_eq(inv_load(v, csv, strlen(csv), why, sizeof why), INV_BAD);
	/* the same inventory twice (az and Resource Graph together) is no ambiguity */
	ck_assert_int_gt(inv_load(v, vnets, strlen(vnets), why, sizeof why), 0);
	ck_assert_int_gt(inv_load(v, vnets, strlen(vnets), why, sizeof why), 0);
	inv_finish(v);
	inv_counts c;
	inv_get_counts(v, &c);
	ck_assert_uint_eq(c.subs, 3);
	ck_assert_uint_eq(c.vnets, 5);
	ck_assert_uint_eq(c.ranges, 0); /* the files with a bad row left nothing behind */
	ck_assert_uint_eq(c.peerings, 1);
	resolve(v, NULL, VN(SA, "rg1", "hub"), "10.1.0.4", "10.0.0.1", 'O');
	ck_assert_str_eq(S(res.dst.f[INV_VNET]), "spoke");
	ck_assert_str_eq(res.flow_type, "InterVNet");
	inv_free(v);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("inventory");
	TCase *tc = tcase_create("core");
	tcase_add_test(tc, mac_spellings);
	tcase_add_test(tc, peer_before_elsewhere);
	tcase_add_test(tc, ambiguity_per_field);
	tcase_add_test(tc, observer_rules);
	tcase_add_test(tc, flow_types);
	tcase_add_test(tc, shapes_and_errors);
	suite_add_tcase(s, tc);
	return fl_run_suite(s);
}
