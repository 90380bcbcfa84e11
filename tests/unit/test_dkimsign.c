/*
 * test_dkimsign - DKIM signing: ed25519-sha256 made by dkimsign itself,
 * rsa-sha256 by libopendkim.
 *
 * Every signature made here is verified by libopendkim reading the public
 * keys from a file (DKIM_QUERY_FILE: no DNS), an implementation of the
 * canonicalization independent of dkimsign's Ed25519 signer. The body hash
 * of each case is also checked against a canonical body written out by
 * hand (RFC 6376 3.4.4), for chunk sizes from 1 byte up (CRLF pairs and
 * WSP runs split between chunks), and the h= and bh= of an Ed25519
 * signature against those libopendkim makes for RSA on the same message.
 * Under AddressSanitizer (make SANITIZER=address) 1000 Ed25519 signatures
 * are checked for leaks, with no suppression. Keys come from tests/keys
 * (run from the top of the source tree, as tests/run-unit.sh does).
 */
#include "milter/dkimsign.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <opendkim/dkim.h>
#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/lsan_interface.h>
#endif

#include "milter/dkimverify.h"
#include "policy/keytable.h"

#define RSA_DOMAIN "dkim.test"
#define ED_DOMAIN "ed.dkim.test"

struct fixture {
	struct dkimverify_lib *lib; /* shared handle, for signing */
	DKIM_LIB *vlib;		    /* libopendkim verifying from keyfile */
	struct keytable *kt;	    /* test keys */
	char dir[64];		    /* key directory */
	char keyfile[128];	    /* public keys, DKIM_QUERY_FILE format */
};

static struct fixture fx;

/* b64 - base64 of n bytes into out (4 * ((n + 2) / 3) + 1 bytes) */
static void
b64(const unsigned char *in, size_t n, char *out)
{
	EVP_EncodeBlock((unsigned char *)out, in, (int)n);
}

/* pubkey_record - "v=DKIM1; k=...; p=...;" for a private key PEM file */
static int
pubkey_record(const char *path, char *out, size_t size)
{
	FILE *fp = fopen(path, "r");
	EVP_PKEY *pkey = NULL;
	unsigned char raw[1024], *p = raw;
	char enc[1400];
	size_t rlen = sizeof(raw);
	int n, rc = -1;

	if (fp == NULL)
		return -1;
	pkey = PEM_read_PrivateKey(fp, NULL, NULL, (void *)"");
	fclose(fp);
	if (pkey == NULL)
		return -1;
	if (EVP_PKEY_id(pkey) == EVP_PKEY_ED25519) {
		/* RFC 8463 4.2: the bare 32-byte key */
		if (EVP_PKEY_get_raw_public_key(pkey, raw, &rlen) != 1)
			goto done;
		b64(raw, rlen, enc);
		snprintf(out, size, "v=DKIM1; k=ed25519; p=%s;", enc);
	} else {
		if ((n = i2d_PUBKEY(pkey, NULL)) <= 0 ||
		    (size_t)n > sizeof(raw) || i2d_PUBKEY(pkey, &p) != n)
			goto done;
		b64(raw, (size_t)n, enc);
		snprintf(out, size, "v=DKIM1; k=rsa; p=%s;", enc);
	}
	rc = 0;
done:
	EVP_PKEY_free(pkey);
	return rc;
}

/* setup - lib, key table, and a libopendkim verifier reading a file */
static int
setup(void **state)
{
	char *error = NULL, cmd[512], table[128], rec[2048];
	unsigned qm = DKIM_QUERY_FILE;
	FILE *fp;

	(void)state;
	if (dkimverify_lib_new(&fx.lib, &error) != 0) {
		fprintf(stderr, "setup: %s\n", error);
		return -1;
	}
	snprintf(fx.dir, sizeof(fx.dir), "/tmp/test_dkimsign.XXXXXX");
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
	    RSA_DOMAIN " rsa2048 rsa2048.pem\n" ED_DOMAIN
		       " ed25519 ed25519.pem\n");
	fclose(fp);
	if (keytable_load(table, &fx.kt, &error) != 0) {
		fprintf(stderr, "setup: %s\n", error);
		return -1;
	}
	snprintf(fx.keyfile, sizeof(fx.keyfile), "%s/keys", fx.dir);
	if ((fp = fopen(fx.keyfile, "w")) == NULL)
		return -1;
	if (pubkey_record("tests/keys/rsa2048.pem", rec, sizeof(rec)) != 0)
		return -1;
	fprintf(fp, "rsa2048._domainkey." RSA_DOMAIN " %s\n", rec);
	if (pubkey_record("tests/keys/ed25519.pem", rec, sizeof(rec)) != 0)
		return -1;
	fprintf(fp, "ed25519._domainkey." ED_DOMAIN " %s\n", rec);
	fclose(fp);
	if ((fx.vlib = dkim_init(NULL, NULL)) == NULL ||
	    dkim_options(fx.vlib, DKIM_OP_SETOPT, DKIM_OPTS_QUERYMETHOD, &qm,
		sizeof(qm)) != DKIM_STAT_OK ||
	    dkim_options(fx.vlib, DKIM_OP_SETOPT, DKIM_OPTS_QUERYINFO,
		fx.keyfile, strlen(fx.keyfile)) != DKIM_STAT_OK)
		return -1;
	return 0;
}

