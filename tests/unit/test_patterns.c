/*
 * NAME
 *	test_patterns - unit tests for lists/patterns.c
 * DESCRIPTION
 *	Joined alternations must answer as one pass per pattern does: a
 *	table of patterns (joinable or not) against a table of subjects,
 *	at several join sizes; compile errors; the alive filter; the match
 *	limit, alone and inside an alternation.
 */
#include "lists/patterns.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

static const struct {
	const char *src;
	int caseless;
} pats[] = {
	{ "viagra", 1 },
	{ "^re: urgent", 0 },
	{ "(\\w)\\1\\1\\1", 0 },       /* back reference: alone */
	{ "(?<n>x+)y\\k<n>", 0 },      /* named group: alone */
	{ "(?i)lottery", 0 },	       /* inline option, scoped */
	{ "win(?=ner)", 0 },	       /* lookahead joins */
	{ "(?x) a b c # comment", 0 }, /* extended: alone */
	{ "\\Qa+b\\E", 0 },	       /* quoting: alone */
	{ "(*UTF)caf\xc3\xa9", 0 },    /* verb: alone */
	{ "[0-9]{5,}$", 0 },
	{ "(a|b)(?1)c", 0 }, /* subroutine call: alone */
	{ "http:\\/\\/", 0 },
	{ "^$", 0 },
};

static const char *const subjects[] = { "Buy VIAGRA", "re: urgent matter",
	"Re: urgent matter", "zzzz", "xxyxx", "LOTTERY win", "winner", "abc",
	"a+b", "café", "order 123456", "abac", "see http://x", "",
	"nothing at all", "lotTery" };

/* build_set - the table's patterns, joined up to join at a time */
static struct patterns *
build_set(size_t join)
{
	struct patterns *set;
	char why[256];
	size_t i;

	set = patterns_create();
	assert_non_null(set);
	for (i = 0; i < NELEM(pats); i++) {
		if (patterns_add(set, pats[i].src, strlen(pats[i].src),
			pats[i].caseless, why, sizeof(why)) < 0)
			fail_msg(
			    "%s: got \"%s\", want success", pats[i].src, why);
	}
	assert_int_equal(patterns_finish(set, join), 0);
	return set;
}

/* matches_alone - does pattern i alone match subject? */
static int
matches_alone(size_t i, const char *subject)
{
	struct patterns *set;
	char why[256];
	size_t idx;
	int rc;

	set = patterns_create();
	assert_non_null(set);
	assert_int_equal(patterns_add(set, pats[i].src, strlen(pats[i].src),
			     pats[i].caseless, why, sizeof(why)),
	    0);
	assert_int_equal(patterns_finish(set, 1), 0);
	rc = patterns_match(set, subject, strlen(subject), NULL, NULL, &idx);
	patterns_free(&set);
	return rc == 1;
}

/* test_joined_equals_single - same answers at every join size */
static void
test_joined_equals_single(void **state)
{
	static const size_t joins[] = { 64, 3, 2 };
	struct patterns *single, *joined;
	size_t j, i, want_idx, got_idx;
	int want, got;

	(void)state;
	single = build_set(1);
	assert_int_equal(patterns_passes(single), NELEM(pats));
	for (j = 0; j < NELEM(joins); j++) {
		joined = build_set(joins[j]);
		if (joins[j] == 64 &&
		    patterns_passes(joined) >= patterns_passes(single))
			fail_msg("got %zu passes joined, want fewer than %zu",
			    patterns_passes(joined), patterns_passes(single));
		for (i = 0; i < NELEM(subjects); i++) {
			want_idx = got_idx = SIZE_MAX;
			want = patterns_match(single, subjects[i],
			    strlen(subjects[i]), NULL, NULL, &want_idx);
			got = patterns_match(joined, subjects[i],
			    strlen(subjects[i]), NULL, NULL, &got_idx);
			if (got != want)
				fail_msg("join %zu: \"%s\": got %d, want %d",
				    joins[j], subjects[i], got, want);
			/* The index may differ (leftmost wins): it matches. */
			if (got == 1 && !matches_alone(got_idx, subjects[i]))
				fail_msg("join %zu: \"%s\": got index %zu, "
					 "which does not match",
				    joins[j], subjects[i], got_idx);
		}
		patterns_free(&joined);
	}
	patterns_free(&single);
}

