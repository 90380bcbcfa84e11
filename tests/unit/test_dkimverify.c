/*
 * test_dkimverify - DKIM verification and signing without a DNS server.
 *
 * The resolver points at a port nothing answers on and every deadline
 * has passed, so a key lookup ends at once in a DNS temporary failure:
 * a signature that reaches the lookup says temperror, one refused before
 * (malformed, rsa-sha1, over the limits) says why. Signing needs no DNS:
 * signatures made here are checked for their tags and folding (their
 * cryptographic check against a real key is tests/unit/test_dkimsign.c
 * and tests/integration/test_dkim_dns.py). Keys come from tests/keys
 * (run from the top of the source tree, as tests/run-unit.sh does).
 */
#include "milter/dkimverify.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "milter/dkimsign.h"
#include "policy/keytable.h"

/* Tags that pass libopendkim's checks up to the key lookup. */
#define SIG_OK \
	"v=1; a=rsa-sha256; c=relaxed/relaxed; d=dkim.test; s=sel;\n\t" \
	"t=1000000000; h=from:subject; bh=AAAA; b=QUJDREVGR0hJSktM"

struct fixture {
	struct dkimverify_lib *lib; /* shared handle */
	struct dns_resolver *dns;   /* answers nothing in time */
	struct timespec deadline;   /* passed */
	struct keytable *kt;	    /* test keys */
	char dir[64];		    /* key directory */
};

static struct fixture fx;

/* setup - lib, a resolver that never answers in time, a key table */
static int
setup(void **state)
{
	static const char *const servers[] = { "127.0.0.1@9" };
	struct dns_options o;
	char *error = NULL, cmd[512], table[128];
	FILE *fp;

	(void)state;
	memset(&o, 0, sizeof(o));
	o.servers = servers;
	o.server_count = 1;
	o.timeout_ms = 50;
	o.workers = 1;
	o.max_answer_records = 10;
	if (dns_resolver_create(&o, &fx.dns, &error) != 0 ||
	    dkimverify_lib_new(&fx.lib, &error) != 0) {
		fprintf(stderr, "setup: %s\n", error);
		return -1;
	}
	fx.deadline.tv_sec = 0; /* CLOCK_MONOTONIC 0: long passed */
	fx.deadline.tv_nsec = 0;
	snprintf(fx.dir, sizeof(fx.dir), "/tmp/test_dkimverify.XXXXXX");
	if (mkdtemp(fx.dir) == NULL)
		return -1;
	snprintf(cmd, sizeof(cmd),
	    "cp tests/keys/rsa2048.pem tests/keys/ed25519.pem '%s' && "
	    "chmod 600 '%s'/*.pem",
	    fx.dir, fx.dir);
	if (system(cmd) != 0)
		return -1;
	snprintf(table, sizeof(table), "%s/table", fx.dir);
	if ((fp = fopen(table, "w")) == NULL)
		return -1;
	fprintf(fp,
	    "dkim.test rsa2048 rsa2048.pem\n"
	    "ed.dkim.test ed25519 ed25519.pem\n");
	fclose(fp);
	if (keytable_load(table, &fx.kt, &error) != 0) {
		fprintf(stderr, "setup: %s\n", error);
		return -1;
	}
	return 0;
}

/* teardown - free everything, remove the key directory */
static int
teardown(void **state)
{
	char cmd[128];

	(void)state;
	keytable_free(&fx.kt);
	dkimverify_lib_free(&fx.lib);
	dns_resolver_free(&fx.dns);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", fx.dir);
	return system(cmd) == 0 ? 0 : -1;
}

/* verifier - a new verifier on the fixture */
static struct dkimverify *
verifier(unsigned max_sigs)
{
	struct dkimverify *v;

	v = dkimverify_new(fx.lib, fx.dns, &fx.deadline, max_sigs, "TEST1");
	assert_non_null(v);
	return v;
}

