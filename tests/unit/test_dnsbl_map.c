/*
 * test_dnsbl_map - DNSBL return-code maps: MATCH forms, bad rows with
 * their reasons, first-match order, the refused set, non-127 answers.
 */
#include "policy/dnsbl_map.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#define Q(a, b, c, d) \
	((uint32_t)(a) << 24 | (uint32_t)(b) << 16 | (uint32_t)(c) << 8 | (d))

struct match_case {
	const char *name;  /* what the case shows */
	const char *match; /* the MATCH string */
	uint32_t code;	   /* an answer */
	int want;	   /* 1 matches, 0 not */
};

static const struct match_case match_cases[] = {
	{ "exact hit", "127.0.0.2", Q(127, 0, 0, 2), 1 },
	{ "exact miss", "127.0.0.2", Q(127, 0, 0, 3), 0 },
	{ "exact with blanks", "  127.0.0.2\t", Q(127, 0, 0, 2), 1 },
	{ "range start", "127.0.0.4-127.0.0.7", Q(127, 0, 0, 4), 1 },
	{ "range inside", "127.0.0.4-127.0.0.7", Q(127, 0, 0, 6), 1 },
	{ "range end", "127.0.0.4-127.0.0.7", Q(127, 0, 0, 7), 1 },
	{ "range below", "127.0.0.4-127.0.0.7", Q(127, 0, 0, 3), 0 },
	{ "range above", "127.0.0.4-127.0.0.7", Q(127, 0, 0, 8), 0 },
	{ "range over octets", "127.0.0.200-127.0.1.10", Q(127, 0, 1, 3), 1 },
	{ "mask decimal hit", "&4", Q(127, 0, 0, 4), 1 },
	{ "mask decimal in a sum", "&4", Q(127, 0, 0, 6), 1 },
	{ "mask decimal miss", "&4", Q(127, 0, 0, 2), 0 },
	{ "mask quad", "&0.0.0.8", Q(127, 0, 0, 80), 0 },
	{ "mask quad hit", "&0.0.0.16", Q(127, 0, 0, 80), 1 },
	{ "mask hex", "&0x40", Q(127, 0, 0, 64), 1 },
	{ "mask hex upper", "&0X40", Q(127, 0, 0, 0xc0), 1 },
	{ "mask second octet", "&0.1.0.0", Q(127, 1, 0, 2), 1 },
	{ "mask many bits", "&0.0.0.255", Q(127, 0, 0, 1), 1 },
	{ "any", "any", Q(127, 0, 0, 1), 1 },
	{ "any upper", "ANY", Q(127, 200, 3, 4), 1 },
	/* Never listings, whatever the row says. */
	{ "any: not 127/8", "any", Q(10, 0, 0, 1), 0 },
	{ "any: refused code", "any", Q(127, 255, 255, 254), 0 },
	{ "mask: not 127/8", "&2", Q(10, 0, 0, 2), 0 },
	{ "mask: refused code", "&4", Q(127, 255, 255, 252), 0 },
	{ "range: refused code", "127.255.255.0-127.255.255.255",
	    Q(127, 255, 255, 254), 0 },
};

/* test_match_forms - every case of match_cases, in a one-row map */
static void
test_match_forms(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(match_cases) / sizeof(match_cases[0]); i++) {
		const struct match_case *c = &match_cases[i];
		struct dnsbl_map *m = dnsbl_map_create();
		char *error = NULL;
		int got;

		assert_non_null(m);
		if (dnsbl_map_add(
			m, c->match, c->name, ACTION_TAG, 1, &error) != 0)
			fail_msg("%s: refused: %s", c->name, error);
		got = dnsbl_map_match(m, c->code) != NULL;
		if (got != c->want)
			fail_msg("%s: got %d, want %d", c->name, got, c->want);
		dnsbl_map_free(&m);
		assert_null(m);
	}
}

struct bad_case {
	const char *match; /* a bad MATCH */
	const char *why;   /* text the error must hold */
};

