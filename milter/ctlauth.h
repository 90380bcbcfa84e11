/*
 * NAME
 *	ctlauth - shared-secret HMAC authentication of control requests
 * SUMMARY
 *	sakimori-ctl signs a request with a secret both ends hold; the
 *	control server checks the HMAC, the time and that the nonce is new.
 * DESCRIPTION
 *	For control requests that come over TCP (a maintainer pushing
 *	lists from another host). A request is one line, optionally
 *	followed by a payload. Before it the client sends one auth line:
 *
 *		auth v1 TIMESTAMP NONCE HMAC\n
 *		REQUEST_LINE\n
 *		PAYLOAD
 *
 *	TIMESTAMP	the client's time, Unix seconds in decimal, no
 *			sign, no leading zeros, at most 19 digits
 *	NONCE		16 random bytes as 32 lower-case hex digits, never
 *			used twice (ctlauth_nonce)
 *	HMAC		64 lower-case hex digits: HMAC-SHA256 (RFC 2104,
 *			FIPS 180-4) keyed with the secret over
 *
 *			"sakimori-ctl-v1\n" TIMESTAMP "\n" NONCE "\n"
 *			REQUEST_LINE "\n" PAYLOAD
 *
 *	The payload's length is not in the MAC: the request line has no
 *	line break, so what follows its "\n" is the payload whatever its
 *	framing (a length in the request line, or the end of the stream),
 *	and a payload cut or extended no longer matches. Request lines
 *	hold no CR, LF or NUL. The first line keeps these MACs apart from
 *	anything else the secret might be used for.
 *
 *	The server accepts a request when: its first line is an auth line;
 *	TIMESTAMP is within window seconds of the server's clock, either
 *	way; the HMAC matches (compared in constant time, CRYPTO_memcmp);
 *	and NONCE was not seen before. Accepted nonces are kept, with their
 *	TIMESTAMP, until that timestamp falls out of the window (a request
 *	carrying it is then refused by its time): at most max_nonces of
 *	them; when that many are live the request is refused ("replay
 *	cache full") rather than a nonce forgotten. Only requests whose
 *	HMAC matched enter the cache, so without the secret nobody can
 *	fill it. Both clocks must agree within the window (NTP).
 *
 *	What this does not give: secrecy (the payload travels in clear:
 *	use a trusted network or a tunnel), authentication of the reply,
 *	or one identity per maintainer (anyone with the secret may send
 *	anything; per-list Ed25519 signatures, lists/listsign.h, say who
 *	made a list).
 *
 *	Server, whole payload in memory: ctlauth_check. Server, payload
 *	read in pieces: ctlauth_begin after the two lines (refuses early,
 *	before any payload is read), ctlauth_mac_update on each piece,
 *	ctlauth_finish at its end. Client: ctlauth_nonce, then ctlauth_sign,
 *	or ctlauth_mac_new, ctlauth_mac_update on each piece and
 *	ctlauth_mac_auth_line.
 *
 *	The secret file holds the key bytes as they are (any bytes; "openssl
 *	rand -hex 32" makes a good one), one trailing newline ("\n" or
 *	"\r\n") not counted; at least CTLAUTH_SECRET_MIN bytes, at most
 *	CTLAUTH_SECRET_FILE_MAX, mode 0600 (any group or other bit is
 *	refused, as ssh does for its keys).
 * THREADS
 *	A struct ctlauth may be shared: one mutex guards its nonce cache,
 *	held only for the cache's own work (a scan of at most max_nonces
 *	entries). A struct ctlauth_mac is one request's, one thread's at a
 *	time.
 * OWNERSHIP
 *	ctlauth_new's verifier is freed with ctlauth_free, a MAC with
 *	ctlauth_mac_free unless ctlauth_finish or ctlauth_mac_auth_line
 *	took it, a secret with ctlauth_secret_free (which wipes it). Reasons
 *	(why_r) are static texts; error texts (error_r) are the caller's to
 *	free().
 * ERRORS
 *	Refusal reasons (why_r): "missing auth line" (the first line is not
 *	an auth line), "malformed auth line", "unsupported auth version",
 *	"malformed request line", "timestamp outside the window", "bad
 *	HMAC", "nonce replayed", "replay cache full", "secret too short"
 *	(the server's, a configuration error), "HMAC failed" (OpenSSL
 *	failed or out of memory: temporary).
 */
