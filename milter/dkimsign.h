/*
 * NAME
 *	dkimsign - RFC 6376 DKIM signing: RSA with libopendkim, Ed25519 ours
 * SUMMARY
 *	Feed one message's headers and body; at the end get one
 *	DKIM-Signature field to insert at the top of the header.
 * DESCRIPTION
 *	Canonicalization relaxed/relaxed; algorithm by key type:
 *	rsa-sha256 for RSA keys, ed25519-sha256 (RFC 8463) for Ed25519.
 *	RSA signatures are made by libopendkim. Ed25519 signatures are made
 *	here with libcrypto (canonicalization per RFC 6376 3.4.2 and 3.4.4,
 *	PureEdDSA over the SHA-256 hash per RFC 8463), because Debian's
 *	libopendkim 2.11.0~beta2 frees an Ed25519 signing key only for RSA
 *	(dkim_free), losing about 1.3 KB per signed message.
 *	Signed fields: the caller's list, or by default those of RFC 6376
 *	5.4.1 (From, Reply-To, Subject, Date, To, Cc, Message-ID,
 *	In-Reply-To, References, MIME-Version, Content-Type,
 *	Content-Transfer-Encoding, List-*), each present instance signed;
 *	From is oversigned (one more "from" in h=, RFC 6376 8.15) so a
 *	second From cannot be added. No l=, no x=, no i= (it defaults to
 *	@d). The signature is made at dkimsign_eom() with the time of that
 *	call as t=.
 *
 *	"Never sign twice" is the caller's: to skip a message that already
 *	carries a DKIM-Signature with the same d=, read d= from each such
 *	field with dkimverify_tag(value, "d", ...).
 *
 *	Header limits are those of dkimverify: past DKIMVERIFY_MAX_HEADERS
 *	fields or DKIMVERIFY_MAX_HEADER_BYTES bytes, or with a field name
 *	that is not one, signing fails (the caller sends the message
 *	unsigned, or tempfails, as configured).
 * THREADS
 *	Uses the shared struct dkimverify_lib (its DKIM_LIB, thread-safe for
 *	handles) for RSA; the Ed25519 path keeps all its state in the
 *	signer. A signer belongs to one session, one thread at a time.
 * OWNERSHIP
 *	The signer borrows the key (its table must outlive it) and the lib.
 *	The value from dkimsign_eom() belongs to the caller (free()).
 * ERRORS
 *	Functions return 0 or -1; after -1 the signer is failed and
 *	dkimsign_eom() returns -1 with the reason of the first failure.
 */
#ifndef SAKIMORI_MILTER_DKIMSIGN_H
#define SAKIMORI_MILTER_DKIMSIGN_H

#include <stdbool.h>
#include <stddef.h>

#include "milter/dkimverify.h"
#include "policy/keytable.h"

#define DKIMSIGN_HEADER "DKIM-Signature" /* the field dkimsign makes */
#define DKIMSIGN_MAX_SIGN_HEADERS 64	 /* names in a sign_headers list */

struct dkimsign;

/*
 * dkimsign_new - start signing one message
 *	lib: the shared libopendkim handle
 *	key: the signing key (domain, selector, PEM), from the key table
 *	id: queue id for log lines (copied; NULL: "-")
 *	sign_headers: field names to sign (NULL-terminated; letters,
 *	    digits, '-', a final '*' as wildcard; at most
 *	    DKIMSIGN_MAX_SIGN_HEADERS), or NULL for the default list
 *	error_r: on failure, why (caller frees)
 * Returns the signer, or NULL (bad sign_headers, out of memory,
 * libopendkim refused).
 */
struct dkimsign *dkimsign_new(struct dkimverify_lib *lib,
    const struct keytable_key *key, const char *id,
    const char *const *sign_headers, char **error_r);

/* dkimsign_set_leadspc - as dkimverify_set_leadspc */
void dkimsign_set_leadspc(struct dkimsign *s, bool on);

/*
 * dkimsign_header - feed one header field (as dkimverify_header)
 * Returns 0, or -1 (signer failed).
 */
int dkimsign_header(struct dkimsign *s, const char *name, const char *value);

/*
 * dkimsign_eoh - end of the header
 * Returns 0, or -1 (signer failed).
 */
int dkimsign_eoh(struct dkimsign *s);

/*
 * dkimsign_body - feed a body chunk (CRLF line ends)
 * Returns 0, or -1 (signer failed).
 */
int dkimsign_body(struct dkimsign *s, const unsigned char *data, size_t len);

/*
 * dkimsign_eom - make the signature
 *	name_r: set to DKIMSIGN_HEADER ("DKIM-Signature", static)
 *	value_r: the field body, without leading space, folded with
 *	    "\n\t" (as smfi_insheader wants; caller frees)
 *	error_r: on failure, why (caller frees)
 * Returns 0, or -1 (nothing in value_r).
 */
int dkimsign_eom(
    struct dkimsign *s, const char **name_r, char **value_r, char **error_r);

/* dkimsign_free - free a signer (NULL is fine); sets *s NULL */
void dkimsign_free(struct dkimsign **s);

#endif
