/*
 * NAME
 *	iptree - compact sets of IPv4 and IPv6 CIDR ranges
 * SUMMARY
 *	Sorted arrays of [first, last] with parent links.
 * DESCRIPTION
 *	See iptree.h. Each family keeps three parallel arrays (first
 *	addresses, last addresses, parents) so the binary search touches
 *	only the first-address array. IPv6 addresses are unsigned __int128.
 * THREADS
 *	Built by one thread, then read by any number.
 * OWNERSHIP
 *	The tree owns its arrays.
 * ERRORS
 *	iptree_net_parse: text in why.
 */
#include <sys/socket.h>

#include <arpa/inet.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lists/iptree.h"

typedef unsigned __int128 iptree_u128;

struct iptree {
	size_t n4;	     /* IPv4 ranges: indexes 0 .. n4-1 */
	uint32_t *first4;    /* first address of each */
	uint32_t *last4;     /* last address of each */
	uint32_t *parent4;   /* enclosing range, UINT32_MAX: none */
	size_t n6;	     /* IPv6 ranges: indexes n4 .. n4+n6-1 */
	iptree_u128 *first6; /* first address of each */
	iptree_u128 *last6;  /* last address of each */
	uint32_t *parent6;   /* enclosing range, UINT32_MAX: none */
};

static const uint8_t iptree_mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff,
	0xff };

