/*
 * test_dmarc - DMARC record parsing, organizational domains, alignment,
 * and the dmarc_check() paths that need no DNS answer.
 */
#include "milter/dmarc.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#define R DMARC_ALIGN_RELAXED
#define S DMARC_ALIGN_STRICT
#define UNSET DMARC_POLICY_UNSET
#define NONE DMARC_POLICY_NONE
#define QUAR DMARC_POLICY_QUARANTINE
#define REJ DMARC_POLICY_REJECT

struct is_case {
	const char *name; /* what the case shows */
	const char *in;	  /* TXT text */
	bool want;	  /* a DMARC record? */
};

static const struct is_case is_cases[] = {
	{ "minimal", "v=DMARC1", true },
	{ "with tags", "v=DMARC1; p=none", true },
	{ "no space", "v=DMARC1;p=none", true },
	{ "spaces around =", "v = DMARC1 ; p=none", true },
	{ "tab", "v\t=\tDMARC1\t;", true },
	{ "upper-case tag name", "V=DMARC1; p=none", true },
	{ "lower-case version", "v=dmarc1; p=none", false },
	{ "DMARC10", "v=DMARC10; p=none", false },
	{ "DMARC2", "v=DMARC2; p=none", false },
	{ "no separator", "v=DMARC1 p=none", false },
	{ "leading space", " v=DMARC1; p=none", false },
	{ "not first", "p=none; v=DMARC1", false },
	{ "SPF record", "v=spf1 -all", false },
	{ "empty", "", false },
	{ "v only", "v", false },
	{ "v=", "v=", false },
	{ "truncated", "v=DMARC", false },
};

/* test_is_dmarc - every case of is_cases */
static void
test_is_dmarc(void **state)
{
	size_t i;
	bool got;

	(void)state;
	for (i = 0; i < sizeof(is_cases) / sizeof(is_cases[0]); i++) {
		const struct is_case *c = &is_cases[i];

		got = dmarc_record_is_dmarc(c->in, strlen(c->in));
		if (got != c->want)
			fail_msg("%s: got %d, want %d", c->name, got, c->want);
	}
	assert_false(dmarc_record_is_dmarc(NULL, 0));
	/* the length counts, not a NUL */
	assert_false(dmarc_record_is_dmarc("v=DMARC1", 7));
	assert_true(dmarc_record_is_dmarc("v=DMARC1; p=none", 8));
}

struct parse_case {
	const char *name;	/* what the case shows */
	const char *in;		/* the record */
	int want_rc;		/* 0 or -1 */
	enum dmarc_policy p;	/* on 0 */
	enum dmarc_policy sp;	/* on 0 */
	enum dmarc_align adkim; /* on 0 */
	enum dmarc_align aspf;	/* on 0 */
	unsigned pct;		/* on 0 */
	bool rua;		/* on 0 */
	bool replaced;		/* on 0 */
	const char *why;	/* text why must contain, or NULL */
};

