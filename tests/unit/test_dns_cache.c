/*
 * NAME
 *	test_dns_cache - unit tests of the DNS answer cache
 * SUMMARY
 *	Insert, lookup and expiry on an injected clock; TTL cap; negative
 *	entries; what is never stored; the size bound and LRU eviction;
 *	case-insensitive keys; deep copies; concurrent use.
 */
#include "milter/dns_cache.h"

#include <arpa/inet.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "milter/dns.h"

/* result - a result with one A record 192.0.2.<last> (or none) */
static struct dns_result *
result(const char *name, uint16_t type, enum dns_status status, uint32_t ttl,
    unsigned last)
{
	struct dns_result *r;

	r = calloc(1, sizeof(*r));
	assert_non_null(r);
	r->qname = strdup(name);
	assert_non_null(r->qname);
	r->qtype = type;
	r->status = status;
	r->ttl = ttl;
	if (status == DNS_OK) {
		r->rr = calloc(1, sizeof(*r->rr));
		assert_non_null(r->rr);
		r->count = 1;
		r->rr[0].type = type;
		r->rr[0].a.s_addr = htonl(0xc0000200u | last);
	}
	return r;
}

/* put - store a result made by result() */
static int
put(struct dns_cache *c, const char *name, uint16_t type,
    enum dns_status status, uint32_t ttl, unsigned last, time_t now)
{
	struct dns_result *r = result(name, type, status, ttl, last);
	int rc;

	rc = dns_cache_put(c, r, now);
	dns_result_free(&r);
	return rc;
}

/* get_last - look up; 0 miss, else 1 + last octet; *ttl_r time left */
static int
get_last(struct dns_cache *c, const char *name, uint16_t type, time_t now,
    uint32_t *ttl_r)
{
	struct dns_result *r = NULL;
	int rc, ret = 0;

	rc = dns_cache_get(c, name, type, now, &r);
	assert_int_not_equal(rc, -1);
	if (rc == 1) {
		*ttl_r = r->ttl;
		ret = r->count > 0 ? 1 + (int)(ntohl(r->rr[0].a.s_addr) & 0xff)
				   : 1;
		dns_result_free(&r);
	}
	return ret;
}

/* test_expiry - entries live for their TTL, capped at max_ttl */
static void
test_expiry(void **state)
{
	static const struct {
		const char *name;
		uint32_t ttl;	   /* stored */
		unsigned max;	   /* cache_max_ttl */
		time_t at;	   /* lookup time (stored at 1000) */
		int want_found;	   /* 0 or 1 */
		uint32_t want_ttl; /* time left */
	} tests[] = {
		{ "at once", 60, 3600, 1000, 1, 60 },
		{ "half way", 60, 3600, 1030, 1, 30 },
		{ "last second", 60, 3600, 1059, 1, 1 },
		{ "expired", 60, 3600, 1060, 0, 0 },
		{ "long gone", 60, 3600, 99999, 0, 0 },
		{ "capped", 86400, 300, 1000, 1, 300 },
		{ "capped, expired", 86400, 300, 1300, 0, 0 },
	};
	size_t i;
	uint32_t ttl;
	int found;

	(void)state;
	for (i = 0; i < sizeof(tests) / sizeof(tests[0]); i++) {
		struct dns_cache *c = dns_cache_create(100, tests[i].max, 0);

		assert_non_null(c);
		assert_int_equal(
		    put(c, "a.example", DNS_T_A, DNS_OK, tests[i].ttl, 1, 1000),
		    1);
		ttl = 0;
		found =
		    get_last(c, "a.example", DNS_T_A, tests[i].at, &ttl) != 0;
		if (found != tests[i].want_found)
			fail_msg("%s: found got %d, want %d", tests[i].name,
			    found, tests[i].want_found);
		if (found && ttl != tests[i].want_ttl)
			fail_msg("%s: ttl got %u, want %u", tests[i].name, ttl,
			    tests[i].want_ttl);
		/* an expired entry is dropped when seen */
		if (!found && dns_cache_count(c) != 0)
			fail_msg("%s: count got %zu, want 0", tests[i].name,
			    dns_cache_count(c));
		dns_cache_free(&c);
		assert_null(c);
	}
}

