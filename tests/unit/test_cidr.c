/*
 * NAME
 *	test_cidr - unit tests for lists/cidr.c
 * DESCRIPTION
 *	Tables of ranges and addresses: IPv4, IPv6, IPv4-mapped IPv6 both
 *	ways, host bits, bad prefixes and bad addresses, formatting.
 */
#include "lists/cidr.h"

#include <sys/socket.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

/* test_add_good - ranges that parse, and how they print back */
static void
test_add_good(void **state)
{
	static const struct {
		const char *name;
		const char *input;
		const char *want;
	} cases[] = {
		{ "v4 net", "10.0.0.0/8", "10.0.0.0/8" },
		{ "v4 host", "192.0.2.1", "192.0.2.1/32" },
		{ "v4 /32", "192.0.2.1/32", "192.0.2.1/32" },
		{ "v4 /0", "0.0.0.0/0", "0.0.0.0/0" },
		{ "v4 /25", "192.0.2.128/25", "192.0.2.128/25" },
		{ "v6 net", "2001:db8::/32", "2001:db8::/32" },
		{ "v6 host", "::1", "::1/128" },
		{ "v6 /0", "::/0", "::/0" },
		{ "v6 odd prefix", "2001:db8:8000::/33", "2001:db8:8000::/33" },
		{ "mapped /104", "::ffff:10.0.0.0/104", "10.0.0.0/8" },
		{ "mapped host", "::ffff:192.0.2.1", "192.0.2.1/32" },
		{ "leading zero prefix", "10.0.0.0/08", "10.0.0.0/8" },
	};
	char buf[64], *error;
	struct cidr_set *set;
	size_t i;

	(void)state;
	for (i = 0; i < NELEM(cases); i++) {
		set = cidr_set_create();
		assert_non_null(set);
		error = NULL;
		if (cidr_set_add(set, cases[i].input, &error) < 0)
			fail_msg("%s: %s: got error \"%s\", want success",
			    cases[i].name, cases[i].input, error);
		if (cidr_set_count(set) != 1)
			fail_msg("%s: got count %zu, want 1", cases[i].name,
			    cidr_set_count(set));
		cidr_set_format(set, 0, buf, sizeof(buf));
		if (strcmp(buf, cases[i].want) != 0)
			fail_msg("%s: got \"%s\", want \"%s\"", cases[i].name,
			    buf, cases[i].want);
		cidr_set_free(&set);
		assert_null(set);
	}
}

/* test_add_bad - ranges that must be refused, and why */
static void
test_add_bad(void **state)
{
	static const struct {
		const char *name;
		const char *input;
		const char *want; /* error text */
	} cases[] = {
		{ "v4 host bits", "10.0.0.1/8", "10.0.0.1/8: host bits set" },
		{ "v6 host bits", "2001:db8::1/32",
		    "2001:db8::1/32: host bits set" },
		{ "v4 /33", "10.0.0.0/33",
		    "10.0.0.0/33: prefix length must be 0 to 32" },
		{ "v6 /129", "::/129",
		    "::/129: prefix length must be 0 to 128" },
		{ "empty prefix", "10.0.0.0/",
		    "10.0.0.0/: prefix length must be 0 to 32" },
		{ "negative prefix", "10.0.0.0/-1",
		    "10.0.0.0/-1: prefix length must be 0 to 32" },
		{ "plus prefix", "10.0.0.0/+8",
		    "10.0.0.0/+8: prefix length must be 0 to 32" },
		{ "letters prefix", "10.0.0.0/eight",
		    "10.0.0.0/eight: prefix length must be 0 to 32" },
		{ "long prefix", "10.0.0.0/0008",
		    "10.0.0.0/0008: prefix length must be 0 to 32" },
		{ "two slashes", "10.0.0.0/8/8",
		    "10.0.0.0/8/8: prefix length must be 0 to 32" },
		{ "empty", "", ": not an IP address" },
		{ "only prefix", "/8", "/8: not an IP address" },
		{ "name", "localhost", "localhost: not an IP address" },
		{ "short v4", "10.0.0/8", "10.0.0/8: not an IP address" },
		{ "v4 octet", "256.0.0.0/8", "256.0.0.0/8: not an IP address" },
		{ "space", " 10.0.0.0/8", " 10.0.0.0/8: not an IP address" },
		{ "brackets", "[::1]", "[::1]: not an IP address" },
		{ "mapped host bits", "::ffff:10.0.0.1/104",
		    "::ffff:10.0.0.1/104: host bits set" },
	};
	struct cidr_set *set;
	char *error;
	size_t i;

	(void)state;
	set = cidr_set_create();
	assert_non_null(set);
	for (i = 0; i < NELEM(cases); i++) {
		error = NULL;
		if (cidr_set_add(set, cases[i].input, &error) == 0)
			fail_msg("%s: \"%s\": got success, want \"%s\"",
			    cases[i].name, cases[i].input, cases[i].want);
		if (error == NULL || strcmp(error, cases[i].want) != 0)
			fail_msg("%s: got \"%s\", want \"%s\"", cases[i].name,
			    error ? error : "(null)", cases[i].want);
		free(error);
	}
	if (cidr_set_count(set) != 0)
		fail_msg("got count %zu after only bad ranges, want 0",
		    cidr_set_count(set));
	cidr_set_free(&set);
}

