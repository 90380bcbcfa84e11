/*
 * NAME
 *	test_ctlauth - unit tests for milter/ctlauth.c
 * DESCRIPTION
 *	A known answer (the HMAC computed by Python's hmac module over the
 *	documented input); a correct request accepted; a changed request
 *	line, payload or secret, a missing or malformed auth line, a stale
 *	or future timestamp and a replayed nonce refused, each with its
 *	reason; the incremental forms against the one-call forms; the
 *	replay cache bound, its eviction and its horizon; concurrent
 *	replays; the secret file. The clock is injected.
 */
#include "milter/ctlauth.h"

#include <sys/stat.h>

#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))
#define NOW ((time_t)1700000000) /* 2023-11-14T22:13:20Z */
#define WINDOW 300		 /* seconds */
#define SECRET "0123456789abcdef0123456789abcdef"
#define NONCE "00112233445566778899aabbccddeeff"
#define REQUEST "list push blocked-ips 12"
#define PAYLOAD "10.0.0.0/8\n"
/* Python: hmac.new(SECRET, "sakimori-ctl-v1\n1700000000\n" NONCE "\n"
 * REQUEST "\n" PAYLOAD, hashlib.sha256).hexdigest() */
#define KNOWN_HMAC \
	"403f45a44a60791573d636267cd7b687d26ba8a48cef4401fb5158cb97969bdf"
#define KNOWN_LINE "auth v1 1700000000 " NONCE " " KNOWN_HMAC

static const unsigned char secret[] = SECRET;
#define SECRET_LEN (sizeof(secret) - 1)

/* sign - an auth line or fail the test */
static void
sign(time_t ts, const char *nonce, const char *request, const char *payload,
    size_t len, char *line)
{
	char *error = NULL;

	if (ctlauth_sign(secret, SECRET_LEN, ts, nonce, request, payload, len,
		line, &error) < 0)
		fail_msg(
		    "sign %s: got error \"%s\", want a line", request, error);
	assert_null(error);
}

/* verifier - a new verifier or fail the test */
static struct ctlauth *
verifier(unsigned window, size_t max)
{
	struct ctlauth *v = ctlauth_new(window, max);

	assert_non_null(v);
	return v;
}

/* nonce_n - a nonce made from a number */
static void
nonce_n(unsigned n, char *nonce)
{
	snprintf(nonce, CTLAUTH_NONCE_SIZE, "%032x", n);
}

/* test_known_answer - the documented MAC, accepted */
static void
test_known_answer(void **state)
{
	char line[CTLAUTH_LINE_SIZE];
	struct ctlauth *v = verifier(WINDOW, 16);
	const char *why = NULL;

	(void)state;
	sign(NOW, NONCE, REQUEST, PAYLOAD, strlen(PAYLOAD), line);
	assert_string_equal(line, KNOWN_LINE);
	assert_int_equal(ctlauth_check(v, secret, SECRET_LEN, KNOWN_LINE,
			     REQUEST, PAYLOAD, strlen(PAYLOAD), NOW, &why),
	    0);
	assert_null(why);
	assert_int_equal(ctlauth_nonces(v), 1);
	ctlauth_free(&v);
	assert_null(v);
	ctlauth_free(&v);
}

struct refuse_case {
	const char *name;	     /* case name */
	const unsigned char *secret; /* server's secret */
	size_t secret_len;	     /* its length */
	const char *auth;	     /* auth line received */
	const char *request;	     /* request line received */
	const char *payload;	     /* payload received */
	size_t payload_len;	     /* its length */
	time_t now;		     /* server's clock */
	const char *why;	     /* reason wanted, NULL: accepted */
};

/* check_cases - each case against a fresh verifier */
static void
check_cases(const struct refuse_case *cases, size_t n)
{
	struct ctlauth *v;
	const char *why;
	size_t i;
	int rc;

	for (i = 0; i < n; i++) {
		v = verifier(WINDOW, 16);
		why = NULL;
		rc = ctlauth_check(v, cases[i].secret, cases[i].secret_len,
		    cases[i].auth, cases[i].request, cases[i].payload,
		    cases[i].payload_len, cases[i].now, &why);
		if (cases[i].why == NULL && rc != 0)
			fail_msg("%s: got refused (%s), want accepted",
			    cases[i].name, why);
		if (cases[i].why != NULL &&
		    (rc != -1 || why == NULL || strcmp(why, cases[i].why) != 0))
			fail_msg("%s: got %d (%s), want refused (%s)",
			    cases[i].name, rc, why != NULL ? why : "no reason",
			    cases[i].why);
		/* Only an accepted request's nonce is kept. */
		assert_int_equal(ctlauth_nonces(v), rc == 0 ? 1 : 0);
		ctlauth_free(&v);
	}
}

