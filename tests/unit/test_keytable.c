/*
 * test_keytable - the DKIM signing key table: parsing, key checks,
 * errors with file and line.
 *
 * Keys come from tests/keys (run from the top of the source tree, as
 * tests/run-unit.sh does) and are copied into a fresh directory with the
 * modes each case wants; EC and encrypted keys are made here with
 * OpenSSL.
 */
#include "policy/keytable.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include <openssl/evp.h>
#include <openssl/pem.h>

static char dir[256]; /* the test directory */

/* path_in - DIR/name into buf */
static const char *
path_in(char *buf, size_t size, const char *name)
{
	snprintf(buf, size, "%s/%s", dir, name);
	return buf;
}

/* write_file - create DIR/name with text and mode */
static void
write_file(const char *name, const char *text, mode_t mode)
{
	char p[512];
	FILE *fp;

	path_in(p, sizeof(p), name);
	unlink(p);
	fp = fopen(p, "w");
	assert_non_null(fp);
	fputs(text, fp);
	fclose(fp);
	assert_int_equal(chmod(p, mode), 0);
}

/* copy_key - copy tests/keys/NAME.pem to DIR/NAME.pem with a mode */
static void
copy_key(const char *name, const char *as, mode_t mode)
{
	char src[512], text[8192];
	size_t n;
	FILE *fp;

	snprintf(src, sizeof(src), "tests/keys/%s.pem", name);
	fp = fopen(src, "r");
	if (fp == NULL)
		fail_msg("%s: not found (run from the source tree)", src);
	n = fread(text, 1, sizeof(text) - 1, fp);
	fclose(fp);
	text[n] = '\0';
	write_file(as, text, mode);
}

/* write_pkey - write a key made here, plain or encrypted */
static void
write_pkey(const char *name, EVP_PKEY *pkey, int encrypt)
{
	char p[512];
	FILE *fp;

	path_in(p, sizeof(p), name);
	fp = fopen(p, "w");
	assert_non_null(fp);
	if (encrypt)
		assert_int_equal(
		    PEM_write_PrivateKey(fp, pkey, EVP_aes_128_cbc(),
			(unsigned char *)"secret", 6, NULL, NULL),
		    1);
	else
		assert_int_equal(
		    PEM_write_PrivateKey(fp, pkey, NULL, NULL, 0, NULL, NULL),
		    1);
	fclose(fp);
	assert_int_equal(chmod(p, 0600), 0);
}

/* setup - a fresh directory with the keys every case may name */
static int
setup(void **state)
{
	EVP_PKEY *ec, *rsa;
	BIO *bio;
	FILE *fp;
	char p[512], buf[8192];
	long n;

	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/test_keytable.XXXXXX");
	if (mkdtemp(dir) == NULL)
		return -1;
	copy_key("rsa1024", "rsa1024.pem", 0600);
	copy_key("rsa2048", "rsa2048.pem", 0640);
	copy_key("ed25519", "ed25519.pem", 0400);
	copy_key("rsa512", "rsa512.pem", 0600);
	copy_key("rsa2048", "world.pem", 0644);
	copy_key("rsa2048", "gwrite.pem", 0660);
	copy_key("rsa2048", "owrite.pem", 0602);
	write_file("notakey.pem", "hello\n", 0600);
	write_file("empty.pem", "", 0600);
	mkdir(path_in(p, sizeof(p), "adir"), 0700);
	ec = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	assert_non_null(ec);
	write_pkey("ec.pem", ec, 0);
	EVP_PKEY_free(ec);
	/* an encrypted RSA key, and one in the PKCS#1 form (genrsa) */
	fp = fopen("tests/keys/rsa1024.pem", "r");
	assert_non_null(fp);
	rsa = PEM_read_PrivateKey(fp, NULL, NULL, NULL);
	fclose(fp);
	assert_non_null(rsa);
	write_pkey("encrypted.pem", rsa, 1);
	bio = BIO_new(BIO_s_mem());
	assert_int_equal(PEM_write_bio_PrivateKey_traditional(
			     bio, rsa, NULL, NULL, 0, NULL, NULL),
	    1);
	n = BIO_read(bio, buf, sizeof(buf) - 1);
	assert_true(n > 0);
	buf[n] = '\0';
	assert_non_null(strstr(buf, "BEGIN RSA PRIVATE KEY"));
	write_file("pkcs1.pem", buf, 0600);
	BIO_free(bio);
	EVP_PKEY_free(rsa);
	return 0;
}

