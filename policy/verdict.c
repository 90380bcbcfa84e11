/*
 * NAME
 *	verdict - from check results to one action
 * SUMMARY
 *	Strongest action wins; dry-run rules are reported, not acted on.
 * DESCRIPTION
 *	See verdict.h. Each check that ran looks up its rule,
 *	policy->rule[check][result]. Live rules compete for "action",
 *	every rule (live or dry-run) for "would". On a tie the first check
 *	in enum check order is the cause. The reply codes follow RFC 7372
 *	3.2 (5.7.23 for SPF fail) and RFC 3463 (5.7.1 delivery not
 *	authorized, 4.7.1 for a policy tempfail, 4.4.3 for a directory
 *	server, i.e. DNS, failure).
 * THREADS
 *	Pure; any thread.
 * OWNERSHIP
 *	Names are static strings. struct verdict holds its text inline.
 */
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "policy/verdict.h"

/* Longest reply text we write; RFC 5321 4.5.3.1.5 allows 512 per line. */
#define VERDICT_TEXT_MAX 500

static const char *const verdict_action_names[ACTION_COUNT] = {
	[ACTION_ACCEPT] = "accept",
	[ACTION_TAG] = "tag",
	[ACTION_QUARANTINE] = "quarantine",
	[ACTION_TEMPFAIL] = "tempfail",
	[ACTION_REJECT] = "reject",
};

static const char *const verdict_check_names[CHECK_COUNT] = {
	[CHECK_SPF] = "spf",
	[CHECK_IPREV] = "iprev",
	[CHECK_DKIM] = "dkim",
	[CHECK_DMARC] = "dmarc",
	[CHECK_DNSBL] = "dnsbl",
	[CHECK_LIST] = "list",
};

/* How a check is spelled in SMTP reply text. */
static const char *const verdict_check_labels[CHECK_COUNT] = {
	[CHECK_SPF] = "SPF",
	[CHECK_IPREV] = "iprev",
	[CHECK_DKIM] = "DKIM",
	[CHECK_DMARC] = "DMARC",
	[CHECK_DNSBL] = "DNSBL",
	[CHECK_LIST] = "list",
};

/* verdict_policy_default - the defaults a careful postmaster would choose */
void
verdict_policy_default(struct verdict_policy *policy)
{
	memset(policy, 0, sizeof(*policy));
	policy->rule[CHECK_SPF][RESULT_FAIL].action = ACTION_TAG;
	policy->rule[CHECK_SPF][RESULT_SOFTFAIL].action = ACTION_TAG;
	policy->rule[CHECK_SPF][RESULT_PERMERROR].action = ACTION_TAG;
	policy->rule[CHECK_IPREV][RESULT_FAIL].action = ACTION_TAG;
	/* OpenDMARC's default too: report, do not reject. */
	policy->rule[CHECK_DMARC][VERDICT_SLOT_DMARC_QUARANTINE].action =
	    ACTION_TAG;
	policy->rule[CHECK_DMARC][VERDICT_SLOT_DMARC_REJECT].action =
	    ACTION_TAG;
}

/* verdict_rule_for - the rule of one check's result */
const struct verdict_rule *
verdict_rule_for(const struct verdict_policy *policy, enum check check,
    enum result_code result, enum verdict_disposition disposition)
{
	size_t slot = (size_t)result;

	if (check == CHECK_DMARC && result == RESULT_FAIL) {
		if (disposition == VERDICT_DISPOSITION_REJECT)
			slot = VERDICT_SLOT_DMARC_REJECT;
		else if (disposition == VERDICT_DISPOSITION_QUARANTINE)
			slot = VERDICT_SLOT_DMARC_QUARANTINE;
	}
	return &policy->rule[check][slot];
}

/* verdict_copy_explanation - append exp= text, printable ASCII only */
static void
verdict_copy_explanation(char *dst, size_t size, const char *exp)
{
	size_t len = strlen(dst);
	const unsigned char *p;

	for (p = (const unsigned char *)exp; *p != '\0' && len + 1 < size;
	     p++) {
		if (*p >= 0x20 && *p < 0x7f)
			dst[len++] = (char)*p;
		else if (*p < 0x20 || *p == 0x7f)
			dst[len++] = ' ';
		else
			dst[len++] = '?';
	}
	while (len > 0 && dst[len - 1] == ' ')
		len--;
	dst[len] = '\0';
}

/* verdict_has_text - does the explanation hold anything printable? */
static int
verdict_has_text(const char *exp)
{
	const unsigned char *p;

	if (exp == NULL)
		return 0;
	for (p = (const unsigned char *)exp; *p != '\0'; p++) {
		if (*p > 0x20 && *p < 0x7f)
			return 1;
	}
	return 0;
}