/* test_tampered - any changed byte, or another secret: bad HMAC */
static void
test_tampered(void **state)
{
	static const unsigned char wrong[] = "0123456789abcdef0123456789abcdeF";
	static const unsigned char longer[] = SECRET "0";
	const size_t plen = strlen(PAYLOAD);
	const struct refuse_case cases[] = {
		{ "as sent", secret, SECRET_LEN, KNOWN_LINE, REQUEST, PAYLOAD,
		    plen, NOW, NULL },
		{ "request byte", secret, SECRET_LEN, KNOWN_LINE,
		    "list push blocked-ips 13", PAYLOAD, plen, NOW,
		    "bad HMAC" },
		{ "request space", secret, SECRET_LEN, KNOWN_LINE, REQUEST " ",
		    PAYLOAD, plen, NOW, "bad HMAC" },
		{ "request shorter", secret, SECRET_LEN, KNOWN_LINE,
		    "list push blocked-ips 1", PAYLOAD, plen, NOW, "bad HMAC" },
		{ "payload byte", secret, SECRET_LEN, KNOWN_LINE, REQUEST,
		    "10.0.0.0/9\n", plen, NOW, "bad HMAC" },
		{ "payload cut", secret, SECRET_LEN, KNOWN_LINE, REQUEST,
		    PAYLOAD, plen - 1, NOW, "bad HMAC" },
		{ "payload longer", secret, SECRET_LEN, KNOWN_LINE, REQUEST,
		    PAYLOAD "1", plen + 1, NOW, "bad HMAC" },
		{ "payload none", secret, SECRET_LEN, KNOWN_LINE, REQUEST, NULL,
		    0, NOW, "bad HMAC" },
		{ "wrong secret", wrong, sizeof(wrong) - 1, KNOWN_LINE, REQUEST,
		    PAYLOAD, plen, NOW, "bad HMAC" },
		{ "longer secret", longer, sizeof(longer) - 1, KNOWN_LINE,
		    REQUEST, PAYLOAD, plen, NOW, "bad HMAC" },
		{ "other timestamp", secret, SECRET_LEN,
		    "auth v1 1700000001 " NONCE " " KNOWN_HMAC, REQUEST,
		    PAYLOAD, plen, NOW, "bad HMAC" },
		{ "other nonce", secret, SECRET_LEN,
		    "auth v1 1700000000 "
		    "10112233445566778899aabbccddeeff " KNOWN_HMAC,
		    REQUEST, PAYLOAD, plen, NOW, "bad HMAC" },
		{ "other HMAC", secret, SECRET_LEN,
		    "auth v1 1700000000 " NONCE " 503f45a44a60791573d636267cd7"
		    "b687d26ba8a48cef4401fb5158cb97969bdf",
		    REQUEST, PAYLOAD, plen, NOW, "bad HMAC" },
		{ "HMAC last digit", secret, SECRET_LEN,
		    "auth v1 1700000000 " NONCE " 403f45a44a60791573d636267cd7"
		    "b687d26ba8a48cef4401fb5158cb97969bde",
		    REQUEST, PAYLOAD, plen, NOW, "bad HMAC" },
		{ "request with LF", secret, SECRET_LEN, KNOWN_LINE,
		    REQUEST "\n", PAYLOAD, plen, NOW,
		    "malformed request line" },
		{ "request with CR", secret, SECRET_LEN, KNOWN_LINE,
		    REQUEST "\r", PAYLOAD, plen, NOW,
		    "malformed request line" },
		{ "no request", secret, SECRET_LEN, KNOWN_LINE, NULL, PAYLOAD,
		    plen, NOW, "malformed request line" },
		{ "short server secret", secret, 31, KNOWN_LINE, REQUEST,
		    PAYLOAD, plen, NOW, "secret too short" },
		{ "no server secret", NULL, 0, KNOWN_LINE, REQUEST, PAYLOAD,
		    plen, NOW, "secret too short" },
	};

	(void)state;
	check_cases(cases, NELEM(cases));
}