/* feed_common - the usual fields and a short body */
static void
feed_common(struct dkimverify *v)
{
	static const unsigned char body[] = "Hello.\r\n";

	assert_int_equal(
	    dkimverify_header(v, "From", "Alice <alice@dkim.test>"), 0);
	assert_int_equal(dkimverify_header(v, "To", "bob@example.test"), 0);
	assert_int_equal(dkimverify_header(v, "Subject", "hi\n\tthere"), 0);
	assert_int_equal(dkimverify_eoh(v), 0);
	assert_int_equal(dkimverify_body(v, body, sizeof(body) - 1), 0);
}

/* verify_one - the outcome of a message with these signature values */
static void
verify_sigs(const char *const *sigs, size_t n, unsigned max_sigs,
    struct dkimverify_outcome *out)
{
	struct dkimverify *v = verifier(max_sigs);
	size_t i;

	for (i = 0; i < n; i++)
		assert_int_equal(
		    dkimverify_header(v, "DKIM-Signature", sigs[i]), 0);
	feed_common(v);
	assert_int_equal(dkimverify_eom(v, out), 0);
	dkimverify_free(&v);
	assert_null(v);
}

/* test_none - no signature: nothing reported */
static void
test_none(void **state)
{
	struct dkimverify_outcome out;

	(void)state;
	verify_sigs(NULL, 0, 4, &out);
	assert_int_equal(out.count, 0);
	assert_int_equal(out.ignored, 0);
}

struct sig_case {
	const char *name;	 /* what the case shows */
	const char *value;	 /* DKIM-Signature field body */
	enum result_code result; /* wanted */
	const char *reason;	 /* reason must contain this */
};

static const struct sig_case sig_cases[] = {
	{ "reaches the lookup", SIG_OK, RESULT_TEMPERROR, "DNS error" },
	{ "lookup, folded with CRLF",
	    "v=1; a=rsa-sha256; d=dkim.test;\r\n s=sel; t=2000; h=from;"
	    " bh=AAAA; b=QUJD",
	    RESULT_TEMPERROR, "DNS error" },
	{ "rsa-sha1, no lookup",
	    "v=1; a=rsa-sha1; d=dkim.test; s=sel; h=from; bh=AAAA; b=QUJD",
	    RESULT_PERMERROR, "rsa-sha1 not accepted" },
	{ "empty", "", RESULT_PERMERROR, "malformed signature" },
	{ "not a tag list", "garbage", RESULT_PERMERROR,
	    "malformed signature" },
	{ "no b=", "v=1; a=rsa-sha256; d=dkim.test; s=sel; h=from; bh=AAAA",
	    RESULT_PERMERROR, "malformed signature" },
	{ "no d=", "v=1; a=rsa-sha256; s=sel; h=from; bh=AAAA; b=QUJD",
	    RESULT_PERMERROR, "malformed signature" },
	{ "bad t=", SIG_OK "; t=abc", RESULT_PERMERROR, "malformed signature" },
	{ "x= negative", SIG_OK "; x=-5", RESULT_PERMERROR,
	    "malformed signature" },
	{ "bad byte in d=",
	    "v=1; a=rsa-sha256; d=dk!m.test; s=sel; h=from; bh=AAAA; b=QUJD",
	    RESULT_PERMERROR, "malformed signature" },
	{ "8-bit byte",
	    "v=1; a=rsa-sha256; d=dkim.test; s=s\xc3\xa9l; h=from; bh=AAAA;"
	    " b=QUJD",
	    RESULT_PERMERROR, "malformed signature" },
	{ "tag without value", SIG_OK "; zz", RESULT_PERMERROR,
	    "malformed signature" },
	{ "unknown algorithm",
	    "v=1; a=rsa-sha257; d=dkim.test; s=sel; h=from; bh=AAAA; b=QUJD",
	    RESULT_PERMERROR, "" },
	{ "version 2",
	    "v=2; a=rsa-sha256; d=dkim.test; s=sel; h=from; bh=AAAA; b=QUJD",
	    RESULT_PERMERROR, "" },
	{ "h= without from",
	    "v=1; a=rsa-sha256; d=dkim.test; s=sel; h=subject; bh=AAAA; "
	    "b=QUJD",
	    RESULT_PERMERROR, "" },
	{ "i= outside d=", SIG_OK "; i=@other.test", RESULT_PERMERROR, "" },
	{ "l= negative", SIG_OK "; l=-1", RESULT_PERMERROR, "" },
	{ "l= absurd", SIG_OK "; l=99999999999999999999999", RESULT_PERMERROR,
	    "" },
	{ "l= past the body", SIG_OK "; l=1000000", RESULT_TEMPERROR,
	    "DNS error" },
	{ "expired", SIG_OK "; x=1000000001", RESULT_PERMERROR,
	    "signature expired" },
	{ "x= before t=",
	    "v=1; a=rsa-sha256; d=dkim.test; s=sel; t=4000000000; "
	    "x=3999999999; h=from; bh=AAAA; b=QUJD",
	    RESULT_PERMERROR, "" },
	{ "unknown canonicalization", SIG_OK "; c=odd/relaxed",
	    RESULT_PERMERROR, "" },
	{ "selector not a name",
	    "v=1; a=rsa-sha256; d=dkim.test; s=a..b; h=from; bh=AAAA; b=QUJD",
	    RESULT_PERMERROR, "bad selector or domain" },
};