static const struct parse_case parse_cases[] = {
	{ "p=none", "v=DMARC1; p=none", 0, NONE, UNSET, R, R, 100, false, false,
	    NULL },
	{ "p=quarantine", "v=DMARC1; p=quarantine", 0, QUAR, UNSET, R, R, 100,
	    false, false, NULL },
	{ "p=reject", "v=DMARC1; p=reject", 0, REJ, UNSET, R, R, 100, false,
	    false, NULL },
	{ "everything",
	    "v=DMARC1; p=reject; sp=none; adkim=s; aspf=s; pct=20; "
	    "rua=mailto:a@example.com; ruf=mailto:f@example.com; "
	    "fo=1; ri=3600; rf=afrf",
	    0, REJ, NONE, S, S, 20, true, false, NULL },
	{ "case", "v=DMARC1; P=Reject; SP=Quarantine; ADKIM=S; ASPF=s", 0, REJ,
	    QUAR, S, S, 100, false, false, NULL },
	{ "spacing", "v=DMARC1 ;  p = quarantine ;sp=reject;", 0, QUAR, REJ, R,
	    R, 100, false, false, NULL },
	{ "final ;", "v=DMARC1; p=none;", 0, NONE, UNSET, R, R, 100, false,
	    false, NULL },
	{ "p not second", "v=DMARC1; adkim=s; p=reject", 0, REJ, UNSET, S, R,
	    100, false, false, NULL },
	{ "adkim=r aspf=r", "v=DMARC1; p=none; adkim=r; aspf=r", 0, NONE, UNSET,
	    R, R, 100, false, false, NULL },
	{ "bad adkim: default", "v=DMARC1; p=none; adkim=x; aspf=strict", 0,
	    NONE, UNSET, R, R, 100, false, false, NULL },
	{ "pct=0", "v=DMARC1; p=reject; pct=0", 0, REJ, UNSET, R, R, 0, false,
	    false, NULL },
	{ "pct=100", "v=DMARC1; p=reject; pct=100", 0, REJ, UNSET, R, R, 100,
	    false, false, NULL },
	{ "pct=050", "v=DMARC1; p=reject; pct=050", 0, REJ, UNSET, R, R, 50,
	    false, false, NULL },
	{ "pct=101: default", "v=DMARC1; p=reject; pct=101", 0, REJ, UNSET, R,
	    R, 100, false, false, NULL },
	{ "pct=-1: default", "v=DMARC1; p=reject; pct=-1", 0, REJ, UNSET, R, R,
	    100, false, false, NULL },
	{ "pct=1000: default", "v=DMARC1; p=reject; pct=1000", 0, REJ, UNSET, R,
	    R, 100, false, false, NULL },
	{ "pct empty: default", "v=DMARC1; p=reject; pct=", 0, REJ, UNSET, R, R,
	    100, false, false, NULL },
	{ "pct=5x: default", "v=DMARC1; p=reject; pct=5x", 0, REJ, UNSET, R, R,
	    100, false, false, NULL },
	{ "unknown tags", "v=DMARC1; p=none; np=reject; psd=y; t=y; x=1", 0,
	    NONE, UNSET, R, R, 100, false, false, NULL },
	{ "odd chunks skipped", "v=DMARC1; p=none; ;; junk ; =; ==", 0, NONE,
	    UNSET, R, R, 100, false, false, NULL },
	{ "repeated p: first", "v=DMARC1; p=none; p=reject", 0, NONE, UNSET, R,
	    R, 100, false, false, NULL },
	{ "repeated v skipped", "v=DMARC1; p=none; v=DMARC2", 0, NONE, UNSET, R,
	    R, 100, false, false, NULL },
	{ "rua list", "v=DMARC1; p=none; rua=mailto:a@x.test,mailto:b@x.test",
	    0, NONE, UNSET, R, R, 100, true, false, NULL },
	{ "rua with size", "v=DMARC1; p=none; rua=mailto:a@x.test!10m", 0, NONE,
	    UNSET, R, R, 100, true, false, NULL },
	{ "bad rua: ignored", "v=DMARC1; p=none; rua=nowhere", 0, NONE, UNSET,
	    R, R, 100, false, false, NULL },
	/* RFC 7489 6.6.3 step 6 */
	{ "bad p, rua: p=none",
	    "v=DMARC1; p=rejected; adkim=s; pct=10; rua=mailto:a@x.test", 0,
	    NONE, UNSET, R, R, 100, true, true, "invalid p=rejected" },
	{ "no p, rua: p=none", "v=DMARC1; sp=reject; rua=mailto:a@x.test", 0,
	    NONE, UNSET, R, R, 100, true, true, "no p= tag" },
	{ "bad sp, rua: p=none",
	    "v=DMARC1; p=reject; sp=x; rua=mailto:a@x.test", 0, NONE, UNSET, R,
	    R, 100, true, true, "invalid sp=x" },
	{ "second rua valid", "v=DMARC1; p=x; rua=bad,mailto:a@x.test", 0, NONE,
	    UNSET, R, R, 100, true, true, "invalid p=x" },
	{ "bad p", "v=DMARC1; p=bogus", -1, UNSET, UNSET, R, R, 100, false,
	    false, "invalid p=bogus" },
	{ "empty p", "v=DMARC1; p=", -1, UNSET, UNSET, R, R, 100, false, false,
	    "invalid p=" },
	{ "no p", "v=DMARC1; sp=reject", -1, UNSET, UNSET, R, R, 100, false,
	    false, "no p= tag" },
	{ "version only", "v=DMARC1", -1, UNSET, UNSET, R, R, 100, false, false,
	    "no p= tag" },
	{ "bad sp", "v=DMARC1; p=reject; sp=never", -1, UNSET, UNSET, R, R, 100,
	    false, false, "invalid sp=never" },
	{ "bad p and bad rua", "v=DMARC1; p=x; rua=nowhere", -1, UNSET, UNSET,
	    R, R, 100, false, false, "invalid p=x" },
	{ "bad p, control bytes", "v=DMARC1; p=\x01\x7f", -1, UNSET, UNSET, R,
	    R, 100, false, false, "invalid p=??" },
	{ "not DMARC", "v=spf1 -all", -1, UNSET, UNSET, R, R, 100, false, false,
	    "does not start with v=DMARC1" },
	{ "p first", "p=reject; v=DMARC1", -1, UNSET, UNSET, R, R, 100, false,
	    false, "does not start with v=DMARC1" },
};

