/*
 * NAME
 *	dkimverify - RFC 6376 DKIM verification with libopendkim over
 *	sakimori's DNS layer
 * DESCRIPTION
 *	See dkimverify.h. How libopendkim 2.11 is driven:
 *	- One DKIM_LIB, no library flags. Bad DKIM-Signature fields are
 *	  not given handles (no DKIM_LIBFLAGS_BADSIGHANDLES: a handle for
 *	  a half-parsed tag list could reach code that expects every
 *	  required tag); dkim_header() returns an error for such a field
 *	  and we report it ourselves. The good ones appear in
 *	  dkim_getsiglist() in header order, which is how results are
 *	  matched to fields.
 *	- Key lookups: dkim_set_key_lookup() with our callback, which finds
 *	  this verifier through dkim_get_user_context(). It never returns
 *	  DKIM_CBSTAT_DEFAULT, so libopendkim's own resolver is never
 *	  used; it never returns TRYAGAIN, which would end the whole
 *	  message (see dkimverify.h): a DNS failure is noted here and the
 *	  signature later reported temperror.
 *	- A prescreen callback (before any lookup) ignores signatures
 *	  past max_sigs and rsa-sha1 ones (RFC 8301 3.1).
 *	- DKIM_OPTS_MINKEYBITS 1024 (RFC 8301 3.2); libopendkim skips that
 *	  check for ed25519.
 *	- Header fields are rebuilt as "Name: value" with CRLF folding;
 *	  dkim_header() asserts a non-empty field and checks only the
 *	  name's bytes, so name, length and bytes are checked here.
 * THREADS
 *	See dkimverify.h.
 * OWNERSHIP
 *	The DKIM handle lives in the verifier; libopendkim keeps a pointer
 *	to the id we give it, so the verifier holds that copy.
 */
#include <ctype.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/types.h>

#include <opendkim/dkim.h>

#include "lists/domain.h"
#include "lists/text.h"
#include "milter/dkimbody.h"
#include "milter/dkimkeys.h"
#include "milter/dkimverify.h"
#include "milter/log.h"

#define DKIMVERIFY_MAX_SIGFIELD 8192 /* longest DKIM-Signature fed */
#define DKIMVERIFY_MIN_BITS 1024     /* RSA keys: RFC 8301 3.2 */
#define DKIMVERIFY_KEYBUF 1024	     /* libopendkim's key buffer (BUFRSZ) */

/* The signing header list of RFC 6376 5.4.1 (dkimsign's default). */
const char *const dkimverify_sign_hdrs[] = { "from", "reply-to", "subject",
	"date", "to", "cc", "message-id", "in-reply-to", "references",
	"mime-version", "content-type", "content-transfer-encoding", "list-*",
	NULL };
static const char *const dkimverify_oversign_hdrs[] = { "from", NULL };

struct dkimverify_lib {
	DKIM_LIB *lib; /* libopendkim, shared */
};

/* One of the first max_sigs DKIM-Signature fields, in header order. */
struct dkimverify_slot {
	struct dkimverify_sig sig; /* tags as written; result once known */
	bool bad;		   /* not given to libopendkim's list */
};

/* What the key lookup learnt about one signature. */
struct dkimverify_note {
	DKIM_SIGINFO *sig;	 /* which signature */
	enum result_code result; /* the result to report */
	char reason[128];	 /* and why */
};

struct dkimverify {
	struct dkimverify_lib *lib;	 /* shared handle */
	DKIM *dkim;			 /* libopendkim's message handle */
	struct dns_resolver *dns;	 /* for key lookups */
	const struct timespec *deadline; /* DNS deadline or NULL */
	unsigned max_sigs;		 /* signatures verified */
	char id[64];			 /* for libopendkim and the log */
	bool leadspc;			 /* values keep their space */
	bool failed;			 /* internal error */
	bool overflow;			 /* header limits passed */
	bool eoh_done;			 /* dkim_eoh called */
	bool skip;			 /* no signature to verify */
	DKIM_STAT eoh_stat;		 /* what dkim_eoh said */
	char eoh_error[128];		 /* and libopendkim's text */
	size_t headers;			 /* fields seen */
	size_t header_bytes;		 /* bytes fed */
	size_t fields;			 /* DKIM-Signature fields seen */
	size_t good;			 /* of them, in libopendkim's list */
	struct dkimverify_slot slot[DKIMVERIFY_MAX_SIGS]; /* reported */
	size_t nslots;					  /* in use */
	size_t good_slot[DKIMVERIFY_MAX_SIGS]; /* list index -> slot */
	size_t ngood_slots;		       /* good ones among slots */
	struct dkimverify_note note[DKIMVERIFY_MAX_SIGS]; /* lookups */
	size_t nnotes;					  /* in use */
	char *buf;					  /* field assembly */
	size_t bufsize;					  /* its size */
	bool own_body;		      /* body hashed here, not by the lib */
	bool body_on[2];	      /* by canon: simple, relaxed */
	bool bh_ok[2];		      /* bh[] computed */
	struct dkimbody body[2];      /* by canon: simple, relaxed */
	char bh[2][DKIMBODY_BH_SIZE]; /* the body hashes */
};