static const struct bad_case bad_cases[] = {
	{ "", "empty match" },
	{ "   ", "empty match" },
	{ "127.0.0", "not an IPv4 code" },
	{ "127.0.0.256", "not an IPv4 code" },
	{ "127.0.0.2.1", "not an IPv4 code" },
	{ "127..0.2", "not an IPv4 code" },
	{ "127.0.0.-2", "range ends" },
	{ "127.0.0.1234", "not an IPv4 code" },
	{ "+127.0.0.2", "not an IPv4 code" },
	{ "127.0.0.2 x", "not an IPv4 code" },
	{ "10.0.0.1", "outside 127.0.0.0/8" },
	{ "128.0.0.2", "outside 127.0.0.0/8" },
	{ "126.255.255.255-127.0.0.2", "outside 127.0.0.0/8" },
	{ "127.0.0.7-127.0.0.4", "start above its end" },
	{ "127.0.0.4-", "range ends" },
	{ "-127.0.0.4", "range ends" },
	{ "127.0.0.4-7", "range ends" },
	{ "&", "empty or overlong mask" },
	{ "&0", "matches nothing" },
	{ "&0.0.0.0", "matches nothing" },
	{ "&x4", "not a number" },
	{ "&-4", "not a number" },
	{ "& 4", "not a number" },
	{ "&0x", "not a number" },
	{ "&0xg", "not a number" },
	{ "&4294967296", "out of range" },
	{ "&255.0.0.0", "first octet" },
	{ "&0x1000000", "first octet" },
	{ "&0.0.0.256", "not a dotted quad" },
	{ "anything", "not an IPv4 code" },
	{ "127.0.0.2/32", "not an IPv4 code" },
	{ "1111111111111111111111111111111111111111111111111111111111111111"
	  "1",
	    "too long" },
};

/* test_bad_rows - refused with a reason naming the row; map unchanged */
static void
test_bad_rows(void **state)
{
	struct dnsbl_map *m;
	size_t i;

	(void)state;
	assert_non_null(m = dnsbl_map_create());
	for (i = 0; i < sizeof(bad_cases) / sizeof(bad_cases[0]); i++) {
		const struct bad_case *c = &bad_cases[i];
		char *error = NULL;

		if (dnsbl_map_add(m, c->match, "x", ACTION_REJECT, 0, &error) !=
		    -1)
			fail_msg("%s: accepted, want refused", c->match);
		if (error == NULL || strstr(error, c->why) == NULL)
			fail_msg("%s: error %s, want it to hold %s", c->match,
			    error != NULL ? error : "(none)", c->why);
		free(error);
	}
	assert_int_equal(dnsbl_map_count(m), 0);
	dnsbl_map_free(&m);
}

/* test_bad_meaning_action - meanings are plain text; actions in range */
static void
test_bad_meaning_action(void **state)
{
	struct dnsbl_map *m;
	char long_meaning[DNSBL_MAP_MEANING_MAX + 2], *error = NULL;

	(void)state;
	assert_non_null(m = dnsbl_map_create());
	assert_int_equal(
	    dnsbl_map_add(m, "any", "tab\there", ACTION_TAG, 0, &error), -1);
	assert_non_null(strstr(error, "control"));
	free(error);
	assert_int_equal(
	    dnsbl_map_add(m, "any", "caf\xc3\xa9", ACTION_TAG, 0, &error), -1);
	assert_non_null(strstr(error, "non-ASCII"));
	free(error);
	memset(long_meaning, 'a', sizeof(long_meaning) - 1);
	long_meaning[sizeof(long_meaning) - 1] = '\0';
	assert_int_equal(
	    dnsbl_map_add(m, "any", long_meaning, ACTION_TAG, 0, &error), -1);
	assert_non_null(strstr(error, "meaning too long"));
	free(error);
	long_meaning[DNSBL_MAP_MEANING_MAX] = '\0';
	assert_int_equal(
	    dnsbl_map_add(m, "any", long_meaning, ACTION_TAG, 0, &error), 0);
	assert_int_equal(
	    dnsbl_map_add(m, "any", "x", ACTION_COUNT, 0, &error), -1);
	assert_non_null(strstr(error, "unknown action"));
	free(error);
	/* NULL meaning is "", NULL error_r is fine */
	assert_int_equal(
	    dnsbl_map_add(m, "127.0.0.2", NULL, ACTION_REJECT, 0, NULL), 0);
	assert_string_equal(dnsbl_map_row(m, 1)->meaning, "");
	assert_int_equal(dnsbl_map_add(m, NULL, "x", ACTION_TAG, 0, NULL), -1);
	assert_int_equal(dnsbl_map_count(m), 2);
	assert_null(dnsbl_map_row(m, 2));
	dnsbl_map_free(&m);
}

