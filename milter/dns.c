/*
 * NAME
 *	dns - the one resolver and cache every check goes through
 * SUMMARY
 *	A pool of worker threads asking configured nameservers through
 *	libldns, answers decoded into struct dns_result and kept in the
 *	shared cache (dns_cache.c).
 * DESCRIPTION
 *	See dns.h for the interface. dns_query_start() checks the name,
 *	then the cache, and otherwise queues the question; a worker takes
 *	it, asks each server in turn (one ldns_resolver per server, so
 *	each may have its own port) for 1 + retries rounds, decodes the
 *	first usable reply, follows CNAME chains (inside the answer, and
 *	with a new question when the chain leaves it), stores the result
 *	in the cache and wakes the waiters.
 *
 *	Each attempt is one ldns_resolver_send_pkt(): one UDP question
 *	with EDNS0 (1232 octets), and on a TC reply (ldns fallback) the
 *	same over TCP; a FORMERR reply to EDNS0 is asked again without it
 *	(RFC 6891 7). A reply is used only when its id, QR bit, opcode and
 *	question match what we sent; RCODE NOERROR or NXDOMAIN. Any other
 *	reply, no reply, or an unparseable one moves on to the next server.
 *	An answer section over max_answer_records fails at once.
 *
 *	Debug lines print checked names as they are (they hold no control
 *	bytes) and escape everything else that came from outside.
 *
 *	Names: questions must be 1..253 octets of labels 1..63 octets long,
 *	each byte 0x21..0x7e except '\\' (so that a name never depends on
 *	presentation-format escapes); a trailing dot is dropped; they are
 *	lower-cased. Names in answers are lower-cased, bytes outside that
 *	set (and '.' inside a label) written as \DDD, and the root is ".".
 *
 *	TTLs: positive results live for the smallest TTL of the records
 *	and CNAME links used; negative ones (RFC 2308 5) for the smallest
 *	of the links, the SOA TTL and the SOA MINIMUM from the authority
 *	section; a negative answer without SOA gets TTL 0 and is not
 *	cached. TTLs with the top bit set count as 0 (RFC 2181 8). The
 *	cache caps them at cache_max_ttl; results read from the cache
 *	carry the time left.
 * THREADS
 *	Locks: r->qlock (the work queue) and each query's q->lock; never
 *	both at once. The cache has its own per-shard locks, taken with
 *	neither held. No lock is held across a network wait. Each worker
 *	owns its ldns resolvers; workers run with every signal blocked, so
 *	a TCP write to a closed peer cannot raise SIGPIPE in the daemon.
 * OWNERSHIP
 *	A query has two references while queued or running: the caller's
 *	(dns_query_free) and the worker's (dropped when it finishes).
 *	Results handed out are copies owned by the caller.
 * ERRORS
 *	Configuration errors come back from dns_resolver_create() through
 *	error_r. Every run-time failure becomes a DNS_TEMPFAIL result with
 *	a reason in why; nothing is logged but debug lines. A failed
 *	pthread call is a broken invariant and aborts.
 */
#include <sys/socket.h>

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ldns/ldns.h>

#include "lists/text.h"
#include "milter/dns.h"
#include "milter/dns_cache.h"
#include "milter/log.h"

#define DNS_MAX_CNAME 8		    /* CNAME links followed in all */
#define DNS_NAME_MAX 253	    /* octets of a name as text */
#define DNS_LABEL_MAX 63	    /* octets of a label */
#define DNS_TEXT_MAX 1024	    /* a wire name as text, \DDD escaped */
#define DNS_DEFAULT_WORKERS 4	    /* when opts->workers is 0 */
#define DNS_DEFAULT_TIMEOUT_MS 2000 /* when opts->timeout_ms is 0 */
#define DNS_DEFAULT_MAX_ANSWER 100  /* when opts->max_answer_records is 0 */
#define DNS_MAX_WORKERS 256	    /* sanity bound on opts->workers */
#define DNS_TTL_MAX 0x7fffffffu	    /* RFC 2181 8: larger counts as 0 */
#define DNS_LOG_NAME 300	    /* escaped name in a debug line */
#define DNS_EDNS_SIZE 1232	    /* EDNS0 UDP size (DNS flag day 2020) */

struct dns_server {
	struct sockaddr_storage ss;	  /* address and port */
	char label[INET6_ADDRSTRLEN + 8]; /* "ADDR@PORT", for logs and why */
};

struct dns_worker {
	struct dns_resolver *r; /* the resolver it serves */
	pthread_t thread;	/* its thread */
	bool started;		/* thread is running */
	ldns_resolver **lres;	/* one per server, owned by this worker */
};

struct dns_resolver {
	struct dns_options opts;    /* copy; servers not kept */
	struct dns_server *servers; /* nservers of them, in order */
	size_t nservers;	    /* at least one */
	struct dns_cache *cache;    /* NULL: cache_size 0 */
	struct dns_worker *workers; /* nworkers of them */
	size_t nworkers;	    /* threads started or to start */
	bool locks_ok;		    /* qlock and qcond initialized */
	pthread_mutex_t qlock;	    /* guards the queue and stopping */
	pthread_cond_t qcond;	    /* work queued, or stopping */
	struct dns_query *qhead;    /* next query to work on */
	struct dns_query *qtail;    /* last query queued */
	bool stopping;		    /* dns_resolver_free() has begun */
	atomic_ulong queries;	    /* dns_query_start() calls */
	atomic_ulong cache_hits;    /* answered from the cache at start */
	atomic_ulong sent;	    /* questions handed to ldns */
	atomic_ulong tempfail;	    /* TEMPFAIL results */
};

struct dns_query {
	struct dns_resolver *r;	     /* owner */
	pthread_mutex_t lock;	     /* guards refs, done, res, counted */
	pthread_cond_t cond;	     /* done; CLOCK_MONOTONIC */
	unsigned refs;		     /* caller + worker */
	bool done;		     /* res is final */
	bool counted;		     /* deadline TEMPFAIL counted */
	atomic_bool abandoned;	     /* caller freed it */
	char name[DNS_NAME_MAX + 1]; /* checked, lower case */
	uint16_t type;		     /* DNS_T_* */
	struct dns_result *res;	     /* when done; NULL out of memory */
	struct dns_query *next;	     /* queue link, under r->qlock */
};

