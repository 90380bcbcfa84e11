/*
 * NAME
 *	dkimbody - DKIM body canonicalization and hash (RFC 6376 3.4.3,
 *	3.4.4, 3.7)
 * SUMMARY
 *	Stream a message body through the simple or relaxed body
 *	canonicalization into SHA-256 and get the bh= value.
 * DESCRIPTION
 *	One pass over the bytes as libmilter hands them over, any chunking;
 *	a few bytes of state carry across chunks (a held CR, a held WSP
 *	run, the count of line ends not yet known to be trailing). Empty
 *	lines at the end are dropped (both algorithms); simple ends a body
 *	with one CRLF and turns an empty one into CRLF; relaxed turns WSP
 *	runs into one SP, drops WSP at line ends and leaves an empty body
 *	empty. A CR not followed by LF is an ordinary byte.
 *
 *	No l= here: a signature with l= is hashed by libopendkim.
 * THREADS
 *	One struct per message; no shared state.
 */
#ifndef SAKIMORI_MILTER_DKIMBODY_H
#define SAKIMORI_MILTER_DKIMBODY_H

#include <stdbool.h>
#include <stddef.h>

#include <openssl/evp.h>

#define DKIMBODY_BUF 4096   /* canonical bytes held before hashing */
#define DKIMBODY_BH_SIZE 45 /* base64 SHA-256 and NUL */

struct dkimbody {
	EVP_MD_CTX *md;			 /* SHA-256 of the canonical body */
	bool relaxed;			 /* relaxed, else simple */
	bool failed;			 /* a hash call failed */
	bool any;			 /* a byte other than CRLF seen */
	bool cr;			 /* a CR held back, LF expected */
	bool wsp;			 /* a WSP run held back (relaxed) */
	size_t blank;			 /* line ends held back */
	size_t n;			 /* bytes in out */
	unsigned char out[DKIMBODY_BUF]; /* not hashed yet */
};

/*
 * dkimbody_init - start a body hash
 *	b: the state to set up
 *	relaxed: relaxed canonicalization, else simple
 * Returns
 *	0 ready; release with dkimbody_cleanup()
 *	-1 out of memory (nothing to release)
 */
int dkimbody_init(struct dkimbody *b, bool relaxed)
    __attribute__((warn_unused_result));

/*
 * dkimbody_chunk - canonicalize and hash a body chunk
 *	b: the state
 *	data, len: the chunk, as it came (CRLF line ends)
 * Returns
 *	0 ok
 *	-1 the hash failed (b stays failed)
 */
int dkimbody_chunk(struct dkimbody *b, const unsigned char *data, size_t len)
    __attribute__((warn_unused_result));

/*
 * dkimbody_final - end of body: the base64 hash
 *	b: the state; no more chunks after this
 *	bh: DKIMBODY_BH_SIZE bytes, gets the NUL-terminated bh= value
 * Returns
 *	0 ok
 *	-1 the hash failed
 */
int dkimbody_final(struct dkimbody *b, char bh[DKIMBODY_BH_SIZE])
    __attribute__((warn_unused_result));

/*
 * dkimbody_cleanup - release the hash context (accepts a zeroed struct)
 */
void dkimbody_cleanup(struct dkimbody *b);

#endif
