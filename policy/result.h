/*
 * NAME
 *	result - authentication results and the words RFC 8601 gives them
 * SUMMARY
 *	One result code for every method (spf, iprev, and later dkim, dmarc),
 *	so the verdict and the Authentication-Results writer share them.
 * DESCRIPTION
 *	The names are those of the IANA "Email Authentication Result Names"
 *	registry (RFC 8601 2.7, RFC 7208 2.6): never synonyms.
 * THREADS
 *	Pure functions; any thread.
 */
#ifndef SAKIMORI_POLICY_RESULT_H
#define SAKIMORI_POLICY_RESULT_H

enum result_code {
	RESULT_NONE = 0,  /* no policy published / check not possible */
	RESULT_PASS,	  /* authorized / confirmed */
	RESULT_FAIL,	  /* explicitly not authorized */
	RESULT_SOFTFAIL,  /* SPF: probably not authorized */
	RESULT_NEUTRAL,	  /* SPF: no assertion */
	RESULT_POLICY,	  /* DKIM: signature refused by local policy */
	RESULT_TEMPERROR, /* transient (DNS) error */
	RESULT_PERMERROR, /* permanent error in the published data */
	RESULT_CODE_COUNT /* number of codes; not a result */
};

/*
 * result_name - the RFC word for a code
 *	code: a result code
 * Returns a static string ("pass", "temperror", ...); "none" for codes out
 * of range.
 */
const char *result_name(enum result_code code);

/*
 * result_parse - the code for an RFC word (case-insensitive)
 *	name: "pass", "fail", ...
 *	code_r: set to the code on success
 * Returns 0 on success, -1 if the word is not a result name.
 */
int result_parse(const char *name, enum result_code *code_r);

#endif
