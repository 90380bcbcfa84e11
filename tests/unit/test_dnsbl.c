/*
 * test_dnsbl - DNSBL/RHSBL query names and the paths that need no answer:
 * IPv4 reversed octets, IPv6 nibbles, RHSBL names, names too long, bad
 * addresses and domains; DNS trouble (a server that never answers, a
 * deadline in the past, the zone timeout) is a temperror. Answers from
 * real servers are tested by tests/integration/test_dnsbl_dns.py.
 */
#include "milter/dnsbl.h"

#include <sys/socket.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

struct name_case {
	const char *name;	    /* what the case shows */
	const char *zone;	    /* the zone */
	enum dnsbl_subject subject; /* IP or domain */
	const char *value;	    /* what is asked about */
	const char *want;	    /* query name, or NULL */
	const char *why;	    /* NULL: reason text held */
};

#define V6_99 "9.9.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2"
#define D63 "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"

static const struct name_case name_cases[] = {
	{ "IPv4", "bl.test", DNSBL_CLIENT_IP, "192.0.2.99",
	    "99.2.0.192.bl.test", NULL },
	{ "IPv4 zone root dot", "bl.test.", DNSBL_CLIENT_IP, "192.0.2.1",
	    "1.2.0.192.bl.test", NULL },
	{ "zone upper case", "ZEN.Example.TEST", DNSBL_CLIENT_IP, "10.1.2.3",
	    "3.2.1.10.zen.example.test", NULL },
	{ "RFC 5782 test address", "bl.test", DNSBL_CLIENT_IP, "127.0.0.2",
	    "2.0.0.127.bl.test", NULL },
	{ "IPv4-mapped is IPv4", "bl.test", DNSBL_CLIENT_IP,
	    "::ffff:192.0.2.99", "99.2.0.192.bl.test", NULL },
	{ "IPv6 nibbles", "bl.test", DNSBL_CLIENT_IP, "2001:db8::99",
	    V6_99 ".bl.test", NULL },
	{ "IPv6 upper case", "bl.test", DNSBL_CLIENT_IP,
	    "2001:DB8:0000:0:0:0:0:99", V6_99 ".bl.test", NULL },
	{ "IPv6 all nibbles", "bl.test", DNSBL_CLIENT_IP,
	    "2001:db8:1234:5678:9abc:def0:fedc:ba98",
	    "8.9.a.b.c.d.e.f.0.f.e.d.c.b.a.9.8.7.6.5.4.3.2.1.8.b.d.0.1.0.0.2"
	    ".bl.test",
	    NULL },
	{ "IPv6 ::1", "bl.test", DNSBL_CLIENT_IP, "::1",
	    "1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0"
	    ".bl.test",
	    NULL },
	{ "domain", "dbl.test", DNSBL_HELO, "spam.example.test",
	    "spam.example.test.dbl.test", NULL },
	{ "domain lower-cased, root dot", "dbl.test", DNSBL_MAIL_FROM,
	    "Spam.Example.TEST.", "spam.example.test.dbl.test", NULL },
	{ "domain with _ and -", "dbl.test", DNSBL_FROM, "_x.a-b.test",
	    "_x.a-b.test.dbl.test", NULL },
	{ "RFC 5782 test label", "dbl.test", DNSBL_IPREV, "test",
	    "test.dbl.test", NULL },
	{ "253 octets exactly", "dbl.test", DNSBL_HELO,
	    D63 "." D63 "." D63 "."
		"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
		"aaaaaaaaaaa",
	    D63 "." D63 "." D63 "."
		"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
		"aaaaaaaaaaa.dbl.test",
	    NULL },
	/* Nothing asked. */
	{ "254 octets", "dbl.test", DNSBL_HELO,
	    D63 "." D63 "." D63 "."
		"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
		"aaaaaaaaaaaa",
	    NULL, "over 253" },
	{ "IPv6 with a long zone", D63 "." D63 "." D63, DNSBL_CLIENT_IP,
	    "2001:db8::1", NULL, "over 253" },
	{ "domain too long alone", "dbl.test", DNSBL_HELO,
	    D63 "." D63 "." D63 "." D63 "." D63, NULL, "not a domain" },
	{ "empty label", "dbl.test", DNSBL_HELO, "a..test", NULL,
	    "not a domain" },
	{ "two root dots", "dbl.test", DNSBL_HELO, "a.test..", NULL,
	    "not a domain" },
	{ "only a dot", "dbl.test", DNSBL_HELO, ".", NULL, "not a domain" },
	{ "address literal", "dbl.test", DNSBL_HELO, "[192.0.2.1]", NULL,
	    "not a domain" },
	{ "space", "dbl.test", DNSBL_HELO, "a b.test", NULL, "not a domain" },
	{ "control byte", "dbl.test", DNSBL_HELO, "a\n.test", NULL,
	    "not a domain" },
	{ "label over 63", "dbl.test", DNSBL_HELO, D63 "a.test", NULL,
	    "not a domain" },
	{ "empty value", "dbl.test", DNSBL_HELO, "", NULL, "nothing to ask" },
	{ "NULL value", "dbl.test", DNSBL_HELO, NULL, NULL, "nothing to ask" },
	{ "bad IPv4", "bl.test", DNSBL_CLIENT_IP, "192.0.2.300", NULL,
	    "not an IP" },
	{ "short IPv4", "bl.test", DNSBL_CLIENT_IP, "192.0.2", NULL,
	    "not an IP" },
	{ "IP with port", "bl.test", DNSBL_CLIENT_IP, "192.0.2.1:25", NULL,
	    "not an IP" },
	{ "bracketed IPv6", "bl.test", DNSBL_CLIENT_IP, "[2001:db8::1]", NULL,
	    "not an IP" },
	{ "CIDR", "bl.test", DNSBL_CLIENT_IP, "192.0.2.0/24", NULL,
	    "not an IP" },
	{ "host name as IP", "bl.test", DNSBL_CLIENT_IP, "mx.example.test",
	    NULL, "not an IP" },
	{ "no zone", "", DNSBL_CLIENT_IP, "192.0.2.1", NULL, "no zone" },
	{ "NULL zone", NULL, DNSBL_CLIENT_IP, "192.0.2.1", NULL, "no zone" },
	{ "bad zone", "bl..test", DNSBL_CLIENT_IP, "192.0.2.1", NULL,
	    "zone is not" },
};

