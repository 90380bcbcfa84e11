/*
 * NAME
 *	listsign - Ed25519 signatures of list versions
 * SUMMARY
 *	Make maintainer keys, sign (name, version, checksum) of a list,
 *	verify such a signature against a trusted public key.
 * DESCRIPTION
 *	A list maintainer signs what a push makes live: the list's name,
 *	its version and the SHA-256 checksum of its canonical content
 *	(lists/list.h list_checksum). The signed message is the text
 *
 *		sakimori-list-signature-v1\n
 *		name=NAME\n
 *		version=VERSION\n
 *		checksum=CHECKSUM\n
 *
 *	VERSION in decimal without leading zeros, CHECKSUM as 64 lower-case
 *	hex digits (upper-case ones are accepted and lowered). The first
 *	line keeps these signatures apart from anything else the key might
 *	sign; each field is on its own line and a name cannot hold a line
 *	break, so a signature for one list or version is no signature for
 *	another. Names are 1 to LISTSIGN_NAME_MAX bytes without control
 *	characters (bytes below 0x20 and 0x7f).
 *
 *	Text forms (Ed25519 as in RFC 8032, with libsodium; base64 the
 *	original alphabet with padding, RFC 4648 section 4):
 *	public key	"ed25519:BASE64" of the 32-byte public key, then
 *			optionally " KEYID"
 *	secret key	"ed25519-secret:BASE64" of the 32-byte seed
 *			(RFC 8032 5.1.5: the private key), then optionally
 *			" KEYID". The public key is derived from the seed.
 *	signature	"ed25519:BASE64" of the 64-byte signature
 *	KEYID is 1 to LISTSIGN_ID_MAX bytes of A-Z a-z 0-9 . _ @ + - : a
 *	name for people (which maintainer, which year); it is not signed
 *	and not checked against anything. A key file holds the text on
 *	one line, optionally ended by one newline.
 *
 *	Initialisation: every function calls sodium_init() itself
 *	(libsodium allows calls from many threads at once since 1.0.11,
 *	and later calls do nothing), so callers need not; a program that
 *	wants to fail early may call listsign_init() at start.
 * THREADS
 *	Pure; any thread. Keys are plain values the caller owns.
 * OWNERSHIP
 *	Keys and texts are written into the caller's structs and buffers.
 *	A struct listsign_secret and a secret key text hold the secret: wipe
 *	them when done (listsign_secret_clear, sodium_memzero). Error texts
 *	are the caller's to free().
 * ERRORS
 *	Key texts: "not an ed25519 public key (want ed25519:BASE64)" (also
 *	": this is a secret key" when one is given), "not an ed25519 secret
 *	key (want ed25519-secret:BASE64)", "bad base64 ...", "wrong key
 *	length (N bytes, want 32)", "bad key id (...)", "trailing garbage
 *	after the key", "... after the key id"; key files add "PATH: " in
 *	front, and "NUL byte in the key file" (see also lists/secretfile.h).
 *	Signatures: "not an ed25519 signature (want ed25519:BASE64)", "bad
 *	base64 in the signature", "wrong signature length (N bytes, want
 *	64)", "trailing garbage after the signature", "bad list name (...)",
 *	"bad checksum (want 64 hex digits)", "signature does not match
 *	(wrong key, list, version or checksum)". No text holds key material.
 */
#ifndef SAKIMORI_LISTS_LISTSIGN_H
#define SAKIMORI_LISTS_LISTSIGN_H

#include <stddef.h>
#include <stdint.h>

#define LISTSIGN_KEY_SIZE 32	      /* bytes of a public key, of a seed */
#define LISTSIGN_SIG_SIZE 64	      /* bytes of a signature */
#define LISTSIGN_ID_MAX 64	      /* bytes of a key id */
#define LISTSIGN_NAME_MAX 255	      /* bytes of a list name */
#define LISTSIGN_SECRET_FILE_MAX 4096 /* bytes of a secret key file */
/* buffer for a public key text: "ed25519:" 44 base64, " KEYID", NUL */
#define LISTSIGN_PUBLIC_TEXT_SIZE (8 + 44 + 1 + LISTSIGN_ID_MAX + 1)
/* buffer for a secret key text: "ed25519-secret:" 44, " KEYID", NUL */
#define LISTSIGN_SECRET_TEXT_SIZE (15 + 44 + 1 + LISTSIGN_ID_MAX + 1)
/* buffer for a signature text: "ed25519:" 88 base64, NUL */
#define LISTSIGN_SIG_TEXT_SIZE (8 + 88 + 1)

struct listsign_public {
	unsigned char key[LISTSIGN_KEY_SIZE]; /* Ed25519 public key */
	char id[LISTSIGN_ID_MAX + 1];	      /* key id, "" if none */
};

