/*
 * NAME
 *	ctlauth - shared-secret HMAC authentication of control requests
 * SUMMARY
 *	Auth lines, HMAC-SHA256 with OpenSSL 3 EVP_MAC, the nonce cache.
 * DESCRIPTION
 *	See ctlauth.h. The nonce cache is an array scanned whole: control
 *	requests are few (a push, a reload), so max_nonces of a few
 *	thousand cost microseconds a request.
 *
 *	Why a request may be refused at ctlauth_finish for its time: a
 *	nonce leaves the cache when its timestamp falls out of the window,
 *	at which point no new request carrying it passes ctlauth_begin.
 *	But a copy that passed ctlauth_begin earlier and is still reading
 *	its payload would, at ctlauth_finish, no longer find the original
 *	in the cache. So the cache remembers the horizon: the highest
 *	"now - window" it has dropped nonces below. A request whose
 *	timestamp is under the horizon is refused: its nonce may have been
 *	forgotten, and refusing beats accepting a replay. With one control
 *	thread no other request finishes during an upload, so the horizon
 *	never passes a request between its begin and its finish.
 * THREADS
 *	v->lock guards v->seen, v->count and v->horizon; it is the only
 *	lock taken here, never held across I/O or the HMAC.
 * OWNERSHIP
 *	The verifier owns its cache; a MAC owns its EVP_MAC_CTX.
 * ERRORS
 *	Reasons are the static texts of ctlauth.h; pthread failures are
 *	broken invariants (abort).
 */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <openssl/rand.h>

#include "lists/text.h"
#include "lists/secretfile.h"
#include "milter/ctlauth.h"

#define CTLAUTH_DOMAIN "sakimori-ctl-v1\n" /* first line of the MAC input */
#define CTLAUTH_NONCE_BYTES 16		   /* random bytes of a nonce */
#define CTLAUTH_MAC_BYTES 32		   /* HMAC-SHA256 */
#define CTLAUTH_TS_DIGITS 19		   /* digits of a timestamp */

struct ctlauth_seen {
	unsigned char nonce[CTLAUTH_NONCE_BYTES]; /* the nonce */
	int64_t ts;				  /* its request's timestamp */
};

struct ctlauth {
	pthread_mutex_t lock;	   /* guards what follows */
	int64_t window;		   /* seconds either way */
	size_t max;		   /* entries of seen */
	size_t count;		   /* entries in use */
	int64_t horizon;	   /* nonces under it may be forgotten */
	struct ctlauth_seen *seen; /* accepted nonces, no order */
};

struct ctlauth_mac {
	EVP_MAC_CTX *ctx;			  /* HMAC-SHA256 so far */
	int failed;				  /* an OpenSSL call failed */
	int64_t ts;				  /* the request's timestamp */
	unsigned char nonce[CTLAUTH_NONCE_BYTES]; /* its nonce */
	char nonce_hex[CTLAUTH_NONCE_SIZE];	  /* the nonce as sent */
	unsigned char given[CTLAUTH_MAC_BYTES];	  /* server: HMAC received */
};

/* ctlauth_lock - lock the cache; failure is a broken invariant */
static void
ctlauth_lock(struct ctlauth *v)
{
	if (pthread_mutex_lock(&v->lock) != 0)
		abort();
}

/* ctlauth_unlock - unlock the cache */
static void
ctlauth_unlock(struct ctlauth *v)
{
	if (pthread_mutex_unlock(&v->lock) != 0)
		abort();
}

/* ctlauth_secret_load - read the shared secret */
int
ctlauth_secret_load(
    const char *path, unsigned char **secret_r, size_t *len_r, char **error_r)
{
	char *text = NULL;
	size_t len, size;

	*secret_r = NULL;
	*len_r = 0;
	if (secretfile_read(
		path, CTLAUTH_SECRET_FILE_MAX, &text, &size, error_r) < 0)
		return -1;
	len = size;
	if (len > 0 && text[len - 1] == '\n') {
		len--;
		if (len > 0 && text[len - 1] == '\r')
			len--;
	}
	if (len < CTLAUTH_SECRET_MIN) {
		text_error(error_r,
		    "%s: secret too short (%zu bytes, want at least %d; "
		    "\"openssl rand -hex 32\" makes one)",
		    path, len, CTLAUTH_SECRET_MIN);
		secretfile_free(&text, size);
		return -1;
	}
	*secret_r = (unsigned char *)text;
	*len_r = len;
	return 0;
}

