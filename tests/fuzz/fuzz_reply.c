/*
 * NAME
 *	fuzz_reply - libFuzzer target for milter/reply
 * SUMMARY
 *	Clean hostile reply text; check hostile reply codes against an
 *	independent reading of the rule in milter/reply.h.
 * DESCRIPTION
 *	Input: byte 0 and 1 pick the output size (2..1025, allocated to
 *	the byte); the rest is the text for reply_clean, and also three
 *	NUL-separated fields rcode, xcode, text for reply_check.
 *	Contract checked: reply_clean output is NUL-terminated inside
 *	size, printable ASCII, every '%' doubled, a prefix of the cleaned
 *	input, and passes reply_check with a valid code ("550", "5.7.1";
 *	"451", "4.3.5"). reply_check returns 0 exactly when rcode is 4xx
 *	or 5xx, xcode is class.subject.detail with the class of rcode and
 *	1..3 digits each, and text is at most 900 bytes without CR or LF.
 *	Run by tests/fuzz/run.sh.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "milter/reply.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* fuzz_fail - report a broken contract and stop (libFuzzer saves it) */
static void
fuzz_fail(const char *what)
{
	fprintf(stderr, "fuzz_reply: contract violated: %s\n", what);
	abort();
}

/* fuzz_digits - n digits (1..3) at s, followed by end; else 0 */
static size_t
fuzz_digits(const char *s, char end)
{
	size_t n = 0;

	while (s[n] >= '0' && s[n] <= '9')
		n++;
	return n >= 1 && n <= 3 && s[n] == end ? n : 0;
}

/* fuzz_reply_ok - the reply_check rule, written out */
static bool
fuzz_reply_ok(const char *rcode, const char *xcode, const char *text)
{
	size_t n;

	if (strlen(rcode) != 3 || (rcode[0] != '4' && rcode[0] != '5') ||
	    rcode[1] < '0' || rcode[1] > '9' || rcode[2] < '0' ||
	    rcode[2] > '9')
		return false;
	if (xcode[0] != rcode[0] || xcode[1] != '.')
		return false;
	if ((n = fuzz_digits(xcode + 2, '.')) == 0 ||
	    fuzz_digits(xcode + 3 + n, '\0') == 0)
		return false;
	return strlen(text) <= 900 && strpbrk(text, "\r\n") == NULL;
}

/* fuzz_clean - reply_clean of text into a size-byte buffer */
static void
fuzz_clean(const char *text, size_t size)
{
	char *out;
	size_t len, i, j;

	if ((out = malloc(size)) == NULL)
		return;
	reply_clean(text, out, size);
	len = strnlen(out, size);
	if (len == size)
		fuzz_fail("cleaned text not NUL-terminated in size");
	/* Walk input and output together: '%' -> "%%", unsafe -> '?'. */
	for (i = 0, j = 0; j < len; i++) {
		uint8_t c = (uint8_t)text[i];

		if (c == '\0')
			fuzz_fail("cleaned text longer than the input");
		if (c == '%') {
			if (out[j] != '%' || j + 1 >= len || out[j + 1] != '%')
				fuzz_fail("'%' not doubled");
			j += 2;
			continue;
		}
		if (out[j] != ((c < 0x20 || c >= 0x7f) ? '?' : (char)c))
			fuzz_fail("cleaned text is not the input made safe");
		j++;
	}
	if (reply_check("550", "5.7.1", out) != 0 ||
	    reply_check("451", "4.3.5", out) != 0)
		fuzz_fail("cleaned text refused by reply_check");
	free(out);
}

/* LLVMFuzzerTestOneInput - one input: two size bytes, then the text */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *buf;
	const char *rcode, *xcode, *text, *end;
	size_t outsize;
	int ret;

	if (size < 2)
		return 0;
	outsize = (((size_t)data[0] << 8 | data[1]) & 1023) + 2;
	if ((buf = malloc(size + 2)) == NULL)
		return 0;
	memcpy(buf, data + 2, size - 2);
	memset(buf + size - 2, 0, 4);
	fuzz_clean(buf, outsize);
	fuzz_clean(buf, 4096);
	/* rcode NUL xcode NUL text: missing fields are "". */
	end = buf + size - 2;
	rcode = buf;
	xcode = rcode + strlen(rcode) + (rcode + strlen(rcode) < end);
	text = xcode + strlen(xcode) + (xcode + strlen(xcode) < end);
	ret = reply_check(rcode, xcode, text);
	if (ret != 0 && ret != -1)
		fuzz_fail("reply_check returned neither 0 nor -1");
	if ((ret == 0) != fuzz_reply_ok(rcode, xcode, text))
		fuzz_fail("reply_check disagrees with the rule");
	free(buf);
	return 0;
}
