/*
 * NAME
 *	test_iptree - unit tests for lists/iptree.c
 * DESCRIPTION
 *	Range parsing and formatting, ordering, nested lookups walking out
 *	through parent links, /0 ranges, both families, mapped addresses.
 */
#include "lists/iptree.h"

#include <sys/socket.h>

#include <arpa/inet.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

/* test_parse - ranges, their canonical text, and refusals */
static void
test_parse(void **state)
{
	static const struct {
		const char *name;
		const char *input;
		const char *want; /* canonical text, or the error */
		int want_rc;
	} cases[] = {
		{ "v4 net", "10.0.0.0/8", "10.0.0.0/8", 0 },
		{ "v4 host", "192.0.2.1", "192.0.2.1", 0 },
		{ "v4 /32", "192.0.2.1/32", "192.0.2.1", 0 },
		{ "v4 /0", "0.0.0.0/0", "0.0.0.0/0", 0 },
		{ "v6 net", "2001:DB8::/32", "2001:db8::/32", 0 },
		{ "v6 /128", "::1/128", "::1", 0 },
		{ "v6 /0", "::/0", "::/0", 0 },
		{ "mapped /120", "::ffff:192.0.2.0/120", "192.0.2.0/24", 0 },
		{ "mapped host", "::ffff:192.0.2.1", "192.0.2.1", 0 },
		{ "mapped /95 stays v6", "::fffe:0:0/95", "::fffe:0:0/95", 0 },
		{ "host bits", "10.0.0.1/8", "host bits set in \"10.0.0.1/8\"",
		    -1 },
		{ "prefix 33", "10.0.0.0/33",
		    "prefix length must be 0 to 32: \"10.0.0.0/33\"", -1 },
		{ "prefix 129", "::/129",
		    "prefix length must be 0 to 128: \"::/129\"", -1 },
		{ "prefix sign", "10.0.0.0/+8",
		    "prefix length must be 0 to 32: \"10.0.0.0/+8\"", -1 },
		{ "garbage", "example.com",
		    "not an IP address or CIDR range: \"example.com\"", -1 },
		{ "short v4", "10.1",
		    "not an IP address or CIDR range: \"10.1\"", -1 },
		{ "empty", "", "not an IP address or CIDR range: \"\"", -1 },
	};
	struct iptree_net net;
	char buf[128];
	size_t i;
	int rc;

	(void)state;
	for (i = 0; i < NELEM(cases); i++) {
		buf[0] = '\0';
		rc = iptree_net_parse(cases[i].input, strlen(cases[i].input),
		    &net, buf, sizeof(buf));
		if (rc != cases[i].want_rc)
			fail_msg("%s: got %d, want %d", cases[i].name, rc,
			    cases[i].want_rc);
		if (rc == 0)
			iptree_net_format(&net, buf, sizeof(buf));
		if (strcmp(buf, cases[i].want) != 0)
			fail_msg("%s: got \"%s\", want \"%s\"", cases[i].name,
			    buf, cases[i].want);
	}
}

/* test_match - innermost first, then outwards */
static void
test_match(void **state)
{
	/* Sorted: IPv4 first, by network, wider first. */
	static const char *const ranges[] = { "0.0.0.0/0", "10.0.0.0/8",
		"10.0.0.0/16", "10.0.0.5", "10.2.0.0/16", "192.0.2.0/24",
		"255.255.255.255", "::/0", "2001:db8::/32", "2001:db8::/48",
		"ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff" };
	static const struct {
		const char *addr;
		const char *want; /* the ranges, innermost first, "|" */
	} cases[] = {
		{ "10.0.0.5", "10.0.0.5|10.0.0.0/16|10.0.0.0/8|0.0.0.0/0" },
		{ "10.0.0.6", "10.0.0.0/16|10.0.0.0/8|0.0.0.0/0" },
		{ "10.1.0.0", "10.0.0.0/8|0.0.0.0/0" },
		{ "10.2.3.4", "10.2.0.0/16|10.0.0.0/8|0.0.0.0/0" },
		{ "11.0.0.0", "0.0.0.0/0" },
		{ "255.255.255.255", "255.255.255.255|0.0.0.0/0" },
		{ "::ffff:10.0.0.5",
		    "10.0.0.5|10.0.0.0/16|10.0.0.0/8|"
		    "0.0.0.0/0" },
		{ "2001:db8::1", "2001:db8::/48|2001:db8::/32|::/0" },
		{ "2001:db8:1::1", "2001:db8::/32|::/0" },
		{ "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
		    "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff|::/0" },
		{ "::", "::/0" },
	};
	struct iptree_net nets[NELEM(ranges)], got;
	struct iptree *t = NULL;
	struct cidr_addr addr;
	char why[128], buf[512], one[64];
	size_t i, k;

	(void)state;
	for (i = 0; i < NELEM(ranges); i++)
		assert_int_equal(iptree_net_parse(ranges[i], strlen(ranges[i]),
				     &nets[i], why, sizeof(why)),
		    0);
	assert_int_equal(iptree_build(nets, NELEM(nets), &t), 0);
	for (i = 0; i < NELEM(ranges); i++) {
		assert_int_equal(iptree_get(t, i, &got), 0);
		iptree_net_format(&got, one, sizeof(one));
		if (strcmp(one, ranges[i]) != 0)
			fail_msg(
			    "range %zu: got %s, want %s", i, one, ranges[i]);
	}
	assert_int_equal(iptree_get(t, NELEM(ranges), &got), -1);
	for (i = 0; i < NELEM(cases); i++) {
		memset(&addr, 0, sizeof(addr));
		if (strchr(cases[i].addr, ':') != NULL) {
			addr.family = AF_INET6;
			assert_int_equal(
			    inet_pton(AF_INET6, cases[i].addr, addr.bytes), 1);
		} else {
			addr.family = AF_INET;
			assert_int_equal(
			    inet_pton(AF_INET, cases[i].addr, addr.bytes), 1);
		}
		buf[0] = '\0';
		k = IPTREE_NONE;
		while ((k = iptree_match(t, &addr, k)) != IPTREE_NONE) {
			iptree_net_format(&nets[k], one, sizeof(one));
			if (buf[0] != '\0')
				strcat(buf, "|");
			strcat(buf, one);
		}
		if (strcmp(buf, cases[i].want) != 0)
			fail_msg("%s: got \"%s\", want \"%s\"", cases[i].addr,
			    buf, cases[i].want);
	}
	iptree_free(&t);
	assert_null(t);
	iptree_free(NULL);
}

/* test_unsorted - iptree_build refuses unsorted or repeated ranges */
static void
test_unsorted(void **state)
{
	struct iptree_net nets[2];
	struct iptree *t = NULL;
	char why[128];

	(void)state;
	assert_int_equal(
	    iptree_net_parse("10.0.0.0/8", 10, &nets[0], why, sizeof(why)), 0);
	assert_int_equal(
	    iptree_net_parse("9.0.0.0/8", 9, &nets[1], why, sizeof(why)), 0);
	assert_int_equal(iptree_build(nets, 2, &t), -1);
	assert_null(t);
	nets[1] = nets[0];
	assert_int_equal(iptree_build(nets, 2, &t), -1);
	assert_int_equal(iptree_build(nets, 0, &t), 0);
	memset(&nets[1], 0, sizeof(nets[1]));
	nets[1].net.family = AF_INET;
	assert_int_equal(
	    iptree_match(t, &nets[1].net, IPTREE_NONE), IPTREE_NONE);
	iptree_free(&t);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse),
		cmocka_unit_test(test_match),
		cmocka_unit_test(test_unsorted),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
