/*
 * NAME
 *	fuzz_dmarc - libFuzzer target for the DMARC record parser
 * SUMMARY
 *	Parse hostile DMARC TXT records (milter/dmarc.h); find the
 *	organizational domain of hostile names.
 * DESCRIPTION
 *	Input: the record, raw bytes (NUL included), copied to a buffer of
 *	exactly that length so ASan sees a read past len; the same bytes
 *	up to the first NUL as a domain name.
 *	Contract checked: dmarc_record_parse returns 0 or -1; a record
 *	that dmarc_record_is_dmarc refuses is unusable; on 0 p is set,
 *	every enum is in range, pct <= 100, and p_replaced means rua and
 *	p=none; why is NUL-terminated inside why_size, printable, and set
 *	on -1. dmarc_org_domain returns NULL or buf, a lower-case host
 *	name without a trailing dot that ends the normalized input on a
 *	label boundary.
 *	Run by tests/fuzz/run.sh.
 */
#include <ctype.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lists/domain.h"
#include "milter/dmarc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* fuzz_fail - report a broken contract and stop (libFuzzer saves it) */
static void
fuzz_fail(const char *what)
{
	fprintf(stderr, "fuzz_dmarc: contract violated: %s\n", what);
	abort();
}

/* fuzz_record - dmarc_record_parse with a why buffer of why_size */
static void
fuzz_record(const char *text, size_t len, size_t why_size)
{
	struct dmarc_record rec;
	char *why;
	size_t wlen, i;
	bool is_dmarc;
	int ret;

	if ((why = malloc(why_size)) == NULL)
		return;
	is_dmarc = dmarc_record_is_dmarc(text, len);
	ret = dmarc_record_parse(text, len, &rec, why, why_size);
	if (ret != 0 && ret != -1)
		fuzz_fail("dmarc_record_parse returned neither 0 nor -1");
	if (!is_dmarc && ret == 0)
		fuzz_fail("record without v=DMARC1 parsed as usable");
	wlen = strnlen(why, why_size);
	if (wlen == why_size)
		fuzz_fail("why not NUL-terminated in why_size");
	for (i = 0; i < wlen; i++)
		if (why[i] < 0x20 || why[i] >= 0x7f)
			fuzz_fail("why holds an unprintable byte");
	if (ret == -1 && wlen == 0 && why_size > 1)
		fuzz_fail("unusable record without a reason");
	if (ret == 0) {
		if (rec.p < DMARC_POLICY_NONE || rec.p > DMARC_POLICY_REJECT)
			fuzz_fail("usable record without a valid p");
		if (rec.sp > DMARC_POLICY_REJECT)
			fuzz_fail("sp out of range");
		if (rec.adkim > DMARC_ALIGN_STRICT ||
		    rec.aspf > DMARC_ALIGN_STRICT)
			fuzz_fail("alignment mode out of range");
		if (rec.pct > 100)
			fuzz_fail("pct over 100");
		if (rec.p_replaced && (!rec.rua || rec.p != DMARC_POLICY_NONE))
			fuzz_fail("p_replaced without rua or p=none");
		if (rec.p_replaced && wlen == 0 && why_size > 1)
			fuzz_fail("p_replaced without a reason");
	}
	free(why);
}

/* fuzz_org - dmarc_org_domain of name */
static void
fuzz_org(const char *name)
{
	char buf[256], norm[256];
	const char *org;
	size_t len, olen, i;

	org = dmarc_org_domain(name, buf, sizeof(buf));
	len = strlen(name);
	if (org == NULL)
		return;
	if (org != buf)
		fuzz_fail("dmarc_org_domain returned another buffer");
	if (domain_name_labels(name, len) < 1)
		fuzz_fail("organizational domain of a non-host name");
	if (len > 0 && name[len - 1] == '.')
		len--;
	if (len >= sizeof(norm))
		fuzz_fail("organizational domain of an over-long name");
	for (i = 0; i < len; i++)
		norm[i] = (char)tolower((unsigned char)name[i]);
	norm[len] = '\0';
	olen = strnlen(buf, sizeof(buf));
	if (olen == sizeof(buf) || olen == 0 || buf[olen - 1] == '.' ||
	    domain_name_labels(buf, olen) < 1)
		fuzz_fail("organizational domain is not a host name");
	if (olen > len || strcmp(norm + len - olen, buf) != 0 ||
	    (olen < len && norm[len - olen - 1] != '.'))
		fuzz_fail("organizational domain is not a suffix of the name");
}

/* LLVMFuzzerTestOneInput - one input: a record, also read as a name */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text, *name;

	if ((text = malloc(size > 0 ? size : 1)) == NULL)
		return 0;
	memcpy(text, data, size);
	fuzz_record(text, size, 160);
	fuzz_record(text, size, 1 + size % 24);
	free(text);
	if (size <= 512 && (name = malloc(size + 1)) != NULL) {
		memcpy(name, data, size);
		name[size] = '\0';
		fuzz_org(name);
		free(name);
	}
	return 0;
}
