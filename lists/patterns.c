/*
 * NAME
 *	patterns - a set of PCRE2 regular expressions matched as one
 * SUMMARY
 *	Alternations tagged with (*MARK:n), one pass per alternation.
 * DESCRIPTION
 *	See patterns.h. Every pattern keeps its own compiled code (for the
 *	one-by-one retry); passes are the joined alternations and the
 *	patterns that cannot join. Joined passes and single-pattern passes
 *	are JIT-compiled when PCRE2 has JIT; the retry codes of joined
 *	patterns use the interpreter, which the match and depth limits
 *	bound.
 * THREADS
 *	Built by one thread; matched by any number (match data per call,
 *	the match context only read).
 * OWNERSHIP
 *	The set owns every pcre2_code and the match context.
 * ERRORS
 *	patterns_add: "invalid regex: MESSAGE at offset N".
 */
#define PCRE2_CODE_UNIT_WIDTH 8

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <pcre2.h>

#include "lists/patterns.h"

#define PATTERNS_OPTIONS \
	(PCRE2_UTF | PCRE2_MATCH_INVALID_UTF | PCRE2_NEVER_BACKSLASH_C)

struct patterns_one {
	char *src;	  /* the regex source, NUL-ended */
	size_t len;	  /* its length */
	int caseless;	  /* the i flag */
	int joinable;	  /* may join an alternation */
	pcre2_code *code; /* compiled alone */
};

struct patterns_pass {
	pcre2_code *code; /* the alternation, or the pattern's own code */
	size_t first;	  /* first pattern index it covers */
	size_t count;	  /* patterns it covers; 1: a single pattern */
};

struct patterns {
	struct patterns_one *pats;	  /* in index order */
	size_t npats;			  /* patterns added */
	size_t alloc;			  /* patterns allocated */
	struct patterns_pass *passes;	  /* in index order */
	size_t npasses;			  /* passes in use */
	size_t passes_alloc;		  /* passes allocated */
	pcre2_match_context *mctx;	  /* PATTERNS_MATCH_LIMIT */
	pcre2_match_context *joined_mctx; /* PATTERNS_JOINED_LIMIT */
};

/* patterns_create - an empty set */
struct patterns *
patterns_create(void)
{
	struct patterns *set;

	if ((set = calloc(1, sizeof(*set))) == NULL)
		return NULL;
	set->mctx = pcre2_match_context_create(NULL);
	set->joined_mctx = pcre2_match_context_create(NULL);
	if (set->mctx == NULL || set->joined_mctx == NULL) {
		patterns_free(&set);
		return NULL;
	}
	pcre2_set_match_limit(set->mctx, PATTERNS_MATCH_LIMIT);
	pcre2_set_depth_limit(set->mctx, PATTERNS_DEPTH_LIMIT);
	pcre2_set_match_limit(set->joined_mctx, PATTERNS_JOINED_LIMIT);
	pcre2_set_depth_limit(set->joined_mctx, PATTERNS_DEPTH_LIMIT);
	return set;
}

/* patterns_joinable - can this source sit inside an alternation? */
static int
patterns_joinable(const char *s, size_t len, const pcre2_code *code)
{
	uint32_t backrefs = 0, names = 0;
	size_t i;

	if (pcre2_pattern_info(code, PCRE2_INFO_BACKREFMAX, &backrefs) != 0 ||
	    pcre2_pattern_info(code, PCRE2_INFO_NAMECOUNT, &names) != 0 ||
	    backrefs != 0 || names != 0)
		return 0;
	for (i = 0; i < len; i++) {
		if (s[i] == '\\') {
			if (i + 1 < len && strchr("QEKgk", s[i + 1]) != NULL)
				return 0;
			i++;
			continue;
		}
		if (s[i] != '(' || i + 1 >= len)
			continue;
		if (s[i + 1] == '*')
			return 0;
		if (s[i + 1] != '?')
			continue;
		/* Groups that keep their meaning inside (?:...)|...: */
		if (i + 2 < len && strchr(":=!>#", s[i + 2]) != NULL)
			continue;
		if (i + 3 < len && s[i + 2] == '<' &&
		    (s[i + 3] == '=' || s[i + 3] == '!'))
			continue;
		if (i + 3 < len && s[i + 2] == 'i' &&
		    (s[i + 3] == ')' || s[i + 3] == ':'))
			continue;
		return 0;
	}
	return 1;
}

