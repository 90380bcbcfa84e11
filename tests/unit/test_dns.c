/*
 * NAME
 *	test_dns - the resolver against an in-process fake DNS server
 * SUMMARY
 *	A fake server (UDP and TCP threads on 127.0.0.1, kernel-chosen
 *	port) answers each name with a canned reply; the tests go through
 *	the public API of dns.h only.
 * DESCRIPTION
 *	Covered: A, AAAA, TXT (several strings, an embedded NUL), MX, PTR;
 *	NXDOMAIN and NODATA with their negative TTL; SERVFAIL; no reply;
 *	TC over UDP then TCP; CNAME chains (in the answer, leaving it,
 *	too long) and loops; oversized, malformed and mismatched replies;
 *	bad names (nothing sent); the cache (hits send nothing, TTL 0 is
 *	not kept); deadlines; queries freed before their answer; many
 *	threads at once; a second server after the first fails; the
 *	nameserver option parser; dns_reverse_name and dns_status_name.
 */
#include "milter/dns.h"

#include <sys/socket.h>

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <ldns/ldns.h>

#include "milter/log.h"

#define SOA_TEST "test. 300 IN SOA ns.test. host.test. 1 3600 600 86400 60"
#define MAX_ANSWER 20 /* max_answer_records of the test resolver */

enum fake_act {
	FAKE_REPLY,	/* rcode, answer, authority */
	FAKE_DROP,	/* never answer */
	FAKE_TC,	/* UDP: TC and no records; TCP: the reply */
	FAKE_GARBAGE,	/* bytes that are no DNS message */
	FAKE_TRUNCATED, /* a header that promises a record, no record */
	FAKE_BADID,	/* the reply, with another id */
	FAKE_BADQNAME,	/* the reply, for another question */
	FAKE_MANY,	/* MAX_ANSWER + 1 A records */
	FAKE_ECHO,	/* one A record 192.0.2.99 for any name */
	FAKE_MUTATE,	/* a rich reply with some bytes changed */
	FAKE_NOEDNS,	/* FORMERR to EDNS0, else the reply */
};

struct fake_rule {
	const char *name;      /* lower case, no dot; "*.x": any below x */
	enum fake_act act;     /* what to do */
	uint8_t rcode;	       /* FAKE_REPLY */
	const char *answer;    /* RRs in zone-file form, ";"-separated */
	const char *authority; /* same, authority section */
};

static const struct fake_rule rules[] = {
	{ "a.test", FAKE_REPLY, 0,
	    "a.test 300 IN A 192.0.2.1;a.test 200 IN A 192.0.2.2", NULL },
	{ "aaaa.test", FAKE_REPLY, 0,
	    "aaaa.test 600 IN AAAA 2001:db8::1;aaaa.test 600 IN A 192.0.2.9",
	    NULL },
	{ "txt.test", FAKE_REPLY, 0,
	    "txt.test 60 IN TXT \"v=spf1 \" \"ip4:192.0.2.0/24\" \" -all\";"
	    "txt.test 60 IN TXT \"nul\\000inside\"",
	    NULL },
	{ "mx.test", FAKE_REPLY, 0,
	    "mx.test 3600 IN MX 20 Backup.MX.test.;"
	    "mx.test 3600 IN MX 10 mail.test.",
	    NULL },
	{ "nullmx.test", FAKE_REPLY, 0, "nullmx.test 3600 IN MX 0 .", NULL },
	{ "1.2.0.192.in-addr.arpa", FAKE_REPLY, 0,
	    "1.2.0.192.in-addr.arpa 86400 IN PTR Host.Example.TEST.", NULL },
	{ "upper.test", FAKE_REPLY, 0, "UPPER.TEST 300 IN A 192.0.2.3", NULL },
	{ "nx.test", FAKE_REPLY, LDNS_RCODE_NXDOMAIN, NULL, SOA_TEST },
	{ "nxnosoa.test", FAKE_REPLY, LDNS_RCODE_NXDOMAIN, NULL, NULL },
	{ "nodata.test", FAKE_REPLY, 0, NULL,
	    "test. 30 IN SOA ns.test. host.test. 1 3600 600 86400 120" },
	{ "servfail.test", FAKE_REPLY, LDNS_RCODE_SERVFAIL, NULL, NULL },
	{ "refused.test", FAKE_REPLY, LDNS_RCODE_REFUSED, NULL, NULL },
	{ "drop.test", FAKE_DROP, 0, NULL, NULL },
	{ "tc.test", FAKE_TC, 0,
	    "tc.test 300 IN A 192.0.2.10;tc.test 300 IN A 192.0.2.11", NULL },
	{ "garbage.test", FAKE_GARBAGE, 0, NULL, NULL },
	{ "truncated.test", FAKE_TRUNCATED, 0, NULL, NULL },
	{ "badid.test", FAKE_BADID, 0, "badid.test 300 IN A 192.0.2.1", NULL },
	{ "badq.test", FAKE_BADQNAME, 0, "badq.test 300 IN A 192.0.2.1", NULL },
	{ "many.test", FAKE_MANY, 0, NULL, NULL },
	{ "ttl0.test", FAKE_REPLY, 0, "ttl0.test 0 IN A 192.0.2.4", NULL },
	{ "chain.test", FAKE_REPLY, 0,
	    "chain.test 100 IN CNAME a.chain.test.;"
	    "a.chain.test 50 IN CNAME B.Chain.Test.;"
	    "b.chain.test 200 IN A 192.0.2.5",
	    NULL },
	{ "chainnx.test", FAKE_REPLY, LDNS_RCODE_NXDOMAIN,
	    "chainnx.test 100 IN CNAME gone.test.", SOA_TEST },
	{ "out.test", FAKE_REPLY, 0, "out.test 40 IN CNAME target.test.",
	    NULL },
	{ "target.test", FAKE_REPLY, 0, "target.test 300 IN A 192.0.2.6",
	    NULL },
	{ "loop.test", FAKE_REPLY, 0,
	    "loop.test 300 IN CNAME loop2.test.;"
	    "loop2.test 300 IN CNAME loop.test.",
	    NULL },
	{ "self.test", FAKE_REPLY, 0, "self.test 300 IN CNAME self.test.",
	    NULL },
	{ "long.test", FAKE_REPLY, 0,
	    "long.test 300 IN CNAME l1.test.;l1.test 300 IN CNAME l2.test.;"
	    "l2.test 300 IN CNAME l3.test.;l3.test 300 IN CNAME l4.test.;"
	    "l4.test 300 IN CNAME l5.test.;l5.test 300 IN CNAME l6.test.;"
	    "l6.test 300 IN CNAME l7.test.;l7.test 300 IN CNAME l8.test.;"
	    "l8.test 300 IN CNAME l9.test.;l9.test 300 IN A 192.0.2.8",
	    NULL },
	{ "eight.test", FAKE_REPLY, 0,
	    "eight.test 300 IN CNAME e1.test.;e1.test 300 IN CNAME e2.test.;"
	    "e2.test 300 IN CNAME e3.test.;e3.test 300 IN CNAME e4.test.;"
	    "e4.test 300 IN CNAME e5.test.;e5.test 300 IN CNAME e6.test.;"
	    "e6.test 300 IN CNAME e7.test.;e7.test 300 IN CNAME e8.test.;"
	    "e8.test 300 IN A 192.0.2.12",
	    NULL },
	{ "*.echo.test", FAKE_ECHO, 0, NULL, NULL },
	{ "*.mutate.test", FAKE_MUTATE, 0, NULL, NULL },
	{ "noedns.test", FAKE_NOEDNS, 0, "noedns.test 300 IN A 192.0.2.13",
	    NULL },
};