/* dkimverify_note_find - the note of a signature, or NULL */
static struct dkimverify_note *
dkimverify_note_find(struct dkimverify *v, DKIM_SIGINFO *sig)
{
	size_t i;

	for (i = 0; i < v->nnotes; i++)
		if (v->note[i].sig == sig)
			return &v->note[i];
	return NULL;
}

/* dkimverify_note_set - remember a result for a signature */
static void
dkimverify_note_set(struct dkimverify *v, DKIM_SIGINFO *sig,
    enum result_code result, const char *reason)
{
	struct dkimverify_note *n = dkimverify_note_find(v, sig);

	if (n == NULL) {
		/* Lookups happen only for the signatures we keep. */
		if (v->nnotes == DKIMVERIFY_MAX_SIGS)
			return;
		n = &v->note[v->nnotes++];
		n->sig = sig;
	}
	n->result = result;
	text_printable(n->reason, sizeof(n->reason), reason);
}

/* dkimverify_pick - index of the TXT record to use, or -1 if none */
static int
dkimverify_pick(
    DKIM *dkim, const struct dns_result *res, u_char *buf, size_t buflen)
{
	size_t i;
	int first = -1;

	for (i = 0; i < res->count && i < 64; i++) {
		const struct dns_rr *rr = &res->rr[i];

		if (rr->type != DNS_T_TXT || rr->text == NULL)
			continue;
		if (first == -1)
			first = (int)i;
		if (rr->len == 0 || rr->len >= buflen ||
		    memchr(rr->text, '\0', rr->len) != NULL)
			continue;
		memcpy(buf, rr->text, rr->len);
		buf[rr->len] = '\0';
		/* RFC 6376 3.6.2.2: the first record that is a key record. */
		if (dkim_key_syntax(dkim, buf, rr->len) == DKIM_STAT_OK)
			return (int)i;
	}
	return first;
}

/*
 * dkimverify_key_lookup - libopendkim's key lookup, over our DNS layer
 * Fills buf with the key record (NUL-terminated) and returns CONTINUE,
 * or returns NOTFOUND with a note saying why.
 */
static DKIM_CBSTAT
dkimverify_key_lookup(DKIM *dkim, DKIM_SIGINFO *sig, u_char *buf, size_t buflen)
{
	struct dkimverify *v = dkim_get_user_context(dkim);
	const char *sel = (const char *)dkim_sig_getselector(sig);
	const char *dom = (const char *)dkim_sig_getdomain(sig);
	struct dns_result *res = NULL;
	const struct dns_rr *rr;
	char name[300], why[160];
	DKIM_CBSTAT rc = DKIM_CBSTAT_NOTFOUND;
	int n, pick;

	if (v == NULL || buf == NULL || buflen == 0)
		return DKIM_CBSTAT_ERROR;
	memset(buf, 0, buflen);
	if (buflen > DKIMVERIFY_KEYBUF + 1)
		buflen = DKIMVERIFY_KEYBUF + 1;
	/* RFC 6376 3.6.2.1: SELECTOR._domainkey.DOMAIN */
	n = snprintf(name, sizeof(name), "%s._domainkey.%s",
	    sel != NULL ? sel : "", dom != NULL ? dom : "");
	if (sel == NULL || dom == NULL || *sel == '\0' || *dom == '\0' ||
	    n < 0 || (size_t)n >= sizeof(name) ||
	    domain_name_labels(name, (size_t)n) < 3) {
		dkimverify_note_set(
		    v, sig, RESULT_PERMERROR, "bad selector or domain");
		return DKIM_CBSTAT_NOTFOUND;
	}
	if (dns_lookup(v->dns, name, DNS_T_TXT, v->deadline, &res) != 0) {
		dkimverify_note_set(
		    v, sig, RESULT_TEMPERROR, "DNS error: out of memory");
		return DKIM_CBSTAT_NOTFOUND;
	}
	switch (res->status) {
	case DNS_OK:
		pick = dkimverify_pick(dkim, res, buf, buflen);
		if (pick < 0) {
			dkimverify_note_set(v, sig, RESULT_PERMERROR, "no key");
			break;
		}
		rr = &res->rr[pick];
		if (rr->len == 0 || rr->len >= buflen ||
		    memchr(rr->text, '\0', rr->len) != NULL) {
			const char *why_key = "key record holds NUL";

			if (rr->len == 0)
				why_key = "key record empty";
			else if (rr->len >= buflen)
				why_key = "key record too long";
			dkimverify_note_set(v, sig, RESULT_PERMERROR, why_key);
			memset(buf, 0, buflen);
			break;
		}
		memcpy(buf, rr->text, rr->len);
		buf[rr->len] = '\0';
		rc = DKIM_CBSTAT_CONTINUE;
		break;
	case DNS_NXDOMAIN:
	case DNS_NODATA:
		dkimverify_note_set(v, sig, RESULT_PERMERROR, "no key");
		break;
	case DNS_BADNAME:
		dkimverify_note_set(
		    v, sig, RESULT_PERMERROR, "bad selector or domain");
		break;
	case DNS_TEMPFAIL:
	default:
		snprintf(why, sizeof(why), "DNS error: %s",
		    res->why[0] != '\0' ? res->why : "temporary failure");
		dkimverify_note_set(v, sig, RESULT_TEMPERROR, why);
		break;
	}
	dns_result_free(&res);
	return rc;
}