/* ctlauth_secret_free - wipe and free a secret */
void
ctlauth_secret_free(unsigned char **secret, size_t len)
{
	char *text = (char *)*secret;

	/* The newline trimmed off is no secret. */
	secretfile_free(&text, len);
	*secret = NULL;
}

/* ctlauth_hex - bytes as lower-case hex, NUL-ended */
static void
ctlauth_hex(const unsigned char *bin, size_t len, char *hex)
{
	static const char digits[] = "0123456789abcdef";
	size_t i;

	for (i = 0; i < len; i++) {
		hex[2 * i] = digits[bin[i] >> 4];
		hex[2 * i + 1] = digits[bin[i] & 0xf];
	}
	hex[2 * len] = '\0';
}

/* ctlauth_unhex_digit - a lower-case hex digit's value, or -1 */
static int
ctlauth_unhex_digit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/*
 * ctlauth_unhex - exactly 2 * len lower-case hex digits to bytes
 *	s, n: the digits (not NUL-ended)
 * Returns 0, or -1 if there are not 2 * len of them or one is not hex.
 */
static int
ctlauth_unhex(const char *s, size_t n, unsigned char *bin, size_t len)
{
	size_t i;
	int hi, lo;

	if (n != 2 * len)
		return -1;
	for (i = 0; i < len; i++) {
		hi = ctlauth_unhex_digit(s[2 * i]);
		lo = ctlauth_unhex_digit(s[2 * i + 1]);
		if (hi < 0 || lo < 0)
			return -1;
		bin[i] = (unsigned char)(hi << 4 | lo);
	}
	return 0;
}

/*
 * ctlauth_parse_ts - a timestamp: decimal, no sign, no leading zero
 *	s, n: the digits (not NUL-ended)
 * Returns 0, or -1 if malformed or above INT64_MAX.
 */
static int
ctlauth_parse_ts(const char *s, size_t n, int64_t *ts_r)
{
	uint64_t v = 0;
	size_t i;

	if (n == 0 || n > CTLAUTH_TS_DIGITS || (s[0] == '0' && n > 1))
		return -1;
	for (i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (uint64_t)(s[i] - '0');
	}
	/* 19 digits fit in a uint64_t; INT64_MAX has 19 digits too. */
	if (v > (uint64_t)INT64_MAX)
		return -1;
	*ts_r = (int64_t)v;
	return 0;
}

/* ctlauth_request_ok - a request line: no CR or LF */
static int
ctlauth_request_ok(const char *request_line)
{
	return request_line != NULL && strpbrk(request_line, "\r\n") == NULL;
}

/*
 * ctlauth_mac_start - the MAC context, fed the lines before the payload
 * Returns the MAC, or NULL if OpenSSL failed.
 */
static struct ctlauth_mac *
ctlauth_mac_start(const unsigned char *secret, size_t len, int64_t ts,
    const unsigned char *nonce, const char *request_line)
{
	char digest[] = "SHA256", head[96];
	struct ctlauth_mac *mac;
	OSSL_PARAM params[2];
	EVP_MAC *hmac;
	int n;

	if ((mac = calloc(1, sizeof(*mac))) == NULL)
		return NULL;
	mac->ts = ts;
	memcpy(mac->nonce, nonce, sizeof(mac->nonce));
	ctlauth_hex(nonce, sizeof(mac->nonce), mac->nonce_hex);
	if ((hmac = EVP_MAC_fetch(NULL, "HMAC", NULL)) == NULL)
		goto fail;
	mac->ctx = EVP_MAC_CTX_new(hmac);
	EVP_MAC_free(hmac);
	if (mac->ctx == NULL)
		goto fail;
	params[0] =
	    OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0);
	params[1] = OSSL_PARAM_construct_end();
	if (EVP_MAC_init(mac->ctx, secret, len, params) != 1)
		goto fail;
	n = snprintf(head, sizeof(head), CTLAUTH_DOMAIN "%" PRId64 "\n%s\n", ts,
	    mac->nonce_hex);
	if (n < 0 || (size_t)n >= sizeof(head))
		goto fail;
	if (EVP_MAC_update(mac->ctx, (unsigned char *)head, (size_t)n) != 1)
		goto fail;
	if (EVP_MAC_update(mac->ctx, (const unsigned char *)request_line,
		strlen(request_line)) != 1)
		goto fail;
	if (EVP_MAC_update(mac->ctx, (const unsigned char *)"\n", 1) != 1)
		goto fail;
	return mac;

