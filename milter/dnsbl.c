/*
 * NAME
 *	dnsbl - DNSBL and RHSBL lookups (RFC 5782)
 * SUMMARY
 *	Query name, A (and TXT) queries at start, one result at finish.
 * DESCRIPTION
 *	See dnsbl.h. dnsbl_start() builds the name and sends the queries;
 *	dnsbl_finish() waits for the A answer, classifies every code
 *	through the zone's map, and, for a listing, waits for the TXT
 *	answer sent alongside. The result is kept: later calls return it.
 * THREADS
 *	A query belongs to one session; the resolver is shared.
 * OWNERSHIP
 *	The caller owns the query (dnsbl_free); the query owns its DNS
 *	queries and borrows the zone.
 * ERRORS
 *	DNS failures are temperror; out of memory is -1 with temperror.
 */
#include <ctype.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <arpa/inet.h>
#include <sys/socket.h>

#include "lists/cidr.h"
#include "lists/domain.h"
#include "milter/dnsbl.h"
#include "milter/log.h"

#define DNSBL_NAME_MAX 253	      /* octets of a name, no root dot */
#define DNSBL_MAX_CODES 64	      /* A records looked at */
#define DNSBL_REFUSED_NET 0x7fffff00u /* NULL map: 127.255.255.0/24 */

struct dnsbl_query {
	const struct dnsbl_zone *z;	/* borrowed from the config */
	struct dns_query *a;		/* A query, NULL if none sent */
	struct dns_query *txt;		/* TXT query, NULL if none sent */
	const char *skip_why;		/* why nothing was sent */
	char qname[DNSBL_NAME_MAX + 1]; /* name asked */
	struct timespec limit;		/* start + zone timeout */
	bool has_limit;			/* zone timeout set */
	bool done;			/* result is final */
	int rc;				/* what dnsbl_finish returned */
	struct dnsbl_result result;	/* kept for later calls */
};

/* dnsbl_query_name - the name a zone is asked for a value */
int
dnsbl_query_name(const char *zone, enum dnsbl_subject subject,
    const char *value, char *buf, size_t size, const char **why_r)
{
	static const char hex[] = "0123456789abcdef";
	struct cidr_addr addr;
	char head[DNSBL_NAME_MAX + 2];
	size_t zlen, vlen, o = 0, i;
	int n;

	*why_r = "";
	if (zone == NULL || (zlen = strlen(zone)) == 0) {
		*why_r = "no zone";
		return -1;
	}
	if (zone[zlen - 1] == '.')
		zlen--;
	if (domain_name_labels(zone, zlen) < 1) {
		*why_r = "zone is not a domain name";
		return -1;
	}
	if (value == NULL || value[0] == '\0') {
		*why_r = "nothing to ask";
		return -1;
	}
	if (subject == DNSBL_CLIENT_IP) {
		if (cidr_addr_parse(value, &addr) != 0) {
			*why_r = "not an IP address";
			return -1;
		}
		if (addr.family == AF_INET) {
			/* RFC 5782 2.1: octets in reverse order */
			n = snprintf(head, sizeof(head), "%u.%u.%u.%u",
			    addr.bytes[3], addr.bytes[2], addr.bytes[1],
			    addr.bytes[0]);
			o = (size_t)n;
		} else {
			/* RFC 5782 2.4: 32 nibbles, least significant
			   first, as in ip6.arpa */
			for (i = 16; i-- > 0;) {
				head[o++] = hex[addr.bytes[i] & 15];
				head[o++] = '.';
				head[o++] = hex[addr.bytes[i] >> 4];
				head[o++] = '.';
			}
			o--; /* the last dot */
			head[o] = '\0';
		}
	} else {
		vlen = strlen(value);
		if (vlen > 0 && value[vlen - 1] == '.')
			vlen--;
		/* RFC 5782 3: host names only (an address literal is
		   not asked); single labels are, for the RFC 5782 5 test
		   entries "test" and "invalid". */
		if (vlen == 0 || vlen > DNSBL_NAME_MAX ||
		    value[vlen - 1] == '.' ||
		    domain_name_labels(value, vlen) < 1) {
			*why_r = "not a domain name";
			return -1;
		}
		for (i = 0; i < vlen; i++)
			head[i] = (char)tolower((unsigned char)value[i]);
		head[vlen] = '\0';
		o = vlen;
	}
	if (o + 1 + zlen > DNSBL_NAME_MAX) {
		*why_r = "query name over 253 octets";
		return -1;
	}
	if (o + 1 + zlen + 1 > size) {
		*why_r = "buffer too small";
		return -1;
	}
	memcpy(buf, head, o);
	buf[o] = '.';
	for (i = 0; i < zlen; i++)
		buf[o + 1 + i] = (char)tolower((unsigned char)zone[i]);
	buf[o + 1 + zlen] = '\0';
	return 0;
}

