/*
 * NAME
 *	dkimsign - RFC 6376 DKIM signing: rsa-sha256 with libopendkim,
 *	ed25519-sha256 with libcrypto
 * SUMMARY
 *	One message in, one DKIM-Signature field body out (dkimsign.h).
 * DESCRIPTION
 *	RSA keys: dkim_sign() gets the key as PEM text (libopendkim 2.11
 *	passes text starting with "-----" to PEM_read_bio_PrivateKey; the
 *	key table re-encoded each key as PKCS#8). The default header list
 *	and the From oversigning are set on the shared DKIM_LIB by
 *	dkimverify_lib_new(); a caller's own list goes through
 *	dkim_signhdrs() on this message's handle. libopendkim keeps the id
 *	pointer: the signer holds the copy. dkim_getsighdr_d() folds with
 *	"\r\n\t"; the CRs are removed for smfi_insheader (as OpenDKIM does).
 *
 *	Ed25519 keys are signed here, not by libopendkim: its 2.11.0~beta2
 *	dkim_free() frees the crypto state (key BIO, EVP_PKEY, output) of
 *	RSA signatures only, so every Ed25519 signature it made leaked
 *	about 1.3 KB. The signature is the one libopendkim would make:
 *	- canonicalization relaxed/relaxed. Header (RFC 6376 3.4.2): name
 *	  in lower case, unfolded (CR and LF dropped), WSP runs to one SP,
 *	  no WSP at the end of the value nor around the colon. Body (RFC
 *	  6376 3.4.4): WSP runs to one SP, no WSP at line ends, no empty
 *	  lines at the end, a non-empty body ends with CRLF, hashed as it
 *	  comes by milter/dkimbody.c, never buffered whole;
 *	- signed fields: those whose name is in the list (the caller's or
 *	  dkimverify_sign_hdrs, the same list that
 *	  milter/dkimverify.c gives libopendkim), From always, each present
 *	  instance, named in h= in header order, then "from" once more
 *	  (oversigned, RFC 6376 8.15); fields are hashed in h= order, a
 *	  repeated name taking its instances from the bottom up (RFC 6376
 *	  5.4.2); the oversigned name finds no instance and adds nothing;
 *	- the field kept per signed instance is its canonical form (bounded
 *	  by the header limits of dkimverify.h); unsigned fields are only
 *	  counted;
 *	- tags v, a, c, d, s, t, bh, h, b, folded at 75 columns as
 *	  libopendkim folds (h= at colons, bh= and b= anywhere); the
 *	  DKIM-Signature field is hashed last, canonicalized, as folded,
 *	  with an empty b= and no CRLF (RFC 6376 3.7);
 *	- RFC 8463 3: the SHA-256 hash of the header data is signed with
 *	  PureEdDSA Ed25519 (EVP_DigestSign with no digest), b= is the
 *	  base64 of the 64-byte signature.
 *	The key is read from its PEM text for each signer and freed with it.
 * THREADS
 *	RSA signing uses the shared struct dkimverify_lib; a signer belongs
 *	to one session, one thread at a time. libcrypto's error queue is
 *	per thread and is cleared after a failure.
 * OWNERSHIP
 *	As dkimsign.h. The signer copies the caller's sign_headers names.
 * ERRORS
 *	The first failure is kept in the signer as text; dkimsign_eom()
 *	logs it and returns it.
 */
#include <assert.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/types.h>
#include <time.h>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include <opendkim/dkim.h>

#include "milter/dkimbody.h"
#include "milter/dkimsign.h"
#include "milter/dkimverify.h"
#include "milter/log.h"

#define DKIMSIGN_MARGIN 75 /* fold column, libopendkim's DKIM_HDRMARGIN */
#define DKIMSIGN_ED_SIG 64 /* bytes of an Ed25519 signature */
#define DKIMSIGN_HASH 32   /* bytes of a SHA-256 hash */

/* RFC 6376 8.15: named once more in h= than present (dkimverify.c's). */
#define DKIMSIGN_OVERSIGN "from"

/* A growing string. */
struct dkimsign_str {
	char *p;     /* text, NUL-terminated once anything was added */
	size_t len;  /* bytes used */
	size_t size; /* bytes allocated */
};

