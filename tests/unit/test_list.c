/*
 * NAME
 *	test_list - unit tests for lists/list.c and lists/list_export.c
 * DESCRIPTION
 *	Tables of list texts and lookups for every kind: ip (IPv4, IPv6,
 *	mapped, nested ranges), domain (exact and suffix), address
 *	(mailbox, local-part, domain), pattern (caseless, slashes, patterns
 *	that cannot join, catastrophic backtracking); expiry with an
 *	injected clock; every build error with its line number; deltas;
 *	checksums; plain and rbldnsd exports; a 10,000-entry list.
 */
#include "lists/list.h"

#include <sys/socket.h>

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))
#define NOW ((time_t)1700000000) /* 2023-11-14T22:13:20Z */

/* build - build a list or fail the test */
static struct list_snapshot *
build(const char *name, enum list_kind kind, const char *text)
{
	struct list_snapshot *s = NULL;
	char *error = NULL;

	if (list_build(name, kind, text, strlen(text), 1, NOW, &s, &error) < 0)
		fail_msg("%s: got error \"%s\", want success", name, error);
	assert_non_null(s);
	free(error);
	return s;
}

/* build_error - build a list that must fail; the error text */
static char *
build_error(const char *name, enum list_kind kind, const char *text, size_t len)
{
	struct list_snapshot *s = NULL;
	char *error = NULL;

	if (list_build(name, kind, text, len, 1, NOW, &s, &error) == 0)
		fail_msg("%s: \"%.*s\": got success, want an error", name,
		    (int)len, text);
	assert_null(s);
	assert_non_null(error);
	return error;
}

/* export_text - a snapshot exported to a string (caller frees) */
static char *
export_text(
    const struct list_snapshot *s, enum list_format fmt, time_t now, int *rc_r)
{
	char *text = NULL;
	size_t size = 0;
	FILE *fp;

	fp = open_memstream(&text, &size);
	assert_non_null(fp);
	*rc_r = list_export(s, fmt, now, fp);
	assert_int_equal(fclose(fp), 0);
	return text;
}

struct lookup_case {
	const char *name;   /* case name */
	const char *value;  /* looked-up value */
	int want;	    /* 1, 0 or -1 */
	const char *entry;  /* entry as written, when want is 1 */
	unsigned long line; /* its line, when want is 1 */
};

/* check_lookups - run lookup cases against a snapshot */
static void
check_lookups(const struct list_snapshot *s, const struct lookup_case *cases,
    size_t n, time_t now)
{
	struct cidr_addr addr;
	struct list_hit hit;
	size_t i;
	int rc;

	for (i = 0; i < n; i++) {
		memset(&hit, 0, sizeof(hit));
		if (list_kind(s) == LIST_KIND_IP) {
			if (cidr_addr_parse(cases[i].value, &addr) < 0)
				fail_msg("%s: bad test address %s",
				    cases[i].name, cases[i].value);
			/* Look mapped addresses up as the milter gets them. */
			if (strncmp(cases[i].value, "::ffff:", 7) == 0) {
				uint8_t v4[4];

				memcpy(v4, addr.bytes, 4);
				memset(&addr, 0, sizeof(addr));
				addr.family = AF_INET6;
				addr.bytes[10] = addr.bytes[11] = 0xff;
				memcpy(addr.bytes + 12, v4, 4);
			}
			rc = list_match_ip(s, &addr, now, &hit);
		} else {
			rc = list_match(s, cases[i].value, now, &hit);
		}
		if (rc != cases[i].want)
			fail_msg("%s: %s: got %d, want %d", cases[i].name,
			    cases[i].value, rc, cases[i].want);
		if (rc != 1)
			continue;
		if (strcmp(hit.entry, cases[i].entry) != 0)
			fail_msg("%s: %s: got entry \"%s\", want \"%s\"",
			    cases[i].name, cases[i].value, hit.entry,
			    cases[i].entry);
		if (cases[i].line != 0 && hit.line != cases[i].line)
			fail_msg("%s: %s: got line %lu, want %lu",
			    cases[i].name, cases[i].value, hit.line,
			    cases[i].line);
	}
}

/* test_ip - IPv4, IPv6, mapped, nested ranges, innermost first */
static void
test_ip(void **state)
{
	static const char text[] = "# infected hosts\n"
				   "10.0.0.0/8 big net\n"
				   "10.1.0.0/16 inner net\n"
				   "10.1.2.3\n"
				   "\n"
				   "192.0.2.0/24 documentation\n"
				   "2001:db8::/32 v6 doc\n"
				   "2001:db8:1::/48\n"
				   "::1\n"
				   "::ffff:198.51.100.0/120 mapped range\n"
				   "0.0.0.0/1\n";
	static const struct lookup_case cases[] = {
		{ "v4 outer", "10.200.0.1", 1, "10.0.0.0/8", 2 },
		{ "v4 nested", "10.1.9.9", 1, "10.1.0.0/16", 3 },
		{ "v4 host", "10.1.2.3", 1, "10.1.2.3", 4 },
		{ "v4 net first", "192.0.2.0", 1, "192.0.2.0/24", 6 },
		{ "v4 net last", "192.0.2.255", 1, "192.0.2.0/24", 6 },
		{ "v4 /1", "1.2.3.4", 1, "0.0.0.0/1", 11 },
		{ "v4 miss", "192.0.3.1", 0, NULL, 0 },
		{ "v4 miss high", "255.255.255.255", 0, NULL, 0 },
		{ "v6 net", "2001:db8:ffff::1", 1, "2001:db8::/32", 7 },
		{ "v6 nested", "2001:db8:1::5", 1, "2001:db8:1::/48", 8 },
		{ "v6 host", "::1", 1, "::1", 9 },
		{ "v6 miss", "2001:db9::1", 0, NULL, 0 },
		{ "v6 miss ::2", "::2", 0, NULL, 0 },
		{ "mapped entry as v4", "198.51.100.7", 1,
		    "::ffff:198.51.100.0/120", 10 },
		{ "mapped lookup", "::ffff:10.1.2.3", 1, "10.1.2.3", 4 },
		{ "mapped lookup miss", "::ffff:192.0.3.1", 0, NULL, 0 },
	};
	struct list_snapshot *s;
	struct list_hit hit;

	(void)state;
	s = build("ip", LIST_KIND_IP, text);
	assert_int_equal(list_count(s), 9);
	check_lookups(s, cases, NELEM(cases), NOW);
	/* list_match takes addresses as text; a reason comes with a hit. */
	assert_int_equal(list_match(s, "10.9.9.9", NOW, &hit), 1);
	assert_string_equal(hit.reason, "big net");
	assert_int_equal(list_match(s, "::ffff:10.1.2.3", NOW, &hit), 1);
	assert_string_equal(hit.entry, "10.1.2.3");
	assert_int_equal(list_match(s, "not an address", NOW, &hit), 0);
	list_free(&s);
	assert_null(s);
}

