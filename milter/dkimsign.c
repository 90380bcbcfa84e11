/*
 * NAME
 *	dkimsign - RFC 6376 DKIM signing with libopendkim
 * DESCRIPTION
 *	See dkimsign.h. dkim_sign() gets the key as PEM text (libopendkim
 *	2.11 passes text starting with "-----" to PEM_read_bio_PrivateKey,
 *	which reads RSA and Ed25519 PKCS#8 alike; the key table re-encoded
 *	each key so). The default header list and the From oversigning
 *	are set on the shared DKIM_LIB by dkimverify_lib_new(); a caller's
 *	own list goes through dkim_signhdrs() on this message's handle.
 *	libopendkim keeps the id pointer: the signer holds the copy.
 *	dkim_getsighdr_d() folds with "\r\n\t"; the CRs are removed for
 *	smfi_insheader (as OpenDKIM does).
 */
#include <ctype.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

#include <opendkim/dkim.h>

#include "milter/dkimsign.h"
#include "milter/dkimverify.h"
#include "milter/log.h"

struct dkimsign {
	DKIM *dkim;	      /* libopendkim's signing handle */
	char id[64];	      /* for libopendkim and the log */
	bool leadspc;	      /* values keep their space */
	bool eoh_done;	      /* dkim_eoh called */
	size_t headers;	      /* fields fed */
	size_t header_bytes;  /* bytes fed */
	char *buf;	      /* field assembly */
	size_t bufsize;	      /* its size */
	char error[160];      /* first failure, "" if none */
	const char **hdrlist; /* the caller's sign_headers, copied */
};

/* dkimsign_fail - note the first failure; returns -1 */
static int
dkimsign_fail(struct dkimsign *s, const char *what, DKIM_STAT st)
{
	const char *e = s->dkim != NULL ? dkim_geterror(s->dkim) : NULL;

	if (s->error[0] == '\0')
		snprintf(s->error, sizeof(s->error), "%s: %s", what,
		    e != NULL && *e != '\0' ? e : dkim_getresultstr(st));
	return -1;
}

/* dkimsign_names_ok - is a sign_headers list usable? */
static bool
dkimsign_names_ok(const char *const *list, size_t *n_r)
{
	size_t n, i, len;

	for (n = 0; list[n] != NULL; n++) {
		if (n == DKIMSIGN_MAX_SIGN_HEADERS)
			return false;
		len = strlen(list[n]);
		if (len == 0 || len > 64)
			return false;
		for (i = 0; i < len; i++) {
			unsigned char c = (unsigned char)list[n][i];

			if (isalnum(c) || c == '-')
				continue;
			if (c == '*' && i == len - 1)
				continue;
			return false;
		}
	}
	*n_r = n;
	return n > 0;
}

/* dkimsign_new - start signing one message */
struct dkimsign *
dkimsign_new(struct dkimverify_lib *lib, const struct keytable_key *key,
    const char *id, const char *const *sign_headers, char **error_r)
{
	struct dkim_lib *dl = dkimverify_lib_dkim(lib);
	struct dkimsign *s = NULL;
	DKIM_STAT st = DKIM_STAT_OK;
	size_t n = 0, i, o;
	const char *why = "out of memory";

	if (dl == NULL || key == NULL || key->pem == NULL ||
	    key->domain == NULL || key->selector == NULL) {
		why = "no library or key";
		goto fail;
	}
	if (sign_headers != NULL && !dkimsign_names_ok(sign_headers, &n)) {
		why = "sign_headers: not a list of header field names";
		goto fail;
	}
	if ((s = calloc(1, sizeof(*s))) == NULL)
		goto fail;
	for (i = 0, o = 0; id != NULL && id[i] != '\0' && o + 1 < sizeof(s->id);
	     i++)
		if (id[i] > 0x20 && id[i] < 0x7f)
			s->id[o++] = id[i];
	if (o == 0)
		s->id[o++] = '-';
	s->id[o] = '\0';
	s->dkim = dkim_sign(dl, (const unsigned char *)s->id, NULL,
	    (dkim_sigkey_t)key->pem, (const unsigned char *)key->selector,
	    (const unsigned char *)key->domain, DKIM_CANON_RELAXED,
	    DKIM_CANON_RELAXED,
	    key->alg == KEYTABLE_ED25519 ? DKIM_SIGN_ED25519SHA256
					 : DKIM_SIGN_RSASHA256,
	    -1, &st);
	if (s->dkim == NULL) {
		why = "libopendkim refused the key, domain or selector";
		goto fail;
	}
	if (sign_headers != NULL) {
		if ((s->hdrlist = calloc(n + 1, sizeof(char *))) == NULL)
			goto fail;
		for (i = 0; i < n; i++)
			s->hdrlist[i] = sign_headers[i];
		if (dkim_signhdrs(s->dkim, s->hdrlist) != DKIM_STAT_OK) {
			why = "sign_headers: libopendkim refused the list";
			goto fail;
		}
	}
	return s;
fail:
	if (error_r != NULL)
		*error_r = strdup(why);
	dkimsign_free(&s);
	return NULL;
}

