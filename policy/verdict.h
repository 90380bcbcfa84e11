/*
 * NAME
 *	verdict - from check results to one action
 * SUMMARY
 *	Each check's result maps, through the configuration, to an action;
 *	the strongest action wins and names its cause.
 * DESCRIPTION
 *	Called by the milter at RCPT (early) and end of message. Strength:
 *	reject > tempfail > tag > accept. A result whose action runs in
 *	shadow mode (dry_run) is reported but does not act.
 *	SPF fail rejects with 550 5.7.23 (RFC 7372 3.2) and the explanation;
 *	other rejects use 550 5.7.1, tempfails 451 4.7.1 (451 4.4.3 when the
 *	cause is a DNS temperror, RFC 3463 3.5).
 * THREADS
 *	Pure; any thread.
 */
#ifndef SAKIMORI_POLICY_VERDICT_H
#define SAKIMORI_POLICY_VERDICT_H

#include <stdbool.h>
#include <stddef.h>

#include "policy/result.h"

enum action {
	ACTION_ACCEPT = 0, /* deliver; Authentication-Results only */
	ACTION_TAG,	   /* deliver with the tag header */
	ACTION_QUARANTINE, /* accept into the MTA's hold queue, tagged */
	ACTION_TEMPFAIL,   /* 451: the client retries later */
	ACTION_REJECT,	   /* 550: refused */
	ACTION_COUNT	   /* number of actions; not an action */
};

enum check {
	CHECK_SPF = 0, /* SPF verdict: MAIL FROM, or HELO for <> */
	CHECK_IPREV,   /* forward-confirmed reverse DNS */
	CHECK_DKIM,    /* DKIM: pass if any signature passes */
	CHECK_DMARC,   /* DMARC of the From domain */
	CHECK_DNSBL,   /* DNSBL/RHSBL listings: each zone's own action */
	CHECK_LIST,    /* local list hits: each list's own action */
	CHECK_COUNT    /* number of checks; not a check */
};

/*
 * Rule slots: one per result, and for DMARC two more, since a DMARC fail
 * acts by what the domain asks for (RFC 7489 6.3 p=, after pct=).
 * rule[CHECK_DMARC][RESULT_FAIL] is a fail under p=none.
 */
enum verdict_slot {
	VERDICT_SLOT_DMARC_QUARANTINE =
	    RESULT_CODE_COUNT,	   /* fail, p=quarantine */
	VERDICT_SLOT_DMARC_REJECT, /* fail, p=reject */
	VERDICT_SLOT_COUNT	   /* slots per check */
};

enum verdict_disposition {
	VERDICT_DISPOSITION_NONE = 0,	/* p=none, or sampled out */
	VERDICT_DISPOSITION_QUARANTINE, /* p=quarantine */
	VERDICT_DISPOSITION_REJECT	/* p=reject */
};

struct verdict_rule {
	enum action action; /* what the result does */
	bool dry_run;	    /* log what would happen, do nothing */
};

struct verdict_policy {
	struct verdict_rule rule[CHECK_COUNT]
				[VERDICT_SLOT_COUNT]; /* by check, slot */
	unsigned score_tag;    /* listing scores that tag; 0: never */
	unsigned score_reject; /* listing scores that reject; 0: never */
};

#define VERDICT_MAX_LISTINGS 32 /* listings one verdict weighs */

/* A listing (DNSBL zone, later a local list) that carries its action. */
struct verdict_listing {
	enum check check;   /* CHECK_DNSBL or CHECK_LIST */
	enum action action; /* what the listing does; a local list's
			       accept whitelists the message */
	bool dry_run;	    /* log what would happen, do nothing */
	bool score_only;    /* no action of its own: only its score */
	int score;	    /* added to the message's listing score */
	const char *source; /* zone or list name (borrowed) */
	const char *detail; /* meaning, code (borrowed), or NULL */
};

struct verdict_input {
	bool done[CHECK_COUNT];		      /* check ran and has a result */
	enum result_code result[CHECK_COUNT]; /* its result */
	const char *spf_explanation;	      /* sanitized exp= text or NULL */
	enum verdict_disposition dmarc_disposition; /* DMARC fail: what the
						       domain asks for */
	const char *dmarc_domain;		    /* DMARC: the From domain */
	struct verdict_listing listing[VERDICT_MAX_LISTINGS]; /* CHECK_DNSBL */
	size_t listing_count; /* entries in listing */
};

struct verdict {
	enum action action;	/* action to take */
	enum check cause;	/* check that chose it; CHECK_COUNT: none */
	enum action would;	/* strongest action incl. dry-run rules */
	enum check would_cause; /* chose "would"; CHECK_COUNT: none */
	bool tag;		/* add the tag header (some live rule tags) */
	int listing;		/* listing cause: index into listing */
	bool whitelisted;	/* a live local list said accept */
	int score;		/* sum of the live listings' scores */
	bool by_score;		/* the action comes from score_tag/reject */
	char rcode[4];		/* SMTP code for tempfail/reject, else "" */
	char xcode[16];		/* enhanced status code */
	char text[512];		/* reply text, plain ASCII, no CR/LF */
};

/*
 * verdict_policy_default - the defaults a careful postmaster would choose
 *	policy: filled in: tag SPF fail, softfail, permerror, iprev fail,
 *	and DMARC failures whose domain asks for quarantine or reject;
 *	accept the rest; nothing rejects, DNS trouble never rejects.
 */
void verdict_policy_default(struct verdict_policy *policy);

/*
 * verdict_decide - pick the action for a set of results
 *	policy: the configured rules
 *	in: the results so far (checks not done are skipped)
 *	v: filled in
 */
void verdict_decide(const struct verdict_policy *policy,
    const struct verdict_input *in, struct verdict *v);

/*
 * verdict_rule_for - the rule that applies to one check's result
 *	policy: the rules
 *	check, result: the check and its result (result in range)
 *	disposition: for a DMARC fail, what the domain asks for
 * Returns the rule (borrowed from policy).
 */
const struct verdict_rule *verdict_rule_for(const struct verdict_policy *policy,
    enum check check, enum result_code result,
    enum verdict_disposition disposition);

/*
 * verdict_action_name / verdict_action_parse - "accept", "tag", ...
 * verdict_check_name - "spf", "iprev"; "none" for CHECK_COUNT
 * verdict_action_parse returns 0, or -1 for an unknown word.
 */
const char *verdict_action_name(enum action action);
int verdict_action_parse(const char *word, enum action *action_r);
const char *verdict_check_name(enum check check);

#endif