struct fake_server {
	int udp;	       /* bound socket */
	int tcp;	       /* listening socket, same port */
	uint16_t port;	       /* host order */
	enum fake_act all;     /* FAKE_REPLY: per rule; else for all */
	uint8_t all_rcode;     /* with all == FAKE_REPLY and servfail */
	bool servfail;	       /* answer SERVFAIL to everything */
	atomic_bool stop;      /* threads end */
	atomic_uint udp_count; /* UDP questions received */
	atomic_uint tcp_count; /* TCP questions received */
	pthread_t udp_thread;  /* fake_udp_main */
	pthread_t tcp_thread;  /* fake_tcp_main */
	char spec[32];	       /* "127.0.0.1@PORT" */
};

/* fake_find - the rule for a name, or NULL */
static const struct fake_rule *
fake_find(const char *name)
{
	size_t i, nl = strlen(name), rl;

	for (i = 0; i < sizeof(rules) / sizeof(rules[0]); i++) {
		if (rules[i].name[0] == '*') {
			rl = strlen(rules[i].name + 1);
			if (nl > rl &&
			    strcmp(name + nl - rl, rules[i].name + 1) == 0)
				return &rules[i];
		} else if (strcmp(name, rules[i].name) == 0) {
			return &rules[i];
		}
	}
	return NULL;
}

/* fake_push - add ";"-separated RRs to a section */
static void
fake_push(ldns_pkt *p, ldns_pkt_section sec, const char *rrs)
{
	char *copy, *tok, *save = NULL;
	ldns_rr *rr;

	if (rrs == NULL)
		return;
	copy = strdup(rrs);
	assert_non_null(copy);
	for (tok = strtok_r(copy, ";", &save); tok != NULL;
	     tok = strtok_r(NULL, ";", &save)) {
		if (ldns_rr_new_frm_str(&rr, tok, 0, NULL, NULL) !=
		    LDNS_STATUS_OK) {
			fprintf(stderr, "fake: bad RR %s\n", tok);
			abort();
		}
		ldns_pkt_push_rr(p, sec, rr);
	}
	free(copy);
}

/*
 * fake_answer - the reply to a question
 *	s: the server
 *	q, qlen: the question
 *	tcp: over TCP
 *	out_r, outlen_r: reply bytes (free), or NULL: no reply
 */
static void
fake_answer(struct fake_server *s, const uint8_t *q, size_t qlen, bool tcp,
    uint8_t **out_r, size_t *outlen_r)
{
	ldns_pkt *qp = NULL, *p;
	const ldns_rr *qrr;
	ldns_rr *wrong;
	const struct fake_rule *rule = NULL;
	enum fake_act act;
	char *name, rrtext[300];
	size_t len, i;
	ldns_rdf *other;

	*out_r = NULL;
	*outlen_r = 0;
	if (ldns_wire2pkt(&qp, q, qlen) != LDNS_STATUS_OK)
		return;
	qrr = ldns_rr_list_rr(ldns_pkt_question(qp), 0);
	name = ldns_rdf2str(ldns_rr_owner(qrr));
	len = strlen(name);
	if (len > 1 && name[len - 1] == '.')
		name[len - 1] = '\0';
	for (i = 0; name[i] != '\0'; i++)
		name[i] = (char)tolower((unsigned char)name[i]);
	act = s->all;
	if (act == FAKE_REPLY && !s->servfail)
		rule = fake_find(name);
	if (rule != NULL)
		act = rule->act;

	p = ldns_pkt_new();
	ldns_pkt_set_id(p, ldns_pkt_id(qp));
	ldns_pkt_set_qr(p, true);
	ldns_pkt_set_rd(p, ldns_pkt_rd(qp));
	ldns_pkt_set_ra(p, true);
	ldns_pkt_push_rr(p, LDNS_SECTION_QUESTION, ldns_rr_clone(qrr));
	if (s->servfail) {
		ldns_pkt_set_rcode(p, LDNS_RCODE_SERVFAIL);
	} else if (rule == NULL) {
		ldns_pkt_set_rcode(p, LDNS_RCODE_NXDOMAIN);
		fake_push(p, LDNS_SECTION_AUTHORITY, SOA_TEST);
	} else {
		ldns_pkt_set_rcode(p, rule->rcode);
		fake_push(p, LDNS_SECTION_ANSWER, rule->answer);
		fake_push(p, LDNS_SECTION_AUTHORITY, rule->authority);
	}
	switch (act) {
	case FAKE_DROP:
		goto out;
	case FAKE_TC:
		if (!tcp) {
			ldns_pkt_free(p);
			p = ldns_pkt_new();
			ldns_pkt_set_id(p, ldns_pkt_id(qp));
			ldns_pkt_set_qr(p, true);
			ldns_pkt_set_tc(p, true);
			ldns_pkt_push_rr(
			    p, LDNS_SECTION_QUESTION, ldns_rr_clone(qrr));
		}
		break;
	case FAKE_GARBAGE:
		*out_r = malloc(7);
		memcpy(*out_r, "\x12\x34garb", 7);
		*outlen_r = 7;
		goto out;
	case FAKE_TRUNCATED:
		/* id, QR, QDCOUNT 0, ANCOUNT 1, and then nothing */
		*out_r = calloc(1, 12);
		(*out_r)[0] = q[0];
		(*out_r)[1] = q[1];
		(*out_r)[2] = 0x81;
		(*out_r)[7] = 1;
		*outlen_r = 12;
		goto out;
	case FAKE_BADID:
		ldns_pkt_set_id(p, (uint16_t)(ldns_pkt_id(qp) + 1));
		break;
	case FAKE_BADQNAME:
		ldns_rr_list_deep_free(ldns_pkt_question(p));
		ldns_pkt_set_question(p, ldns_rr_list_new());
		ldns_pkt_set_qdcount(p, 0);
		wrong = ldns_rr_clone(qrr);
		assert_int_equal(
		    ldns_str2rdf_dname(&other, "other.test."), LDNS_STATUS_OK);
		ldns_rdf_deep_free(ldns_rr_owner(wrong));
		ldns_rr_set_owner(wrong, other);
		ldns_pkt_push_rr(p, LDNS_SECTION_QUESTION, wrong);
		break;
	case FAKE_MANY:
		for (i = 0; i <= MAX_ANSWER; i++) {
			snprintf(rrtext, sizeof(rrtext),
			    "%s 300 IN A 192.0.2.%zu", name, i + 1);
			fake_push(p, LDNS_SECTION_ANSWER, rrtext);
		}
		break;
	case FAKE_ECHO:
		snprintf(
		    rrtext, sizeof(rrtext), "%s 300 IN A 192.0.2.99", name);
		fake_push(p, LDNS_SECTION_ANSWER, rrtext);
		break;
	case FAKE_MUTATE:
		snprintf(rrtext, sizeof(rrtext),
		    "%s 300 IN CNAME x.mutate.test.;"
		    "x.mutate.test 300 IN A 192.0.2.1;"
		    "x.mutate.test 300 IN MX 10 mx.mutate.test.;"
		    "x.mutate.test 300 IN TXT \"abc\" \"def\";"
		    "x.mutate.test 300 IN PTR p.mutate.test.;"
		    "x.mutate.test 300 IN AAAA 2001:db8::1",
		    name);
		fake_push(p, LDNS_SECTION_ANSWER, rrtext);
		fake_push(p, LDNS_SECTION_AUTHORITY, SOA_TEST);
		break;
	case FAKE_NOEDNS:
		if (ldns_pkt_edns(qp)) {
			ldns_pkt_set_rcode(p, LDNS_RCODE_FORMERR);
			ldns_rr_list_deep_free(ldns_pkt_answer(p));
			ldns_pkt_set_answer(p, ldns_rr_list_new());
			ldns_pkt_set_ancount(p, 0);
		}
		break;
	case FAKE_REPLY:
		break;
	}
	if (ldns_pkt2wire(out_r, p, outlen_r) != LDNS_STATUS_OK)
		abort();
	if (act == FAKE_MUTATE) {
		/* keep the id; change 1 to 4 bytes, or cut the message */
		unsigned seed = atomic_fetch_add(&s->udp_count, 0) * 7919u +
		    atomic_load(&s->tcp_count);
		unsigned k = 1 + (unsigned)rand_r(&seed) % 4;

		while (k-- > 0 && *outlen_r > 2)
			(*out_r)[2 + (size_t)rand_r(&seed) % (*outlen_r - 2)] =
			    (uint8_t)rand_r(&seed);
		if (rand_r(&seed) % 5 == 0)
			*outlen_r = (size_t)rand_r(&seed) % *outlen_r;
	}
out:
	ldns_pkt_free(p);
	ldns_pkt_free(qp);
	free(name);
}

