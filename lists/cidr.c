/*
 * NAME
 *	cidr - sets of IPv4/IPv6 addresses and CIDR ranges
 * SUMMARY
 *	A growable array of ranges, searched linearly.
 * DESCRIPTION
 *	See cidr.h. trusted_networks holds a handful of ranges, so a linear
 *	scan is as fast as anything; the CIDR tree for large lists comes
 *	later. Ranges keep the order they were added in, so that the
 *	effective-config dump shows them as the postmaster wrote them.
 *	IPv4-mapped IPv6 ranges (::ffff:0:0/96 and longer) are stored as
 *	IPv4 ranges, and mapped addresses are looked up as IPv4, so either
 *	spelling matches the other.
 * THREADS
 *	Building is single-threaded; a built set is only read.
 * OWNERSHIP
 *	The set owns its array; error strings belong to the caller.
 * ERRORS
 *	cidr_set_add: "TEXT: why" in error_r.
 */
#include <sys/socket.h>

#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lists/cidr.h"

struct cidr_range {
	struct cidr_addr net; /* network address, host bits zero */
	unsigned prefix;      /* prefix length: 0..32 or 0..128 */
};

struct cidr_set {
	struct cidr_range *ranges; /* in the order added */
	size_t count;		   /* ranges in use */
	size_t alloc;		   /* ranges allocated */
};

static const uint8_t cidr_mapped_prefix[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	0xff, 0xff };

/* cidr_fail - format an error for error_r */
static void __attribute__((format(printf, 2, 3)))
cidr_fail(char **error_r, const char *fmt, ...)
{
	va_list ap;
	char *msg;

	if (error_r == NULL)
		return;
	va_start(ap, fmt);
	if (vasprintf(&msg, fmt, ap) < 0)
		msg = NULL;
	va_end(ap);
	*error_r = msg;
}

/* cidr_addr_bits - address length in bits for a family */
static unsigned
cidr_addr_bits(int family)
{
	return family == AF_INET ? 32 : 128;
}

/* cidr_addr_parse - parse a bare IPv4 or IPv6 address */
int
cidr_addr_parse(const char *text, struct cidr_addr *addr_r)
{
	struct cidr_addr addr;

	memset(&addr, 0, sizeof(addr));
	if (inet_pton(AF_INET, text, addr.bytes) == 1) {
		addr.family = AF_INET;
	} else if (inet_pton(AF_INET6, text, addr.bytes) == 1) {
		addr.family = AF_INET6;
		if (memcmp(addr.bytes, cidr_mapped_prefix,
			sizeof(cidr_mapped_prefix)) == 0) {
			addr.family = AF_INET;
			memmove(addr.bytes, addr.bytes + 12, 4);
			memset(addr.bytes + 4, 0, 12);
		}
	} else {
		return -1;
	}
	*addr_r = addr;
	return 0;
}

/* cidr_set_create - an empty set */
struct cidr_set *
cidr_set_create(void)
{
	return calloc(1, sizeof(struct cidr_set));
}

/* cidr_prefix_match - do the first prefix bits of a and b agree? */
static bool
cidr_prefix_match(const uint8_t *a, const uint8_t *b, unsigned prefix)
{
	unsigned whole = prefix / 8, rest = prefix % 8;
	uint8_t mask;

	if (memcmp(a, b, whole) != 0)
		return false;
	if (rest == 0)
		return true;
	mask = (uint8_t)(0xff << (8 - rest));
	return ((a[whole] ^ b[whole]) & mask) == 0;
}

/* cidr_host_bits_zero - are all bits after prefix zero? */
static bool
cidr_host_bits_zero(const struct cidr_addr *addr, unsigned prefix)
{
	unsigned bits = cidr_addr_bits(addr->family), i;

	for (i = prefix; i < bits; i++) {
		if (addr->bytes[i / 8] & (0x80 >> (i % 8)))
			return false;
	}
	return true;
}

/* cidr_parse_prefix - parse a decimal prefix length, 1 to 3 digits */
static int
cidr_parse_prefix(const char *text, unsigned max, unsigned *prefix_r)
{
	unsigned value = 0;
	size_t i;

	if (text[0] == '\0' || strlen(text) > 3)
		return -1;
	for (i = 0; text[i] != '\0'; i++) {
		if (text[i] < '0' || text[i] > '9')
			return -1;
		value = value * 10 + (unsigned)(text[i] - '0');
	}
	if (value > max)
		return -1;
	*prefix_r = value;
	return 0;
}

