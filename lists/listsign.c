/*
 * NAME
 *	listsign - Ed25519 signatures of list versions
 * SUMMARY
 *	Key texts, the canonical signed message, sign and verify with
 *	libsodium.
 * DESCRIPTION
 *	See listsign.h. Texts are split before they are decoded: a prefix,
 *	a run of base64 characters, then the end or " KEYID". Base64 is
 *	decoded by sodium_base642bin with no characters ignored, which
 *	refuses bad padding and non-zero unused bits, so each key and
 *	signature has one text.
 * THREADS
 *	Any thread; nothing shared. sodium_init() is called before every
 *	use of libsodium; it is thread-safe and idempotent.
 * OWNERSHIP
 *	Decoded seeds and secret key texts read from files are wiped with
 *	sodium_memzero before their memory is left.
 * ERRORS
 *	See listsign.h. No error text holds key material.
 */
#include <ctype.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "lists/text.h"
#include "lists/listsign.h"
#include "lists/secretfile.h"

#define LISTSIGN_PREFIX "ed25519:"		 /* public key, signature */
#define LISTSIGN_SECRET_PREFIX "ed25519-secret:" /* secret key */
#define LISTSIGN_DOMAIN "sakimori-list-signature-v1\n" /* message line 1 */
#define LISTSIGN_B64_MAX 128 /* base64 characters looked at, at most */
#define LISTSIGN_BIN_MAX 96  /* bytes LISTSIGN_B64_MAX can decode to */
/* the error for a bad key id */
#define LISTSIGN_ID_RULE "bad key id (1 to 64 of A-Z a-z 0-9 . _ @ + -)"
/* the signed message: domain line, three fields */
#define LISTSIGN_MSG_SIZE (64 + LISTSIGN_NAME_MAX + 20 + 64)

/* listsign_ready - initialise libsodium, or say why not */
static int
listsign_ready(char **error_r)
{
	if (sodium_init() < 0) {
		text_error(error_r, "libsodium cannot be initialised");
		return -1;
	}
	return 0;
}

/* listsign_init - initialise libsodium */
int
listsign_init(void)
{
	return listsign_ready(NULL);
}

/* listsign_is_b64 - a character of the original base64 alphabet */
static int
listsign_is_b64(int c)
{
	return isascii(c) && (isalnum(c) || c == '+' || c == '/' || c == '=');
}

/* listsign_is_id - a character allowed in a key id */
static int
listsign_is_id(int c)
{
	return c != '\0' && isascii(c) &&
	    (isalnum(c) || strchr("._@+-", c) != NULL);
}

/*
 * listsign_decode - decode "PREFIX BASE64 [KEYID]" into want bytes
 *	text: the whole text; prefix already checked
 *	skip: length of the prefix
 *	what: "key" or "signature", for errors
 *	id_r: if not NULL, where a key id goes (LISTSIGN_ID_MAX + 1 bytes);
 *	    if NULL, no key id is allowed
 *	out, want: the decoded bytes and how many there must be
 * Returns 0, or -1 with *error_r set.
 */
static int
listsign_decode(const char *text, size_t skip, const char *what, char *id_r,
    unsigned char *out, size_t want, char **error_r)
{
	unsigned char bin[LISTSIGN_BIN_MAX];
	const char *b64 = text + skip, *p, *id;
	size_t b64_len, bin_len, id_len;
	int rc = -1;

	for (p = b64; listsign_is_b64((unsigned char)*p); p++)
		;
	b64_len = (size_t)(p - b64);
	if (b64_len == 0) {
		text_error(error_r, "bad base64: nothing after \"%.*s\"",
		    (int)skip, text);
		goto done;
	}
	if (b64_len > LISTSIGN_B64_MAX) {
		text_error(error_r, "wrong %s length (over %d bytes, want %zu)",
		    what, LISTSIGN_BIN_MAX, want);
		goto done;
	}
	if (sodium_base642bin(bin, sizeof(bin), b64, b64_len, NULL, &bin_len,
		NULL, sodium_base64_VARIANT_ORIGINAL) != 0) {
		text_error(error_r, "bad base64 in the %s", what);
		goto done;
	}
	if (bin_len != want) {
		text_error(error_r, "wrong %s length (%zu bytes, want %zu)",
		    what, bin_len, want);
		goto done;
	}
	if (*p == ' ' && id_r != NULL) {
		id = ++p;
		while (listsign_is_id((unsigned char)*p))
			p++;
		id_len = (size_t)(p - id);
		if (id_len == 0 || id_len > LISTSIGN_ID_MAX) {
			text_error(error_r, LISTSIGN_ID_RULE);
			goto done;
		}
		if (*p != '\0') {
			text_error(
			    error_r, "trailing garbage after the key id");
			goto done;
		}
		memcpy(id_r, id, id_len);
		id_r[id_len] = '\0';
	} else if (*p != '\0') {
		text_error(error_r, "trailing garbage after the %s", what);
		goto done;
	} else if (id_r != NULL) {
		id_r[0] = '\0';
	}
	memcpy(out, bin, want);
	rc = 0;
done:
	sodium_memzero(bin, sizeof(bin));
	return rc;
}