/* test_cacheable - what is stored and what is not */
static void
test_cacheable(void **state)
{
	static const struct {
		const char *name;
		enum dns_status status;
		uint32_t ttl;
		unsigned size; /* cache_size */
		unsigned max;  /* cache_max_ttl */
		int want_put;  /* dns_cache_put() */
	} tests[] = {
		{ "positive", DNS_OK, 300, 10, 3600, 1 },
		{ "nxdomain", DNS_NXDOMAIN, 60, 10, 3600, 1 },
		{ "nodata", DNS_NODATA, 60, 10, 3600, 1 },
		{ "ttl 0", DNS_OK, 0, 10, 3600, 0 },
		{ "negative ttl 0 (no SOA)", DNS_NXDOMAIN, 0, 10, 3600, 0 },
		{ "tempfail", DNS_TEMPFAIL, 300, 10, 3600, 0 },
		{ "badname", DNS_BADNAME, 300, 10, 3600, 0 },
		{ "cache size 0", DNS_OK, 300, 0, 3600, 0 },
		{ "max ttl 0", DNS_OK, 300, 10, 0, 0 },
	};
	struct dns_cache *c;
	struct dns_result *r;
	size_t i;
	int rc;

	(void)state;
	for (i = 0; i < sizeof(tests) / sizeof(tests[0]); i++) {
		c = dns_cache_create(tests[i].size, tests[i].max, 0);
		assert_non_null(c);
		rc = put(c, "x.example", DNS_T_TXT, tests[i].status,
		    tests[i].ttl, 1, 50);
		if (rc != tests[i].want_put)
			fail_msg("%s: put got %d, want %d", tests[i].name, rc,
			    tests[i].want_put);
		r = NULL;
		rc = dns_cache_get(c, "x.example", DNS_T_TXT, 50, &r);
		if (rc != tests[i].want_put)
			fail_msg("%s: get got %d, want %d", tests[i].name, rc,
			    tests[i].want_put);
		if (rc == 1 && r->status != tests[i].status)
			fail_msg("%s: status got %s, want %s", tests[i].name,
			    dns_status_name(r->status),
			    dns_status_name(tests[i].status));
		if (rc == 1 && tests[i].status != DNS_OK && r->count != 0)
			fail_msg("%s: negative entry with %zu records",
			    tests[i].name, r->count);
		if ((size_t)tests[i].want_put != dns_cache_count(c))
			fail_msg("%s: count got %zu, want %d", tests[i].name,
			    dns_cache_count(c), tests[i].want_put);
		dns_result_free(&r);
		dns_cache_free(&c);
	}
}

/* test_keys - names match without regard to case; types apart */
static void
test_keys(void **state)
{
	static const struct {
		const char *name; /* looked up */
		uint16_t type;
		int want; /* 0 miss, else 1 + last octet */
	} tests[] = {
		{ "Mixed.Example", DNS_T_A, 1 + 7 },
		{ "mixed.example", DNS_T_A, 1 + 7 },
		{ "MIXED.EXAMPLE", DNS_T_A, 1 + 7 },
		{ "mixed.example", DNS_T_AAAA, 0 },
		{ "mixed.example.org", DNS_T_A, 0 },
		{ "mixed.exampl", DNS_T_A, 0 },
		{ "other.example", DNS_T_A, 1 + 8 },
	};
	struct dns_cache *c = dns_cache_create(100, 3600, 0);
	struct dns_result *r = NULL;
	uint32_t ttl;
	size_t i;
	int got;

	(void)state;
	assert_non_null(c);
	assert_int_equal(put(c, "MiXeD.eXaMpLe", DNS_T_A, DNS_OK, 60, 7, 0), 1);
	assert_int_equal(put(c, "other.example", DNS_T_A, DNS_OK, 60, 8, 0), 1);
	for (i = 0; i < sizeof(tests) / sizeof(tests[0]); i++) {
		got = get_last(c, tests[i].name, tests[i].type, 1, &ttl);
		if (got != tests[i].want)
			fail_msg("%s/%u: got %d, want %d", tests[i].name,
			    tests[i].type, got, tests[i].want);
	}
	/* the stored key is lower case */
	assert_int_equal(dns_cache_get(c, "MIXED.example", DNS_T_A, 1, &r), 1);
	assert_string_equal(r->qname, "mixed.example");
	dns_result_free(&r);
	/* the same key again replaces the entry */
	assert_int_equal(put(c, "mixed.EXAMPLE", DNS_T_A, DNS_OK, 60, 9, 2), 1);
	assert_int_equal(dns_cache_count(c), 2);
	got = get_last(c, "mixed.example", DNS_T_A, 3, &ttl);
	if (got != 1 + 9)
		fail_msg("replaced: got %d, want %d", got, 1 + 9);
	dns_cache_free(&c);
}