/* test_ip_overlaps - nested and adjacent ranges in any order */
static void
test_ip_overlaps(void **state)
{
	static const char text[] = "10.0.0.128/25\n"
				   "10.0.0.0/24\n"
				   "10.0.1.0/24\n"
				   "10.0.0.0/16\n"
				   "10.0.0.0/26\n"
				   "10.0.0.64\n"
				   "10.0.2.0/23\n";
	static const struct lookup_case cases[] = {
		{ "innermost /26", "10.0.0.1", 1, "10.0.0.0/26", 5 },
		{ "host in /24", "10.0.0.64", 1, "10.0.0.64", 6 },
		{ "after host", "10.0.0.65", 1, "10.0.0.0/24", 2 },
		{ "/25", "10.0.0.200", 1, "10.0.0.128/25", 1 },
		{ "adjacent /24", "10.0.1.1", 1, "10.0.1.0/24", 3 },
		{ "/23", "10.0.3.255", 1, "10.0.2.0/23", 7 },
		{ "back to /16", "10.0.4.0", 1, "10.0.0.0/16", 4 },
		{ "outside", "10.1.0.0", 0, NULL, 0 },
		{ "below", "9.255.255.255", 0, NULL, 0 },
	};
	struct list_snapshot *s;

	(void)state;
	s = build("overlaps", LIST_KIND_IP, text);
	check_lookups(s, cases, NELEM(cases), NOW);
	list_free(&s);
}

/* test_domain - exact names and names with subdomains */
static void
test_domain(void **state)
{
	static const char text[] = "example.com exact only\n"
				   ".spam.example suffix\n"
				   "Mixed.Case.ORG.\n"
				   ".co.uk.\n"
				   "deep.sub.spam.example\n";
	static const struct lookup_case cases[] = {
		{ "exact", "example.com", 1, "example.com", 1 },
		{ "exact case", "EXAMPLE.Com", 1, "example.com", 1 },
		{ "exact trailing dot", "example.com.", 1, "example.com", 1 },
		{ "exact: not sub", "www.example.com", 0, NULL, 0 },
		{ "suffix itself", "spam.example", 1, ".spam.example", 2 },
		{ "suffix sub", "a.b.spam.example", 1, ".spam.example", 2 },
		{ "exact beats suffix", "deep.sub.spam.example", 1,
		    "deep.sub.spam.example", 5 },
		{ "suffix under exact", "x.deep.sub.spam.example", 1,
		    ".spam.example", 2 },
		{ "not a label boundary", "notspam.example", 0, NULL, 0 },
		{ "entry case folded", "mixed.case.org", 1, "Mixed.Case.ORG.",
		    3 },
		{ "tld suffix", "bbc.co.uk", 1, ".co.uk.", 4 },
		{ "parent miss", "uk", 0, NULL, 0 },
		{ "miss", "example.net", 0, NULL, 0 },
		{ "empty", "", 0, NULL, 0 },
		{ "dot", ".", 0, NULL, 0 },
	};
	struct list_snapshot *s;
	struct list_hit hit;

	(void)state;
	s = build("domains", LIST_KIND_DOMAIN, text);
	check_lookups(s, cases, NELEM(cases), NOW);
	assert_int_equal(list_match(s, "x.spam.example", NOW, &hit), 1);
	assert_string_equal(hit.reason, "suffix");
	list_free(&s);
}

/* test_address - mailbox, user@ and @domain forms */
static void
test_address(void **state)
{
	static const char text[] = "spammer@example.com a mailbox\n"
				   "postmaster@\n"
				   "@bad.example every mailbox\n"
				   "Mixed@Case.Example\n";
	static const struct lookup_case cases[] = {
		{ "mailbox", "spammer@example.com", 1, "spammer@example.com",
		    1 },
		{ "mailbox case", "SPAMMER@Example.COM", 1,
		    "spammer@example.com", 1 },
		{ "angle brackets", "<spammer@example.com>", 1,
		    "spammer@example.com", 1 },
		{ "other user", "friend@example.com", 0, NULL, 0 },
		{ "local-part any domain", "postmaster@anywhere.test", 1,
		    "postmaster@", 2 },
		{ "local-part case", "PostMaster@x.test", 1, "postmaster@", 2 },
		{ "domain", "anyone@bad.example", 1, "@bad.example", 3 },
		{ "domain trailing dot", "anyone@bad.example.", 1,
		    "@bad.example", 3 },
		{ "subdomain is not the domain", "anyone@sub.bad.example", 0,
		    NULL, 0 },
		{ "entry folded", "mixed@case.example", 1, "Mixed@Case.Example",
		    4 },
		{ "no at", "spammer", 0, NULL, 0 },
		{ "null sender", "<>", 0, NULL, 0 },
		{ "empty", "", 0, NULL, 0 },
	};
	struct list_snapshot *s;

	(void)state;
	s = build("addresses", LIST_KIND_ADDRESS, text);
	check_lookups(s, cases, NELEM(cases), NOW);
	list_free(&s);
}

