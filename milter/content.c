/*
 * NAME
 *	content - DKIM verification and signing, From parsing, DMARC
 * SUMMARY
 *	See content.h.
 * DESCRIPTION
 *	The end of the header is noticed at the first body chunk or at end
 *	of message (we do not ask the MTA for EOH: one round trip less).
 *	The kept header for signing is bounded (CONTENT_MAX_KEPT bytes):
 *	a larger header is not signed, and the log says why.
 * THREADS
 *	Single session; arc4random() for the DMARC pct= sample is
 *	thread-safe.
 * ERRORS
 *	A failing library call marks the object failed: content_eom then
 *	returns -1 and the caller tempfails the message. Bad input (a From
 *	that does not parse, a broken signature) is a result, not an error.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "lists/address.h"
#include "milter/content.h"
#include "milter/dkimsign.h"
#include "milter/log.h"

#define CONTENT_MAX_FROM_DOMAINS 8    /* distinct From domains evaluated */
#define CONTENT_MAX_KEPT (256 * 1024) /* header bytes kept for signing */
#define CONTENT_MAX_SIG_DOMAINS 16    /* d= of DKIM-Signatures noted */

struct content_field {
	char *name;  /* field name */
	char *value; /* field body */
};

struct content {
	struct content_params p; /* what to do */
	char id[32];		 /* for logs */
	struct dkimverify *dkv;	 /* verifier, or NULL */
	bool eoh_done;		 /* end of header seen */
	bool failed;		 /* a library call failed */
	unsigned from_fields;	 /* From fields seen */
	char from_domains[CONTENT_MAX_FROM_DOMAINS][ADDRESS_DOMAIN_SIZE];
	size_t from_count;	    /* entries in from_domains */
	char from_why[160];	    /* why the From field is unusable */
	bool sign;		    /* signing candidate */
	struct content_field *kept; /* header kept for the signer */
	size_t kept_count;	    /* entries in kept */
	size_t kept_cap;	    /* slots in kept */
	size_t kept_bytes;	    /* bytes in kept */
	bool kept_overflow;	    /* header too large to keep */
	char sig_domains[CONTENT_MAX_SIG_DOMAINS][ADDRESS_DOMAIN_SIZE];
	size_t sig_domain_count; /* d= of DKIM-Signatures present */
	struct dkimsign *dks;	 /* signer, or NULL */
	char sign_domain[ADDRESS_DOMAIN_SIZE]; /* its domain */
	char sign_note[320];		       /* why not signed */
};

/* content_new - start reading one message */
struct content *
content_new(const struct content_params *p)
{
	struct content *c;

	if ((c = calloc(1, sizeof(*c))) == NULL)
		return NULL;
	c->p = *p;
	snprintf(c->id, sizeof(c->id), "%s", p->id != NULL ? p->id : "-");
	c->p.id = c->id;
	if (p->verify) {
		c->dkv = dkimverify_new(
		    p->lib, p->dns, p->deadline, p->max_sigs, c->id);
		if (c->dkv == NULL) {
			free(c);
			return NULL;
		}
	}
	c->sign = p->sign_keys != NULL;
	return c;
}

/* keep_field - keep a header field for the signer */
static int
keep_field(struct content *c, const char *name, const char *value)
{
	size_t need = strlen(name) + strlen(value) + 2;
	struct content_field *f;

	if (c->kept_overflow)
		return 0;
	if (c->kept_bytes + need > CONTENT_MAX_KEPT) {
		c->kept_overflow = true;
		return 0;
	}
	if (c->kept_count == c->kept_cap) {
		size_t cap = c->kept_cap == 0 ? 32 : c->kept_cap * 2;

		if ((f = realloc(c->kept, cap * sizeof(*f))) == NULL)
			return -1;
		c->kept = f;
		c->kept_cap = cap;
	}
	f = &c->kept[c->kept_count];
	if ((f->name = strdup(name)) == NULL)
		return -1;
	if ((f->value = strdup(value)) == NULL) {
		free(f->name);
		return -1;
	}
	c->kept_count++;
	c->kept_bytes += need;
	return 0;
}

/* drop_kept - free the kept header */
static void
drop_kept(struct content *c)
{
	size_t i;

	for (i = 0; i < c->kept_count; i++) {
		free(c->kept[i].name);
		free(c->kept[i].value);
	}
	free(c->kept);
	c->kept = NULL;
	c->kept_count = c->kept_cap = c->kept_bytes = 0;
}

/* note_from - parse the first From field; count the others */
static void
note_from(struct content *c, const char *value)
{
	char why[128] = "";

	if (++c->from_fields != 1)
		return;
	if (address_from_domains(value, c->from_domains,
		CONTENT_MAX_FROM_DOMAINS, &c->from_count, why,
		sizeof(why)) != 0) {
		c->from_count = 0;
		snprintf(c->from_why, sizeof(c->from_why), "From: %s", why);
	} else if (c->from_count == 0) {
		snprintf(c->from_why, sizeof(c->from_why), "no From address");
	}
}