/* test_sigs - each of sig_cases alone in a message */
static void
test_sigs(void **state)
{
	struct dkimverify_outcome out;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(sig_cases) / sizeof(sig_cases[0]); i++) {
		const struct sig_case *c = &sig_cases[i];

		verify_sigs(&c->value, 1, 4, &out);
		if (out.count != 1)
			fail_msg("%s: got %zu signatures, want 1", c->name,
			    out.count);
		if (out.sig[0].result != c->result ||
		    strstr(out.sig[0].reason, c->reason) == NULL)
			fail_msg("%s: got %s \"%s\", want %s \"%s\"", c->name,
			    result_name(out.sig[0].result), out.sig[0].reason,
			    result_name(c->result), c->reason);
		if (out.sig[0].result == RESULT_PASS)
			fail_msg("%s: pass", c->name);
	}
}

/* test_tags_reported - d= s= b= a= i= of a signature, even a bad one */
static void
test_tags_reported(void **state)
{
	static const char *const sigs[] = {
		"v=1; a=rsa-sha1; d=Dkim.Test; s=sel;\n\ti=u@dkim.test; "
		"h=from; bh=AAAA; b=QUJD REVG\n\tR0hJ SktM",
		"v=1; a=rsa-sha256; s=sel2; b=Zm9vYmFy",
	};
	struct dkimverify_outcome out;

	(void)state;
	verify_sigs(sigs, 2, 4, &out);
	assert_int_equal(out.count, 2);
	assert_string_equal(out.sig[0].domain, "Dkim.Test");
	assert_string_equal(out.sig[0].selector, "sel");
	assert_string_equal(out.sig[0].b, "QUJDREVG");
	assert_string_equal(out.sig[0].algorithm, "rsa-sha1");
	assert_string_equal(out.sig[0].identity, "u@dkim.test");
	assert_string_equal(out.sig[1].domain, "");
	assert_string_equal(out.sig[1].selector, "sel2");
	assert_string_equal(out.sig[1].b, "Zm9vYmFy");
	assert_int_equal(out.sig[1].result, RESULT_PERMERROR);
}

/* test_max_sigs - past max_sigs: not verified, counted */
static void
test_max_sigs(void **state)
{
	static const char *const sigs[] = {
		"garbage",
		"v=1; a=rsa-sha1; d=a.test; s=s; h=from; bh=AAAA; b=QUJD",
		"more garbage",
		SIG_OK,
		SIG_OK,
	};
	struct dkimverify_outcome out;

	(void)state;
	verify_sigs(sigs, 5, 3, &out);
	assert_int_equal(out.count, 3);
	assert_int_equal(out.ignored, 2);
	assert_non_null(strstr(out.sig[0].reason, "malformed"));
	assert_non_null(strstr(out.sig[1].reason, "rsa-sha1"));
	assert_non_null(strstr(out.sig[2].reason, "malformed"));

	/* a max of 0 is 1; over DKIMVERIFY_MAX_SIGS is that */
	verify_sigs(sigs, 5, 0, &out);
	assert_int_equal(out.count, 1);
	assert_int_equal(out.ignored, 4);
	verify_sigs(sigs, 5, 1000, &out);
	assert_int_equal(out.count, 5);
	assert_int_equal(out.ignored, 0);
	assert_int_equal(out.sig[3].result, RESULT_TEMPERROR);
}