/*
 * dkimverify_prescreen - before any lookup: drop what we will not verify
 * Signatures past the first max_sigs fields are ignored; so are rsa-sha1
 * ones (RFC 8301 3.1), noted as permerror.
 */
static DKIM_CBSTAT
dkimverify_prescreen(DKIM *dkim, DKIM_SIGINFO **sigs, int nsigs)
{
	struct dkimverify *v = dkim_get_user_context(dkim);
	dkim_alg_t alg;
	int i;

	if (v == NULL)
		return DKIM_CBSTAT_ERROR;
	for (i = 0; i < nsigs; i++) {
		if ((size_t)i >= v->ngood_slots) {
			dkim_sig_ignore(sigs[i]);
			continue;
		}
		if (dkim_sig_geterror(sigs[i]) != DKIM_SIGERROR_UNKNOWN)
			continue;
		if (dkim_sig_getsignalg(sigs[i], &alg) == DKIM_STAT_OK &&
		    alg == DKIM_SIGN_RSASHA1) {
			dkim_sig_ignore(sigs[i]);
			dkimverify_note_set(v, sigs[i], RESULT_PERMERROR,
			    "rsa-sha1 not accepted");
		}
	}
	return DKIM_CBSTAT_CONTINUE;
}

/* dkimverify_no_dns - libopendkim's own resolver: never used */
static int
dkimverify_no_dns(void *srv, int type, unsigned char *query, unsigned char *buf,
    size_t buflen, void **qh)
{
	(void)srv;
	(void)type;
	(void)query;
	(void)buf;
	(void)buflen;
	(void)qh;
	return DKIM_DNS_ERROR;
}

/* dkimverify_lib_new - set up the shared libopendkim handle */
int
dkimverify_lib_new(struct dkimverify_lib **lib_r, char **error_r)
{
	struct dkimverify_lib *l;
	unsigned int minbits = DKIMVERIFY_MIN_BITS;
	const char *what = NULL;

	*lib_r = NULL;
	if ((l = calloc(1, sizeof(*l))) == NULL) {
		what = "out of memory";
		goto fail;
	}
	dkimkeys_setup(); /* decoded RSA keys cached: milter/dkimkeys.c */
	if ((l->lib = dkim_init(NULL, NULL)) == NULL) {
		what = "dkim_init failed";
		goto fail;
	}
	if (!dkim_libfeature(l->lib, DKIM_FEATURE_SHA256) ||
	    !dkim_libfeature(l->lib, DKIM_FEATURE_ED25519)) {
		what = "libopendkim lacks sha256 or ed25519 support";
		goto fail;
	}
	if (dkim_options(l->lib, DKIM_OP_SETOPT, DKIM_OPTS_MINKEYBITS, &minbits,
		sizeof(minbits)) != DKIM_STAT_OK) {
		what = "cannot set the minimum key size";
		goto fail;
	}
	if (dkim_options(l->lib, DKIM_OP_SETOPT, DKIM_OPTS_SIGNHDRS,
		(void *)dkimverify_sign_hdrs,
		sizeof(char **)) != DKIM_STAT_OK ||
	    dkim_options(l->lib, DKIM_OP_SETOPT, DKIM_OPTS_OVERSIGNHDRS,
		(void *)dkimverify_oversign_hdrs,
		sizeof(char **)) != DKIM_STAT_OK) {
		what = "cannot set the signing header lists";
		goto fail;
	}
	if (dkim_set_key_lookup(l->lib, dkimverify_key_lookup) !=
		DKIM_STAT_OK ||
	    dkim_set_prescreen(l->lib, dkimverify_prescreen) != DKIM_STAT_OK) {
		what = "cannot set the callbacks";
		goto fail;
	}
	dkim_dns_set_query_start(l->lib, dkimverify_no_dns);
	*lib_r = l;
	return 0;
fail:
	if (error_r != NULL)
		*error_r = strdup(what != NULL ? what : "dkim: cannot start");
	dkimverify_lib_free(&l);
	return -1;
}