/* teardown - free everything, remove the key directory */
static int
teardown(void **state)
{
	char cmd[128];

	(void)state;
	if (fx.vlib != NULL)
		dkim_close(fx.vlib);
	keytable_free(&fx.kt);
	dkimverify_lib_free(&fx.lib);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", fx.dir);
	return system(cmd) == 0 ? 0 : -1;
}

/*
 * sign_msg - sign fields (name, value pairs, NULL-terminated) and body,
 * fed in chunks of chunk bytes (0: at once)
 * Returns the value (caller frees), or NULL with *error_r set.
 */
static char *
sign_msg(const char *domain, const char *const *hdrs, const char *const *fields,
    const char *body, size_t chunk, char **error_r)
{
	const struct keytable_key *key = keytable_find(fx.kt, domain);
	struct dkimsign *s;
	const char *name = NULL;
	char *value = NULL;
	size_t i, len = strlen(body), n;

	assert_non_null(key);
	*error_r = NULL;
	if ((s = dkimsign_new(fx.lib, key, "TEST", hdrs, error_r)) == NULL)
		return NULL;
	for (i = 0; fields[i] != NULL; i += 2)
		if (dkimsign_header(s, fields[i], fields[i + 1]) != 0)
			break;
	(void)dkimsign_eoh(s);
	if (chunk == 0)
		chunk = len;
	for (i = 0; i < len; i += n) {
		n = len - i < chunk ? len - i : chunk;
		if (dkimsign_body(s, (const unsigned char *)body + i, n) != 0)
			break;
	}
	if (dkimsign_eom(s, &name, &value, error_r) == 0)
		assert_string_equal(name, "DKIM-Signature");
	dkimsign_free(&s);
	assert_null(s);
	return value;
}

/* dkim_field - hand libopendkim one field as a verifier gets it */
static DKIM_STAT
dkim_field(DKIM *d, const char *name, const char *value)
{
	char *buf = NULL;
	size_t size = 0, len;
	DKIM_STAT st = DKIM_STAT_INTERNAL;

	if (dkimverify_field(name, value, false, &buf, &size, &len) == 0)
		st = dkim_header(d, (unsigned char *)buf, len);
	free(buf);
	return st;
}

/*
 * verify_msg - libopendkim's verdict on a signed message
 * Returns DKIM_STAT_OK for a pass, else its status (DKIM_STAT_BADSIG).
 */
static DKIM_STAT
verify_msg(const char *sig, const char *const *fields, const char *body)
{
	DKIM_STAT st;
	DKIM *d;
	size_t i;

	d = dkim_verify(fx.vlib, (const unsigned char *)"TEST", NULL, &st);
	assert_non_null(d);
	st = dkim_field(d, "DKIM-Signature", sig);
	for (i = 0; st == DKIM_STAT_OK && fields[i] != NULL; i += 2)
		st = dkim_field(d, fields[i], fields[i + 1]);
	if (st == DKIM_STAT_OK)
		st = dkim_eoh(d);
	if (st == DKIM_STAT_OK && body[0] != '\0')
		st = dkim_body(d, (unsigned char *)body, strlen(body));
	if (st == DKIM_STAT_OK)
		st = dkim_eom(d, NULL);
	dkim_free(d);
	return st;
}

/* tag - one tag of a signature, FWS removed (static buffer) */
static const char *
tag(const char *sig, const char *name)
{
	static char buf[2048];

	assert_int_equal(dkimverify_tag(sig, name, buf, sizeof(buf)), 1);
	return buf;
}