/* test_first_match - rows are tried in the order given */
static void
test_first_match(void **state)
{
	struct dnsbl_map *m;
	const struct dnsbl_map_row *row;

	(void)state;
	assert_non_null(m = dnsbl_map_create());
	assert_int_equal(
	    dnsbl_map_add(m, "127.0.0.2", "exact", ACTION_REJECT, 10, NULL), 0);
	assert_int_equal(dnsbl_map_add(m, "127.0.0.0-127.0.0.9", "range",
			     ACTION_TAG, 3, NULL),
	    0);
	assert_int_equal(
	    dnsbl_map_add(m, "&0x10", "mask", ACTION_QUARANTINE, 5, NULL), 0);
	assert_int_equal(
	    dnsbl_map_add(m, "any", "rest", ACTION_ACCEPT, 1, NULL), 0);
	assert_int_equal(dnsbl_map_count(m), 4);

	row = dnsbl_map_match(m, Q(127, 0, 0, 2));
	assert_non_null(row);
	assert_string_equal(row->meaning, "exact");
	assert_int_equal(row->action, ACTION_REJECT);
	assert_int_equal(row->score, 10);
	assert_string_equal(row->match, "127.0.0.2");
	assert_int_equal(row->kind, DNSBL_MATCH_EXACT);
	/* 127.0.0.3 is in the range (row 2), before "any" */
	assert_string_equal(
	    dnsbl_map_match(m, Q(127, 0, 0, 3))->meaning, "range");
	assert_int_equal(
	    dnsbl_map_match(m, Q(127, 0, 0, 3))->kind, DNSBL_MATCH_RANGE);
	/* 127.0.0.17: not in the range, bit 16 set */
	assert_string_equal(
	    dnsbl_map_match(m, Q(127, 0, 0, 17))->meaning, "mask");
	/* 127.0.0.32: outside the range, no bit 16: the last row */
	assert_string_equal(
	    dnsbl_map_match(m, Q(127, 0, 0, 32))->meaning, "rest");
	dnsbl_map_free(&m);
	dnsbl_map_free(&m); /* NULL is fine */
	dnsbl_map_free(NULL);
}

struct class_case {
	const char *name;	    /* what the case shows */
	uint32_t code;		    /* an answer */
	enum dnsbl_code_class want; /* its class */
};

