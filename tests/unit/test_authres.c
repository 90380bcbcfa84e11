/*
 * test_authres - Authentication-Results text: building ours, reading the
 * authserv-id of received ones.
 */
#include "milter/authres.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

struct id_case {
	const char *name;  /* what the case shows */
	const char *value; /* received header value */
	int want_found;	   /* 1 an id is read, 0 none */
	const char *want;  /* the id */
};

static const struct id_case id_cases[] = {
	{ "plain", "mx.example.test; spf=pass", 1, "mx.example.test" },
	{ "leading space", "  mx.example.test; none", 1, "mx.example.test" },
	{ "folded", "\r\n\tmx.example.test;\r\n\tspf=pass", 1,
	    "mx.example.test" },
	{ "comment first", "(forged) mx.example.test; spf=pass", 1,
	    "mx.example.test" },
	{ "nested comment", "(a (b) c) mx.example.test; x", 1,
	    "mx.example.test" },
	{ "version", "mx.example.test 1; spf=pass", 1, "mx.example.test" },
	{ "quoted", "\"mx.example.test\"; spf=pass", 1, "mx.example.test" },
	{ "quoted pair", "\"mx\\.x\"; none", 1, "mx.x" },
	{ "quoted, folded", "\"mx.test\r\n\"; spf=pass", 1, "mx.test" },
	{ "quoted, control byte", "\"mx\x01test\"; none", 0, "" },
	{ "unbalanced comment", "(open mx.example.test; spf=pass", 0, "" },
	{ "unterminated quote", "\"mx.example.test; spf=pass", 0, "" },
	{ "empty", "", 0, "" },
	{ "only semicolon", "; spf=pass", 0, "" },
	{ "token stops at tspecial", "mx.example.test/x; none", 1,
	    "mx.example.test" },
};

/* test_authserv_id - every case of id_cases */
static void
test_authserv_id(void **state)
{
	char buf[256];
	size_t i;
	int got;

	(void)state;
	for (i = 0; i < sizeof(id_cases) / sizeof(id_cases[0]); i++) {
		const struct id_case *c = &id_cases[i];

		buf[0] = '\0';
		got = authres_authserv_id(c->value, buf, sizeof(buf));
		if (got != c->want_found)
			fail_msg("%s: found got %d, want %d", c->name, got,
			    c->want_found);
		if (got == 1 && strcmp(buf, c->want) != 0)
			fail_msg("%s: id got \"%s\", want \"%s\"", c->name, buf,
			    c->want);
	}
}

/* test_authserv_id_small_buffer - a long id that does not fit is none */
static void
test_authserv_id_small_buffer(void **state)
{
	char buf[8];

	(void)state;
	assert_int_equal(
	    authres_authserv_id("mx.example.test; none", buf, sizeof(buf)), 0);
}

/* test_build - the header our checks produce */
static void
test_build(void **state)
{
	char data[1024];
	struct authres_buf b = { data, sizeof(data), 0, 0 };
	const char *want = "mx.example.test;\n\t"
			   "spf=pass smtp.mailfrom=alice@pass.spf.test;\n\t"
			   "spf=none smtp.helo=helo.example.test;\n\t"
			   "iprev=pass policy.iprev=192.0.2.10 "
			   "(good.iprev.test)";

	(void)state;
	authres_begin(&b, "mx.example.test");
	authres_add(&b, "spf", RESULT_PASS, NULL, "smtp.mailfrom",
	    "alice@pass.spf.test", NULL);
	authres_add(
	    &b, "spf", RESULT_NONE, "", "smtp.helo", "helo.example.test", NULL);
	authres_add(&b, "iprev", RESULT_PASS, NULL, "policy.iprev",
	    "192.0.2.10", "good.iprev.test");
	if (strcmp(data, want) != 0)
		fail_msg("got \"%s\", want \"%s\"", data, want);
	assert_int_equal(b.overflow, 0);
}

struct pvalue_case {
	const char *name;  /* what the case shows */
	const char *value; /* property value given */
	const char *want;  /* how it is written */
};

