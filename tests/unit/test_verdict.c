/*
 * NAME
 *	test_verdict - unit tests for policy/verdict.c
 * DESCRIPTION
 *	Tables of results and rules against the action, cause, "would",
 *	tag flag and SMTP reply chosen; the default policy; names.
 */
#include "policy/verdict.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

/* A rule set in a table row: check, result, action, dry run. */
struct rule_set {
	enum check check;     /* which check */
	enum result_code res; /* which result */
	enum action action;   /* its action */
	bool dry_run;	      /* shadow mode */
};

struct verdict_case {
	const char *name;	     /* case name */
	struct rule_set rules[4];    /* on top of all-accept; action 0 ends */
	bool spf_done;		     /* SPF ran */
	enum result_code spf;	     /* its result */
	bool iprev_done;	     /* iprev ran */
	enum result_code iprev;	     /* its result */
	const char *exp;	     /* SPF explanation */
	enum action want_action;     /* chosen action */
	enum check want_cause;	     /* its cause */
	enum action want_would;	     /* with dry-run rules */
	enum check want_would_cause; /* its cause */
	bool want_tag;		     /* tag flag */
	const char *want_reply;	     /* "rcode xcode text" or "" */
};

#define R(c, r, a, d) CHECK_##c, RESULT_##r, ACTION_##a, d
#define NOCHECK CHECK_COUNT

