/*
 * NAME
 *	result - authentication result names
 * DESCRIPTION
 *	See result.h.
 */
#include <stddef.h>
#include <strings.h>

#include "policy/result.h"

static const char *const result_names[RESULT_CODE_COUNT] = {
	[RESULT_NONE] = "none",
	[RESULT_PASS] = "pass",
	[RESULT_FAIL] = "fail",
	[RESULT_SOFTFAIL] = "softfail",
	[RESULT_NEUTRAL] = "neutral",
	[RESULT_POLICY] = "policy",
	[RESULT_TEMPERROR] = "temperror",
	[RESULT_PERMERROR] = "permerror",
};

/* result_name - the RFC word for a code */
const char *
result_name(enum result_code code)
{
	if ((unsigned)code >= RESULT_CODE_COUNT)
		return "none";
	return result_names[code];
}

/* result_parse - the code for an RFC word */
int
result_parse(const char *name, enum result_code *code_r)
{
	size_t i;

	for (i = 0; i < RESULT_CODE_COUNT; i++) {
		if (strcasecmp(name, result_names[i]) == 0) {
			*code_r = (enum result_code)i;
			return 0;
		}
	}
	return -1;
}
