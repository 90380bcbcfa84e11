/*
 * NAME
 *	test_listsign - unit tests for lists/listsign.c and lists/secretfile.c
 * DESCRIPTION
 *	Key generation and round trips; a known answer from RFC 8032 test 1
 *	whose signature was made by another implementation (Python
 *	cryptography) over the documented message; a signature refused for
 *	any other name, version, checksum or key; tables of malformed
 *	public key, secret key and signature texts with their reasons;
 *	secret key files: modes, content, missing, not regular, empty.
 */
#include "lists/listsign.h"

#include <sys/stat.h>

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

/* RFC 8032 7.1 test 1: the seed and its public key. */
#define RFC_SECRET "ed25519-secret:nWGxne/9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A="
#define RFC_PUBLIC "ed25519:11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo="
/* 32 bytes of 0xff; 16 and 64 bytes of zeros */
#define OTHER_PUBLIC "ed25519://////////////////////////////////////////8="
#define B64_16 "AAAAAAAAAAAAAAAAAAAAAA=="
#define B64_64 \
	"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA" \
	"AAA" \
	"AAAAAAAAAAAAAAA=="
#define CHECKSUM \
	"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
/* Python cryptography's signature of the message for blocked-ips, 42. */
#define RFC_SIG \
	"ed25519:IdVlMOPtyAzEieW/Hg/gvC6othac+E1XMrxgTuAY8/" \
	"D9BB9vCRH3eshNtWfukN" \
	"lmtmlOGOzLBOYNBD1vOB4CAg=="

/* parse_public - a public key or fail the test */
static void
parse_public(const char *text, struct listsign_public *key)
{
	char *error = NULL;

	if (listsign_parse_public(text, key, &error) < 0)
		fail_msg("%s: got error \"%s\", want a key", text, error);
	assert_null(error);
}

/* parse_secret - a secret key or fail the test */
static void
parse_secret(const char *text, struct listsign_secret *key)
{
	char *error = NULL;

	if (listsign_parse_secret(text, key, &error) < 0)
		fail_msg("%s: got error \"%s\", want a key", text, error);
	assert_null(error);
}

/* sign - sign or fail the test */
static void
sign(const struct listsign_secret *key, const char *name, uint64_t version,
    const char *checksum, char *sig)
{
	char *error = NULL;

	if (listsign_sign(key, name, version, checksum, sig, &error) < 0)
		fail_msg("%s %ju: got error \"%s\", want a signature", name,
		    (uintmax_t)version, error);
	assert_null(error);
}

/* want_error - error must hold want; frees it */
static void
want_error(const char *what, char *error, const char *want)
{
	if (error == NULL)
		fail_msg("%s: got no error text, want \"%s\"", what, want);
	if (strstr(error, want) == NULL)
		fail_msg(
		    "%s: got error \"%s\", want \"%s\"", what, error, want);
	free(error);
}

/* test_init - listsign_init succeeds, twice */
static void
test_init(void **state)
{
	(void)state;
	assert_int_equal(listsign_init(), 0);
	assert_int_equal(listsign_init(), 0);
}

/* test_roundtrip - keygen, parse, sign, verify, format */
static void
test_roundtrip(void **state)
{
	char pub_text[LISTSIGN_PUBLIC_TEXT_SIZE];
	char sec_text[LISTSIGN_SECRET_TEXT_SIZE];
	char again[LISTSIGN_PUBLIC_TEXT_SIZE];
	char sig[LISTSIGN_SIG_TEXT_SIZE];
	struct listsign_public pub, derived;
	struct listsign_secret sec;
	char *error = NULL;

	(void)state;
	assert_int_equal(
	    listsign_keygen("alice-2025", pub_text, sec_text, &error), 0);
	assert_null(error);
	assert_int_equal(strncmp(pub_text, "ed25519:", 8), 0);
	assert_int_equal(strncmp(sec_text, "ed25519-secret:", 15), 0);
	assert_string_equal(pub_text + strlen(pub_text) - 11, " alice-2025");
	parse_public(pub_text, &pub);
	parse_secret(sec_text, &sec);
	assert_string_equal(pub.id, "alice-2025");
	assert_string_equal(sec.id, "alice-2025");
	listsign_secret_public(&sec, &derived);
	assert_memory_equal(derived.key, pub.key, sizeof(pub.key));
	listsign_format_public(&pub, again);
	assert_string_equal(again, pub_text);

	sign(&sec, "blocked-ips", 7, CHECKSUM, sig);
	assert_int_equal(strlen(sig), LISTSIGN_SIG_TEXT_SIZE - 1);
	assert_int_equal(
	    listsign_verify(&pub, "blocked-ips", 7, CHECKSUM, sig, &error), 1);
	assert_null(error);
	listsign_secret_clear(&sec);

	/* No key id; two keys differ. */
	assert_int_equal(listsign_keygen(NULL, pub_text, sec_text, NULL), 0);
	assert_null(strchr(pub_text, ' '));
	assert_null(strchr(sec_text, ' '));
	parse_public(pub_text, &derived);
	assert_string_equal(derived.id, "");
	assert_memory_not_equal(derived.key, pub.key, sizeof(pub.key));

	/* A bad key id makes nothing. */
	assert_int_equal(
	    listsign_keygen("a b", pub_text, sec_text, &error), -1);
	want_error("keygen \"a b\"", error, "bad key id");
	assert_string_equal(sec_text, "");
}

