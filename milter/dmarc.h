/*
 * NAME
 *	dmarc - RFC 7489 DMARC evaluation over sakimori's DNS layer
 * SUMMARY
 *	Find the DMARC record of the RFC5322.From domain (or of its
 *	organizational domain), check SPF and DKIM identifier alignment,
 *	and say what the domain owner's policy asks for.
 * DESCRIPTION
 *	Policy discovery (RFC 7489 6.6.3): TXT at _dmarc.<From domain>;
 *	records not starting with "v=DMARC1" are discarded; if none is
 *	left, TXT at _dmarc.<organizational domain> (when different). Both
 *	questions are asked at once, the second answer being used only if
 *	needed. Several records: no policy (result none). NXDOMAIN and
 *	NODATA are "no record"; a DNS TEMPFAIL is temperror.
 *	The organizational domain (RFC 7489 3.2) comes from the Public
 *	Suffix List through libpsl: the newest of the packaged list
 *	(/usr/share/publicsuffix) and libpsl's built-in copy, loaded once
 *	by dmarc_global_init().
 *	Alignment (RFC 7489 3.1): strict is equality, relaxed is equality
 *	of organizational domains. The SPF identity is the MAIL FROM domain,
 *	or the HELO domain for the null sender (RFC 7489 3.1.2, RFC 7208
 *	2.4); the caller passes whichever it checked.
 *	Results are the RFC 8601 / RFC 7489 11.2 words: pass, fail, none,
 *	temperror, permerror.
 *	Debug lines go to the "spf" subsystem (XXX: until log.h has a
 *	DMARC subsystem).
 * THREADS
 *	dmarc_global_init() runs once before threads start. The loaded PSL
 *	is then only read (libpsl is thread-safe for lookups on a loaded
 *	context); any number of dmarc_check() calls may run at once.
 * OWNERSHIP
 *	Outcomes are filled into caller storage; nothing is kept.
 * ERRORS
 *	dmarc_global_init: text in error_r (caller frees).
 */
#ifndef SAKIMORI_MILTER_DMARC_H
#define SAKIMORI_MILTER_DMARC_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "milter/dns.h"
#include "policy/result.h"

/* Bytes of a record we parse; a longer one is unusable (permerror). */
#define DMARC_MAX_RECORD 2048

/* Requested handling (RFC 7489 6.3 "p"), weakest first. */
enum dmarc_policy {
	DMARC_POLICY_UNSET = 0,	 /* tag absent (sp: p applies) */
	DMARC_POLICY_NONE,	 /* p=none */
	DMARC_POLICY_QUARANTINE, /* p=quarantine */
	DMARC_POLICY_REJECT,	 /* p=reject */
};

/* Identifier alignment mode (RFC 7489 6.3 "adkim", "aspf"). */
enum dmarc_align {
	DMARC_ALIGN_RELAXED = 0, /* "r", the default */
	DMARC_ALIGN_STRICT,	 /* "s" */
};

/* A parsed record: what evaluation needs. */
struct dmarc_record {
	enum dmarc_policy p;	/* policy for the domain itself */
	enum dmarc_policy sp;	/* for subdomains; UNSET: p applies */
	enum dmarc_align adkim; /* DKIM alignment mode */
	enum dmarc_align aspf;	/* SPF alignment mode */
	unsigned pct;		/* 0..100: share of mail the policy
				   applies to */
	bool rua;		/* rua= holds a valid URI (we send no
				   reports) */
	bool p_replaced;	/* p= or sp= was invalid and rua= valid:
				   acting as p=none (RFC 7489 6.6.3) */
};

struct dmarc_input {
	const char *from_domain;	 /* the one RFC5322.From domain (the
				    caller handles zero or several) */
	const char *spf_domain;		 /* MAIL FROM domain, or HELO for <>;
				    NULL if SPF did not run */
	enum result_code spf_result;	 /* SPF result for spf_domain */
	const char *const *dkim_domains; /* d= of each signature */
	const enum result_code *dkim_results; /* result of each signature */
	size_t dkim_count;		      /* entries in both arrays */
	unsigned sample; /* 0..99, random per message, for pct= */
};