/* test_pattern - caseless flag, slashes, patterns that cannot join */
static void
test_pattern(void **state)
{
	static const char text[] =
	    "/viagra/i pills\n"
	    "/^Re: urgent [0-9]+$/\n"
	    "/http:\\/\\/evil\\.test\\// a url\n"
	    "/(\\w)\\1{3}/ four same letters (back reference: alone)\n"
	    "/with space here/\n"
	    "/caf\xc3\xa9/i\n";
	static const struct lookup_case cases[] = {
		{ "caseless", "Buy VIAGRA now", 1, "/viagra/i", 1 },
		{ "anchored", "Re: urgent 42", 1, "/^Re: urgent [0-9]+$/", 2 },
		{ "anchored miss", "Fwd: Re: urgent 42", 0, NULL, 0 },
		{ "case-sensitive miss", "re: urgent 42", 0, NULL, 0 },
		{ "slashes", "see http://evil.test/x", 1,
		    "/http:\\/\\/evil\\.test\\//", 3 },
		{ "back reference", "zzzz", 1, "/(\\w)\\1{3}/", 4 },
		{ "back reference miss", "zzz", 0, NULL, 0 },
		{ "space", "a with space here b", 1, "/with space here/", 5 },
		{ "utf-8 caseless", "CAF\xc3\x89", 1, "/caf\xc3\xa9/i", 6 },
		{ "invalid utf-8 subject", "\xff\xfe viagra", 1, "/viagra/i",
		    1 },
		{ "miss", "hello world", 0, NULL, 0 },
	};
	struct list_snapshot *s;

	(void)state;
	s = build("patterns", LIST_KIND_PATTERN, text);
	assert_int_equal(list_count(s), 6);
	check_lookups(s, cases, NELEM(cases), NOW);
	list_free(&s);
}

/* test_pattern_backtrack - catastrophic backtracking ends in -1 */
static void
test_pattern_backtrack(void **state)
{
	static const char subject[] = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa!";
	struct list_snapshot *s;
	struct list_hit hit;
	struct timespec t0, t1;
	double ms;

	(void)state;
	s = build("evil", LIST_KIND_PATTERN, "/(a+)+$/\n");
	clock_gettime(CLOCK_MONOTONIC, &t0);
	if (list_match(s, subject, NOW, &hit) != -1)
		fail_msg("got a result, want -1 (match limit)");
	clock_gettime(CLOCK_MONOTONIC, &t1);
	ms = (double)(t1.tv_sec - t0.tv_sec) * 1e3 +
	    (double)(t1.tv_nsec - t0.tv_nsec) / 1e6;
	print_message("(a+)+$ stopped after %.2f ms\n", ms);
	assert_int_equal(list_match(s, "aaaa", NOW, &hit), 1);
	list_free(&s);

	/* Joined with others: a pattern that matches still wins. */
	s = build("evil2", LIST_KIND_PATTERN, "/(a+)+$/\n/zzz/\n/!$/ bang\n");
	assert_int_equal(list_match(s, subject, NOW, &hit), 1);
	assert_string_equal(hit.entry, "/!$/");
	assert_int_equal(list_match(s, "zzz", NOW, &hit), 1);
	list_free(&s);
}

/* test_expiry - expired entries stop matching; the clock is injected */
static void
test_expiry(void **state)
{
	static const struct {
		const char *name;
		enum list_kind kind;
		const char *text;
		const char *value;
		time_t now;
		int want;
		const char *entry;
	} cases[] = {
		{ "ip before", LIST_KIND_IP,
		    "192.0.2.1 expires=2023-11-15T00:00:00Z\n", "192.0.2.1",
		    NOW, 1, "192.0.2.1" },
		{ "ip at expiry", LIST_KIND_IP,
		    "192.0.2.1 expires=2023-11-15T00:00:00Z\n", "192.0.2.1",
		    1700006400, 0, NULL },
		{ "ip epoch form", LIST_KIND_IP,
		    "192.0.2.1 expires=1700006400 why\n", "192.0.2.1",
		    1700006399, 1, "192.0.2.1" },
		{ "ip falls back to outer", LIST_KIND_IP,
		    "192.0.2.0/24\n192.0.2.1 expires=1700000000\n", "192.0.2.1",
		    NOW, 1, "192.0.2.0/24" },
		{ "domain exact expired, suffix live", LIST_KIND_DOMAIN,
		    "a.example expires=1\n.example\n", "a.example", NOW, 1,
		    ".example" },
		{ "domain expired", LIST_KIND_DOMAIN,
		    ".example expires=1600000000\n", "a.example", NOW, 0,
		    NULL },
		{ "address expired", LIST_KIND_ADDRESS,
		    "u@example.com expires=1600000000\n@example.com\n",
		    "u@example.com", NOW, 1, "@example.com" },
		{ "pattern expired, other live", LIST_KIND_PATTERN,
		    "/spam/ expires=1600000000 old\n/sp.m/\n", "spam", NOW, 1,
		    "/sp.m/" },
		{ "pattern alone expired", LIST_KIND_PATTERN,
		    "/spam/ expires=1600000000\n", "spam", NOW, 0, NULL },
	};
	struct list_snapshot *s;
	struct cidr_addr addr;
	struct list_hit hit;
	size_t i;
	int rc;

	(void)state;
	for (i = 0; i < NELEM(cases); i++) {
		s = build(cases[i].name, cases[i].kind, cases[i].text);
		if (cases[i].kind == LIST_KIND_IP) {
			assert_int_equal(
			    cidr_addr_parse(cases[i].value, &addr), 0);
			rc = list_match_ip(s, &addr, cases[i].now, &hit);
		} else {
			rc = list_match(s, cases[i].value, cases[i].now, &hit);
		}
		if (rc != cases[i].want)
			fail_msg("%s: got %d, want %d", cases[i].name, rc,
			    cases[i].want);
		if (rc == 1 && strcmp(hit.entry, cases[i].entry) != 0)
			fail_msg("%s: got \"%s\", want \"%s\"", cases[i].name,
			    hit.entry, cases[i].entry);
		list_free(&s);
	}
}