/* The names followed so far, for loop detection and the chain TTL. */
struct dns_chain {
	char names[DNS_MAX_CNAME + 1][DNS_NAME_MAX + 1]; /* [0]: the question */
	size_t n;					 /* names in use */
	uint32_t ttl; /* smallest TTL of the links (UINT32_MAX: none) */
};

/* dns_lock - lock a mutex; failure is a broken invariant */
static void
dns_lock(pthread_mutex_t *m)
{
	if (pthread_mutex_lock(m) != 0)
		abort();
}

/* dns_unlock - unlock a mutex */
static void
dns_unlock(pthread_mutex_t *m)
{
	if (pthread_mutex_unlock(m) != 0)
		abort();
}

/* dns_now - seconds on the monotonic clock, for the cache */
static time_t
dns_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec;
}

/* dns_ttl - a wire TTL as we use it (RFC 2181 8) */
static uint32_t
dns_ttl(uint32_t ttl)
{
	return ttl > DNS_TTL_MAX ? 0 : ttl;
}

/* dns_result_new - an empty result for a question */
static struct dns_result *
dns_result_new(const char *qname, uint16_t type)
{
	struct dns_result *res;

	if ((res = calloc(1, sizeof(*res))) == NULL)
		return NULL;
	if ((res->qname = strdup(qname)) == NULL) {
		free(res);
		return NULL;
	}
	res->qtype = type;
	res->status = DNS_TEMPFAIL;
	return res;
}

/* dns_result_clear - drop the records of a result */
static void
dns_result_clear(struct dns_result *res)
{
	size_t i;

	for (i = 0; i < res->count; i++)
		free(res->rr[i].text);
	free(res->rr);
	res->rr = NULL;
	res->count = 0;
}

/* dns_result_fail - make a result a TEMPFAIL or BADNAME, with why */
static void dns_result_fail(struct dns_result *, enum dns_status, const char *,
    ...) __attribute__((format(printf, 3, 4)));
static void
dns_result_fail(
    struct dns_result *res, enum dns_status status, const char *fmt, ...)
{
	va_list ap;

	dns_result_clear(res);
	res->status = status;
	res->ttl = 0;
	va_start(ap, fmt);
	vsnprintf(res->why, sizeof(res->why), fmt, ap);
	va_end(ap);
}

/* dns_result_add - append a record (takes rr->text) */
static int
dns_result_add(struct dns_result *res, struct dns_rr *rr)
{
	struct dns_rr *n;

	if ((n = reallocarray(res->rr, res->count + 1, sizeof(*n))) == NULL)
		return -1;
	res->rr = n;
	res->rr[res->count++] = *rr;
	return 0;
}

/* dns_result_free - free a result and set *res to NULL */
void
dns_result_free(struct dns_result **res)
{
	if (res == NULL || *res == NULL)
		return;
	dns_result_clear(*res);
	free((*res)->qname);
	free(*res);
	*res = NULL;
}

/* dns_status_name - the status as a word for logs */
const char *
dns_status_name(enum dns_status status)
{
	switch (status) {
	case DNS_OK:
		return "ok";
	case DNS_NXDOMAIN:
		return "nxdomain";
	case DNS_NODATA:
		return "nodata";
	case DNS_TEMPFAIL:
		return "tempfail";
	case DNS_BADNAME:
		return "badname";
	}
	return "unknown";
}

/*
 * dns_name_check - check a question name and make it canonical
 *	in: the name as given (NULL is an empty name)
 *	out: DNS_NAME_MAX + 1 bytes: lower case, no trailing dot
 *	why: on failure, the reason
 * Returns 0, or -1 if the name may not be asked.
 */
static int
dns_name_check(const char *in, char *out, char *why, size_t whysize)
{
	size_t len, i, label = 0;
	unsigned char c;

	if (in == NULL)
		in = "";
	len = strnlen(in, DNS_NAME_MAX + 2);
	if (len > 0 && in[len - 1] == '.')
		len--;
	if (len == 0) {
		snprintf(why, whysize, "empty name");
		return -1;
	}
	if (len > DNS_NAME_MAX) {
		snprintf(why, whysize, "name over %d octets", DNS_NAME_MAX);
		return -1;
	}
	for (i = 0; i < len; i++) {
		c = (unsigned char)in[i];
		if (c == '.') {
			if (label == 0) {
				snprintf(why, whysize, "empty label");
				return -1;
			}
			label = 0;
		} else if (c < 0x21 || c > 0x7e || c == '\\') {
			snprintf(why, whysize, "byte 0x%02x not allowed", c);
			return -1;
		} else if (++label > DNS_LABEL_MAX) {
			snprintf(why, whysize, "label over %d octets",
			    DNS_LABEL_MAX);
			return -1;
		}
		out[i] = (char)tolower(c);
	}
	if (label == 0) {
		/* "a.." had its last dot dropped: the last label is empty */
		snprintf(why, whysize, "empty label");
		return -1;
	}
	out[len] = '\0';
	return 0;
}

/* dns_name_rdf - a checked name in wire form (caller frees) */
static ldns_rdf *
dns_name_rdf(const char *name)
{
	uint8_t wire[DNS_NAME_MAX + 2];
	size_t o = 0, len;
	const char *p = name, *dot;

	for (;;) {
		dot = strchr(p, '.');
		len = dot != NULL ? (size_t)(dot - p) : strlen(p);
		wire[o++] = (uint8_t)len;
		memcpy(wire + o, p, len);
		o += len;
		if (dot == NULL)
			break;
		p = dot + 1;
	}
	wire[o++] = 0;
	return ldns_rdf_new_frm_data(LDNS_RDF_TYPE_DNAME, o, wire);
}

/*
 * dns_dname_text - a name from a reply as text
 *	rdf: a DNAME rdf (untrusted: every length is checked)
 *	buf: DNS_TEXT_MAX bytes
 * Returns 0, or -1 if the rdf is not a well-formed name.
 */