/* test_match - addresses against one set of v4, v6 and mapped ranges */
static void
test_match(void **state)
{
	static const char *const ranges[] = { "10.0.0.0/8", "192.0.2.128/25",
		"2001:db8::/32", "::1", "::ffff:198.51.100.0/120" };
	static const struct {
		const char *name;
		const char *input;
		int want;
	} cases[] = {
		{ "v4 inside /8", "10.1.2.3", 1 },
		{ "v4 first of /8", "10.0.0.0", 1 },
		{ "v4 last of /8", "10.255.255.255", 1 },
		{ "v4 below /8", "9.255.255.255", 0 },
		{ "v4 above /8", "11.0.0.0", 0 },
		{ "v4 in /25", "192.0.2.200", 1 },
		{ "v4 below /25", "192.0.2.127", 0 },
		{ "v6 in /32", "2001:db8:1::5", 1 },
		{ "v6 out of /32", "2001:db9::1", 0 },
		{ "v6 loopback", "::1", 1 },
		{ "v6 ::2", "::2", 0 },
		{ "mapped into v4 range", "::ffff:10.9.8.7", 1 },
		{ "mapped outside", "::ffff:11.0.0.1", 0 },
		{ "v4 in mapped range", "198.51.100.7", 1 },
		{ "mapped in mapped range", "::ffff:198.51.100.7", 1 },
		{ "v4 out of mapped range", "198.51.101.7", 0 },
		{ "v4-compatible is not mapped", "::10.1.2.3", 0 },
	};
	struct cidr_addr addr;
	struct cidr_set *set;
	char *error = NULL;
	size_t i;
	int got;

	(void)state;
	set = cidr_set_create();
	assert_non_null(set);
	for (i = 0; i < NELEM(ranges); i++) {
		if (cidr_set_add(set, ranges[i], &error) < 0)
			fail_msg("add %s: %s", ranges[i], error);
	}
	for (i = 0; i < NELEM(cases); i++) {
		if (cidr_addr_parse(cases[i].input, &addr) < 0)
			fail_msg("%s: cannot parse %s", cases[i].name,
			    cases[i].input);
		got = cidr_set_match(set, &addr);
		if (got != cases[i].want)
			fail_msg("%s: %s: got %d, want %d", cases[i].name,
			    cases[i].input, got, cases[i].want);
	}
	cidr_set_free(&set);
}

/* test_match_raw_mapped - a mapped address the caller built as AF_INET6 */
static void
test_match_raw_mapped(void **state)
{
	struct cidr_addr addr;
	struct cidr_set *set;
	char *error = NULL;

	(void)state;
	set = cidr_set_create();
	assert_non_null(set);
	assert_int_equal(cidr_set_add(set, "10.0.0.0/8", &error), 0);
	memset(&addr, 0, sizeof(addr));
	addr.family = AF_INET6;
	addr.bytes[10] = 0xff;
	addr.bytes[11] = 0xff;
	addr.bytes[12] = 10;
	addr.bytes[15] = 1;
	if (cidr_set_match(set, &addr) != 1)
		fail_msg("::ffff:10.0.0.1 as AF_INET6: got 0, want 1");
	assert_int_equal(cidr_set_match(NULL, &addr), 0);
	cidr_set_free(&set);
	cidr_set_free(&set); /* NULL is fine */
	cidr_set_free(NULL);
}

/* test_addr_parse - bare addresses */
static void
test_addr_parse(void **state)
{
	static const struct {
		const char *name;
		const char *input;
		int want_ret;
		int want_family;
	} cases[] = {
		{ "v4", "192.0.2.1", 0, AF_INET },
		{ "v6", "2001:db8::1", 0, AF_INET6 },
		{ "mapped becomes v4", "::ffff:192.0.2.1", 0, AF_INET },
		{ "prefix refused", "192.0.2.0/24", -1, 0 },
		{ "name refused", "example.com", -1, 0 },
		{ "empty refused", "", -1, 0 },
	};
	struct cidr_addr addr;
	size_t i;
	int ret;

	(void)state;
	for (i = 0; i < NELEM(cases); i++) {
		memset(&addr, 0, sizeof(addr));
		ret = cidr_addr_parse(cases[i].input, &addr);
		if (ret != cases[i].want_ret)
			fail_msg("%s: got %d, want %d", cases[i].name, ret,
			    cases[i].want_ret);
		if (ret == 0 && addr.family != cases[i].want_family)
			fail_msg("%s: got family %d, want %d", cases[i].name,
			    addr.family, cases[i].want_family);
	}
	assert_int_equal(cidr_addr_parse("::ffff:192.0.2.1", &addr), 0);
	assert_int_equal(addr.bytes[0], 192);
	assert_int_equal(addr.bytes[3], 1);
}

/* test_many - growth past the first allocation keeps order */
static void
test_many(void **state)
{
	struct cidr_set *set;
	char text[32], buf[64], *error = NULL;
	size_t i;

	(void)state;
	set = cidr_set_create();
	assert_non_null(set);
	for (i = 0; i < 100; i++) {
		snprintf(text, sizeof(text), "10.%zu.0.0/16", i);
		if (cidr_set_add(set, text, &error) < 0)
			fail_msg("add %s: %s", text, error);
	}
	assert_int_equal(cidr_set_count(set), 100);
	cidr_set_format(set, 42, buf, sizeof(buf));
	if (strcmp(buf, "10.42.0.0/16") != 0)
		fail_msg("got \"%s\", want \"10.42.0.0/16\"", buf);
	cidr_set_format(set, 100, buf, sizeof(buf));
	if (buf[0] != '\0')
		fail_msg("out of range: got \"%s\", want \"\"", buf);
	cidr_set_free(&set);
}

/* main - run the tests */
int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_add_good),
		cmocka_unit_test(test_add_bad),
		cmocka_unit_test(test_match),
		cmocka_unit_test(test_match_raw_mapped),
		cmocka_unit_test(test_addr_parse),
		cmocka_unit_test(test_many),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