static const struct verdict_case verdict_cases[] = {
	{ "nothing ran", { { 0 } }, false, 0, false, 0, NULL, ACTION_ACCEPT,
	    NOCHECK, ACTION_ACCEPT, NOCHECK, false, "" },
	{ "spf pass accept", { { 0 } }, true, RESULT_PASS, false, 0, NULL,
	    ACTION_ACCEPT, NOCHECK, ACTION_ACCEPT, NOCHECK, false, "" },
	{ "spf softfail tag", { { R(SPF, SOFTFAIL, TAG, false) } }, true,
	    RESULT_SOFTFAIL, false, 0, NULL, ACTION_TAG, CHECK_SPF, ACTION_TAG,
	    CHECK_SPF, true, "" },
	{ "iprev fail tempfail", { { R(IPREV, FAIL, TEMPFAIL, false) } }, false,
	    0, true, RESULT_FAIL, NULL, ACTION_TEMPFAIL, CHECK_IPREV,
	    ACTION_TEMPFAIL, CHECK_IPREV, false,
	    "451 4.7.1 iprev fail: try again later" },
	{ "iprev fail reject", { { R(IPREV, FAIL, REJECT, false) } }, false, 0,
	    true, RESULT_FAIL, NULL, ACTION_REJECT, CHECK_IPREV, ACTION_REJECT,
	    CHECK_IPREV, false,
	    "550 5.7.1 iprev fail: rejected by local policy" },
	{ "spf fail reject with exp", { { R(SPF, FAIL, REJECT, false) } }, true,
	    RESULT_FAIL, false, 0, "see https://example.com/spf", ACTION_REJECT,
	    CHECK_SPF, ACTION_REJECT, CHECK_SPF, false,
	    "550 5.7.23 SPF fail: see https://example.com/spf" },
	{ "spf fail reject no exp", { { R(SPF, FAIL, REJECT, false) } }, true,
	    RESULT_FAIL, false, 0, NULL, ACTION_REJECT, CHECK_SPF,
	    ACTION_REJECT, CHECK_SPF, false,
	    "550 5.7.23 SPF fail: sender not authorized" },
	{ "spf fail reject blank exp", { { R(SPF, FAIL, REJECT, false) } },
	    true, RESULT_FAIL, false, 0, " \t ", ACTION_REJECT, CHECK_SPF,
	    ACTION_REJECT, CHECK_SPF, false,
	    "550 5.7.23 SPF fail: sender not authorized" },
	{ "spf fail exp control bytes", { { R(SPF, FAIL, REJECT, false) } },
	    true, RESULT_FAIL, false, 0, "bad\r\nthing\x01 \xc3\xa9t\xc3\xa9 ",
	    ACTION_REJECT, CHECK_SPF, ACTION_REJECT, CHECK_SPF, false,
	    "550 5.7.23 SPF fail: bad  thing  ??t??" },
	{ "spf softfail reject is 5.7.1",
	    { { R(SPF, SOFTFAIL, REJECT, false) } }, true, RESULT_SOFTFAIL,
	    false, 0, "ignored", ACTION_REJECT, CHECK_SPF, ACTION_REJECT,
	    CHECK_SPF, false,
	    "550 5.7.1 SPF softfail: rejected by local policy" },
	{ "spf temperror tempfail 4.4.3",
	    { { R(SPF, TEMPERROR, TEMPFAIL, false) } }, true, RESULT_TEMPERROR,
	    false, 0, NULL, ACTION_TEMPFAIL, CHECK_SPF, ACTION_TEMPFAIL,
	    CHECK_SPF, false,
	    "451 4.4.3 SPF temperror: DNS lookup failed, try again later" },
	{ "iprev temperror tempfail 4.4.3",
	    { { R(IPREV, TEMPERROR, TEMPFAIL, false) } }, false, 0, true,
	    RESULT_TEMPERROR, NULL, ACTION_TEMPFAIL, CHECK_IPREV,
	    ACTION_TEMPFAIL, CHECK_IPREV, false,
	    "451 4.4.3 iprev temperror: DNS lookup failed, try again later" },
	{ "reject beats tempfail",
	    { { R(SPF, FAIL, TEMPFAIL, false) },
		{ R(IPREV, FAIL, REJECT, false) } },
	    true, RESULT_FAIL, true, RESULT_FAIL, NULL, ACTION_REJECT,
	    CHECK_IPREV, ACTION_REJECT, CHECK_IPREV, false,
	    "550 5.7.1 iprev fail: rejected by local policy" },
	{ "tempfail beats tag, tag flag kept",
	    { { R(SPF, FAIL, TAG, false) },
		{ R(IPREV, TEMPERROR, TEMPFAIL, false) } },
	    true, RESULT_FAIL, true, RESULT_TEMPERROR, NULL, ACTION_TEMPFAIL,
	    CHECK_IPREV, ACTION_TEMPFAIL, CHECK_IPREV, true,
	    "451 4.4.3 iprev temperror: DNS lookup failed, try again later" },
	{ "tie: first check is the cause",
	    { { R(SPF, FAIL, REJECT, false) },
		{ R(IPREV, FAIL, REJECT, false) } },
	    true, RESULT_FAIL, true, RESULT_FAIL, NULL, ACTION_REJECT,
	    CHECK_SPF, ACTION_REJECT, CHECK_SPF, false,
	    "550 5.7.23 SPF fail: sender not authorized" },
	{ "dry run reject: reported, not acted",
	    { { R(SPF, FAIL, REJECT, true) } }, true, RESULT_FAIL, false, 0,
	    NULL, ACTION_ACCEPT, NOCHECK, ACTION_REJECT, CHECK_SPF, false, "" },
	{ "dry run tag sets no tag flag", { { R(SPF, FAIL, TAG, true) } }, true,
	    RESULT_FAIL, false, 0, NULL, ACTION_ACCEPT, NOCHECK, ACTION_TAG,
	    CHECK_SPF, false, "" },
	{ "dry run reject, live tag",
	    { { R(SPF, FAIL, REJECT, true) }, { R(IPREV, FAIL, TAG, false) } },
	    true, RESULT_FAIL, true, RESULT_FAIL, NULL, ACTION_TAG, CHECK_IPREV,
	    ACTION_REJECT, CHECK_SPF, true, "" },
	{ "live reject beats dry tempfail",
	    { { R(SPF, FAIL, TEMPFAIL, true) },
		{ R(IPREV, FAIL, REJECT, false) } },
	    true, RESULT_FAIL, true, RESULT_FAIL, NULL, ACTION_REJECT,
	    CHECK_IPREV, ACTION_REJECT, CHECK_IPREV, false,
	    "550 5.7.1 iprev fail: rejected by local policy" },
	{ "rule for another result does not apply",
	    { { R(SPF, FAIL, REJECT, false) } }, true, RESULT_SOFTFAIL, false,
	    0, NULL, ACTION_ACCEPT, NOCHECK, ACTION_ACCEPT, NOCHECK, false,
	    "" },
	{ "check not done is skipped", { { R(IPREV, NONE, REJECT, false) } },
	    true, RESULT_PASS, false, RESULT_NONE, NULL, ACTION_ACCEPT, NOCHECK,
	    ACTION_ACCEPT, NOCHECK, false, "" },
};