/* test_malformed - missing, malformed and unsupported auth lines */
static void
test_malformed(void **state)
{
	const size_t plen = strlen(PAYLOAD);
#define M(name, line, why) \
	{ \
		name, secret, SECRET_LEN, line, REQUEST, PAYLOAD, plen, NOW, \
		    why \
	}
#define TS "1700000000 "
#define MAL "malformed auth line"
#define MISSING "missing auth line"
	const struct refuse_case cases[] = {
		M("no line", NULL, MISSING),
		M("empty line", "", MISSING),
		M("request first", REQUEST, MISSING),
		M("upper case", "AUTH v1 " TS NONCE " " KNOWN_HMAC, MISSING),
		M("no space", "authv1 " TS NONCE " " KNOWN_HMAC, MISSING),
		M("leading space", " " KNOWN_LINE, MISSING),
		M("auth only", "auth", MAL),
		M("auth space", "auth ", MAL),
		M("version only", "auth v1", MAL),
		M("no HMAC", "auth v1 " TS NONCE, MAL),
		M("no nonce", "auth v1 " TS KNOWN_HMAC, MAL),
		M("six words", KNOWN_LINE " x", MAL),
		M("trailing space", KNOWN_LINE " ", MAL),
		M("trailing newline", KNOWN_LINE "\n", MAL),
		M("trailing CR", KNOWN_LINE "\r", MAL),
		M("two spaces", "auth  v1 " TS NONCE " " KNOWN_HMAC, MAL),
		M("tab", "auth v1\t" TS NONCE " " KNOWN_HMAC, MAL),
		M("version V1", "auth V1 " TS NONCE " " KNOWN_HMAC, MAL),
		M("version 1", "auth 1 " TS NONCE " " KNOWN_HMAC, MAL),
		M("version v", "auth v " TS NONCE " " KNOWN_HMAC, MAL),
		M("version v2", "auth v2 " TS NONCE " " KNOWN_HMAC,
		    "unsupported auth version"),
		M("version v10", "auth v10 " TS NONCE " " KNOWN_HMAC,
		    "unsupported auth version"),
		M("version v2 alone", "auth v2", "unsupported auth version"),
		M("leading zero", "auth v1 01700000000 " NONCE " " KNOWN_HMAC,
		    MAL),
		M("plus sign", "auth v1 +1700000000 " NONCE " " KNOWN_HMAC,
		    MAL),
		M("minus sign", "auth v1 -1700000000 " NONCE " " KNOWN_HMAC,
		    MAL),
		M("not a number", "auth v1 now " NONCE " " KNOWN_HMAC, MAL),
		M("20 digits",
		    "auth v1 17000000000000000000 " NONCE " " KNOWN_HMAC, MAL),
		M("over INT64_MAX",
		    "auth v1 9223372036854775808 " NONCE " " KNOWN_HMAC, MAL),
		M("nonce short", "auth v1 " TS "0011223344556677 " KNOWN_HMAC,
		    MAL),
		M("nonce odd",
		    "auth v1 " TS "00112233445566778899aabbccddeef " KNOWN_HMAC,
		    MAL),
		M("nonce long", "auth v1 " TS NONCE "00 " KNOWN_HMAC, MAL),
		M("nonce upper",
		    "auth v1 " TS
		    "00112233445566778899AABBCCDDEEFF " KNOWN_HMAC,
		    MAL),
		M("nonce not hex",
		    "auth v1 " TS "00112233445566778899aabbccdd"
		    "eefg " KNOWN_HMAC,
		    MAL),
		M("HMAC short", "auth v1 " TS NONCE " 403f45a4", MAL),
		M("HMAC upper",
		    "auth v1 " TS NONCE " 403F45A44A60791573D636267"
		    "CD7B687D26BA8A48CEF4401FB5158CB97969BDF",
		    MAL),
		M("HMAC long", KNOWN_LINE "00", MAL),
		M("HMAC base64",
		    "auth v1 " TS NONCE " QD9FpEpgeRVz1jYmfNe2h9J"
		    "rqKSM70QB+1FYy5eWm98=",
		    MAL),
	};
#undef M
#undef TS
#undef MAL
#undef MISSING

	(void)state;
	check_cases(cases, NELEM(cases));
}