/* test_query_names - every case of name_cases */
static void
test_query_names(void **state)
{
	char buf[300];
	const char *why;
	size_t i;
	int rc;

	(void)state;
	for (i = 0; i < sizeof(name_cases) / sizeof(name_cases[0]); i++) {
		const struct name_case *c = &name_cases[i];

		buf[0] = '\0';
		rc = dnsbl_query_name(
		    c->zone, c->subject, c->value, buf, sizeof(buf), &why);
		if (c->want != NULL) {
			if (rc != 0)
				fail_msg("%s: refused (%s)", c->name, why);
			if (strcmp(buf, c->want) != 0)
				fail_msg("%s: got %s, want %s", c->name, buf,
				    c->want);
			if (strlen(buf) > 253)
				fail_msg(
				    "%s: %zu octets", c->name, strlen(buf));
		} else {
			if (rc != -1)
				fail_msg(
				    "%s: got %s, want refused", c->name, buf);
			if (strstr(why, c->why) == NULL)
				fail_msg("%s: why %s, want %s", c->name, why,
				    c->why);
		}
	}
}

/* test_small_buffer - a name that does not fit is refused */
static void
test_small_buffer(void **state)
{
	char buf[10];
	const char *why;

	(void)state;
	assert_int_equal(dnsbl_query_name("bl.test", DNSBL_CLIENT_IP,
			     "192.0.2.99", buf, sizeof(buf), &why),
	    -1);
	assert_non_null(strstr(why, "buffer"));
}

/* silent_server - a UDP socket on 127.0.0.1 that never answers */
static int
silent_server(char *server, size_t size)
{
	struct sockaddr_in sin;
	socklen_t len = sizeof(sin);
	int fd;

	fd = socket(AF_INET, SOCK_DGRAM, 0);
	assert_true(fd >= 0);
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&sin, &len), 0);
	snprintf(server, size, "127.0.0.1@%u", ntohs(sin.sin_port));
	return fd;
}

/* resolver - a resolver asking only the silent server */
static struct dns_resolver *
resolver(const char *server)
{
	static const char *servers[1];
	struct dns_options opts;
	struct dns_resolver *r = NULL;
	char *error = NULL;

	servers[0] = server;
	memset(&opts, 0, sizeof(opts));
	opts.servers = servers;
	opts.server_count = 1;
	opts.timeout_ms = 5000;
	opts.retries = 0;
	opts.cache_size = 0;
	opts.cache_max_ttl = 60;
	opts.workers = 2;
	opts.max_answer_records = 20;
	if (dns_resolver_create(&opts, &r, &error) != 0)
		fail_msg("resolver: %s", error != NULL ? error : "?");
	return r;
}