/* cidr_set_add - add one range */
int
cidr_set_add(struct cidr_set *set, const char *text, char **error_r)
{
	/* Longest IPv6 text (45) + "/128" + NUL, with room to spare. */
	char addrbuf[64];
	struct cidr_range range;
	struct cidr_range *grown;
	const char *slash;
	unsigned max;
	size_t len;
	bool mapped;

	memset(&range, 0, sizeof(range));
	slash = strchr(text, '/');
	len = slash != NULL ? (size_t)(slash - text) : strlen(text);
	if (len == 0 || len >= sizeof(addrbuf)) {
		cidr_fail(error_r, "%s: not an IP address", text);
		return -1;
	}
	memcpy(addrbuf, text, len);
	addrbuf[len] = '\0';

	/* Parse without folding mapped addresses: the prefix is IPv6's. */
	if (inet_pton(AF_INET, addrbuf, range.net.bytes) == 1) {
		range.net.family = AF_INET;
	} else if (inet_pton(AF_INET6, addrbuf, range.net.bytes) == 1) {
		range.net.family = AF_INET6;
	} else {
		cidr_fail(error_r, "%s: not an IP address", text);
		return -1;
	}
	max = cidr_addr_bits(range.net.family);
	range.prefix = max;
	if (slash != NULL &&
	    cidr_parse_prefix(slash + 1, max, &range.prefix) < 0) {
		cidr_fail(
		    error_r, "%s: prefix length must be 0 to %u", text, max);
		return -1;
	}
	if (!cidr_host_bits_zero(&range.net, range.prefix)) {
		cidr_fail(error_r, "%s: host bits set", text);
		return -1;
	}

	/* ::ffff:a.b.c.d/96+n is the IPv4 range a.b.c.d/n. */
	mapped = range.net.family == AF_INET6 && range.prefix >= 96 &&
	    memcmp(range.net.bytes, cidr_mapped_prefix,
		sizeof(cidr_mapped_prefix)) == 0;
	if (mapped) {
		range.net.family = AF_INET;
		memmove(range.net.bytes, range.net.bytes + 12, 4);
		memset(range.net.bytes + 4, 0, 12);
		range.prefix -= 96;
	}

	if (set->count == set->alloc) {
		size_t alloc = set->alloc == 0 ? 8 : set->alloc * 2;

		grown = reallocarray(set->ranges, alloc, sizeof(*grown));
		if (grown == NULL) {
			cidr_fail(error_r, "%s: %s", text, strerror(errno));
			return -1;
		}
		set->ranges = grown;
		set->alloc = alloc;
	}
	set->ranges[set->count++] = range;
	return 0;
}

/* cidr_set_match - does any range hold the address? */
int
cidr_set_match(const struct cidr_set *set, const struct cidr_addr *addr)
{
	struct cidr_addr v4, v6;
	size_t i;

	if (set == NULL || addr == NULL)
		return 0;

	/* Both spellings of an IPv4 address: plain and ::ffff:a.b.c.d. */
	memset(&v4, 0, sizeof(v4));
	memset(&v6, 0, sizeof(v6));
	if (addr->family == AF_INET) {
		v4 = *addr;
	} else if (addr->family == AF_INET6) {
		v6 = *addr;
		if (memcmp(addr->bytes, cidr_mapped_prefix,
			sizeof(cidr_mapped_prefix)) == 0) {
			v4.family = AF_INET;
			memcpy(v4.bytes, addr->bytes + 12, 4);
		}
	} else {
		return 0;
	}
	if (v4.family == AF_INET && v6.family == 0) {
		v6.family = AF_INET6;
		memcpy(
		    v6.bytes, cidr_mapped_prefix, sizeof(cidr_mapped_prefix));
		memcpy(v6.bytes + 12, v4.bytes, 4);
	}

	for (i = 0; i < set->count; i++) {
		const struct cidr_range *r = &set->ranges[i];
		const struct cidr_addr *a =
		    r->net.family == AF_INET ? &v4 : &v6;

		if (a->family == r->net.family &&
		    cidr_prefix_match(a->bytes, r->net.bytes, r->prefix))
			return 1;
	}
	return 0;
}

/* cidr_set_count - number of ranges in the set */
size_t
cidr_set_count(const struct cidr_set *set)
{
	return set == NULL ? 0 : set->count;
}

/* cidr_set_format - the i-th range as text */
void
cidr_set_format(const struct cidr_set *set, size_t i, char *buf, size_t size)
{
	char addr[INET6_ADDRSTRLEN];
	const struct cidr_range *r;

	if (size == 0)
		return;
	buf[0] = '\0';
	if (set == NULL || i >= set->count)
		return;
	r = &set->ranges[i];
	if (inet_ntop(r->net.family, r->net.bytes, addr, sizeof(addr)) == NULL)
		return;
	snprintf(buf, size, "%s/%u", addr, r->prefix);
}

/* cidr_set_free - free a set and set *set to NULL */
void
cidr_set_free(struct cidr_set **set)
{
	if (set == NULL || *set == NULL)
		return;
	free((*set)->ranges);
	free(*set);
	*set = NULL;
}