/* One signed field instance, offsets into dkimsign_ed.text. */
struct dkimsign_field {
	size_t name;	  /* the name as given, NUL-terminated */
	size_t canon;	  /* "name:value", relaxed (RFC 6376 3.4.2) */
	size_t canon_len; /* its length (no CRLF) */
};

/* The Ed25519 signer's own state. */
struct dkimsign_ed {
	EVP_PKEY *pkey;		       /* the private key */
	char **names;		       /* names to sign, NULL-terminated */
	struct dkimsign_str text;      /* names and canonical fields */
	struct dkimsign_field *fields; /* signed instances, header order */
	size_t nfields;		       /* used */
	size_t fields_size;	       /* allocated */
	bool from_seen;		       /* a From field was fed */
	bool eom_done;		       /* the body hash is final */
	struct dkimbody body;	       /* body hash */
};

struct dkimsign {
	DKIM *dkim;		/* libopendkim's handle (RSA), or NULL */
	struct dkimsign_ed *ed; /* the Ed25519 signer, or NULL */
	const struct keytable_key *key; /* borrowed */
	char id[64];			/* for libopendkim and the log */
	bool leadspc;			/* values keep their space */
	bool eoh_done;			/* end of header seen */
	size_t headers;			/* fields fed */
	size_t header_bytes;		/* bytes fed */
	char *buf;			/* field assembly */
	size_t bufsize;			/* its size */
	char error[160];		/* first failure, "" if none */
	const char **hdrlist;		/* the caller's sign_headers (RSA) */
};

/* dkimsign_failf - note the first failure; returns -1 */
static int __attribute__((format(printf, 2, 3)))
dkimsign_failf(struct dkimsign *s, const char *fmt, ...)
{
	va_list ap;

	if (s->error[0] == '\0') {
		va_start(ap, fmt);
		vsnprintf(s->error, sizeof(s->error), fmt, ap);
		va_end(ap);
		if (s->error[0] == '\0')
			snprintf(s->error, sizeof(s->error), "failed");
	}
	return -1;
}

/* dkimsign_fail - note the first libopendkim failure; returns -1 */
static int
dkimsign_fail(struct dkimsign *s, const char *what, DKIM_STAT st)
{
	const char *e = s->dkim != NULL ? dkim_geterror(s->dkim) : NULL;

	return dkimsign_failf(s, "%s: %s", what,
	    e != NULL && *e != '\0' ? e : dkim_getresultstr(st));
}

/* dkimsign_ssl_fail - note a libcrypto failure, clear its queue */
static int
dkimsign_ssl_fail(struct dkimsign *s, const char *what)
{
	char e[120];
	unsigned long code = ERR_peek_last_error();

	if (code != 0)
		ERR_error_string_n(code, e, sizeof(e));
	else
		snprintf(e, sizeof(e), "failed");
	ERR_clear_error();
	return dkimsign_failf(s, "%s: %s", what, e);
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

			if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
			    (c >= '0' && c <= '9') || c == '-')
				continue;
			if (c == '*' && i == len - 1)
				continue;
			return false;
		}
	}
	*n_r = n;
	return n > 0;
}

/* dkimsign_str_add - append len bytes; 0 or -1 out of memory */
static int
dkimsign_str_add(struct dkimsign_str *b, const char *p, size_t len)
{
	size_t size;
	char *np;

	if (len + 1 > b->size - b->len) {
		size = b->size == 0 ? 256 : b->size;
		while (len + 1 > size - b->len) {
			if (size > ((size_t)-1) / 2)
				return -1;
			size *= 2;
		}
		if ((np = realloc(b->p, size)) == NULL)
			return -1;
		b->p = np;
		b->size = size;
	}
	memcpy(b->p + b->len, p, len);
	b->len += len;
	b->p[b->len] = '\0';
	return 0;
}

/* dkimsign_str_addz - append a C string; 0 or -1 out of memory */
static int
dkimsign_str_addz(struct dkimsign_str *b, const char *p)
{
	return dkimsign_str_add(b, p, strlen(p));
}