/* test_known_answer - RFC 8032 test 1 key; signature from elsewhere */
static void
test_known_answer(void **state)
{
	char sig[LISTSIGN_SIG_TEXT_SIZE], text[LISTSIGN_PUBLIC_TEXT_SIZE];
	struct listsign_public pub, derived;
	struct listsign_secret sec;
	char *error = NULL;

	(void)state;
	parse_public(RFC_PUBLIC, &pub);
	parse_secret(RFC_SECRET, &sec);
	listsign_secret_public(&sec, &derived);
	assert_memory_equal(derived.key, pub.key, sizeof(pub.key));
	listsign_format_public(&derived, text);
	assert_string_equal(text, RFC_PUBLIC);
	/* Ed25519 is deterministic: the same bytes as the other library. */
	sign(&sec, "blocked-ips", 42, CHECKSUM, sig);
	assert_string_equal(sig, RFC_SIG);
	assert_int_equal(
	    listsign_verify(&pub, "blocked-ips", 42, CHECKSUM, RFC_SIG, &error),
	    1);
	assert_null(error);
	listsign_secret_clear(&sec);
}

struct binding_case {
	const char *name;     /* case name */
	const char *public;   /* verifying key */
	const char *list;     /* list name verified */
	uint64_t version;     /* version verified */
	const char *checksum; /* checksum verified */
	int want;	      /* 1 or 0 */
	const char *why;      /* reason, when 0 */
};

/* test_binding - a signature is for one key, list, version, checksum */
static void
test_binding(void **state)
{
	static const char upper[] = "0123456789ABCDEF0123456789ABCDEF"
				    "0123456789ABCDEF0123456789ABCDEF";
	static const char other[] = "1123456789abcdef0123456789abcdef"
				    "0123456789abcdef0123456789abcdef";
	static const char last[] = "0123456789abcdef0123456789abcdef"
				   "0123456789abcdef0123456789abcdee";
	static const char *const mismatch = "signature does not match";
	const struct binding_case cases[] = {
		{ "same", RFC_PUBLIC, "blocked-ips", 42, CHECKSUM, 1, NULL },
		{ "upper-case checksum", RFC_PUBLIC, "blocked-ips", 42, upper,
		    1, NULL },
		{ "other key", OTHER_PUBLIC, "blocked-ips", 42, CHECKSUM, 0,
		    mismatch },
		{ "other name", RFC_PUBLIC, "blocked-ip", 42, CHECKSUM, 0,
		    mismatch },
		{ "name case", RFC_PUBLIC, "Blocked-ips", 42, CHECKSUM, 0,
		    mismatch },
		{ "name longer", RFC_PUBLIC, "blocked-ips2", 42, CHECKSUM, 0,
		    mismatch },
		{ "version up", RFC_PUBLIC, "blocked-ips", 43, CHECKSUM, 0,
		    mismatch },
		{ "version down", RFC_PUBLIC, "blocked-ips", 41, CHECKSUM, 0,
		    mismatch },
		{ "version 0", RFC_PUBLIC, "blocked-ips", 0, CHECKSUM, 0,
		    mismatch },
		{ "version 420", RFC_PUBLIC, "blocked-ips", 420, CHECKSUM, 0,
		    mismatch },
		{ "first digit", RFC_PUBLIC, "blocked-ips", 42, other, 0,
		    mismatch },
		{ "last digit", RFC_PUBLIC, "blocked-ips", 42, last, 0,
		    mismatch },
	};
	struct listsign_public pub;
	char *error;
	size_t i;
	int rc;

	(void)state;
	for (i = 0; i < NELEM(cases); i++) {
		parse_public(cases[i].public, &pub);
		error = NULL;
		rc = listsign_verify(&pub, cases[i].list, cases[i].version,
		    cases[i].checksum, RFC_SIG, &error);
		if (rc != cases[i].want)
			fail_msg("%s: got %d (%s), want %d", cases[i].name, rc,
			    error != NULL ? error : "no reason", cases[i].want);
		if (cases[i].want == 1)
			assert_null(error);
		else
			want_error(cases[i].name, error, cases[i].why);
	}
}