/* run_case - build the policy and input of a row and decide */
static void
run_case(const struct verdict_case *tc, struct verdict *v)
{
	struct verdict_policy policy;
	struct verdict_input in;
	size_t i;

	memset(&policy, 0, sizeof(policy));
	for (i = 0; i < NELEM(tc->rules) && tc->rules[i].action != 0; i++) {
		policy.rule[tc->rules[i].check][tc->rules[i].res].action =
		    tc->rules[i].action;
		policy.rule[tc->rules[i].check][tc->rules[i].res].dry_run =
		    tc->rules[i].dry_run;
	}
	memset(&in, 0, sizeof(in));
	in.done[CHECK_SPF] = tc->spf_done;
	in.result[CHECK_SPF] = tc->spf;
	in.done[CHECK_IPREV] = tc->iprev_done;
	in.result[CHECK_IPREV] = tc->iprev;
	in.spf_explanation = tc->exp;
	verdict_decide(&policy, &in, v);
}

/* test_decide - the verdict table */
static void
test_decide(void **state)
{
	const struct verdict_case *tc;
	struct verdict v;
	char reply[600];
	size_t i;

	(void)state;
	for (i = 0; i < NELEM(verdict_cases); i++) {
		tc = &verdict_cases[i];
		run_case(tc, &v);
		if (v.action != tc->want_action)
			fail_msg("%s: action: got %s, want %s", tc->name,
			    verdict_action_name(v.action),
			    verdict_action_name(tc->want_action));
		if (v.cause != tc->want_cause)
			fail_msg("%s: cause: got %s, want %s", tc->name,
			    verdict_check_name(v.cause),
			    verdict_check_name(tc->want_cause));
		if (v.would != tc->want_would)
			fail_msg("%s: would: got %s, want %s", tc->name,
			    verdict_action_name(v.would),
			    verdict_action_name(tc->want_would));
		if (v.would_cause != tc->want_would_cause)
			fail_msg("%s: would_cause: got %s, want %s", tc->name,
			    verdict_check_name(v.would_cause),
			    verdict_check_name(tc->want_would_cause));
		if (v.tag != tc->want_tag)
			fail_msg("%s: tag: got %d, want %d", tc->name, v.tag,
			    tc->want_tag);
		if (v.rcode[0] != '\0')
			snprintf(reply, sizeof(reply), "%s %s %s", v.rcode,
			    v.xcode, v.text);
		else
			snprintf(reply, sizeof(reply), "%s%s", v.xcode, v.text);
		if (strcmp(reply, tc->want_reply) != 0)
			fail_msg("%s: reply: got \"%s\", want \"%s\"", tc->name,
			    reply, tc->want_reply);
	}
}

/* test_long_explanation - reply text stays at most 500 bytes */
static void
test_long_explanation(void **state)
{
	struct verdict_policy policy;
	struct verdict_input in;
	struct verdict v;
	char exp[2000];

	(void)state;
	memset(exp, 'x', sizeof(exp) - 1);
	exp[sizeof(exp) - 1] = '\0';
	memset(&policy, 0, sizeof(policy));
	policy.rule[CHECK_SPF][RESULT_FAIL].action = ACTION_REJECT;
	memset(&in, 0, sizeof(in));
	in.done[CHECK_SPF] = true;
	in.result[CHECK_SPF] = RESULT_FAIL;
	in.spf_explanation = exp;
	verdict_decide(&policy, &in, &v);
	if (strlen(v.text) != 500)
		fail_msg("got text length %zu, want 500", strlen(v.text));
	if (strncmp(v.text, "SPF fail: xxx", 13) != 0)
		fail_msg("got \"%.20s...\", want \"SPF fail: xxx...\"", v.text);
}

