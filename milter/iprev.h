/*
 * NAME
 *	iprev - forward-confirmed reverse DNS of the client (RFC 8601 3)
 * SUMMARY
 *	PTR of the client address, then A or AAAA of each name found (at
 *	most max_names); pass when a forward answer holds the address.
 * DESCRIPTION
 *	iprev_start() sends the PTR query at connect; iprev_finish() waits
 *	for it, sends the forward queries in parallel and collects them.
 *	Results (RFC 8601 2.7.3):
 *	pass       a name's forward lookup contains the address
 *	fail       PTR NXDOMAIN/NODATA, or no name maps back
 *	temperror  the PTR lookup, or a forward lookup that could still
 *	           have confirmed, failed temporarily
 *	permerror  the PTR answer is unusable (names that are not names)
 * THREADS
 *	One query belongs to one session.
 * OWNERSHIP
 *	The iprev_query belongs to the caller (iprev_free).
 */
#ifndef SAKIMORI_MILTER_IPREV_H
#define SAKIMORI_MILTER_IPREV_H

#include <time.h>

#include "lists/cidr.h"
#include "milter/dns.h"
#include "policy/result.h"

struct iprev_query;

struct iprev_outcome {
	enum result_code result; /* pass, fail, temperror, permerror */
	char name[256];		 /* pass: the confirmed name; else the
				    first PTR name or "" */
	char reason[128];	 /* why, for logs and the A-R comment */
};

/*
 * iprev_start - send the PTR query for an address
 *	r: the resolver
 *	addr: the client address
 * Returns the query (free with iprev_free), or NULL out of memory.
 */
struct iprev_query *iprev_start(
    struct dns_resolver *r, const struct cidr_addr *addr);

/*
 * iprev_finish - wait for the answers and decide
 *	q: the query
 *	deadline: CLOCK_MONOTONIC limit, or NULL
 *	max_names: PTR names to follow forward (RFC 7208 4.6.4 uses 10)
 *	out: filled in
 * Returns 0, or -1 out of memory (out holds temperror). May be called
 * once; later calls return the same outcome.
 */
int iprev_finish(struct iprev_query *q, const struct timespec *deadline,
    unsigned max_names, struct iprev_outcome *out);

/* iprev_free - free a query, finished or not (NULL is fine) */
void iprev_free(struct iprev_query **q);

#endif