/* test_parse - every case of parse_cases */
static void
test_parse(void **state)
{
	struct dmarc_record rec;
	char why[128];
	size_t i;
	int rc;

	(void)state;
	for (i = 0; i < sizeof(parse_cases) / sizeof(parse_cases[0]); i++) {
		const struct parse_case *c = &parse_cases[i];

		rc = dmarc_record_parse(
		    c->in, strlen(c->in), &rec, why, sizeof(why));
		if (rc != c->want_rc)
			fail_msg("%s: got rc %d (%s), want %d", c->name, rc,
			    why, c->want_rc);
		if (c->why != NULL && strstr(why, c->why) == NULL)
			fail_msg("%s: got why \"%s\", want \"%s\"", c->name,
			    why, c->why);
		if (rc != 0)
			continue;
		if (rec.p != c->p || rec.sp != c->sp)
			fail_msg("%s: got p=%s sp=%s, want p=%s sp=%s", c->name,
			    dmarc_policy_name(rec.p), dmarc_policy_name(rec.sp),
			    dmarc_policy_name(c->p), dmarc_policy_name(c->sp));
		if (rec.adkim != c->adkim || rec.aspf != c->aspf)
			fail_msg("%s: got adkim=%d aspf=%d, want %d %d",
			    c->name, rec.adkim, rec.aspf, c->adkim, c->aspf);
		if (rec.pct != c->pct)
			fail_msg("%s: got pct=%u, want %u", c->name, rec.pct,
			    c->pct);
		if (rec.rua != c->rua || rec.p_replaced != c->replaced)
			fail_msg("%s: got rua=%d replaced=%d, want %d %d",
			    c->name, rec.rua, rec.p_replaced, c->rua,
			    c->replaced);
	}
}

/* test_parse_bounds - NUL bytes, length cap, garbage, NULL */
static void
test_parse_bounds(void **state)
{
	struct dmarc_record rec;
	char why[128], *big;
	size_t i, o;

	(void)state;
	assert_int_equal(dmarc_record_parse("v=DMARC1; p=none\0; p=x", 23, &rec,
			     why, sizeof(why)),
	    -1);
	assert_non_null(strstr(why, "NUL"));
	assert_int_equal(
	    dmarc_record_parse(NULL, 5, &rec, why, sizeof(why)), -1);
	assert_int_equal(
	    dmarc_record_parse("v=DMARC1; p=none", 16, &rec, NULL, 0), 0);

	big = malloc(DMARC_MAX_RECORD + 64);
	assert_non_null(big);
	/* exactly DMARC_MAX_RECORD bytes: parsed */
	o = (size_t)sprintf(big, "v=DMARC1; p=reject; x=");
	memset(big + o, 'y', DMARC_MAX_RECORD - o);
	big[DMARC_MAX_RECORD] = '\0';
	assert_int_equal(
	    dmarc_record_parse(big, DMARC_MAX_RECORD, &rec, why, sizeof(why)),
	    0);
	assert_int_equal(rec.p, REJ);
	big[DMARC_MAX_RECORD] = 'y';
	assert_int_equal(dmarc_record_parse(
			     big, DMARC_MAX_RECORD + 1, &rec, why, sizeof(why)),
	    -1);
	assert_non_null(strstr(why, "over"));
	/* a long invalid p= value is cut in why */
	o = (size_t)sprintf(big, "v=DMARC1; p=");
	memset(big + o, 'z', 1000);
	big[o + 1000] = '\0';
	assert_int_equal(
	    dmarc_record_parse(big, strlen(big), &rec, why, sizeof(why)), -1);
	assert_true(strlen(why) < 64);
	assert_non_null(strstr(why, "..."));
	/* separators only */
	o = (size_t)sprintf(big, "v=DMARC1");
	for (i = o; i < DMARC_MAX_RECORD; i++)
		big[i] = ";= \t"[i % 4];
	assert_int_equal(
	    dmarc_record_parse(big, DMARC_MAX_RECORD, &rec, why, sizeof(why)),
	    -1);
	free(big);
}