/* test_errors - every kind of bad input, with its line number */
static void
test_errors(void **state)
{
	static const struct {
		const char *name;
		enum list_kind kind;
		const char *text;
		size_t len; /* 0: strlen */
		const char *want;
	} cases[] = {
		{ "bad ip", LIST_KIND_IP, "192.0.2.1\n# c\n192.0.2.256\n", 0,
		    "L:3: not an IP address or CIDR range: \"192.0.2.256\"" },
		{ "host bits", LIST_KIND_IP, "10.0.0.1/8\n", 0,
		    "L:1: host bits set in \"10.0.0.1/8\"" },
		{ "v6 host bits", LIST_KIND_IP, "\n2001:db8::1/32\n", 0,
		    "L:2: host bits set in \"2001:db8::1/32\"" },
		{ "bad prefix", LIST_KIND_IP, "10.0.0.0/33\n", 0,
		    "L:1: prefix length must be 0 to 32: \"10.0.0.0/33\"" },
		{ "empty prefix", LIST_KIND_IP, "10.0.0.0/\n", 0,
		    "L:1: prefix length must be 0 to 32: \"10.0.0.0/\"" },
		{ "ip duplicate", LIST_KIND_IP,
		    "192.0.2.1\n10.0.0.0/8\n192.0.2.1/32 again\n", 0,
		    "L:3: duplicate of line 1" },
		{ "mapped duplicate", LIST_KIND_IP,
		    "192.0.2.1\n::ffff:192.0.2.1\n", 0,
		    "L:2: duplicate of line 1" },
		{ "bad domain", LIST_KIND_DOMAIN, "ok.example\nbad..example\n",
		    0,
		    "L:2: not a domain (example.com or .example.com): "
		    "\"bad..example\"" },
		{ "bad domain dots", LIST_KIND_DOMAIN, "..example\n", 0,
		    "L:1: not a domain (example.com or .example.com): "
		    "\"..example\"" },
		{ "domain duplicate", LIST_KIND_DOMAIN,
		    "Example.COM\nexample.com.\n", 0,
		    "L:2: duplicate of line 1" },
		{ "bad address", LIST_KIND_ADDRESS, "nobody\n", 0,
		    "L:1: not an address (user@example.com, user@ or "
		    "@example.com): \"nobody\"" },
		{ "lone at", LIST_KIND_ADDRESS, "@\n", 0,
		    "L:1: empty address \"@\"" },
		{ "address bad domain", LIST_KIND_ADDRESS, "u@bad_dom!ain\n", 0,
		    "L:1: not a domain name: \"bad_dom!ain\"" },
		{ "address duplicate", LIST_KIND_ADDRESS,
		    "U@Example.com\nu@example.COM\n", 0,
		    "L:2: duplicate of line 1" },
		{ "bad regex", LIST_KIND_PATTERN, "/ok/\n/a(b/\n", 0,
		    "L:2: invalid regex: missing closing parenthesis at "
		    "offset 3" },
		{ "no closing slash", LIST_KIND_PATTERN, "/abc\n", 0,
		    "L:1: pattern has no closing '/'" },
		{ "no opening slash", LIST_KIND_PATTERN, "abc\n", 0,
		    "L:1: pattern must be written /regex/flags" },
		{ "bad flag", LIST_KIND_PATTERN, "/abc/x\n", 0,
		    "L:1: bad pattern flag 'x' (only i, once)" },
		{ "flag twice", LIST_KIND_PATTERN, "/abc/ii\n", 0,
		    "L:1: bad pattern flag 'i' (only i, once)" },
		{ "empty pattern", LIST_KIND_PATTERN, "//\n", 0,
		    "L:1: empty pattern" },
		{ "pattern duplicate", LIST_KIND_PATTERN, "/a b/\n/a b/\n", 0,
		    "L:2: duplicate of line 1" },
		{ "invalid utf-8", LIST_KIND_DOMAIN,
		    "a.example\nb.example caf\xe9\n", 0, "L:2: invalid UTF-8" },
		{ "overlong utf-8", LIST_KIND_DOMAIN, "a.example \xc0\xaf\n", 0,
		    "L:1: invalid UTF-8" },
		{ "surrogate", LIST_KIND_DOMAIN, "a.example \xed\xa0\x80\n", 0,
		    "L:1: invalid UTF-8" },
		{ "nul byte", LIST_KIND_DOMAIN, "a.example\nb.exa\0mple\n", 20,
		    "L:2: NUL byte in line" },
		{ "bad expires", LIST_KIND_IP, "192.0.2.1 expires=tomorrow\n",
		    0,
		    "L:1: bad expires= value \"tomorrow\" (want "
		    "YYYY-MM-DDTHH:MM:SSZ or seconds since 1970)" },
		{ "bad expires date", LIST_KIND_IP,
		    "192.0.2.1 expires=2023-02-30T00:00:00Z\n", 0,
		    "L:1: bad expires= value \"2023-02-30T00:00:00Z\" (want "
		    "YYYY-MM-DDTHH:MM:SSZ or seconds since 1970)" },
		{ "expires zero", LIST_KIND_IP, "192.0.2.1 expires=0\n", 0,
		    "L:1: bad expires= value \"0\" (want "
		    "YYYY-MM-DDTHH:MM:SSZ or seconds since 1970)" },
		{ "several errors by line", LIST_KIND_IP,
		    "1.2.3.4\nx\n1.2.3.4\ny\n", 0,
		    "L:2: not an IP address or CIDR range: \"x\"\n"
		    "L:3: duplicate of line 1\n"
		    "L:4: not an IP address or CIDR range: \"y\"" },
	};
	char *error;
	size_t i;

	(void)state;
	for (i = 0; i < NELEM(cases); i++) {
		error = build_error("L", cases[i].kind, cases[i].text,
		    cases[i].len != 0 ? cases[i].len : strlen(cases[i].text));
		if (strcmp(error, cases[i].want) != 0)
			fail_msg("%s: got \"%s\", want \"%s\"", cases[i].name,
			    error, cases[i].want);
		free(error);
	}
}