/* test_window - timestamps at and past the window, both ways */
static void
test_window(void **state)
{
	static const struct {
		const char *name; /* case name */
		time_t ts;	  /* the client's time */
		int want;	  /* 0 accepted, -1 refused */
	} cases[] = {
		{ "now", NOW, 0 },
		{ "oldest", NOW - WINDOW, 0 },
		{ "stale", NOW - WINDOW - 1, -1 },
		{ "an hour old", NOW - 3600, -1 },
		{ "zero", 0, -1 },
		{ "latest", NOW + WINDOW, 0 },
		{ "future", NOW + WINDOW + 1, -1 },
		{ "far future", (time_t)INT64_MAX, -1 },
	};
	char line[CTLAUTH_LINE_SIZE];
	struct ctlauth *v;
	const char *why;
	size_t i;
	int rc;

	(void)state;
	for (i = 0; i < NELEM(cases); i++) {
		v = verifier(WINDOW, 16);
		sign(cases[i].ts, NONCE, REQUEST, NULL, 0, line);
		why = NULL;
		rc = ctlauth_check(
		    v, secret, SECRET_LEN, line, REQUEST, NULL, 0, NOW, &why);
		if (rc != cases[i].want)
			fail_msg("%s: got %d (%s), want %d", cases[i].name, rc,
			    why != NULL ? why : "accepted", cases[i].want);
		if (rc < 0)
			assert_string_equal(
			    why, "timestamp outside the window");
		ctlauth_free(&v);
	}
	/* A server clock far from any client's. */
	v = verifier(WINDOW, 16);
	sign(NOW, NONCE, REQUEST, NULL, 0, line);
	assert_int_equal(ctlauth_check(v, secret, SECRET_LEN, line, REQUEST,
			     NULL, 0, 0, &why),
	    -1);
	assert_string_equal(why, "timestamp outside the window");
	ctlauth_free(&v);
}

/* test_replay - a nonce is taken once; refusals do not take it */
static void
test_replay(void **state)
{
	char line[CTLAUTH_LINE_SIZE], other[CTLAUTH_LINE_SIZE];
	struct ctlauth *v = verifier(WINDOW, 16);
	const char *why = NULL;

	(void)state;
	/* A tampered copy first: refused, and the nonce stays free. */
	assert_int_equal(ctlauth_check(v, secret, SECRET_LEN, KNOWN_LINE,
			     REQUEST, "x", 1, NOW, &why),
	    -1);
	assert_string_equal(why, "bad HMAC");
	assert_int_equal(ctlauth_check(v, secret, SECRET_LEN, KNOWN_LINE,
			     REQUEST, PAYLOAD, strlen(PAYLOAD), NOW, &why),
	    0);
	/* The same request again, at once and later in the window. */
	assert_int_equal(ctlauth_check(v, secret, SECRET_LEN, KNOWN_LINE,
			     REQUEST, PAYLOAD, strlen(PAYLOAD), NOW, &why),
	    -1);
	assert_string_equal(why, "nonce replayed");
	assert_int_equal(
	    ctlauth_check(v, secret, SECRET_LEN, KNOWN_LINE, REQUEST, PAYLOAD,
		strlen(PAYLOAD), NOW + WINDOW, &why),
	    -1);
	assert_string_equal(why, "nonce replayed");
	/* The same nonce on another request, another time. */
	sign(NOW + 10, NONCE, "reload", NULL, 0, other);
	assert_int_equal(ctlauth_check(v, secret, SECRET_LEN, other, "reload",
			     NULL, 0, NOW + 10, &why),
	    -1);
	assert_string_equal(why, "nonce replayed");
	/* Past the window the time refuses it, nonce kept or not. */
	assert_int_equal(
	    ctlauth_check(v, secret, SECRET_LEN, KNOWN_LINE, REQUEST, PAYLOAD,
		strlen(PAYLOAD), NOW + WINDOW + 1, &why),
	    -1);
	assert_string_equal(why, "timestamp outside the window");
	/* Another nonce is fine. */
	sign(NOW, "ffffffffffffffffffffffffffffffff", REQUEST, PAYLOAD,
	    strlen(PAYLOAD), line);
	assert_int_equal(ctlauth_check(v, secret, SECRET_LEN, line, REQUEST,
			     PAYLOAD, strlen(PAYLOAD), NOW + 1, &why),
	    0);
	assert_int_equal(ctlauth_nonces(v), 2);
	ctlauth_free(&v);
}