static int
dns_dname_text(const ldns_rdf *rdf, char *buf)
{
	const uint8_t *d;
	size_t len, pos = 0, o = 0, i;
	uint8_t l = 0, c;

	if (rdf == NULL || ldns_rdf_get_type(rdf) != LDNS_RDF_TYPE_DNAME)
		return -1;
	d = ldns_rdf_data(rdf);
	len = ldns_rdf_size(rdf);
	if (d == NULL || len < 1 || len > 255)
		return -1;
	if (len == 1 && d[0] == 0) {
		strcpy(buf, ".");
		return 0;
	}
	while (pos < len) {
		l = d[pos++];
		if (l == 0)
			break;
		if (l > DNS_LABEL_MAX || pos + l > len)
			return -1;
		if (o > 0)
			buf[o++] = '.';
		for (i = 0; i < l; i++) {
			c = (uint8_t)tolower(d[pos + i]);
			if (o + 5 >= DNS_TEXT_MAX)
				return -1;
			if (c < 0x21 || c > 0x7e || c == '.' || c == '\\')
				o += (size_t)snprintf(
				    buf + o, DNS_TEXT_MAX - o, "\\%03u", c);
			else
				buf[o++] = (char)c;
		}
		pos += l;
	}
	if (l != 0 || pos != len)
		return -1;
	buf[o] = '\0';
	return 0;
}

/* dns_owner_is - does a record's owner equal a (canonical) name? */
static bool
dns_owner_is(const ldns_rr *rr, const char *name)
{
	char text[DNS_TEXT_MAX];

	if (dns_dname_text(ldns_rr_owner(rr), text) == -1)
		return false;
	return strcmp(text, name) == 0;
}

/* dns_parse_server - "ADDR" or "ADDR@PORT" into a server */
static int
dns_parse_server(const char *spec, struct dns_server *srv, char **error_r)
{
	char addr[INET6_ADDRSTRLEN], esc[128], *end;
	const char *at;
	struct sockaddr_in *sin = (struct sockaddr_in *)&srv->ss;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&srv->ss;
	unsigned long port = 53;
	size_t alen;

	if (spec == NULL)
		spec = "";
	at = strrchr(spec, '@');
	alen = at != NULL ? (size_t)(at - spec) : strlen(spec);
	if (alen == 0 || alen >= sizeof(addr))
		goto bad_addr;
	memcpy(addr, spec, alen);
	addr[alen] = '\0';
	if (at != NULL) {
		if (!isdigit((unsigned char)at[1]))
			goto bad_port;
		errno = 0;
		port = strtoul(at + 1, &end, 10);
		if (errno != 0 || *end != '\0' || port == 0 || port > 65535)
			goto bad_port;
	}
	memset(&srv->ss, 0, sizeof(srv->ss));
	if (inet_pton(AF_INET, addr, &sin->sin_addr) == 1) {
		sin->sin_family = AF_INET;
		sin->sin_port = htons((uint16_t)port);
	} else if (inet_pton(AF_INET6, addr, &sin6->sin6_addr) == 1) {
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons((uint16_t)port);
	} else {
		goto bad_addr;
	}
	snprintf(srv->label, sizeof(srv->label), "%s@%lu", addr, port);
	return 0;
bad_addr:
	text_error(error_r, "dns_nameservers: %s: not an address",
	    log_escape(spec, esc, sizeof(esc)));
	return -1;
bad_port:
	text_error(error_r, "dns_nameservers: %s: not a port (1-65535)",
	    log_escape(spec, esc, sizeof(esc)));
	return -1;
}

/* dns_servers_from_resolv_conf - the nameservers of /etc/resolv.conf */
static int
dns_servers_from_resolv_conf(struct dns_resolver *r, char **error_r)
{
	ldns_resolver *lr = NULL;
	ldns_rdf **ns;
	struct sockaddr_storage *ss;
	struct dns_server *srv;
	ldns_status st;
	size_t i, n, sslen;
	uint16_t port;
	char addr[INET6_ADDRSTRLEN];

	if ((st = ldns_resolver_new_frm_file(&lr, NULL)) != LDNS_STATUS_OK) {
		text_error(error_r,
		    "dns_nameservers: none set, and /etc/resolv.conf: %s",
		    ldns_get_errorstr_by_id(st));
		return -1;
	}
	n = ldns_resolver_nameserver_count(lr);
	ns = ldns_resolver_nameservers(lr);
	port = ldns_resolver_port(lr);
	if (n == 0) {
		text_error(error_r,
		    "dns_nameservers: none set, and none in "
		    "/etc/resolv.conf");
		goto fail;
	}
	if ((r->servers = calloc(n, sizeof(*r->servers))) == NULL) {
		text_error(error_r, "dns: out of memory");
		goto fail;
	}
	for (i = 0; i < n; i++) {
		srv = &r->servers[r->nservers];
		ss = ldns_rdf2native_sockaddr_storage(ns[i], port, &sslen);
		if (ss == NULL || sslen > sizeof(srv->ss)) {
			free(ss);
			continue;
		}
		memcpy(&srv->ss, ss, sslen);
		free(ss);
		if (srv->ss.ss_family == AF_INET)
			inet_ntop(AF_INET,
			    &((struct sockaddr_in *)&srv->ss)->sin_addr, addr,
			    sizeof(addr));
		else
			inet_ntop(AF_INET6,
			    &((struct sockaddr_in6 *)&srv->ss)->sin6_addr, addr,
			    sizeof(addr));
		snprintf(srv->label, sizeof(srv->label), "%s@%u", addr, port);
		r->nservers++;
	}
	if (r->nservers == 0) {
		text_error(error_r,
		    "dns_nameservers: none set, and no usable "
		    "one in /etc/resolv.conf");
		goto fail;
	}
	ldns_resolver_deep_free(lr);
	return 0;
fail:
	ldns_resolver_deep_free(lr);
	return -1;
}

/* dns_ldns_new - an ldns resolver for one server, one attempt a call */
static ldns_resolver *
dns_ldns_new(const struct dns_server *srv, unsigned timeout_ms)
{
	ldns_resolver *lr;
	ldns_rdf *ns;
	uint16_t port = 0;
	struct timeval tv;

	if ((lr = ldns_resolver_new()) == NULL)
		return NULL;
	if ((ns = ldns_sockaddr_storage2rdf(&srv->ss, &port)) == NULL)
		goto fail;
	if (ldns_resolver_push_nameserver(lr, ns) != LDNS_STATUS_OK) {
		ldns_rdf_deep_free(ns);
		goto fail;
	}
	ldns_rdf_deep_free(ns);
	ldns_resolver_set_port(lr, port);
	tv.tv_sec = timeout_ms / 1000;
	tv.tv_usec = (suseconds_t)(timeout_ms % 1000) * 1000;
	ldns_resolver_set_timeout(lr, tv);
	/* one UDP try per call: rounds and servers are ours to loop */
	ldns_resolver_set_retry(lr, 1);
	ldns_resolver_set_retrans(lr, 0);
	ldns_resolver_set_recursive(lr, true);
	ldns_resolver_set_fallback(lr, true);
	ldns_resolver_set_usevc(lr, false);
	ldns_resolver_set_igntc(lr, false);
	ldns_resolver_set_random(lr, false);
	ldns_resolver_set_fail(lr, false);
	ldns_resolver_set_defnames(lr, false);
	ldns_resolver_set_dnsrch(lr, false);
	ldns_resolver_set_dnssec(lr, false);
	ldns_resolver_set_dnssec_cd(lr, false);
	return lr;
fail:
	ldns_resolver_deep_free(lr);
	return NULL;
}

