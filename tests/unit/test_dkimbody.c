/*
 * test_dkimbody - DKIM body canonicalization (RFC 6376 3.4.3, 3.4.4)
 *
 * Each body is hashed by dkimbody in chunks of every size from 1 byte
 * up (so CRLF pairs, CR runs and WSP runs split between chunks), with
 * both algorithms, and the bh= compared with the SHA-256 of the
 * canonical form written out by hand from the RFC.
 */
#include "milter/dkimbody.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>
#include <openssl/evp.h>

struct body_case {
	const char *name;    /* what it checks */
	const char *in;	     /* the body as sent */
	const char *simple;  /* RFC 6376 3.4.3 form */
	const char *relaxed; /* RFC 6376 3.4.4 form */
};

static const struct body_case cases[] = {
	/* RFC 6376 3.4.5, the example of both algorithms */
	{ "rfc 6376 3.4.5", " C \r\nD \t E\r\n\r\n\r\n", " C \r\nD \t E\r\n",
	    " C\r\nD E\r\n" },
	{ "empty", "", "\r\n", "" },
	{ "only line ends", "\r\n\r\n\r\n", "\r\n", "" },
	{ "no final CRLF", "abc", "abc\r\n", "abc\r\n" },
	{ "trailing WSP, no CRLF", "abc \t", "abc \t\r\n", "abc\r\n" },
	{ "WSP-only lines at the end", "a\r\n  \r\n\t\r\n", "a\r\n  \r\n\t\r\n",
	    "a\r\n" },
	{ "empty lines inside kept", "a\r\n\r\n\r\nb\r\n", "a\r\n\r\n\r\nb\r\n",
	    "a\r\n\r\n\r\nb\r\n" },
	{ "leading WSP is one SP", "\t\t x\r\n", "\t\t x\r\n", " x\r\n" },
	{ "bare CR is a byte", "a\rb\r\r\nc\r", "a\rb\r\r\nc\r\r\n",
	    "a\rb\r\r\nc\r\r\n" },
	{ "bare LF is a byte", "a\nb\r\n", "a\nb\r\n", "a\nb\r\n" },
	{ "WSP before bare CR", "a \rb\r\n", "a \rb\r\n", "a \rb\r\n" },
};

/* expect_bh - the base64 SHA-256 of a canonical form */
static void
expect_bh(const char *canon, char bh[DKIMBODY_BH_SIZE])
{
	unsigned char hash[EVP_MAX_MD_SIZE];
	unsigned int hlen = 0;

	assert_int_equal(
	    EVP_Digest(canon, strlen(canon), hash, &hlen, EVP_sha256(), NULL),
	    1);
	EVP_EncodeBlock((unsigned char *)bh, hash, (int)hlen);
}

/* run_chunks - bh of body in chunks of size step */
static void
run_chunks(const char *in, bool relaxed, size_t step, char bh[DKIMBODY_BH_SIZE])
{
	struct dkimbody b;
	size_t len = strlen(in), i, n;

	assert_int_equal(dkimbody_init(&b, relaxed), 0);
	for (i = 0; i < len; i += n) {
		n = len - i < step ? len - i : step;
		assert_int_equal(
		    dkimbody_chunk(&b, (const unsigned char *)in + i, n), 0);
	}
	assert_int_equal(dkimbody_final(&b, bh), 0);
	dkimbody_cleanup(&b);
}

/* test_cases - every case, both algorithms, every chunk size */
static void
test_cases(void **state)
{
	char want[DKIMBODY_BH_SIZE], got[DKIMBODY_BH_SIZE];
	size_t i, step;
	int relaxed;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		for (relaxed = 0; relaxed < 2; relaxed++) {
			expect_bh(
			    relaxed ? cases[i].relaxed : cases[i].simple, want);
			for (step = 1; step <= strlen(cases[i].in) + 1;
			     step++) {
				run_chunks(cases[i].in, relaxed, step, got);
				if (strcmp(got, want) != 0)
					fail_msg(
					    "%s, %s, chunks of %zu: bh %s, "
					    "want %s",
					    cases[i].name,
					    relaxed ? "relaxed" : "simple",
					    step, got, want);
			}
		}
}

/* test_large - past the internal buffer: 100 KB of lines, odd chunks */
static void
test_large(void **state)
{
	static char in[100 * 1024 + 1], canon[100 * 1024 + 1];
	char want[DKIMBODY_BH_SIZE], got[DKIMBODY_BH_SIZE];
	size_t n = 0, c = 0;

	(void)state;
	while (n + 40 < sizeof(in) - 1) {
		memcpy(in + n, "word  word\t\tword   \r\n", 21);
		memcpy(canon + c, "word word word\r\n", 16);
		n += 21;
		c += 16;
	}
	memcpy(in + n, "\r\n\r\n", 5);
	canon[c] = '\0';
	expect_bh(canon, want);
	run_chunks(in, true, 4093, got);
	assert_string_equal(got, want);
	run_chunks(in, true, 65535, got);
	assert_string_equal(got, want);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cases),
		cmocka_unit_test(test_large),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