/* bh_of - base64 SHA-256 of a canonical body (static buffer) */
static const char *
bh_of(const char *canon)
{
	static char out[64];
	unsigned char h[EVP_MAX_MD_SIZE];
	unsigned hlen = 0;

	assert_int_equal(
	    EVP_Digest(canon, strlen(canon), h, &hlen, EVP_sha256(), NULL), 1);
	b64(h, hlen, out);
	return out;
}

static const char *const plain_fields[] = { "From", "Alice <a@ed.dkim.test>",
	"To", "bob@example.test", "Subject", "a test", "Date",
	"Sat, 01 Jan 2022 00:00:00 +0000", "Message-ID", "<1@ed.dkim.test>",
	NULL };

/* two Received, two To, a folded Subject, odd case and blanks, List-* */
static const char *const busy_fields[] = { "Received", "from a by b",
	"Received", "from c by d", "To", "first@example.test", "from",
	"  Alice   <a@ed.dkim.test>  ", "SUBJECT",
	"a folded\n\t subject  line\n  continued ", "To",
	"second@example.test,\n\tthird@example.test", "List-Id",
	"<list.example.test>", "X-Other", "not signed by default",
	"Content-Type", "text/plain;\tcharset=us-ascii",
	/* the rest of RFC 6376 5.4.1's list, and two fields not in it */
	"Reply-To", "r@ed.dkim.test", "Date", "Sat, 01 Jan 2022 00:00:00 +0000",
	"Cc", "c@example.test", "Message-ID", "<3@ed.dkim.test>", "In-Reply-To",
	"<2@ed.dkim.test>", "References", "<1@ed.dkim.test>", "MIME-Version",
	"1.0", "Content-Transfer-Encoding", "7bit", "List-Unsubscribe",
	"<mailto:u@example.test>", "Sender", "s@ed.dkim.test", "Resent-To",
	"x@example.test", NULL };

struct body_case {
	const char *name;  /* what the case shows */
	const char *body;  /* as fed, CRLF line ends */
	const char *canon; /* relaxed canonical form (RFC 6376 3.4.4) */
};

static const struct body_case body_cases[] = {
	{ "plain", "Hello world.\r\n", "Hello world.\r\n" },
	{ "trailing WSP", "a  \r\nb\t\r\nc \t \r\n", "a\r\nb\r\nc\r\n" },
	{ "WSP runs", "a  b\t\tc \t d\r\n", "a b c d\r\n" },
	{ "leading WSP", "  a\r\n\tb\r\n", " a\r\n b\r\n" },
	{ "empty lines at the end", "a\r\n\r\n\r\n\r\n", "a\r\n" },
	{ "empty lines inside", "a\r\n\r\n\r\nb\r\n", "a\r\n\r\n\r\nb\r\n" },
	{ "blank-only lines inside", "a\r\n \t\r\n  \r\nb\r\n",
	    "a\r\n\r\n\r\nb\r\n" },
	{ "blank-only lines at the end", "a\r\n \r\n\t\t\r\n", "a\r\n" },
	{ "no body", "", "" },
	{ "only empty lines", "\r\n\r\n\r\n", "" },
	{ "only WSP", "  \t ", "" },
	{ "no CRLF at the end", "a b", "a b\r\n" },
	{ "WSP and no CRLF at the end", "a \t ", "a\r\n" },
	{ "empty lines then text without CRLF", "\r\n\r\nx", "\r\n\r\nx\r\n" },
	{ "8-bit bytes", "caf\xc3\xa9  au lait \r\n",
	    "caf\xc3\xa9 au lait\r\n" },
};

/* ends_crlf - is a body empty or CRLF-terminated? */
static bool
ends_crlf(const char *body)
{
	size_t n = strlen(body);

	return n == 0 || (n >= 2 && strcmp(body + n - 2, "\r\n") == 0);
}

static const size_t chunks[] = { 0, 1, 2, 3, 7, 64 };