/* teardown - remove the directory */
static int
teardown(void **state)
{
	char cmd[300];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : -1;
}

/* load_text - write a table and load it */
static int
load_text(const char *text, struct keytable **kt, char **error)
{
	char p[512];

	write_file("table", text, 0644);
	*error = NULL;
	return keytable_load(path_in(p, sizeof(p), "table"), kt, error);
}

/* test_good - a table of three keys, comments, blank lines */
static void
test_good(void **state)
{
	struct keytable *kt = NULL;
	const struct keytable_key *k;
	char *error = NULL, table[1024], abs[512];

	(void)state;
	snprintf(table, sizeof(table),
	    "# signing keys\n"
	    "\n"
	    "example.test   rsa2048  rsa2048.pem   # relative to the table\n"
	    "\tOther.Test.\tsel1\t%s\r\n"
	    "ed.test ed25519 ed25519.pem\n"
	    "pkcs1.test s pkcs1.pem\n"
	    "   # indented comment\n",
	    path_in(abs, sizeof(abs), "rsa1024.pem"));
	if (load_text(table, &kt, &error) != 0)
		fail_msg("load: %s", error);
	assert_int_equal(keytable_count(kt), 4);

	k = keytable_find(kt, "example.test");
	assert_non_null(k);
	assert_string_equal(k->selector, "rsa2048");
	assert_int_equal(k->alg, KEYTABLE_RSA);
	assert_int_equal(k->bits, 2048);
	assert_int_equal(k->line, 3);
	assert_non_null(strstr(k->pem, "-----BEGIN PRIVATE KEY-----"));
	assert_int_equal(strlen(k->pem), k->pem_len);

	k = keytable_find(kt, "OTHER.test.");
	assert_non_null(k);
	assert_string_equal(k->domain, "other.test");
	assert_int_equal(k->bits, 1024);
	assert_int_equal(k->line, 4);

	k = keytable_find(kt, "ed.test");
	assert_non_null(k);
	assert_int_equal(k->alg, KEYTABLE_ED25519);
	assert_int_equal(k->bits, 256);
	assert_non_null(strstr(k->pem, "-----BEGIN PRIVATE KEY-----"));

	/* PKCS#1 in, PKCS#8 out */
	k = keytable_find(kt, "pkcs1.test");
	assert_non_null(k);
	assert_null(strstr(k->pem, "RSA PRIVATE KEY"));

	/* exact domain only */
	assert_null(keytable_find(kt, "sub.example.test"));
	assert_null(keytable_find(kt, "test"));
	assert_null(keytable_find(kt, ""));
	assert_null(keytable_find(kt, NULL));
	assert_null(keytable_find(NULL, "example.test"));
	assert_non_null(keytable_key_at(kt, 3));
	assert_null(keytable_key_at(kt, 4));
	keytable_free(&kt);
	assert_null(kt);
	keytable_free(&kt);
	keytable_free(NULL);
}

/* test_empty - an empty table loads, with no keys */
static void
test_empty(void **state)
{
	struct keytable *kt = NULL;
	char *error = NULL;

	(void)state;
	assert_int_equal(load_text("# nothing\n\n", &kt, &error), 0);
	assert_int_equal(keytable_count(kt), 0);
	assert_null(keytable_find(kt, "example.test"));
	keytable_free(&kt);
}

struct error_case {
	const char *name;  /* what the case shows */
	const char *table; /* the table text */
	const char *want;  /* the error must contain this */
};