/* fake_udp_main - answer UDP questions until stopped */
static void *
fake_udp_main(void *arg)
{
	struct fake_server *s = arg;
	struct sockaddr_storage from;
	socklen_t fromlen;
	struct pollfd pfd;
	uint8_t buf[65536], *out;
	size_t outlen;
	ssize_t n;

	while (!atomic_load(&s->stop)) {
		pfd.fd = s->udp;
		pfd.events = POLLIN;
		if (poll(&pfd, 1, 50) <= 0)
			continue;
		fromlen = sizeof(from);
		n = recvfrom(s->udp, buf, sizeof(buf), 0,
		    (struct sockaddr *)&from, &fromlen);
		if (n <= 0)
			continue;
		atomic_fetch_add(&s->udp_count, 1);
		fake_answer(s, buf, (size_t)n, false, &out, &outlen);
		if (out != NULL)
			(void)sendto(s->udp, out, outlen, 0,
			    (struct sockaddr *)&from, fromlen);
		free(out);
	}
	return NULL;
}

/* fake_read - read exactly len bytes, or fail */
static int
fake_read(int fd, uint8_t *buf, size_t len)
{
	struct pollfd pfd;
	ssize_t n;
	size_t got = 0;

	while (got < len) {
		pfd.fd = fd;
		pfd.events = POLLIN;
		if (poll(&pfd, 1, 2000) <= 0)
			return -1;
		if ((n = read(fd, buf + got, len - got)) <= 0)
			return -1;
		got += (size_t)n;
	}
	return 0;
}

/* fake_tcp_main - answer one question per TCP connection until stopped */
static void *
fake_tcp_main(void *arg)
{
	struct fake_server *s = arg;
	struct pollfd pfd;
	uint8_t len[2], *buf, *out;
	size_t outlen, qlen;
	int fd;

	while (!atomic_load(&s->stop)) {
		pfd.fd = s->tcp;
		pfd.events = POLLIN;
		if (poll(&pfd, 1, 50) <= 0)
			continue;
		if ((fd = accept(s->tcp, NULL, NULL)) == -1)
			continue;
		if (fake_read(fd, len, 2) == 0) {
			qlen = (size_t)len[0] << 8 | len[1];
			buf = malloc(qlen + 1);
			if (fake_read(fd, buf, qlen) == 0) {
				atomic_fetch_add(&s->tcp_count, 1);
				fake_answer(s, buf, qlen, true, &out, &outlen);
				if (out != NULL) {
					len[0] = (uint8_t)(outlen >> 8);
					len[1] = (uint8_t)outlen;
					if (write(fd, len, 2) != 2 ||
					    write(fd, out, outlen) !=
						(ssize_t)outlen)
						fprintf(stderr,
						    "fake: short TCP write\n");
				}
				free(out);
			}
			free(buf);
		}
		close(fd);
	}
	return NULL;
}

