/*
 * NAME
 *	test_spf_input - spf_check() input validation
 * SUMMARY
 *	Odd client addresses, HELO names and MAIL FROM addresses give none
 *	with a reason before any DNS query; never a pass, never a crash.
 * DESCRIPTION
 *	The resolver points at 127.0.0.1 port 1 (nothing answers), so an
 *	input that passes validation ends in temperror after a short
 *	timeout: those rows expect temperror, which proves the check went
 *	as far as DNS and no further.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "milter/spf.h"

struct spf_input_case {
	const char *name;      /* row name */
	const char *ip;	       /* client address */
	const char *helo;      /* HELO name */
	const char *mailfrom;  /* MAIL FROM; NULL: HELO identity */
	enum result_code want; /* expected result */
	const char *reason;    /* text the reason must contain, or NULL */
};

static char long_label[80];
static char long_local[80];
static char long_helo[300];
static char long_from[400];

static const struct spf_input_case cases[] = {
	{ "ip not an address", "1.2.3", "h.test", "u@d.test", RESULT_NONE,
	    "not an address" },
	{ "ip empty", "", "h.test", "u@d.test", RESULT_NONE, "not an address" },
	{ "ip NULL", NULL, "h.test", "u@d.test", RESULT_NONE,
	    "not an address" },
	{ "ip with port", "192.0.2.1:25", "h.test", "u@d.test", RESULT_NONE,
	    "not an address" },
	{ "ip with brackets", "[192.0.2.1]", "h.test", "u@d.test", RESULT_NONE,
	    "not an address" },
	{ "helo NULL", "192.0.2.1", NULL, NULL, RESULT_NONE, "no HELO" },
	{ "helo empty", "192.0.2.1", "", NULL, RESULT_NONE, "no HELO" },
	{ "helo single label", "192.0.2.1", "localhost", NULL, RESULT_NONE,
	    "not a domain" },
	{ "helo literal", "192.0.2.1", "[192.0.2.1]", NULL, RESULT_NONE,
	    "not a domain" },
	{ "helo control byte", "192.0.2.1", "a\001b.test", NULL, RESULT_NONE,
	    "not a domain" },
	{ "helo non-ascii", "192.0.2.1", "\xc3\xa9.test", NULL, RESULT_NONE,
	    "not a domain" },
	{ "helo space", "192.0.2.1", "a b.test", NULL, RESULT_NONE,
	    "not a domain" },
	{ "helo empty label", "192.0.2.1", "a..test", NULL, RESULT_NONE,
	    "not a domain" },
	{ "helo too long", "192.0.2.1", long_helo, NULL, RESULT_NONE,
	    "not a domain" },
	{ "null sender, no helo", "192.0.2.1", NULL, "", RESULT_NONE,
	    "no HELO" },
	{ "from no domain", "192.0.2.1", "h.test", "user", RESULT_NONE,
	    "no domain" },
	{ "from empty domain", "192.0.2.1", "h.test", "user@", RESULT_NONE,
	    "not a domain" },
	{ "from empty local", "192.0.2.1", "h.test", "@d.test", RESULT_NONE,
	    "local-part" },
	{ "from long label", "192.0.2.1", "h.test", long_label, RESULT_NONE,
	    "not a domain" },
	{ "from long local", "192.0.2.1", "h.test", long_local, RESULT_NONE,
	    "local-part" },
	{ "from too long", "192.0.2.1", "h.test", long_from, RESULT_NONE,
	    "too long" },
	{ "from control byte", "192.0.2.1", "h.test", "a\rb@d.test",
	    RESULT_NONE, "local-part" },
	{ "from non-ascii local", "192.0.2.1", "h.test", "\xff@d.test",
	    RESULT_NONE, "local-part" },
	{ "from non-ascii domain", "192.0.2.1", "h.test", "u@\xff.test",
	    RESULT_NONE, "not a domain" },
	{ "from percent domain", "192.0.2.1", "h.test", "u@%{i}.test",
	    RESULT_NONE, "not a domain" },
	/* Valid input reaches DNS, which does not answer. */
	{ "valid mailfrom", "192.0.2.1", "h.test", "u@d.test", RESULT_TEMPERROR,
	    NULL },
	{ "valid helo", "2001:db8::1", "h.test", NULL, RESULT_TEMPERROR, NULL },
	{ "valid null sender", "192.0.2.1", "h.test", "", RESULT_TEMPERROR,
	    NULL },
	{ "loopback is checked", "127.0.0.1", "h.test", "u@d.test",
	    RESULT_TEMPERROR, NULL },
};

/* setup - build the long inputs and a resolver nobody answers */
static int
setup(void **state)
{
	static const char *const servers[] = { "127.0.0.1@1" };
	struct dns_options opts;
	struct dns_resolver *r = NULL;
	char *error = NULL;

	memset(long_label, 'a', 70);
	memcpy(long_label, "u@", 2);
	strcpy(long_label + 70, ".test");
	memset(long_local, 'l', 65);
	strcpy(long_local + 65, "@d.test");
	memset(long_helo, 'h', 254);
	long_helo[100] = '.';
	memset(long_from, 'f', 390);
	long_from[10] = '@';
	long_from[100] = '.';
	memset(&opts, 0, sizeof(opts));
	opts.servers = servers;
	opts.server_count = 1;
	opts.timeout_ms = 100;
	opts.workers = 2;
	if (dns_resolver_create(&opts, &r, &error) != 0) {
		fprintf(stderr, "resolver: %s\n", error ? error : "?");
		free(error);
		return -1;
	}
	*state = r;
	return 0;
}

/* teardown - free the resolver */
static int
teardown(void **state)
{
	struct dns_resolver *r = *state;

	dns_resolver_free(&r);
	return 0;
}

/* test_inputs - every row of the table */
static void
test_inputs(void **state)
{
	struct dns_resolver *r = *state;
	struct spf_outcome out;
	size_t i;
	int bad = 0;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct spf_input_case *c = &cases[i];

		if (spf_check(r, NULL, c->ip, c->helo, c->mailfrom, "mx.test",
			&out) != 0) {
			print_error("%s: spf_check returned -1\n", c->name);
			bad++;
			continue;
		}
		if (out.result != c->want) {
			print_error("%s: got %s (%s), want %s\n", c->name,
			    result_name(out.result), out.reason,
			    result_name(c->want));
			bad++;
		}
		if (c->reason != NULL &&
		    strstr(out.reason, c->reason) == NULL) {
			print_error("%s: reason \"%s\", want \"%s\" in it\n",
			    c->name, out.reason, c->reason);
			bad++;
		}
		if (out.explanation[0] != '\0') {
			print_error("%s: explanation \"%s\", want none\n",
			    c->name, out.explanation);
			bad++;
		}
	}
	assert_int_equal(bad, 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_inputs),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