static const struct pvalue_case pvalue_cases[] = {
	{ "addr-spec", "a.b@example.test", "a.b@example.test" },
	{ "domain", "example.test", "example.test" },
	{ "ipv6 quoted", "2001:db8::10", "\"2001:db8::10\"" },
	{ "space in local-part", "a b@example.test", "\"a b@example.test\"" },
	{ "quote and backslash", "a\"\\b@x.test", "\"a\\\"\\\\b@x.test\"" },
	{ "control byte", "a\x01@x.test", "\"a?@x.test\"" },
	{ "non-ascii", "\xc3\xa9@x.test", "\"??@x.test\"" },
	{ "double dot", "a..b@x.test", "\"a..b@x.test\"" },
	{ "base64 with slash", "ab/c+d=", "\"ab/c+d=\"" },
	{ "base64 plain", "abc+def", "abc+def" },
	{ "null local-part", "@x.test", "@x.test" },
	{ "domain with slash", "a@x/y", "\"a@x/y\"" },
};

/* test_pvalue - values are bare when they may be, quoted otherwise */
static void
test_pvalue(void **state)
{
	char data[512], want[512];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(pvalue_cases) / sizeof(pvalue_cases[0]); i++) {
		const struct pvalue_case *c = &pvalue_cases[i];
		struct authres_buf b = { data, sizeof(data), 0, 0 };

		authres_begin(&b, "id");
		authres_add(&b, "spf", RESULT_FAIL, NULL, "smtp.mailfrom",
		    c->value, NULL);
		snprintf(want, sizeof(want), "id;\n\tspf=fail smtp.mailfrom=%s",
		    c->want);
		if (strcmp(data, want) != 0)
			fail_msg(
			    "%s: got \"%s\", want \"%s\"", c->name, data, want);
	}
}

/* test_comment_sanitized - no parentheses, backslashes or controls */
static void
test_comment_sanitized(void **state)
{
	char data[512];
	struct authres_buf b = { data, sizeof(data), 0, 0 };
	const char *want = "id;\n\tspf=permerror (bad x?y) smtp.mailfrom=a@b";

	(void)state;
	authres_begin(&b, "id");
	authres_add(&b, "spf", RESULT_PERMERROR, "(bad) x\ny\\",
	    "smtp.mailfrom", "a@b", NULL);
	if (strcmp(data, want) != 0)
		fail_msg("got \"%s\", want \"%s\"", data, want);
}

/* test_overflow - a small buffer is flagged, never overrun */
static void
test_overflow(void **state)
{
	char data[24];
	struct authres_buf b = { data, sizeof(data), 0, 0 };

	(void)state;
	authres_begin(&b, "mx.example.test");
	authres_add(&b, "spf", RESULT_PASS, NULL, "smtp.mailfrom",
	    "someone@example.test", NULL);
	assert_int_not_equal(b.overflow, 0);
	assert_true(strlen(data) < sizeof(data));
}

/* test_prop - more properties of one entry (DKIM) */
static void
test_prop(void **state)
{
	char data[512];
	struct authres_buf b = { data, sizeof(data), 0, 0 };
	const char *want = "id;\n\tdkim=pass header.d=example.test "
			   "header.s=sel1 header.b=\"AbC/dEf+\"";

	(void)state;
	authres_begin(&b, "id");
	authres_add(
	    &b, "dkim", RESULT_PASS, NULL, "header.d", "example.test", NULL);
	authres_prop(&b, "header.s", "sel1");
	authres_prop(&b, "header.b", "AbC/dEf+");
	authres_prop(&b, "header.i", "");
	if (strcmp(data, want) != 0)
		fail_msg("got \"%s\", want \"%s\"", data, want);
}

/* test_none - no method ran */
static void
test_none(void **state)
{
	char data[64];
	struct authres_buf b = { data, sizeof(data), 0, 0 };

	(void)state;
	authres_begin(&b, "mx.example.test");
	authres_none(&b);
	assert_string_equal(data, "mx.example.test; none");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_authserv_id),
		cmocka_unit_test(test_authserv_id_small_buffer),
		cmocka_unit_test(test_build),
		cmocka_unit_test(test_pvalue),
		cmocka_unit_test(test_comment_sanitized),
		cmocka_unit_test(test_overflow),
		cmocka_unit_test(test_prop),
		cmocka_unit_test(test_none),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