/* test_temperror - no answer: temperror by deadline or zone timeout */
static void
test_temperror(void **state)
{
	struct dns_resolver *r;
	struct dnsbl_query *q;
	struct dnsbl_result out, again;
	struct dnsbl_zone z = { "bl.test", DNSBL_CLIENT_IP, NULL, 0, true };
	struct timespec past;
	char server[64];
	int fd;

	(void)state;
	fd = silent_server(server, sizeof(server));
	r = resolver(server);

	/* A deadline already passed. */
	clock_gettime(CLOCK_MONOTONIC, &past);
	past.tv_sec -= 1;
	assert_non_null(q = dnsbl_start(r, &z, "192.0.2.99"));
	assert_int_equal(dnsbl_finish(q, &past, &out), 0);
	assert_int_equal(out.status, DNSBL_TEMPERROR);
	assert_string_equal(out.qname, "99.2.0.192.bl.test");
	assert_non_null(strstr(out.reason, "deadline"));
	assert_string_equal(out.code, "");
	/* Later calls return the same result. */
	assert_int_equal(dnsbl_finish(q, NULL, &again), 0);
	assert_memory_equal(&out, &again, sizeof(out));
	dnsbl_free(&q);
	assert_null(q);

	/* The zone's own timeout, no caller deadline; RHSBL this time. */
	z.subject = DNSBL_HELO;
	z.timeout_ms = 50;
	z.want_txt = false;
	assert_non_null(q = dnsbl_start(r, &z, "spam.example.test"));
	assert_int_equal(dnsbl_finish(q, NULL, &out), 0);
	assert_int_equal(out.status, DNSBL_TEMPERROR);
	assert_string_equal(out.reason, "zone timeout (50 ms)");
	dnsbl_free(&q);

	/* Freed before its answer. */
	assert_non_null(q = dnsbl_start(r, &z, "spam.example.test"));
	dnsbl_free(&q);
	dnsbl_free(&q);
	dnsbl_free(NULL);

	dns_resolver_free(&r);
	close(fd);
}

/* test_nothing_asked - bad values: not listed, with the reason */
static void
test_nothing_asked(void **state)
{
	struct dns_resolver *r;
	struct dnsbl_query *q;
	struct dnsbl_result out;
	struct dnsbl_zone z = { "bl.test", DNSBL_CLIENT_IP, NULL, 10, true };
	struct dns_stats st;
	char server[64];
	int fd;

	(void)state;
	fd = silent_server(server, sizeof(server));
	r = resolver(server);
	assert_non_null(q = dnsbl_start(r, &z, "not-an-ip"));
	assert_int_equal(dnsbl_finish(q, NULL, &out), 0);
	assert_int_equal(out.status, DNSBL_NOT_LISTED);
	assert_string_equal(out.reason, "not an IP address");
	assert_string_equal(out.qname, "");
	dnsbl_free(&q);

	z.subject = DNSBL_FROM;
	assert_non_null(q = dnsbl_start(r, &z, NULL));
	assert_int_equal(dnsbl_finish(q, NULL, &out), 0);
	assert_int_equal(out.status, DNSBL_NOT_LISTED);
	assert_string_equal(out.reason, "nothing to ask");
	dnsbl_free(&q);

	dns_get_stats(r, &st);
	assert_int_equal(st.queries, 0);
	dns_resolver_free(&r);
	close(fd);
}

/* test_names - the words of statuses and subjects */
static void
test_names(void **state)
{
	(void)state;
	assert_string_equal(dnsbl_status_name(DNSBL_LISTED), "listed");
	assert_string_equal(dnsbl_status_name(DNSBL_NOT_LISTED), "not_listed");
	assert_string_equal(dnsbl_status_name(DNSBL_REFUSED), "refused");
	assert_string_equal(dnsbl_status_name(DNSBL_TEMPERROR), "temperror");
	assert_string_equal(dnsbl_subject_name(DNSBL_CLIENT_IP), "client_ip");
	assert_string_equal(dnsbl_subject_name(DNSBL_HELO), "helo");
	assert_string_equal(dnsbl_subject_name(DNSBL_MAIL_FROM), "mail_from");
	assert_string_equal(dnsbl_subject_name(DNSBL_FROM), "from");
	assert_string_equal(dnsbl_subject_name(DNSBL_IPREV), "iprev");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_query_names),
		cmocka_unit_test(test_small_buffer),
		cmocka_unit_test(test_temperror),
		cmocka_unit_test(test_nothing_asked),
		cmocka_unit_test(test_names),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