/* note_signature - remember the d= of a DKIM-Signature present */
static void
note_signature(struct content *c, const char *value)
{
	char d[ADDRESS_DOMAIN_SIZE];

	if (c->sig_domain_count == CONTENT_MAX_SIG_DOMAINS ||
	    dkimverify_tag(value, "d", d, sizeof(d)) != 1)
		return;
	snprintf(c->sig_domains[c->sig_domain_count++], ADDRESS_DOMAIN_SIZE,
	    "%s", d);
}

/* content_header - one header field */
int
content_header(struct content *c, const char *name, const char *value)
{
	if (c->failed || c->eoh_done)
		return c->failed ? -1 : 0;
	if (c->dkv != NULL && dkimverify_header(c->dkv, name, value) != 0) {
		c->failed = true;
		return -1;
	}
	if (strcasecmp(name, "From") == 0)
		note_from(c, value);
	if (c->sign) {
		if (strcasecmp(name, DKIMSIGN_HEADER) == 0)
			note_signature(c, value);
		if (keep_field(c, name, value) != 0) {
			c->failed = true;
			return -1;
		}
	}
	return 0;
}

/* already_signed - a DKIM-Signature of this domain is there */
static bool
already_signed(const struct content *c, const char *domain)
{
	size_t i;

	for (i = 0; i < c->sig_domain_count; i++) {
		if (strcasecmp(c->sig_domains[i], domain) == 0)
			return true;
	}
	return false;
}

/* start_signer - pick the key by From domain, feed the kept header */
static int
start_signer(struct content *c)
{
	const struct keytable_key *key;
	const char *names[DKIMSIGN_MAX_SIGN_HEADERS + 1];
	const char *domain;
	char *error = NULL;
	size_t i, n;

	if (c->from_fields != 1 || c->from_count == 0) {
		snprintf(c->sign_note, sizeof(c->sign_note), "not signed: %s",
		    c->from_fields == 0	     ? "no From field"
			: c->from_fields > 1 ? "several From fields"
					     : c->from_why);
		return 0;
	}
	domain = c->from_domains[0];
	if ((key = keytable_find(c->p.sign_keys, domain)) == NULL) {
		snprintf(c->sign_note, sizeof(c->sign_note),
		    "not signed: no key for %s", domain);
		return 0;
	}
	if (already_signed(c, domain)) {
		snprintf(c->sign_note, sizeof(c->sign_note),
		    "not signed: already signed by %s", domain);
		return 0;
	}
	if (c->kept_overflow) {
		snprintf(c->sign_note, sizeof(c->sign_note),
		    "not signed: header over %d bytes", CONTENT_MAX_KEPT);
		return 0;
	}
	n = c->p.sign_header_count;
	if (n > DKIMSIGN_MAX_SIGN_HEADERS)
		n = DKIMSIGN_MAX_SIGN_HEADERS;
	for (i = 0; i < n; i++)
		names[i] = c->p.sign_headers[i];
	names[n] = NULL;
	c->dks =
	    dkimsign_new(c->p.lib, key, c->id, n > 0 ? names : NULL, &error);
	if (c->dks == NULL) {
		log_msg(LOG_WARNING, "%s: dkim sign: %s", c->id,
		    error != NULL ? error : "out of memory");
		free(error);
		return -1;
	}
	for (i = 0; i < c->kept_count; i++) {
		if (dkimsign_header(
			c->dks, c->kept[i].name, c->kept[i].value) != 0)
			return -1;
	}
	if (dkimsign_eoh(c->dks) != 0)
		return -1;
	snprintf(c->sign_domain, sizeof(c->sign_domain), "%s", domain);
	return 0;
}

/* content_eoh - the header is complete */
static int
content_eoh(struct content *c)
{
	if (c->eoh_done)
		return 0;
	c->eoh_done = true;
	if (c->dkv != NULL && dkimverify_eoh(c->dkv) != 0)
		return -1;
	if (c->sign) {
		int r = start_signer(c);

		drop_kept(c);
		if (r != 0)
			return -1;
	}
	return 0;
}

/* content_body - one body chunk */
int
content_body(struct content *c, const unsigned char *data, size_t len)
{
	if (c->failed)
		return -1;
	if (content_eoh(c) != 0 ||
	    (c->dkv != NULL && dkimverify_body(c->dkv, data, len) != 0) ||
	    (c->dks != NULL && dkimsign_body(c->dks, data, len) != 0)) {
		c->failed = true;
		return -1;
	}
	return 0;
}

