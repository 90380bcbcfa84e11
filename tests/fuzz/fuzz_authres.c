/*
 * NAME
 *	fuzz_authres - libFuzzer target for milter/authres
 * SUMMARY
 *	Read the authserv-id of hostile Authentication-Results values;
 *	build our own header with hostile comments and values.
 * DESCRIPTION
 *	Input: byte 0 picks the output buffer size (1..256, allocated to
 *	the byte so ASan sees any overrun); the rest is the header value.
 *	Contract checked (milter/authres.h): authres_authserv_id returns 0
 *	or 1; on 1 the id is non-empty, NUL-terminated inside size and
 *	found again with a larger buffer. (A quoted-string id is copied
 *	byte for byte, CR, LF and control bytes included: authres.h does
 *	not promise otherwise, so that is not checked.) Our own
 *	header, built with the input as comment and property value, is
 *	NUL-terminated inside its size, printable ASCII apart from the
 *	"\n\t" folding, and yields our authserv-id back.
 *	Run by tests/fuzz/run.sh.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "milter/authres.h"
#include "policy/result.h"

#define FUZZ_ID "mx.example.test"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* fuzz_fail - report a broken contract and stop (libFuzzer saves it) */
static void
fuzz_fail(const char *what)
{
	fprintf(stderr, "fuzz_authres: contract violated: %s\n", what);
	abort();
}

/* fuzz_read_id - authres_authserv_id on value with a size-byte buffer */
static void
fuzz_read_id(const char *value, size_t bufsize)
{
	char *buf, big[4096];
	size_t len;
	int ret;

	if ((buf = malloc(bufsize)) == NULL)
		return;
	ret = authres_authserv_id(value, buf, bufsize);
	if (ret != 0 && ret != 1)
		fuzz_fail("authres_authserv_id returned neither 0 nor 1");
	if (ret == 1) {
		len = strnlen(buf, bufsize);
		if (len == bufsize)
			fuzz_fail("authserv-id not NUL-terminated in size");
		if (len == 0)
			fuzz_fail("authserv-id found but empty");
		/* authres.h: unfolded, no control bytes but tab. */
		for (size_t i = 0; i < len; i++) {
			if ((unsigned char)buf[i] < 0x20 && buf[i] != '\t')
				fuzz_fail("authserv-id holds a control byte");
		}
		if (authres_authserv_id(value, big, sizeof(big)) != 1 ||
		    strcmp(big, buf) != 0)
			fuzz_fail("a larger buffer gives another authserv-id");
	}
	free(buf);
}

/* fuzz_build - our header with value as comment and property value */
static void
fuzz_build(const char *value, size_t bufsize)
{
	struct authres_buf b;
	char id[256];
	size_t i;

	if ((b.data = malloc(bufsize)) == NULL)
		return;
	b.size = bufsize;
	authres_begin(&b, FUZZ_ID);
	authres_add(&b, "dkim", RESULT_FAIL, value, "header.d", value, value);
	authres_prop(&b, "header.s", value);
	authres_add(&b, "spf", RESULT_PASS, NULL, "smtp.mailfrom", value, NULL);
	if (b.len >= b.size || strlen(b.data) != b.len)
		fuzz_fail("built header length or termination wrong");
	for (i = 0; i < b.len; i++) {
		unsigned char c = (unsigned char)b.data[i];

		if (c == '\n' && b.data[i + 1] == '\t')
			continue;
		if (c == '\t' && i > 0 && b.data[i - 1] == '\n')
			continue;
		if (c < 0x20 || c >= 0x7f)
			fuzz_fail("built header holds an unsafe byte");
	}
	if (!b.overflow &&
	    (authres_authserv_id(b.data, id, sizeof(id)) != 1 ||
		strcmp(id, FUZZ_ID) != 0))
		fuzz_fail("built header does not give our authserv-id back");
	free(b.data);
}

/* LLVMFuzzerTestOneInput - one input: size byte, then the value */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *value;
	size_t bufsize;

	if (size < 1)
		return 0;
	bufsize = (size_t)data[0] + 1;
	if ((value = malloc(size)) == NULL)
		return 0;
	memcpy(value, data + 1, size - 1);
	value[size - 1] = '\0';
	fuzz_read_id(value, bufsize);
	fuzz_build(value, bufsize + 64);
	fuzz_build(value, 4096);
	free(value);
	return 0;
}