/* test_classify - refused set and non-127 answers before the rows */
static void
test_classify(void **state)
{
	static const struct class_case cases[] = {
		{ "listed", Q(127, 0, 0, 2), DNSBL_CODE_LISTED },
		{ "unmatched", Q(127, 0, 0, 3), DNSBL_CODE_UNMATCHED },
		{ "refused low", Q(127, 255, 255, 0), DNSBL_CODE_REFUSED },
		{ "spamhaus 252", Q(127, 255, 255, 252), DNSBL_CODE_REFUSED },
		{ "spamhaus 254", Q(127, 255, 255, 254), DNSBL_CODE_REFUSED },
		{ "refused high", Q(127, 255, 255, 255), DNSBL_CODE_REFUSED },
		{ "below refused", Q(127, 255, 254, 255), DNSBL_CODE_LISTED },
		{ "10/8", Q(10, 0, 0, 1), DNSBL_CODE_NOT_LOOPBACK },
		{ "0.0.0.0", 0, DNSBL_CODE_NOT_LOOPBACK },
		{ "128.0.0.2", Q(128, 0, 0, 2), DNSBL_CODE_NOT_LOOPBACK },
		{ "126.255.255.255", Q(126, 255, 255, 255),
		    DNSBL_CODE_NOT_LOOPBACK },
	};
	struct dnsbl_map *m;
	const struct dnsbl_map_row *row;
	size_t i;

	(void)state;
	assert_non_null(m = dnsbl_map_create());
	assert_int_equal(
	    dnsbl_map_add(m, "127.0.0.2", "spam", ACTION_REJECT, 0, NULL), 0);
	assert_int_equal(dnsbl_map_add(m, "127.0.1.0-127.255.255.255", "wide",
			     ACTION_TAG, 0, NULL),
	    0);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		enum dnsbl_code_class got;

		got = dnsbl_map_classify(m, cases[i].code, &row);
		if (got != cases[i].want)
			fail_msg("%s: got class %d, want %d", cases[i].name,
			    got, cases[i].want);
		if ((got == DNSBL_CODE_LISTED) != (row != NULL))
			fail_msg("%s: row %p with class %d", cases[i].name,
			    (const void *)row, got);
	}
	assert_int_equal(
	    dnsbl_map_classify(m, Q(127, 0, 0, 2), NULL), DNSBL_CODE_LISTED);

	/* Cleared, 127.255.255.254 is a code like any other ... */
	dnsbl_map_refused_clear(m);
	assert_int_equal(dnsbl_map_classify(m, Q(127, 255, 255, 254), &row),
	    DNSBL_CODE_LISTED);
	/* ... and a configured set replaces the default. */
	assert_int_equal(dnsbl_map_refused_add(m, "127.0.0.2", NULL), 0);
	assert_int_equal(
	    dnsbl_map_refused_add(m, " 127.255.255.252-127.255.255.255 ", NULL),
	    0);
	assert_int_equal(
	    dnsbl_map_classify(m, Q(127, 0, 0, 2), &row), DNSBL_CODE_REFUSED);
	assert_null(row);
	assert_int_equal(dnsbl_map_classify(m, Q(127, 255, 255, 251), &row),
	    DNSBL_CODE_LISTED);
	assert_int_equal(dnsbl_map_classify(m, Q(127, 255, 255, 253), &row),
	    DNSBL_CODE_REFUSED);
	dnsbl_map_free(&m);
}

/* test_refused_bad - refused ranges are checked like MATCH ranges */
static void
test_refused_bad(void **state)
{
	static const char *const bad[] = { "", "10.0.0.1", "&4", "any",
		"127.0.0.9-127.0.0.1", "127.0.0", NULL };
	struct dnsbl_map *m;
	char *error = NULL;
	size_t i;

	(void)state;
	assert_non_null(m = dnsbl_map_create());
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (dnsbl_map_refused_add(m, bad[i], &error) != -1)
			fail_msg("%s: accepted", bad[i] ? bad[i] : "NULL");
		assert_non_null(error);
		free(error);
		error = NULL;
	}
	/* the default set is still there */
	assert_int_equal(dnsbl_map_classify(m, Q(127, 255, 255, 254), NULL),
	    DNSBL_CODE_REFUSED);
	dnsbl_map_free(&m);
}

/* test_code_text - dotted quads */
static void
test_code_text(void **state)
{
	char buf[16];

	(void)state;
	assert_string_equal(
	    dnsbl_map_code_text(Q(127, 0, 0, 2), buf, sizeof(buf)),
	    "127.0.0.2");
	assert_string_equal(dnsbl_map_code_text(0xffffffffu, buf, sizeof(buf)),
	    "255.255.255.255");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_match_forms),
		cmocka_unit_test(test_bad_rows),
		cmocka_unit_test(test_bad_meaning_action),
		cmocka_unit_test(test_first_match),
		cmocka_unit_test(test_classify),
		cmocka_unit_test(test_refused_bad),
		cmocka_unit_test(test_code_text),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