fail:
	ctlauth_mac_free(&mac);
	return NULL;
}

/*
 * ctlauth_mac_end - the HMAC of everything fed to mac
 * Returns 0, or -1 if OpenSSL failed now or before.
 */
static int
ctlauth_mac_end(struct ctlauth_mac *mac, unsigned char *out)
{
	size_t outl = 0;

	if (mac->failed ||
	    EVP_MAC_final(mac->ctx, out, &outl, CTLAUTH_MAC_BYTES) != 1 ||
	    outl != CTLAUTH_MAC_BYTES)
		return -1;
	return 0;
}

/* ctlauth_nonce - a fresh nonce */
int
ctlauth_nonce(char *nonce_r)
{
	unsigned char bin[CTLAUTH_NONCE_BYTES];

	nonce_r[0] = '\0';
	if (RAND_bytes(bin, sizeof(bin)) != 1)
		return -1;
	ctlauth_hex(bin, sizeof(bin), nonce_r);
	return 0;
}

/* ctlauth_mac_new - start a client MAC */
int
ctlauth_mac_new(const unsigned char *secret, size_t len, time_t timestamp,
    const char *nonce, const char *request_line, struct ctlauth_mac **mac_r,
    char **error_r)
{
	unsigned char bin[CTLAUTH_NONCE_BYTES];

	*mac_r = NULL;
	if (error_r != NULL)
		*error_r = NULL;
	if (secret == NULL || len < CTLAUTH_SECRET_MIN) {
		text_error(error_r,
		    "secret too short (%zu bytes, want at least %d)",
		    secret == NULL ? 0 : len, CTLAUTH_SECRET_MIN);
		return -1;
	}
	if (timestamp < 0) {
		text_error(error_r, "negative timestamp");
		return -1;
	}
	if (nonce == NULL ||
	    ctlauth_unhex(nonce, strlen(nonce), bin, sizeof(bin)) < 0) {
		text_error(error_r,
		    "malformed nonce (want %d lower-case hex digits)",
		    2 * CTLAUTH_NONCE_BYTES);
		return -1;
	}
	if (!ctlauth_request_ok(request_line)) {
		text_error(error_r, "malformed request line (CR or LF)");
		return -1;
	}
	if ((*mac_r = ctlauth_mac_start(
		 secret, len, (int64_t)timestamp, bin, request_line)) == NULL) {
		text_error(error_r, "HMAC failed");
		return -1;
	}
	return 0;
}

/* ctlauth_mac_update - add the next piece of the payload */
void
ctlauth_mac_update(struct ctlauth_mac *mac, const void *data, size_t len)
{
	if (mac->failed || len == 0)
		return;
	if (EVP_MAC_update(mac->ctx, data, len) != 1)
		mac->failed = 1;
}

/* ctlauth_mac_auth_line - end a client MAC: the auth line */
int
ctlauth_mac_auth_line(
    struct ctlauth_mac **mac, char *auth_line_r, char **error_r)
{
	unsigned char out[CTLAUTH_MAC_BYTES];
	char hex[2 * CTLAUTH_MAC_BYTES + 1];
	int rc = -1;

	if (error_r != NULL)
		*error_r = NULL;
	auth_line_r[0] = '\0';
	if (ctlauth_mac_end(*mac, out) < 0) {
		text_error(error_r, "HMAC failed");
		goto done;
	}
	ctlauth_hex(out, sizeof(out), hex);
	snprintf(auth_line_r, CTLAUTH_LINE_SIZE, "auth v1 %" PRId64 " %s %s",
	    (*mac)->ts, (*mac)->nonce_hex, hex);
	rc = 0;
done:
	ctlauth_mac_free(mac);
	return rc;
}

/* ctlauth_mac_free - free a MAC */
void
ctlauth_mac_free(struct ctlauth_mac **mac)
{
	if (*mac == NULL)
		return;
	EVP_MAC_CTX_free((*mac)->ctx);
	free(*mac);
	*mac = NULL;
}