#ifndef SAKIMORI_MILTER_CTLAUTH_H
#define SAKIMORI_MILTER_CTLAUTH_H

#include <stddef.h>
#include <time.h>

#define CTLAUTH_SECRET_MIN 32	     /* bytes of secret, at least */
#define CTLAUTH_SECRET_FILE_MAX 4096 /* bytes of a secret file, at most */
#define CTLAUTH_NONCE_SIZE 33	     /* buffer: 32 hex digits and a NUL */
#define CTLAUTH_LINE_SIZE 128	     /* buffer: an auth line and a NUL */
#define CTLAUTH_WINDOW_MAX 86400     /* seconds of window, at most */
#define CTLAUTH_NONCES_MAX 1000000   /* nonces kept, at most */

struct ctlauth;
struct ctlauth_mac;

/*
 * ctlauth_secret_load - read the shared secret
 *	path: the secret file (see DESCRIPTION)
 *	secret_r: the key bytes (caller frees with ctlauth_secret_free);
 *	    NULL on error
 *	len_r: their number, at least CTLAUTH_SECRET_MIN
 *	error_r: on -1, "PATH: why" (caller frees); may be NULL
 * Returns 0,
 *	-1 the file cannot be read, is not a regular file, is group- or
 *	   other-accessible, too large, or holds too short a secret.
 */
int ctlauth_secret_load(const char *path, unsigned char **secret_r,
    size_t *len_r, char **error_r) __attribute__((warn_unused_result));

/* ctlauth_secret_free - wipe and free a secret (NULL is fine), set NULL */
void ctlauth_secret_free(unsigned char **secret, size_t len);

/*
 * ctlauth_nonce - a fresh nonce from OpenSSL's random generator
 *	nonce_r: CTLAUTH_NONCE_SIZE bytes: 32 hex digits
 * Returns 0, or -1 if the generator failed.
 */
int ctlauth_nonce(char *nonce_r) __attribute__((warn_unused_result));

/*
 * ctlauth_sign - the auth line for a request (client)
 *	secret, len: the shared secret, len >= CTLAUTH_SECRET_MIN
 *	timestamp: the time now, Unix seconds, >= 0
 *	nonce: from ctlauth_nonce
 *	request_line: the request line, without its newline
 *	payload, payload_len: the bytes sent after the request line
 *	    (NULL, 0: none)
 *	auth_line_r: CTLAUTH_LINE_SIZE bytes: the auth line, without its
 *	    newline
 *	error_r: on -1, why (caller frees); may be NULL
 * Returns 0,
 *	-1 secret too short, negative timestamp, malformed nonce or
 *	   request line, or OpenSSL failed.
 */
int ctlauth_sign(const unsigned char *secret, size_t len, time_t timestamp,
    const char *nonce, const char *request_line, const void *payload,
    size_t payload_len, char *auth_line_r, char **error_r)
    __attribute__((warn_unused_result));

/*
 * ctlauth_mac_new - start the MAC of a request whose payload comes in
 * pieces (client)
 *	secret, len, timestamp, nonce, request_line: as for ctlauth_sign
 *	mac_r: the MAC in progress; feed it with ctlauth_mac_update, end
 *	    it with ctlauth_mac_auth_line (or free it with
 *	    ctlauth_mac_free)
 *	error_r: on -1, why (caller frees); may be NULL
 * Returns 0, or -1 as ctlauth_sign.
 */
int ctlauth_mac_new(const unsigned char *secret, size_t len, time_t timestamp,
    const char *nonce, const char *request_line, struct ctlauth_mac **mac_r,
    char **error_r) __attribute__((warn_unused_result));

/*
 * ctlauth_mac_update - add the next piece of the payload
 *	mac: from ctlauth_mac_new or ctlauth_begin
 *	data, len: the bytes, in the order they are sent
 * An OpenSSL failure is kept and reported by the call that ends mac.
 */
