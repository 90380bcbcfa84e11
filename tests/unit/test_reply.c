/*
 * test_reply - SMTP replies are checked before they reach libmilter.
 */
#include "milter/reply.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>

struct check_case {
	const char *name;  /* what the case shows */
	const char *rcode; /* reply code */
	const char *xcode; /* enhanced code */
	const char *text;  /* text */
	int want;	   /* 0 valid, -1 refused */
};

static const struct check_case check_cases[] = {
	{ "reject", "550", "5.7.23", "SPF fail", 0 },
	{ "tempfail", "451", "4.7.1", "try later", 0 },
	{ "dns tempfail", "451", "4.4.3", "DNS trouble", 0 },
	{ "2xx refused", "250", "2.0.0", "ok", -1 },
	{ "class mismatch", "550", "4.7.1", "x", -1 },
	{ "short code", "55", "5.7.1", "x", -1 },
	{ "letters", "5x0", "5.7.1", "x", -1 },
	{ "xcode missing detail", "550", "5.7", "x", -1 },
	{ "xcode four digits", "550", "5.7.1234", "x", -1 },
	{ "xcode empty part", "550", "5..1", "x", -1 },
	{ "xcode letters", "550", "5.a.1", "x", -1 },
	{ "CR", "550", "5.7.1", "a\rb", -1 },
	{ "LF", "550", "5.7.1", "a\nb", -1 },
	{ "NULL text", "550", "5.7.1", NULL, -1 },
	{ "NULL xcode", "550", NULL, "x", -1 },
};

/* test_check - every case of check_cases */
static void
test_check(void **state)
{
	size_t i;
	int got;

	(void)state;
	for (i = 0; i < sizeof(check_cases) / sizeof(check_cases[0]); i++) {
		const struct check_case *c = &check_cases[i];

		got = reply_check(c->rcode, c->xcode, c->text);
		if (got != c->want)
			fail_msg("%s: got %d, want %d", c->name, got, c->want);
	}
}

/* test_check_long - text over 900 bytes is refused */
static void
test_check_long(void **state)
{
	char text[1000];

	(void)state;
	memset(text, 'a', sizeof(text) - 1);
	text[sizeof(text) - 1] = '\0';
	assert_int_equal(reply_check("550", "5.7.1", text), -1);
	text[900] = '\0';
	assert_int_equal(reply_check("550", "5.7.1", text), 0);
}

/* test_clean - percent doubled, unsafe bytes replaced, cut to fit */
static void
test_clean(void **state)
{
	char out[64], big[2000];

	(void)state;
	reply_clean("100% bad\r\n\x01\xff", out, sizeof(out));
	assert_string_equal(out, "100%% bad????");
	reply_clean("abcdef", out, 4);
	assert_string_equal(out, "abc");
	reply_clean("ab%", out, 4);
	assert_string_equal(out, "ab");
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	{
		char cut[1000];

		reply_clean(big, cut, sizeof(cut));
		assert_int_equal(reply_check("550", "5.7.1", cut), 0);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_check),
		cmocka_unit_test(test_check_long),
		cmocka_unit_test(test_clean),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