struct listsign_secret {
	unsigned char sk[64];		     /* libsodium: seed, public */
	unsigned char pk[LISTSIGN_KEY_SIZE]; /* its public key */
	char id[LISTSIGN_ID_MAX + 1];	     /* key id, "" if none */
};

/*
 * listsign_init - initialise libsodium (optional: see DESCRIPTION)
 * Returns 0, or -1 if libsodium cannot be initialised.
 */
int listsign_init(void) __attribute__((warn_unused_result));

/*
 * listsign_keygen - make a new key pair from the system's randomness
 *	id: the key id to write in both texts, or NULL / "" for none
 *	pub_r: LISTSIGN_PUBLIC_TEXT_SIZE bytes: the public key text
 *	sec_r: LISTSIGN_SECRET_TEXT_SIZE bytes: the secret key text, to
 *	    store in a file of mode 0600; wipe it when written
 *	error_r: on -1, why (caller frees); may be NULL
 * Returns 0,
 *	-1 bad key id, libsodium cannot be initialised, or out of memory.
 */
int listsign_keygen(const char *id, char *pub_r, char *sec_r, char **error_r)
    __attribute__((warn_unused_result));

/*
 * listsign_parse_public - a public key from its text
 *	text: "ed25519:BASE64" or "ed25519:BASE64 KEYID"
 *	key_r: the key
 *	error_r: on -1, why (caller frees); may be NULL
 * Returns 0, or -1 on malformed text (or out of memory for the error).
 */
int listsign_parse_public(const char *text, struct listsign_public *key_r,
    char **error_r) __attribute__((warn_unused_result));

/*
 * listsign_parse_secret - a secret key from its text
 *	text: "ed25519-secret:BASE64" or "ed25519-secret:BASE64 KEYID"
 *	key_r: the key; wipe with listsign_secret_clear when done (also
 *	    wiped on -1)
 *	error_r: on -1, why (caller frees; it never holds key material);
 *	    may be NULL
 * Returns 0, or -1 on malformed text or if libsodium cannot be
 * initialised.
 */
int listsign_parse_secret(const char *text, struct listsign_secret *key_r,
    char **error_r) __attribute__((warn_unused_result));

/*
 * listsign_load_secret_file - read and parse a secret key file
 *	path: the file; refused if group or others have any permission on
 *	    it (as ssh does: chmod 600), is not a regular file, or holds
 *	    more than LISTSIGN_SECRET_FILE_MAX bytes
 *	key_r: as for listsign_parse_secret
 *	error_r: on -1, "PATH: why" (caller frees); may be NULL
 * Returns 0, or -1.
 */
int listsign_load_secret_file(const char *path, struct listsign_secret *key_r,
    char **error_r) __attribute__((warn_unused_result));

/*
 * listsign_secret_public - the public key of a secret key
 *	sec: the secret key
 *	pub_r: its public key, with the same key id
 */
void listsign_secret_public(
    const struct listsign_secret *sec, struct listsign_public *pub_r);

/*
 * listsign_format_public - a public key as text
 *	key: the key
 *	buf: LISTSIGN_PUBLIC_TEXT_SIZE bytes: "ed25519:BASE64[ KEYID]"
 */
void listsign_format_public(const struct listsign_public *key, char *buf);

/* listsign_secret_clear - wipe a secret key */
void listsign_secret_clear(struct listsign_secret *key);

/*
 * listsign_sign - sign a list version
 *	key: the maintainer's secret key
 *	name: the list's name
 *	version: the version that will be pushed
 *	checksum: list_checksum of the content, 64 hex digits
 *	sig_r: LISTSIGN_SIG_TEXT_SIZE bytes: "ed25519:BASE64"
 *	error_r: on -1, why (caller frees); may be NULL
 * Returns 0,
 *	-1 bad name or checksum, libsodium cannot be initialised, or out of
 *	   memory.
 */
int listsign_sign(const struct listsign_secret *key, const char *name,
    uint64_t version, const char *checksum, char *sig_r, char **error_r)
    __attribute__((warn_unused_result));

/*
 * listsign_verify - check a signature of a list version
 *	key: the trusted public key
 *	name, version, checksum: what is about to go live (checksum as
 *	    list_checksum gives it)
 *	sig: the signature text given with the push
 *	error_r: on 0 or -1, why (caller frees); may be NULL
 * Returns 1 the signature is key's over exactly this name, version and
 *	  checksum,
 *	0 it is not: malformed signature text, bad name or checksum, or a
 *	  signature that does not match (another key, list, version or
 *	  checksum, or a forged one),
 *	-1 libsodium cannot be initialised.
 */
int listsign_verify(const struct listsign_public *key, const char *name,
    uint64_t version, const char *checksum, const char *sig, char **error_r)
    __attribute__((warn_unused_result));

#endif
