/*
 * NAME
 *	content - the checks that read the message: DKIM, DMARC, signing
 * SUMMARY
 *	Fed the header fields and body chunks as libmilter delivers them;
 *	at end of message gives the DKIM results, the DMARC result, and
 *	for outbound mail a DKIM-Signature to insert.
 * DESCRIPTION
 *	Inbound: every DKIM-Signature is verified (milter/dkimverify.h,
 *	keys through our DNS layer), the From field is parsed
 *	(lists/address.h) and DMARC evaluated (milter/dmarc.h) from the
 *	SPF result the envelope stage found and the DKIM results.
 *	RFC 7489 6.6.1: a message without exactly one From field, or
 *	whose From holds no usable domain, is outside DMARC: permerror,
 *	so the postmaster's dmarc_permerror rule decides. Several
 *	mailboxes in distinct domains are each evaluated and the most
 *	severe outcome is kept.
 *	Outbound: the header is kept (bounded) until the From domain is
 *	known; then, if the key table has a key for it and no
 *	DKIM-Signature of that domain is present already (never sign
 *	twice), a signer is fed the kept header and the body.
 * THREADS
 *	One content object belongs to one session's message.
 * OWNERSHIP
 *	content_new's result is freed with content_free. Borrowed inputs
 *	(lib, dns, deadline, keytable, sign_headers) must outlive it.
 */
#ifndef SAKIMORI_MILTER_CONTENT_H
#define SAKIMORI_MILTER_CONTENT_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "milter/dkimverify.h"
#include "milter/dmarc.h"
#include "milter/dns.h"
#include "policy/keytable.h"
#include "policy/result.h"
#include "policy/verdict.h"

struct content;

struct content_params {
	struct dkimverify_lib *lib;	  /* shared libopendkim handle */
	struct dns_resolver *dns;	  /* resolver */
	const struct timespec *deadline;  /* message DNS budget */
	const char *id;			  /* queue or session id for logs */
	bool verify;			  /* verify DKIM (inbound) */
	unsigned max_sigs;		  /* signatures verified at most */
	bool dmarc;			  /* evaluate DMARC (inbound) */
	const struct keytable *sign_keys; /* sign with these (outbound) */
	char *const *sign_headers;	  /* header names to sign, or NULL */
	size_t sign_header_count;	  /* entries in sign_headers */
};

/* What the envelope stage found, for DMARC. */
struct content_envelope {
	const char *spf_domain;	     /* MAIL FROM domain, or HELO for <> */
	enum result_code spf_result; /* its SPF result */
	bool spf_done;		     /* SPF ran */
};

struct content_result {
	bool dkim_done;			/* DKIM verification ran */
	struct dkimverify_outcome dkim; /* per signature */
	enum result_code dkim_result;	/* for the policy: see content.c */
	bool dmarc_done;		/* DMARC ran */
	struct dmarc_outcome dmarc;	/* its outcome */
	enum verdict_disposition disposition; /* DMARC fail: the ask */
	char *signature;		      /* DKIM-Signature value to insert,
					    or NULL (caller frees) */
	char sign_domain[256];		      /* its d=, or "" */
	char sign_note[320];		      /* why not signed, for the log */
	char from_domain[256];		      /* the first From domain, or "" */
};

/*
 * content_new - start reading one message
 *	p: what to do (copied; pointers inside are borrowed)
 * Returns the object, or NULL out of memory.
 */
struct content *content_new(const struct content_params *p);

/*
 * content_header - one header field, as libmilter gives it
 * Returns 0, or -1 internal error (tempfail the message).
 */
int content_header(struct content *c, const char *name, const char *value);

/*
 * content_body - one body chunk
 * Returns 0, or -1 internal error.
 */
int content_body(struct content *c, const unsigned char *data, size_t len);

/*
 * content_eom - finish: DKIM results, DMARC, signature
 *	env: the envelope results
 *	out: filled in (out->signature then belongs to the caller)
 * Returns 0, or -1 internal error (out still holds what was found).
 */
int content_eom(struct content *c, const struct content_envelope *env,
    struct content_result *out);

/* content_free - free (NULL is fine) and set *c to NULL */
void content_free(struct content **c);

/*
 * content_dkim_summary - one result for the policy from all signatures:
 * pass if any passes; else temperror, fail, permerror, policy, neutral,
 * in that order; none without signatures
 */
enum result_code content_dkim_summary(const struct dkimverify_outcome *o);

#endif