static const struct error_case error_cases[] = {
	{ "one field", "example.test\n",
	    ":1: want \"DOMAIN SELECTOR KEYFILE\", got 1 field" },
	{ "two fields", "# c\nexample.test sel\n", ":2: want" },
	{ "four fields", "a.test s rsa1024.pem extra\n",
	    "got more than 3 fields" },
	{ "bad domain", "a..test s rsa1024.pem\n",
	    ":1: a..test: not a domain name" },
	{ "domain with byte", "a!b.test s rsa1024.pem\n", "not a domain name" },
	{ "bad selector", "a.test s..x rsa1024.pem\n",
	    ":1: s..x: not a selector" },
	{ "selector dot", "a.test s. rsa1024.pem\n", "not a selector" },
	{ "name too long",
	    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa."
	    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa."
	    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa."
	    "test "
	    "sssssssssssssssssssssssssssssssssssssssssssssssssssssssssssssss"
	    " rsa1024.pem\n",
	    "name over 253 octets" },
	{ "duplicate domain", "a.test s1 rsa1024.pem\nA.TEST s2 rsa2048.pem\n",
	    ":2: duplicate domain a.test (first on line 1)" },
	{ "no such key file", "a.test s nosuch.pem\n",
	    "nosuch.pem: No such file" },
	{ "world-readable", "a.test s world.pem\n", ":1: " },
	{ "world-readable why", "a.test s world.pem\n", "world-readable" },
	{ "group-writable", "a.test s gwrite.pem\n",
	    "group- or world-writable" },
	{ "world-writable", "a.test s owrite.pem\n",
	    "group- or world-writable" },
	{ "not a key", "a.test s notakey.pem\n",
	    "not an unencrypted PEM private key" },
	{ "encrypted key", "a.test s encrypted.pem\n",
	    "not an unencrypted PEM private key" },
	{ "empty key file", "a.test s empty.pem\n", "empty file" },
	{ "directory", "a.test s adir\n", "not a regular file" },
	{ "EC key", "a.test s ec.pem\n", "not an RSA or Ed25519 key" },
	{ "RSA 512", "ok.test s rsa1024.pem\na.test s rsa512.pem\n", ":2: " },
	{ "RSA 512 why", "a.test s rsa512.pem\n",
	    "RSA key of 512 bits: at least 1024 needed" },
	{ "control byte", "a.test s\x01 rsa1024.pem\n",
	    ":1: control character 0x01" },
	{ "bad line after good ones", "a.test s rsa1024.pem\nb.test\n",
	    ":2: want" },
};

/* test_errors - every case of error_cases, and file:line */
static void
test_errors(void **state)
{
	struct keytable *kt;
	char *error, prefix[600], p[512];
	size_t i;

	(void)state;
	path_in(p, sizeof(p), "table");
	snprintf(prefix, sizeof(prefix), "%s:", p);
	for (i = 0; i < sizeof(error_cases) / sizeof(error_cases[0]); i++) {
		const struct error_case *c = &error_cases[i];

		kt = (struct keytable *)1;
		if (load_text(c->table, &kt, &error) == 0)
			fail_msg("%s: loaded, want error %s", c->name, c->want);
		if (kt != NULL)
			fail_msg("%s: table returned on error", c->name);
		if (error == NULL || strstr(error, c->want) == NULL)
			fail_msg("%s: got %s, want %s", c->name,
			    error != NULL ? error : "(null)", c->want);
		if (strncmp(error, prefix, strlen(prefix)) != 0)
			fail_msg("%s: got %s, want it to start with %s",
			    c->name, error, prefix);
		free(error);
	}
}

/* test_no_table - an unreadable table file */
static void
test_no_table(void **state)
{
	struct keytable *kt = NULL;
	char *error = NULL, p[512];

	(void)state;
	assert_int_equal(
	    keytable_load(path_in(p, sizeof(p), "nosuch"), &kt, &error), -1);
	assert_null(kt);
	assert_non_null(error);
	assert_non_null(strstr(error, "nosuch: No such file"));
	free(error);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_good),
		cmocka_unit_test(test_empty),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_no_table),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
