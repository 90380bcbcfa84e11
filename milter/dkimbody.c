/*
 * NAME
 *	dkimbody - DKIM body canonicalization and hash
 * SUMMARY
 *	RFC 6376 3.4.3 (simple) and 3.4.4 (relaxed) over SHA-256, one pass.
 * DESCRIPTION
 *	Used by the Ed25519 signer and by the verifier, which hashes each
 *	body once per canonicalization here rather than byte by byte in
 *	libopendkim. Line ends are held back (counted) until a byte that
 *	is not a line end shows they were not trailing; the bytes that are
 *	canonical for sure gather in a buffer hashed when it fills.
 * THREADS
 *	None shared.
 * ERRORS
 *	Only a libcrypto failure; it sticks.
 */

/* System library. */
#include <string.h>

/* Libraries. */
#include <openssl/evp.h>

/* Project. */
#include "milter/dkimbody.h"

#define DKIMBODY_HASH 32 /* bytes of a SHA-256 hash */

/* dkimbody_init - start a body hash */
int
dkimbody_init(struct dkimbody *b, bool relaxed)
{
	memset(b, 0, sizeof(*b));
	b->relaxed = relaxed;
	if ((b->md = EVP_MD_CTX_new()) == NULL)
		return -1;
	if (EVP_DigestInit_ex(b->md, EVP_sha256(), NULL) != 1) {
		EVP_MD_CTX_free(b->md);
		b->md = NULL;
		return -1;
	}
	return 0;
}

/* dkimbody_flush - hash the canonical bytes held */
static int
dkimbody_flush(struct dkimbody *b)
{
	if (b->n > 0 && EVP_DigestUpdate(b->md, b->out, b->n) != 1) {
		b->failed = true;
		return -1;
	}
	b->n = 0;
	return 0;
}

/* dkimbody_put - one canonical byte */
static inline int
dkimbody_put(struct dkimbody *b, unsigned char c)
{
	if (b->n == sizeof(b->out) && dkimbody_flush(b) != 0)
		return -1;
	b->out[b->n++] = c;
	return 0;
}

/* dkimbody_byte - a byte that ends no line: what was held goes first */
static int
dkimbody_byte(struct dkimbody *b, unsigned char c)
{
	/* the line ends held back were not the last ones */
	for (; b->blank > 0; b->blank--)
		if (dkimbody_put(b, '\r') != 0 || dkimbody_put(b, '\n') != 0)
			return -1;
	/* RFC 6376 3.4.4: a WSP run inside a line is one SP */
	if (b->wsp && dkimbody_put(b, ' ') != 0)
		return -1;
	b->wsp = false;
	b->any = true;
	return dkimbody_put(b, c);
}

/* dkimbody_chunk - canonicalize and hash a body chunk */
int
dkimbody_chunk(struct dkimbody *b, const unsigned char *data, size_t len)
{
	size_t i;
	unsigned char c;

	if (b->failed)
		return -1;
	for (i = 0; i < len; i++) {
		c = data[i];
		if (b->cr) {
			b->cr = false;
			if (c == '\n') {
				/* a line end: trailing WSP goes, it waits */
				b->wsp = false;
				b->blank++;
				continue;
			}
			if (dkimbody_byte(b, '\r') != 0)
				return -1; /* a bare CR is a byte */
		}
		if (c == '\r')
			b->cr = true;
		else if (b->relaxed && (c == ' ' || c == '\t'))
			b->wsp = true;
		else if (b->blank == 0 && !b->wsp && b->n < sizeof(b->out)) {
			b->out[b->n++] = c; /* the common case */
			b->any = true;
		} else if (dkimbody_byte(b, c) != 0)
			return -1;
	}
	return 0;
}

/* dkimbody_final - end of body: the base64 hash */
int
dkimbody_final(struct dkimbody *b, char bh[DKIMBODY_BH_SIZE])
{
	unsigned char hash[EVP_MAX_MD_SIZE];
	unsigned int hlen = 0;

	if (b->failed)
		return -1;
	if (b->cr && dkimbody_byte(b, '\r') != 0)
		return -1;
	b->cr = false;
	/*
	 * No empty lines at the end; a body with content ends with one
	 * CRLF; an empty one is CRLF (simple) or nothing (relaxed).
	 */
	if ((b->any || !b->relaxed) &&
	    (dkimbody_put(b, '\r') != 0 || dkimbody_put(b, '\n') != 0))
		return -1;
	if (dkimbody_flush(b) != 0 ||
	    EVP_DigestFinal_ex(b->md, hash, &hlen) != 1 ||
	    hlen != DKIMBODY_HASH) {
		b->failed = true;
		return -1;
	}
	EVP_EncodeBlock((unsigned char *)bh, hash, (int)hlen);
	return 0;
}

/* dkimbody_cleanup - release the hash context */
void
dkimbody_cleanup(struct dkimbody *b)
{
	EVP_MD_CTX_free(b->md);
	b->md = NULL;
}