/* fake_start - a server on 127.0.0.1, UDP and TCP on one free port */
static struct fake_server *
fake_start(enum fake_act all, bool servfail)
{
	struct fake_server *s = calloc(1, sizeof(*s));
	struct sockaddr_in sin;
	socklen_t slen;
	int tries, one = 1;

	assert_non_null(s);
	s->all = all;
	s->servfail = servfail;
	for (tries = 0; tries < 50; tries++) {
		memset(&sin, 0, sizeof(sin));
		sin.sin_family = AF_INET;
		sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		s->udp = socket(AF_INET, SOCK_DGRAM, 0);
		assert_true(s->udp >= 0);
		assert_int_equal(
		    bind(s->udp, (struct sockaddr *)&sin, sizeof(sin)), 0);
		slen = sizeof(sin);
		assert_int_equal(
		    getsockname(s->udp, (struct sockaddr *)&sin, &slen), 0);
		s->tcp = socket(AF_INET, SOCK_STREAM, 0);
		assert_true(s->tcp >= 0);
		setsockopt(s->tcp, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		if (bind(s->tcp, (struct sockaddr *)&sin, sizeof(sin)) == 0 &&
		    listen(s->tcp, 64) == 0)
			break;
		close(s->udp);
		close(s->tcp);
	}
	assert_true(tries < 50);
	s->port = ntohs(sin.sin_port);
	snprintf(s->spec, sizeof(s->spec), "127.0.0.1@%u", s->port);
	atomic_init(&s->stop, false);
	atomic_init(&s->udp_count, 0);
	atomic_init(&s->tcp_count, 0);
	assert_int_equal(
	    pthread_create(&s->udp_thread, NULL, fake_udp_main, s), 0);
	assert_int_equal(
	    pthread_create(&s->tcp_thread, NULL, fake_tcp_main, s), 0);
	return s;
}

/* fake_stop - stop and free a server (NULL is fine) */
static void
fake_stop(struct fake_server **sp)
{
	struct fake_server *s = *sp;

	if (s == NULL)
		return;
	atomic_store(&s->stop, true);
	pthread_join(s->udp_thread, NULL);
	pthread_join(s->tcp_thread, NULL);
	close(s->udp);
	close(s->tcp);
	free(s);
	*sp = NULL;
}

/* fake_count - questions received, UDP and TCP */
static unsigned
fake_count(struct fake_server *s)
{
	return atomic_load(&s->udp_count) + atomic_load(&s->tcp_count);
}

struct env {
	struct fake_server *fake; /* the one server */
	struct dns_resolver *r;	  /* pointed at it */
};

/* resolver - a resolver for some servers, failing the test on error */
static struct dns_resolver *
resolver(const char *const *servers, size_t n, unsigned timeout_ms,
    unsigned cache_size)
{
	struct dns_options o = {
		.servers = servers,
		.server_count = n,
		.timeout_ms = timeout_ms,
		.retries = 0,
		.cache_size = cache_size,
		.cache_max_ttl = 3600,
		.workers = 4,
		.max_answer_records = MAX_ANSWER,
	};
	struct dns_resolver *r = NULL;
	char *err = NULL;

	if (dns_resolver_create(&o, &r, &err) != 0)
		fail_msg("dns_resolver_create: got %s, want success", err);
	return r;
}

/* setup - one fake server and a resolver (short timeout, a cache) */
static int
setup(void **state)
{
	struct env *e = calloc(1, sizeof(*e));
	const char *servers[1];

	assert_non_null(e);
	e->fake = fake_start(FAKE_REPLY, false);
	servers[0] = e->fake->spec;
	e->r = resolver(servers, 1, 300, 1000);
	*state = e;
	return 0;
}

/* teardown - undo setup */
static int
teardown(void **state)
{
	struct env *e = *state;

	dns_resolver_free(&e->r);
	assert_null(e->r);
	fake_stop(&e->fake);
	free(e);
	return 0;
}

/* rr_text - records as "a|b|c" for comparison */
static void
rr_text(const struct dns_result *res, char *buf, size_t size)
{
	char one[600], addr[INET6_ADDRSTRLEN];
	size_t i, j, o = 0;

	buf[0] = '\0';
	for (i = 0; i < res->count; i++) {
		const struct dns_rr *rr = &res->rr[i];

		switch (rr->type) {
		case DNS_T_A:
			inet_ntop(AF_INET, &rr->a, one, sizeof(one));
			break;
		case DNS_T_AAAA:
			inet_ntop(AF_INET6, &rr->aaaa, addr, sizeof(addr));
			snprintf(one, sizeof(one), "%s", addr);
			break;
		case DNS_T_MX:
			snprintf(one, sizeof(one), "%u %s", rr->pref, rr->text);
			break;
		default:
			/* NULs in TXT shown as \0 */
			for (j = 0, one[0] = '\0'; j < rr->len && j < 290; j++)
				snprintf(one + strlen(one),
				    sizeof(one) - strlen(one), "%s",
				    rr->text[j] == '\0'
					? "\\0"
					: (char[2]){ rr->text[j], '\0' });
			break;
		}
		o += (size_t)snprintf(
		    buf + o, size - o, "%s%s", i ? "|" : "", one);
		if (o >= size)
			return;
	}
}

struct lookup_case {
	const char *name;     /* asked */
	uint16_t type;	      /* asked */
	enum dns_status want; /* status */
	const char *want_rr;  /* rr_text(), NULL: do not check */
	long want_ttl;	      /* -1: do not check */
	const char *want_why; /* substring of why, NULL: do not check */
	int want_sent;	      /* questions the server saw; -1: any */
};

/* check_lookup - one lookup through dns_lookup, against a case */
static void
check_lookup(struct env *e, const struct lookup_case *t)
{
	struct dns_result *res = NULL;
	struct timespec dl;
	unsigned before = fake_count(e->fake), sent;
	char rrs[2048], qname[300];
	size_t i;

	for (i = 0; t->name[i] != '\0' && i < sizeof(qname) - 1; i++)
		qname[i] = (char)tolower((unsigned char)t->name[i]);
	if (i > 0 && qname[i - 1] == '.')
		i--;
	qname[i] = '\0';
	dns_deadline(&dl, 5000);
	assert_int_equal(dns_lookup(e->r, t->name, t->type, &dl, &res), 0);
	assert_non_null(res);
	sent = fake_count(e->fake) - before;
	if (res->status != t->want)
		fail_msg("%s/%u: status got %s (%s), want %s", t->name, t->type,
		    dns_status_name(res->status), res->why,
		    dns_status_name(t->want));
	if (strcmp(res->qname, qname) != 0)
		fail_msg(
		    "%s: qname got %s, want %s", t->name, res->qname, qname);
	if (res->qtype != t->type)
		fail_msg(
		    "%s: qtype got %u, want %u", t->name, res->qtype, t->type);
	rr_text(res, rrs, sizeof(rrs));
	if (t->want_rr != NULL && strcmp(rrs, t->want_rr) != 0)
		fail_msg("%s/%u: records got \"%s\", want \"%s\"", t->name,
		    t->type, rrs, t->want_rr);
	if (t->want != DNS_OK && res->count != 0)
		fail_msg("%s: %zu records with status %s", t->name, res->count,
		    dns_status_name(res->status));
	if (t->want_ttl >= 0 && res->ttl != (uint32_t)t->want_ttl)
		fail_msg("%s/%u: ttl got %u, want %ld", t->name, t->type,
		    res->ttl, t->want_ttl);
	if (t->want_why != NULL && strstr(res->why, t->want_why) == NULL)
		fail_msg("%s/%u: why got \"%s\", want \"%s\"", t->name, t->type,
		    res->why, t->want_why);
	if (t->want_sent >= 0 && sent != (unsigned)t->want_sent)
		fail_msg("%s/%u: questions sent got %u, want %d", t->name,
		    t->type, sent, t->want_sent);
	dns_result_free(&res);
	assert_null(res);
}

/* test_answers - record types, negative answers, server failures */
static void
test_answers(void **state)
{
	static const struct lookup_case tests[] = {
		{ "a.test", DNS_T_A, DNS_OK, "192.0.2.1|192.0.2.2", 200, "",
		    1 },
		{ "A.Test.", DNS_T_A, DNS_OK, "192.0.2.1|192.0.2.2", -1, "",
		    0 },
		{ "upper.test", DNS_T_A, DNS_OK, "192.0.2.3", 300, "", 1 },
		{ "aaaa.test", DNS_T_AAAA, DNS_OK, "2001:db8::1", 600, "", 1 },
		{ "txt.test", DNS_T_TXT, DNS_OK,
		    "v=spf1 ip4:192.0.2.0/24 -all|nul\\0inside", 60, "", 1 },
		{ "mx.test", DNS_T_MX, DNS_OK, "20 backup.mx.test|10 mail.test",
		    3600, "", 1 },
		{ "nullmx.test", DNS_T_MX, DNS_OK, "0 .", 3600, "", 1 },
		{ "1.2.0.192.in-addr.arpa", DNS_T_PTR, DNS_OK,
		    "host.example.test", 86400, "", 1 },
		{ "nx.test", DNS_T_A, DNS_NXDOMAIN, "", 60, "", 1 },
		{ "unknown.test", DNS_T_TXT, DNS_NXDOMAIN, "", 60, "", 1 },
		{ "nxnosoa.test", DNS_T_A, DNS_NXDOMAIN, "", 0, "", 1 },
		{ "nodata.test", DNS_T_A, DNS_NODATA, "", 30, "", 1 },
		{ "a.test", DNS_T_MX, DNS_NODATA, "", 0, "", 1 },
		{ "aaaa.test", DNS_T_MX, DNS_NODATA, "", 0, "", 1 },
		{ "servfail.test", DNS_T_A, DNS_TEMPFAIL, "", 0, "SERVFAIL",
		    1 },
		{ "refused.test", DNS_T_A, DNS_TEMPFAIL, "", 0, "REFUSED", 1 },
		{ "drop.test", DNS_T_A, DNS_TEMPFAIL, "", 0, "no reply", 1 },
		{ "garbage.test", DNS_T_A, DNS_TEMPFAIL, "", 0, "malformed",
		    1 },
		{ "truncated.test", DNS_T_A, DNS_TEMPFAIL, "", 0, "malformed",
		    1 },
		{ "badid.test", DNS_T_A, DNS_TEMPFAIL, "", 0, "does not match",
		    1 },
		{ "badq.test", DNS_T_A, DNS_TEMPFAIL, "", 0, "does not match",
		    1 },
		{ "many.test", DNS_T_A, DNS_TEMPFAIL, "", 0,
		    "answer has 21 records, over 20", 1 },
		/* TC: UDP (with EDNS0), then TCP */
		{ "tc.test", DNS_T_A, DNS_OK, "192.0.2.10|192.0.2.11", 300, "",
		    2 },
		/* FORMERR to EDNS0: asked again without */
		{ "noedns.test", DNS_T_A, DNS_OK, "192.0.2.13", 300, "", 2 },
		/* not cached: asked again */
		{ "ttl0.test", DNS_T_A, DNS_OK, "192.0.2.4", 0, "", 1 },
		{ "ttl0.test", DNS_T_A, DNS_OK, "192.0.2.4", 0, "", 1 },
		{ "servfail.test", DNS_T_A, DNS_TEMPFAIL, "", 0, "SERVFAIL",
		    1 },
	};
	struct env *e = *state;
	size_t i;

	for (i = 0; i < sizeof(tests) / sizeof(tests[0]); i++)
		check_lookup(e, &tests[i]);
}

/* test_cname - chains in the answer, leaving it, loops, too long */
static void
test_cname(void **state)
{
	static const struct lookup_case tests[] = {
		{ "chain.test", DNS_T_A, DNS_OK, "192.0.2.5", 50, "", 1 },
		/* asking the CNAME type gets the CNAME */
		{ "chain.test", DNS_T_CNAME, DNS_OK, "a.chain.test", 100, "",
		    1 },
		/* RFC 6604: the RCODE is about the chain's end */
		{ "chainnx.test", DNS_T_A, DNS_NXDOMAIN, "", 60, "", 1 },
		/* leaves the answer: asks for the target */
		{ "out.test", DNS_T_A, DNS_OK, "192.0.2.6", 40, "", 2 },
		{ "loop.test", DNS_T_A, DNS_TEMPFAIL, "", 0, "CNAME loop", 1 },
		{ "self.test", DNS_T_A, DNS_TEMPFAIL, "", 0, "CNAME loop", 1 },
		{ "long.test", DNS_T_A, DNS_TEMPFAIL, "", 0,
		    "CNAME chain over 8 links", 1 },
		{ "eight.test", DNS_T_A, DNS_OK, "192.0.2.12", 300, "", 1 },
		/* cached: nothing sent */
		{ "chain.test", DNS_T_A, DNS_OK, "192.0.2.5", -1, "", 0 },
		{ "out.test", DNS_T_A, DNS_OK, "192.0.2.6", -1, "", 0 },
	};
	struct env *e = *state;
	size_t i;

	for (i = 0; i < sizeof(tests) / sizeof(tests[0]); i++)
		check_lookup(e, &tests[i]);
}

/* test_badnames - invalid questions: DNS_BADNAME, nothing sent */
static void
test_badnames(void **state)
{
	static char label64[80], name254[300], label63[80], name253[300];
	static const struct {
		const char *name;
		const char *input;
		enum dns_status want;
		const char *want_why;
	} tests[] = {
		{ "NULL", NULL, DNS_BADNAME, "empty name" },
		{ "empty", "", DNS_BADNAME, "empty name" },
		{ "root", ".", DNS_BADNAME, "empty name" },
		{ "empty label", "a..test", DNS_BADNAME, "empty label" },
		{ "leading dot", ".a.test", DNS_BADNAME, "empty label" },
		{ "two trailing dots", "a.test..", DNS_BADNAME, "empty label" },
		{ "label 64", label64, DNS_BADNAME, "label over 63" },
		{ "name 254", name254, DNS_BADNAME, "name over 253" },
		{ "space", "a b.test", DNS_BADNAME, "0x20" },
		{ "control", "a\001.test", DNS_BADNAME, "0x01" },
		{ "newline", "a.test\n", DNS_BADNAME, "0x0a" },
		{ "DEL", "a\177.test", DNS_BADNAME, "0x7f" },
		{ "UTF-8", "caf\xc3\xa9.test", DNS_BADNAME, "0xc3" },
		{ "backslash", "a\\.test", DNS_BADNAME, "0x5c" },
		/* the limits themselves are fine: NXDOMAIN from the server */
		{ "label 63", label63, DNS_NXDOMAIN, "" },
		{ "name 253", name253, DNS_NXDOMAIN, "" },
		{ "underscore", "_dmarc.x.test", DNS_NXDOMAIN, "" },
	};
	struct env *e = *state;
	struct dns_result *res;
	unsigned before, sent;
	size_t i;

	memset(label64, 'a', 64);
	strcpy(label64 + 64, ".test");
	memset(label63, 'a', 63);
	strcpy(label63 + 63, ".test");
	/* 4 x (62 + dot) = 252 octets, then one or two more */
	for (i = 0; i < 4; i++) {
		memset(name253 + i * 63, 'b', 62);
		name253[i * 63 + 62] = '.';
	}
	strcpy(name253 + 252, "c");
	strcpy(name254, name253);
	strcat(name254, "d");
	assert_int_equal(strlen(name253), 253);
	for (i = 0; i < sizeof(tests) / sizeof(tests[0]); i++) {
		before = fake_count(e->fake);
		res = NULL;
		assert_int_equal(
		    dns_lookup(e->r, tests[i].input, DNS_T_A, NULL, &res), 0);
		sent = fake_count(e->fake) - before;
		if (res->status != tests[i].want)
			fail_msg("%s: status got %s (%s), want %s",
			    tests[i].name, dns_status_name(res->status),
			    res->why, dns_status_name(tests[i].want));
		if (strstr(res->why, tests[i].want_why) == NULL)
			fail_msg("%s: why got \"%s\", want \"%s\"",
			    tests[i].name, res->why, tests[i].want_why);
		if (tests[i].want == DNS_BADNAME && sent != 0)
			fail_msg("%s: questions sent got %u, want 0",
			    tests[i].name, sent);
		dns_result_free(&res);
	}
}

/* test_cache - a second lookup is answered without a question */
static void
test_cache(void **state)
{
	struct env *e = *state;
	struct dns_stats st0, st1;
	struct dns_query *q;
	struct dns_result *res = NULL;
	unsigned before;

	dns_get_stats(e->r, &st0);
	before = fake_count(e->fake);
	assert_int_equal(dns_lookup(e->r, "a.test", DNS_T_A, NULL, &res), 0);
	assert_int_equal(res->status, DNS_OK);
	dns_result_free(&res);
	assert_int_equal(fake_count(e->fake) - before, 1);

	/* a hit is complete at start: a deadline already past is fine */
	q = dns_query_start(e->r, "A.TEST.", DNS_T_A);
	assert_non_null(q);
	assert_int_equal(
	    dns_query_wait(q, &(struct timespec){ 0, 0 }, &res), 0);
	if (res->status != DNS_OK || res->count != 2)
		fail_msg("hit: got %s with %zu records, want ok with 2",
		    dns_status_name(res->status), res->count);
	if (res->ttl == 0 || res->ttl > 200)
		fail_msg("hit: ttl got %u, want 1..200", res->ttl);
	dns_result_free(&res);
	/* each wait returns a fresh copy */
	assert_int_equal(dns_query_wait(q, NULL, &res), 0);
	assert_string_equal(res->qname, "a.test");
	dns_result_free(&res);
	dns_query_free(&q);
	assert_null(q);
	dns_query_free(&q); /* NULL is fine */
	assert_int_equal(fake_count(e->fake) - before, 1);

	/* negative answers are cached too */
	assert_int_equal(dns_lookup(e->r, "nx.test", DNS_T_A, NULL, &res), 0);
	dns_result_free(&res);
	assert_int_equal(dns_lookup(e->r, "nx.test", DNS_T_A, NULL, &res), 0);
	assert_int_equal(res->status, DNS_NXDOMAIN);
	dns_result_free(&res);
	assert_int_equal(fake_count(e->fake) - before, 2);

	dns_get_stats(e->r, &st1);
	if (st1.queries - st0.queries != 4)
		fail_msg("queries got %lu, want 4", st1.queries - st0.queries);
	if (st1.cache_hits - st0.cache_hits != 2)
		fail_msg("cache_hits got %lu, want 2",
		    st1.cache_hits - st0.cache_hits);
	if (st1.sent - st0.sent != 2)
		fail_msg("sent got %lu, want 2", st1.sent - st0.sent);
	if (st1.cache_entries < 2)
		fail_msg("cache_entries got %lu, want >= 2", st1.cache_entries);
}

/* test_deadline - waits end at the deadline; queries freed early */
static void
test_deadline(void **state)
{
	struct env *e = *state;
	struct dns_query *q, *q2;
	struct dns_result *res = NULL;
	struct dns_stats st0, st1;
	struct timespec past, soon, now;

	dns_get_stats(e->r, &st0);
	/* a deadline in the past */
	clock_gettime(CLOCK_MONOTONIC, &past);
	past.tv_sec -= 1;
	q = dns_query_start(e->r, "drop.test", DNS_T_A);
	assert_non_null(q);
	assert_int_equal(dns_query_wait(q, &past, &res), 0);
	if (res->status != DNS_TEMPFAIL || strcmp(res->why, "deadline") != 0)
		fail_msg("past: got %s \"%s\", want tempfail \"deadline\"",
		    dns_status_name(res->status), res->why);
	assert_string_equal(res->qname, "drop.test");
	dns_result_free(&res);
	/* freed while the worker still waits on the server */
	dns_query_free(&q);

	/* a deadline shorter than the resolver's timeout */
	q = dns_query_start(e->r, "drop.test", DNS_T_TXT);
	dns_deadline(&soon, 50);
	assert_int_equal(dns_query_wait(q, &soon, &res), 0);
	clock_gettime(CLOCK_MONOTONIC, &now);
	assert_int_equal(res->status, DNS_TEMPFAIL);
	assert_string_equal(res->why, "deadline");
	if (now.tv_sec < soon.tv_sec ||
	    (now.tv_sec == soon.tv_sec && now.tv_nsec < soon.tv_nsec))
		fail_msg("returned before the deadline");
	dns_result_free(&res);
	/* then without a deadline: the resolver's own timeout */
	assert_int_equal(dns_query_wait(q, NULL, &res), 0);
	assert_int_equal(res->status, DNS_TEMPFAIL);
	assert_non_null(strstr(res->why, "no reply"));
	dns_result_free(&res);
	dns_query_free(&q);

	/* freed before a worker took it: dropped unseen */
	q = dns_query_start(e->r, "drop.test", DNS_T_MX);
	q2 = dns_query_start(e->r, "a.test", DNS_T_AAAA);
	dns_query_free(&q);
	dns_query_free(&q2);

	dns_get_stats(e->r, &st1);
	if (st1.tempfail - st0.tempfail < 3)
		fail_msg(
		    "tempfail got %lu, want >= 3", st1.tempfail - st0.tempfail);
}

struct worker_arg {
	struct dns_resolver *r; /* shared */
	int id;			/* thread number */
	int failures;		/* lookups that went wrong */
};

/* worker_main - lookups from one thread, some shared with the others */
static void *
worker_main(void *arg)
{
	struct worker_arg *w = arg;
	struct dns_query *q[20];
	struct dns_result *res;
	struct timespec dl;
	char name[64];
	int round, i;

	for (round = 0; round < 3; round++) {
		/* many in flight at once from one thread */
		for (i = 0; i < 20; i++) {
			if (i % 4 == 0)
				snprintf(name, sizeof(name),
				    "shared%d.echo.test", i);
			else
				snprintf(name, sizeof(name),
				    "t%d-r%d-%d.echo.test", w->id, round, i);
			q[i] = dns_query_start(w->r, name, DNS_T_A);
			if (q[i] == NULL)
				w->failures++;
		}
		dns_deadline(&dl, 10000);
		for (i = 0; i < 20; i++) {
			res = NULL;
			if (q[i] == NULL ||
			    dns_query_wait(q[i], &dl, &res) != 0 ||
			    res->status != DNS_OK || res->count != 1 ||
			    res->rr[0].a.s_addr != htonl(0xc0000263))
				w->failures++;
			dns_result_free(&res);
			dns_query_free(&q[i]);
		}
	}
	return NULL;
}

/* test_threads - several threads, many queries in flight */
static void
test_threads(void **state)
{
	struct env *e = *state;
	struct worker_arg w[8];
	pthread_t t[8];
	struct dns_stats st;
	int i;

	for (i = 0; i < 8; i++) {
		w[i].r = e->r;
		w[i].id = i;
		w[i].failures = 0;
		assert_int_equal(
		    pthread_create(&t[i], NULL, worker_main, &w[i]), 0);
	}
	for (i = 0; i < 8; i++) {
		assert_int_equal(pthread_join(t[i], NULL), 0);
		if (w[i].failures != 0)
			fail_msg("thread %d: failures got %d, want 0", i,
			    w[i].failures);
	}
	dns_get_stats(e->r, &st);
	/* 8 x 3 x 15 distinct names, 5 shared ones: at most 365 sent */
	if (fake_count(e->fake) > 8 * 3 * 15 + 8 * 3 * 5)
		fail_msg(
		    "sent got %u, want <= %d", fake_count(e->fake), 8 * 3 * 20);
}

/* test_mutated - damaged replies give some status, never a crash */
static void
test_mutated(void **state)
{
	static const uint16_t types[] = { DNS_T_A, DNS_T_AAAA, DNS_T_MX,
		DNS_T_TXT, DNS_T_PTR, DNS_T_CNAME };
	struct env *e = *state;
	struct dns_result *res;
	struct dns_query *q[6];
	char name[64];
	size_t i, j;

	for (i = 0; i < 300; i++) {
		snprintf(name, sizeof(name), "m%zu.mutate.test", i);
		for (j = 0; j < 6; j++)
			assert_non_null(
			    q[j] = dns_query_start(e->r, name, types[j]));
		for (j = 0; j < 6; j++) {
			res = NULL;
			assert_int_equal(dns_query_wait(q[j], NULL, &res), 0);
			if (res->status == DNS_BADNAME)
				fail_msg(
				    "%s: got badname, want any other", name);
			if (res->status != DNS_OK && res->count != 0)
				fail_msg("%s: %zu records with %s", name,
				    res->count, dns_status_name(res->status));
			dns_result_free(&res);
			dns_query_free(&q[j]);
		}
	}
}

/* test_failover - the next server is asked when one fails */
static void
test_failover(void **state)
{
	static const struct {
		const char *name;
		enum fake_act first; /* FAKE_REPLY with servfail, or DROP */
		bool servfail;
		enum fake_act second;
		enum dns_status want;
		const char *want_why;
	} tests[] = {
		{ "servfail, then ok", FAKE_REPLY, true, FAKE_REPLY, DNS_OK,
		    "" },
		{ "no reply, then ok", FAKE_DROP, false, FAKE_REPLY, DNS_OK,
		    "" },
		{ "garbage, then ok", FAKE_GARBAGE, false, FAKE_REPLY, DNS_OK,
		    "" },
		{ "both fail", FAKE_REPLY, true, FAKE_DROP, DNS_TEMPFAIL,
		    "no reply" },
	};
	struct fake_server *f1, *f2;
	struct dns_resolver *r;
	struct dns_result *res;
	const char *servers[2];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(tests) / sizeof(tests[0]); i++) {
		f1 = fake_start(tests[i].first, tests[i].servfail);
		f2 = fake_start(tests[i].second, false);
		servers[0] = f1->spec;
		servers[1] = f2->spec;
		r = resolver(servers, 2, 200, 0);
		res = NULL;
		assert_int_equal(
		    dns_lookup(r, "a.test", DNS_T_A, NULL, &res), 0);
		if (res->status != tests[i].want)
			fail_msg("%s: got %s (%s), want %s", tests[i].name,
			    dns_status_name(res->status), res->why,
			    dns_status_name(tests[i].want));
		if (strstr(res->why, tests[i].want_why) == NULL)
			fail_msg("%s: why got \"%s\", want \"%s\"",
			    tests[i].name, res->why, tests[i].want_why);
		if (fake_count(f1) != 1 || fake_count(f2) != 1)
			fail_msg("%s: questions got %u and %u, want 1 and 1",
			    tests[i].name, fake_count(f1), fake_count(f2));
		dns_result_free(&res);
		/* the failed server is asked again next time */
		assert_int_equal(
		    dns_lookup(r, "a.test", DNS_T_A, NULL, &res), 0);
		if (fake_count(f1) != 2)
			fail_msg("%s: first server again: got %u, want 2",
			    tests[i].name, fake_count(f1));
		dns_result_free(&res);
		dns_resolver_free(&r);
		fake_stop(&f1);
		fake_stop(&f2);
	}
}