/* test_cache_bound - full refuses; nonces leave with their window */
static void
test_cache_bound(void **state)
{
	char line[CTLAUTH_LINE_SIZE], nonce[CTLAUTH_NONCE_SIZE];
	struct ctlauth *v = verifier(WINDOW, 3);
	const char *why = NULL;
	unsigned n;

	(void)state;
	/* Three taken: one from the future, two now. */
	for (n = 1; n <= 3; n++) {
		nonce_n(n, nonce);
		sign(n == 1 ? NOW + 100 : NOW, nonce, "ping", NULL, 0, line);
		assert_int_equal(ctlauth_check(v, secret, SECRET_LEN, line,
				     "ping", NULL, 0, NOW, &why),
		    0);
	}
	assert_int_equal(ctlauth_nonces(v), 3);
	/* A fourth, valid and fresh, is refused rather than one forgotten. */
	nonce_n(4, nonce);
	sign(NOW, nonce, "ping", NULL, 0, line);
	assert_int_equal(ctlauth_check(v, secret, SECRET_LEN, line, "ping",
			     NULL, 0, NOW + WINDOW, &why),
	    -1);
	assert_string_equal(why, "replay cache full");
	assert_int_equal(ctlauth_nonces(v), 3);
	/* Once the two of NOW are out of the window, room again. */
	nonce_n(5, nonce);
	sign(NOW + WINDOW + 1, nonce, "ping", NULL, 0, line);
	assert_int_equal(ctlauth_check(v, secret, SECRET_LEN, line, "ping",
			     NULL, 0, NOW + WINDOW + 1, &why),
	    0);
	assert_int_equal(ctlauth_nonces(v), 2);
	/* The one from the future is kept until its own time is past. */
	nonce_n(1, nonce);
	sign(NOW + 100, nonce, "ping", NULL, 0, line);
	assert_int_equal(ctlauth_check(v, secret, SECRET_LEN, line, "ping",
			     NULL, 0, NOW + 100 + WINDOW, &why),
	    -1);
	assert_string_equal(why, "nonce replayed");
	nonce_n(6, nonce);
	sign(NOW + 101 + WINDOW, nonce, "ping", NULL, 0, line);
	assert_int_equal(ctlauth_check(v, secret, SECRET_LEN, line, "ping",
			     NULL, 0, NOW + 101 + WINDOW, &why),
	    0);
	assert_int_equal(ctlauth_nonces(v), 2);
	/* The refused fourth may come again with a new nonce. */
	ctlauth_free(&v);

	/* Bad arguments. */
	errno = 0;
	assert_null(ctlauth_new(0, 10));
	assert_int_equal(errno, EINVAL);
	assert_null(ctlauth_new(CTLAUTH_WINDOW_MAX + 1, 10));
	assert_null(ctlauth_new(WINDOW, 0));
	assert_null(ctlauth_new(WINDOW, CTLAUTH_NONCES_MAX + 1));
}