/* test_many_sigs - more signatures than slots, all with lookups */
static void
test_many_sigs(void **state)
{
	const char *sigs[40];
	struct dkimverify_outcome out;
	size_t i;

	(void)state;
	for (i = 0; i < 40; i++)
		sigs[i] = SIG_OK;
	verify_sigs(sigs, 40, DKIMVERIFY_MAX_SIGS, &out);
	assert_int_equal(out.count, DKIMVERIFY_MAX_SIGS);
	assert_int_equal(out.ignored, 40 - DKIMVERIFY_MAX_SIGS);
	for (i = 0; i < out.count; i++)
		assert_int_equal(out.sig[i].result, RESULT_TEMPERROR);
}

/* test_too_many_headers - 10000 fields: refused, no crash, permerror */
static void
test_too_many_headers(void **state)
{
	struct dkimverify *v = verifier(4);
	struct dkimverify_outcome out;
	char value[32];
	int i;

	(void)state;
	assert_int_equal(dkimverify_header(v, "DKIM-Signature", SIG_OK), 0);
	for (i = 0; i < 10000; i++) {
		snprintf(value, sizeof(value), "%d", i);
		assert_int_equal(dkimverify_header(v, "X-Filler", value), 0);
	}
	/* a signature past the limit is still reported */
	assert_int_equal(dkimverify_header(v, "DKIM-Signature", SIG_OK), 0);
	feed_common(v);
	assert_int_equal(dkimverify_eom(v, &out), 0);
	assert_int_equal(out.count, 2);
	assert_int_equal(out.sig[0].result, RESULT_PERMERROR);
	assert_non_null(strstr(out.sig[0].reason, "too many headers"));
	assert_int_equal(out.sig[1].result, RESULT_PERMERROR);
	dkimverify_free(&v);

	/* the byte limit, with few fields */
	v = verifier(4);
	{
		size_t n = 200000;
		char *big = malloc(n + 1);

		assert_non_null(big);
		memset(big, 'x', n);
		big[n] = '\0';
		assert_int_equal(
		    dkimverify_header(v, "DKIM-Signature", SIG_OK), 0);
		for (i = 0; i < 6; i++)
			assert_int_equal(dkimverify_header(v, "X-Big", big), 0);
		free(big);
	}
	feed_common(v);
	assert_int_equal(dkimverify_eom(v, &out), 0);
	assert_int_equal(out.count, 1);
	assert_non_null(strstr(out.sig[0].reason, "too many headers"));
	dkimverify_free(&v);
}

/* test_long_sig_field - a huge DKIM-Signature is not parsed */
static void
test_long_sig_field(void **state)
{
	struct dkimverify_outcome out;
	size_t n = 20000;
	char *big = malloc(n + sizeof(SIG_OK) + 10);

	(void)state;
	assert_non_null(big);
	strcpy(big, SIG_OK "; z=");
	memset(big + strlen(big), 'A', n);
	big[sizeof(SIG_OK) + 3 + n] = '\0';
	verify_sigs((const char *const *)&big, 1, 4, &out);
	assert_int_equal(out.count, 1);
	assert_int_equal(out.sig[0].result, RESULT_PERMERROR);
	assert_non_null(strstr(out.sig[0].reason, "too long"));
	free(big);
}