/* test_default_policy - tag fail, softfail, permerror; accept the rest */
static void
test_default_policy(void **state)
{
	static const struct {
		enum check check;
		enum result_code res;
		enum action want;
	} cases[] = {
		{ CHECK_SPF, RESULT_PASS, ACTION_ACCEPT },
		{ CHECK_SPF, RESULT_FAIL, ACTION_TAG },
		{ CHECK_SPF, RESULT_SOFTFAIL, ACTION_TAG },
		{ CHECK_SPF, RESULT_NEUTRAL, ACTION_ACCEPT },
		{ CHECK_SPF, RESULT_NONE, ACTION_ACCEPT },
		{ CHECK_SPF, RESULT_TEMPERROR, ACTION_ACCEPT },
		{ CHECK_SPF, RESULT_PERMERROR, ACTION_TAG },
		{ CHECK_IPREV, RESULT_PASS, ACTION_ACCEPT },
		{ CHECK_IPREV, RESULT_FAIL, ACTION_TAG },
		{ CHECK_IPREV, RESULT_TEMPERROR, ACTION_ACCEPT },
		{ CHECK_IPREV, RESULT_PERMERROR, ACTION_ACCEPT },
	};
	struct verdict_policy policy;
	const struct verdict_rule *r;
	size_t i, c, res;

	(void)state;
	memset(&policy, 0xff, sizeof(policy));
	verdict_policy_default(&policy);
	for (i = 0; i < NELEM(cases); i++) {
		r = &policy.rule[cases[i].check][cases[i].res];
		if (r->action != cases[i].want)
			fail_msg("%s %s: got %s, want %s",
			    verdict_check_name(cases[i].check),
			    result_name(cases[i].res),
			    verdict_action_name(r->action),
			    verdict_action_name(cases[i].want));
	}
	/* Nothing rejects, nothing tempfails, nothing is dry-run. */
	for (c = 0; c < CHECK_COUNT; c++) {
		for (res = 0; res < VERDICT_SLOT_COUNT; res++) {
			r = &policy.rule[c][res];
			if (r->action > ACTION_TAG || r->dry_run)
				fail_msg("%s %s: got %s dry_run=%d, want at "
					 "most tag, live",
				    verdict_check_name((enum check)c),
				    result_name((enum result_code)res),
				    verdict_action_name(r->action), r->dry_run);
		}
	}
}

/* test_names - action and check names, both ways */
static void
test_names(void **state)
{
	static const struct {
		const char *word;
		int want_ret;
		enum action want;
	} cases[] = {
		{ "accept", 0, ACTION_ACCEPT },
		{ "tag", 0, ACTION_TAG },
		{ "tempfail", 0, ACTION_TEMPFAIL },
		{ "reject", 0, ACTION_REJECT },
		{ "REJECT", 0, ACTION_REJECT },
		{ "bounce", -1, 0 },
		{ "", -1, 0 },
		{ "rejects", -1, 0 },
	};
	enum action a;
	size_t i;
	int ret;

	(void)state;
	for (i = 0; i < NELEM(cases); i++) {
		a = ACTION_COUNT;
		ret = verdict_action_parse(cases[i].word, &a);
		if (ret != cases[i].want_ret)
			fail_msg("\"%s\": got %d, want %d", cases[i].word, ret,
			    cases[i].want_ret);
		if (ret == 0 && a != cases[i].want)
			fail_msg("\"%s\": got %s, want %s", cases[i].word,
			    verdict_action_name(a),
			    verdict_action_name(cases[i].want));
	}
	for (i = 0; i < ACTION_COUNT; i++) {
		assert_int_equal(verdict_action_parse(
				     verdict_action_name((enum action)i), &a),
		    0);
		assert_int_equal(a, i);
	}
	assert_string_equal(verdict_check_name(CHECK_SPF), "spf");
	assert_string_equal(verdict_check_name(CHECK_IPREV), "iprev");
	assert_string_equal(verdict_check_name(CHECK_COUNT), "none");
}

/* main - run the tests */
/* test_dmarc_disposition - a DMARC fail acts by what the domain asks */
static void
test_dmarc_disposition(void **state)
{
	static const struct {
		const char *name;	       /* case name */
		enum result_code result;       /* DMARC result */
		enum verdict_disposition disp; /* domain's request */
		enum action want;	       /* action */
		const char *want_reply;	       /* reply or "" */
	} cases[] = {
		{ "pass", RESULT_PASS, VERDICT_DISPOSITION_REJECT,
		    ACTION_ACCEPT, "" },
		{ "fail p=none", RESULT_FAIL, VERDICT_DISPOSITION_NONE,
		    ACTION_ACCEPT, "" },
		{ "fail p=quarantine", RESULT_FAIL,
		    VERDICT_DISPOSITION_QUARANTINE, ACTION_QUARANTINE, "" },
		{ "fail p=reject", RESULT_FAIL, VERDICT_DISPOSITION_REJECT,
		    ACTION_REJECT,
		    "550 5.7.1 DMARC fail: rejected per the policy of "
		    "example.test" },
		{ "temperror", RESULT_TEMPERROR, VERDICT_DISPOSITION_REJECT,
		    ACTION_TEMPFAIL,
		    "451 4.4.3 DMARC temperror: DNS lookup failed, try again "
		    "later" },
	};
	struct verdict_policy policy;
	struct verdict_input in;
	struct verdict v;
	char reply[700];
	size_t i;

	(void)state;
	verdict_policy_default(&policy);
	policy.rule[CHECK_DMARC][VERDICT_SLOT_DMARC_QUARANTINE].action =
	    ACTION_QUARANTINE;
	policy.rule[CHECK_DMARC][VERDICT_SLOT_DMARC_REJECT].action =
	    ACTION_REJECT;
	policy.rule[CHECK_DMARC][RESULT_TEMPERROR].action = ACTION_TEMPFAIL;
	for (i = 0; i < NELEM(cases); i++) {
		memset(&in, 0, sizeof(in));
		in.done[CHECK_DMARC] = true;
		in.result[CHECK_DMARC] = cases[i].result;
		in.dmarc_disposition = cases[i].disp;
		in.dmarc_domain = "example.test";
		verdict_decide(&policy, &in, &v);
		if (v.action != cases[i].want)
			fail_msg("%s: action got %s, want %s", cases[i].name,
			    verdict_action_name(v.action),
			    verdict_action_name(cases[i].want));
		reply[0] = '\0';
		if (v.rcode[0] != '\0')
			snprintf(reply, sizeof(reply), "%s %s %s", v.rcode,
			    v.xcode, v.text);
		if (strcmp(reply, cases[i].want_reply) != 0)
			fail_msg("%s: reply got \"%s\", want \"%s\"",
			    cases[i].name, reply, cases[i].want_reply);
	}
}