/* dkimverify_lib_free - close libopendkim */
void
dkimverify_lib_free(struct dkimverify_lib **lib)
{
	if (lib == NULL || *lib == NULL)
		return;
	if ((*lib)->lib != NULL)
		dkim_close((*lib)->lib);
	free(*lib);
	*lib = NULL;
}

/* dkimverify_lib_dkim - the DKIM_LIB inside */
struct dkim_lib *
dkimverify_lib_dkim(struct dkimverify_lib *lib)
{
	return lib != NULL ? lib->lib : NULL;
}

/* dkimverify_new - start verifying one message */
struct dkimverify *
dkimverify_new(struct dkimverify_lib *lib, struct dns_resolver *dns,
    const struct timespec *deadline, unsigned max_sigs, const char *id)
{
	struct dkimverify *v;
	DKIM_STAT st = DKIM_STAT_OK;

	if (lib == NULL || lib->lib == NULL)
		return NULL;
	if ((v = calloc(1, sizeof(*v))) == NULL)
		return NULL;
	v->lib = lib;
	v->dns = dns;
	v->deadline = deadline;
	if (max_sigs == 0)
		max_sigs = 1;
	if (max_sigs > DKIMVERIFY_MAX_SIGS)
		max_sigs = DKIMVERIFY_MAX_SIGS;
	v->max_sigs = max_sigs;
	text_printable(v->id, sizeof(v->id), id != NULL ? id : "-");
	if (v->id[0] == '\0')
		strcpy(v->id, "-");
	v->dkim =
	    dkim_verify(lib->lib, (const unsigned char *)v->id, NULL, &st);
	if (v->dkim == NULL ||
	    dkim_set_user_context(v->dkim, v) != DKIM_STAT_OK) {
		dkimverify_free(&v);
		return NULL;
	}
	return v;
}

/* dkimverify_set_leadspc - values keep their leading space */
void
dkimverify_set_leadspc(struct dkimverify *v, bool on)
{
	if (v != NULL)
		v->leadspc = on;
}

/* dkimverify_name_ok - is this an RFC 5322 2.2 field name? */
static bool
dkimverify_name_ok(const char *name, size_t len)
{
	size_t i;

	if (len == 0 || len > DKIMVERIFY_MAX_NAME)
		return false;
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)name[i];

		if (c < 33 || c > 126 || c == ':')
			return false;
	}
	return true;
}

