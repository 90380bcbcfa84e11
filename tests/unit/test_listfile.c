/*
 * NAME
 *	test_listfile - unit tests for lists/listfile.c
 * DESCRIPTION
 *	Line splitting (comments, blanks, CR LF, no final newline),
 *	entry/expires/reason parts, pattern entries with blanks and "\/",
 *	expires= forms, UTF-8 validation.
 */
#include "lists/listfile.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

/* test_lines - what each line splits into, "LINE|ENTRY|EXPIRES|REASON" */
static void
test_lines(void **state)
{
	static const struct {
		const char *name;
		int pattern;
		const char *input;
		const char *want; /* lines joined by ";" */
	} cases[] = {
		{ "empty", 0, "", "" },
		{ "comments and blanks", 0, "# c\n\n  \t\n  # indented\n", "" },
		{ "entry only", 0, "10.0.0.0/8", "1|10.0.0.0/8|0|" },
		{ "reason", 0, "  a.example   spam   source  \n",
		    "1|a.example|0|spam   source" },
		{ "expires epoch", 0, "x expires=86400 r\n", "1|x|86400|r" },
		{ "expires iso", 0, "x expires=1970-01-02T00:00:00Z\n",
		    "1|x|86400|" },
		{ "crlf", 0, "a\r\n\r\nb r\r\n", "1|a|0|;3|b|0|r" },
		{ "hash in reason", 0, "a see #5\n", "1|a|0|see #5" },
		{ "pattern blanks", 1, "/a b\\/c/i reason here\n",
		    "1|/a b\\/c/i|0|reason here" },
		{ "pattern escaped backslash", 1, "/a\\\\/ r\n",
		    "1|/a\\\\/|0|r" },
		{ "pattern expires", 1, "/x/ expires=86400\n", "1|/x/|86400|" },
	};
	struct listfile lf;
	struct listfile_line ln;
	char got[512], why[128], one[256];
	size_t i;
	int rc;

	(void)state;
	for (i = 0; i < NELEM(cases); i++) {
		listfile_init(&lf, cases[i].input, strlen(cases[i].input),
		    cases[i].pattern);
		got[0] = '\0';
		while ((rc = listfile_next(&lf, &ln, why, sizeof(why))) != 0) {
			if (rc < 0)
				fail_msg("%s: got error \"%s\", want none",
				    cases[i].name, why);
			snprintf(one, sizeof(one), "%s%lu|%.*s|%lld|%.*s",
			    got[0] != '\0' ? ";" : "", ln.line,
			    (int)ln.entry_len, ln.entry, (long long)ln.expires,
			    (int)ln.reason_len, ln.reason);
			strcat(got, one);
		}
		if (strcmp(got, cases[i].want) != 0)
			fail_msg("%s: got \"%s\", want \"%s\"", cases[i].name,
			    got, cases[i].want);
	}
}

/* test_expires - both forms and what is refused */
static void
test_expires(void **state)
{
	static const struct {
		const char *input;
		long long want; /* -1: refused */
	} cases[] = {
		{ "1", 1 },
		{ "1700000000", 1700000000LL },
		{ "2023-11-14T22:13:20Z", 1700000000LL },
		{ "2024-02-29T00:00:00Z", 1709164800LL },
		{ "2023-02-29T00:00:00Z", -1 },
		{ "2023-11-14T22:13:20", -1 },
		{ "2023-11-14 22:13:20Z", -1 },
		{ "2023-13-01T00:00:00Z", -1 },
		{ "2023-11-14T24:00:00Z", -1 },
		{ "1969-12-31T23:59:59Z", -1 },
		{ "0", -1 },
		{ "-5", -1 },
		{ "12x", -1 },
		{ "1234567890123", -1 },
		{ "", -1 },
	};
	time_t t;
	size_t i;
	long long got;

	(void)state;
	for (i = 0; i < NELEM(cases); i++) {
		got = listfile_expires_parse(
			  cases[i].input, strlen(cases[i].input), &t) < 0
		    ? -1
		    : (long long)t;
		if (got != cases[i].want)
			fail_msg("%s: got %lld, want %lld", cases[i].input, got,
			    cases[i].want);
	}
}

/* test_utf8 - well-formed and ill-formed UTF-8 */
static void
test_utf8(void **state)
{
	static const struct {
		const char *name;
		const char *input;
		int want;
	} cases[] = {
		{ "ascii", "hello", 1 },
		{ "two bytes", "caf\xc3\xa9", 1 },
		{ "three bytes", "\xe2\x82\xac", 1 },
		{ "four bytes", "\xf0\x9f\x98\x80", 1 },
		{ "max", "\xf4\x8f\xbf\xbf", 1 },
		{ "latin-1", "caf\xe9", 0 },
		{ "overlong slash", "\xc0\xaf", 0 },
		{ "overlong three", "\xe0\x80\xaf", 0 },
		{ "surrogate", "\xed\xa0\x80", 0 },
		{ "over max", "\xf4\x90\x80\x80", 0 },
		{ "truncated", "\xe2\x82", 0 },
		{ "lone continuation", "\x80", 0 },
	};
	size_t i;

	(void)state;
	for (i = 0; i < NELEM(cases); i++) {
		if (listfile_utf8_valid(cases[i].input,
			strlen(cases[i].input)) != cases[i].want)
			fail_msg("%s: got %d, want %d", cases[i].name,
			    !cases[i].want, cases[i].want);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_lines),
		cmocka_unit_test(test_expires),
		cmocka_unit_test(test_utf8),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