/*
 * dkimsign_canon_field - relaxed form of "Name: value" (RFC 6376 3.4.2),
 * in place (never longer when f holds a colon; f has len + 1 bytes)
 * Returns its length.
 */
static size_t
dkimsign_canon_field(char *f, size_t len)
{
	size_t i, o = 0;
	bool wsp = false, word = false;
	unsigned char c;

	/* name in lower case, no WSP before the colon */
	for (i = 0; i < len && f[i] != ':'; i++) {
		c = (unsigned char)f[i];
		if (c == ' ' || c == '\t')
			continue;
		f[o++] = (char)(c >= 'A' && c <= 'Z' ? c + ('a' - 'A') : c);
	}
	f[o++] = ':';
	/* unfold, WSP runs to one SP, none at the start or the end */
	for (i++; i < len; i++) {
		c = (unsigned char)f[i];
		if (c == '\r' || c == '\n')
			continue;
		if (c == ' ' || c == '\t') {
			wsp = true;
			continue;
		}
		if (wsp && word)
			f[o++] = ' ';
		wsp = false;
		word = true;
		f[o++] = (char)c;
	}
	return o;
}

/* dkimsign_wanted - is a field of this name signed? */
static bool
dkimsign_wanted(const struct dkimsign_ed *ed, const char *name)
{
	size_t i, n;

	if (strcasecmp(name, "from") == 0)
		return true; /* libopendkim's required header */
	for (i = 0; ed->names[i] != NULL; i++) {
		n = strlen(ed->names[i]);
		if (n > 0 && ed->names[i][n - 1] == '*') {
			if (strncasecmp(name, ed->names[i], n - 1) == 0)
				return true;
		} else if (strcasecmp(name, ed->names[i]) == 0) {
			return true;
		}
	}
	return false;
}

/* dkimsign_ed_new - the Ed25519 signer: key, name list, body hash */
static int
dkimsign_ed_new(struct dkimsign *s, const char *const *list)
{
	struct dkimsign_ed *ed;
	BIO *bio = NULL;
	size_t i, n, bytes = 0;
	char *p;

	if ((ed = s->ed = calloc(1, sizeof(*ed))) == NULL)
		return dkimsign_failf(s, "out of memory");
	if (list == NULL)
		list = dkimverify_sign_hdrs;
	for (n = 0; list[n] != NULL; n++)
		bytes += strlen(list[n]) + 1;
	/* one block: the pointers, then the names */
	if ((ed->names = malloc((n + 1) * sizeof(char *) + bytes)) == NULL)
		return dkimsign_failf(s, "out of memory");
	p = (char *)(ed->names + n + 1);
	for (i = 0; i < n; i++) {
		ed->names[i] = p;
		p = stpcpy(p, list[i]) + 1;
	}
	ed->names[n] = NULL;
	if (s->key->pem_len > (size_t)0x7fffffff ||
	    (bio = BIO_new_mem_buf(s->key->pem, (int)s->key->pem_len)) == NULL)
		return dkimsign_ssl_fail(s, "key");
	/* u = "": an encrypted key fails at once, no passphrase prompt */
	ed->pkey = PEM_read_bio_PrivateKey(bio, NULL, NULL, (void *)"");
	BIO_free(bio);
	if (ed->pkey == NULL)
		return dkimsign_ssl_fail(s, "key");
	if (EVP_PKEY_id(ed->pkey) != EVP_PKEY_ED25519)
		return dkimsign_failf(s, "key: not an Ed25519 key");
	if (dkimbody_init(&ed->body, true) != 0)
		return dkimsign_ssl_fail(s, "body hash");
	return 0;
}

/* dkimsign_ed_free - free the Ed25519 signer (NULL is fine) */
static void
dkimsign_ed_free(struct dkimsign_ed **edp)
{
	struct dkimsign_ed *ed = *edp;

	if (ed == NULL)
		return;
	EVP_PKEY_free(ed->pkey);
	dkimbody_cleanup(&ed->body);
	free(ed->names);
	free(ed->text.p);
	free(ed->fields);
	free(ed);
	*edp = NULL;
}