/* iptree_load32 - an IPv4 address as a number */
static uint32_t
iptree_load32(const uint8_t *b)
{
	return (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 |
	    (uint32_t)b[2] << 8 | b[3];
}

/* iptree_load128 - an IPv6 address as a number */
static iptree_u128
iptree_load128(const uint8_t *b)
{
	iptree_u128 v = 0;
	int i;

	for (i = 0; i < 16; i++)
		v = v << 8 | b[i];
	return v;
}

/* iptree_net_parse - parse "ADDR" or "ADDR/PREFIX" */
int
iptree_net_parse(const char *text, size_t len, struct iptree_net *net_r,
    char *why, size_t why_size)
{
	char buf[64];
	const char *slash;
	size_t alen, i;
	unsigned max, prefix, bit;
	struct iptree_net n;

	memset(&n, 0, sizeof(n));
	slash = memchr(text, '/', len);
	alen = slash != NULL ? (size_t)(slash - text) : len;
	if (alen == 0 || alen >= sizeof(buf))
		goto bad;
	memcpy(buf, text, alen);
	buf[alen] = '\0';
	if (inet_pton(AF_INET, buf, n.net.bytes) == 1)
		n.net.family = AF_INET;
	else if (inet_pton(AF_INET6, buf, n.net.bytes) == 1)
		n.net.family = AF_INET6;
	else
		goto bad;
	max = n.net.family == AF_INET ? 32 : 128;
	prefix = max;
	if (slash != NULL) {
		size_t plen = len - alen - 1;

		prefix = 0;
		if (plen == 0 || plen > 3)
			goto badprefix;
		for (i = 0; i < plen; i++) {
			if (slash[1 + i] < '0' || slash[1 + i] > '9')
				goto badprefix;
			prefix = prefix * 10 + (unsigned)(slash[1 + i] - '0');
		}
		if (prefix > max)
			goto badprefix;
	}
	for (bit = prefix; bit < max; bit++) {
		if (n.net.bytes[bit / 8] & (0x80 >> (bit % 8))) {
			snprintf(why, why_size, "host bits set in \"%.*s\"",
			    (int)len, text);
			return -1;
		}
	}
	n.prefix = prefix;
	/* ::ffff:a.b.c.d/96+n is the IPv4 range a.b.c.d/n. */
	if (n.net.family == AF_INET6 && prefix >= 96 &&
	    memcmp(n.net.bytes, iptree_mapped, sizeof(iptree_mapped)) == 0) {
		n.net.family = AF_INET;
		memmove(n.net.bytes, n.net.bytes + 12, 4);
		memset(n.net.bytes + 4, 0, 12);
		n.prefix -= 96;
	}
	*net_r = n;
	return 0;
bad:
	snprintf(why, why_size, "not an IP address or CIDR range: \"%.*s\"",
	    (int)(len > 64 ? 64 : len), text);
	return -1;
badprefix:
	snprintf(why, why_size, "prefix length must be 0 to %u: \"%.*s\"", max,
	    (int)len, text);
	return -1;
}

/* iptree_net_compare - IPv4 first, then by network, then wider first */
int
iptree_net_compare(const struct iptree_net *a, const struct iptree_net *b)
{
	int c;

	if (a->net.family != b->net.family)
		return a->net.family == AF_INET ? -1 : 1;
	c = memcmp(
	    a->net.bytes, b->net.bytes, a->net.family == AF_INET ? 4 : 16);
	if (c != 0)
		return c;
	return a->prefix < b->prefix ? -1 : a->prefix > b->prefix;
}

/* iptree_net_format - a range as canonical text */
void
iptree_net_format(const struct iptree_net *n, char *buf, size_t size)
{
	char addr[INET6_ADDRSTRLEN];
	unsigned max = n->net.family == AF_INET ? 32 : 128;

	if (size == 0)
		return;
	buf[0] = '\0';
	if (inet_ntop(n->net.family, n->net.bytes, addr, sizeof(addr)) == NULL)
		return;
	if (n->prefix == max)
		snprintf(buf, size, "%s", addr);
	else
		snprintf(buf, size, "%s/%u", addr, n->prefix);
}

/* iptree_build - a tree of ranges */
int
iptree_build(const struct iptree_net *nets, size_t n, struct iptree **tree_r)
{
	struct iptree *t;
	uint32_t *stack = NULL, top;
	size_t i, j, depth;

	*tree_r = NULL;
	if (n >= UINT32_MAX)
		return -1;
	if ((t = calloc(1, sizeof(*t))) == NULL)
		return -1;
	for (i = 0; i < n && nets[i].net.family == AF_INET; i++)
		;
	t->n4 = i;
	t->n6 = n - i;
	t->first4 = calloc(t->n4 + 1, sizeof(uint32_t));
	t->last4 = calloc(t->n4 + 1, sizeof(uint32_t));
	t->parent4 = calloc(t->n4 + 1, sizeof(uint32_t));
	t->first6 = calloc(t->n6 + 1, sizeof(iptree_u128));
	t->last6 = calloc(t->n6 + 1, sizeof(iptree_u128));
	t->parent6 = calloc(t->n6 + 1, sizeof(uint32_t));
	/* At most 129 ranges nest: one per prefix length. */
	stack = calloc(130, sizeof(uint32_t));
	if (t->first4 == NULL || t->last4 == NULL || t->parent4 == NULL ||
	    t->first6 == NULL || t->last6 == NULL || t->parent6 == NULL ||
	    stack == NULL)
		goto fail;

	depth = 0;
	for (j = 0; j < t->n4; j++) {
		const struct iptree_net *x = &nets[j];
		uint32_t first = iptree_load32(x->net.bytes);
		uint32_t span = (uint32_t)(0xffffffffULL >> x->prefix);

		if (j > 0 && iptree_net_compare(&nets[j - 1], x) >= 0)
			goto fail;
		t->first4[j] = first;
		t->last4[j] = first | span;
		while (depth > 0 && t->last4[stack[depth - 1]] < first)
			depth--;
		top = depth > 0 ? stack[depth - 1] : UINT32_MAX;
		t->parent4[j] = top;
		if (depth >= 130)
			goto fail;
		stack[depth++] = (uint32_t)j;
	}
	depth = 0;
	for (j = 0; j < t->n6; j++) {
		const struct iptree_net *x = &nets[t->n4 + j];
		iptree_u128 first = iptree_load128(x->net.bytes);
		iptree_u128 span =
		    x->prefix >= 128 ? 0 : (~(iptree_u128)0 >> x->prefix);

		if (x->net.family != AF_INET6 ||
		    (j > 0 && iptree_net_compare(&nets[t->n4 + j - 1], x) >= 0))
			goto fail;
		t->first6[j] = first;
		t->last6[j] = first | span;
		while (depth > 0 && t->last6[stack[depth - 1]] < first)
			depth--;
		top = depth > 0 ? stack[depth - 1] : UINT32_MAX;
		t->parent6[j] = top;
		if (depth >= 130)
			goto fail;
		stack[depth++] = (uint32_t)j;
	}
	free(stack);
	*tree_r = t;
	return 0;
fail:
	free(stack);
	iptree_free(&t);
	return -1;
}

/* iptree_match - the ranges that hold an address, innermost first */
size_t
iptree_match(const struct iptree *t, const struct cidr_addr *addr, size_t from)
{
	size_t lo, hi, mid;
	uint32_t i;

	if (t == NULL || addr == NULL)
		return IPTREE_NONE;
	if (addr->family == AF_INET ||
	    (addr->family == AF_INET6 &&
		memcmp(addr->bytes, iptree_mapped, sizeof(iptree_mapped)) ==
		    0)) {
		uint32_t a = iptree_load32(
		    addr->family == AF_INET ? addr->bytes : addr->bytes + 12);

		if (from != IPTREE_NONE) {
			if (from >= t->n4)
				return IPTREE_NONE;
			i = t->parent4[from];
		} else {
			/* The last range whose first address is <= a. */
			lo = 0;
			hi = t->n4;
			while (lo < hi) {
				mid = lo + (hi - lo) / 2;
				if (t->first4[mid] <= a)
					lo = mid + 1;
				else
					hi = mid;
			}
			if (lo == 0)
				return IPTREE_NONE;
			i = (uint32_t)(lo - 1);
		}
		while (i != UINT32_MAX && t->last4[i] < a)
			i = t->parent4[i];
		return i == UINT32_MAX ? IPTREE_NONE : i;
	}
	if (addr->family == AF_INET6) {
		iptree_u128 a = iptree_load128(addr->bytes);

		if (from != IPTREE_NONE) {
			if (from < t->n4 || from - t->n4 >= t->n6)
				return IPTREE_NONE;
			i = t->parent6[from - t->n4];
		} else {
			lo = 0;
			hi = t->n6;
			while (lo < hi) {
				mid = lo + (hi - lo) / 2;
				if (t->first6[mid] <= a)
					lo = mid + 1;
				else
					hi = mid;
			}
			if (lo == 0)
				return IPTREE_NONE;
			i = (uint32_t)(lo - 1);
		}
		while (i != UINT32_MAX && t->last6[i] < a)
			i = t->parent6[i];
		return i == UINT32_MAX ? IPTREE_NONE : t->n4 + i;
	}
	return IPTREE_NONE;
}

/* iptree_prefix - prefix length of a range from its first and last */
static unsigned
iptree_prefix(iptree_u128 first, iptree_u128 last, unsigned bits)
{
	iptree_u128 span = first ^ last;
	unsigned host = 0;

	while (host < bits && (span & 1)) {
		span >>= 1;
		host++;
	}
	return bits - host;
}

/* iptree_get - range i of the tree */
int
iptree_get(const struct iptree *t, size_t i, struct iptree_net *net_r)
{
	iptree_u128 v;
	int k;

	memset(net_r, 0, sizeof(*net_r));
	if (t == NULL)
		return -1;
	if (i < t->n4) {
		uint32_t a = t->first4[i];

		net_r->net.family = AF_INET;
		net_r->net.bytes[0] = (uint8_t)(a >> 24);
		net_r->net.bytes[1] = (uint8_t)(a >> 16);
		net_r->net.bytes[2] = (uint8_t)(a >> 8);
		net_r->net.bytes[3] = (uint8_t)a;
		net_r->prefix = iptree_prefix(a, t->last4[i], 32);
		return 0;
	}
	i -= t->n4;
	if (i >= t->n6)
		return -1;
	net_r->net.family = AF_INET6;
	v = t->first6[i];
	for (k = 15; k >= 0; k--) {
		net_r->net.bytes[k] = (uint8_t)v;
		v >>= 8;
	}
	net_r->prefix = iptree_prefix(t->first6[i], t->last6[i], 128);
	return 0;
}

/* iptree_memory - bytes the tree allocated */
size_t
iptree_memory(const struct iptree *t)
{
	if (t == NULL)
		return 0;
	return sizeof(*t) + (t->n4 + 1) * 3 * sizeof(uint32_t) +
	    (t->n6 + 1) * (2 * sizeof(iptree_u128) + sizeof(uint32_t));
}

/* iptree_free - free a tree and set *tree to NULL */
void
iptree_free(struct iptree **tree)
{
	struct iptree *t;

	if (tree == NULL || (t = *tree) == NULL)
		return;
	free(t->first4);
	free(t->last4);
	free(t->parent4);
	free(t->first6);
	free(t->last6);
	free(t->parent6);
	free(t);
	*tree = NULL;
}