/* test_bound - the size bound holds over any number of inserts */
static void
test_bound(void **state)
{
	static const struct {
		const char *name;
		unsigned size;
		unsigned shards;
		unsigned inserts;
	} tests[] = {
		{ "one entry", 1, 0, 50 },
		{ "fewer than shards", 5, 0, 200 },
		{ "many shards", 100, 0, 2000 },
		{ "one shard", 64, 1, 500 },
		{ "odd split", 37, 16, 1000 },
	};
	char name[64];
	size_t i, j, n;

	(void)state;
	for (i = 0; i < sizeof(tests) / sizeof(tests[0]); i++) {
		struct dns_cache *c =
		    dns_cache_create(tests[i].size, 3600, tests[i].shards);

		assert_non_null(c);
		for (j = 0; j < tests[i].inserts; j++) {
			snprintf(name, sizeof(name), "n%zu.example", j);
			assert_int_equal(
			    put(c, name, DNS_T_A, DNS_OK, 60, 1, 0), 1);
			n = dns_cache_count(c);
			if (n > tests[i].size)
				fail_msg("%s: count got %zu, want <= %u",
				    tests[i].name, n, tests[i].size);
		}
		/* the last one inserted is always there */
		if (get_last(c, name, DNS_T_A, 1, &(uint32_t){ 0 }) == 0)
			fail_msg(
			    "%s: newest entry %s gone", tests[i].name, name);
		dns_cache_free(&c);
	}
}

/* test_lru - a full shard evicts the least recently used entry */
static void
test_lru(void **state)
{
	static const struct {
		const char *name; /* looked up after the inserts */
		int want;	  /* 0 evicted, else 1 + last octet */
	} tests[] = {
		{ "a.example", 1 + 1 },
		{ "b.example", 0 },
		{ "c.example", 1 + 3 },
		{ "d.example", 1 + 4 },
	};
	struct dns_cache *c = dns_cache_create(3, 3600, 1);
	uint32_t ttl;
	size_t i;
	int got;

	(void)state;
	assert_non_null(c);
	assert_int_equal(put(c, "a.example", DNS_T_A, DNS_OK, 60, 1, 0), 1);
	assert_int_equal(put(c, "b.example", DNS_T_A, DNS_OK, 60, 2, 0), 1);
	assert_int_equal(put(c, "c.example", DNS_T_A, DNS_OK, 60, 3, 0), 1);
	/* a is now the most recently used; b the least */
	assert_int_equal(get_last(c, "a.example", DNS_T_A, 1, &ttl), 1 + 1);
	assert_int_equal(put(c, "d.example", DNS_T_A, DNS_OK, 60, 4, 2), 1);
	for (i = 0; i < sizeof(tests) / sizeof(tests[0]); i++) {
		got = get_last(c, tests[i].name, DNS_T_A, 3, &ttl);
		if (got != tests[i].want)
			fail_msg("%s: got %d, want %d", tests[i].name, got,
			    tests[i].want);
	}
	assert_int_equal(dns_cache_count(c), 3);
	dns_cache_free(&c);
}