/* dkimsign_set_leadspc - values keep their leading space */
void
dkimsign_set_leadspc(struct dkimsign *s, bool on)
{
	if (s != NULL)
		s->leadspc = on;
}

/* dkimsign_header - feed one header field */
int
dkimsign_header(struct dkimsign *s, const char *name, const char *value)
{
	size_t len;
	DKIM_STAT st;
	int rc;

	if (s == NULL || s->error[0] != '\0')
		return -1;
	if (name == NULL || value == NULL || s->eoh_done)
		return dkimsign_fail(s, "header", DKIM_STAT_INVALID);
	if (++s->headers > DKIMVERIFY_MAX_HEADERS ||
	    (s->header_bytes += strlen(name) + strlen(value) + 4) >
		DKIMVERIFY_MAX_HEADER_BYTES) {
		snprintf(s->error, sizeof(s->error),
		    "too many headers (limits %u fields, %u bytes)",
		    DKIMVERIFY_MAX_HEADERS, DKIMVERIFY_MAX_HEADER_BYTES);
		return -1;
	}
	rc = dkimverify_field(
	    name, value, s->leadspc, &s->buf, &s->bufsize, &len);
	if (rc < 0)
		return dkimsign_fail(s, "header", DKIM_STAT_NORESOURCE);
	if (rc > 0) {
		snprintf(s->error, sizeof(s->error), "header: bad field name");
		return -1;
	}
	st = dkim_header(s->dkim, (u_char *)s->buf, len);
	if (st != DKIM_STAT_OK)
		return dkimsign_fail(s, "header", st);
	return 0;
}

/* dkimsign_eoh - end of the header */
int
dkimsign_eoh(struct dkimsign *s)
{
	DKIM_STAT st;

	if (s == NULL || s->error[0] != '\0')
		return -1;
	if (s->eoh_done)
		return 0;
	s->eoh_done = true;
	if ((st = dkim_eoh(s->dkim)) != DKIM_STAT_OK)
		return dkimsign_fail(s, "end of header", st);
	return 0;
}

/* dkimsign_body - feed a body chunk */
int
dkimsign_body(struct dkimsign *s, const unsigned char *data, size_t len)
{
	DKIM_STAT st;

	if (s == NULL || s->error[0] != '\0')
		return -1;
	if (!s->eoh_done && dkimsign_eoh(s) != 0)
		return -1;
	if (data == NULL || len == 0)
		return 0;
	if ((st = dkim_body(s->dkim, (u_char *)data, len)) != DKIM_STAT_OK)
		return dkimsign_fail(s, "body", st);
	return 0;
}

/* dkimsign_eom - make the signature */
int
dkimsign_eom(
    struct dkimsign *s, const char **name_r, char **value_r, char **error_r)
{
	unsigned char *hdr = NULL;
	size_t len = 0, i, o;
	char *v;
	DKIM_STAT st;

	*value_r = NULL;
	*name_r = DKIMSIGN_HEADER;
	if (s == NULL)
		goto fail;
	if (s->error[0] == '\0' && !s->eoh_done)
		(void)dkimsign_eoh(s);
	if (s->error[0] != '\0')
		goto fail;
	if ((st = dkim_eom(s->dkim, NULL)) != DKIM_STAT_OK) {
		dkimsign_fail(s, "signing", st);
		goto fail;
	}
	st = dkim_getsighdr_d(
	    s->dkim, sizeof(DKIMSIGN_HEADER ": ") - 1, &hdr, &len);
	if (st != DKIM_STAT_OK || hdr == NULL) {
		dkimsign_fail(s, "signature field", st);
		goto fail;
	}
	if ((v = malloc(len + 1)) == NULL) {
		dkimsign_fail(s, "signature field", DKIM_STAT_NORESOURCE);
		goto fail;
	}
	for (i = 0, o = 0; i < len && hdr[i] != '\0'; i++)
		if (hdr[i] != '\r')
			v[o++] = (char)hdr[i];
	v[o] = '\0';
	*value_r = v;
	return 0;
fail:
	if (error_r != NULL)
		*error_r = strdup(s != NULL && s->error[0] != '\0'
			? s->error
			: "dkim: cannot sign");
	if (s != NULL)
		log_msg(
		    LOG_WARNING, "%s: dkim: cannot sign: %s", s->id, s->error);
	return -1;
}

/* dkimsign_free - free a signer */
void
dkimsign_free(struct dkimsign **s)
{
	if (s == NULL || *s == NULL)
		return;
	if ((*s)->dkim != NULL)
		dkim_free((*s)->dkim);
	free((*s)->hdrlist);
	free((*s)->buf);
	free(*s);
	*s = NULL;
}