void ctlauth_mac_update(struct ctlauth_mac *mac, const void *data, size_t len);

/*
 * ctlauth_mac_auth_line - end a client MAC: the auth line
 *	mac: from ctlauth_mac_new; freed, and set to NULL
 *	auth_line_r: CTLAUTH_LINE_SIZE bytes: the auth line, without its
 *	    newline
 *	error_r: on -1, why (caller frees); may be NULL
 * Returns 0, or -1 if OpenSSL failed.
 */
int ctlauth_mac_auth_line(struct ctlauth_mac **mac, char *auth_line_r,
    char **error_r) __attribute__((warn_unused_result));

/* ctlauth_mac_free - free a MAC (NULL is fine) and set *mac to NULL */
void ctlauth_mac_free(struct ctlauth_mac **mac);

/*
 * ctlauth_new - a verifier with an empty nonce cache (server)
 *	window_seconds: how far a request's timestamp may be from the
 *	    server's clock, 1 to CTLAUTH_WINDOW_MAX (300 is a good value)
 *	max_nonces: nonces kept at most, 1 to CTLAUTH_NONCES_MAX; at least
 *	    the requests expected in 2 * window_seconds
 * Returns the verifier (free with ctlauth_free), or NULL with errno
 * EINVAL (an argument out of range) or ENOMEM.
 */
struct ctlauth *ctlauth_new(unsigned window_seconds, size_t max_nonces)
    __attribute__((warn_unused_result));

/* ctlauth_free - free a verifier (NULL is fine) and set *v to NULL */
void ctlauth_free(struct ctlauth **v);

/*
 * ctlauth_check - authenticate a whole request (server)
 *	v: the verifier
 *	secret, len: the shared secret
 *	auth_line: the first line received, without its newline (NULL if
 *	    there was none)
 *	request_line: the second line, without its newline
 *	payload, payload_len: the bytes after the request line (NULL, 0:
 *	    none)
 *	now: the server's clock, Unix seconds
 *	why_r: on -1, the reason (static text)
 * Returns 0 accepted (its nonce is now in the cache),
 *	-1 refused (see ERRORS for the reasons).
 */
int ctlauth_check(struct ctlauth *v, const unsigned char *secret, size_t len,
    const char *auth_line, const char *request_line, const void *payload,
    size_t payload_len, time_t now, const char **why_r)
    __attribute__((warn_unused_result));

/*
 * ctlauth_begin - check the two lines of a request before its payload
 * is read (server)
 *	v, secret, len, auth_line, request_line, now, why_r: as for
 *	    ctlauth_check
 *	mac_r: on 0, the MAC in progress: feed it the payload with
 *	    ctlauth_mac_update, end it with ctlauth_finish (or free it with
 *	    ctlauth_mac_free); NULL on -1
 * Returns 0 the lines are well formed, the time is within the window and
 *	  the nonce was not seen (nothing is accepted yet),
 *	-1 refused.
 */
int ctlauth_begin(struct ctlauth *v, const unsigned char *secret, size_t len,
    const char *auth_line, const char *request_line, time_t now,
    struct ctlauth_mac **mac_r, const char **why_r)
    __attribute__((warn_unused_result));

/*
 * ctlauth_finish - check the HMAC once the payload is read, and take the
 * nonce (server)
 *	v: the verifier given to ctlauth_begin
 *	mac: from ctlauth_begin; freed, and set to NULL
 *	now: the server's clock, Unix seconds
 *	why_r: on -1, the reason (static text)
 * Returns 0 accepted (its nonce is now in the cache),
 *	-1 refused: bad HMAC, nonce replayed (also by a request accepted
 *	   since ctlauth_begin), replay cache full, timestamp outside the
 *	   window (only if nonces of that time were dropped from the cache
 *	   since ctlauth_begin, which only another request's finish does),
 *	   HMAC failed.
 */
int ctlauth_finish(struct ctlauth *v, struct ctlauth_mac **mac, time_t now,
    const char **why_r) __attribute__((warn_unused_result));

/* ctlauth_nonces - nonces in the cache now (for stats and tests) */
size_t ctlauth_nonces(struct ctlauth *v);

#endif
