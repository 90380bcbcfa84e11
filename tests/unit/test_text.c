/*
 * test_text - untrusted text copied as printable ASCII.
 */
#include "lists/text.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>

struct text_case {
	const char *name; /* what the case shows */
	const char *in;	  /* input */
	size_t size;	  /* output buffer */
	const char *want; /* output */
};

static const struct text_case text_cases[] = {
	{ "plain", "key revoked", 64, "key revoked" },
	{ "control bytes", "a\r\nb\x01", 64, "a??b?" },
	{ "non-ascii", "\xc3\xa9t\xc3\xa9", 64, "??t??" },
	{ "DEL", "a\x7f", 64, "a?" },
	{ "cut", "abcdef", 4, "abc" },
	{ "one byte", "abc", 1, "" },
	{ "NULL", NULL, 8, "" },
};

/* test_printable - every case of text_cases */
static void
test_printable(void **state)
{
	char out[64];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(text_cases) / sizeof(text_cases[0]); i++) {
		const struct text_case *c = &text_cases[i];

		memset(out, 'X', sizeof(out));
		text_printable(out, c->size, c->in);
		if (strcmp(out, c->want) != 0)
			fail_msg("%s: got \"%s\", want \"%s\"", c->name, out,
			    c->want);
	}
	out[0] = 'X';
	text_printable(out, 0, "abc");
	assert_int_equal(out[0], 'X');
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_printable),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
