/*
 * NAME
 *	fuzz_dkimverify - libFuzzer target for DKIM-Signature text helpers
 * SUMMARY
 *	Read tags of hostile DKIM-Signature field bodies (dkimverify_tag)
 *	and build "Name: value" fields from hostile input
 *	(dkimverify_field), as milter/dkimverify.h declares them.
 * DESCRIPTION
 *	Input: byte 0 picks the tag name and the output size (1..64) and
 *	whether values keep their leading space; the rest is the field
 *	body for dkimverify_tag, and "name:value" (split at the first
 *	':', or all name) for dkimverify_field.
 *	Contract checked: dkimverify_tag returns 1, 0 or -1; buf is always
 *	NUL-terminated inside size; on 1 it holds no white space, ';' or
 *	NUL and a larger buffer gives the same; on 0 and -1 it is ""; -1
 *	means a larger buffer finds a value of at least size-1 bytes.
 *	dkimverify_field returns 1 exactly for a name that is not an RFC
 *	5322 field name; on 0 *len_r is the string length, the text is
 *	"name:" (plus ' ' unless leadspc), every LF follows a CR, and with
 *	the added CRs removed it is the value.
 *	Run by tests/fuzz/run.sh.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "milter/dkimverify.h"

#define FUZZ_BIG 8192 /* output that always holds the whole value */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const fuzz_tags[] = { "d", "s", "b", "a", "i", "bh", "h",
	"v" };

/* fuzz_fail - report a broken contract and stop (libFuzzer saves it) */
static void
fuzz_fail(const char *what)
{
	fprintf(stderr, "fuzz_dkimverify: contract violated: %s\n", what);
	abort();
}

/* fuzz_tag - dkimverify_tag of value into a size-byte buffer */
static void
fuzz_tag(const char *value, const char *tag, size_t bufsize)
{
	char *buf, *big;
	size_t len;
	int ret, big_ret;

	buf = malloc(bufsize);
	big = malloc(FUZZ_BIG);
	if (buf == NULL || big == NULL)
		goto out;
	ret = dkimverify_tag(value, tag, buf, bufsize);
	big_ret = dkimverify_tag(value, tag, big, FUZZ_BIG);
	len = strnlen(buf, bufsize);
	if (len == bufsize)
		fuzz_fail("tag value not NUL-terminated in size");
	if (big_ret != 1 && big_ret != 0)
		fuzz_fail("value longer than the input itself");
	switch (ret) {
	case 1:
		if (strpbrk(buf, " \t\r\n;") != NULL)
			fuzz_fail("tag value holds white space or ';'");
		if (big_ret != 1 || strcmp(buf, big) != 0)
			fuzz_fail("a larger buffer gives another value");
		break;
	case 0:
		if (len != 0)
			fuzz_fail("tag not found but buf not empty");
		if (big_ret != 0)
			fuzz_fail("a larger buffer finds the tag");
		break;
	case -1:
		if (len != 0)
			fuzz_fail("value too long but buf not empty");
		if (big_ret != 1 || strlen(big) < bufsize - 1)
			fuzz_fail("-1 for a value that fits");
		break;
	default:
		fuzz_fail("dkimverify_tag returned none of 1, 0, -1");
	}
out:
	free(buf);
	free(big);
}

/* fuzz_name_ok - the RFC 5322 2.2 field-name rule, written out */
static bool
fuzz_name_ok(const char *name)
{
	size_t len = strlen(name), i;

	if (len == 0 || len > 998)
		return false;
	for (i = 0; i < len; i++)
		if ((uint8_t)name[i] < 33 || (uint8_t)name[i] > 126 ||
		    name[i] == ':')
			return false;
	return true;
}

/* fuzz_field - dkimverify_field of name and value */
static void
fuzz_field(const char *name, const char *value, bool leadspc)
{
	char *buf = NULL;
	size_t bufsize = 0, len = 0, nlen = strlen(name), i, o;
	int ret;

	ret = dkimverify_field(name, value, leadspc, &buf, &bufsize, &len);
	if (ret == -1) {
		free(buf);
		return;
	}
	if (ret == 1) {
		if (fuzz_name_ok(name))
			fuzz_fail("valid field name refused");
		free(buf);
		return;
	}
	if (ret != 0)
		fuzz_fail("dkimverify_field returned none of 0, 1, -1");
	if (!fuzz_name_ok(name))
		fuzz_fail("invalid field name accepted");
	if (buf == NULL || len >= bufsize || strlen(buf) != len)
		fuzz_fail("*len_r is not the field length");
	if (memcmp(buf, name, nlen) != 0 || buf[nlen] != ':')
		fuzz_fail("field does not start with \"name:\"");
	o = nlen + 1;
	if (!leadspc && buf[o++] != ' ')
		fuzz_fail("no space after the colon");
	for (i = o; i < len; i++)
		if (buf[i] == '\n' && buf[i - 1] != '\r')
			fuzz_fail("bare LF in the field");
	/* Drop each CR that was added before an LF; the value is left. */
	for (i = 0; value[i] != '\0'; i++) {
		if (value[i] == '\n' && (i == 0 || value[i - 1] != '\r')) {
			if (buf[o] != '\r')
				fuzz_fail("no CR added before a bare LF");
			o++;
		}
		if (buf[o++] != value[i])
			fuzz_fail("field value differs from the value");
	}
	if (o != len)
		fuzz_fail("field longer than name and value");
	free(buf);
}

/* LLVMFuzzerTestOneInput - one input: control byte, then the text */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text, *colon;
	const char *tag;
	size_t bufsize;

	if (size < 1)
		return 0;
	tag = fuzz_tags[data[0] & 7];
	bufsize = (size_t)((data[0] >> 3) & 31) * 2 + 1;
	if ((text = malloc(size)) == NULL)
		return 0;
	memcpy(text, data + 1, size - 1);
	text[size - 1] = '\0';
	fuzz_tag(text, tag, bufsize);
	fuzz_tag(text, "b", 9);
	if ((colon = strchr(text, ':')) != NULL) {
		*colon = '\0';
		fuzz_field(text, colon + 1, (data[0] & 0x80) != 0);
	} else {
		fuzz_field(text, "", (data[0] & 0x80) != 0);
	}
	free(text);
	return 0;
}
