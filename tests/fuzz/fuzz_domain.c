/*
 * NAME
 *	fuzz_domain - libFuzzer target for lists/domain
 * SUMMARY
 *	Validate hostile host names against an independent reading of
 *	the rule in lists/domain.h.
 * DESCRIPTION
 *	Input: the name, raw bytes (NUL included), not NUL-terminated;
 *	the copy is exactly as long so ASan sees a read past len.
 *	Contract checked: domain_name_labels returns -1 or the number of
 *	labels, and agrees with the rule: labels of letters, digits, '-'
 *	and '_', 1..63 octets, at most 253 octets, one trailing dot.
 *	Run by tests/fuzz/run.sh.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lists/domain.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* fuzz_fail - report a broken contract and stop (libFuzzer saves it) */
static void
fuzz_fail(const char *what)
{
	fprintf(stderr, "fuzz_domain: contract violated: %s\n", what);
	abort();
}

/* fuzz_ldh - a byte allowed in a label (ASCII only, no locale) */
static int
fuzz_ldh(uint8_t c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9') || c == '-' || c == '_';
}

/* fuzz_labels - the rule, written out label by label; -1 or labels */
static int
fuzz_labels(const uint8_t *s, size_t len)
{
	size_t start = 0, i;
	int labels = 0;

	if (len > 0 && s[len - 1] == '.')
		len--;
	if (len == 0 || len > 253)
		return -1;
	while (start <= len) {
		for (i = start; i < len && s[i] != '.'; i++)
			if (!fuzz_ldh(s[i]))
				return -1;
		if (i == start || i - start > 63)
			return -1;
		labels++;
		start = i + 1;
	}
	return labels;
}

/* LLVMFuzzerTestOneInput - one input: the name */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *name;
	int got, want;

	if ((name = malloc(size > 0 ? size : 1)) == NULL)
		return 0;
	memcpy(name, data, size);
	got = domain_name_labels(name, size);
	want = fuzz_labels(data, size);
	if (got != want) {
		fprintf(stderr, "fuzz_domain: got %d, want %d\n", got, want);
		fuzz_fail("domain_name_labels disagrees with the rule");
	}
	free(name);
	return 0;
}
