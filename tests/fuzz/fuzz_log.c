/*
 * NAME
 *	fuzz_log - libFuzzer target for log_escape (milter/log.h)
 * SUMMARY
 *	Escape hostile text for one log line.
 * DESCRIPTION
 *	Input: bytes 0 and 1 pick the output size (0..1023, allocated to
 *	the byte); the rest is the text.
 *	Contract checked: log_escape returns buf; for size > 0 the output
 *	is NUL-terminated inside size, printable ASCII, with '"' and '\\'
 *	escaped and other unsafe bytes as \xNN; unescaped it is the input,
 *	or, ending in "..." when cut, a prefix of it.
 *	Run by tests/fuzz/run.sh.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "milter/log.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* fuzz_fail - report a broken contract and stop (libFuzzer saves it) */
static void
fuzz_fail(const char *what)
{
	fprintf(stderr, "fuzz_log: contract violated: %s\n", what);
	abort();
}

/* fuzz_hex - value of a lower-case hex digit, or -1 */
static int
fuzz_hex(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/*
 * fuzz_unescape - decode out (len bytes) and compare with in
 * Returns the number of input bytes it stands for, or -1 on a malformed
 * escape, an unsafe byte left as is, or a byte that differs from in.
 */
static long
fuzz_unescape(const char *out, size_t len, const uint8_t *in)
{
	size_t i = 0;
	long n = 0;
	int hi, lo;
	uint8_t c;

	while (i < len) {
		if (out[i] != '\\') {
			c = (uint8_t)out[i++];
			if (c == '"' || c < 0x20 || c >= 0x7f)
				return -1;
		} else if (i + 1 < len &&
		    (out[i + 1] == '\\' || out[i + 1] == '"')) {
			c = (uint8_t)out[i + 1];
			i += 2;
		} else if (i + 3 < len && out[i + 1] == 'x' &&
		    (hi = fuzz_hex(out[i + 2])) >= 0 &&
		    (lo = fuzz_hex(out[i + 3])) >= 0) {
			c = (uint8_t)(hi << 4 | lo);
			if (c >= 0x20 && c < 0x7f)
				return -1;
			i += 4;
		} else {
			return -1;
		}
		if (in[n] == '\0' || c != in[n])
			return -1;
		n++;
	}
	return n;
}

/* fuzz_escape - log_escape of in into a size-byte buffer */
static void
fuzz_escape(const char *in, size_t size)
{
	char *buf;
	size_t len;
	long n;

	if ((buf = malloc(size > 0 ? size : 1)) == NULL)
		return;
	if (log_escape(in, buf, size) != buf)
		fuzz_fail("log_escape did not return buf");
	if (size == 0) {
		free(buf);
		return;
	}
	len = strnlen(buf, size);
	if (len == size)
		fuzz_fail("output not NUL-terminated in size");
	/* Whole: the output decodes to the input. */
	n = fuzz_unescape(buf, len, (const uint8_t *)in);
	if (n >= 0 && in[n] == '\0') {
		free(buf);
		return;
	}
	/* Cut: a prefix of the input, then "..." (nothing if size < 4). */
	if (len == 0 && size < 4) {
		free(buf);
		return;
	}
	if (len < 3 || strcmp(buf + len - 3, "...") != 0)
		fuzz_fail("output neither the whole input nor cut with ...");
	if (fuzz_unescape(buf, len - 3, (const uint8_t *)in) < 0)
		fuzz_fail(
		    "cut output does not decode to a prefix of the input");
	free(buf);
}

/* LLVMFuzzerTestOneInput - one input: two size bytes, then the text */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text;
	size_t outsize;

	if (size < 2)
		return 0;
	outsize = ((size_t)data[0] << 8 | data[1]) & 1023;
	if ((text = malloc(size - 1)) == NULL)
		return 0;
	memcpy(text, data + 2, size - 2);
	text[size - 2] = '\0';
	fuzz_escape(text, outsize);
	fuzz_escape(text, 16384);
	free(text);
	return 0;
}