/* ctlauth_sign - the auth line for a request */
int
ctlauth_sign(const unsigned char *secret, size_t len, time_t timestamp,
    const char *nonce, const char *request_line, const void *payload,
    size_t payload_len, char *auth_line_r, char **error_r)
{
	struct ctlauth_mac *mac;

	auth_line_r[0] = '\0';
	if (ctlauth_mac_new(
		secret, len, timestamp, nonce, request_line, &mac, error_r) < 0)
		return -1;
	if (payload != NULL)
		ctlauth_mac_update(mac, payload, payload_len);
	return ctlauth_mac_auth_line(&mac, auth_line_r, error_r);
}

/* ctlauth_new - a verifier with an empty nonce cache */
struct ctlauth *
ctlauth_new(unsigned window_seconds, size_t max_nonces)
{
	struct ctlauth *v;

	if (window_seconds < 1 || window_seconds > CTLAUTH_WINDOW_MAX ||
	    max_nonces < 1 || max_nonces > CTLAUTH_NONCES_MAX) {
		errno = EINVAL;
		return NULL;
	}
	if ((v = calloc(1, sizeof(*v))) == NULL)
		return NULL;
	if ((v->seen = calloc(max_nonces, sizeof(*v->seen))) == NULL) {
		free(v);
		return NULL;
	}
	if (pthread_mutex_init(&v->lock, NULL) != 0) {
		free(v->seen);
		free(v);
		errno = ENOMEM;
		return NULL;
	}
	v->window = window_seconds;
	v->max = max_nonces;
	v->horizon = INT64_MIN;
	return v;
}

/* ctlauth_free - free a verifier */
void
ctlauth_free(struct ctlauth **v)
{
	if (*v == NULL)
		return;
	pthread_mutex_destroy(&(*v)->lock);
	free((*v)->seen);
	free(*v);
	*v = NULL;
}

/* ctlauth_nonces - nonces in the cache now */
size_t
ctlauth_nonces(struct ctlauth *v)
{
	size_t n;

	ctlauth_lock(v);
	n = v->count;
	ctlauth_unlock(v);
	return n;
}

/* ctlauth_seen - whether a nonce is in the cache (lock held) */
static int
ctlauth_seen(const struct ctlauth *v, const unsigned char *nonce)
{
	size_t i;

	for (i = 0; i < v->count; i++) {
		if (memcmp(v->seen[i].nonce, nonce, CTLAUTH_NONCE_BYTES) == 0)
			return 1;
	}
	return 0;
}

/* ctlauth_evict - drop nonces out of the window at now (lock held) */
static void
ctlauth_evict(struct ctlauth *v, int64_t now)
{
	int64_t oldest = now - v->window;
	size_t i = 0;

	while (i < v->count) {
		if (v->seen[i].ts < oldest)
			v->seen[i] = v->seen[--v->count];
		else
			i++;
	}
	if (oldest > v->horizon)
		v->horizon = oldest;
}

/*
 * ctlauth_parse - split and check an auth line
 *	auth_line: "auth v1 TIMESTAMP NONCE HMAC"
 *	mac_r: ts, nonce and given set
 * Returns 0, or -1 with *why_r set.
 */
static int
ctlauth_parse(
    const char *auth_line, struct ctlauth_mac *mac_r, const char **why_r)
{
	unsigned char *nonce = mac_r->nonce, *given = mac_r->given;
	const char *word[5], *p;
	size_t len[5], n = 0;
	int bad = 0;

	if (auth_line == NULL || strncmp(auth_line, "auth", 4) != 0 ||
	    (auth_line[4] != ' ' && auth_line[4] != '\0')) {
		*why_r = "missing auth line";
		return -1;
	}
	/* Five words split by single spaces: the line has one spelling. */
	for (p = auth_line;;) {
		if (n == 5 || (len[n] = strcspn(p, " ")) == 0) {
			bad = 1;
			break;
		}
		word[n] = p;
		p += len[n++];
		if (*p == '\0')
			break;
		p++;
	}
	if (n >= 2 && len[1] >= 2 && word[1][0] == 'v' &&
	    strspn(word[1] + 1, "0123456789") == len[1] - 1 &&
	    (len[1] != 2 || word[1][1] != '1')) {
		*why_r = "unsupported auth version";
		return -1;
	}
	if (bad || n != 5 || len[1] != 2 || strncmp(word[1], "v1", 2) != 0)
		goto malformed;
	if (ctlauth_parse_ts(word[2], len[2], &mac_r->ts) < 0)
		goto malformed;
	if (ctlauth_unhex(word[3], len[3], nonce, CTLAUTH_NONCE_BYTES) < 0)
		goto malformed;
	if (ctlauth_unhex(word[4], len[4], given, CTLAUTH_MAC_BYTES) < 0)
		goto malformed;
	return 0;

malformed:
	*why_r = "malformed auth line";
	return -1;
}