struct dmarc_outcome {
	enum result_code result; /* pass fail none temperror permerror */
	char policy[12];	 /* "none" "quarantine" "reject" ("" when
				    no usable record) */
	char disposition[12];	 /* what the policy asks for after pct=:
				    "none" "quarantine" "reject" */
	char header_from[256];	 /* the From domain evaluated, lower case */
	char reason[160];	 /* for logs and the A-R comment */
	bool aligned_spf;	 /* SPF pass with an aligned domain */
	bool aligned_dkim;	 /* DKIM pass with an aligned d= */
	bool from_org_record;	 /* record found at the organizational
				    domain, not the From domain */
};

/*
 * dmarc_global_init - load the Public Suffix List once at start
 *	error_r: on failure, why (caller frees)
 * Returns 0 (also when already loaded), or -1 when no list can be
 * loaded. Call before any thread uses dmarc_*; until it is called
 * lookups use libpsl's built-in list.
 */
int dmarc_global_init(char **error_r) __attribute__((warn_unused_result));

/* dmarc_global_free - drop the list loaded by dmarc_global_init */
void dmarc_global_free(void);

/*
 * dmarc_check - evaluate DMARC for one message
 *	r: the DNS resolver
 *	deadline: give up DNS waits after this (CLOCK_MONOTONIC), or NULL
 *	in: the From domain and the SPF and DKIM results (borrowed)
 *	out: filled in
 * Returns 0 (out holds the result), or -1 out of memory (out holds
 * temperror).
 */
int dmarc_check(struct dns_resolver *r, const struct timespec *deadline,
    const struct dmarc_input *in, struct dmarc_outcome *out);

/*
 * dmarc_org_domain - the organizational domain (RFC 7489 3.2)
 *	domain: a host name (any case, trailing dot allowed)
 *	buf: output, lower case, no trailing dot
 *	size: its size (256 is always enough)
 * Returns buf: the registrable domain per the Public Suffix List, or the
 * name itself when it is a public suffix; NULL when domain is not a host
 * name or does not fit in buf.
 */
const char *dmarc_org_domain(const char *domain, char *buf, size_t size);

/*
 * dmarc_aligned - are two domains aligned (RFC 7489 3.1)?
 *	from_domain: the RFC5322.From domain
 *	auth_domain: the SPF or DKIM authenticated domain
 *	mode: strict (equal, ignoring case and a trailing dot) or relaxed
 *	    (same organizational domain)
 * Returns true if aligned; false if not or either is not a host name.
 */
bool dmarc_aligned(
    const char *from_domain, const char *auth_domain, enum dmarc_align mode);

/*
 * dmarc_record_is_dmarc - does TXT text start with the v=DMARC1 tag?
 *	text, len: the TXT character-strings joined (may hold NULs)
 * Returns true for "v=DMARC1" alone or followed by ';' (white space
 * allowed around '=' and before ';'), RFC 7489 6.4.
 */
bool dmarc_record_is_dmarc(const char *text, size_t len);

/*
 * dmarc_record_parse - parse one DMARC record (RFC 7489 6.3, 6.4)
 *	text, len: the record (may hold NULs, which make it unusable)
 *	rec: filled in; defaults adkim=aspf=r, pct=100, sp unset
 *	why: on -1, what is wrong; on 0 with p_replaced, what was replaced
 *	why_size: bytes in why
 * Tags are case-insensitive, values of p, sp, adkim and aspf too;
 * unknown tags and bad rua, ruf, fo, ri, rf values are ignored; a bad
 * pct or adkim/aspf value leaves the default. A missing or invalid p
 * (or an invalid sp) makes the record p=none when rua= holds a valid
 * URI (RFC 7489 6.6.3 step 6), else unusable.
 * Returns 0 usable, or -1 unusable (not v=DMARC1 first, no usable p,
 * NUL bytes, over DMARC_MAX_RECORD bytes, a tag without '=').
 */
int dmarc_record_parse(const char *text, size_t len, struct dmarc_record *rec,
    char *why, size_t why_size) __attribute__((warn_unused_result));

/* dmarc_policy_name - "none", "quarantine", "reject"; "" for unset */
const char *dmarc_policy_name(enum dmarc_policy p);

#endif