/* test_error_limits - overlong lines, and at most 10 errors reported */
static void
test_error_limits(void **state)
{
	char *text, *error, want[64];
	size_t i, len;

	(void)state;
	/* A line of 4097 bytes after a good one. */
	text = malloc(5000);
	assert_non_null(text);
	len = (size_t)snprintf(text, 5000, "192.0.2.1\n");
	memset(text + len, 'x', 4097);
	len += 4097;
	text[len++] = '\n';
	error = build_error("L", LIST_KIND_IP, text, len);
	if (strcmp(error, "L:2: line too long (over 4096 bytes)") != 0)
		fail_msg("got \"%s\", want the line-too-long error", error);
	free(error);

	/* A line of exactly 4096 bytes is fine (a long reason). */
	len = (size_t)snprintf(text, 5000, "192.0.2.1 ");
	memset(text + len, 'r', 4096 - len);
	text[4096] = '\n';
	{
		struct list_snapshot *s = NULL;

		error = NULL;
		if (list_build(
			"L", LIST_KIND_IP, text, 4097, 1, NOW, &s, &error) < 0)
			fail_msg("got \"%s\", want success", error);
		list_free(&s);
	}
	free(text);

	/* 25 bad lines: the first 10, then a count. */
	text = malloc(25 * 4 + 1);
	assert_non_null(text);
	for (i = 0; i < 25; i++)
		memcpy(text + 4 * i, "bad\n", 4);
	error = build_error("L", LIST_KIND_IP, text, 100);
	assert_non_null(strstr(error, "L:1: not an IP"));
	assert_non_null(strstr(error, "L:10: not an IP"));
	assert_null(strstr(error, "L:11:"));
	snprintf(want, sizeof(want), "\nL: 15 more errors");
	if (strstr(error, want) == NULL)
		fail_msg("got \"%s\", want it to end with \"%s\"", error, want);
	free(error);
	free(text);
}

/* test_checksum - equal content, equal checksum; else different */
static void
test_checksum(void **state)
{
	static const struct {
		const char *name;
		enum list_kind kind;
		const char *a;
		const char *b;
		int equal;
	} cases[] = {
		{ "order and comments", LIST_KIND_IP,
		    "10.0.0.0/8 r\n192.0.2.1\n",
		    "# c\n\n192.0.2.1/32\n  10.0.0.0/8   r  \n", 1 },
		{ "mapped spelling", LIST_KIND_IP, "::ffff:192.0.2.0/120\n",
		    "192.0.2.0/24\n", 1 },
		{ "expires spelling", LIST_KIND_IP,
		    "192.0.2.1 expires=1700006400\n",
		    "192.0.2.1 expires=2023-11-15T00:00:00Z\n", 1 },
		{ "domain case", LIST_KIND_DOMAIN, "Example.COM.\n.b.test\n",
		    ".b.test\nexample.com\n", 1 },
		{ "different reason", LIST_KIND_IP, "192.0.2.1 a\n",
		    "192.0.2.1 b\n", 0 },
		{ "different expiry", LIST_KIND_IP,
		    "192.0.2.1 expires=1700006400\n", "192.0.2.1\n", 0 },
		{ "suffix is not exact", LIST_KIND_DOMAIN, ".example.com\n",
		    "example.com\n", 0 },
		{ "pattern flag", LIST_KIND_PATTERN, "/a/\n", "/a/i\n", 0 },
	};
	struct list_snapshot *a, *b;
	size_t i;

	(void)state;
	for (i = 0; i < NELEM(cases); i++) {
		a = build(cases[i].name, cases[i].kind, cases[i].a);
		b = build(cases[i].name, cases[i].kind, cases[i].b);
		assert_int_equal(strlen(list_checksum(a)), 64);
		if ((strcmp(list_checksum(a), list_checksum(b)) == 0) !=
		    cases[i].equal)
			fail_msg("%s: got checksums %s and %s, want them %s",
			    cases[i].name, list_checksum(a), list_checksum(b),
			    cases[i].equal ? "equal" : "different");
		list_free(&a);
		list_free(&b);
	}
}