/* verdict_score_text - "Listed with score 7 (bl.example, blocked)" */
static void
verdict_score_text(
    const struct verdict_input *in, struct verdict *v, size_t cap)
{
	size_t c, len;

	snprintf(v->text, cap, "Listed with score %d (", v->score);
	for (c = 0; c < in->listing_count && c < VERDICT_MAX_LISTINGS; c++) {
		const struct verdict_listing *l = &in->listing[c];

		if (l->dry_run || l->score == 0)
			continue;
		len = strlen(v->text);
		if (len + 2 >= cap)
			break;
		snprintf(v->text + len, cap - len, "%s%.100s",
		    v->text[len - 1] == '(' ? "" : ", ",
		    l->source != NULL ? l->source : "?");
	}
	len = strlen(v->text);
	if (len + 1 < cap)
		snprintf(v->text + len, cap - len, ")");
}

/* verdict_reply - fill in codes and text for a tempfail or reject */
static void
verdict_reply(const struct verdict_input *in, struct verdict *v)
{
	const char *label = verdict_check_labels[v->cause];
	enum result_code result = in->result[v->cause];
	const char *rname = result_name(result);
	/* Text is capped at VERDICT_TEXT_MAX bytes, below sizeof(v->text). */
	size_t cap = VERDICT_TEXT_MAX + 1;

	if (v->by_score) {
		snprintf(v->rcode, sizeof(v->rcode), "550");
		snprintf(v->xcode, sizeof(v->xcode), "5.7.1");
		verdict_score_text(in, v, cap);
		return;
	}
	if ((v->cause == CHECK_DNSBL || v->cause == CHECK_LIST) &&
	    v->listing >= 0) {
		const struct verdict_listing *l = &in->listing[v->listing];

		/* RFC 5782 2.1: say which list, so the sender can look. */
		snprintf(v->rcode, sizeof(v->rcode),
		    v->action == ACTION_REJECT ? "550" : "451");
		snprintf(v->xcode, sizeof(v->xcode),
		    v->action == ACTION_REJECT ? "5.7.1" : "4.7.1");
		snprintf(v->text, cap, "Listed at %.200s%s%.200s%s",
		    l->source != NULL ? l->source : "a block list",
		    l->detail != NULL ? ": " : "",
		    l->detail != NULL ? l->detail : "",
		    v->action == ACTION_REJECT ? "" : "; try again later");
		return;
	}
	if (v->action == ACTION_REJECT) {
		snprintf(v->rcode, sizeof(v->rcode), "550");
		if (v->cause == CHECK_SPF && result == RESULT_FAIL) {
			/* RFC 7372 3.2: SPF validation failed. */
			snprintf(v->xcode, sizeof(v->xcode), "5.7.23");
			if (verdict_has_text(in->spf_explanation)) {
				snprintf(v->text, cap, "SPF fail: ");
				verdict_copy_explanation(
				    v->text, cap, in->spf_explanation);
			} else {
				snprintf(v->text, cap,
				    "SPF fail: sender not authorized");
			}
		} else if (v->cause == CHECK_DMARC && result == RESULT_FAIL &&
		    in->dmarc_domain != NULL) {
			/* RFC 7489 10.3: say it was DMARC, name the domain. */
			snprintf(v->xcode, sizeof(v->xcode), "5.7.1");
			snprintf(v->text, cap,
			    "DMARC fail: rejected per the policy of %.253s",
			    in->dmarc_domain);
		} else {
			snprintf(v->xcode, sizeof(v->xcode), "5.7.1");
			snprintf(v->text, cap,
			    "%s %s: rejected by local policy", label, rname);
		}
	} else {
		snprintf(v->rcode, sizeof(v->rcode), "451");
		if (result == RESULT_TEMPERROR) {
			/* RFC 3463 3.5: directory server (DNS) failure. */
			snprintf(v->xcode, sizeof(v->xcode), "4.4.3");
			snprintf(v->text, cap,
			    "%s temperror: DNS lookup failed, try again later",
			    label);
		} else {
			snprintf(v->xcode, sizeof(v->xcode), "4.7.1");
			snprintf(v->text, cap, "%s %s: try again later", label,
			    rname);
		}
	}
}

/*
 * verdict_weigh_listing - a listing competes like a rule: for "would"
 * always, for the action when live; the first of equals stays the cause
 */
static void
verdict_weigh_listing(
    const struct verdict_listing *l, int index, struct verdict *v)
{
	if ((unsigned)l->action >= ACTION_COUNT || l->score_only)
		return;
	if (l->action > v->would) {
		v->would = l->action;
		v->would_cause = l->check;
	}
	if (l->dry_run)
		return;
	if (l->action == ACTION_TAG)
		v->tag = true;
	if (l->action > v->action) {
		v->action = l->action;
		v->cause = l->check;
		v->listing = index;
	}
}