/* ctlauth_begin - check the two lines before the payload */
int
ctlauth_begin(struct ctlauth *v, const unsigned char *secret, size_t len,
    const char *auth_line, const char *request_line, time_t now,
    struct ctlauth_mac **mac_r, const char **why_r)
{
	struct ctlauth_mac parsed;
	int64_t t = (int64_t)now;
	uint64_t skew;
	int stale;

	*mac_r = NULL;
	*why_r = NULL;
	if (secret == NULL || len < CTLAUTH_SECRET_MIN) {
		*why_r = "secret too short";
		return -1;
	}
	memset(&parsed, 0, sizeof(parsed));
	if (ctlauth_parse(auth_line, &parsed, why_r) < 0)
		return -1;
	if (!ctlauth_request_ok(request_line)) {
		*why_r = "malformed request line";
		return -1;
	}
	/* The distance in unsigned arithmetic: exact, cannot overflow. */
	skew = parsed.ts > t ? (uint64_t)parsed.ts - (uint64_t)t
			     : (uint64_t)t - (uint64_t)parsed.ts;
	if (skew > (uint64_t)v->window) {
		*why_r = "timestamp outside the window";
		return -1;
	}
	ctlauth_lock(v);
	stale = parsed.ts < v->horizon;
	if (!stale && ctlauth_seen(v, parsed.nonce))
		*why_r = "nonce replayed";
	ctlauth_unlock(v);
	if (stale)
		*why_r = "timestamp outside the window";
	if (*why_r != NULL)
		return -1;
	if ((*mac_r = ctlauth_mac_start(
		 secret, len, parsed.ts, parsed.nonce, request_line)) == NULL) {
		*why_r = "HMAC failed";
		return -1;
	}
	memcpy((*mac_r)->given, parsed.given, sizeof(parsed.given));
	return 0;
}

/* ctlauth_finish - check the HMAC, take the nonce */
int
ctlauth_finish(
    struct ctlauth *v, struct ctlauth_mac **mac, time_t now, const char **why_r)
{
	unsigned char out[CTLAUTH_MAC_BYTES];
	struct ctlauth_mac *m = *mac;

	*why_r = NULL;
	if (ctlauth_mac_end(m, out) < 0) {
		*why_r = "HMAC failed";
		goto done;
	}
	if (CRYPTO_memcmp(out, m->given, sizeof(out)) != 0) {
		*why_r = "bad HMAC";
		goto done;
	}
	ctlauth_lock(v);
	if (m->ts < v->horizon) {
		*why_r = "timestamp outside the window";
	} else if (ctlauth_seen(v, m->nonce)) {
		*why_r = "nonce replayed";
	} else {
		ctlauth_evict(v, (int64_t)now);
		/* Out of the window already: the horizon stands for it. */
		if (m->ts >= v->horizon) {
			if (v->count == v->max) {
				*why_r = "replay cache full";
			} else {
				memcpy(v->seen[v->count].nonce, m->nonce,
				    sizeof(m->nonce));
				v->seen[v->count].ts = m->ts;
				v->count++;
			}
		}
	}
	ctlauth_unlock(v);
done:
	ctlauth_mac_free(mac);
	return *why_r == NULL ? 0 : -1;
}

/* ctlauth_check - authenticate a whole request */
int
ctlauth_check(struct ctlauth *v, const unsigned char *secret, size_t len,
    const char *auth_line, const char *request_line, const void *payload,
    size_t payload_len, time_t now, const char **why_r)
{
	struct ctlauth_mac *mac;

	if (ctlauth_begin(
		v, secret, len, auth_line, request_line, now, &mac, why_r) < 0)
		return -1;
	if (payload != NULL)
		ctlauth_mac_update(mac, payload, payload_len);
	return ctlauth_finish(v, &mac, now, why_r);
}