/*
 * dkimsign_ed_header - keep a signed field in canonical form
 *	name: the field name as given
 *	len: bytes of "Name: value" in s->buf (canonicalized there)
 */
static int
dkimsign_ed_header(struct dkimsign *s, const char *name, size_t len)
{
	struct dkimsign_ed *ed = s->ed;
	struct dkimsign_field *f, *nf;
	size_t size, nlen = strlen(name) + 1;

	if (strcasecmp(name, "from") == 0)
		ed->from_seen = true;
	if (!dkimsign_wanted(ed, name))
		return 0;
	if (ed->nfields == ed->fields_size) {
		size = ed->fields_size == 0 ? 16 : ed->fields_size * 2;
		if ((nf = reallocarray(ed->fields, size, sizeof(*nf))) == NULL)
			return dkimsign_failf(s, "header: out of memory");
		ed->fields = nf;
		ed->fields_size = size;
	}
	f = &ed->fields[ed->nfields];
	f->name = ed->text.len;
	f->canon = f->name + nlen;
	f->canon_len = dkimsign_canon_field(s->buf, len);
	if (dkimsign_str_add(&ed->text, name, nlen) != 0 ||
	    dkimsign_str_add(&ed->text, s->buf, f->canon_len) != 0)
		return dkimsign_failf(s, "header: out of memory");
	ed->nfields++;
	return 0;
}

/* dkimsign_fold_any - append text, breaking it at the margin ("\n\t ") */
static int
dkimsign_fold_any(struct dkimsign_str *v, size_t *col, const char *text)
{
	size_t n, len = strlen(text);

	while (len > 0) {
		if (*col >= DKIMSIGN_MARGIN) {
			if (dkimsign_str_addz(v, "\n\t ") != 0)
				return -1;
			*col = 9;
		}
		n = DKIMSIGN_MARGIN - *col;
		if (n > len)
			n = len;
		if (dkimsign_str_add(v, text, n) != 0)
			return -1;
		text += n;
		len -= n;
		*col += n;
	}
	return 0;
}

/*
 * dkimsign_fold - append one "tag=value;" piece, folding as
 * libopendkim's dkim_getsighdr_d() does: a piece that would pass the
 * margin starts a line ("\n\t"); there h= breaks at colons, bh= and b=
 * anywhere ("\n\t " continues them).
 *	col: the column reached (updated)
 *	width: the piece's length once complete (b= is added to later)
 * Returns 0, or -1 out of memory.
 */
static int
dkimsign_fold(
    struct dkimsign_str *v, size_t *col, const char *piece, size_t width)
{
	const char *p, *colon;
	size_t n;

	if (v->len > 0 && *col + 1 + width <= DKIMSIGN_MARGIN) {
		if (dkimsign_str_addz(v, " ") != 0)
			return -1;
		*col += 1;
	} else if (v->len > 0) {
		if (dkimsign_str_addz(v, "\n\t") != 0)
			return -1;
		*col = 8;
		if (strncmp(piece, "bh=", 3) == 0 ||
		    strncmp(piece, "b=", 2) == 0) {
			n = strcspn(piece, "=") + 1;
			if (dkimsign_str_add(v, piece, n) != 0)
				return -1;
			*col += n;
			return dkimsign_fold_any(v, col, piece + n);
		}
		if (strncmp(piece, "h=", 2) == 0) {
			for (p = piece; p != NULL; p = colon) {
				if ((colon = strchr(p + 1, ':')) != NULL)
					colon++;
				n = colon != NULL ? (size_t)(colon - p - 1)
						  : strlen(p);
				if (p != piece &&
				    *col + n + 1 > DKIMSIGN_MARGIN) {
					if (dkimsign_str_addz(v, "\n\t ") != 0)
						return -1;
					*col = 9;
				}
				if (dkimsign_str_add(v, p, n) != 0 ||
				    (colon != NULL &&
					dkimsign_str_addz(v, ":") != 0))
					return -1;
				*col += n + (colon != NULL ? 1 : 0);
			}
			return 0;
		}
	}
	*col += strlen(piece);
	return dkimsign_str_addz(v, piece);
}

