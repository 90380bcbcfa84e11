/*
 * NAME
 *	dkimverify - RFC 6376 DKIM verification with libopendkim over
 *	sakimori's DNS layer
 * SUMMARY
 *	Feed one message's headers and body as libmilter hands them over;
 *	at the end get one result per DKIM-Signature (RFC 8601 2.7.1).
 * DESCRIPTION
 *	One struct dkimverify_lib (one DKIM_LIB) serves every thread. Its
 *	key lookup callback asks dns_lookup() for the TXT record
 *	SELECTOR._domainkey.DOMAIN (RFC 6376 3.6.2.1) with the message's
 *	deadline: DKIM shares the resolver, its cache and the DNS budget;
 *	libopendkim's own resolver is never used.
 *
 *	Results, per signature, in header order:
 *	pass       signature and body hash verify (RFC 6376 6.1.3)
 *	fail       they do not: "bad signature", "body hash mismatch"
 *	permerror  the signature cannot be verified and a retry will not
 *	           help: malformed or missing tags, unknown algorithm or
 *	           version, expired (x=, "signature expired") or future t=,
 *	           l= beyond the body, no key (NXDOMAIN/NODATA: "no key"),
 *	           key revoked (p= empty), key record or key unusable, RSA
 *	           key under 1024 bits ("key too short", RFC 8301 3.2),
 *	           rsa-sha1 ("rsa-sha1 not accepted", RFC 8301 3.1; not
 *	           looked up), over the header limits ("too many headers")
 *	temperror  the key lookup failed for now ("DNS error: ..."), or an
 *	           internal error (out of memory, library failure)
 *	neutral    libopendkim left the signature unevaluated (should not
 *	           happen; reported rather than guessed)
 *	A pass with l= says so in reason ("l=N: body partly signed"): what
 *	follows the signed part is not covered (RFC 6376 8.2).
 *
 *	The body is hashed here (milter/dkimbody.c), once per
 *	canonicalization, not by libopendkim, which then sees an empty body
 *	and whose body-hash verdict is replaced by a comparison of bh= with
 *	ours; a message with an l= signature is hashed by libopendkim as a
 *	whole. Decoded RSA keys are cached (milter/dkimkeys.c).
 *
 *	Bounds: at most max_sigs signatures (DKIM-Signature fields, in
 *	header order) are verified and reported; later ones are not looked
 *	up, not reported, only counted in outcome.ignored (RFC 6376 6.1
 *	allows verifiers to limit the signatures they try). Past
 *	DKIMVERIFY_MAX_HEADERS fields or DKIMVERIFY_MAX_HEADER_BYTES bytes
 *	of header, further fields are not fed to libopendkim and every
 *	signature is reported permerror "too many headers". Field names
 *	that are not RFC 5322 field names (empty, over 998 octets, bytes
 *	outside 33..126, ':') are skipped: no signature can cover them.
 *	Every length and name is checked before libopendkim sees it: it
 *	keeps its assertions live.
 *
 *	Multiple TXT records at the key name (RFC 6376 3.6.2.2 leaves the
 *	choice to the verifier): the first one that parses as a key record
 *	(dkim_key_syntax) is used; if none does, the first one, which then
 *	yields a permerror. A key record holding a NUL byte or longer than
 *	libopendkim's buffer (1024 octets) is refused (permerror).
 *
 *	A DNS temporary failure is handed to libopendkim as "not found" so
 *	that the other signatures of the message are still verified
 *	(libopendkim's TRYAGAIN would abort the whole message); the
 *	signature is then reported temperror, not permerror.
 * THREADS
 *	A dkimverify_lib is shared by all threads after dkimverify_lib_new
 *	(libopendkim documents a DKIM_LIB as safe to share once set up).
 *	A struct dkimverify belongs to one session: one thread at a time.
 * OWNERSHIP
 *	The caller owns the lib and each verifier (free with the _free
 *	functions); the lib must outlive its verifiers, the resolver and
 *	the deadline must outlive the verifier. Outcomes are plain data.
 * ERRORS
 *	Bad input never fails a call: it becomes a per-signature result.
 *	Calls return -1 only on internal errors (memory, library); the
 *	verifier is then failed and dkimverify_eom() reports temperror.
 */
#ifndef SAKIMORI_MILTER_DKIMVERIFY_H
#define SAKIMORI_MILTER_DKIMVERIFY_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "milter/dns.h"
#include "policy/result.h"

#define DKIMVERIFY_MAX_SIGS 16		      /* outcome slots */
#define DKIMVERIFY_MAX_HEADERS 1000	      /* fields fed to libopendkim */
#define DKIMVERIFY_MAX_HEADER_BYTES (1 << 20) /* bytes of header fed */
#define DKIMVERIFY_MAX_NAME 998		      /* RFC 5322 2.1.1 line */

struct dkimverify_lib;

/*
 * dkimverify_sign_hdrs - the fields signed by default (RFC 6376 5.4.1),
 * NULL-terminated, lower case; "list-*" is a wildcard. Set on the shared
 * DKIM_LIB for RSA signing and used as is by the Ed25519 signer.
 */
extern const char *const dkimverify_sign_hdrs[];
struct dkimverify;

struct dkimverify_sig {
	enum result_code result; /* pass fail neutral temperror permerror */
	char domain[256];	 /* header.d, "" if absent or unusable */
	char selector[64];	 /* header.s, cut to 63 octets */
	char b[9];		 /* first 8 characters of b= */
	char algorithm[24];	 /* a=: "rsa-sha256", "ed25519-sha256" */
	char identity[256];	 /* header.i (decoded), "" if absent */
	unsigned key_bits;	 /* key size once the key was read, else 0 */
	char reason[128];	 /* why, for the A-R comment and the log */
};

