/*
 * NAME
 *	cidr - sets of IPv4/IPv6 addresses and CIDR ranges
 * SUMMARY
 *	Parse "192.0.2.0/24", "2001:db8::/32" or a bare address; test
 *	whether an address falls in any range of a set.
 * DESCRIPTION
 *	Used for trusted_networks. A set is built once (at config load) and
 *	then only read. IPv4-mapped IPv6 addresses (::ffff:a.b.c.d) match
 *	IPv4 ranges.
 * THREADS
 *	Building is single-threaded; a built set may be read by any number
 *	of threads.
 * ERRORS
 *	Parse errors come back as text in error_r (caller frees).
 */
#ifndef SAKIMORI_LISTS_CIDR_H
#define SAKIMORI_LISTS_CIDR_H

#include <stddef.h>
#include <stdint.h>

struct cidr_addr {
	int family;	   /* AF_INET or AF_INET6 */
	uint8_t bytes[16]; /* network order; 4 used for AF_INET */
};

struct cidr_set;

/*
 * cidr_addr_parse - parse a bare IPv4 or IPv6 address
 *	text: the address (no brackets, no port)
 *	addr_r: filled in; IPv4-mapped IPv6 is stored as AF_INET
 * Returns 0, or -1 if text is not an address.
 */
int cidr_addr_parse(const char *text, struct cidr_addr *addr_r);

/*
 * cidr_set_create - an empty set
 * Returns the set (caller frees with cidr_set_free), or NULL if out of
 * memory.
 */
struct cidr_set *cidr_set_create(void);

/*
 * cidr_set_add - add one range
 *	set: the set
 *	text: "ADDR" or "ADDR/PREFIX"; host bits must be zero
 *	error_r: on failure, why (caller frees)
 * Returns 0, or -1 on a bad range or out of memory.
 */
int cidr_set_add(struct cidr_set *set, const char *text, char **error_r)
    __attribute__((warn_unused_result));

/*
 * cidr_set_match - does any range hold the address?
 * Returns 1 found, 0 not found.
 */
int cidr_set_match(const struct cidr_set *set, const struct cidr_addr *addr);

/* cidr_set_count - number of ranges in the set */
size_t cidr_set_count(const struct cidr_set *set);

/*
 * cidr_set_format - the i-th range as text ("10.0.0.0/8")
 *	buf: at least 50 bytes
 */
void cidr_set_format(
    const struct cidr_set *set, size_t i, char *buf, size_t size);

/* cidr_set_free - free a set (NULL is fine) and set *set to NULL */
void cidr_set_free(struct cidr_set **set);

#endif