/* test_retries - retries are further rounds over all servers */
static void
test_retries(void **state)
{
	struct fake_server *f = fake_start(FAKE_REPLY, true);
	const char *servers[1] = { f->spec };
	struct dns_options o = {
		.servers = servers,
		.server_count = 1,
		.timeout_ms = 200,
		.retries = 2,
		.workers = 1,
	};
	struct dns_resolver *r = NULL;
	struct dns_result *res = NULL;
	char *err = NULL;

	(void)state;
	assert_int_equal(dns_resolver_create(&o, &r, &err), 0);
	assert_int_equal(dns_lookup(r, "a.test", DNS_T_A, NULL, &res), 0);
	assert_int_equal(res->status, DNS_TEMPFAIL);
	if (fake_count(f) != 3)
		fail_msg("questions got %u, want 3", fake_count(f));
	dns_result_free(&res);
	dns_resolver_free(&r);
	fake_stop(&f);
}

/* test_options - nameserver strings and the settings checked */
static void
test_options(void **state)
{
	static const struct {
		const char *name;
		const char *server;
		unsigned workers;
		int want;	      /* dns_resolver_create() */
		const char *want_err; /* substring */
	} tests[] = {
		{ "IPv4", "192.0.2.1", 1, 0, NULL },
		{ "IPv4 port", "192.0.2.1@5353", 1, 0, NULL },
		{ "IPv6", "::1", 1, 0, NULL },
		{ "IPv6 port", "2001:db8::53@53", 1, 0, NULL },
		{ "short", "1.2.3", 1, -1, "1.2.3: not an address" },
		{ "name", "dns.example", 1, -1, "not an address" },
		{ "brackets", "[::1]", 1, -1, "not an address" },
		{ "empty", "", 1, -1, "not an address" },
		{ "no address", "@53", 1, -1, "not an address" },
		{ "port 0", "192.0.2.1@0", 1, -1, "not a port" },
		{ "port big", "192.0.2.1@65536", 1, -1, "not a port" },
		{ "port word", "192.0.2.1@dns", 1, -1, "not a port" },
		{ "port empty", "192.0.2.1@", 1, -1, "not a port" },
		{ "port sign", "192.0.2.1@-53", 1, -1, "not a port" },
		{ "control", "1.2.3.4\n", 1, -1, "1.2.3.4\\x0a: not an" },
		{ "workers", "192.0.2.1", 100000, -1, "dns_workers" },
	};
	struct dns_options o;
	struct dns_resolver *r;
	const char *servers[1];
	char *err;
	size_t i;
	int rc;

	(void)state;
	for (i = 0; i < sizeof(tests) / sizeof(tests[0]); i++) {
		memset(&o, 0, sizeof(o));
		servers[0] = tests[i].server;
		o.servers = servers;
		o.server_count = 1;
		o.workers = tests[i].workers;
		r = NULL;
		err = NULL;
		rc = dns_resolver_create(&o, &r, &err);
		if (rc != tests[i].want)
			fail_msg("%s: got %d (%s), want %d", tests[i].name, rc,
			    err ? err : "", tests[i].want);
		if (tests[i].want_err != NULL &&
		    (err == NULL || strstr(err, tests[i].want_err) == NULL))
			fail_msg("%s: error got \"%s\", want \"%s\"",
			    tests[i].name, err ? err : "(null)",
			    tests[i].want_err);
		if (rc == -1 && r != NULL)
			fail_msg("%s: resolver set on failure", tests[i].name);
		free(err);
		dns_resolver_free(&r);
	}
	/* no servers: /etc/resolv.conf, if there is one (nothing is sent) */
	memset(&o, 0, sizeof(o));
	err = NULL;
	r = NULL;
	if (dns_resolver_create(&o, &r, &err) == -1 &&
	    (err == NULL || strstr(err, "dns_nameservers") == NULL))
		fail_msg("resolv.conf: error got \"%s\", want "
			 "\"dns_nameservers...\"",
		    err ? err : "(null)");
	free(err);
	dns_resolver_free(&r);
	dns_resolver_free(NULL);
}