/* test_export_plain - plain export is canonical and reloads the same */
static void
test_export_plain(void **state)
{
	static const struct {
		const char *name;
		enum list_kind kind;
		const char *text;
		const char *want; /* after the header line */
	} cases[] = {
		{ "ip", LIST_KIND_IP,
		    "2001:db8::/32 v6\n192.0.2.1/32 expires=1700006400 host\n"
		    "::ffff:10.0.0.0/104\n192.0.2.0/24\n",
		    "10.0.0.0/8\n192.0.2.0/24\n"
		    "192.0.2.1 expires=2023-11-15T00:00:00Z host\n"
		    "2001:db8::/32 v6\n" },
		{ "domain", LIST_KIND_DOMAIN, "B.example.\n.a.example why\n",
		    ".a.example why\nb.example\n" },
		{ "address", LIST_KIND_ADDRESS, "User@Example.com\n@x.test\n",
		    "@x.test\nuser@example.com\n" },
		{ "pattern", LIST_KIND_PATTERN, "/b c/i r\n/a\\/b/\n",
		    "/a\\/b/\n/b c/i r\n" },
		{ "expired kept", LIST_KIND_IP, "192.0.2.1 expires=1 gone\n",
		    "192.0.2.1 expires=1970-01-01T00:00:01Z gone\n" },
	};
	struct list_snapshot *s, *t;
	char *text, *body, *error;
	size_t i;
	int rc;

	(void)state;
	for (i = 0; i < NELEM(cases); i++) {
		s = build(cases[i].name, cases[i].kind, cases[i].text);
		text = export_text(s, LIST_FORMAT_PLAIN, NOW, &rc);
		assert_int_equal(rc, 0);
		if (strncmp(text, "# sakimori list ", 16) != 0)
			fail_msg(
			    "%s: got header \"%.40s\"", cases[i].name, text);
		body = strchr(text, '\n') + 1;
		if (strcmp(body, cases[i].want) != 0)
			fail_msg("%s: got \"%s\", want \"%s\"", cases[i].name,
			    body, cases[i].want);
		error = NULL;
		if (list_build(cases[i].name, cases[i].kind, text, strlen(text),
			2, NOW, &t, &error) < 0)
			fail_msg("%s: reload: got \"%s\", want success",
			    cases[i].name, error);
		if (strcmp(list_checksum(s), list_checksum(t)) != 0)
			fail_msg("%s: reload: got checksum %s, want %s",
			    cases[i].name, list_checksum(t), list_checksum(s));
		list_free(&t);
		list_free(&s);
		free(text);
	}
}

/* test_export_rbldnsd - rbldnsd data for ip and domain lists */
static void
test_export_rbldnsd(void **state)
{
	static const struct {
		const char *name;
		enum list_kind kind;
		const char *text;
		int want_rc;
		const char *want;
	} cases[] = {
		{ "ip", LIST_KIND_IP,
		    "192.0.2.0/24 spam source\n198.51.100.7 costs $5\n"
		    "203.0.113.1 expires=1600000000 gone\n2001:db8::/32\n"
		    "2001:db8:1::1 v6 host\n",
		    0,
		    "# sakimori list ip version 1: rbldnsd combined dataset\n"
		    "$DATASET ip4set @\n:127.0.0.2:\n"
		    "192.0.2.0/24 :127.0.0.2:spam source\n"
		    "198.51.100.7 :127.0.0.2:costs $$5\n"
		    "$DATASET ip6trie @\n:127.0.0.2:\n"
		    "2001:db8::/32\n2001:db8:1::1 :127.0.0.2:v6 host\n" },
		{ "domain", LIST_KIND_DOMAIN,
		    ".spam.example listed\nexact.example\n", 0,
		    "# sakimori list domain version 1: rbldnsd dnset\n"
		    ":127.0.0.2:\n"
		    ".spam.example :127.0.0.2:listed\nexact.example\n" },
		{ "address", LIST_KIND_ADDRESS, "u@example.com\n", -1, "" },
		{ "pattern", LIST_KIND_PATTERN, "/x/\n", -1, "" },
	};
	struct list_snapshot *s;
	char *text;
	size_t i;
	int rc;

	(void)state;
	for (i = 0; i < NELEM(cases); i++) {
		s = build(cases[i].name, cases[i].kind, cases[i].text);
		errno = 0;
		text = export_text(s, LIST_FORMAT_RBLDNSD, NOW, &rc);
		if (rc != cases[i].want_rc)
			fail_msg("%s: got %d, want %d", cases[i].name, rc,
			    cases[i].want_rc);
		if (rc < 0)
			assert_int_equal(errno, EINVAL);
		else if (strcmp(text, cases[i].want) != 0)
			fail_msg("%s: got \"%s\", want \"%s\"", cases[i].name,
			    text, cases[i].want);
		free(text);
		list_free(&s);
	}
}

