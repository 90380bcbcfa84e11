/*
 * NAME
 *	fuzz_cidr - libFuzzer target for lists/cidr
 * SUMMARY
 *	Parse hostile addresses and CIDR ranges into one set.
 * DESCRIPTION
 *	Input: lines (at most 64 are read); each line is given to
 *	cidr_addr_parse and to cidr_set_add.
 *	Contract checked (lists/cidr.h): cidr_addr_parse returns 0 or -1;
 *	on 0 the family is AF_INET or AF_INET6 (never IPv4-mapped), the
 *	unused bytes are zero, inet_ntop of it parses back to the same,
 *	and adding the line as a range succeeds and matches it.
 *	cidr_set_add returns 0 or -1; on -1 error_r is set and the count
 *	is unchanged; on 0 the count grows by one, the range formats as
 *	"ADDR/PREFIX" which adds again to a range that formats the same,
 *	and the set matches the range's network address.
 *	Run by tests/fuzz/run.sh.
 */
#include <sys/socket.h>

#include <arpa/inet.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lists/cidr.h"

#define FUZZ_MAX_LINES 64 /* lines read from one input */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* fuzz_fail - report a broken contract and stop (libFuzzer saves it) */
static void
fuzz_fail(const char *what)
{
	fprintf(stderr, "fuzz_cidr: contract violated: %s\n", what);
	abort();
}

/* fuzz_addr - cidr_addr_parse of line, and the address as a range */
static void
fuzz_addr(const char *line)
{
	struct cidr_addr addr, again;
	struct cidr_set *one;
	char text[INET6_ADDRSTRLEN], *error = NULL;
	static const uint8_t zero[16];
	static const uint8_t mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff,
		0xff };
	int ret;

	ret = cidr_addr_parse(line, &addr);
	if (ret == -1)
		return;
	if (ret != 0)
		fuzz_fail("cidr_addr_parse returned neither 0 nor -1");
	if (addr.family == AF_INET) {
		if (memcmp(addr.bytes + 4, zero, 12) != 0)
			fuzz_fail("IPv4 address with bytes past 4 set");
	} else if (addr.family == AF_INET6) {
		if (memcmp(addr.bytes, mapped, sizeof(mapped)) == 0)
			fuzz_fail("IPv4-mapped address kept as AF_INET6");
	} else {
		fuzz_fail("address family neither AF_INET nor AF_INET6");
	}
	if (inet_ntop(addr.family, addr.bytes, text, sizeof(text)) == NULL ||
	    cidr_addr_parse(text, &again) != 0 ||
	    memcmp(&again, &addr, sizeof(addr)) != 0)
		fuzz_fail("address does not survive inet_ntop");
	if ((one = cidr_set_create()) == NULL)
		return;
	if (cidr_set_add(one, line, &error) != 0)
		fuzz_fail("an address that parses is refused as a range");
	if (cidr_set_match(one, &addr) != 1)
		fuzz_fail("a host range does not match its address");
	cidr_set_free(&one);
	if (one != NULL)
		fuzz_fail("cidr_set_free did not set NULL");
}

/* fuzz_range - cidr_set_add of line to set */
static void
fuzz_range(struct cidr_set *set, const char *line)
{
	struct cidr_set *again;
	struct cidr_addr net;
	char text[64], text2[64], *error = NULL, *slash;
	size_t count = cidr_set_count(set);
	int ret;

	ret = cidr_set_add(set, line, &error);
	if (ret == -1) {
		if (error == NULL)
			fuzz_fail("-1 without error_r set");
		if (cidr_set_count(set) != count)
			fuzz_fail("failed add changed the count");
		free(error);
		return;
	}
	if (ret != 0)
		fuzz_fail("cidr_set_add returned neither 0 nor -1");
	if (cidr_set_count(set) != count + 1)
		fuzz_fail("add did not grow the count by one");
	cidr_set_format(set, count, text, sizeof(text));
	if ((slash = strchr(text, '/')) == NULL)
		fuzz_fail("range formats without '/'");
	if ((again = cidr_set_create()) == NULL)
		return;
	if (cidr_set_add(again, text, &error) != 0)
		fuzz_fail("formatted range does not parse again");
	cidr_set_format(again, 0, text2, sizeof(text2));
	if (strcmp(text, text2) != 0)
		fuzz_fail("formatted range changes when parsed again");
	cidr_set_free(&again);
	*slash = '\0';
	if (cidr_addr_parse(text, &net) != 0)
		fuzz_fail("network address of a range does not parse");
	if (cidr_set_match(set, &net) != 1)
		fuzz_fail("set does not match a range's network address");
}

/* LLVMFuzzerTestOneInput - one input: lines of addresses and ranges */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct cidr_set *set;
	char *text, *line, *next;
	int n = 0;

	if ((text = malloc(size + 1)) == NULL)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	if ((set = cidr_set_create()) == NULL) {
		free(text);
		return 0;
	}
	for (line = text; line != NULL && n < FUZZ_MAX_LINES; line = next) {
		if ((next = strchr(line, '\n')) != NULL)
			*next++ = '\0';
		fuzz_addr(line);
		fuzz_range(set, line);
		n++;
	}
	cidr_set_free(&set);
	free(text);
	return 0;
}