/* dkimsign_ed_hash - SHA-256 of the signed fields, then of sig (3.7) */
static int
dkimsign_ed_hash(struct dkimsign_ed *ed, EVP_MD_CTX *md, const char *sig,
    size_t siglen, unsigned char *hash)
{
	const char *name;
	unsigned int hlen = 0;
	bool *used;
	size_t i, j;
	int rc = -1;

	if ((used = calloc(ed->nfields + 1, sizeof(bool))) == NULL)
		return -1;
	if (EVP_DigestInit_ex(md, EVP_sha256(), NULL) != 1)
		goto done;
	/*
	 * h= names the fields in header order. RFC 6376 5.4.2: the m-th
	 * instance of a name in h= is the m-th from the bottom, the last
	 * one unused (m-1 of them are used: one is left).
	 */
	for (i = 0; i < ed->nfields; i++) {
		name = ed->text.p + ed->fields[i].name;
		for (j = ed->nfields; j-- > 0;)
			if (!used[j] &&
			    strcasecmp(ed->text.p + ed->fields[j].name, name) ==
				0)
				break;
		assert(j < ed->nfields);
		used[j] = true;
		if (EVP_DigestUpdate(md, ed->text.p + ed->fields[j].canon,
			ed->fields[j].canon_len) != 1 ||
		    EVP_DigestUpdate(md, "\r\n", 2) != 1)
			goto done;
	}
	if (EVP_DigestUpdate(md, sig, siglen) != 1 ||
	    EVP_DigestFinal_ex(md, hash, &hlen) != 1 || hlen != DKIMSIGN_HASH)
		goto done;
	rc = 0;
done:
	free(used);
	return rc;
}