struct org_case {
	const char *in;	  /* domain */
	const char *want; /* organizational domain, or NULL */
};

static const struct org_case org_cases[] = {
	{ "example.co.uk", "example.co.uk" },
	{ "a.b.example.co.uk", "example.co.uk" },
	{ "a.b.test", "b.test" },
	{ "b.test", "b.test" },
	{ "mail.example.com", "example.com" },
	{ "MAIL.Example.COM.", "example.com" },
	{ "example.com", "example.com" },
	{ "x.foo.github.io", "foo.github.io" }, /* PSL private section */
	{ "co.uk", "co.uk" },			/* a public suffix: itself */
	{ "test", "test" },
	{ "a.xn--p1ai", "a.xn--p1ai" }, /* .рф in punycode */
	{ "_dmarc.example.com", "example.com" },
	{ "", NULL },
	{ "a..example.com", NULL },
	{ "exa mple.com", NULL },
	{ "[192.0.2.1]", NULL },
};

/* test_org_domain - every case of org_cases, before and after init */
static void
test_org_domain(void **state)
{
	char buf[256], *error = NULL;
	const char *got;
	size_t i;
	int pass;

	(void)state;
	for (pass = 0; pass < 2; pass++) {
		/* pass 0: libpsl's built-in list; pass 1: the loaded one */
		if (pass == 1)
			assert_int_equal(dmarc_global_init(&error), 0);
		for (i = 0; i < sizeof(org_cases) / sizeof(org_cases[0]); i++) {
			const struct org_case *c = &org_cases[i];

			got = dmarc_org_domain(c->in, buf, sizeof(buf));
			if ((got == NULL) != (c->want == NULL) ||
			    (got != NULL && strcmp(got, c->want) != 0))
				fail_msg("pass %d: %s: got %s, want %s", pass,
				    c->in, got != NULL ? got : "NULL",
				    c->want != NULL ? c->want : "NULL");
		}
	}
	/* twice is fine */
	assert_int_equal(dmarc_global_init(&error), 0);
	assert_null(error);
	assert_null(dmarc_org_domain(NULL, buf, sizeof(buf)));
	/* does not fit */
	assert_null(dmarc_org_domain("example.com", buf, 11));
	assert_non_null(dmarc_org_domain("example.com", buf, 12));
}

struct align_case {
	const char *from;      /* RFC5322.From domain */
	const char *auth;      /* SPF or DKIM domain */
	enum dmarc_align mode; /* r or s */
	bool want;	       /* aligned? */
};

static const struct align_case align_cases[] = {
	{ "example.com", "example.com", S, true },
	{ "example.com", "EXAMPLE.com.", S, true },
	{ "example.com", "mail.example.com", S, false },
	{ "mail.example.com", "example.com", S, false },
	{ "example.com", "example.com", R, true },
	{ "example.com", "mail.example.com", R, true },
	{ "news.example.com", "bounce.example.com", R, true },
	{ "a.b.example.co.uk", "example.co.uk", R, true },
	{ "example.co.uk", "other.co.uk", R, false },
	{ "example.com", "example.net", R, false },
	{ "example.com", "com", R, false },
	{ "a.foo.github.io", "b.foo.github.io", R, true },
	{ "foo.github.io", "bar.github.io", R, false },
	{ "example.com", "", R, false },
	{ "example.com", "exa mple.com", R, false },
	{ "", "", S, false },
};