/* test_ed_bodies - each body, every chunk size: bh= right, verifies */
static void
test_ed_bodies(void **state)
{
	char *v, *error, *bh;
	size_t i, j;
	DKIM_STAT st;

	(void)state;
	for (i = 0; i < sizeof(body_cases) / sizeof(body_cases[0]); i++) {
		const struct body_case *c = &body_cases[i];

		for (j = 0; j < sizeof(chunks) / sizeof(chunks[0]); j++) {
			v = sign_msg(ED_DOMAIN, NULL, plain_fields, c->body,
			    chunks[j], &error);
			if (v == NULL)
				fail_msg(
				    "%s/%zu: %s", c->name, chunks[j], error);
			bh = strdup(tag(v, "bh"));
			assert_non_null(bh);
			if (strcmp(bh, bh_of(c->canon)) != 0)
				fail_msg("%s/%zu: got bh=%s, want %s", c->name,
				    chunks[j], bh, bh_of(c->canon));
			free(bh);
			/* libopendkim refuses a body without its last CRLF
			 * ("CRLF at end of body missing"): SMTP never ends
			 * one so; RFC 6376 3.4.4 adds it */
			st = ends_crlf(c->body)
			    ? verify_msg(v, plain_fields, c->body)
			    : DKIM_STAT_OK;
			if (st != DKIM_STAT_OK)
				fail_msg("%s/%zu: libopendkim says %s", c->name,
				    chunks[j], dkim_getresultstr(st));
			free(v);
		}
	}
}

/* test_ed_long_body - past the canonicalizer's buffer, odd chunks */
static void
test_ed_long_body(void **state)
{
	size_t n = 20001, i, o = 0, c = 0, j;
	char *body = malloc(n * 24), *canon = malloc(n * 24), *v, *error;

	(void)state;
	assert_non_null(body);
	assert_non_null(canon);
	for (i = 0; i < n; i++) {
		/* WSP runs, trailing WSP, empty lines, a CRLF every time */
		o += (size_t)sprintf(body + o, "l%zu \t x%s\r\n%s", i,
		    i % 3 == 0 ? "  " : "", i % 5 == 0 ? " \r\n" : "");
		c += (size_t)sprintf(
		    canon + c, "l%zu x\r\n%s", i, i % 5 == 0 ? "\r\n" : "");
	}
	/* the last line had an empty line after it: dropped */
	canon[c - 2] = '\0';
	for (j = 0; j < sizeof(chunks) / sizeof(chunks[0]); j++) {
		v = sign_msg(ED_DOMAIN, NULL, plain_fields, body,
		    chunks[j] == 0 ? 0 : chunks[j] * 997, &error);
		assert_non_null(v);
		assert_string_equal(tag(v, "bh"), bh_of(canon));
		assert_int_equal(
		    verify_msg(v, plain_fields, body), DKIM_STAT_OK);
		free(v);
	}
	free(body);
	free(canon);
}

/* test_ed_headers - repeated, folded, odd case: verifies, matches RSA */
static void
test_ed_headers(void **state)
{
	static const char *const mine[] = { "Subject", "X-*", "to", NULL };
	static const char *const *const lists[] = { NULL, mine };
	static const char body[] = "Hello.\r\n";
	char *ed, *rsa, *error, *want;
	size_t i;

	(void)state;
	for (i = 0; i < 2; i++) {
		ed =
		    sign_msg(ED_DOMAIN, lists[i], busy_fields, body, 0, &error);
		rsa = sign_msg(
		    RSA_DOMAIN, lists[i], busy_fields, body, 0, &error);
		assert_non_null(ed);
		assert_non_null(rsa);
		assert_int_equal(
		    verify_msg(ed, busy_fields, body), DKIM_STAT_OK);
		assert_int_equal(
		    verify_msg(rsa, busy_fields, body), DKIM_STAT_OK);
		/* the same fields signed as libopendkim signs them */
		assert_non_null(want = strdup(tag(rsa, "h")));
		assert_string_equal(tag(ed, "h"), want);
		free(want);
		assert_non_null(want = strdup(tag(rsa, "bh")));
		assert_string_equal(tag(ed, "bh"), want);
		free(want);
		assert_string_equal(tag(ed, "a"), "ed25519-sha256");
		assert_string_equal(tag(ed, "c"), "relaxed/relaxed");
		assert_string_equal(tag(ed, "d"), ED_DOMAIN);
		assert_string_equal(tag(ed, "s"), "ed25519");
		assert_null(strchr(ed, '\r'));
		assert_non_null(strstr(ed, "\n\t"));
		free(ed);
		free(rsa);
	}
	ed = sign_msg(ED_DOMAIN, NULL, busy_fields, body, 0, &error);
	assert_non_null(ed);
	assert_string_equal(tag(ed, "h"),
	    "To:from:SUBJECT:To:List-Id:Content-Type:Reply-To:Date:Cc:"
	    "Message-ID:In-Reply-To:References:MIME-Version:"
	    "Content-Transfer-Encoding:List-Unsubscribe:from");
	free(ed);
}