/* test_incremental - pieces give the same MAC as one call */
static void
test_incremental(void **state)
{
	char line[CTLAUTH_LINE_SIZE], line2[CTLAUTH_LINE_SIZE];
	const size_t size = 1 << 20, piece = 4093;
	struct ctlauth_mac *mac = NULL;
	struct ctlauth *v = verifier(WINDOW, 16);
	const char *why = NULL;
	char *error = NULL;
	unsigned char *big;
	size_t i, n;

	(void)state;
	big = malloc(size);
	assert_non_null(big);
	for (i = 0; i < size; i++)
		big[i] = (unsigned char)(i * 7 + (i >> 8));

	/* Client: one call, and in pieces. */
	sign(NOW, NONCE, "list push big", (const char *)big, size, line);
	assert_int_equal(ctlauth_mac_new(secret, SECRET_LEN, NOW, NONCE,
			     "list push big", &mac, &error),
	    0);
	assert_null(error);
	for (i = 0; i < size; i += n) {
		n = size - i < piece ? size - i : piece;
		ctlauth_mac_update(mac, big + i, n);
	}
	ctlauth_mac_update(mac, big, 0);
	assert_int_equal(ctlauth_mac_auth_line(&mac, line2, &error), 0);
	assert_null(mac);
	assert_string_equal(line, line2);

	/* Server: begin, pieces, finish. */
	assert_int_equal(ctlauth_begin(v, secret, SECRET_LEN, line,
			     "list push big", NOW, &mac, &why),
	    0);
	assert_non_null(mac);
	for (i = 0; i < size; i += n) {
		n = size - i < piece ? size - i : piece;
		ctlauth_mac_update(mac, big + i, n);
	}
	assert_int_equal(ctlauth_finish(v, &mac, NOW + 5, &why), 0);
	assert_null(mac);

	/* A replay is refused at begin, before any payload is read. */
	assert_int_equal(ctlauth_begin(v, secret, SECRET_LEN, line,
			     "list push big", NOW + 6, &mac, &why),
	    -1);
	assert_string_equal(why, "nonce replayed");
	assert_null(mac);

	/* A changed last byte is caught at finish. */
	big[size - 1] ^= 1;
	sign(NOW, "0000000000000000000000000000abcd", "list push big",
	    (const char *)big, size, line);
	big[size - 1] ^= 1;
	assert_int_equal(ctlauth_begin(v, secret, SECRET_LEN, line,
			     "list push big", NOW, &mac, &why),
	    0);
	ctlauth_mac_update(mac, big, size);
	assert_int_equal(ctlauth_finish(v, &mac, NOW, &why), -1);
	assert_string_equal(why, "bad HMAC");
	assert_null(mac);

	/* Abandoned after begin: freed, nonce not taken. */
	assert_int_equal(ctlauth_begin(v, secret, SECRET_LEN, line,
			     "list push big", NOW, &mac, &why),
	    0);
	ctlauth_mac_free(&mac);
	assert_null(mac);
	ctlauth_mac_free(&mac);
	assert_int_equal(ctlauth_nonces(v), 1);
	free(big);
	ctlauth_free(&v);
}

/* test_slow_upload - the horizon: slow alone is fine, a gap is refused */
static void
test_slow_upload(void **state)
{
	char line[CTLAUTH_LINE_SIZE];
	struct ctlauth_mac *a = NULL, *b = NULL;
	struct ctlauth *v = verifier(WINDOW, 16);
	const char *why = NULL;

	(void)state;
	/* Alone: begun in the window, finished long after; no replay. */
	sign(NOW, NONCE, REQUEST, PAYLOAD, strlen(PAYLOAD), line);
	assert_int_equal(ctlauth_begin(v, secret, SECRET_LEN, line, REQUEST,
			     NOW + WINDOW, &a, &why),
	    0);
	ctlauth_mac_update(a, PAYLOAD, strlen(PAYLOAD));
	assert_int_equal(ctlauth_finish(v, &a, NOW + 5000, &why), 0);
	assert_int_equal(ctlauth_begin(v, secret, SECRET_LEN, line, REQUEST,
			     NOW + WINDOW, &a, &why),
	    -1);
	assert_string_equal(why, "timestamp outside the window");
	ctlauth_free(&v);

	/*
	 * Two copies of one request begun together; another request
	 * finishes late and drops nonces of that time. The first copy
	 * finishing may or may not be stored: the second must not pass.
	 */
	v = verifier(WINDOW, 16);
	assert_int_equal(
	    ctlauth_begin(v, secret, SECRET_LEN, line, REQUEST, NOW, &a, &why),
	    0);
	assert_int_equal(
	    ctlauth_begin(v, secret, SECRET_LEN, line, REQUEST, NOW, &b, &why),
	    0);
	ctlauth_mac_update(a, PAYLOAD, strlen(PAYLOAD));
	ctlauth_mac_update(b, PAYLOAD, strlen(PAYLOAD));
	assert_int_equal(ctlauth_finish(v, &a, NOW + WINDOW + 100, &why), 0);
	assert_int_equal(ctlauth_nonces(v), 0); /* out of the window */
	assert_int_equal(ctlauth_finish(v, &b, NOW + WINDOW + 200, &why), -1);
	assert_string_equal(why, "timestamp outside the window");
	ctlauth_free(&v);
}