/* test_delta - adds and deletes; errors; the old snapshot unchanged */
static void
test_delta(void **state)
{
	static const struct {
		const char *name;
		enum list_kind kind;
		const char *old;
		const char *adds;
		const char *dels;
		const char *want; /* plain body, or the error */
		int want_rc;
	} cases[] = {
		{ "add and del", LIST_KIND_IP, "10.0.0.0/8\n192.0.2.1 r\n",
		    "198.51.100.0/24 new\n", "192.0.2.1\n",
		    "10.0.0.0/8\n198.51.100.0/24 new\n", 0 },
		{ "del ignores reason", LIST_KIND_DOMAIN, "a.example x\n", "",
		    "A.Example. whatever reason\n", "", 0 },
		{ "add existing", LIST_KIND_IP, "10.0.0.0/8\n",
		    "192.0.2.1\n10.0.0.0/8 again\n", "",
		    "ip:add:2: already in the list", -1 },
		{ "add twice", LIST_KIND_DOMAIN, "a.example\n",
		    "b.example\nB.example\n", "",
		    "ip:add:2: duplicate of add:line 1", -1 },
		{ "del missing", LIST_KIND_ADDRESS, "u@example.com\n", "",
		    "u@example.com\nv@example.com\n",
		    "ip:del:2: not in the list", -1 },
		{ "del twice", LIST_KIND_ADDRESS, "u@example.com\n", "",
		    "u@example.com\nU@example.com\n",
		    "ip:del:2: duplicate of del:line 1", -1 },
		{ "bad add line", LIST_KIND_PATTERN, "/a/\n", "\n/b(/\n", "",
		    "ip:add:2: invalid regex: missing closing parenthesis "
		    "at offset 2",
		    -1 },
		{ "del what is only added", LIST_KIND_IP, "10.0.0.0/8\n",
		    "192.0.2.1\n", "192.0.2.1\n", "ip:del:1: not in the list",
		    -1 },
		{ "pattern delta", LIST_KIND_PATTERN, "/a/\n/b/i\n", "/c/\n",
		    "/a/\n", "/b/i\n/c/\n", 0 },
	};
	struct list_snapshot *old, *new;
	char *before, *after, *text, *error, sum[65];
	size_t i;
	int rc;

	(void)state;
	for (i = 0; i < NELEM(cases); i++) {
		old = build("ip", cases[i].kind, cases[i].old);
		before = export_text(old, LIST_FORMAT_PLAIN, NOW, &rc);
		snprintf(sum, sizeof(sum), "%s", list_checksum(old));
		new = NULL;
		error = NULL;
		rc = list_delta(old, cases[i].adds, strlen(cases[i].adds),
		    cases[i].dels, strlen(cases[i].dels), 7, NOW + 1, &new,
		    &error);
		if (rc != cases[i].want_rc)
			fail_msg("%s: got %d (%s), want %d", cases[i].name, rc,
			    error != NULL ? error : "", cases[i].want_rc);
		if (rc < 0) {
			assert_null(new);
			if (strcmp(error, cases[i].want) != 0)
				fail_msg("%s: got \"%s\", want \"%s\"",
				    cases[i].name, error, cases[i].want);
		} else {
			assert_int_equal(list_version(new), 7);
			assert_int_equal(list_built(new), NOW + 1);
			text = export_text(new, LIST_FORMAT_PLAIN, NOW, &rc);
			if (strcmp(strchr(text, '\n') + 1, cases[i].want) != 0)
				fail_msg("%s: got \"%s\", want \"%s\"",
				    cases[i].name, strchr(text, '\n') + 1,
				    cases[i].want);
			free(text);
		}
		/* The old snapshot is untouched either way. */
		after = export_text(old, LIST_FORMAT_PLAIN, NOW, &rc);
		if (strcmp(before, after) != 0 ||
		    strcmp(sum, list_checksum(old)) != 0)
			fail_msg("%s: old snapshot changed", cases[i].name);
		free(before);
		free(after);
		free(error);
		list_free(&new);
		list_free(&old);
	}
}

/* test_delta_lookup - a delta's snapshot answers, the old one as before */
static void
test_delta_lookup(void **state)
{
	struct list_snapshot *old, *new = NULL;
	struct cidr_addr a, b;
	struct list_hit hit;
	char *error = NULL;

	(void)state;
	old = build("d", LIST_KIND_IP, "192.0.2.0/24 old\n");
	assert_int_equal(list_delta(old, "198.51.100.1 new\n", 17,
			     "192.0.2.0/24\n", 13, 2, NOW, &new, &error),
	    0);
	assert_int_equal(cidr_addr_parse("192.0.2.5", &a), 0);
	assert_int_equal(cidr_addr_parse("198.51.100.1", &b), 0);
	assert_int_equal(list_match_ip(old, &a, NOW, &hit), 1);
	assert_int_equal(list_match_ip(old, &b, NOW, &hit), 0);
	assert_int_equal(list_match_ip(new, &a, NOW, &hit), 0);
	assert_int_equal(list_match_ip(new, &b, NOW, &hit), 1);
	assert_string_equal(hit.reason, "new");
	assert_int_equal(hit.line, 2); /* line 2 of its plain export */
	list_free(&new);
	list_free(&old);
}