/* dns_rcode_name - an RCODE for why */
static const char *
dns_rcode_name(unsigned rcode, char *buf, size_t size)
{
	static const char *const names[] = { "NOERROR", "FORMERR", "SERVFAIL",
		"NXDOMAIN", "NOTIMP", "REFUSED" };

	if (rcode < sizeof(names) / sizeof(names[0]))
		return names[rcode];
	snprintf(buf, size, "RCODE %u", rcode);
	return buf;
}

/* dns_reply_matches - is a reply the answer to our question? */
static bool
dns_reply_matches(const ldns_pkt *qpkt, const ldns_pkt *reply, const char *name,
    uint16_t type)
{
	const ldns_rr_list *ql;
	const ldns_rr *qrr;

	if (!ldns_pkt_qr(reply) || ldns_pkt_id(reply) != ldns_pkt_id(qpkt) ||
	    ldns_pkt_get_opcode(reply) != LDNS_PACKET_QUERY)
		return false;
	ql = ldns_pkt_question(reply);
	if (ql == NULL || ldns_rr_list_rr_count(ql) != 1)
		return false;
	qrr = ldns_rr_list_rr(ql, 0);
	return ldns_rr_get_type(qrr) == type &&
	    ldns_rr_get_class(qrr) == LDNS_RR_CLASS_IN &&
	    dns_owner_is(qrr, name);
}

/*
 * dns_exchange - ask every server in turn, for 1 + retries rounds
 *	w: the worker (its ldns resolvers)
 *	q: the query (checked for abandonment between attempts)
 *	name, type: the question (name checked)
 *	reply_r: the reply (caller frees with ldns_pkt_free)
 *	res: on failure, made a TEMPFAIL with why
 * Returns 0, or -1.
 */
static int
dns_exchange(struct dns_worker *w, struct dns_query *q, const char *name,
    uint16_t type, ldns_pkt **reply_r, struct dns_result *res)
{
	struct dns_resolver *r = w->r;
	const struct dns_server *srv;
	ldns_pkt *qpkt = NULL, *reply = NULL;
	ldns_rdf *qname;
	ldns_status st;
	size_t i, ancount;
	unsigned round, rcode;
	bool edns;
	char why[sizeof(res->why)], rbuf[24];

	*reply_r = NULL;
	snprintf(why, sizeof(why), "no server");
	for (round = 0; round <= r->opts.retries; round++) {
		for (i = 0; i < r->nservers; i++) {
			srv = &r->servers[i];
			if (atomic_load(&q->abandoned)) {
				snprintf(why, sizeof(why), "abandoned");
				goto fail;
			}
			edns = true;
		again:
			if ((qname = dns_name_rdf(name)) == NULL)
				goto nomem;
			qpkt = ldns_pkt_query_new(qname, (ldns_rr_type)type,
			    LDNS_RR_CLASS_IN, LDNS_RD);
			if (qpkt == NULL)
				goto nomem;
			ldns_pkt_set_id(qpkt, (uint16_t)arc4random());
			if (edns)
				ldns_pkt_set_edns_udp_size(qpkt, DNS_EDNS_SIZE);
			/* ldns marks a server that failed once unreachable
			 * for good: it must be tried again every time */
			ldns_resolver_set_nameserver_rtt(
			    w->lres[i], 0, LDNS_RESOLV_RTT_MIN);
			atomic_fetch_add(&r->sent, 1);
			log_debug(LOG_SUB_DNS,
			    "dns send name=%s type=%u server=%s", name, type,
			    srv->label);
			reply = NULL;
			st = ldns_resolver_send_pkt(&reply, w->lres[i], qpkt);
			if (st != LDNS_STATUS_OK || reply == NULL) {
				if (st == LDNS_STATUS_MEM_ERR)
					snprintf(why, sizeof(why),
					    "%s: out of memory", srv->label);
				else if (st == LDNS_STATUS_NETWORK_ERR ||
				    st == LDNS_STATUS_SOCKET_ERROR ||
				    st == LDNS_STATUS_ERR ||
				    st == LDNS_STATUS_RES_NO_NS)
					snprintf(why, sizeof(why),
					    "%s: no reply", srv->label);
				else
					snprintf(why, sizeof(why),
					    "%s: malformed reply (%s)",
					    srv->label,
					    ldns_get_errorstr_by_id(st));
				goto next;
			}
			if (!dns_reply_matches(qpkt, reply, name, type)) {
				snprintf(why, sizeof(why),
				    "%s: reply does not match the question",
				    srv->label);
				goto next;
			}
			rcode = ldns_pkt_get_rcode(reply);
			if (rcode == LDNS_RCODE_FORMERR && edns) {
				/* RFC 6891 7: a server without EDNS0; ask it
				 * again without */
				edns = false;
				ldns_pkt_free(reply);
				reply = NULL;
				ldns_pkt_free(qpkt);
				qpkt = NULL;
				goto again;
			}
			if (rcode != LDNS_RCODE_NOERROR &&
			    rcode != LDNS_RCODE_NXDOMAIN) {
				snprintf(why, sizeof(why), "%s: %s", srv->label,
				    dns_rcode_name(rcode, rbuf, sizeof(rbuf)));
				goto next;
			}
			ancount = ldns_rr_list_rr_count(ldns_pkt_answer(reply));
			if (ancount > r->opts.max_answer_records) {
				/* the data, not the server: do not ask on */
				snprintf(why, sizeof(why),
				    "%s: answer has %zu records, over %u",
				    srv->label, ancount,
				    r->opts.max_answer_records);
				ldns_pkt_free(reply);
				ldns_pkt_free(qpkt);
				goto fail;
			}
			ldns_pkt_free(qpkt);
			*reply_r = reply;
			return 0;
		next:
			log_debug(LOG_SUB_DNS,
			    "dns fail name=%s type=%u why=\"%s\"", name, type,
			    why);
			ldns_pkt_free(reply);
			reply = NULL;
			ldns_pkt_free(qpkt);
			qpkt = NULL;
		}
	}
	goto fail;
nomem:
	snprintf(why, sizeof(why), "out of memory");
fail:
	dns_result_fail(res, DNS_TEMPFAIL, "%s", why);
	return -1;
}