/* test_bad_fields - odd names and values: skipped, never a crash */
static void
test_bad_fields(void **state)
{
	struct dkimverify *v = verifier(4);
	struct dkimverify_outcome out;
	char name[1100];

	(void)state;
	memset(name, 'N', sizeof(name) - 1);
	name[sizeof(name) - 1] = '\0';
	assert_int_equal(dkimverify_header(v, "", "x"), 0);
	assert_int_equal(dkimverify_header(v, "Bad Name", "x"), 0);
	assert_int_equal(dkimverify_header(v, "a:b", "x"), 0);
	assert_int_equal(dkimverify_header(v, "T\x01", "x"), 0);
	assert_int_equal(dkimverify_header(v, "\xc3\xa9", "x"), 0);
	assert_int_equal(dkimverify_header(v, name, "x"), 0);
	assert_int_equal(dkimverify_header(v, NULL, "x"), 0);
	assert_int_equal(dkimverify_header(v, "X", NULL), 0);
	assert_int_equal(dkimverify_header(v, "X-Empty", ""), 0);
	assert_int_equal(dkimverify_header(v, "X-8bit", "caf\xc3\xa9"), 0);
	assert_int_equal(dkimverify_header(v, "X-Ctl", "a\x01\x7f"), 0);
	assert_int_equal(dkimverify_header(v, "X-Fold", "\n\t\n\t"), 0);
	assert_int_equal(dkimverify_header(v, "DKIM-Signature", SIG_OK), 0);
	feed_common(v);
	/* after the end of header: ignored */
	assert_int_equal(dkimverify_header(v, "DKIM-Signature", SIG_OK), 0);
	assert_int_equal(dkimverify_body(v, NULL, 0), 0);
	assert_int_equal(dkimverify_eom(v, &out), 0);
	assert_int_equal(out.count, 1);
	assert_int_equal(out.sig[0].result, RESULT_TEMPERROR);
	dkimverify_free(&v);

	/* no From: the message is refused, the signature permerror */
	v = verifier(4);
	assert_int_equal(dkimverify_header(v, "DKIM-Signature", SIG_OK), 0);
	assert_int_equal(dkimverify_header(v, "Subject", "x"), 0);
	assert_int_equal(dkimverify_eom(v, &out), 0);
	assert_int_equal(out.count, 1);
	assert_int_equal(out.sig[0].result, RESULT_PERMERROR);
	dkimverify_free(&v);

	/* body before the end of header, eom without body */
	v = verifier(4);
	assert_int_equal(dkimverify_header(v, "From", "a@dkim.test"), 0);
	assert_int_equal(dkimverify_header(v, "DKIM-Signature", SIG_OK), 0);
	assert_int_equal(
	    dkimverify_body(v, (const unsigned char *)"x\r\n", 3), 0);
	assert_int_equal(dkimverify_eom(v, &out), 0);
	assert_int_equal(out.count, 1);
	dkimverify_free(&v);

	dkimverify_free(NULL);
	assert_null(dkimverify_new(NULL, fx.dns, NULL, 4, "x"));
	assert_int_equal(dkimverify_eom(NULL, &out), -1);
	assert_int_equal(out.count, 0);
}

struct field_case {
	const char *name;  /* field name */
	const char *value; /* value */
	int leadspc;	   /* keep the value's own space */
	int want_rc;	   /* 0 built, 1 bad name */
	const char *want;  /* field built */
};

static const struct field_case field_cases[] = {
	{ "Subject", "hi", 0, 0, "Subject: hi" },
	{ "Subject", " hi", 1, 0, "Subject: hi" },
	{ "Subject", "a\n\tb", 0, 0, "Subject: a\r\n\tb" },
	{ "Subject", "a\r\n\tb", 0, 0, "Subject: a\r\n\tb" },
	{ "Subject", "\n b\n c", 0, 0, "Subject: \r\n b\r\n c" },
	{ "Subject", "", 0, 0, "Subject: " },
	{ "Sub ject", "x", 0, 1, NULL },
	{ "", "x", 0, 1, NULL },
	{ "a:b", "x", 0, 1, NULL },
};