/* test_large_versions - every version has its own signature */
static void
test_large_versions(void **state)
{
	static const uint64_t versions[] = { 0, 1, 9, 10, 4294967296ULL,
		UINT64_MAX };
	char sig[LISTSIGN_SIG_TEXT_SIZE];
	struct listsign_public pub;
	struct listsign_secret sec;
	size_t i, j;
	int rc;

	(void)state;
	parse_secret(RFC_SECRET, &sec);
	listsign_secret_public(&sec, &pub);
	for (i = 0; i < NELEM(versions); i++) {
		sign(&sec, "l", versions[i], CHECKSUM, sig);
		for (j = 0; j < NELEM(versions); j++) {
			rc = listsign_verify(
			    &pub, "l", versions[j], CHECKSUM, sig, NULL);
			if (rc != (i == j))
				fail_msg("signed %ju, verified %ju: got %d, "
					 "want %d",
				    (uintmax_t)versions[i],
				    (uintmax_t)versions[j], rc, i == j);
		}
	}
	listsign_secret_clear(&sec);
}

struct text_case {
	const char *name; /* case name */
	const char *text; /* input */
	const char *why;  /* reason wanted */
};

/* test_public_malformed - bad public key texts and their reasons */
static void
test_public_malformed(void **state)
{
	static const char *const id64 = "0123456789012345678901234567890123"
					"456789012345678901234567890123";
	char long_id[200];
	const struct text_case cases[] = {
		{ "empty", "", "not an ed25519 public key" },
		{ "prefix only", "ed25519:", "bad base64" },
		{ "no colon", "ed25519", "not an ed25519 public key" },
		{ "upper prefix",
		    "ED25519:11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIa"
		    "aPcHURo=",
		    "not an ed25519 public key" },
		{ "ssh form", "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIA",
		    "not an ed25519 public key" },
		{ "other algorithm",
		    "ed448:11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrw"
		    "IaaPcHURo=",
		    "not an ed25519 public key" },
		{ "secret given", RFC_SECRET, "this is a secret key" },
		{ "space before", " " RFC_PUBLIC, "not an ed25519 public key" },
		{ "bad character",
		    "ed25519:11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwI"
		    "aaPcHURo!",
		    "bad base64" },
		{ "no padding",
		    "ed25519:11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaa"
		    "PcHURo",
		    "bad base64" },
		{ "extra padding", RFC_PUBLIC "=", "bad base64" },
		{ "padding inside",
		    "ed25519:11qYAYKx=rfVS/7TyWQHOg7hcvPapiMlrw"
		    "IaaPcHURo=",
		    "bad base64" },
		{ "non-zero unused bits",
		    "ed25519:11qYAYKxCrfVS/7TyWQHOg7hcvPa"
		    "piMlrwIaaPcHURp=",
		    "bad base64" },
		{ "extra character",
		    "ed25519:11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlr"
		    "wIaaPcHURoA=",
		    "bad base64" },
		{ "16 bytes", "ed25519:" B64_16, "wrong key length (16 bytes" },
		{ "64 bytes", "ed25519:" B64_64, "wrong key length (64 bytes" },
		{ "very long", "ed25519:" B64_64 B64_64,
		    "wrong key length (over" },
		{ "newline", RFC_PUBLIC "\n",
		    "trailing garbage after the key" },
		{ "tab", RFC_PUBLIC "\tid", "trailing garbage after the key" },
		{ "empty id", RFC_PUBLIC " ", "bad key id" },
		{ "two spaces", RFC_PUBLIC "  id", "bad key id" },
		{ "id then space", RFC_PUBLIC " id ",
		    "trailing garbage after the key id" },
		{ "id with slash", RFC_PUBLIC " a/b",
		    "trailing garbage after the key id" },
		{ "id then newline", RFC_PUBLIC " id\n",
		    "trailing garbage after the key id" },
		{ "id too long", long_id, "bad key id" },
	};
	struct listsign_public pub;
	char *error;
	size_t i;

	(void)state;
	snprintf(long_id, sizeof(long_id), "%s %sx", RFC_PUBLIC, id64);
	for (i = 0; i < NELEM(cases); i++) {
		error = NULL;
		memset(&pub, 0xa5, sizeof(pub));
		if (listsign_parse_public(cases[i].text, &pub, &error) == 0)
			fail_msg("%s: \"%s\": got a key, want an error",
			    cases[i].name, cases[i].text);
		want_error(cases[i].name, error, cases[i].why);
		assert_string_equal(pub.id, "");
	}
	/* The longest id is fine; so is the whole id alphabet. */
	snprintf(long_id, sizeof(long_id), "%s %s", RFC_PUBLIC, id64);
	parse_public(long_id, &pub);
	assert_string_equal(pub.id, id64);
	parse_public(RFC_PUBLIC " Alice.Example_2025@x+y-z", &pub);
	assert_string_equal(pub.id, "Alice.Example_2025@x+y-z");
}