/* test_copy - entries are deep copies; TXT with a NUL survives */
static void
test_copy(void **state)
{
	struct dns_cache *c = dns_cache_create(10, 3600, 0);
	struct dns_result *r, *got = NULL;
	static const char txt[] = "v=spf1\0-all";

	(void)state;
	assert_non_null(c);
	r = result("txt.example", DNS_T_TXT, DNS_OK, 100, 0);
	r->rr[0].text = malloc(sizeof(txt));
	assert_non_null(r->rr[0].text);
	memcpy(r->rr[0].text, txt, sizeof(txt));
	r->rr[0].len = sizeof(txt) - 1;
	assert_int_equal(dns_cache_put(c, r, 0), 1);
	/* the caller's result may go away */
	memset(r->rr[0].text, 'x', sizeof(txt) - 1);
	dns_result_free(&r);
	assert_int_equal(
	    dns_cache_get(c, "txt.example", DNS_T_TXT, 1, &got), 1);
	if (got->count != 1 || got->rr[0].len != sizeof(txt) - 1 ||
	    memcmp(got->rr[0].text, txt, sizeof(txt)) != 0)
		fail_msg("copy: got %zu records, len %zu, want 1, %zu",
		    got->count, got->count ? got->rr[0].len : 0,
		    sizeof(txt) - 1);
	dns_result_free(&got);
	assert_null(got);
	dns_cache_free(&c);
	dns_cache_free(&c); /* NULL is fine */
	dns_cache_free(NULL);
}

struct hammer {
	struct dns_cache *c; /* shared */
	unsigned seed;	     /* per thread */
};

/* hammer_main - random puts and gets on a shared cache */
static void *
hammer_main(void *arg)
{
	struct hammer *h = arg;
	struct dns_result *r;
	char name[32];
	unsigned i, k;

	for (i = 0; i < 20000; i++) {
		k = (unsigned)rand_r(&h->seed) % 300;
		snprintf(name, sizeof(name), "h%u.example", k);
		if (k % 3 == 0) {
			if (put(h->c, name, DNS_T_A, DNS_OK, 1 + k % 7,
				k & 0xff, i / 1000) == -1)
				return (void *)1;
		} else {
			r = NULL;
			if (dns_cache_get(h->c, name, DNS_T_A, i / 1000, &r) ==
			    -1)
				return (void *)1;
			if (r != NULL &&
			    (r->count != 1 ||
				(ntohl(r->rr[0].a.s_addr) & 0xff) !=
				    (k & 0xff)))
				return (void *)2;
			dns_result_free(&r);
		}
	}
	return NULL;
}

/* test_threads - several threads on one cache: no lost or mixed entries */
static void
test_threads(void **state)
{
	struct dns_cache *c = dns_cache_create(64, 3600, 4);
	struct hammer h[6];
	pthread_t t[6];
	void *ret;
	size_t i;

	(void)state;
	assert_non_null(c);
	for (i = 0; i < 6; i++) {
		h[i].c = c;
		h[i].seed = (unsigned)i + 1;
		assert_int_equal(
		    pthread_create(&t[i], NULL, hammer_main, &h[i]), 0);
	}
	for (i = 0; i < 6; i++) {
		assert_int_equal(pthread_join(t[i], &ret), 0);
		if (ret != NULL)
			fail_msg("thread %zu: got %p, want NULL", i, ret);
	}
	if (dns_cache_count(c) > 64)
		fail_msg("count got %zu, want <= 64", dns_cache_count(c));
	dns_cache_free(&c);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_expiry),
		cmocka_unit_test(test_cacheable),
		cmocka_unit_test(test_keys),
		cmocka_unit_test(test_bound),
		cmocka_unit_test(test_lru),
		cmocka_unit_test(test_copy),
		cmocka_unit_test(test_threads),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