/* test_aligned - every case of align_cases */
static void
test_aligned(void **state)
{
	size_t i;
	bool got;

	(void)state;
	for (i = 0; i < sizeof(align_cases) / sizeof(align_cases[0]); i++) {
		const struct align_case *c = &align_cases[i];

		got = dmarc_aligned(c->from, c->auth, c->mode);
		if (got != c->want)
			fail_msg("%s vs %s (%s): got %d, want %d", c->from,
			    c->auth, c->mode == S ? "strict" : "relaxed", got,
			    c->want);
	}
	assert_false(dmarc_aligned(NULL, "example.com", R));
	assert_false(dmarc_aligned("example.com", NULL, S));
}

/* test_policy_name - the RFC words */
static void
test_policy_name(void **state)
{
	(void)state;
	assert_string_equal(dmarc_policy_name(NONE), "none");
	assert_string_equal(dmarc_policy_name(QUAR), "quarantine");
	assert_string_equal(dmarc_policy_name(REJ), "reject");
	assert_string_equal(dmarc_policy_name(UNSET), "");
	assert_string_equal(dmarc_policy_name((enum dmarc_policy)42), "");
}

struct check_case {
	const char *name;	 /* what the case shows */
	const char *from;	 /* From domain */
	enum result_code want;	 /* result */
	const char *want_reason; /* text the reason must contain */
};

static const struct check_case check_cases[] = {
	{ "no From domain", NULL, RESULT_NONE, "no From domain" },
	{ "empty From domain", "", RESULT_NONE, "no From domain" },
	{ "empty label", "a..example.test", RESULT_PERMERROR,
	    "not a host name" },
	{ "space", "exa mple.test", RESULT_PERMERROR, "not a host name" },
	{ "address literal", "[192.0.2.1]", RESULT_PERMERROR,
	    "not a host name" },
	/* nothing listens on the discard port: the DNS fails */
	{ "DNS failure", "example.test", RESULT_TEMPERROR, "DNS: " },
};

/* test_check - dmarc_check() without a DNS answer */
static void
test_check(void **state)
{
	const char *servers[] = { "127.0.0.1@9" };
	struct dns_options opts;
	struct dns_resolver *r = NULL;
	struct dmarc_input in;
	struct dmarc_outcome out;
	struct timespec deadline;
	char *error = NULL;
	size_t i;

	(void)state;
	memset(&opts, 0, sizeof(opts));
	opts.servers = servers;
	opts.server_count = 1;
	opts.timeout_ms = 100;
	opts.retries = 0;
	opts.workers = 2;
	opts.max_answer_records = 20;
	if (dns_resolver_create(&opts, &r, &error) != 0)
		fail_msg("resolver: %s", error != NULL ? error : "?");
	for (i = 0; i < sizeof(check_cases) / sizeof(check_cases[0]); i++) {
		const struct check_case *c = &check_cases[i];

		memset(&in, 0, sizeof(in));
		in.from_domain = c->from;
		in.spf_domain = c->from;
		in.spf_result = RESULT_PASS;
		dns_deadline(&deadline, 2000);
		assert_int_equal(dmarc_check(r, &deadline, &in, &out), 0);
		if (out.result != c->want)
			fail_msg("%s: got %s (%s), want %s", c->name,
			    result_name(out.result), out.reason,
			    result_name(c->want));
		if (strstr(out.reason, c->want_reason) == NULL)
			fail_msg("%s: got reason \"%s\", want \"%s\"", c->name,
			    out.reason, c->want_reason);
		/* no usable record: no policy, nothing asked for */
		assert_string_equal(out.policy, "");
		assert_string_equal(out.disposition, "none");
		assert_false(out.aligned_spf);
	}
	dns_resolver_free(&r);
}

/* teardown - free the list loaded by test_org_domain */
static int
teardown(void **state)
{
	(void)state;
	dmarc_global_free();
	return 0;
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_is_dmarc),
		cmocka_unit_test(test_parse),
		cmocka_unit_test(test_parse_bounds),
		cmocka_unit_test(test_org_domain),
		cmocka_unit_test(test_aligned),
		cmocka_unit_test(test_policy_name),
		cmocka_unit_test(test_check),
	};

	return cmocka_run_group_tests(tests, NULL, teardown);
}