/* test_which - the pattern reported, from the marks */
static void
test_which(void **state)
{
	static const struct {
		const char *subject;
		int want;
		size_t index;
	} cases[] = {
		{ "Buy VIAGRA", 1, 0 },
		{ "re: urgent", 1, 1 },
		{ "zzzz", 1, 2 },
		{ "LOTTERY", 1, 4 },
		{ "winner", 1, 5 },
		{ "win", 0, 0 },
		{ "abc", 1, 6 },
		{ "a+b", 1, 7 },
		{ "caf\xc3\xa9", 1, 8 },
		{ "id 12345", 1, 9 },
		{ "bac", 1, 10 },
		{ "http://", 1, 11 },
		{ "", 1, 12 },
	};
	struct patterns *set;
	size_t i, idx;
	int rc;

	(void)state;
	set = build_set(64);
	for (i = 0; i < NELEM(cases); i++) {
		idx = SIZE_MAX;
		rc = patterns_match(set, cases[i].subject,
		    strlen(cases[i].subject), NULL, NULL, &idx);
		if (rc != cases[i].want)
			fail_msg("\"%s\": got %d, want %d", cases[i].subject,
			    rc, cases[i].want);
		if (rc == 1 && idx != cases[i].index)
			fail_msg("\"%s\": got index %zu, want %zu",
			    cases[i].subject, idx, cases[i].index);
	}
	patterns_free(&set);
}

/* skip_zero - patterns_alive_fn passing over pattern 0 */
static int
skip_zero(const void *arg, size_t index)
{
	(void)arg;
	return index != 0;
}

/* test_alive - a passed-over pattern lets the next one answer */
static void
test_alive(void **state)
{
	struct patterns *set;
	char why[256];
	size_t idx = SIZE_MAX;

	(void)state;
	set = patterns_create();
	assert_non_null(set);
	assert_int_equal(patterns_add(set, "spam", 4, 0, why, sizeof(why)), 0);
	assert_int_equal(patterns_add(set, "sp.m", 4, 0, why, sizeof(why)), 0);
	assert_int_equal(patterns_finish(set, 64), 0);
	assert_int_equal(patterns_passes(set), 1);
	assert_int_equal(patterns_match(set, "spam", 4, NULL, NULL, &idx), 1);
	assert_int_equal(idx, 0);
	assert_int_equal(
	    patterns_match(set, "spam", 4, skip_zero, NULL, &idx), 1);
	assert_int_equal(idx, 1);
	assert_int_equal(
	    patterns_match(set, "spa", 3, skip_zero, NULL, &idx), 0);
	patterns_free(&set);
	assert_null(set);
	patterns_free(NULL);
}

/* test_errors - compile errors carry PCRE2's message and offset */
static void
test_errors(void **state)
{
	static const struct {
		const char *src;
		const char *want;
	} cases[] = {
		{ "a(b",
		    "invalid regex: missing closing parenthesis at "
		    "offset 3" },
		{ "[a",
		    "invalid regex: missing terminating ] for character "
		    "class at offset 2" },
		{ "*a",
		    "invalid regex: quantifier does not follow a "
		    "repeatable item at offset 0" },
		{ "\\C",
		    "invalid regex: using \\C is disabled by the "
		    "application at offset 2" },
	};
	struct patterns *set;
	char why[256];
	size_t i;

	(void)state;
	set = patterns_create();
	assert_non_null(set);
	for (i = 0; i < NELEM(cases); i++) {
		why[0] = '\0';
		if (patterns_add(set, cases[i].src, strlen(cases[i].src), 0,
			why, sizeof(why)) != -1)
			fail_msg(
			    "%s: got success, want an error", cases[i].src);
		if (strcmp(why, cases[i].want) != 0)
			fail_msg("%s: got \"%s\", want \"%s\"", cases[i].src,
			    why, cases[i].want);
	}
	patterns_free(&set);
}

/* test_limit - catastrophic backtracking: -1 alone, a hit if another hits */
static void
test_limit(void **state)
{
	static const char subject[] =
	    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa!";
	static const size_t joins[] = { 1, 64 };
	struct patterns *set;
	char why[256];
	size_t j, idx;

	(void)state;
	for (j = 0; j < NELEM(joins); j++) {
		set = patterns_create();
		assert_non_null(set);
		assert_int_equal(
		    patterns_add(set, "(a+)+$", 6, 0, why, sizeof(why)), 0);
		assert_int_equal(
		    patterns_add(set, "(a|aa)+b", 8, 0, why, sizeof(why)), 0);
		assert_int_equal(patterns_finish(set, joins[j]), 0);
		if (patterns_match(
			set, subject, strlen(subject), NULL, NULL, &idx) != -1)
			fail_msg("join %zu: got a result, want -1", joins[j]);
		patterns_free(&set);

		set = patterns_create();
		assert_non_null(set);
		assert_int_equal(
		    patterns_add(set, "(a+)+$", 6, 0, why, sizeof(why)), 0);
		assert_int_equal(
		    patterns_add(set, "!", 1, 0, why, sizeof(why)), 0);
		assert_int_equal(patterns_finish(set, joins[j]), 0);
		if (patterns_match(
			set, subject, strlen(subject), NULL, NULL, &idx) != 1 ||
		    idx != 1)
			fail_msg(
			    "join %zu: got no hit, want pattern 1", joins[j]);
		patterns_free(&set);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_joined_equals_single),
		cmocka_unit_test(test_which),
		cmocka_unit_test(test_alive),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_limit),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
