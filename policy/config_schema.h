/*
 * NAME
 *	config_schema - the one table of configuration options
 * SUMMARY
 *	Key, type, default, range, unit, reloadable, one-line doc and value
 *	check of every option sakimori reads.
 * DESCRIPTION
 *	config.c builds the libconfuse option array, validates values and
 *	writes the effective-config dump from this table;
 *	config_schema_markdown() writes the README table from it, and the
 *	unit tests check contrib/sakimori.conf against it.
 * THREADS
 *	The table is constant; everything here may run in any thread.
 * OWNERSHIP
 *	Entries and their strings are static.
 */
#ifndef SAKIMORI_POLICY_CONFIG_SCHEMA_H
#define SAKIMORI_POLICY_CONFIG_SCHEMA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "policy/result.h"
#include "policy/verdict.h"

enum config_type {
	CONFIG_STRING = 0, /* one string */
	CONFIG_UINT,	   /* unsigned integer in [min, max] */
	CONFIG_MODE,	   /* file mode, octal: 0660 */
	CONFIG_BOOL,	   /* true/false (also yes/no, on/off) */
	CONFIG_LIST,	   /* list of strings: {"a", "b"} or one value */
	CONFIG_ACTION	   /* accept | tag | tempfail | reject */
};

/*
 * config_check_fn - validate one value (each element, for a list)
 *	value: the value as written
 *	why: on failure, the reason (without key or line)
 *	size: bytes in why
 * Returns 0 if the value is good, -1 if not.
 */
typedef int config_check_fn(const char *value, char *why, size_t size);

struct config_option {
	const char *key;	/* lower_snake_case option name */
	enum config_type type;	/* value type */
	const char *def;	/* default as written in a file */
	long min;		/* CONFIG_UINT/MODE: smallest value */
	long max;		/* CONFIG_UINT/MODE: largest value */
	const char *unit;	/* "ms", "seconds", "entries" or "" */
	bool reloadable;	/* takes effect on reload (else restart) */
	const char *doc;	/* one line, no trailing period needed */
	config_check_fn *check; /* value check, or NULL */
	long offset;		/* into struct config, or -1 (see config.c) */
	enum check check_id;	/* CONFIG_ACTION: which check */
	unsigned result;	/* CONFIG_ACTION: rule slot (a result, or
				    enum verdict_slot) */
};

/* config_schema - every option, in the order of the dump */
extern const struct config_option config_schema[];

/* config_schema_count - entries in config_schema */
extern const size_t config_schema_count;

/*
 * config_schema_find - the entry for a key
 *	key: option name (case-sensitive, as libconfuse)
 * Returns the entry, or NULL for an unknown key.
 */
const struct config_option *config_schema_find(const char *key);

/*
 * config_schema_markdown - the README table of options
 *	fp: where to write
 * Returns 0, or -1 on a write error.
 */
int config_schema_markdown(FILE *fp) __attribute__((warn_unused_result));

#endif