/*
 * verdict_weigh_score - listing scores add up; past score_reject the
 * message is rejected, past score_tag tagged (dry-run listings count
 * for "would" only)
 */
static void
verdict_weigh_score(const struct verdict_policy *policy,
    const struct verdict_input *in, struct verdict *v)
{
	int live = 0, all = 0;
	size_t c;

	for (c = 0; c < in->listing_count && c < VERDICT_MAX_LISTINGS; c++) {
		all += in->listing[c].score;
		if (!in->listing[c].dry_run)
			live += in->listing[c].score;
	}
	v->score = live;
	if (policy->score_reject > 0 && all >= (int)policy->score_reject &&
	    ACTION_REJECT > v->would) {
		v->would = ACTION_REJECT;
		v->would_cause = CHECK_DNSBL;
	}
	if (policy->score_reject > 0 && live >= (int)policy->score_reject &&
	    ACTION_REJECT > v->action) {
		v->action = ACTION_REJECT;
		v->cause = CHECK_DNSBL;
		v->by_score = true;
		return;
	}
	if (policy->score_tag > 0 && live >= (int)policy->score_tag) {
		v->tag = true;
		if (ACTION_TAG > v->action) {
			v->action = ACTION_TAG;
			v->cause = CHECK_DNSBL;
			v->by_score = true;
		}
	}
}

/* verdict_decide - pick the action for a set of results */
void
verdict_decide(const struct verdict_policy *policy,
    const struct verdict_input *in, struct verdict *v)
{
	const struct verdict_rule *rule;
	enum result_code result;
	size_t c;
	int whitelist = -1;

	memset(v, 0, sizeof(*v));
	v->listing = -1;
	v->action = ACTION_ACCEPT;
	v->would = ACTION_ACCEPT;
	v->cause = CHECK_COUNT;
	v->would_cause = CHECK_COUNT;

	for (c = 0; c < in->listing_count && c < VERDICT_MAX_LISTINGS; c++) {
		const struct verdict_listing *l = &in->listing[c];

		verdict_weigh_listing(l, (int)c, v);
		if (l->check == CHECK_LIST && l->action == ACTION_ACCEPT &&
		    !l->score_only && !l->dry_run && !v->whitelisted) {
			v->whitelisted = true;
			whitelist = (int)c;
		}
	}
	for (c = 0; c < CHECK_COUNT; c++) {
		if (!in->done[c] || c == CHECK_DNSBL || c == CHECK_LIST)
			continue;
		result = in->result[c];
		/* XXX a result out of range is a caller bug: no rule applies. */
		if ((unsigned)result >= RESULT_CODE_COUNT)
			continue;
		rule = verdict_rule_for(
		    policy, (enum check)c, result, in->dmarc_disposition);
		if ((unsigned)rule->action >= ACTION_COUNT)
			continue;
		if (rule->action > v->would) {
			v->would = rule->action;
			v->would_cause = (enum check)c;
		}
		if (rule->dry_run)
			continue;
		if (rule->action == ACTION_TAG)
			v->tag = true;
		if (rule->action > v->action) {
			v->action = rule->action;
			v->cause = (enum check)c;
		}
	}
	verdict_weigh_score(policy, in, v);
	/* A whitelist beats every other verdict; "would" keeps the rest. */
	if (v->whitelisted) {
		v->action = ACTION_ACCEPT;
		v->cause = CHECK_LIST;
		v->listing = whitelist;
		v->tag = false;
		v->by_score = false;
	}
	if (v->action == ACTION_TEMPFAIL || v->action == ACTION_REJECT)
		verdict_reply(in, v);
}

/* verdict_action_name - "accept", "tag", "tempfail", "reject" */
const char *
verdict_action_name(enum action action)
{
	if ((unsigned)action >= ACTION_COUNT)
		return "accept";
	return verdict_action_names[action];
}

/* verdict_action_parse - the action for a word (case-insensitive) */
int
verdict_action_parse(const char *word, enum action *action_r)
{
	size_t i;

	for (i = 0; i < ACTION_COUNT; i++) {
		if (strcasecmp(word, verdict_action_names[i]) == 0) {
			*action_r = (enum action)i;
			return 0;
		}
	}
	return -1;
}

/* verdict_check_name - "spf", "iprev"; "none" out of range */
const char *
verdict_check_name(enum check check)
{
	if ((unsigned)check >= CHECK_COUNT)
		return "none";
	return verdict_check_names[check];
}
