/*
 * NAME
 *	dns_cache - the shared positive and negative DNS answer cache
 * SUMMARY
 *	A sharded, size-bounded, TTL-respecting map from (name, type) to
 *	a decoded struct dns_result, with the clock passed in.
 * DESCRIPTION
 *	Used by dns.c only; separate so that it can be tested with an
 *	injected clock. Keys are the lower-cased name and the type, so
 *	lookups ignore case. Entries live for the result's TTL, capped at
 *	max_ttl; a TTL of 0 and TEMPFAIL/BADNAME results are never stored.
 *	When a shard is full its least recently used entry goes.
 * THREADS
 *	Any thread. One mutex per shard, never two at once, never held
 *	across anything but memory operations.
 * OWNERSHIP
 *	dns_cache_put() copies the result; dns_cache_get() returns a copy
 *	the caller frees with dns_result_free().
 */
#ifndef SAKIMORI_MILTER_DNS_CACHE_H
#define SAKIMORI_MILTER_DNS_CACHE_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "milter/dns.h"

struct dns_cache;

/*
 * dns_cache_create - an empty cache
 *	size: at most this many entries in all (0: a cache that keeps
 *	    nothing)
 *	max_ttl: no entry is kept longer than this many seconds
 *	shards: locks to spread the entries over (0: up to 16; never
 *	    more than size); each shard evicts on its own
 * Returns the cache (free with dns_cache_free), or NULL out of memory.
 */
struct dns_cache *dns_cache_create(unsigned size, unsigned max_ttl,
    unsigned shards) __attribute__((warn_unused_result));

/* dns_cache_free - free the cache and every entry (NULL is fine) */
void dns_cache_free(struct dns_cache **c);

/*
 * dns_cache_put - store a copy of a result under (res->qname, res->qtype)
 *	c: the cache
 *	res: DNS_OK, DNS_NXDOMAIN or DNS_NODATA with res->ttl > 0; an
 *	    entry already there for the key is replaced
 *	now: seconds on a monotonic clock
 * Returns 1 stored,
 *	0 not cacheable (status, TTL 0, cache of size 0),
 *	-1 out of memory (nothing changed).
 */
int dns_cache_put(
    struct dns_cache *c, const struct dns_result *res, time_t now);

/*
 * dns_cache_get - look up (name, type)
 *	c: the cache
 *	name: lower or upper case, no trailing dot
 *	type: DNS_T_*
 *	now: seconds on the same clock as dns_cache_put
 *	res_r: on a hit, a copy whose ttl is the time left (caller frees
 *	    with dns_result_free)
 * Returns 1 hit,
 *	0 miss (or expired: the entry is dropped),
 *	-1 out of memory.
 */
int dns_cache_get(struct dns_cache *c, const char *name, uint16_t type,
    time_t now, struct dns_result **res_r) __attribute__((warn_unused_result));

/* dns_cache_count - entries now held (expired ones included until seen) */
size_t dns_cache_count(struct dns_cache *c);

/*
 * dns_cache_result_copy - a deep copy of a result
 * Returns the copy (free with dns_result_free), or NULL out of memory.
 */
struct dns_result *dns_cache_result_copy(const struct dns_result *res)
    __attribute__((warn_unused_result));

#endif
