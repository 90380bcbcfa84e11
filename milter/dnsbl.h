/*
 * NAME
 *	dnsbl - DNSBL and RHSBL lookups (RFC 5782)
 * SUMMARY
 *	Ask one blacklist zone about an IP address (DNSBL) or a domain
 *	(RHSBL) and say what its answer means through a dnsbl_map.
 * DESCRIPTION
 *	dnsbl_start() builds the query name and sends the A query (and,
 *	for zones that want it, the TXT query alongside) through the
 *	shared resolver, and returns at once: client IP queries start at
 *	connect, one per zone, all in parallel. dnsbl_finish() waits for
 *	the answer, at most until the earlier of the caller's deadline and
 *	the zone's own timeout counted from dnsbl_start().
 *
 *	Query names (RFC 5782 2.1, 2.4, 3):
 *	    IPv4 192.0.2.99      99.2.0.192.ZONE
 *	    IPv6 2001:db8::99    9.9.0.0. ... .8.b.d.0.1.0.0.2.ZONE (32
 *	                         nibbles, least significant first)
 *	    domain Spam.Test.    spam.test.ZONE (lower case, one root dot
 *	                         dropped)
 *	IPv4-mapped IPv6 addresses are asked as IPv4. A value that is not
 *	an address (DNSBL) or not a host name (RHSBL: letters, digits, '-',
 *	'_'; an address literal is not), or a query name over 253 octets,
 *	sends nothing: the result is not_listed with the reason.
 *
 *	Statuses:
 *	    DNSBL_LISTED      an A record whose code matches a map row
 *	    DNSBL_NOT_LISTED  NXDOMAIN, NODATA, nothing asked, or only codes
 *	                      no row matches or outside 127.0.0.0/8 (RFC
 *	                      5782 2.3: a wildcarding or broken zone; logged
 *	                      as a warning)
 *	    DNSBL_REFUSED     only codes of the refused set (the list refuses
 *	                      our resolver; logged as a warning): not listed
 *	    DNSBL_TEMPERROR   DNS trouble or the timeout: never a listing
 *	With several A records, the codes are reported sorted, the action
 *	is the strongest and the score the highest of the matching rows,
 *	and the meaning is that of the row giving the action.
 *
 *	Debug lines go to the dns subsystem (LOG_SUB_DNS, "-T dns"): there
 *	is no subsystem of its own.
 * THREADS
 *	A query belongs to one session; the resolver is shared.
 * OWNERSHIP
 *	The caller owns the query (dnsbl_free). struct dnsbl_zone and its
 *	map are borrowed from the configuration and must outlive the
 *	query (the session holds the config snapshot). A result is a plain
 *	copy, except row (borrowed from the map).
 * ERRORS
 *	dnsbl_start returns NULL only out of memory; dnsbl_finish returns -1
 *	out of memory, with a temperror result.
 */
#ifndef SAKIMORI_MILTER_DNSBL_H
#define SAKIMORI_MILTER_DNSBL_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "milter/dns.h"
#include "policy/dnsbl_map.h"
#include "policy/verdict.h"

#define DNSBL_TXT_MAX 255 /* octets of TXT text kept */

enum dnsbl_status {
	DNSBL_NOT_LISTED = 0, /* see above */
	DNSBL_LISTED,	      /* a code matched a map row */
	DNSBL_REFUSED,	      /* a refused-set answer: not listed */
	DNSBL_TEMPERROR,      /* DNS trouble: not a listing */
};

/*
 * A zone as configured. map NULL: every 127/8 code outside
 * 127.255.255.0/24 is a listing, meaning "listed", action tag, score 0.
 */
struct dnsbl_zone {
	const char *zone;	     /* "bl.example.org"; a root dot is ok */
	enum dnsbl_subject subject;  /* what is asked */
	const struct dnsbl_map *map; /* codes -> meaning, or NULL (above) */
	unsigned timeout_ms;	     /* from dnsbl_start; 0: deadline only */
	bool want_txt;		     /* fetch TXT for listed entries */
};

/*
 * The result. codes: every A code of the answer, sorted, comma-separated,
 * cut with "..." when long. row: borrowed from the map (NULL for a NULL
 * map). txt: the first TXT record when listed and want_txt, bytes outside
 * printable ASCII as '?', cut at DNSBL_TXT_MAX with "...".
 */
struct dnsbl_result {
	enum dnsbl_status status; /* see above */
	char qname[256];	  /* name asked, "" if none */
	char code[16];		  /* LISTED: lowest listing code */
	char codes[128];	  /* every A code (above) */
	char meaning[DNSBL_MAP_MEANING_MAX + 1]; /* LISTED: row meaning */
	enum action action;			 /* LISTED: strongest action */
	int score;				 /* LISTED: highest score */
	const struct dnsbl_map_row *row;	 /* LISTED: row of the action */
	char txt[DNSBL_TXT_MAX + 1];		 /* LISTED: TXT text or "" */
	char reason[160]; /* not listed, refused, temperror: why */
};

struct dnsbl_query;

/*
 * dnsbl_query_name - the name a zone is asked for a value
 *	zone: the zone (a root dot is allowed)
 *	subject: DNSBL_CLIENT_IP: value is an IPv4 or IPv6 address; else a
 *	    domain
 *	value: the address or domain
 *	buf: the name, lower case, no root dot; at least 254 bytes
 *	why_r: on failure, a static reason ("not an IP address", "query
 *	    name over 253 octets", ...)
 * Returns 0, or -1 when nothing should be asked.
 */
int dnsbl_query_name(const char *zone, enum dnsbl_subject subject,
    const char *value, char *buf, size_t size, const char **why_r);

/*
 * dnsbl_start - send the query for a value; returns at once
 *	r: the resolver
 *	z: the zone (borrowed until dnsbl_free)
 *	value: IP text or domain (copied); NULL or "" asks nothing
 * Returns the query (free with dnsbl_free), or NULL out of memory.
 */
struct dnsbl_query *dnsbl_start(
    struct dns_resolver *r, const struct dnsbl_zone *z, const char *value);

/*
 * dnsbl_finish - wait for the answer and say what it means
 *	q: the query
 *	deadline: CLOCK_MONOTONIC limit, or NULL (then only the zone
 *	    timeout, or the resolver's own timeouts, bound the wait)
 *	out: filled in
 * Returns 0, or -1 out of memory (out holds temperror). Later calls
 * return the same result.
 */
int dnsbl_finish(struct dnsbl_query *q, const struct timespec *deadline,
    struct dnsbl_result *out) __attribute__((warn_unused_result));

/* dnsbl_free - free a query, finished or not (NULL is fine) */
void dnsbl_free(struct dnsbl_query **q);

/*
 * dnsbl_status_name - "listed", "not_listed", "refused", "temperror"
 */
const char *dnsbl_status_name(enum dnsbl_status status);

#endif
