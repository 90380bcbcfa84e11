/*
 * NAME
 *	fuzz_address - libFuzzer target for lists/address
 * SUMMARY
 *	Parse hostile RFC 5322 From field values and envelope addresses.
 * DESCRIPTION
 *	Input: byte 0 picks max (1..8 domain slots, allocated to the byte)
 *	and the why size (0..31 bytes); the rest is the From field value
 *	and, for address_domain, the envelope address.
 *	Contract checked (lists/address.h): address_from_domains returns 0
 *	or -1; on 0 count <= max and each domain is distinct, lower case,
 *	without a trailing dot and a host name per domain_name_labels();
 *	on -1 count is 0 and why is NUL-terminated inside why_size.
 *	address_domain returns 1, 0 or -1; on 1 the domain fits, is lower
 *	case, has no trailing dot and is a host name.
 *	Run by tests/fuzz/run.sh.
 */
#include <ctype.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lists/address.h"
#include "lists/domain.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* fuzz_fail - report a broken contract and stop (libFuzzer saves it) */
static void
fuzz_fail(const char *what)
{
	fprintf(stderr, "fuzz_address: contract violated: %s\n", what);
	abort();
}

/* fuzz_host - is s, len bytes, a host name as the header promises? */
static void
fuzz_host(const char *s, size_t size)
{
	size_t len = strnlen(s, size), i;

	if (len == size)
		fuzz_fail("domain not NUL-terminated in its buffer");
	if (len == 0 || s[len - 1] == '.')
		fuzz_fail("domain empty or with a trailing dot");
	if (domain_name_labels(s, len) < 1)
		fuzz_fail("domain is not a host name");
	for (i = 0; i < len; i++)
		if (isupper((unsigned char)s[i]))
			fuzz_fail("domain not lower case");
}

/* fuzz_from - address_from_domains with max slots and a why buffer */
static void
fuzz_from(const char *value, size_t max, size_t why_size)
{
	char(*domains)[256], *why;
	size_t count = 99, i, j;
	int ret;

	domains = malloc(max * sizeof(*domains));
	why = malloc(why_size > 0 ? why_size : 1);
	if (domains == NULL || why == NULL)
		goto out;
	ret = address_from_domains(
	    value, domains, max, &count, why_size > 0 ? why : NULL, why_size);
	if (ret == 0) {
		if (count > max)
			fuzz_fail("count over max");
		for (i = 0; i < count; i++) {
			fuzz_host(domains[i], sizeof(domains[i]));
			for (j = 0; j < i; j++)
				if (strcmp(domains[i], domains[j]) == 0)
					fuzz_fail("domain listed twice");
		}
	} else if (ret == -1) {
		if (count != 0)
			fuzz_fail("count not 0 on error");
		if (why_size > 0 && strnlen(why, why_size) == why_size)
			fuzz_fail("why not NUL-terminated in why_size");
	} else {
		fuzz_fail("address_from_domains returned neither 0 nor -1");
	}
out:
	free(domains);
	free(why);
}

/* fuzz_envelope - address_domain with a size-byte buffer */
static void
fuzz_envelope(const char *addr, size_t bufsize)
{
	char *domain;
	int ret;

	if ((domain = malloc(bufsize)) == NULL)
		return;
	ret = address_domain(addr, domain, bufsize);
	if (ret == 1)
		fuzz_host(domain, bufsize);
	else if (ret != 0 && ret != -1)
		fuzz_fail("address_domain returned none of 1, 0, -1");
	free(domain);
}

/* LLVMFuzzerTestOneInput - one input: control byte, then the value */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *value;
	size_t max, why_size;

	if (size < 1)
		return 0;
	max = (size_t)(data[0] & 7) + 1;
	why_size = (size_t)(data[0] >> 3);
	if ((value = malloc(size)) == NULL)
		return 0;
	memcpy(value, data + 1, size - 1);
	value[size - 1] = '\0';
	fuzz_from(value, max, why_size);
	fuzz_from(value, ADDRESS_MAX_MAILBOXES, 128);
	fuzz_envelope(value, max * 32);
	fuzz_envelope(value, ADDRESS_DOMAIN_SIZE);
	free(value);
	return 0;
}