/* listsign_check_id - a key id for keygen: NULL, "" or valid */
static int
listsign_check_id(const char *id, char **error_r)
{
	size_t i;

	if (id == NULL)
		return 0;
	for (i = 0; id[i] != '\0'; i++) {
		if (!listsign_is_id((unsigned char)id[i]))
			break;
	}
	if (id[i] != '\0' || i > LISTSIGN_ID_MAX) {
		text_error(error_r, LISTSIGN_ID_RULE);
		return -1;
	}
	return 0;
}

/* listsign_format - "PREFIX" BASE64 [" " ID] into buf */
static void
listsign_format(char *buf, const char *prefix, const unsigned char *bin,
    size_t len, const char *id)
{
	size_t n = strlen(prefix);

	memcpy(buf, prefix, n);
	sodium_bin2base64(buf + n,
	    sodium_base64_ENCODED_LEN(len, sodium_base64_VARIANT_ORIGINAL), bin,
	    len, sodium_base64_VARIANT_ORIGINAL);
	if (id != NULL && id[0] != '\0') {
		n = strlen(buf);
		buf[n] = ' ';
		memcpy(buf + n + 1, id, strlen(id) + 1);
	}
}

/* listsign_keygen - make a new key pair */
int
listsign_keygen(const char *id, char *pub_r, char *sec_r, char **error_r)
{
	unsigned char seed[LISTSIGN_KEY_SIZE];
	struct listsign_secret key;

	if (error_r != NULL)
		*error_r = NULL;
	pub_r[0] = sec_r[0] = '\0';
	if (listsign_check_id(id, error_r) < 0 || listsign_ready(error_r) < 0)
		return -1;
	randombytes_buf(seed, sizeof(seed));
	crypto_sign_seed_keypair(key.pk, key.sk, seed);
	listsign_format(pub_r, LISTSIGN_PREFIX, key.pk, sizeof(key.pk), id);
	listsign_format(sec_r, LISTSIGN_SECRET_PREFIX, seed, sizeof(seed), id);
	sodium_memzero(seed, sizeof(seed));
	listsign_secret_clear(&key);
	return 0;
}

/* listsign_parse_public - a public key from its text */
int
listsign_parse_public(
    const char *text, struct listsign_public *key_r, char **error_r)
{
	size_t n = strlen(LISTSIGN_PREFIX);

	if (error_r != NULL)
		*error_r = NULL;
	memset(key_r, 0, sizeof(*key_r));
	if (strncmp(text, LISTSIGN_SECRET_PREFIX,
		strlen(LISTSIGN_SECRET_PREFIX)) == 0) {
		text_error(error_r,
		    "not an ed25519 public key: this is a secret key (want "
		    "ed25519:BASE64)");
		return -1;
	}
	if (strncmp(text, LISTSIGN_PREFIX, n) != 0) {
		text_error(
		    error_r, "not an ed25519 public key (want ed25519:BASE64)");
		return -1;
	}
	if (listsign_decode(text, n, "key", key_r->id, key_r->key,
		sizeof(key_r->key), error_r) < 0) {
		memset(key_r, 0, sizeof(*key_r));
		return -1;
	}
	return 0;
}

/* listsign_parse_secret - a secret key from its text */
int
listsign_parse_secret(
    const char *text, struct listsign_secret *key_r, char **error_r)
{
	unsigned char seed[LISTSIGN_KEY_SIZE];
	size_t n = strlen(LISTSIGN_SECRET_PREFIX);

	if (error_r != NULL)
		*error_r = NULL;
	memset(key_r, 0, sizeof(*key_r));
	if (strncmp(text, LISTSIGN_SECRET_PREFIX, n) != 0) {
		text_error(error_r,
		    "not an ed25519 secret key (want ed25519-secret:BASE64)");
		return -1;
	}
	if (listsign_ready(error_r) < 0)
		return -1;
	if (listsign_decode(
		text, n, "key", key_r->id, seed, sizeof(seed), error_r) < 0) {
		listsign_secret_clear(key_r);
		return -1;
	}
	crypto_sign_seed_keypair(key_r->pk, key_r->sk, seed);
	sodium_memzero(seed, sizeof(seed));
	return 0;
}

