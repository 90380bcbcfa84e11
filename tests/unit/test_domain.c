/*
 * test_domain - host name checks shared by SPF and iprev.
 */
#include "lists/domain.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>

struct label_case {
	const char *name; /* what the case shows */
	const char *in;	  /* the name */
	size_t len;	  /* its length; 0: strlen */
	int want;	  /* labels, or -1 */
};

static const struct label_case label_cases[] = {
	{ "one label", "localhost", 0, 1 },
	{ "two labels", "example.test", 0, 2 },
	{ "trailing dot", "mx.example.test.", 0, 3 },
	{ "underscore", "_spf.example.test", 0, 3 },
	{ "hyphen", "a-b.test", 0, 2 },
	{ "empty", "", 0, -1 },
	{ "only dot", ".", 0, -1 },
	{ "leading dot", ".example.test", 0, -1 },
	{ "double dot", "a..test", 0, -1 },
	{ "two trailing dots", "a.test..", 0, -1 },
	{ "space", "a b.test", 0, -1 },
	{ "control byte", "a\x01.test", 0, -1 },
	{ "non-ascii", "\xc3\xa9.test", 0, -1 },
	{ "embedded NUL", "a\0b.test", 8, -1 },
	{ "address literal", "[192.0.2.1]", 0, -1 },
};

/* test_labels - every case of label_cases */
static void
test_labels(void **state)
{
	size_t i;
	int got;

	(void)state;
	for (i = 0; i < sizeof(label_cases) / sizeof(label_cases[0]); i++) {
		const struct label_case *c = &label_cases[i];
		size_t len = c->len != 0 ? c->len : strlen(c->in);

		got = domain_name_labels(c->in, len);
		if (got != c->want)
			fail_msg("%s: got %d, want %d", c->name, got, c->want);
	}
	assert_int_equal(domain_name_labels(NULL, 0), -1);
}

/* test_lengths - 63-octet labels and 253-octet names are the limits */
static void
test_lengths(void **state)
{
	char name[300];

	(void)state;
	memset(name, 'a', 63);
	memcpy(name + 63, ".test", 6);
	assert_int_equal(domain_name_labels(name, strlen(name)), 2);
	memset(name, 'a', 64);
	memcpy(name + 64, ".test", 6);
	assert_int_equal(domain_name_labels(name, strlen(name)), -1);
	/* 4 labels of 63 and dots: 63*4 + 3 = 255 > 253 */
	memset(name, 'a', 255);
	name[63] = name[127] = name[191] = '.';
	assert_int_equal(domain_name_labels(name, 255), -1);
	/* 253 octets exactly: allowed, and with the root dot too */
	assert_int_equal(domain_name_labels(name + 2, 253), 4);
	name[255] = '.';
	assert_int_equal(domain_name_labels(name + 2, 254), 4);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_labels),
		cmocka_unit_test(test_lengths),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
