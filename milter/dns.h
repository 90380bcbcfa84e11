/*
 * NAME
 *	dns - the one resolver and cache every check goes through
 * SUMMARY
 *	Asynchronous lookups over libldns, answered from a shared,
 *	TTL-respecting, size-bounded positive and negative cache.
 * DESCRIPTION
 *	dns_query_start() hands a question to a pool of worker threads and
 *	returns at once; dns_query_wait() collects the answer, waiting at
 *	most until a deadline (the message's DNS budget). dns_lookup() is
 *	start + wait. SPF (through libspf2's DNS layer), iprev and later
 *	DKIM and DNSBL all use it.
 *
 *	Answers are decoded into struct dns_result: the records of the
 *	asked type for the asked name, CNAME chains inside the answer
 *	followed (at most 8 links; a loop is a temperror), a chain leaving
 *	the answer followed with a new query.
 *
 *	Statuses (style: temporary never merges with permanent):
 *	DNS_OK        at least one record of the type
 *	DNS_NXDOMAIN  the name does not exist (RCODE 3)
 *	DNS_NODATA    the name exists, no record of the type
 *	DNS_TEMPFAIL  SERVFAIL, REFUSED, timeout on every server, failed TCP
 *	              retry after TC, malformed or mismatched reply, more
 *	              records than allowed, CNAME loop, deadline passed
 *	DNS_BADNAME   the question itself is invalid (empty label, label over
 *	              63 or name over 253 octets, bytes not allowed): no
 *	              query is sent
 *	NXDOMAIN and NODATA are cached for the SOA minimum (RFC 2308 5),
 *	answers for their smallest TTL, both capped at the configured
 *	maximum; TTL 0 is not cached; TEMPFAIL is not cached.
 * THREADS
 *	A resolver is shared by all threads. The cache is sharded, one
 *	mutex per shard; the work queue has one mutex. No lock is held
 *	across a network wait. Each worker thread owns its ldns resolvers.
 * OWNERSHIP
 *	A dns_result belongs to the caller (dns_result_free). A dns_query
 *	belongs to the caller until dns_query_free, which may be called
 *	before the answer arrives (the worker then drops it).
 */
#ifndef SAKIMORI_MILTER_DNS_H
#define SAKIMORI_MILTER_DNS_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <netinet/in.h>

/* Query types we ask (values are the RR TYPE numbers). */
enum dns_type {
	DNS_T_A = 1,
	DNS_T_NS = 2,
	DNS_T_CNAME = 5,
	DNS_T_SOA = 6,
	DNS_T_PTR = 12,
	DNS_T_MX = 15,
	DNS_T_TXT = 16,
	DNS_T_AAAA = 28,
	DNS_T_SPF = 99,
};

enum dns_status {
	DNS_OK = 0,   /* records of the type */
	DNS_NXDOMAIN, /* no such name */
	DNS_NODATA,   /* name exists, no records of the type */
	DNS_TEMPFAIL, /* try later: see above */
	DNS_BADNAME,  /* the question is invalid; nothing sent */
};

struct dns_options {
	const char *const
	    *servers;		/* "ADDR" or "ADDR@PORT"; none: resolv.conf */
	size_t server_count;	/* entries in servers */
	unsigned timeout_ms;	/* one attempt to one server */
	unsigned retries;	/* further rounds over all servers */
	unsigned cache_size;	/* entries; 0: no cache */
	unsigned cache_max_ttl; /* seconds */
	unsigned workers;	/* worker threads (queries in flight) */
	unsigned max_answer_records; /* over this: TEMPFAIL */
};

struct dns_rr {
	uint16_t type;	      /* DNS_T_* */
	uint16_t pref;	      /* MX preference */
	struct in_addr a;     /* DNS_T_A */
	struct in6_addr aaaa; /* DNS_T_AAAA */
	char *text;	      /* PTR/MX/CNAME/NS target, lower case, no
				  trailing dot; TXT: the character-strings
				  joined, NUL-terminated (may hold NULs:
				  see len); NULL for A/AAAA */
	size_t len;	      /* bytes in text (excluding the final NUL) */
};