/* test_ed_altered - what the signature covers, and what it does not */
static void
test_ed_altered(void **state)
{
	static const char body[] = "Hello  world.\r\n";
	const char *f[sizeof(busy_fields) / sizeof(busy_fields[0])];
	char *v, *error;
	size_t i;

	(void)state;
	v = sign_msg(ED_DOMAIN, NULL, busy_fields, body, 0, &error);
	assert_non_null(v);
	memcpy(f, busy_fields, sizeof(f));
	/* relaxed: WSP changes are not changes */
	assert_int_equal(
	    verify_msg(v, f, "Hello world.  \r\n\r\n"), DKIM_STAT_OK);
	assert_int_equal(
	    verify_msg(v, f, "Hello world!\r\n"), DKIM_STAT_BADSIG);
	/* Received is not signed; the first and second To are */
	f[1] = "from elsewhere";
	assert_int_equal(verify_msg(v, f, body), DKIM_STAT_OK);
	for (i = 0; f[i] != NULL; i += 2)
		if (strcmp(f[i], "To") == 0) {
			f[i + 1] = "mallory@example.test";
			assert_int_equal(
			    verify_msg(v, f, body), DKIM_STAT_BADSIG);
			f[i + 1] = busy_fields[i + 1];
		}
	f[9] = "a folded subject line\tcontinued"; /* SUBJECT, relaxed */
	assert_int_equal(verify_msg(v, f, body), DKIM_STAT_OK);
	f[9] = "a folded subject line";
	assert_int_equal(verify_msg(v, f, body), DKIM_STAT_BADSIG);
	free(v);
}

/* test_ed_errors - what the Ed25519 signer refuses */
static void
test_ed_errors(void **state)
{
	static const char *const nofrom[] = { "To", "b@example.test", NULL };
	const struct keytable_key *ed = keytable_find(fx.kt, ED_DOMAIN);
	const struct keytable_key *rsa = keytable_find(fx.kt, RSA_DOMAIN);
	struct keytable_key fake;
	char garbage[] = "-----BEGIN PRIVATE KEY-----\nnot a key\n";
	struct dkimsign *s;
	const char *name;
	char *value = NULL, *error = NULL;
	int i, rc = 0;

	(void)state;
	/* From is required (as libopendkim requires it for RSA) */
	assert_null(sign_msg(ED_DOMAIN, NULL, nofrom, "x\r\n", 0, &error));
	assert_non_null(strstr(error, "required header \"from\""));
	free(error);
	assert_null(sign_msg(RSA_DOMAIN, NULL, nofrom, "x\r\n", 0, &error));
	assert_non_null(strstr(error, "required header \"from\""));
	free(error);

	/* keys that are not Ed25519 keys */
	fake = *ed;
	fake.pem = garbage;
	fake.pem_len = strlen(fake.pem);
	assert_null(dkimsign_new(fx.lib, &fake, "x", NULL, &error));
	assert_non_null(strstr(error, "key: "));
	free(error);
	fake.pem = rsa->pem;
	fake.pem_len = rsa->pem_len;
	assert_null(dkimsign_new(fx.lib, &fake, "x", NULL, &error));
	assert_string_equal(error, "key: not an Ed25519 key");
	free(error);
	error = NULL;

	/* limits and misuse: failed for good, eom says why */
	s = dkimsign_new(fx.lib, ed, NULL, NULL, &error);
	assert_non_null(s);
	assert_int_equal(dkimsign_header(s, "From", "a@ed.dkim.test"), 0);
	for (i = 0; i < 2000 && rc == 0; i++)
		rc = dkimsign_header(s, "X-Filler", "x");
	assert_int_equal(rc, -1);
	assert_int_equal(dkimsign_body(s, (const unsigned char *)"x", 1), -1);
	assert_int_equal(dkimsign_eom(s, &name, &value, &error), -1);
	assert_null(value);
	assert_non_null(strstr(error, "too many headers"));
	free(error);
	error = NULL;
	dkimsign_free(&s);

	s = dkimsign_new(fx.lib, ed, "x", NULL, &error);
	assert_non_null(s);
	assert_int_equal(dkimsign_header(s, "Bad Name", "x"), -1);
	assert_int_equal(dkimsign_eom(s, &name, &value, &error), -1);
	assert_non_null(strstr(error, "bad field name"));
	free(error);
	error = NULL;
	dkimsign_free(&s);

	s = dkimsign_new(fx.lib, ed, "x", NULL, &error);
	assert_non_null(s);
	assert_int_equal(dkimsign_header(s, "From", "a@ed.dkim.test"), 0);
	assert_int_equal(dkimsign_eoh(s), 0);
	assert_int_equal(dkimsign_header(s, "To", "late"), -1);
	dkimsign_free(&s);

	/* one signature per signer; no body after it */
	s = dkimsign_new(fx.lib, ed, "x", NULL, &error);
	assert_non_null(s);
	assert_int_equal(dkimsign_header(s, "From", "a@ed.dkim.test"), 0);
	assert_int_equal(dkimsign_eom(s, &name, &value, &error), 0);
	free(value);
	value = NULL;
	assert_int_equal(dkimsign_eom(s, &name, &value, &error), -1);
	assert_non_null(strstr(error, "done already"));
	free(error);
	error = NULL;
	dkimsign_free(&s);
	s = dkimsign_new(fx.lib, ed, "x", NULL, &error);
	assert_non_null(s);
	assert_int_equal(dkimsign_header(s, "From", "a@ed.dkim.test"), 0);
	assert_int_equal(dkimsign_eom(s, &name, &value, &error), 0);
	free(value);
	value = NULL;
	assert_int_equal(dkimsign_body(s, (const unsigned char *)"x", 1), -1);
	dkimsign_free(&s);

	assert_int_equal(dkimsign_header(NULL, "From", "x"), -1);
	assert_int_equal(dkimsign_eoh(NULL), -1);
	assert_int_equal(dkimsign_body(NULL, NULL, 0), -1);
	assert_int_equal(dkimsign_eom(NULL, &name, &value, NULL), -1);
	dkimsign_free(NULL);
}