/* dns_negative_ttl - RFC 2308 5: min(SOA TTL, SOA MINIMUM), 0 no SOA */
static uint32_t
dns_negative_ttl(const ldns_pkt *pkt)
{
	const ldns_rr_list *au = ldns_pkt_authority(pkt);
	const ldns_rr *rr;
	const ldns_rdf *min;
	const uint8_t *d;
	uint32_t ttl, best = 0;
	bool found = false;
	size_t i;

	for (i = 0; au != NULL && i < ldns_rr_list_rr_count(au); i++) {
		rr = ldns_rr_list_rr(au, i);
		if (ldns_rr_get_type(rr) != LDNS_RR_TYPE_SOA ||
		    ldns_rr_rd_count(rr) != 7)
			continue;
		min = ldns_rr_rdf(rr, 6);
		if (min == NULL || ldns_rdf_size(min) != 4)
			continue;
		d = ldns_rdf_data(min);
		ttl = (uint32_t)d[0] << 24 | (uint32_t)d[1] << 16 |
		    (uint32_t)d[2] << 8 | d[3];
		ttl = dns_ttl(ttl);
		if (dns_ttl(ldns_rr_ttl(rr)) < ttl)
			ttl = dns_ttl(ldns_rr_ttl(rr));
		if (!found || ttl < best)
			best = ttl;
		found = true;
	}
	return best;
}

/*
 * dns_decode_rr - append one record of the asked type to a result
 * Returns 0, or -1 (res made a TEMPFAIL: malformed, or out of memory).
 */
static int
dns_decode_rr(const ldns_rr *rr, uint16_t type, struct dns_result *res)
{
	struct dns_rr out;
	const ldns_rdf *f;
	const uint8_t *d;
	char text[DNS_TEXT_MAX], *p;
	size_t i, n = ldns_rr_rd_count(rr), total = 0;

	memset(&out, 0, sizeof(out));
	out.type = type;
	f = n > 0 ? ldns_rr_rdf(rr, 0) : NULL;
	switch (type) {
	case DNS_T_A:
		if (n != 1 || f == NULL || ldns_rdf_size(f) != 4)
			goto bad;
		memcpy(&out.a, ldns_rdf_data(f), 4);
		break;
	case DNS_T_AAAA:
		if (n != 1 || f == NULL || ldns_rdf_size(f) != 16)
			goto bad;
		memcpy(&out.aaaa, ldns_rdf_data(f), 16);
		break;
	case DNS_T_MX:
		if (n != 2 || f == NULL || ldns_rdf_size(f) != 2)
			goto bad;
		d = ldns_rdf_data(f);
		out.pref = (uint16_t)(d[0] << 8 | d[1]);
		f = ldns_rr_rdf(rr, 1);
		/* FALLTHROUGH */
	case DNS_T_PTR:
	case DNS_T_CNAME:
	case DNS_T_NS:
	case DNS_T_SOA: /* the MNAME */
		if (dns_dname_text(f, text) == -1)
			goto bad;
		out.len = strlen(text);
		if ((out.text = strdup(text)) == NULL)
			goto nomem;
		break;
	case DNS_T_TXT:
	case DNS_T_SPF:
		for (i = 0; i < n; i++) {
			f = ldns_rr_rdf(rr, i);
			if (f == NULL ||
			    ldns_rdf_get_type(f) != LDNS_RDF_TYPE_STR ||
			    ldns_rdf_size(f) < 1 ||
			    ldns_rdf_data(f)[0] != ldns_rdf_size(f) - 1)
				goto bad;
			total += ldns_rdf_size(f) - 1;
		}
		if ((out.text = malloc(total + 1)) == NULL)
			goto nomem;
		for (i = 0, p = out.text; i < n; i++) {
			f = ldns_rr_rdf(rr, i);
			memcpy(p, ldns_rdf_data(f) + 1, ldns_rdf_size(f) - 1);
			p += ldns_rdf_size(f) - 1;
		}
		*p = '\0';
		out.len = total;
		break;
	default: /* counted, not decoded */
		break;
	}
	if (dns_result_add(res, &out) == -1) {
		free(out.text);
		goto nomem;
	}
	return 0;
bad:
	dns_result_fail(res, DNS_TEMPFAIL, "malformed type %u record", type);
	return -1;
nomem:
	dns_result_fail(res, DNS_TEMPFAIL, "out of memory");
	return -1;
}

/*
 * dns_decode - decode a reply for the last name of a chain
 *	pkt: a matching reply, RCODE NOERROR or NXDOMAIN
 *	type: the type asked
 *	ch: the chain so far; CNAME links in the answer are added
 *	res: filled in (status, records, ttl) unless a new question is due
 * Returns 0 res is final,
 *	1 the chain leaves the answer: ask for ch->names[ch->n - 1].
 */
static int
dns_decode(const ldns_pkt *pkt, uint16_t type, struct dns_chain *ch,
    struct dns_result *res)
{
	const ldns_rr_list *an = ldns_pkt_answer(pkt);
	const ldns_rr *rr, *cname;
	const char *cur = ch->names[ch->n - 1];
	char target[DNS_TEXT_MAX], canon[DNS_NAME_MAX + 1], why[64];
	size_t i, j, n = an != NULL ? ldns_rr_list_rr_count(an) : 0;
	size_t start = ch->n;
	uint32_t ttl;
	bool found;