/* patterns_compile - compile a source with the set's options */
static pcre2_code *
patterns_compile(
    const char *src, size_t len, int caseless, char *why, size_t why_size)
{
	PCRE2_UCHAR msg[256];
	PCRE2_SIZE offset = 0;
	pcre2_code *code;
	int rc;

	code = pcre2_compile((PCRE2_SPTR)src, len,
	    PATTERNS_OPTIONS | (caseless ? PCRE2_CASELESS : 0), &rc, &offset,
	    NULL);
	if (code == NULL && why != NULL) {
		if (pcre2_get_error_message(rc, msg, sizeof(msg)) < 0)
			snprintf((char *)msg, sizeof(msg), "error %d", rc);
		snprintf(why, why_size, "invalid regex: %s at offset %zu",
		    (const char *)msg, (size_t)offset);
	}
	return code;
}

/* patterns_add - compile one pattern and add it as the next index */
int
patterns_add(struct patterns *set, const char *src, size_t len, int caseless,
    char *why, size_t why_size)
{
	struct patterns_one one, *grown;

	memset(&one, 0, sizeof(one));
	if ((one.code = patterns_compile(src, len, caseless, why, why_size)) ==
	    NULL)
		return -1;
	if ((one.src = malloc(len + 1)) == NULL)
		goto nomem;
	memcpy(one.src, src, len);
	one.src[len] = '\0';
	one.len = len;
	one.caseless = caseless;
	one.joinable = patterns_joinable(src, len, one.code);
	if (set->npats == set->alloc) {
		size_t alloc = set->alloc == 0 ? 64 : set->alloc * 2;

		grown = reallocarray(set->pats, alloc, sizeof(*grown));
		if (grown == NULL)
			goto nomem;
		set->pats = grown;
		set->alloc = alloc;
	}
	set->pats[set->npats++] = one;
	return 0;
nomem:
	snprintf(why, why_size, "out of memory");
	free(one.src);
	pcre2_code_free(one.code);
	return -1;
}

/* patterns_push - append a pass */
static int
patterns_push(
    struct patterns *set, pcre2_code *code, size_t first, size_t count)
{
	struct patterns_pass *grown;

	if (set->npasses == set->passes_alloc) {
		size_t alloc =
		    set->passes_alloc == 0 ? 16 : set->passes_alloc * 2;

		grown = reallocarray(set->passes, alloc, sizeof(*grown));
		if (grown == NULL)
			return -1;
		set->passes = grown;
		set->passes_alloc = alloc;
	}
	/* JIT is an optimisation: without it the interpreter runs. */
	(void)pcre2_jit_compile(code, PCRE2_JIT_COMPLETE);
	set->passes[set->npasses].code = code;
	set->passes[set->npasses].first = first;
	set->passes[set->npasses].count = count;
	set->npasses++;
	return 0;
}

/* patterns_join - passes for joinable patterns first .. first+count-1 */
static int
patterns_join(struct patterns *set, size_t first, size_t count)
{
	pcre2_code *code;
	size_t i, size = 0, half;
	char *src, *p;

	if (count == 1)
		return patterns_push(set, set->pats[first].code, first, 1);
	for (i = first; i < first + count; i++)
		size += set->pats[i].len + 48;
	if ((src = malloc(size + 1)) == NULL)
		return -1;
	p = src;
	for (i = first; i < first + count; i++) {
		const struct patterns_one *o = &set->pats[i];

		p += sprintf(p, "%s(?%s:", i == first ? "" : "|",
		    o->caseless ? "i" : "");
		memcpy(p, o->src, o->len);
		p += o->len;
		p += sprintf(p, ")(*MARK:%zu)", i);
	}
	code = patterns_compile(src, (size_t)(p - src), 0, NULL, 0);
	free(src);
	if (code == NULL) {
		/* Too large for PCRE2's link size, most likely: halve it. */
		half = count / 2;
		if (patterns_join(set, first, half) < 0)
			return -1;
		return patterns_join(set, first + half, count - half);
	}
	if (patterns_push(set, code, first, count) < 0) {
		pcre2_code_free(code);
		return -1;
	}
	return 0;
}