/* listsign_load_secret_file - read and parse a secret key file */
int
listsign_load_secret_file(
    const char *path, struct listsign_secret *key_r, char **error_r)
{
	char *text = NULL, *why = NULL;
	size_t len;
	int rc;

	if (error_r != NULL)
		*error_r = NULL;
	memset(key_r, 0, sizeof(*key_r));
	if (secretfile_read(
		path, LISTSIGN_SECRET_FILE_MAX, &text, &len, error_r) < 0)
		return -1;
	if (memchr(text, '\0', len) != NULL) {
		text_error(error_r, "%s: NUL byte in the key file", path);
		secretfile_free(&text, len);
		return -1;
	}
	/* One newline may end the line; anything else is the key's. */
	if (text[len - 1] == '\n')
		text[len - 1] = '\0';
	rc = listsign_parse_secret(text, key_r, error_r != NULL ? &why : NULL);
	secretfile_free(&text, len);
	if (rc < 0 && error_r != NULL) {
		text_error(error_r, "%s: %s", path,
		    why != NULL ? why : "out of memory");
		free(why);
	}
	return rc;
}

/* listsign_secret_public - the public key of a secret key */
void
listsign_secret_public(
    const struct listsign_secret *sec, struct listsign_public *pub_r)
{
	memcpy(pub_r->key, sec->pk, sizeof(pub_r->key));
	memcpy(pub_r->id, sec->id, sizeof(pub_r->id));
}

/* listsign_format_public - a public key as text */
void
listsign_format_public(const struct listsign_public *key, char *buf)
{
	listsign_format(
	    buf, LISTSIGN_PREFIX, key->key, sizeof(key->key), key->id);
}

/* listsign_secret_clear - wipe a secret key */
void
listsign_secret_clear(struct listsign_secret *key)
{
	sodium_memzero(key, sizeof(*key));
}

/*
 * listsign_message - the canonical message for (name, version, checksum)
 *	msg: LISTSIGN_MSG_SIZE bytes
 * Returns its length, or 0 with *error_r set for a bad name or checksum.
 */
static size_t
listsign_message(const char *name, uint64_t version, const char *checksum,
    char *msg, char **error_r)
{
	char hex[65];
	size_t i, len = strlen(name);
	int n;

	if (len == 0 || len > LISTSIGN_NAME_MAX) {
		text_error(error_r, "bad list name (1 to %d bytes)",
		    LISTSIGN_NAME_MAX);
		return 0;
	}
	for (i = 0; i < len; i++) {
		if ((unsigned char)name[i] < 0x20 || name[i] == 0x7f) {
			text_error(
			    error_r, "bad list name (control character)");
			return 0;
		}
	}
	for (i = 0; i < 64 && isxdigit((unsigned char)checksum[i]); i++)
		hex[i] = (char)tolower((unsigned char)checksum[i]);
	if (i != 64 || checksum[64] != '\0') {
		text_error(error_r, "bad checksum (want 64 hex digits)");
		return 0;
	}
	hex[64] = '\0';
	n = snprintf(msg, LISTSIGN_MSG_SIZE,
	    LISTSIGN_DOMAIN "name=%s\nversion=%" PRIu64 "\nchecksum=%s\n", name,
	    version, hex);
	if (n < 0 || n >= LISTSIGN_MSG_SIZE) {
		text_error(error_r, "bad list name (too long)");
		return 0;
	}
	return (size_t)n;
}

/* listsign_sign - sign a list version */
int
listsign_sign(const struct listsign_secret *key, const char *name,
    uint64_t version, const char *checksum, char *sig_r, char **error_r)
{
	unsigned char sig[LISTSIGN_SIG_SIZE];
	char msg[LISTSIGN_MSG_SIZE];
	size_t len;

	if (error_r != NULL)
		*error_r = NULL;
	sig_r[0] = '\0';
	if ((len = listsign_message(name, version, checksum, msg, error_r)) ==
	    0)
		return -1;
	if (listsign_ready(error_r) < 0)
		return -1;
	if (crypto_sign_detached(
		sig, NULL, (const unsigned char *)msg, len, key->sk) != 0) {
		text_error(error_r, "signing failed");
		return -1;
	}
	listsign_format(sig_r, LISTSIGN_PREFIX, sig, sizeof(sig), NULL);
	return 0;
}

/* listsign_verify - check a signature of a list version */
int
listsign_verify(const struct listsign_public *key, const char *name,
    uint64_t version, const char *checksum, const char *sig, char **error_r)
{
	unsigned char bin[LISTSIGN_SIG_SIZE];
	char msg[LISTSIGN_MSG_SIZE];
	size_t n = strlen(LISTSIGN_PREFIX), len;

	if (error_r != NULL)
		*error_r = NULL;
	if (listsign_ready(error_r) < 0)
		return -1;
	if (sig == NULL || strncmp(sig, LISTSIGN_PREFIX, n) != 0) {
		text_error(
		    error_r, "not an ed25519 signature (want ed25519:BASE64)");
		return 0;
	}
	if (listsign_decode(
		sig, n, "signature", NULL, bin, sizeof(bin), error_r) < 0)
		return 0;
	if ((len = listsign_message(name, version, checksum, msg, error_r)) ==
	    0)
		return 0;
	if (crypto_sign_verify_detached(
		bin, (const unsigned char *)msg, len, key->key) != 0) {
		text_error(error_r,
		    "signature does not match (wrong key, list, version or "
		    "checksum)");
		return 0;
	}
	return 1;
}