/* test_quarantine_order - reject > tempfail > quarantine > tag */
static void
test_quarantine_order(void **state)
{
	struct verdict_policy policy;
	struct verdict_input in;
	struct verdict v;

	(void)state;
	verdict_policy_default(&policy);
	memset(&in, 0, sizeof(in));
	policy.rule[CHECK_DKIM][RESULT_FAIL].action = ACTION_QUARANTINE;
	policy.rule[CHECK_SPF][RESULT_FAIL].action = ACTION_TAG;
	in.done[CHECK_DKIM] = in.done[CHECK_SPF] = true;
	in.result[CHECK_DKIM] = RESULT_FAIL;
	in.result[CHECK_SPF] = RESULT_FAIL;
	verdict_decide(&policy, &in, &v);
	assert_int_equal(v.action, ACTION_QUARANTINE);
	assert_int_equal(v.cause, CHECK_DKIM);
	assert_true(v.tag);
	assert_string_equal(v.rcode, "");
	policy.rule[CHECK_SPF][RESULT_FAIL].action = ACTION_TEMPFAIL;
	verdict_decide(&policy, &in, &v);
	assert_int_equal(v.action, ACTION_TEMPFAIL);
	assert_int_equal(v.cause, CHECK_SPF);
	assert_int_equal(verdict_action_parse("quarantine", &v.action), 0);
	assert_int_equal(v.action, ACTION_QUARANTINE);
	assert_string_equal(verdict_check_name(CHECK_DMARC), "dmarc");
}

/* test_listings - DNSBL listings act with their own actions */
static void
test_listings(void **state)
{
	struct verdict_policy policy;
	struct verdict_input in;
	struct verdict v;

	(void)state;
	verdict_policy_default(&policy);
	memset(&in, 0, sizeof(in));
	in.listing[0] = (struct verdict_listing){ .check = CHECK_DNSBL,
		.action = ACTION_TAG,
		.source = "pbl.test",
		.detail = "dynamic" };
	in.listing[1] = (struct verdict_listing){ .check = CHECK_DNSBL,
		.action = ACTION_REJECT,
		.dry_run = true,
		.source = "shadow.test",
		.detail = "trial" };
	in.listing_count = 2;
	verdict_decide(&policy, &in, &v);
	assert_int_equal(v.action, ACTION_TAG);
	assert_true(v.tag);
	assert_int_equal(v.would, ACTION_REJECT);
	assert_int_equal(v.would_cause, CHECK_DNSBL);
	in.listing[2] = (struct verdict_listing){ .check = CHECK_DNSBL,
		.action = ACTION_REJECT,
		.source = "sbl.test",
		.detail = "spam source" };
	in.listing_count = 3;
	verdict_decide(&policy, &in, &v);
	assert_int_equal(v.action, ACTION_REJECT);
	assert_int_equal(v.cause, CHECK_DNSBL);
	assert_int_equal(v.listing, 2);
	assert_string_equal(v.rcode, "550");
	assert_string_equal(v.xcode, "5.7.1");
	assert_string_equal(v.text, "Listed at sbl.test: spam source");
	in.listing[2].action = ACTION_TEMPFAIL;
	in.listing[2].detail = NULL;
	verdict_decide(&policy, &in, &v);
	assert_string_equal(v.rcode, "451");
	assert_string_equal(v.text, "Listed at sbl.test; try again later");
	assert_string_equal(verdict_check_name(CHECK_DNSBL), "dnsbl");
	/* A local list saying accept whitelists: beats the reject above. */
	in.listing[3] = (struct verdict_listing){ .check = CHECK_LIST,
		.action = ACTION_ACCEPT,
		.source = "partners",
		.detail = "our partner" };
	in.listing[2].action = ACTION_REJECT;
	in.listing_count = 4;
	verdict_decide(&policy, &in, &v);
	assert_int_equal(v.action, ACTION_ACCEPT);
	assert_true(v.whitelisted);
	assert_int_equal(v.cause, CHECK_LIST);
	assert_int_equal(v.listing, 3);
	assert_false(v.tag);
	assert_int_equal(v.would, ACTION_REJECT);
	assert_string_equal(v.rcode, "");
	/* A dry-run whitelist does not. */
	in.listing[3].dry_run = true;
	verdict_decide(&policy, &in, &v);
	assert_int_equal(v.action, ACTION_REJECT);
	assert_false(v.whitelisted);
	/* A local list's reject names the list. */
	in.listing[2] = (struct verdict_listing){ .check = CHECK_LIST,
		.action = ACTION_REJECT,
		.source = "blocked",
		.detail = "infected host" };
	verdict_decide(&policy, &in, &v);
	assert_int_equal(v.cause, CHECK_LIST);
	assert_string_equal(v.text, "Listed at blocked: infected host");
}

