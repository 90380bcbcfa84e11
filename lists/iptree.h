/*
 * NAME
 *	iptree - compact sets of IPv4 and IPv6 CIDR ranges
 * SUMMARY
 *	Sorted arrays of ranges, one per family, searched by binary search;
 *	each range knows the range that encloses it, so a lookup returns
 *	the most specific range holding an address, then the ones around it.
 * DESCRIPTION
 *	For ip lists (lists/list.c). CIDR ranges never partly overlap: two
 *	ranges are disjoint or one holds the other. Sorted by first address
 *	(wider first on a tie), the last range starting at or before an
 *	address either holds it or is nested in every range that does, so
 *	the enclosing ranges are found by following parent links from it.
 *	IPv4 costs 12 bytes a range (first, last, parent), IPv6 36; that is
 *	smaller than a radix tree's nodes and as fast for lists loaded
 *	whole, which is how lists change (a delta builds a new snapshot).
 *	IPv4-mapped IPv6 addresses are looked up as IPv4.
 * THREADS
 *	Built by one thread, then read by any number.
 * OWNERSHIP
 *	The tree owns its arrays.
 */
#ifndef SAKIMORI_LISTS_IPTREE_H
#define SAKIMORI_LISTS_IPTREE_H

#include <stddef.h>
#include <stdint.h>

#include "lists/cidr.h"

#define IPTREE_NONE ((size_t)-1) /* no range */

struct iptree;

struct iptree_net {
	struct cidr_addr net; /* network, host bits zero, IPv4 as AF_INET */
	unsigned prefix;      /* 0..32 or 0..128 */
};

/*
 * iptree_net_parse - parse "ADDR" or "ADDR/PREFIX"
 *	text, len: the range (need not be NUL-ended)
 *	net_r: the range; an IPv4-mapped IPv6 range of prefix 96 or more
 *	    becomes the IPv4 range
 *	why, why_size: on -1, why
 * Returns 0, or -1 on a bad address, a bad prefix or host bits set.
 */
int iptree_net_parse(const char *text, size_t len, struct iptree_net *net_r,
    char *why, size_t why_size);

/*
 * iptree_net_compare - order of ranges: IPv4 first, then by network,
 * then wider first
 * Returns <0, 0 (same range) or >0.
 */
int iptree_net_compare(const struct iptree_net *a, const struct iptree_net *b);

/*
 * iptree_net_format - a range as canonical text: "192.0.2.0/24",
 * "192.0.2.1" for a single address (/32 or /128)
 *	buf: at least 64 bytes
 */
void iptree_net_format(const struct iptree_net *n, char *buf, size_t size);

/*
 * iptree_build - a tree of ranges
 *	nets: n distinct ranges sorted by iptree_net_compare; range i gets
 *	    index i
 *	tree_r: the tree (caller frees with iptree_free)
 * Returns 0, or -1 out of memory or if nets is not sorted and distinct.
 */
int iptree_build(const struct iptree_net *nets, size_t n,
    struct iptree **tree_r) __attribute__((warn_unused_result));

/*
 * iptree_match - the ranges that hold an address, innermost first
 *	tree: the tree
 *	addr: the address (AF_INET, AF_INET6; mapped IPv6 is IPv4)
 *	from: IPTREE_NONE for the innermost range, or the index this
 *	    function returned last, for the next range out
 * Returns the index of a range holding addr,
 *	IPTREE_NONE when there is no (further) range.
 */
size_t iptree_match(
    const struct iptree *tree, const struct cidr_addr *addr, size_t from);

/*
 * iptree_get - range i of the tree
 * Returns 0, or -1 if i is out of range.
 */
int iptree_get(const struct iptree *tree, size_t i, struct iptree_net *net_r);

/* iptree_memory - bytes the tree allocated */
size_t iptree_memory(const struct iptree *tree);

/* iptree_free - free a tree (NULL is fine) and set *tree to NULL */
void iptree_free(struct iptree **tree);

#endif
