/*
 * NAME
 *	patterns - a set of PCRE2 regular expressions matched as one
 * SUMMARY
 *	Compile patterns one by one (so each error names its pattern), then
 *	join those that can be joined into alternations tagged with
 *	(*MARK:n), JIT-compile everything, and match a subject in as few
 *	passes as the set allows, under a match limit.
 * DESCRIPTION
 *	For pattern lists (lists/list.c). Patterns are compiled in UTF mode
 *	with PCRE2_MATCH_INVALID_UTF, so subjects that are not UTF-8 (raw
 *	header bytes) still match, byte sequences that are not UTF-8 never
 *	match a character. A pattern joins an alternation unless it uses
 *	what would change meaning inside one: back references or named
 *	groups, recursion and subroutine calls, verbs "(*...)", \K, \Q, \g,
 *	or "(?" options other than i. An alternation too large for PCRE2 is
 *	split in halves until each part compiles. Which pattern is reported
 *	when several match: the one whose match starts leftmost in the
 *	subject, then the first in set order; the per-pattern pass checks
 *	in set order.
 *	Bounded work: each pass runs under PATTERNS_MATCH_LIMIT and
 *	PATTERNS_DEPTH_LIMIT (pcre2_set_match_limit, pcre2_set_depth_limit;
 *	JIT honours the match limit). When a joined pass hits the limit the
 *	set retries its patterns one by one, so a hit by another pattern is
 *	still found; only when no pattern matches and one hit its limit is
 *	the result an error.
 * THREADS
 *	Built by one thread, then matched by any number: each match makes
 *	its own match data.
 * OWNERSHIP
 *	The set owns its compiled code.
 */
#ifndef SAKIMORI_LISTS_PATTERNS_H
#define SAKIMORI_LISTS_PATTERNS_H

#include <stddef.h>

#define PATTERNS_MATCH_LIMIT 100000   /* pcre2 match limit, one pattern */
#define PATTERNS_JOINED_LIMIT 1000000 /* match limit of an alternation */
#define PATTERNS_DEPTH_LIMIT 10000    /* pcre2 depth limit (interpreter) */

struct patterns;

/*
 * patterns_create - an empty set
 * Returns the set (caller frees with patterns_free), or NULL.
 */
struct patterns *patterns_create(void);

/*
 * patterns_add - compile one pattern and add it as the next index
 *	set: the set, not yet finished
 *	src, len: the regex between the slashes (not NUL-ended)
 *	caseless: 1 for the i flag
 *	why, why_size: on -1, PCRE2's message and the offset
 * Returns 0, or -1 if the pattern does not compile or out of memory.
 */
int patterns_add(struct patterns *set, const char *src, size_t len,
    int caseless, char *why, size_t why_size)
    __attribute__((warn_unused_result));

/*
 * patterns_finish - join, JIT-compile, make the set ready to match
 *	join: most patterns in one alternation; 0 or 1: one pass each
 * Returns 0, or -1 out of memory.
 */
int patterns_finish(struct patterns *set, size_t join)
    __attribute__((warn_unused_result));

/* patterns_alive_fn - may pattern index count as a match (not expired)? */
typedef int patterns_alive_fn(const void *arg, size_t index);

/*
 * patterns_match - a pattern of the set that matches a subject
 *	set: a finished set
 *	subject, len: the text
 *	alive: NULL, or a filter: patterns for which it returns 0 are
 *	    passed over (a joined pass that finds one retries its
 *	    patterns one by one)
 *	arg: passed to alive
 *	index_r: the index of a pattern that matches
 * Returns 1 found,
 *	0 not found,
 *	-1 a match limit hit with nothing found, or out of memory.
 */
int patterns_match(const struct patterns *set, const char *subject, size_t len,
    patterns_alive_fn *alive, const void *arg, size_t *index_r);

/* patterns_passes - how many passes a full match makes (for reports) */
size_t patterns_passes(const struct patterns *set);

/* patterns_free - free a set (NULL is fine) and set *set to NULL */
void patterns_free(struct patterns **set);

#endif