	for (;;) {
		found = false;
		ttl = ch->ttl;
		for (i = 0; i < n; i++) {
			rr = ldns_rr_list_rr(an, i);
			if (ldns_rr_get_type(rr) != type ||
			    ldns_rr_get_class(rr) != LDNS_RR_CLASS_IN ||
			    !dns_owner_is(rr, cur))
				continue;
			if (dns_decode_rr(rr, type, res) == -1)
				return 0;
			found = true;
			if (dns_ttl(ldns_rr_ttl(rr)) < ttl)
				ttl = dns_ttl(ldns_rr_ttl(rr));
		}
		if (found) {
			res->status = DNS_OK;
			res->ttl = ttl;
			return 0;
		}
		for (i = 0, cname = NULL; i < n && cname == NULL; i++) {
			rr = ldns_rr_list_rr(an, i);
			if (ldns_rr_get_type(rr) == LDNS_RR_TYPE_CNAME &&
			    ldns_rr_get_class(rr) == LDNS_RR_CLASS_IN &&
			    dns_owner_is(rr, cur))
				cname = rr;
		}
		if (cname == NULL)
			break;
		if (ldns_rr_rd_count(cname) != 1 ||
		    dns_dname_text(ldns_rr_rdf(cname, 0), target) == -1) {
			dns_result_fail(
			    res, DNS_TEMPFAIL, "malformed CNAME record");
			return 0;
		}
		if (dns_name_check(target, canon, why, sizeof(why)) == -1) {
			dns_result_fail(res, DNS_TEMPFAIL,
			    "CNAME target not a valid name: %s", why);
			return 0;
		}
		for (j = 0; j < ch->n; j++) {
			if (strcmp(ch->names[j], canon) == 0) {
				dns_result_fail(
				    res, DNS_TEMPFAIL, "CNAME loop");
				return 0;
			}
		}
		if (ch->n > DNS_MAX_CNAME) {
			dns_result_fail(res, DNS_TEMPFAIL,
			    "CNAME chain over %d links", DNS_MAX_CNAME);
			return 0;
		}
		memcpy(ch->names[ch->n], canon, sizeof(canon));
		cur = ch->names[ch->n++];
		if (dns_ttl(ldns_rr_ttl(cname)) < ch->ttl)
			ch->ttl = dns_ttl(ldns_rr_ttl(cname));
	}
	ttl = dns_negative_ttl(pkt);
	if (ch->ttl < ttl)
		ttl = ch->ttl;
	/* RFC 6604: the RCODE is about the last name of the chain */
	if (ldns_pkt_get_rcode(pkt) == LDNS_RCODE_NXDOMAIN) {
		res->status = DNS_NXDOMAIN;
		res->ttl = ttl;
		return 0;
	}
	if (ch->n == start) {
		res->status = DNS_NODATA;
		res->ttl = ttl;
		return 0;
	}
	return 1;
}

/* dns_resolve - answer a query from the network (and the cache) */
static struct dns_result *
dns_resolve(struct dns_worker *w, struct dns_query *q)
{
	struct dns_resolver *r = w->r;
	struct dns_result *res, *hit;
	struct dns_chain *ch;
	ldns_pkt *pkt;
	const char *cur;
	int rc;

	if ((res = dns_result_new(q->name, q->type)) == NULL)
		return NULL;
	if ((ch = calloc(1, sizeof(*ch))) == NULL) {
		dns_result_fail(res, DNS_TEMPFAIL, "out of memory");
		return res;
	}
	memcpy(ch->names[0], q->name, sizeof(q->name));
	ch->n = 1;
	ch->ttl = UINT32_MAX;
	for (cur = ch->names[0];; cur = ch->names[ch->n - 1]) {
		if (ch->n > 1 && r->cache != NULL &&
		    dns_cache_get(r->cache, cur, q->type, dns_now(), &hit) ==
			1) {
			res->status = hit->status;
			res->rr = hit->rr;
			res->count = hit->count;
			res->ttl = hit->ttl < ch->ttl ? hit->ttl : ch->ttl;
			hit->rr = NULL;
			hit->count = 0;
			dns_result_free(&hit);
			break;
		}
		if (dns_exchange(w, q, cur, q->type, &pkt, res) == -1)
			break;
		rc = dns_decode(pkt, q->type, ch, res);
		ldns_pkt_free(pkt);
		if (rc == 0)
			break;
	}
	free(ch);
	return res;
}

/* dns_query_unref - drop one reference; the last frees the query */
static void
dns_query_unref(struct dns_query *q)
{
	bool last;

	dns_lock(&q->lock);
	last = --q->refs == 0;
	dns_unlock(&q->lock);
	if (!last)
		return;
	pthread_cond_destroy(&q->cond);
	pthread_mutex_destroy(&q->lock);
	dns_result_free(&q->res);
	free(q);
}

/* dns_query_finish - publish the answer, wake waiters, drop our ref */
static void
dns_query_finish(struct dns_query *q, struct dns_result *res)
{
	dns_lock(&q->lock);
	q->res = res;
	q->done = true;
	if (pthread_cond_broadcast(&q->cond) != 0)
		abort();
	dns_unlock(&q->lock);
	dns_query_unref(q);
}

/* dns_worker_main - take queries off the queue until told to stop */
static void *
dns_worker_main(void *arg)
{
	struct dns_worker *w = arg;
	struct dns_resolver *r = w->r;
	struct dns_query *q;
	struct dns_result *res;
	char esc[DNS_LOG_NAME];

	for (;;) {
		dns_lock(&r->qlock);
		while (r->qhead == NULL && !r->stopping) {
			if (pthread_cond_wait(&r->qcond, &r->qlock) != 0)
				abort();
		}
		if (r->stopping) {
			dns_unlock(&r->qlock);
			break;
		}
		q = r->qhead;
		if ((r->qhead = q->next) == NULL)
			r->qtail = NULL;
		q->next = NULL;
		dns_unlock(&r->qlock);

		if (atomic_load(&q->abandoned)) {
			dns_query_unref(q);
			continue;
		}
		res = dns_resolve(w, q);
		if (res != NULL && res->status == DNS_TEMPFAIL) {
			if (!atomic_load(&q->abandoned))
				atomic_fetch_add(&r->tempfail, 1);
		} else if (res != NULL && r->cache != NULL) {
			/* out of memory here only costs a later hit */
			(void)dns_cache_put(r->cache, res, dns_now());
		}
		if (res != NULL && log_debug_on(LOG_SUB_DNS))
			log_debug(LOG_SUB_DNS,
			    "dns result name=%s type=%u status=%s count=%zu "
			    "ttl=%u why=\"%s\"",
			    q->name, q->type, dns_status_name(res->status),
			    res->count, res->ttl,
			    log_escape(res->why, esc, sizeof(esc)));
		dns_query_finish(q, res);
	}
	return NULL;
}