struct race {
	struct ctlauth *v; /* shared verifier */
	int accepted;	   /* requests this thread got accepted */
};

/* race_run - send the known request many times */
static void *
race_run(void *arg)
{
	struct race *r = arg;
	const char *why;
	int i;

	for (i = 0; i < 200; i++) {
		if (ctlauth_check(r->v, secret, SECRET_LEN, KNOWN_LINE, REQUEST,
			PAYLOAD, strlen(PAYLOAD), NOW, &why) == 0)
			r->accepted++;
	}
	return NULL;
}

/* test_concurrent - of many concurrent copies exactly one passes */
static void
test_concurrent(void **state)
{
	struct race races[4];
	pthread_t threads[4];
	struct ctlauth *v = verifier(WINDOW, 16);
	int i, total = 0;

	(void)state;
	for (i = 0; i < 4; i++) {
		races[i].v = v;
		races[i].accepted = 0;
		assert_int_equal(
		    pthread_create(&threads[i], NULL, race_run, &races[i]), 0);
	}
	for (i = 0; i < 4; i++) {
		assert_int_equal(pthread_join(threads[i], NULL), 0);
		total += races[i].accepted;
	}
	assert_int_equal(total, 1);
	ctlauth_free(&v);
}

/* test_sign_errors - the client refuses what the server would */
static void
test_sign_errors(void **state)
{
	static const struct {
		const char *name;    /* case name */
		size_t secret_len;   /* bytes of secret used */
		time_t ts;	     /* timestamp */
		const char *nonce;   /* nonce */
		const char *request; /* request line */
		const char *why;     /* error wanted */
	} cases[] = {
		{ "short secret", 31, NOW, NONCE, REQUEST, "secret too short" },
		{ "negative time", SECRET_LEN, -1, NONCE, REQUEST,
		    "negative timestamp" },
		{ "no nonce", SECRET_LEN, NOW, NULL, REQUEST,
		    "malformed nonce" },
		{ "short nonce", SECRET_LEN, NOW, "0011", REQUEST,
		    "malformed nonce" },
		{ "upper nonce", SECRET_LEN, NOW,
		    "00112233445566778899AABBCCDDEEFF", REQUEST,
		    "malformed nonce" },
		{ "request LF", SECRET_LEN, NOW, NONCE, "a\nb",
		    "malformed request line" },
		{ "request CR", SECRET_LEN, NOW, NONCE, "a\r",
		    "malformed request line" },
		{ "no request", SECRET_LEN, NOW, NONCE, NULL,
		    "malformed request line" },
	};
	struct ctlauth_mac *mac = (struct ctlauth_mac *)&mac;
	char line[CTLAUTH_LINE_SIZE];
	char *error;
	size_t i;

	(void)state;
	for (i = 0; i < NELEM(cases); i++) {
		error = NULL;
		if (ctlauth_sign(secret, cases[i].secret_len, cases[i].ts,
			cases[i].nonce, cases[i].request, NULL, 0, line,
			&error) == 0)
			fail_msg(
			    "%s: got a line, want an error", cases[i].name);
		if (error == NULL || strstr(error, cases[i].why) == NULL)
			fail_msg("%s: got \"%s\", want \"%s\"", cases[i].name,
			    error, cases[i].why);
		free(error);
		assert_string_equal(line, "");
		assert_int_equal(
		    ctlauth_mac_new(secret, cases[i].secret_len, cases[i].ts,
			cases[i].nonce, cases[i].request, &mac, NULL),
		    -1);
		assert_null(mac);
	}
	/* An empty request line and the largest timestamp are fine. */
	sign((time_t)INT64_MAX, NONCE, "", NULL, 0, line);
	assert_int_equal(strncmp(line, "auth v1 9223372036854775807 ", 28), 0);
	assert_int_equal(strlen(line), 28 + 32 + 1 + 64);
	sign(0, NONCE, "", NULL, 0, line);
	assert_int_equal(strncmp(line, "auth v1 0 ", 10), 0);
}

/* test_nonce - fresh, 32 lower-case hex digits */
static void
test_nonce(void **state)
{
	char a[CTLAUTH_NONCE_SIZE], b[CTLAUTH_NONCE_SIZE];

	(void)state;
	assert_int_equal(ctlauth_nonce(a), 0);
	assert_int_equal(ctlauth_nonce(b), 0);
	assert_int_equal(strlen(a), 32);
	assert_int_equal(strspn(a, "0123456789abcdef"), 32);
	assert_string_not_equal(a, b);
}