/* test_field - "Name: value" as libopendkim gets it */
static void
test_field(void **state)
{
	char *buf = NULL;
	size_t size = 0, len, i;
	int rc;

	(void)state;
	for (i = 0; i < sizeof(field_cases) / sizeof(field_cases[0]); i++) {
		const struct field_case *c = &field_cases[i];

		rc = dkimverify_field(
		    c->name, c->value, c->leadspc, &buf, &size, &len);
		if (rc != c->want_rc)
			fail_msg("%s/%s: got %d, want %d", c->name, c->value,
			    rc, c->want_rc);
		if (c->want != NULL &&
		    (strcmp(buf, c->want) != 0 || len != strlen(c->want)))
			fail_msg("%s: got \"%s\", want \"%s\"", c->name, buf,
			    c->want);
	}
	free(buf);
}

struct tag_case {
	const char *value; /* field body */
	const char *tag;   /* tag asked */
	size_t size;	   /* buffer size */
	int want_rc;	   /* 1, 0, -1 */
	const char *want;  /* value found */
};

static const struct tag_case tag_cases[] = {
	{ "v=1; d=example.test; s=sel", "d", 64, 1, "example.test" },
	{ "v=1; d = example.test ; s=sel", "d", 64, 1, "example.test" },
	{ "v=1;\r\n\td=exa\r\n\tmple.test;", "d", 64, 1, "example.test" },
	{ "v=1; s=sel", "d", 64, 0, "" },
	{ "v=1; dd=x; d=y", "d", 64, 1, "y" },
	{ "d=", "d", 64, 1, "" },
	{ "d=example.test", "d", 5, -1, "" },
	{ "b=abc def\n\tghi", "b", 64, 1, "abcdefghi" },
	{ "garbage; d=x", "d", 64, 1, "x" },
	{ "garbage", "d", 64, 0, "" },
	{ "v=1; zz; d=x; =y", "d", 64, 1, "x" },
	{ "", "d", 64, 0, "" },
	{ "v=1;;d=x", "d", 64, 1, "x" },
};

/* test_tag - dkimverify_tag */
static void
test_tag(void **state)
{
	char buf[64];
	size_t i;
	int rc;

	(void)state;
	for (i = 0; i < sizeof(tag_cases) / sizeof(tag_cases[0]); i++) {
		const struct tag_case *c = &tag_cases[i];

		rc = dkimverify_tag(c->value, c->tag, buf, c->size);
		if (rc != c->want_rc || strcmp(buf, c->want) != 0)
			fail_msg("%s: got %d \"%s\", want %d \"%s\"", c->value,
			    rc, buf, c->want_rc, c->want);
	}
	assert_int_equal(dkimverify_tag(NULL, "d", buf, sizeof(buf)), 0);
}

/* sign - sign a short message; returns the value (caller frees) */
static char *
sign(const char *domain, const char *const *hdrs, char **error)
{
	static const unsigned char body[] = "Hello.\r\n";
	const struct keytable_key *key = keytable_find(fx.kt, domain);
	struct dkimsign *s;
	const char *name = NULL;
	char *value = NULL;

	assert_non_null(key);
	s = dkimsign_new(fx.lib, key, "TEST2", hdrs, error);
	if (s == NULL)
		return NULL;
	assert_int_equal(dkimsign_header(s, "From", "a@dkim.test"), 0);
	assert_int_equal(dkimsign_header(s, "To", "b@example.test"), 0);
	assert_int_equal(dkimsign_header(s, "Subject", "hi\n\tthere"), 0);
	assert_int_equal(dkimsign_header(s, "Received", "from x"), 0);
	assert_int_equal(dkimsign_eoh(s), 0);
	assert_int_equal(dkimsign_body(s, body, sizeof(body) - 1), 0);
	if (dkimsign_eom(s, &name, &value, error) == 0)
		assert_string_equal(name, "DKIM-Signature");
	dkimsign_free(&s);
	assert_null(s);
	return value;
}