/* test_secret_malformed - bad secret key texts; no key material kept */
static void
test_secret_malformed(void **state)
{
	const struct text_case cases[] = {
		{ "empty", "", "not an ed25519 secret key" },
		{ "public given", RFC_PUBLIC, "not an ed25519 secret key" },
		{ "prefix only", "ed25519-secret:", "bad base64" },
		{ "bad base64",
		    "ed25519-secret:nWGxne/9WmC6hEr0kuwsxERJxWl7Mmk"
		    "ZcDusAxyuf2A",
		    "bad base64" },
		{ "16 bytes", "ed25519-secret:" B64_16,
		    "wrong key length (16 bytes, want 32)" },
		{ "64 bytes", "ed25519-secret:" B64_64,
		    "wrong key length (64 bytes, want 32)" },
		{ "newline", RFC_SECRET "\n", "trailing garbage" },
		{ "bad id", RFC_SECRET " a b",
		    "trailing garbage after the key id" },
	};
	static const struct listsign_secret zero;
	struct listsign_secret sec;
	char *error;
	size_t i;

	(void)state;
	for (i = 0; i < NELEM(cases); i++) {
		error = NULL;
		memset(&sec, 0xa5, sizeof(sec));
		if (listsign_parse_secret(cases[i].text, &sec, &error) == 0)
			fail_msg("%s: \"%s\": got a key, want an error",
			    cases[i].name, cases[i].text);
		want_error(cases[i].name, error, cases[i].why);
		assert_memory_equal(&sec, &zero, sizeof(sec));
	}
}

