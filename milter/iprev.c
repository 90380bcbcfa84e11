/*
 * NAME
 *	iprev - forward-confirmed reverse DNS of the client (RFC 8601 3)
 * SUMMARY
 *	PTR at connect, forward queries at the first need, one outcome.
 * DESCRIPTION
 *	See iprev.h. iprev_start() sends the PTR query and returns;
 *	iprev_finish() waits for it, validates the names, sends A (IPv4
 *	client) or AAAA (IPv6 client) queries for at most max_names of them
 *	at once, and collects them all before it decides, so a pass is found
 *	whichever name holds it. The outcome is kept: later calls return it.
 * THREADS
 *	A query belongs to one session; the resolver is shared.
 * OWNERSHIP
 *	The caller owns the query (iprev_free); the query owns its DNS
 *	queries and results.
 * ERRORS
 *	DNS failures are temperror; out of memory is -1 with temperror.
 */
#include <ctype.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sys/socket.h>

#include "lists/domain.h"
#include "milter/iprev.h"
#include "milter/log.h"

#define IPREV_DEFAULT_NAMES 10 /* RFC 7208 4.6.4 uses 10 for ptr */
#define IPREV_MAX_NAMES 32     /* hard cap whatever is configured */

struct iprev_query {
	struct dns_resolver *r;	      /* the resolver */
	struct cidr_addr addr;	      /* the client */
	struct dns_query *ptr;	      /* PTR query, NULL if none was sent */
	char ptr_name[80];	      /* the reverse name, for logs */
	bool done;		      /* outcome is final */
	int rc;			      /* what iprev_finish returned */
	struct iprev_outcome outcome; /* kept for later calls */
};

/* iprev_set - fill an outcome */
static void
iprev_set(struct iprev_outcome *out, enum result_code result, const char *name,
    const char *reason)
{
	out->result = result;
	snprintf(out->name, sizeof(out->name), "%s", name != NULL ? name : "");
	snprintf(out->reason, sizeof(out->reason), "%s", reason);
}

/* iprev_name_ok - is a PTR target a host name we may look up? */
static bool
iprev_name_ok(const char *name, size_t len)
{
	return domain_name_labels(name, len) >= 1;
}

/* iprev_holds - does a forward answer hold the client address? */
static bool
iprev_holds(const struct iprev_query *q, const struct dns_result *res)
{
	size_t i;

	if (res->status != DNS_OK)
		return false;
	for (i = 0; i < res->count; i++) {
		const struct dns_rr *rr = &res->rr[i];

		if (q->addr.family == AF_INET && rr->type == DNS_T_A &&
		    memcmp(&rr->a, q->addr.bytes, 4) == 0)
			return true;
		if (q->addr.family == AF_INET6 && rr->type == DNS_T_AAAA &&
		    memcmp(&rr->aaaa, q->addr.bytes, 16) == 0)
			return true;
	}
	return false;
}

/* iprev_start - send the PTR query for an address */
struct iprev_query *
iprev_start(struct dns_resolver *r, const struct cidr_addr *addr)
{
	struct iprev_query *q;

	if ((q = calloc(1, sizeof(*q))) == NULL)
		return NULL;
	q->r = r;
	q->addr = *addr;
	if ((addr->family != AF_INET && addr->family != AF_INET6) ||
	    dns_reverse_name(addr->family, addr->bytes, q->ptr_name,
		sizeof(q->ptr_name)) != 0) {
		/* Nothing to ask: iprev_finish reports it. */
		q->ptr_name[0] = '\0';
		return q;
	}
	if ((q->ptr = dns_query_start(r, q->ptr_name, DNS_T_PTR)) == NULL) {
		free(q);
		return NULL;
	}
	return q;
}