/* test_scores - listing scores add up to the tag and reject thresholds */
static void
test_scores(void **state)
{
	struct verdict_policy policy;
	struct verdict_input in;
	struct verdict v;

	(void)state;
	verdict_policy_default(&policy);
	policy.score_tag = 3;
	policy.score_reject = 6;
	memset(&in, 0, sizeof(in));
	in.listing[0] = (struct verdict_listing){ .check = CHECK_DNSBL,
		.action = ACTION_ACCEPT,
		.score = 2,
		.source = "pbl.test" };
	in.listing[1] = (struct verdict_listing){ .check = CHECK_LIST,
		.action = ACTION_ACCEPT,
		.score_only = true,
		.score = 2,
		.source = "suspects" };
	in.listing_count = 2;
	verdict_decide(&policy, &in, &v);
	/* 4: tagged; a score-only list is no whitelist. */
	assert_int_equal(v.score, 4);
	assert_int_equal(v.action, ACTION_TAG);
	assert_true(v.tag);
	assert_true(v.by_score);
	assert_false(v.whitelisted);
	in.listing[2] = (struct verdict_listing){ .check = CHECK_DNSBL,
		.action = ACTION_TAG,
		.score = 3,
		.source = "sbl.test" };
	in.listing_count = 3;
	verdict_decide(&policy, &in, &v);
	assert_int_equal(v.score, 7);
	assert_int_equal(v.action, ACTION_REJECT);
	assert_string_equal(v.rcode, "550");
	assert_string_equal(v.xcode, "5.7.1");
	assert_string_equal(
	    v.text, "Listed with score 7 (pbl.test, suspects, sbl.test)");
	/* Dry-run listings count for "would" only. */
	in.listing[2].dry_run = true;
	verdict_decide(&policy, &in, &v);
	assert_int_equal(v.score, 4);
	assert_int_equal(v.action, ACTION_TAG);
	assert_int_equal(v.would, ACTION_REJECT);
	/* Thresholds 0: scores never act. */
	policy.score_tag = policy.score_reject = 0;
	in.listing[2].dry_run = false;
	verdict_decide(&policy, &in, &v);
	assert_int_equal(v.action, ACTION_TAG); /* sbl.test's own tag */
	assert_false(v.by_score);
	/* A whitelist beats a score past the reject threshold. */
	policy.score_reject = 6;
	in.listing[3] = (struct verdict_listing){ .check = CHECK_LIST,
		.action = ACTION_ACCEPT,
		.source = "partners" };
	in.listing_count = 4;
	verdict_decide(&policy, &in, &v);
	assert_int_equal(v.action, ACTION_ACCEPT);
	assert_true(v.whitelisted);
	assert_int_equal(v.would, ACTION_REJECT);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_dmarc_disposition),
		cmocka_unit_test(test_listings),
		cmocka_unit_test(test_quarantine_order),
		cmocka_unit_test(test_decide),
		cmocka_unit_test(test_long_explanation),
		cmocka_unit_test(test_default_policy),
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_scores),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