/* dkimsign_ed_eom - make the Ed25519 signature */
static int
dkimsign_ed_eom(struct dkimsign *s, char **value_r)
{
	struct dkimsign_ed *ed = s->ed;
	struct dkimsign_str v = { 0 }, h = { 0 }, c = { 0 };
	EVP_MD_CTX *md = NULL;
	unsigned char hash[EVP_MAX_MD_SIZE], sig[DKIMSIGN_ED_SIG];
	char bh[DKIMBODY_BH_SIZE], b[4 * ((DKIMSIGN_ED_SIG + 2) / 3) + 1],
	    piece[320];
	size_t col = sizeof(DKIMSIGN_HEADER ": ") - 1, i, siglen;
	int rc = -1;

	if (ed->eom_done)
		return dkimsign_failf(s, "signing: done already");
	ed->eom_done = true;
	if (dkimbody_final(&ed->body, bh) != 0) {
		dkimsign_ssl_fail(s, "body hash");
		goto done;
	}
	if (dkimsign_str_addz(&h, "h=") != 0)
		goto nomem;
	for (i = 0; i < ed->nfields; i++)
		if (dkimsign_str_addz(&h, ed->text.p + ed->fields[i].name) !=
			0 ||
		    dkimsign_str_addz(&h, ":") != 0)
			goto nomem;
	if (dkimsign_str_addz(&h, DKIMSIGN_OVERSIGN ";") != 0)
		goto nomem;
	if (dkimsign_fold(&v, &col, "v=1;", 4) != 0 ||
	    dkimsign_fold(&v, &col, "a=ed25519-sha256;", 17) != 0 ||
	    dkimsign_fold(&v, &col, "c=relaxed/relaxed;", 18) != 0)
		goto nomem;
	snprintf(piece, sizeof(piece), "d=%.253s;", s->key->domain);
	if (dkimsign_fold(&v, &col, piece, strlen(piece)) != 0)
		goto nomem;
	snprintf(piece, sizeof(piece), "s=%.63s;", s->key->selector);
	if (dkimsign_fold(&v, &col, piece, strlen(piece)) != 0)
		goto nomem;
	snprintf(piece, sizeof(piece), "t=%lld;", (long long)time(NULL));
	if (dkimsign_fold(&v, &col, piece, strlen(piece)) != 0)
		goto nomem;
	snprintf(piece, sizeof(piece), "bh=%s;", bh);
	if (dkimsign_fold(&v, &col, piece, strlen(piece)) != 0 ||
	    dkimsign_fold(&v, &col, h.p, h.len) != 0 ||
	    dkimsign_fold(&v, &col, "b=", 2 + sizeof(b) - 1) != 0)
		goto nomem;
	/* RFC 6376 3.7: the field as it will be, b= empty, no CRLF */
	if (dkimsign_str_addz(&c, DKIMSIGN_HEADER ": ") != 0 ||
	    dkimsign_str_add(&c, v.p, v.len) != 0)
		goto nomem;
	c.len = dkimsign_canon_field(c.p, c.len);
	if ((md = EVP_MD_CTX_new()) == NULL ||
	    dkimsign_ed_hash(ed, md, c.p, c.len, hash) != 0) {
		dkimsign_ssl_fail(s, "header hash");
		goto done;
	}
	/* RFC 8463 3: PureEdDSA over the SHA-256 hash */
	siglen = sizeof(sig);
	if (EVP_MD_CTX_reset(md) != 1 ||
	    EVP_DigestSignInit(md, NULL, NULL, NULL, ed->pkey) != 1 ||
	    EVP_DigestSign(md, sig, &siglen, hash, DKIMSIGN_HASH) != 1 ||
	    siglen != sizeof(sig)) {
		dkimsign_ssl_fail(s, "signing");
		goto done;
	}
	EVP_EncodeBlock((unsigned char *)b, sig, (int)siglen);
	if (dkimsign_fold_any(&v, &col, b) != 0)
		goto nomem;
	*value_r = v.p;
	v.p = NULL;
	rc = 0;
	goto done;
nomem:
	dkimsign_failf(s, "signature field: out of memory");
done:
	EVP_MD_CTX_free(md);
	free(v.p);
	free(h.p);
	free(c.p);
	return rc;
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
	s->key = key;
	for (i = 0, o = 0; id != NULL && id[i] != '\0' && o + 1 < sizeof(s->id);
	     i++)
		if (id[i] > 0x20 && id[i] < 0x7f)
			s->id[o++] = id[i];
	if (o == 0)
		s->id[o++] = '-';
	s->id[o] = '\0';
	if (key->alg == KEYTABLE_ED25519) {
		if (dkimsign_ed_new(s, sign_headers) != 0) {
			why = s->error;
			goto fail;
		}
		return s;
	}
	s->dkim = dkim_sign(dl, (const unsigned char *)s->id, NULL,
	    (dkim_sigkey_t)key->pem, (const unsigned char *)key->selector,
	    (const unsigned char *)key->domain, DKIM_CANON_RELAXED,
	    DKIM_CANON_RELAXED, DKIM_SIGN_RSASHA256, -1, &st);
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
		DKIMVERIFY_MAX_HEADER_BYTES)
		return dkimsign_failf(s,
		    "too many headers (limits %u fields, %u bytes)",
		    DKIMVERIFY_MAX_HEADERS, DKIMVERIFY_MAX_HEADER_BYTES);
	rc = dkimverify_field(
	    name, value, s->leadspc, &s->buf, &s->bufsize, &len);
	if (rc < 0)
		return dkimsign_failf(s, "header: out of memory");
	if (rc > 0)
		return dkimsign_failf(s, "header: bad field name");
	if (s->ed != NULL)
		return dkimsign_ed_header(s, name, len);
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
	if (s->ed != NULL) {
		/* as libopendkim's dkim_eoh() for its required header */
		if (!s->ed->from_seen)
			return dkimsign_failf(s,
			    "end of header: "
			    "required header \"from\" "
			    "not found");
		return 0;
	}
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
	if (s->ed != NULL) {
		if (s->ed->eom_done)
			return dkimsign_failf(s, "body: after the signature");
		if (dkimbody_chunk(&s->ed->body, data, len) != 0)
			return dkimsign_ssl_fail(s, "body hash");
		return 0;
	}
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
	if (s->ed != NULL) {
		if (dkimsign_ed_eom(s, value_r) != 0)
			goto fail;
		return 0;
	}
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
	dkimsign_ed_free(&(*s)->ed);
	free((*s)->hdrlist);
	free((*s)->buf);
	free(*s);
	*s = NULL;
}