/* dns_resolver_create - start the worker pool and the cache */
int
dns_resolver_create(
    const struct dns_options *opts, struct dns_resolver **r_out, char **error_r)
{
	struct dns_resolver *r;
	struct dns_worker *w;
	sigset_t all, old;
	size_t i, j;
	int rc;

	*r_out = NULL;
	if (error_r != NULL)
		*error_r = NULL;
	if ((r = calloc(1, sizeof(*r))) == NULL) {
		text_error(error_r, "dns: out of memory");
		return -1;
	}
	r->opts = *opts;
	r->opts.servers = NULL;
	r->opts.server_count = 0;
	if (r->opts.workers == 0)
		r->opts.workers = DNS_DEFAULT_WORKERS;
	if (r->opts.timeout_ms == 0)
		r->opts.timeout_ms = DNS_DEFAULT_TIMEOUT_MS;
	if (r->opts.max_answer_records == 0)
		r->opts.max_answer_records = DNS_DEFAULT_MAX_ANSWER;
	if (r->opts.workers > DNS_MAX_WORKERS) {
		text_error(error_r, "dns_workers: %u: over %d", opts->workers,
		    DNS_MAX_WORKERS);
		goto fail;
	}
	atomic_init(&r->queries, 0);
	atomic_init(&r->cache_hits, 0);
	atomic_init(&r->sent, 0);
	atomic_init(&r->tempfail, 0);

	if (opts->server_count > 0) {
		r->servers = calloc(opts->server_count, sizeof(*r->servers));
		if (r->servers == NULL) {
			text_error(error_r, "dns: out of memory");
			goto fail;
		}
		for (i = 0; i < opts->server_count; i++) {
			if (dns_parse_server(opts->servers[i], &r->servers[i],
				error_r) == -1)
				goto fail;
			r->nservers++;
		}
	} else if (dns_servers_from_resolv_conf(r, error_r) == -1) {
		goto fail;
	}

	if (opts->cache_size > 0 &&
	    (r->cache = dns_cache_create(
		 opts->cache_size, opts->cache_max_ttl, 0)) == NULL) {
		text_error(error_r, "dns: out of memory");
		goto fail;
	}
	if (pthread_mutex_init(&r->qlock, NULL) != 0)
		goto nolock;
	if (pthread_cond_init(&r->qcond, NULL) != 0) {
		pthread_mutex_destroy(&r->qlock);
		goto nolock;
	}
	r->locks_ok = true;

	r->nworkers = r->opts.workers;
	if ((r->workers = calloc(r->nworkers, sizeof(*r->workers))) == NULL) {
		text_error(error_r, "dns: out of memory");
		goto fail;
	}
	for (i = 0; i < r->nworkers; i++) {
		w = &r->workers[i];
		w->r = r;
		if ((w->lres = calloc(r->nservers, sizeof(*w->lres))) == NULL) {
			text_error(error_r, "dns: out of memory");
			goto fail;
		}
		for (j = 0; j < r->nservers; j++) {
			w->lres[j] =
			    dns_ldns_new(&r->servers[j], r->opts.timeout_ms);
			if (w->lres[j] == NULL) {
				text_error(error_r,
				    "dns: cannot make a resolver for %s",
				    r->servers[j].label);
				goto fail;
			}
		}
	}
	/* workers inherit a full mask: signals are main's business */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	for (i = 0; i < r->nworkers; i++) {
		w = &r->workers[i];
		if ((rc = pthread_create(
			 &w->thread, NULL, dns_worker_main, w)) != 0) {
			pthread_sigmask(SIG_SETMASK, &old, NULL);
			text_error(error_r, "dns: cannot start a thread: %s",
			    strerror(rc));
			goto fail;
		}
		w->started = true;
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	*r_out = r;
	return 0;
nolock:
	text_error(error_r, "dns: cannot make a lock");
fail:
	dns_resolver_free(&r);
	return -1;
}

/* dns_resolver_free - stop the workers, free the cache */
void
dns_resolver_free(struct dns_resolver **rp)
{
	struct dns_resolver *r;
	struct dns_query *q;
	struct dns_result *res;
	size_t i, j;

	if (rp == NULL || (r = *rp) == NULL)
		return;
	*rp = NULL;
	if (r->locks_ok) {
		dns_lock(&r->qlock);
		r->stopping = true;
		if (pthread_cond_broadcast(&r->qcond) != 0)
			abort();
		dns_unlock(&r->qlock);
	}
	for (i = 0; i < r->nworkers && r->workers != NULL; i++) {
		if (r->workers[i].started)
			pthread_join(r->workers[i].thread, NULL);
	}
	/* left in the queue: answer them, so that nobody waits forever */
	while ((q = r->qhead) != NULL) {
		r->qhead = q->next;
		if ((res = dns_result_new(q->name, q->type)) != NULL)
			dns_result_fail(res, DNS_TEMPFAIL, "resolver stopped");
		dns_query_finish(q, res);
	}
	for (i = 0; i < r->nworkers && r->workers != NULL; i++) {
		for (j = 0; j < r->nservers && r->workers[i].lres != NULL;
		     j++) {
			if (r->workers[i].lres[j] != NULL)
				ldns_resolver_deep_free(r->workers[i].lres[j]);
		}
		free(r->workers[i].lres);
	}
	free(r->workers);
	if (r->locks_ok) {
		pthread_cond_destroy(&r->qcond);
		pthread_mutex_destroy(&r->qlock);
	}
	dns_cache_free(&r->cache);
	free(r->servers);
	free(r);
}

/* dns_query_new - a query with one reference, not yet done */
static struct dns_query *
dns_query_new(struct dns_resolver *r, uint16_t type)
{
	struct dns_query *q;
	pthread_condattr_t ca;

	if ((q = calloc(1, sizeof(*q))) == NULL)
		return NULL;
	if (pthread_mutex_init(&q->lock, NULL) != 0)
		goto fail;
	if (pthread_condattr_init(&ca) != 0)
		goto fail_lock;
	if (pthread_condattr_setclock(&ca, CLOCK_MONOTONIC) != 0 ||
	    pthread_cond_init(&q->cond, &ca) != 0) {
		pthread_condattr_destroy(&ca);
		goto fail_lock;
	}
	pthread_condattr_destroy(&ca);
	q->r = r;
	q->type = type;
	q->refs = 1;
	atomic_init(&q->abandoned, false);
	return q;
fail_lock:
	pthread_mutex_destroy(&q->lock);
fail:
	free(q);
	return NULL;
}

/* dns_query_start - ask a question; returns at once */
struct dns_query *
dns_query_start(struct dns_resolver *r, const char *name, uint16_t type)
{
	struct dns_query *q;
	char why[sizeof(((struct dns_result *)0)->why)], *lower, *p;
	char esc[DNS_LOG_NAME];
	int rc;

	atomic_fetch_add(&r->queries, 1);
	if ((q = dns_query_new(r, type)) == NULL)
		return NULL;
	if (dns_name_check(name, q->name, why, sizeof(why)) == -1) {
		/* the result names the question as given, lower-cased */
		if ((lower = strdup(name != NULL ? name : "")) == NULL)
			goto fail;
		for (p = lower; *p != '\0'; p++)
			*p = (char)tolower((unsigned char)*p);
		q->res = dns_result_new(lower, type);
		free(lower);
		if (q->res == NULL)
			goto fail;
		dns_result_fail(q->res, DNS_BADNAME, "%s", why);
		q->done = true;
		if (log_debug_on(LOG_SUB_DNS))
			log_debug(LOG_SUB_DNS,
			    "dns badname name=\"%s\" type=%u why=\"%s\"",
			    log_escape(name, esc, sizeof(esc)), type, why);
		return q;
	}
	if (r->cache != NULL) {
		rc = dns_cache_get(r->cache, q->name, type, dns_now(), &q->res);
		if (rc == 1) {
			atomic_fetch_add(&r->cache_hits, 1);
			q->done = true;
			log_debug(LOG_SUB_DNS,
			    "dns cache name=%s type=%u status=%s ttl=%u",
			    q->name, type, dns_status_name(q->res->status),
			    q->res->ttl);
			return q;
		}
	}
	q->refs = 2; /* the worker's */
	dns_lock(&r->qlock);
	if (r->qtail != NULL)
		r->qtail->next = q;
	else
		r->qhead = q;
	r->qtail = q;
	if (pthread_cond_signal(&r->qcond) != 0)
		abort();
	dns_unlock(&r->qlock);
	return q;
fail:
	dns_query_unref(q);
	return NULL;
}

/* dns_query_wait - collect the answer */
int
dns_query_wait(struct dns_query *q, const struct timespec *deadline,
    struct dns_result **res_r)
{
	struct dns_result *res;
	bool done, count = false;

	*res_r = NULL;
	dns_lock(&q->lock);
	while (!q->done) {
		if (deadline == NULL) {
			if (pthread_cond_wait(&q->cond, &q->lock) != 0)
				abort();
		} else if (pthread_cond_timedwait(
			       &q->cond, &q->lock, deadline) != 0) {
			/* ETIMEDOUT; EINVAL (a bad deadline) ends it too */
			break;
		}
	}
	done = q->done;
	if (!done && !q->counted) {
		q->counted = true;
		count = true;
	}
	dns_unlock(&q->lock);

	/* once done, q->res does not change until the query is freed */
	if (done) {
		if (q->res == NULL)
			return -1;
		*res_r = dns_cache_result_copy(q->res);
		return *res_r != NULL ? 0 : -1;
	}
	if (count)
		atomic_fetch_add(&q->r->tempfail, 1);
	if ((res = dns_result_new(q->name, q->type)) == NULL)
		return -1;
	dns_result_fail(res, DNS_TEMPFAIL, "deadline");
	*res_r = res;
	return 0;
}

/* dns_query_free - release a query, answered or not */
void
dns_query_free(struct dns_query **q)
{
	if (q == NULL || *q == NULL)
		return;
	atomic_store(&(*q)->abandoned, true);
	dns_query_unref(*q);
	*q = NULL;
}

/* dns_lookup - start and wait in one call */
int
dns_lookup(struct dns_resolver *r, const char *name, uint16_t type,
    const struct timespec *deadline, struct dns_result **res_r)
{
	struct dns_query *q;
	int rc;

	*res_r = NULL;
	if ((q = dns_query_start(r, name, type)) == NULL)
		return -1;
	rc = dns_query_wait(q, deadline, res_r);
	dns_query_free(&q);
	return rc;
}

/* dns_reverse_name - the PTR name of an address */
int
dns_reverse_name(int family, const void *addr, char *buf, size_t size)
{
	static const char hex[] = "0123456789abcdef";
	const uint8_t *b = addr;
	size_t o = 0;
	int i, n;

	if (family == AF_INET) {
		n = snprintf(buf, size, "%u.%u.%u.%u.in-addr.arpa", b[3], b[2],
		    b[1], b[0]);
		return n < 0 || (size_t)n >= size ? -1 : 0;
	}
	if (family != AF_INET6 || size < 32 * 2 + sizeof("ip6.arpa"))
		return -1;
	for (i = 15; i >= 0; i--) {
		buf[o++] = hex[b[i] & 15];
		buf[o++] = '.';
		buf[o++] = hex[b[i] >> 4];
		buf[o++] = '.';
	}
	memcpy(buf + o, "ip6.arpa", sizeof("ip6.arpa"));
	return 0;
}

/* dns_get_stats - counters since start */
void
dns_get_stats(struct dns_resolver *r, struct dns_stats *st)
{
	st->queries = atomic_load(&r->queries);
	st->cache_hits = atomic_load(&r->cache_hits);
	st->sent = atomic_load(&r->sent);
	st->tempfail = atomic_load(&r->tempfail);
	st->cache_entries = dns_cache_count(r->cache);
}

/* dns_deadline - now (CLOCK_MONOTONIC) plus ms */
void
dns_deadline(struct timespec *ts, unsigned ms)
{
	clock_gettime(CLOCK_MONOTONIC, ts);
	ts->tv_sec += ms / 1000;
	ts->tv_nsec += (long)(ms % 1000) * 1000000L;
	if (ts->tv_nsec >= 1000000000L) {
		ts->tv_sec++;
		ts->tv_nsec -= 1000000000L;
	}
}