/* write_file - a temporary file with content and mode; its path */
static void
write_file(char *path, const char *content, size_t len, mode_t mode)
{
	int fd;

	strcpy(path, "/tmp/test_ctlauth.XXXXXX");
	fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, content, len), (ssize_t)len);
	assert_int_equal(fchmod(fd, mode), 0);
	assert_int_equal(close(fd), 0);
}

/* test_secret_file - content, trimming, length, modes */
static void
test_secret_file(void **state)
{
	static const struct {
		const char *name;    /* case name */
		const char *content; /* file content */
		mode_t mode;	     /* file mode */
		const char *secret;  /* secret wanted, NULL: an error */
		const char *why;     /* error wanted */
	} cases[] = {
		{ "hex line", SECRET SECRET "\n", 0600, SECRET SECRET, NULL },
		{ "no newline", SECRET, 0600, SECRET, NULL },
		{ "crlf", SECRET "\r\n", 0600, SECRET, NULL },
		{ "only one newline trimmed", SECRET "\n\n", 0600, SECRET "\n",
		    NULL },
		{ "read-only", SECRET "\n", 0400, SECRET, NULL },
		{ "31 bytes", "0123456789abcdef0123456789abcde\n", 0600, NULL,
		    "secret too short (31 bytes, want at least 32" },
		{ "31 and crlf", "0123456789abcdef0123456789abcde\r\n", 0600,
		    NULL, "secret too short (31 bytes" },
		{ "newline only", "\n", 0600, NULL,
		    "secret too short (0 bytes" },
		{ "empty", "", 0600, NULL, "empty file" },
		{ "group readable", SECRET "\n", 0640, NULL,
		    "permissions 0640 are too open" },
		{ "world readable", SECRET "\n", 0644, NULL,
		    "permissions 0644 are too open" },
		{ "other readable", SECRET "\n", 0604, NULL,
		    "permissions 0604 are too open" },
		{ "group writable", SECRET "\n", 0620, NULL,
		    "permissions 0620 are too open" },
	};
	unsigned char *got;
	char path[64], want[160];
	char *error;
	size_t i, len;
	int rc;

	(void)state;
	for (i = 0; i < NELEM(cases); i++) {
		write_file(path, cases[i].content, strlen(cases[i].content),
		    cases[i].mode);
		error = NULL;
		got = (unsigned char *)&got;
		rc = ctlauth_secret_load(path, &got, &len, &error);
		if (cases[i].secret != NULL) {
			if (rc != 0)
				fail_msg("%s: got \"%s\", want a secret",
				    cases[i].name, error);
			assert_null(error);
			assert_int_equal(len, strlen(cases[i].secret));
			assert_memory_equal(got, cases[i].secret, len);
			ctlauth_secret_free(&got, len);
			assert_null(got);
		} else {
			if (rc == 0)
				fail_msg("%s: got a secret, want \"%s\"",
				    cases[i].name, cases[i].why);
			assert_null(got);
			snprintf(
			    want, sizeof(want), "%s: %s", path, cases[i].why);
			if (error == NULL || strstr(error, want) != error)
				fail_msg("%s: got \"%s\", want \"%s...\"",
				    cases[i].name, error, want);
			free(error);
		}
		assert_int_equal(unlink(path), 0);
	}
	error = NULL;
	assert_int_equal(ctlauth_secret_load(path, &got, &len, &error), -1);
	snprintf(want, sizeof(want), "%s: %s", path, strerror(ENOENT));
	assert_string_equal(error, want);
	free(error);
	got = NULL;
	ctlauth_secret_free(&got, 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_known_answer),
		cmocka_unit_test(test_tampered),
		cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_window),
		cmocka_unit_test(test_replay),
		cmocka_unit_test(test_cache_bound),
		cmocka_unit_test(test_incremental),
		cmocka_unit_test(test_slow_upload),
		cmocka_unit_test(test_concurrent),
		cmocka_unit_test(test_sign_errors),
		cmocka_unit_test(test_nonce),
		cmocka_unit_test(test_secret_file),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