/* iprev_forward - forward-confirm the names of a PTR answer */
static int
iprev_forward(struct iprev_query *q, const struct timespec *deadline,
    const struct dns_result *ptr, unsigned max_names, struct iprev_outcome *out)
{
	struct dns_query *fq[IPREV_MAX_NAMES];
	const char *names[IPREV_MAX_NAMES];
	struct dns_result *res;
	uint16_t type = q->addr.family == AF_INET ? DNS_T_A : DNS_T_AAAA;
	size_t i, n = 0, bad = 0;
	const char *confirmed = NULL, *tempname = NULL;
	char why[96] = "";
	int rc = 0;

	if (max_names == 0)
		max_names = IPREV_DEFAULT_NAMES;
	if (max_names > IPREV_MAX_NAMES)
		max_names = IPREV_MAX_NAMES;
	for (i = 0; i < ptr->count && n < max_names; i++) {
		const struct dns_rr *rr = &ptr->rr[i];

		if (rr->type != DNS_T_PTR)
			continue;
		if (!iprev_name_ok(rr->text, rr->len)) {
			bad++;
			continue;
		}
		names[n] = rr->text;
		/* All forward queries go out before we wait for any. */
		if ((fq[n] = dns_query_start(q->r, rr->text, type)) == NULL) {
			rc = -1;
			break;
		}
		n++;
	}
	if (rc != 0)
		goto out;
	if (n == 0) {
		iprev_set(out, RESULT_PERMERROR, NULL,
		    bad > 0 ? "PTR names are not host names" : "no PTR name");
		goto out;
	}
	for (i = 0; i < n; i++) {
		res = NULL;
		if (dns_query_wait(fq[i], deadline, &res) != 0) {
			rc = -1;
			goto out;
		}
		log_debug(LOG_SUB_IPREV, "iprev: %s %s: %s",
		    type == DNS_T_A ? "A" : "AAAA", names[i],
		    dns_status_name(res->status));
		if (confirmed == NULL && iprev_holds(q, res))
			confirmed = names[i];
		if (res->status == DNS_TEMPFAIL && tempname == NULL) {
			tempname = names[i];
			snprintf(why, sizeof(why), "%.60s: %.30s", names[i],
			    res->why[0] != '\0' ? res->why : "tempfail");
		}
		dns_result_free(&res);
		/* Once confirmed, the rest need not be waited for. */
		if (confirmed != NULL)
			break;
	}
	if (confirmed != NULL) {
		iprev_set(out, RESULT_PASS, confirmed, "forward confirmed");
	} else if (tempname != NULL) {
		/* A name that failed temporarily could still confirm. */
		char reason[128];

		snprintf(
		    reason, sizeof(reason), "forward lookup failed: %s", why);
		iprev_set(out, RESULT_TEMPERROR, names[0], reason);
	} else {
		iprev_set(out, RESULT_FAIL, names[0],
		    "no PTR name maps back to the address");
	}
out:
	for (i = 0; i < n; i++)
		dns_query_free(&fq[i]);
	return rc;
}

/* iprev_finish - wait for the answers and decide */
int
iprev_finish(struct iprev_query *q, const struct timespec *deadline,
    unsigned max_names, struct iprev_outcome *out)
{
	struct dns_result *res = NULL;
	char reason[128];
	int rc = 0;

	if (q->done) {
		*out = q->outcome;
		return q->rc;
	}
	memset(out, 0, sizeof(*out));
	if (q->ptr == NULL) {
		iprev_set(out, RESULT_PERMERROR, NULL, "not an IP address");
		goto done;
	}
	if (dns_query_wait(q->ptr, deadline, &res) != 0) {
		rc = -1;
		goto fail;
	}
	log_debug(LOG_SUB_IPREV, "iprev: PTR %s: %s (%zu)", q->ptr_name,
	    dns_status_name(res->status), res->count);
	switch (res->status) {
	case DNS_OK:
		if (iprev_forward(q, deadline, res, max_names, out) != 0) {
			rc = -1;
			goto fail;
		}
		break;
	case DNS_NXDOMAIN:
	case DNS_NODATA:
		iprev_set(out, RESULT_FAIL, NULL, "no PTR record");
		break;
	case DNS_BADNAME:
		iprev_set(out, RESULT_PERMERROR, NULL, "bad reverse name");
		break;
	case DNS_TEMPFAIL:
	default:
		snprintf(reason, sizeof(reason), "PTR lookup failed: %.80s",
		    res->why[0] != '\0' ? res->why : "tempfail");
		iprev_set(out, RESULT_TEMPERROR, NULL, reason);
		break;
	}
	goto done;

fail:
	iprev_set(out, RESULT_TEMPERROR, NULL, "out of memory");
done:
	dns_result_free(&res);
	q->done = true;
	q->rc = rc;
	q->outcome = *out;
	return rc;
}

/* iprev_free - free a query, finished or not */
void
iprev_free(struct iprev_query **q)
{
	if (q == NULL || *q == NULL)
		return;
	dns_query_free(&(*q)->ptr);
	free(*q);
	*q = NULL;
}