/* dnsbl_start - send the query for a value; returns at once */
struct dnsbl_query *
dnsbl_start(
    struct dns_resolver *r, const struct dnsbl_zone *z, const char *value)
{
	struct dnsbl_query *q;

	if ((q = calloc(1, sizeof(*q))) == NULL)
		return NULL;
	q->z = z;
	if (z->timeout_ms > 0) {
		dns_deadline(&q->limit, z->timeout_ms);
		q->has_limit = true;
	}
	if (dnsbl_query_name(z->zone, z->subject, value, q->qname,
		sizeof(q->qname), &q->skip_why) != 0) {
		/* Nothing to ask: dnsbl_finish reports it. */
		q->qname[0] = '\0';
		return q;
	}
	if ((q->a = dns_query_start(r, q->qname, DNS_T_A)) == NULL)
		goto fail;
	/* TXT alongside: a listing then costs no second round trip. */
	if (z->want_txt &&
	    (q->txt = dns_query_start(r, q->qname, DNS_T_TXT)) == NULL)
		goto fail;
	return q;

fail:
	dnsbl_free(&q);
	return NULL;
}

/* dnsbl_code_cmp - qsort order of codes */
static int
dnsbl_code_cmp(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

/* dnsbl_classify - one code through the zone's map (NULL: built-in) */
static enum dnsbl_code_class
dnsbl_classify(const struct dnsbl_zone *z, uint32_t code,
    const struct dnsbl_map_row **row_r)
{
	if (z->map != NULL)
		return dnsbl_map_classify(z->map, code, row_r);
	*row_r = NULL;
	if ((code >> 24) != 127)
		return DNSBL_CODE_NOT_LOOPBACK;
	if ((code & 0xffffff00u) == DNSBL_REFUSED_NET)
		return DNSBL_CODE_REFUSED;
	return DNSBL_CODE_LISTED;
}

/* dnsbl_earlier - the earlier of two deadlines (either may be NULL) */
static const struct timespec *
dnsbl_earlier(const struct timespec *a, const struct timespec *b)
{
	if (a == NULL)
		return b;
	if (b == NULL)
		return a;
	if (a->tv_sec != b->tv_sec)
		return a->tv_sec < b->tv_sec ? a : b;
	return a->tv_nsec <= b->tv_nsec ? a : b;
}

/* dnsbl_codes_text - sorted codes, comma-separated, cut with "..." */
static void
dnsbl_codes_text(const uint32_t *codes, size_t n, char *buf, size_t size)
{
	char one[16];
	size_t o = 0, len, i;

	buf[0] = '\0';
	for (i = 0; i < n; i++) {
		dnsbl_map_code_text(codes[i], one, sizeof(one));
		len = strlen(one) + (i > 0 ? 1 : 0);
		if (o + len + 4 > size) {
			/* room for "..." is kept by the test above */
			memcpy(buf + o, "...", 4);
			return;
		}
		snprintf(buf + o, size - o, "%s%s", i > 0 ? "," : "", one);
		o += len;
	}
}

/* dnsbl_txt - the first TXT record, printable ASCII, capped */
static void
dnsbl_txt(struct dnsbl_query *q, const struct timespec *until,
    struct dnsbl_result *out)
{
	struct dns_result *res = NULL;
	const struct dns_rr *rr = NULL;
	size_t i, n;

	if (q->txt == NULL || dns_query_wait(q->txt, until, &res) != 0)
		return;
	for (i = 0; i < res->count && rr == NULL; i++)
		if (res->rr[i].type == DNS_T_TXT && res->rr[i].text != NULL)
			rr = &res->rr[i];
	if (res->status == DNS_OK && rr != NULL) {
		n = rr->len < DNSBL_TXT_MAX ? rr->len : DNSBL_TXT_MAX;
		for (i = 0; i < n; i++) {
			unsigned char c = (unsigned char)rr->text[i];

			out->txt[i] = c >= 0x20 && c <= 0x7e ? (char)c : '?';
		}
		out->txt[n] = '\0';
		if (rr->len > DNSBL_TXT_MAX)
			memcpy(out->txt + DNSBL_TXT_MAX - 3, "...", 4);
	}
	log_debug(LOG_SUB_DNS, "dnsbl TXT name=%s status=%s", q->qname,
	    dns_status_name(res->status));
	dns_result_free(&res);
}

/* dnsbl_answer - decide from the codes of an A answer */
static void
dnsbl_answer(struct dnsbl_query *q, const struct dns_result *res,
    const struct timespec *until, struct dnsbl_result *out)
{
	const struct dnsbl_map_row *row, *best = NULL;
	uint32_t codes[DNSBL_MAX_CODES];
	size_t i, n = 0;
	bool listed = false;
	int refused = -1, outside = -1;
	char code[16];

	for (i = 0; i < res->count && n < DNSBL_MAX_CODES; i++)
		if (res->rr[i].type == DNS_T_A)
			codes[n++] = ntohl(res->rr[i].a.s_addr);
	/* Sorted: the same answer reads the same whatever the order. */
	qsort(codes, n, sizeof(codes[0]), dnsbl_code_cmp);
	dnsbl_codes_text(codes, n, out->codes, sizeof(out->codes));
	for (i = 0; i < n; i++) {
		switch (dnsbl_classify(q->z, codes[i], &row)) {
		case DNSBL_CODE_LISTED:
			if (!listed) {
				dnsbl_map_code_text(
				    codes[i], out->code, sizeof(out->code));
				out->action = ACTION_TAG; /* NULL map */
				out->score = 0;
				snprintf(out->meaning, sizeof(out->meaning),
				    "listed");
			}
			if (row != NULL) {
				if (best == NULL || row->action > best->action)
					best = row;
				if (!listed || row->score > out->score)
					out->score = row->score;
			}
			listed = true;
			break;
		case DNSBL_CODE_REFUSED:
			if (refused < 0)
				refused = (int)i;
			break;
		case DNSBL_CODE_NOT_LOOPBACK:
			if (outside < 0)
				outside = (int)i;
			break;
		case DNSBL_CODE_UNMATCHED:
			break;
		}
	}
	if (listed) {
		out->status = DNSBL_LISTED;
		if (best != NULL) {
			out->row = best;
			out->action = best->action;
			snprintf(out->meaning, sizeof(out->meaning), "%s",
			    best->meaning);
		}
		dnsbl_txt(q, until, out);
		return;
	}
	if (refused >= 0) {
		out->status = DNSBL_REFUSED;
		snprintf(out->reason, sizeof(out->reason),
		    "refused code %s: the list refuses this resolver",
		    dnsbl_map_code_text(codes[refused], code, sizeof(code)));
		log_msg(LOG_WARNING,
		    "dnsbl zone=%s name=%s code=%s: query refused by the list "
		    "(public resolver or over quota?), treated as not listed",
		    q->z->zone, q->qname, code);
		return;
	}
	out->status = DNSBL_NOT_LISTED;
	if (outside >= 0) {
		snprintf(out->reason, sizeof(out->reason),
		    "answer %s outside 127.0.0.0/8 (RFC 5782 2.3)",
		    dnsbl_map_code_text(codes[outside], code, sizeof(code)));
		log_msg(LOG_WARNING,
		    "dnsbl zone=%s name=%s code=%s: answer outside "
		    "127.0.0.0/8, wildcarding or broken zone? treated as not "
		    "listed",
		    q->z->zone, q->qname, code);
	} else {
		snprintf(out->reason, sizeof(out->reason),
		    "code %s not in the map", n > 0 ? out->codes : "none");
	}
}

/* dnsbl_finish - wait for the answer and say what it means */
int
dnsbl_finish(struct dnsbl_query *q, const struct timespec *deadline,
    struct dnsbl_result *out)
{
	struct dns_result *res = NULL;
	const struct timespec *until;
	char why[96];
	int rc = 0;

	if (q->done) {
		*out = q->result;
		return q->rc;
	}
	memset(out, 0, sizeof(*out));
	snprintf(out->qname, sizeof(out->qname), "%s", q->qname);
	if (q->a == NULL) {
		out->status = DNSBL_NOT_LISTED;
		snprintf(out->reason, sizeof(out->reason), "%s", q->skip_why);
		goto done;
	}
	until = dnsbl_earlier(deadline, q->has_limit ? &q->limit : NULL);
	if (dns_query_wait(q->a, until, &res) != 0) {
		rc = -1;
		goto fail;
	}
	switch (res->status) {
	case DNS_OK:
		dnsbl_answer(q, res, until, out);
		break;
	case DNS_NXDOMAIN:
	case DNS_NODATA:
		out->status = DNSBL_NOT_LISTED;
		snprintf(out->reason, sizeof(out->reason), "%s",
		    dns_status_name(res->status));
		break;
	case DNS_BADNAME:
		out->status = DNSBL_NOT_LISTED;
		snprintf(out->reason, sizeof(out->reason), "bad name: %.100s",
		    res->why);
		break;
	case DNS_TEMPFAIL:
	default:
		out->status = DNSBL_TEMPERROR;
		if (until != NULL && until == &q->limit &&
		    strcmp(res->why, "deadline") == 0)
			snprintf(out->reason, sizeof(out->reason),
			    "zone timeout (%u ms)", q->z->timeout_ms);
		else
			snprintf(out->reason, sizeof(out->reason),
			    "DNS error: %.100s",
			    res->why[0] != '\0' ? res->why : "tempfail");
		break;
	}
	goto done;

fail:
	out->status = DNSBL_TEMPERROR;
	snprintf(out->reason, sizeof(out->reason), "out of memory");
done:
	if (log_debug_on(LOG_SUB_DNS))
		log_debug(LOG_SUB_DNS,
		    "dnsbl zone=%s name=%s status=%s codes=%s reason=\"%s\"",
		    q->z->zone, q->qname[0] != '\0' ? q->qname : "-",
		    dnsbl_status_name(out->status),
		    out->codes[0] != '\0' ? out->codes : "-",
		    log_escape(out->reason, why, sizeof(why)));
	dns_result_free(&res);
	q->done = true;
	q->rc = rc;
	q->result = *out;
	return rc;
}

/* dnsbl_free - free a query, finished or not */
void
dnsbl_free(struct dnsbl_query **q)
{
	if (q == NULL || *q == NULL)
		return;
	dns_query_free(&(*q)->a);
	dns_query_free(&(*q)->txt);
	free(*q);
	*q = NULL;
}

/* dnsbl_status_name - the word for a status */
const char *
dnsbl_status_name(enum dnsbl_status status)
{
	switch (status) {
	case DNSBL_NOT_LISTED:
		return "not_listed";
	case DNSBL_LISTED:
		return "listed";
	case DNSBL_REFUSED:
		return "refused";
	case DNSBL_TEMPERROR:
		return "temperror";
	}
	return "temperror";
}
