/*
 * NAME
 *	keytable - the DKIM signing key table
 * SUMMARY
 *	Parse a key table file, load and validate every private key it
 *	names, and find the key of a signing domain.
 * DESCRIPTION
 *	The file has one key per line:
 *	    DOMAIN SELECTOR /path/to/key.pem
 *	separated by blanks; '#' starts a comment (a whole line, or after a
 *	blank); empty lines are skipped. A relative key path is taken from
 *	the directory of the key table file. Paths with blanks are not
 *	supported.
 *
 *	Every key is checked at load time, so a bad table is refused whole
 *	(the caller keeps the table it had):
 *	- DOMAIN and SELECTOR are host names (lists/domain.h), and
 *	  "SELECTOR._domainkey.DOMAIN" fits in 253 octets;
 *	- one key per domain (a second line for a domain is an error);
 *	- the key file is a regular file, neither group- nor
 *	  world-writable nor world-readable (as OpenDKIM's RequireSafeKeys);
 *	- it holds an unencrypted PEM private key: RSA of at least 1024
 *	  bits (RFC 8301 3.2) or Ed25519 (RFC 8463), as written by
 *	  `openssl genpkey` (PKCS#8) or `openssl genrsa` (PKCS#1).
 *	Each key is kept re-encoded as unencrypted PKCS#8 PEM text, the form
 *	libopendkim 2.11 reads for both key types (it passes PEM text to
 *	PEM_read_bio_PrivateKey(), which takes RSA and Ed25519 alike).
 *
 *	Lookup is by exact domain only (case-insensitive, trailing dot
 *	ignored): a key for example.test does not sign mail from
 *	sub.example.test. List each domain that signs.
 * THREADS
 *	Pure. A loaded table is immutable: any number of threads may call
 *	keytable_find() at once.
 * OWNERSHIP
 *	The table owns its keys; a key found is borrowed until
 *	keytable_free(). Key bytes are wiped when the table is freed.
 * ERRORS
 *	Every error is returned as text "PATH:LINE: why" (or "PATH: why"
 *	when the file itself cannot be read); nothing is logged.
 */
#ifndef SAKIMORI_POLICY_KEYTABLE_H
#define SAKIMORI_POLICY_KEYTABLE_H

#include <stddef.h>

#define KEYTABLE_MIN_RSA_BITS 1024  /* RFC 8301 3.2 */
#define KEYTABLE_MAX_LINES 100000   /* lines in a table file */
#define KEYTABLE_MAX_KEY_FILE 65536 /* bytes in one key file */

enum keytable_alg {
	KEYTABLE_RSA = 0, /* signs rsa-sha256 */
	KEYTABLE_ED25519, /* signs ed25519-sha256 */
};

struct keytable_key {
	char *domain;	       /* signing domain (d=), lower case, no dot */
	char *selector;	       /* selector (s=), lower case */
	char *path;	       /* key file as resolved */
	enum keytable_alg alg; /* key type */
	unsigned bits;	       /* RSA modulus bits; 256 for Ed25519 */
	char *pem;	       /* unencrypted PKCS#8 PEM, NUL-terminated */
	size_t pem_len;	       /* bytes in pem */
	unsigned line;	       /* line of the table that named it */
};

struct keytable;

/*
 * keytable_load - read a key table and every key it names
 *	path: the key table file
 *	kt_r: on success, the table (free with keytable_free)
 *	error_r: on failure, "PATH:LINE: why" (caller frees)
 * Returns 0, or -1 (nothing is returned in kt_r).
 */
int keytable_load(const char *path, struct keytable **kt_r, char **error_r)
    __attribute__((warn_unused_result));

/*
 * keytable_find - the key of a signing domain
 *	kt: the table (NULL: no table, no key)
 *	domain: the domain, any case, trailing dot allowed
 * Returns the key (borrowed until keytable_free), or NULL if the table
 * has no key for exactly this domain.
 */
const struct keytable_key *keytable_find(
    const struct keytable *kt, const char *domain);

/*
 * keytable_count - number of keys in a table (0 for NULL)
 */
size_t keytable_count(const struct keytable *kt);

/*
 * keytable_key_at - the key of line order index i (for listing)
 * Returns the key, or NULL if i is out of range.
 */
const struct keytable_key *keytable_key_at(const struct keytable *kt, size_t i);

/* keytable_free - wipe and free a table (NULL is fine); sets *kt NULL */
void keytable_free(struct keytable **kt);

#endif