struct dns_result {
	enum dns_status status; /* see above */
	uint16_t qtype;		/* type asked */
	char *qname;		/* name asked, lower case, no trailing dot */
	uint32_t ttl;		/* seconds the answer may be kept */
	size_t count;		/* records in rr */
	struct dns_rr *rr;	/* records of qtype, answer order */
	char why[128];		/* TEMPFAIL/BADNAME: what went wrong */
};

struct dns_resolver;
struct dns_query;

/*
 * dns_resolver_create - start the worker pool and the cache
 *	opts: settings (copied)
 *	r_out: on success, the resolver (free with dns_resolver_free)
 *	error_r: on failure, why, e.g. "dns_nameservers: 1.2.3: not an
 *	    address" (caller frees)
 * Returns 0, or -1.
 */
int dns_resolver_create(
    const struct dns_options *opts, struct dns_resolver **r_out, char **error_r)
    __attribute__((warn_unused_result));

/*
 * dns_resolver_free - stop the workers, free the cache (NULL is fine)
 * Queries still outstanding must have been freed first.
 */
void dns_resolver_free(struct dns_resolver **r);

/*
 * dns_query_start - ask a question; returns at once
 *	r: the resolver
 *	name: domain name (a trailing dot is allowed); copied
 *	type: DNS_T_*
 * Returns the query (free with dns_query_free), or NULL if out of memory.
 * A cached answer makes the query complete at once.
 */
struct dns_query *dns_query_start(
    struct dns_resolver *r, const char *name, uint16_t type);

/*
 * dns_query_wait - collect the answer
 *	q: the query
 *	deadline: CLOCK_MONOTONIC time after which to give up, or NULL to
 *	    wait as long as the resolver's own timeouts take
 *	res_r: set to the result (caller frees with dns_result_free); on
 *	    a passed deadline a TEMPFAIL result with why "deadline"
 * Returns 0, or -1 out of memory. May be called again: each call
 * returns a fresh copy of the same answer.
 */
int dns_query_wait(struct dns_query *q, const struct timespec *deadline,
    struct dns_result **res_r) __attribute__((warn_unused_result));

/* dns_query_free - release a query, answered or not (NULL is fine) */
void dns_query_free(struct dns_query **q);

/*
 * dns_lookup - start and wait in one call
 * Returns as dns_query_wait.
 */
int dns_lookup(struct dns_resolver *r, const char *name, uint16_t type,
    const struct timespec *deadline, struct dns_result **res_r)
    __attribute__((warn_unused_result));

/* dns_result_free - free a result (NULL is fine) and set *res to NULL */
void dns_result_free(struct dns_result **res);

/*
 * dns_reverse_name - the PTR name of an address
 *	family: AF_INET or AF_INET6
 *	addr: struct in_addr or struct in6_addr
 *	buf: at least 74 bytes ("...ip6.arpa" is 72 + NUL)
 * Returns 0, or -1 if the buffer is too small or the family unknown.
 */
int dns_reverse_name(int family, const void *addr, char *buf, size_t size);

/*
 * dns_status_name - "ok", "nxdomain", "nodata", "tempfail", "badname"
 */
const char *dns_status_name(enum dns_status status);

/*
 * dns_stats - counters since start (for logs and `sakimori-ctl stats`)
 */
struct dns_stats {
	unsigned long queries;	     /* dns_query_start calls */
	unsigned long cache_hits;    /* answered from the cache */
	unsigned long sent;	     /* questions sent on the wire */
	unsigned long tempfail;	     /* TEMPFAIL results */
	unsigned long cache_entries; /* entries now */
};
void dns_get_stats(struct dns_resolver *r, struct dns_stats *st);

/* dns_deadline - now (CLOCK_MONOTONIC) plus ms, for deadlines */
void dns_deadline(struct timespec *ts, unsigned ms);

#endif