/* test_sign - tags, folding and header list of our signatures */
static void
test_sign(void **state)
{
	static const char *const mine[] = { "From", "Subject", NULL };
	static const char *const bad[] = { "From", "Sub ject", NULL };
	static const char *const empty[] = { NULL };
	char *v, *error = NULL, buf[256];

	(void)state;
	v = sign("dkim.test", NULL, &error);
	assert_non_null(v);
	assert_null(strchr(v, '\r'));
	assert_non_null(strstr(v, "\n\t"));
	assert_int_equal(dkimverify_tag(v, "a", buf, sizeof(buf)), 1);
	assert_string_equal(buf, "rsa-sha256");
	assert_int_equal(dkimverify_tag(v, "d", buf, sizeof(buf)), 1);
	assert_string_equal(buf, "dkim.test");
	assert_int_equal(dkimverify_tag(v, "s", buf, sizeof(buf)), 1);
	assert_string_equal(buf, "rsa2048");
	assert_int_equal(dkimverify_tag(v, "c", buf, sizeof(buf)), 1);
	assert_string_equal(buf, "relaxed/relaxed");
	assert_int_equal(dkimverify_tag(v, "h", buf, sizeof(buf)), 1);
	/* From oversigned; Received never signed */
	assert_string_equal(buf, "From:To:Subject:from");
	assert_int_equal(dkimverify_tag(v, "l", buf, sizeof(buf)), 0);
	free(v);

	v = sign("ed.dkim.test", mine, &error);
	assert_non_null(v);
	assert_int_equal(dkimverify_tag(v, "a", buf, sizeof(buf)), 1);
	assert_string_equal(buf, "ed25519-sha256");
	assert_int_equal(dkimverify_tag(v, "h", buf, sizeof(buf)), 1);
	assert_string_equal(buf, "From:Subject:from");
	free(v);

	assert_null(sign("dkim.test", bad, &error));
	assert_non_null(strstr(error, "sign_headers"));
	free(error);
	error = NULL;
	assert_null(sign("dkim.test", empty, &error));
	free(error);
	error = NULL;
	assert_null(dkimsign_new(fx.lib, NULL, "x", NULL, &error));
	free(error);
	dkimsign_free(NULL);
}

/* test_sign_limits - a signer refuses what it cannot sign */
static void
test_sign_limits(void **state)
{
	const struct keytable_key *key = keytable_find(fx.kt, "dkim.test");
	struct dkimsign *s;
	const char *name;
	char *value = NULL, *error = NULL;
	int i, rc = 0;

	(void)state;
	s = dkimsign_new(fx.lib, key, NULL, NULL, &error);
	assert_non_null(s);
	assert_int_equal(dkimsign_header(s, "From", "a@dkim.test"), 0);
	for (i = 0; i < 2000 && rc == 0; i++)
		rc = dkimsign_header(s, "X-Filler", "x");
	assert_int_equal(rc, -1);
	assert_int_equal(dkimsign_eom(s, &name, &value, &error), -1);
	assert_null(value);
	assert_non_null(strstr(error, "too many headers"));
	free(error);
	error = NULL;
	dkimsign_free(&s);

	s = dkimsign_new(fx.lib, key, "x", NULL, &error);
	assert_non_null(s);
	assert_int_equal(dkimsign_header(s, "Bad Name", "x"), -1);
	assert_int_equal(dkimsign_body(s, (const unsigned char *)"x", 1), -1);
	assert_int_equal(dkimsign_eom(s, &name, &value, &error), -1);
	assert_non_null(strstr(error, "bad field name"));
	free(error);
	dkimsign_free(&s);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_none),
		cmocka_unit_test(test_sigs),
		cmocka_unit_test(test_tags_reported),
		cmocka_unit_test(test_max_sigs),
		cmocka_unit_test(test_many_sigs),
		cmocka_unit_test(test_too_many_headers),
		cmocka_unit_test(test_long_sig_field),
		cmocka_unit_test(test_bad_fields),
		cmocka_unit_test(test_field),
		cmocka_unit_test(test_tag),
		cmocka_unit_test(test_sign),
		cmocka_unit_test(test_sign_limits),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