/* test_signature_malformed - bad signature texts, names, checksums */
static void
test_signature_malformed(void **state)
{
	char long_name[LISTSIGN_NAME_MAX + 2];
	const struct {
		const char *name;     /* case name */
		const char *list;     /* list name */
		const char *checksum; /* checksum */
		const char *sig;      /* signature text */
		const char *why;      /* reason wanted */
	} cases[] = {
		{ "no signature", "blocked-ips", CHECKSUM, NULL,
		    "not an ed25519 signature" },
		{ "empty", "blocked-ips", CHECKSUM, "",
		    "not an ed25519 signature" },
		{ "other prefix", "blocked-ips", CHECKSUM, "ed25519-sig:AAAA",
		    "not an ed25519 signature" },
		{ "prefix only", "blocked-ips", CHECKSUM,
		    "ed25519:", "bad base64" },
		{ "bad base64", "blocked-ips", CHECKSUM, "ed25519:AAA",
		    "bad base64" },
		{ "32 bytes", "blocked-ips", CHECKSUM, RFC_PUBLIC,
		    "wrong signature length (32 bytes, want 64)" },
		{ "newline", "blocked-ips", CHECKSUM, RFC_SIG "\n",
		    "trailing garbage after the signature" },
		{ "key id", "blocked-ips", CHECKSUM, RFC_SIG " alice",
		    "trailing garbage after the signature" },
		{ "zeros", "blocked-ips", CHECKSUM, "ed25519:" B64_64,
		    "signature does not match" },
		{ "empty name", "", CHECKSUM, RFC_SIG, "bad list name" },
		{ "newline in name", "blocked-ips\nversion=42", CHECKSUM,
		    RFC_SIG, "bad list name (control character)" },
		{ "DEL in name", "blocked\x7fips", CHECKSUM, RFC_SIG,
		    "bad list name (control character)" },
		{ "long name", long_name, CHECKSUM, RFC_SIG,
		    "bad list name (1 to 255 bytes)" },
		{ "short checksum", "blocked-ips", CHECKSUM + 1, RFC_SIG,
		    "bad checksum" },
		{ "long checksum", "blocked-ips", CHECKSUM "0", RFC_SIG,
		    "bad checksum" },
		{ "not hex", "blocked-ips",
		    "0123456789abcdef0123456789abcdef"
		    "0123456789abcdef0123456789abcdeg",
		    RFC_SIG, "bad checksum" },
		{ "empty checksum", "blocked-ips", "", RFC_SIG,
		    "bad checksum" },
	};
	struct listsign_public pub;
	struct listsign_secret sec;
	char sig[LISTSIGN_SIG_TEXT_SIZE];
	char *error;
	size_t i;
	int rc;

	(void)state;
	memset(long_name, 'n', sizeof(long_name) - 1);
	long_name[sizeof(long_name) - 1] = '\0';
	parse_public(RFC_PUBLIC, &pub);
	for (i = 0; i < NELEM(cases); i++) {
		error = NULL;
		rc = listsign_verify(&pub, cases[i].list, 42, cases[i].checksum,
		    cases[i].sig, &error);
		if (rc != 0)
			fail_msg("%s: got %d, want 0", cases[i].name, rc);
		want_error(cases[i].name, error, cases[i].why);
	}
	/* Signing refuses bad names and checksums too. */
	parse_secret(RFC_SECRET, &sec);
	error = NULL;
	assert_int_equal(
	    listsign_sign(&sec, "a\nb", 1, CHECKSUM, sig, &error), -1);
	want_error("sign a\\nb", error, "bad list name");
	assert_string_equal(sig, "");
	error = NULL;
	assert_int_equal(listsign_sign(&sec, "a", 1, "00", sig, &error), -1);
	want_error("sign checksum 00", error, "bad checksum");
	/* The longest name is fine. */
	long_name[LISTSIGN_NAME_MAX] = '\0';
	sign(&sec, long_name, 1, CHECKSUM, sig);
	assert_int_equal(
	    listsign_verify(&pub, long_name, 1, CHECKSUM, sig, NULL), 1);
	listsign_secret_clear(&sec);
}

/* write_file - a temporary file with content and mode; its path */
static void
write_file(char *path, const char *content, size_t len, mode_t mode)
{
	int fd;

	strcpy(path, "/tmp/test_listsign.XXXXXX");
	fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, content, len), (ssize_t)len);
	assert_int_equal(fchmod(fd, mode), 0);
	assert_int_equal(close(fd), 0);
}

/* load_error - load a secret file that must fail; its error */
static char *
load_error(const char *path)
{
	static const struct listsign_secret zero;
	struct listsign_secret sec;
	char *error = NULL;

	memset(&sec, 0xa5, sizeof(sec));
	if (listsign_load_secret_file(path, &sec, &error) == 0)
		fail_msg("%s: got a key, want an error", path);
	assert_memory_equal(&sec, &zero, sizeof(sec));
	assert_non_null(error);
	return error;
}