/* test_reverse_and_names - dns_reverse_name and dns_status_name */
static void
test_reverse_and_names(void **state)
{
	static const struct {
		int family;
		const char *addr;
		size_t size;
		int want;
		const char *want_name;
	} tests[] = {
		{ AF_INET, "192.0.2.1", 74, 0, "1.2.0.192.in-addr.arpa" },
		{ AF_INET, "10.0.0.255", 74, 0, "255.0.0.10.in-addr.arpa" },
		{ AF_INET, "255.255.255.255", 29, 0,
		    "255.255.255.255.in-addr.arpa" },
		{ AF_INET, "255.255.255.255", 28, -1, NULL },
		{ AF_INET6, "2001:db8::567:89ab", 74, 0,
		    "b.a.9.8.7.6.5.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0."
		    "8.b.d.0.1.0.0.2.ip6.arpa" },
		{ AF_INET6, "::1", 73, 0,
		    "1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0."
		    "0.0.0.0.0.0.0.0.ip6.arpa" },
		{ AF_INET6, "::1", 72, -1, NULL },
		{ AF_UNIX, "192.0.2.1", 74, -1, NULL },
	};
	static const struct {
		enum dns_status status;
		const char *want;
	} names[] = {
		{ DNS_OK, "ok" },
		{ DNS_NXDOMAIN, "nxdomain" },
		{ DNS_NODATA, "nodata" },
		{ DNS_TEMPFAIL, "tempfail" },
		{ DNS_BADNAME, "badname" },
	};
	unsigned char addr[16];
	char buf[80];
	size_t i;
	int rc;

	(void)state;
	for (i = 0; i < sizeof(tests) / sizeof(tests[0]); i++) {
		assert_int_equal(
		    inet_pton(tests[i].family == AF_INET6 ? AF_INET6 : AF_INET,
			tests[i].addr, addr),
		    1);
		rc =
		    dns_reverse_name(tests[i].family, addr, buf, tests[i].size);
		if (rc != tests[i].want)
			fail_msg("%s/%zu: got %d, want %d", tests[i].addr,
			    tests[i].size, rc, tests[i].want);
		if (rc == 0 && strcmp(buf, tests[i].want_name) != 0)
			fail_msg("%s: got %s, want %s", tests[i].addr, buf,
			    tests[i].want_name);
	}
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (strcmp(dns_status_name(names[i].status), names[i].want) !=
		    0)
			fail_msg("status %d: got %s, want %s", names[i].status,
			    dns_status_name(names[i].status), names[i].want);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_answers, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cname, setup, teardown),
		cmocka_unit_test_setup_teardown(test_badnames, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cache, setup, teardown),
		cmocka_unit_test_setup_teardown(test_deadline, setup, teardown),
		cmocka_unit_test_setup_teardown(test_threads, setup, teardown),
		cmocka_unit_test_setup_teardown(test_mutated, setup, teardown),
		cmocka_unit_test(test_failover),
		cmocka_unit_test(test_retries),
		cmocka_unit_test(test_options),
		cmocka_unit_test(test_reverse_and_names),
	};

	/* the fake server writes to sockets the resolver may have closed */
	signal(SIGPIPE, SIG_IGN);
	/* SAKIMORI_TEST_DEBUG=1: the resolver's debug lines on stderr */
	if (getenv("SAKIMORI_TEST_DEBUG") != NULL) {
		char *sub[] = { "dns" };

		log_open("test_dns", true);
		if (log_set_debug(sub, 1) != 0)
			return 1;
	}
	return cmocka_run_group_tests(tests, NULL, NULL);
}