/* patterns_finish - join, JIT-compile, make the set ready to match */
int
patterns_finish(struct patterns *set, size_t join)
{
	size_t i = 0, j;

	while (i < set->npats) {
		if (join < 2 || !set->pats[i].joinable) {
			if (patterns_push(set, set->pats[i].code, i, 1) < 0)
				return -1;
			i++;
			continue;
		}
		for (j = i;
		     j < set->npats && j - i < join && set->pats[j].joinable;
		     j++)
			;
		if (patterns_join(set, i, j - i) < 0)
			return -1;
		i = j;
	}
	return 0;
}

/* patterns_run - one pcre2_match: 1 match, 0 none, -1 error */
static int
patterns_run(const pcre2_code *code, const char *subject, size_t len,
    pcre2_match_context *mctx, pcre2_match_data *md)
{
	int rc;

	rc = pcre2_match(code, (PCRE2_SPTR)subject, len, 0, 0, md, mctx);
	if (rc >= 0)
		return 1;
	if (rc == PCRE2_ERROR_NOMATCH)
		return 0;
	return -1;
}

/* patterns_match - a pattern of the set that matches a subject */
int
patterns_match(const struct patterns *set, const char *subject, size_t len,
    patterns_alive_fn *alive, const void *arg, size_t *index_r)
{
	pcre2_match_data *md;
	const struct patterns_pass *pass;
	PCRE2_SPTR mark;
	size_t p, i, idx;
	int rc, result = 0;

	if (set == NULL || set->npasses == 0)
		return 0;
	if ((md = pcre2_match_data_create(1, NULL)) == NULL)
		return -1;
	for (p = 0; p < set->npasses; p++) {
		pass = &set->passes[p];
		if (pass->count == 1) {
			rc = patterns_run(
			    pass->code, subject, len, set->mctx, md);
			if (rc == 1 &&
			    (alive == NULL || alive(arg, pass->first))) {
				*index_r = pass->first;
				result = 1;
				goto done;
			}
			if (rc < 0)
				result = -1;
			continue;
		}
		rc = patterns_run(
		    pass->code, subject, len, set->joined_mctx, md);
		if (rc == 0)
			continue;
		if (rc == 1 && (mark = pcre2_get_mark(md)) != NULL) {
			idx = strtoul((const char *)mark, NULL, 10);
			if (idx >= pass->first &&
			    idx < pass->first + pass->count &&
			    (alive == NULL || alive(arg, idx))) {
				*index_r = idx;
				result = 1;
				goto done;
			}
		}
		/* A limit, or a passed-over pattern: one by one. */
		for (i = pass->first; i < pass->first + pass->count; i++) {
			if (alive != NULL && !alive(arg, i))
				continue;
			rc = patterns_run(
			    set->pats[i].code, subject, len, set->mctx, md);
			if (rc == 1) {
				*index_r = i;
				result = 1;
				goto done;
			}
			if (rc < 0)
				result = -1;
		}
	}
done:
	pcre2_match_data_free(md);
	return result;
}

/* patterns_passes - how many passes a full match makes */
size_t
patterns_passes(const struct patterns *set)
{
	return set == NULL ? 0 : set->npasses;
}

/* patterns_free - free a set and set *set to NULL */
void
patterns_free(struct patterns **setp)
{
	struct patterns *set;
	size_t i;

	if (setp == NULL || (set = *setp) == NULL)
		return;
	for (i = 0; i < set->npasses; i++) {
		if (set->passes[i].count > 1)
			pcre2_code_free(set->passes[i].code);
	}
	for (i = 0; i < set->npats; i++) {
		free(set->pats[i].src);
		pcre2_code_free(set->pats[i].code);
	}
	free(set->passes);
	free(set->pats);
	pcre2_match_context_free(set->mctx);
	pcre2_match_context_free(set->joined_mctx);
	free(set);
	*setp = NULL;
}