/* dkimverify_tag - one tag's value from a DKIM-Signature field body */
int
dkimverify_tag(const char *value, const char *tag, char *buf, size_t size)
{
	const char *p = value, *name, *end;
	size_t nlen, tlen, o;

	if (value == NULL || tag == NULL || buf == NULL || size == 0)
		return 0;
	buf[0] = '\0';
	tlen = strlen(tag);
	for (;;) {
		while (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n')
			p++;
		if (*p == '\0')
			return 0;
		name = p;
		while (isalnum((unsigned char)*p) || *p == '_')
			p++;
		nlen = (size_t)(p - name);
		while (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n')
			p++;
		if ((end = strchr(p, ';')) == NULL)
			end = p + strlen(p);
		if (nlen == 0 || *p != '=') {
			/* RFC 6376 3.2: not a tag-spec; look past it. */
			if (*end == '\0')
				return 0;
			p = end + 1;
			continue;
		}
		p++;
		if (nlen == tlen && strncmp(name, tag, tlen) == 0) {
			for (o = 0; p < end; p++) {
				if (*p == ' ' || *p == '\t' || *p == '\r' ||
				    *p == '\n')
					continue;
				if (o + 1 >= size) {
					buf[0] = '\0';
					return -1;
				}
				buf[o++] = *p;
			}
			buf[o] = '\0';
			return 1;
		}
		if (*end == '\0')
			return 0;
		p = end + 1;
	}
}

/* dkimverify_slot_tags - note the tags of a DKIM-Signature field */
static void
dkimverify_slot_tags(struct dkimverify_slot *s, const char *value)
{
	char buf[256];

	if (dkimverify_tag(value, "d", buf, sizeof(buf)) == 1)
		text_printable(s->sig.domain, sizeof(s->sig.domain), buf);
	if (dkimverify_tag(value, "s", buf, sizeof(buf)) == 1)
		text_printable(s->sig.selector, sizeof(s->sig.selector), buf);
	if (dkimverify_tag(value, "a", buf, sizeof(buf)) == 1)
		text_printable(s->sig.algorithm, sizeof(s->sig.algorithm), buf);
	if (dkimverify_tag(value, "i", buf, sizeof(buf)) == 1)
		text_printable(s->sig.identity, sizeof(s->sig.identity), buf);
	/* b= can be long: only its start is wanted. */
	{
		char *b = malloc(DKIMVERIFY_MAX_SIGFIELD);

		if (b != NULL) {
			if (dkimverify_tag(
				value, "b", b, DKIMVERIFY_MAX_SIGFIELD) == 1)
				text_printable(s->sig.b, sizeof(s->sig.b), b);
			free(b);
		}
	}
}

/* dkimverify_field - "Name: value" with CRLF folding, for libopendkim */
int
dkimverify_field(const char *name, const char *value, bool leadspc, char **buf,
    size_t *bufsize, size_t *len_r)
{
	size_t nlen = strlen(name), vlen = strlen(value), need, o, i;

	if (!dkimverify_name_ok(name, nlen))
		return 1;
	need = nlen + 2 + vlen * 2 + 1;
	if (need > *bufsize) {
		char *b = realloc(*buf, need);

		if (b == NULL)
			return -1;
		*buf = b;
		*bufsize = need;
	}
	memcpy(*buf, name, nlen);
	o = nlen;
	(*buf)[o++] = ':';
	if (!leadspc)
		(*buf)[o++] = ' ';
	for (i = 0; i < vlen; i++) {
		/* libmilter may give "\n\t" folding: libopendkim wants CRLF. */
		if (value[i] == '\n' && (i == 0 || value[i - 1] != '\r'))
			(*buf)[o++] = '\r';
		(*buf)[o++] = value[i];
	}
	(*buf)[o] = '\0';
	*len_r = o;
	return 0;
}

/* dkimverify_header - feed one header field */
int
dkimverify_header(struct dkimverify *v, const char *name, const char *value)
{
	struct dkimverify_slot *s = NULL;
	size_t nlen, vlen, len;
	bool is_sig;
	DKIM_STAT st;

	if (v == NULL || v->failed)
		return -1;
	if (name == NULL || value == NULL || v->eoh_done)
		return 0;
	nlen = strlen(name);
	vlen = strlen(value);
	if (!dkimverify_name_ok(name, nlen))
		return 0; /* no signature can cover it: skip */
	is_sig = strcasecmp(name, "DKIM-Signature") == 0;
	if (is_sig) {
		v->fields++;
		if (v->nslots < v->max_sigs) {
			s = &v->slot[v->nslots++];
			dkimverify_slot_tags(s, value);
		}
	}
	if (v->overflow)
		return 0;
	if (++v->headers > DKIMVERIFY_MAX_HEADERS ||
	    (v->header_bytes += nlen + vlen + 4) >
		DKIMVERIFY_MAX_HEADER_BYTES) {
		v->overflow = true;
		return 0;
	}
	if (is_sig && vlen > DKIMVERIFY_MAX_SIGFIELD) {
		if (s != NULL) {
			s->bad = true;
			s->sig.result = RESULT_PERMERROR;
			strcpy(s->sig.reason, "signature field too long");
		}
		return 0;
	}
	if (dkimverify_field(
		name, value, v->leadspc, &v->buf, &v->bufsize, &len) != 0)
		goto fail;
	st = dkim_header(v->dkim, (u_char *)v->buf, len);
	if (is_sig && st == DKIM_STAT_OK) {
		if (s != NULL)
			v->good_slot[v->ngood_slots++] = (size_t)(s - v->slot);
		v->good++;
	} else if (is_sig && st == DKIM_STAT_SYNTAX) {
		/* Kept for canonicalization, left out of the list. */
		if (s != NULL) {
			const char *e = dkim_geterror(v->dkim);

			s->bad = true;
			s->sig.result = RESULT_PERMERROR;
			snprintf(s->sig.reason, sizeof(s->sig.reason),
			    "malformed signature: %.90s",
			    e != NULL && *e != '\0' ? e : "bad tag list");
			text_printable(s->sig.reason, sizeof(s->sig.reason),
			    s->sig.reason);
		}
	} else if (st == DKIM_STAT_SYNTAX || st == DKIM_STAT_INVALID) {
		/* Not a header libopendkim accepts: it is skipped. */
	} else if (st != DKIM_STAT_OK) {
		goto fail;
	}
	return 0;
fail:
	v->failed = true;
	log_msg(LOG_WARNING, "%s: dkim: header: %s", v->id,
	    v->dkim != NULL && dkim_geterror(v->dkim) != NULL
		? dkim_geterror(v->dkim)
		: "out of memory");
	return -1;
}

/*
 * dkimverify_body_plan - hash the body here, once per canonicalization
 * libopendkim canonicalizes the body byte by byte, a function call per
 * byte; dkimbody.c does the same work in a tight loop. The library then
 * sees an empty body, and dkimverify_judge() compares bh= with the hash
 * made here instead of trusting its body-hash verdict. A signature with
 * l= (or one whose canonicalization or hash is unknown here) keeps the
 * library's own body hashing for the whole message.
 */
static void
dkimverify_body_plan(struct dkimverify *v)
{
	DKIM_SIGINFO **sigs = NULL;
	dkim_canon_t hc, bc;
	dkim_alg_t alg;
	bool want[2] = { false, false };
	int nsigs = 0, i, k;

	if (dkim_getsiglist(v->dkim, &sigs, &nsigs) != DKIM_STAT_OK)
		return;
	for (i = 0; i < nsigs; i++) {
		if ((dkim_sig_getflags(sigs[i]) & DKIM_SIGFLAG_IGNORE) != 0 ||
		    dkim_sig_geterror(sigs[i]) != DKIM_SIGERROR_UNKNOWN)
			continue; /* never verified: its body hash is moot */
		if (dkim_sig_gettagvalue(sigs[i], false, (u_char *)"l") !=
			NULL ||
		    dkim_sig_getcanons(sigs[i], &hc, &bc) != DKIM_STAT_OK ||
		    (bc != DKIM_CANON_SIMPLE && bc != DKIM_CANON_RELAXED) ||
		    dkim_sig_getsignalg(sigs[i], &alg) != DKIM_STAT_OK ||
		    (alg != DKIM_SIGN_RSASHA256 &&
			alg != DKIM_SIGN_ED25519SHA256))
			return;
		want[bc == DKIM_CANON_RELAXED] = true;
	}
	for (k = 0; k < 2; k++) {
		if (!want[k])
			continue;
		if (dkimbody_init(&v->body[k], k == 1) != 0) {
			for (k--; k >= 0; k--)
				if (v->body_on[k])
					dkimbody_cleanup(&v->body[k]);
			v->body_on[0] = v->body_on[1] = false;
			return; /* the library hashes, as before */
		}
		v->body_on[k] = true;
	}
	v->own_body = true;
}

/* dkimverify_eoh - end of the header: key lookups happen here */
int
dkimverify_eoh(struct dkimverify *v)
{
	const char *e;

	if (v == NULL || v->failed)
		return -1;
	if (v->eoh_done)
		return 0;
	v->eoh_done = true;
	if (v->overflow || v->good == 0 || v->ngood_slots == 0) {
		v->skip = true;
		return 0;
	}
	v->eoh_stat = dkim_eoh(v->dkim);
	switch (v->eoh_stat) {
	case DKIM_STAT_OK:
		dkimverify_body_plan(v);
		return 0;
	case DKIM_STAT_NORESOURCE:
	case DKIM_STAT_INTERNAL:
		v->failed = true;
		log_msg(LOG_WARNING, "%s: dkim: end of header: %s", v->id,
		    dkim_getresultstr(v->eoh_stat));
		return -1;
	default:
		/* No usable signature, or the message itself is bad. */
		v->skip = true;
		e = dkim_geterror(v->dkim);
		text_printable(v->eoh_error, sizeof(v->eoh_error),
		    e != NULL && *e != '\0' ? e
					    : dkim_getresultstr(v->eoh_stat));
		return 0;
	}
}

/* dkimverify_body - feed a body chunk */
int
dkimverify_body(struct dkimverify *v, const unsigned char *data, size_t len)
{
	DKIM_STAT st;

	if (v == NULL || v->failed)
		return -1;
	if (!v->eoh_done && dkimverify_eoh(v) != 0)
		return -1;
	if (v->skip || data == NULL || len == 0)
		return 0;
	if (v->own_body) {
		if ((v->body_on[0] && dkimbody_chunk(&v->body[0], data, len)) ||
		    (v->body_on[1] && dkimbody_chunk(&v->body[1], data, len))) {
			v->failed = true;
			log_msg(
			    LOG_WARNING, "%s: dkim: body hash failed", v->id);
			return -1;
		}
		return 0;
	}
	st = dkim_body(v->dkim, (u_char *)data, len);
	if (st != DKIM_STAT_OK) {
		v->failed = true;
		log_msg(LOG_WARNING, "%s: dkim: body: %s", v->id,
		    dkim_getresultstr(st));
		return -1;
	}
	return 0;
}

/*
 * dkimverify_own_bh - the body hash verdict when the body was hashed here
 * libopendkim compared bh= with the hash of the empty body it saw; with
 * the header signature good (DKIM_SIGFLAG_PASSED) its only BADSIG can
 * come from that comparison, so both are replaced.
 */
static void
dkimverify_own_bh(struct dkimverify *v, DKIM_SIGINFO *sig, int *err, int *bh)
{
	dkim_canon_t hc, bc;
	dkim_alg_t alg;
	unsigned int bits = 0;
	const char *tag;
	bool match = false;
	int k;

	tag = (const char *)dkim_sig_gettagvalue(sig, false, (u_char *)"bh");
	if (dkim_sig_getcanons(sig, &hc, &bc) == DKIM_STAT_OK &&
	    (bc == DKIM_CANON_SIMPLE || bc == DKIM_CANON_RELAXED)) {
		k = bc == DKIM_CANON_RELAXED;
		match = v->body_on[k] && v->bh_ok[k] && tag != NULL &&
		    strcmp(tag, v->bh[k]) == 0;
	}
	*bh = match ? DKIM_SIGBH_MATCH : DKIM_SIGBH_MISMATCH;
	if (*err != DKIM_SIGERROR_BADSIG && *err != DKIM_SIGERROR_OK &&
	    *err != DKIM_SIGERROR_UNKNOWN)
		return; /* a finding made after the body hash stands */
	*err = match ? DKIM_SIGERROR_OK : DKIM_SIGERROR_BADSIG;
	/*
	 * The library skips its key size check (RFC 8301 3.2) for a
	 * signature already in error, as the empty-body one was: made here.
	 */
	if (match && dkim_sig_getsignalg(sig, &alg) == DKIM_STAT_OK &&
	    alg != DKIM_SIGN_ED25519SHA256 &&
	    dkim_sig_getkeysize(sig, &bits) == DKIM_STAT_OK &&
	    bits < DKIMVERIFY_MIN_BITS)
		*err = DKIM_SIGERROR_KEYTOOSMALL;
}

/* dkimverify_judge - the result of one signature libopendkim handled */
static void
dkimverify_judge(
    struct dkimverify *v, DKIM_SIGINFO *sig, struct dkimverify_sig *out)
{
	struct dkimverify_note *n = dkimverify_note_find(v, sig);
	unsigned flags = dkim_sig_getflags(sig);
	int err = dkim_sig_geterror(sig), bh = dkim_sig_getbh(sig);
	unsigned int bits = 0;
	ssize_t msglen = -1, signlen = -1;
	dkim_alg_t alg = DKIM_SIGN_UNKNOWN;
	const char *es;

	if (dkim_sig_getkeysize(sig, &bits) == DKIM_STAT_OK)
		out->key_bits = bits;
	/* libopendkim 2.11 beta leaves ed25519 key sizes at 0 (or 512). */
	if (dkim_sig_getsignalg(sig, &alg) != DKIM_STAT_OK)
		alg = DKIM_SIGN_UNKNOWN;
	if (alg == DKIM_SIGN_ED25519SHA256)
		out->key_bits = (flags & DKIM_SIGFLAG_PASSED) != 0 ? 256 : 0;
	out->reason[0] = '\0';
	if (v->own_body && (flags & DKIM_SIGFLAG_PASSED) != 0)
		dkimverify_own_bh(v, sig, &err, &bh);
	if (n != NULL &&
	    (n->result != RESULT_PERMERROR || err == DKIM_SIGERROR_NOKEY ||
		(flags & DKIM_SIGFLAG_IGNORE) != 0)) {
		/* Our own finding: DNS failure, rsa-sha1, bad name, ... */
		out->result = n->result;
		text_printable(out->reason, sizeof(out->reason), n->reason);
		return;
	}
	if ((flags & DKIM_SIGFLAG_PASSED) != 0 && bh == DKIM_SIGBH_MATCH &&
	    (err == DKIM_SIGERROR_OK || err == DKIM_SIGERROR_UNKNOWN)) {
		out->result = RESULT_PASS;
		if (dkim_sig_getcanonlen(v->dkim, sig, &msglen, NULL,
			&signlen) == DKIM_STAT_OK &&
		    signlen >= 0)
			snprintf(out->reason, sizeof(out->reason),
			    "l=%zd: body partly signed (%zd bytes)", signlen,
			    msglen);
		return;
	}
	out->result = RESULT_PERMERROR;
	/* RFC 8301 3.2: whatever else went wrong, the key is refused. */
	if (alg != DKIM_SIGN_ED25519SHA256 && out->key_bits > 0 &&
	    out->key_bits < DKIMVERIFY_MIN_BITS)
		err = DKIM_SIGERROR_KEYTOOSMALL;
	switch (err) {
	case DKIM_SIGERROR_BADSIG:
		out->result = RESULT_FAIL;
		strcpy(out->reason,
		    bh == DKIM_SIGBH_MISMATCH ? "body hash mismatch"
					      : "bad signature");
		return;
	case DKIM_SIGERROR_KEYTOOSMALL:
		snprintf(out->reason, sizeof(out->reason),
		    "key too short (%u bits)", out->key_bits);
		return;
	case DKIM_SIGERROR_NOKEY:
		strcpy(out->reason, "no key");
		return;
	case DKIM_SIGERROR_KEYREVOKED:
		strcpy(out->reason, "key revoked");
		return;
	case DKIM_SIGERROR_EXPIRED:
		strcpy(out->reason, "signature expired");
		return;
	case DKIM_SIGERROR_FUTURE:
		strcpy(out->reason, "signature in the future");
		return;
	case DKIM_SIGERROR_TOOLARGE_L:
		strcpy(out->reason, "l= beyond the body");
		return;
	case DKIM_SIGERROR_KEYFAIL:
	case DKIM_SIGERROR_MULTIREPLY:
		out->result = RESULT_TEMPERROR;
		strcpy(out->reason, "DNS error");
		return;
	case DKIM_SIGERROR_DNSSYNTAX:
	case DKIM_SIGERROR_KEYDECODE:
		strcpy(out->reason, "key record is not a usable key");
		return;
	case DKIM_SIGERROR_OK:
	case DKIM_SIGERROR_UNKNOWN:
		if ((flags & DKIM_SIGFLAG_PROCESSED) != 0) {
			out->result = RESULT_FAIL;
			strcpy(out->reason, "bad signature");
		} else {
			out->result = RESULT_NEUTRAL;
			strcpy(out->reason, "not evaluated");
		}
		return;
	default:
		es = dkim_sig_geterrorstr(err);
		text_printable(out->reason, sizeof(out->reason),
		    es != NULL ? es : "invalid signature");
		return;
	}
}

/* dkimverify_all - set every reported signature not yet judged */
static void
dkimverify_all(
    struct dkimverify *v, enum result_code result, const char *reason)
{
	size_t i;

	for (i = 0; i < v->nslots; i++) {
		if (v->slot[i].bad)
			continue;
		v->slot[i].sig.result = result;
		text_printable(v->slot[i].sig.reason,
		    sizeof(v->slot[i].sig.reason), reason);
	}
}

/* dkimverify_eom - finish; one result per reported signature */
int
dkimverify_eom(struct dkimverify *v, struct dkimverify_outcome *out)
{
	DKIM_SIGINFO **sigs = NULL;
	int nsigs = 0, i, rc = 0;
	char why[160];
	DKIM_STAT st;

	memset(out, 0, sizeof(*out));
	if (v == NULL)
		return -1;
	if (!v->failed && !v->eoh_done)
		(void)dkimverify_eoh(v);
	if (v->failed) {
		size_t k;

		for (k = 0; k < v->nslots; k++) {
			v->slot[k].sig.result = RESULT_TEMPERROR;
			strcpy(v->slot[k].sig.reason, "internal error");
		}
		rc = -1;
	} else if (v->overflow) {
		size_t k;

		for (k = 0; k < v->nslots; k++) {
			v->slot[k].sig.result = RESULT_PERMERROR;
			snprintf(v->slot[k].sig.reason,
			    sizeof(v->slot[k].sig.reason),
			    "too many headers (limits %u fields, %u bytes)",
			    DKIMVERIFY_MAX_HEADERS,
			    DKIMVERIFY_MAX_HEADER_BYTES);
		}
	} else if (v->skip) {
		if (v->eoh_stat != DKIM_STAT_OK &&
		    v->eoh_stat != DKIM_STAT_NOSIG) {
			snprintf(why, sizeof(why), "message refused: %s",
			    v->eoh_error);
			dkimverify_all(v, RESULT_PERMERROR, why);
		} else if (v->ngood_slots > 0 &&
		    dkim_getsiglist(v->dkim, &sigs, &nsigs) == DKIM_STAT_OK) {
			/* Every signature was ignored (rsa-sha1). */
			dkimverify_all(v, RESULT_NEUTRAL, "not evaluated");
			for (i = 0; i < nsigs && (size_t)i < v->ngood_slots;
			     i++)
				dkimverify_judge(
				    v, sigs[i], &v->slot[v->good_slot[i]].sig);
		}
	} else {
		for (i = 0; i < 2; i++)
			v->bh_ok[i] = v->body_on[i] &&
			    dkimbody_final(&v->body[i], v->bh[i]) == 0;
		st = dkim_eom(v->dkim, NULL);
		if (st == DKIM_STAT_NORESOURCE || st == DKIM_STAT_INTERNAL ||
		    st == DKIM_STAT_INVALID ||
		    dkim_getsiglist(v->dkim, &sigs, &nsigs) != DKIM_STAT_OK) {
			log_msg(LOG_WARNING, "%s: dkim: end of message: %s",
			    v->id, dkim_getresultstr(st));
			dkimverify_all(v, RESULT_TEMPERROR, "internal error");
			rc = -1;
		} else {
			if ((size_t)nsigs != v->good)
				log_msg(LOG_WARNING,
				    "%s: dkim: %d signatures listed, %zu "
				    "expected",
				    v->id, nsigs, v->good);
			dkimverify_all(v, RESULT_NEUTRAL, "not evaluated");
			for (i = 0; i < nsigs && (size_t)i < v->ngood_slots;
			     i++)
				dkimverify_judge(
				    v, sigs[i], &v->slot[v->good_slot[i]].sig);
		}
	}
	out->count = v->nslots;
	for (i = 0; (size_t)i < v->nslots; i++)
		out->sig[i] = v->slot[i].sig;
	out->ignored = v->fields - v->nslots;
	return rc;
}

/* dkimverify_free - free a verifier */
void
dkimverify_free(struct dkimverify **v)
{
	if (v == NULL || *v == NULL)
		return;
	if ((*v)->dkim != NULL)
		dkim_free((*v)->dkim);
	dkimbody_cleanup(&(*v)->body[0]);
	dkimbody_cleanup(&(*v)->body[1]);
	free((*v)->buf);
	free(*v);
	*v = NULL;
}