/* content_dkim_summary - one DKIM result for the policy */
enum result_code
content_dkim_summary(const struct dkimverify_outcome *o)
{
	static const enum result_code order[] = { RESULT_PASS, RESULT_TEMPERROR,
		RESULT_FAIL, RESULT_PERMERROR, RESULT_POLICY, RESULT_NEUTRAL };
	size_t i, j;

	for (i = 0; i < sizeof(order) / sizeof(order[0]); i++) {
		for (j = 0; j < o->count; j++) {
			if (o->sig[j].result == order[i])
				return order[i];
		}
	}
	return RESULT_NONE;
}

/* severity - how strongly a DMARC outcome asks to act */
static int
severity(const struct dmarc_outcome *o)
{
	switch (o->result) {
	case RESULT_FAIL:
		if (strcmp(o->disposition, "reject") == 0)
			return 6;
		if (strcmp(o->disposition, "quarantine") == 0)
			return 5;
		return 4;
	case RESULT_TEMPERROR:
		return 3;
	case RESULT_PERMERROR:
		return 2;
	case RESULT_NONE:
		return 1;
	default:
		return 0;
	}
}

/* run_dmarc - evaluate each distinct From domain, keep the most severe */
static int
run_dmarc(struct content *c, const struct content_envelope *env,
    struct content_result *out)
{
	const char *dkim_domains[DKIMVERIFY_MAX_SIGS];
	enum result_code dkim_results[DKIMVERIFY_MAX_SIGS];
	struct dmarc_input in;
	struct dmarc_outcome one;
	size_t i;
	int ret = 0;

	out->dmarc_done = true;
	memset(&out->dmarc, 0, sizeof(out->dmarc));
	if (c->from_fields != 1 || c->from_count == 0) {
		/* RFC 7489 6.6.1: outside DMARC; a local decision. */
		out->dmarc.result = RESULT_PERMERROR;
		snprintf(out->dmarc.reason, sizeof(out->dmarc.reason), "%s",
		    c->from_fields == 0	     ? "no From field"
			: c->from_fields > 1 ? "several From fields"
					     : c->from_why);
		return 0;
	}
	memset(&in, 0, sizeof(in));
	for (i = 0; i < out->dkim.count && i < DKIMVERIFY_MAX_SIGS; i++) {
		dkim_domains[i] = out->dkim.sig[i].domain;
		dkim_results[i] = out->dkim.sig[i].result;
	}
	in.dkim_domains = dkim_domains;
	in.dkim_results = dkim_results;
	in.dkim_count = i;
	in.spf_domain = env->spf_done ? env->spf_domain : NULL;
	in.spf_result = env->spf_result;
	/* RFC 7489 6.6.4: pct= samples messages at random. */
	in.sample = arc4random_uniform(100);
	for (i = 0; i < c->from_count; i++) {
		in.from_domain = c->from_domains[i];
		if (dmarc_check(c->p.dns, c->p.deadline, &in, &one) != 0)
			ret = -1;
		if (i == 0 || severity(&one) > severity(&out->dmarc))
			out->dmarc = one;
	}
	return ret;
}

/* content_eom - finish: DKIM results, DMARC, signature */
int
content_eom(struct content *c, const struct content_envelope *env,
    struct content_result *out)
{
	char *error = NULL;
	const char *name;
	int ret = 0;

	memset(out, 0, sizeof(*out));
	if (c->failed || content_eoh(c) != 0)
		ret = -1;
	if (c->dkv != NULL) {
		if (dkimverify_eom(c->dkv, &out->dkim) != 0)
			ret = -1;
		out->dkim_done = true;
		out->dkim_result = content_dkim_summary(&out->dkim);
	}
	if (c->p.dmarc && run_dmarc(c, env, out) != 0)
		ret = -1;
	if (out->dmarc_done && out->dmarc.result == RESULT_FAIL) {
		if (strcmp(out->dmarc.disposition, "reject") == 0)
			out->disposition = VERDICT_DISPOSITION_REJECT;
		else if (strcmp(out->dmarc.disposition, "quarantine") == 0)
			out->disposition = VERDICT_DISPOSITION_QUARANTINE;
	}
	if (c->dks != NULL && ret == 0) {
		if (dkimsign_eom(c->dks, &name, &out->signature, &error) != 0) {
			log_msg(LOG_WARNING, "%s: dkim sign: %s", c->id,
			    error != NULL ? error : "failed");
			free(error);
			ret = -1;
		} else {
			snprintf(out->sign_domain, sizeof(out->sign_domain),
			    "%s", c->sign_domain);
		}
	}
	snprintf(out->sign_note, sizeof(out->sign_note), "%s", c->sign_note);
	if (c->from_fields == 1 && c->from_count > 0)
		snprintf(out->from_domain, sizeof(out->from_domain), "%s",
		    c->from_domains[0]);
	return ret;
}

/* content_free - free (NULL is fine) and set *c to NULL */
void
content_free(struct content **cp)
{
	struct content *c = *cp;

	if (c == NULL)
		return;
	dkimverify_free(&c->dkv);
	dkimsign_free(&c->dks);
	drop_kept(c);
	free(c);
	*cp = NULL;
}
