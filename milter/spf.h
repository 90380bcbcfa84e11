/*
 * NAME
 *	spf - RFC 7208 SPF checks with libspf2 over sakimori's DNS layer
 * SUMMARY
 *	Evaluate one identity (MAIL FROM or HELO) for one client IP.
 * DESCRIPTION
 *	libspf2 resolves through a SPF_dns_server_t of ours that calls
 *	dns_lookup() with the message's deadline, so SPF shares the cache
 *	and the DNS budget. Our layer also enforces what libspf2 does not:
 *	RFC 7208 4.6.4, at most 2 void lookups (NXDOMAIN or NODATA) per
 *	evaluation, the third giving permerror. libspf2 enforces the limit
 *	of 10 DNS-querying terms.
 *	For MAIL FROM <> the identity is postmaster@HELO (RFC 7208 2.4).
 * THREADS
 *	One SPF_server_t per call; any number of calls may run at once.
 * ERRORS
 *	Bad input (an IP that is not an IP, an empty or oversized HELO,
 *	control bytes, NUL): no query is sent; the result is none (no usable
 *	identity) or permerror, with the reason in spf_outcome.reason.
 */
#ifndef SAKIMORI_MILTER_SPF_H
#define SAKIMORI_MILTER_SPF_H

#include <time.h>

#include "milter/dns.h"
#include "policy/result.h"

struct spf_outcome {
	enum result_code result; /* one of the seven SPF results */
	char explanation[256];	 /* fail: exp= text, sanitized (printable
				    ASCII, no CR/LF); else "" */
	char reason[256];	 /* for logs and the A-R comment: why this
				    result (e.g. "void lookup limit"); may
				    be "" */
	char mechanism[128];	 /* the matching mechanism, or "" */
};

/*
 * spf_check - evaluate one identity
 *	r: the DNS resolver
 *	deadline: give up DNS waits after this (CLOCK_MONOTONIC), or NULL
 *	client_ip: the client address as text (IPv4 or IPv6)
 *	helo: the HELO/EHLO name as given (may be NULL or empty)
 *	mailfrom: the MAIL FROM address without angle brackets; "" for the
 *	    null sender; NULL to check the HELO identity
 *	receiver: our host name, for %{r} in explanations
 *	out: filled in
 * Returns 0 (out holds the result), or -1 out of memory (out holds
 * temperror).
 */
int spf_check(struct dns_resolver *r, const struct timespec *deadline,
    const char *client_ip, const char *helo, const char *mailfrom,
    const char *receiver, struct spf_outcome *out);

#endif