/* test_secret_file_modes - 0600 and 0400 read; group or other bits not */
static void
test_secret_file_modes(void **state)
{
	static const mode_t refused[] = { 0644, 0640, 0604, 0620, 0602, 0610,
		0601, 0660, 0666, 0777 };
	static const char text[] = RFC_SECRET " maint\n";
	char path[64], want[128], sig[LISTSIGN_SIG_TEXT_SIZE];
	struct listsign_secret sec;
	char *error = NULL;
	size_t i;

	(void)state;
	write_file(path, text, strlen(text), 0600);
	assert_int_equal(listsign_load_secret_file(path, &sec, &error), 0);
	assert_null(error);
	assert_string_equal(sec.id, "maint");
	sign(&sec, "blocked-ips", 42, CHECKSUM, sig);
	assert_string_equal(sig, RFC_SIG);
	listsign_secret_clear(&sec);

	assert_int_equal(chmod(path, 0400), 0);
	assert_int_equal(listsign_load_secret_file(path, &sec, NULL), 0);
	listsign_secret_clear(&sec);
	for (i = 0; i < NELEM(refused); i++) {
		assert_int_equal(chmod(path, refused[i]), 0);
		error = load_error(path);
		snprintf(want, sizeof(want),
		    "%s: permissions %04o are too open", path,
		    (unsigned)refused[i]);
		if (strncmp(error, want, strlen(want)) != 0)
			fail_msg("mode %04o: got \"%s\", want \"%s...\"",
			    (unsigned)refused[i], error, want);
		/* The error names the fix. */
		want_error(want, error, "(chmod 600 ");
	}
	assert_int_equal(unlink(path), 0);
}

/* test_secret_file_content - content errors carry the path */
static void
test_secret_file_content(void **state)
{
	const struct text_case bad[] = {
		{ "two newlines", RFC_SECRET "\n\n", "trailing garbage" },
		{ "crlf", RFC_SECRET "\r\n", "trailing garbage" },
		{ "two keys", RFC_SECRET "\n" RFC_SECRET "\n",
		    "trailing garbage" },
		{ "public key", RFC_PUBLIC "\n", "not an ed25519 secret key" },
		{ "short", "ed25519-secret:" B64_16 "\n", "wrong key length" },
	};
	char big[LISTSIGN_SECRET_FILE_MAX + 1];
	struct listsign_secret sec;
	char path[64], want[128];
	char *error;
	size_t i;

	(void)state;
	/* No newline at the end is fine. */
	write_file(path, RFC_SECRET, strlen(RFC_SECRET), 0600);
	assert_int_equal(listsign_load_secret_file(path, &sec, NULL), 0);
	assert_string_equal(sec.id, "");
	listsign_secret_clear(&sec);
	assert_int_equal(unlink(path), 0);

	for (i = 0; i < NELEM(bad); i++) {
		write_file(path, bad[i].text, strlen(bad[i].text), 0600);
		error = load_error(path);
		snprintf(want, sizeof(want), "%s: ", path);
		if (strncmp(error, want, strlen(want)) != 0)
			fail_msg("%s: got \"%s\", want it to start \"%s\"",
			    bad[i].name, error, want);
		want_error(bad[i].name, error, bad[i].why);
		assert_int_equal(unlink(path), 0);
	}
	write_file(path, RFC_SECRET "\0x\n", strlen(RFC_SECRET) + 3, 0600);
	want_error("NUL", load_error(path), "NUL byte");
	assert_int_equal(unlink(path), 0);
	write_file(path, "", 0, 0600);
	want_error("empty", load_error(path), "empty file");
	assert_int_equal(unlink(path), 0);
	memset(big, '#', sizeof(big));
	write_file(path, big, sizeof(big), 0600);
	want_error("big", load_error(path), "larger than 4096 bytes");
	assert_int_equal(unlink(path), 0);

	/* Missing, and not a regular file. */
	snprintf(want, sizeof(want), "%s: %s", path, strerror(ENOENT));
	want_error("missing", load_error(path), want);
	want_error("directory", load_error("/tmp"), "/tmp: not a regular file");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_init),
		cmocka_unit_test(test_roundtrip),
		cmocka_unit_test(test_known_answer),
		cmocka_unit_test(test_binding),
		cmocka_unit_test(test_large_versions),
		cmocka_unit_test(test_public_malformed),
		cmocka_unit_test(test_secret_malformed),
		cmocka_unit_test(test_signature_malformed),
		cmocka_unit_test(test_secret_file_modes),
		cmocka_unit_test(test_secret_file_content),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