/* test_ed_leadspc - values with their own leading space */
static void
test_ed_leadspc(void **state)
{
	static const char *const fields[] = { "From", " a@ed.dkim.test", "To",
		"\tb@example.test", "Subject", "  hi  there", NULL };
	static const char *const plain[] = { "From", "a@ed.dkim.test", "To",
		"b@example.test", "Subject", "hi there", NULL };
	const struct keytable_key *key = keytable_find(fx.kt, ED_DOMAIN);
	struct dkimsign *s;
	const char *name;
	char *value = NULL, *error = NULL;
	size_t i;

	(void)state;
	s = dkimsign_new(fx.lib, key, "x", NULL, &error);
	assert_non_null(s);
	dkimsign_set_leadspc(s, true);
	for (i = 0; fields[i] != NULL; i += 2)
		assert_int_equal(
		    dkimsign_header(s, fields[i], fields[i + 1]), 0);
	assert_int_equal(dkimsign_eom(s, &name, &value, &error), 0);
	dkimsign_free(&s);
	/* relaxed: the same fields without their blanks verify */
	assert_int_equal(verify_msg(value, plain, ""), DKIM_STAT_OK);
	free(value);
}

/* test_ed_1000 - 1000 signatures: nothing left behind (ASan build) */
static void
test_ed_1000(void **state)
{
	static const char *const mine[] = { "From", "Subject", NULL };
	char *v, *error, body[128];
	size_t i;

	(void)state;
	for (i = 0; i < 1000; i++) {
		snprintf(body, sizeof(body), "message %zu  \r\n\r\n", i);
		v = sign_msg(ED_DOMAIN, i % 2 == 0 ? NULL : mine, plain_fields,
		    body, i % 13, &error);
		assert_non_null(v);
		if (i % 100 == 0)
			assert_int_equal(
			    verify_msg(v, plain_fields, body), DKIM_STAT_OK);
		free(v);
	}
#if defined(__SANITIZE_ADDRESS__)
	/* unreachable memory now is a leak of the 1000 signers */
	assert_int_equal(__lsan_do_recoverable_leak_check(), 0);
#endif
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ed_bodies),
		cmocka_unit_test(test_ed_long_body),
		cmocka_unit_test(test_ed_headers),
		cmocka_unit_test(test_ed_altered),
		cmocka_unit_test(test_ed_errors),
		cmocka_unit_test(test_ed_leadspc),
		cmocka_unit_test(test_ed_1000),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