struct dkimverify_outcome {
	size_t count; /* signatures reported (0: dkim=none) */
	struct dkimverify_sig sig[DKIMVERIFY_MAX_SIGS]; /* header order */
	size_t ignored; /* signatures past max_sigs: not verified or shown */
};

/*
 * dkimverify_lib_new - set up the shared libopendkim handle
 *	lib_r: on success, the handle (free with dkimverify_lib_free)
 *	error_r: on failure, why (caller frees)
 * Options set: minimum RSA key 1024 bits (RFC 8301), the key lookup
 * callback (our DNS layer), a prescreen that refuses rsa-sha1 and
 * signatures past max_sigs before any lookup, signing defaults for
 * dkimsign (header list of RFC 6376 5.4.1, From oversigned).
 * Returns 0, or -1 (libopendkim cannot start, or lacks sha256/ed25519).
 */
int dkimverify_lib_new(struct dkimverify_lib **lib_r, char **error_r)
    __attribute__((warn_unused_result));

/* dkimverify_lib_free - close libopendkim (NULL is fine); sets NULL */
void dkimverify_lib_free(struct dkimverify_lib **lib);

struct dkim_lib; /* libopendkim's DKIM_LIB */

/*
 * dkimverify_lib_dkim - the DKIM_LIB inside, for dkimsign
 * Returns the handle (borrowed until dkimverify_lib_free).
 */
struct dkim_lib *dkimverify_lib_dkim(struct dkimverify_lib *lib);

/*
 * dkimverify_new - start verifying one message
 *	lib: the shared handle
 *	dns: resolver for key lookups
 *	deadline: CLOCK_MONOTONIC time after which lookups give up (NULL:
 *	    the resolver's own timeouts); borrowed, must stay valid
 *	max_sigs: signatures to verify, 1..DKIMVERIFY_MAX_SIGS (0 or more
 *	    is clamped to that range)
 *	id: queue or session id for log lines (copied; NULL: "-")
 * Returns the verifier, or NULL out of memory (or libopendkim refused).
 */
struct dkimverify *dkimverify_new(struct dkimverify_lib *lib,
    struct dns_resolver *dns, const struct timespec *deadline,
    unsigned max_sigs, const char *id);

/*
 * dkimverify_set_leadspc - values keep their leading space
 *	on: true if the MTA was asked for SMFIP_HDR_LEADSPC (values then
 *	    hold what follows the colon byte for byte); false (default):
 *	    values lack it and "Name: value" is rebuilt with one space, as
 *	    OpenDKIM does
 * Call before the first header.
 */
void dkimverify_set_leadspc(struct dkimverify *v, bool on);

/*
 * dkimverify_header - feed one header field
 *	name: field name as libmilter gives it
 *	value: field body; folding may be "\r\n" or "\n" followed by
 *	    blanks: it is passed on as CRLF
 * Returns 0 (also for fields skipped as bad input), or -1 internal error.
 */
int dkimverify_header(
    struct dkimverify *v, const char *name, const char *value);

/*
 * dkimverify_eoh - end of the header: key lookups happen here
 * Returns 0, or -1 internal error.
 */
int dkimverify_eoh(struct dkimverify *v);

/*
 * dkimverify_body - feed a body chunk (CRLF line ends, as the MTA sends)
 * Returns 0, or -1 internal error. Unneeded once no signature needs
 * more body: then it returns at once.
 */
int dkimverify_body(
    struct dkimverify *v, const unsigned char *data, size_t len);

/*
 * dkimverify_eom - finish; one result per reported signature
 *	out: the outcome (filled in every case)
 * Returns 0, or -1 internal error (then every signature in out says
 * temperror, reason "internal error").
 */
int dkimverify_eom(struct dkimverify *v, struct dkimverify_outcome *out);

/* dkimverify_free - free a verifier (NULL is fine); sets *v NULL */
void dkimverify_free(struct dkimverify **v);

/*
 * dkimverify_field - build "Name: value" as libopendkim wants a field
 *	name, value: as libmilter gives them
 *	leadspc: value keeps its leading space (no ' ' is added)
 *	buf, bufsize: a growing buffer (realloc'd; caller frees *buf)
 *	len_r: bytes written (NUL-terminated, not counted)
 * Bare "\n" becomes "\r\n". Returns 0; 1 if name is not an RFC 5322
 * field name (nothing written; skip the field); -1 out of memory.
 * Shared with dkimsign.
 */
int dkimverify_field(const char *name, const char *value, bool leadspc,
    char **buf, size_t *bufsize, size_t *len_r);

/*
 * dkimverify_tag - one tag's value from a DKIM-Signature field body
 *	value: the field body (folded or not)
 *	tag: the tag name ("d", "s", "b", ...)
 *	buf, size: output, whitespace (FWS) removed, NUL-terminated
 * Returns 1 found, 0 not found, -1 found but longer than size-1 (buf
 * then holds ""). Lenient: parts that are not "tag=value" are skipped,
 * so the tags of a malformed signature can still be reported.
 * The integrator uses it to skip signing when a DKIM-Signature with
 * the same d= (compare case-insensitively) is present.
 */
int dkimverify_tag(const char *value, const char *tag, char *buf, size_t size);

#endif