/* test_large - a 10,000-entry list of each lookup kind */
static void
test_large(void **state)
{
	struct list_snapshot *s;
	struct cidr_addr addr;
	struct list_hit hit;
	char *text, buf[64];
	size_t i, len = 0;
	FILE *fp;

	(void)state;
	fp = open_memstream(&text, &len);
	assert_non_null(fp);
	for (i = 0; i < 10000; i++)
		fprintf(fp, "10.%zu.%zu.0/24 net %zu\n", i / 256, i % 256, i);
	assert_int_equal(fclose(fp), 0);
	s = build("big", LIST_KIND_IP, text);
	assert_int_equal(list_count(s), 10000);
	for (i = 0; i < 10000; i++) {
		snprintf(buf, sizeof(buf), "10.%zu.%zu.77", i / 256, i % 256);
		assert_int_equal(cidr_addr_parse(buf, &addr), 0);
		if (list_match_ip(s, &addr, NOW, &hit) != 1)
			fail_msg("%s: got not found, want found", buf);
		if (hit.line != i + 1)
			fail_msg(
			    "%s: got line %lu, want %zu", buf, hit.line, i + 1);
		snprintf(buf, sizeof(buf), "11.%zu.%zu.77", i / 256, i % 256);
		assert_int_equal(cidr_addr_parse(buf, &addr), 0);
		if (list_match_ip(s, &addr, NOW, &hit) != 0)
			fail_msg("%s: got found, want not found", buf);
	}
	list_free(&s);
	free(text);

	fp = open_memstream(&text, &len);
	assert_non_null(fp);
	for (i = 0; i < 10000; i++)
		fprintf(fp, "%sd%zu.example\n", i % 2 ? "." : "", i);
	assert_int_equal(fclose(fp), 0);
	s = build("bigdom", LIST_KIND_DOMAIN, text);
	for (i = 0; i < 10000; i++) {
		snprintf(buf, sizeof(buf), "www.d%zu.example", i);
		if (list_match(s, buf, NOW, &hit) != (int)(i % 2))
			fail_msg("%s: got %d, want %d", buf,
			    list_match(s, buf, NOW, &hit), (int)(i % 2));
		snprintf(buf, sizeof(buf), "d%zu.example", i);
		if (list_match(s, buf, NOW, &hit) != 1)
			fail_msg("%s: got not found, want found", buf);
	}
	list_free(&s);
	free(text);
}

/* test_garbage - random lines never crash; what builds round-trips */
static void
test_garbage(void **state)
{
	static const char *const good[4][6] = {
		{ "10.0.0.0/8", "192.0.2.1", "::ffff:192.0.2.1",
		    "2001:db8::/32", "::1", "0.0.0.0/0" },
		{ "a.example", ".b.example", "B.Example.", ".com", "x_y.test",
		    "c.b.example" },
		{ "u@x.test", "@y.test", "U@", "v@Y.Test.", "w@", "@z.test" },
		{ "/a+/", "/b c/i", "/(x)\\1/", "/^$/", "/\\//", "/(a+)+$/" },
	};
	static const char *const extra[] = { "", "", "", " expires=1700006400",
		" expires=1", " reason $1", " \t", "\r", "#c", " expires=x",
		"\xff", "/[/", "@", ".", "10.0.0.1/8" };
	struct list_snapshot *s, *t;
	uint64_t x = 0x9e3779b97f4a7c15ULL;
	char text[512], *error, *out;
	int iter, kind, rc, k;
	size_t len, ok = 0;
	const char *p;

	(void)state;
	for (iter = 0; iter < 2000; iter++) {
		kind = iter % 4;
		len = 0;
		for (k = 0; k < 4; k++) {
			x ^= x << 13;
			x ^= x >> 7;
			x ^= x << 17;
			p = good[kind][x % 6];
			memcpy(text + len, p, strlen(p));
			len += strlen(p);
			p = extra[(x >> 8) % NELEM(extra)];
			/* Now and then, bad input for the kind. */
			if ((x >> 16) % 4 != 0 && p[0] != ' ' && p[0] != '\0')
				p = "";
			memcpy(text + len, p, strlen(p));
			len += strlen(p);
			text[len++] = (x >> 24) % 50 == 0 ? '\0' : '\n';
		}
		s = NULL;
		error = NULL;
		if (list_build("g", (enum list_kind)kind, text, len, 1, NOW, &s,
			&error) < 0) {
			assert_null(s);
			assert_non_null(error);
			free(error);
			continue;
		}
		ok++;
		/* What builds exports and rebuilds to the same checksum. */
		out = export_text(s, LIST_FORMAT_PLAIN, NOW, &rc);
		assert_int_equal(rc, 0);
		if (list_build("g", (enum list_kind)kind, out, strlen(out), 2,
			NOW, &t, &error) < 0)
			fail_msg("rebuild of \"%s\": got \"%s\"", out, error);
		assert_string_equal(list_checksum(s), list_checksum(t));
		free(export_text(s, LIST_FORMAT_RBLDNSD, NOW, &rc));
		text[len < sizeof(text) ? len : sizeof(text) - 1] = '\0';
		(void)list_match(s, text, NOW, NULL);
		list_free(&t);
		list_free(&s);
		free(out);
	}
	print_message("%zu of 2000 random texts built\n", ok);
}

/* test_names - kind and format names */
static void
test_names(void **state)
{
	enum list_kind kind;
	enum list_format fmt;

	(void)state;
	assert_int_equal(list_kind_parse("pattern", &kind), 0);
	assert_int_equal(kind, LIST_KIND_PATTERN);
	assert_string_equal(list_kind_name(LIST_KIND_ADDRESS), "address");
	assert_int_equal(list_kind_parse("regex", &kind), -1);
	assert_int_equal(list_format_parse("rbldnsd", &fmt), 0);
	assert_int_equal(fmt, LIST_FORMAT_RBLDNSD);
	assert_int_equal(list_format_parse("csv", &fmt), -1);
	list_free(NULL);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ip),
		cmocka_unit_test(test_ip_overlaps),
		cmocka_unit_test(test_domain),
		cmocka_unit_test(test_address),
		cmocka_unit_test(test_pattern),
		cmocka_unit_test(test_pattern_backtrack),
		cmocka_unit_test(test_expiry),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_error_limits),
		cmocka_unit_test(test_checksum),
		cmocka_unit_test(test_export_plain),
		cmocka_unit_test(test_export_rbldnsd),
		cmocka_unit_test(test_delta),
		cmocka_unit_test(test_delta_lookup),
		cmocka_unit_test(test_large),
		cmocka_unit_test(test_garbage),
		cmocka_unit_test(test_names),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
