/*
 * NAME
 *	domtable - a hash of canonical keys for domain and address lists
 * SUMMARY
 *	FNV-1a, open addressing, linear probing, fingerprints.
 * DESCRIPTION
 *	See domtable.h. A slot is hash >> 32 << 32 | index; an empty slot
 *	has index DOMTABLE_NONE. The table has a power of two slots, at
 *	least twice the keys.
 * THREADS
 *	Built by one thread, then read by any number.
 * OWNERSHIP
 *	The table owns its slots.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lists/domtable.h"

struct domtable {
	uint64_t *slots; /* fingerprint << 32 | index */
	size_t mask;	 /* slots - 1 */
};

/* domtable_hash - FNV-1a of a key */
static uint64_t
domtable_hash(const char *s, size_t len)
{
	uint64_t h = 14695981039346656037ULL;
	size_t i;

	for (i = 0; i < len; i++) {
		h ^= (unsigned char)s[i];
		h *= 1099511628211ULL;
	}
	return h;
}

/* domtable_build - index n distinct keys */
int
domtable_build(
    size_t n, domtable_key_fn *key, const void *arg, struct domtable **table_r)
{
	struct domtable *t;
	size_t slots = 16, i, h;
	uint64_t k64;

	*table_r = NULL;
	if (n >= DOMTABLE_NONE)
		return -1;
	while (slots < n * 2)
		slots *= 2;
	if ((t = calloc(1, sizeof(*t))) == NULL)
		return -1;
	if ((t->slots = malloc(slots * sizeof(*t->slots))) == NULL) {
		free(t);
		return -1;
	}
	memset(t->slots, 0xff, slots * sizeof(*t->slots));
	t->mask = slots - 1;
	for (i = 0; i < n; i++) {
		const char *k = key(arg, i);

		k64 = domtable_hash(k, strlen(k));
		h = k64 & t->mask;
		while ((uint32_t)t->slots[h] != DOMTABLE_NONE)
			h = (h + 1) & t->mask;
		t->slots[h] = (k64 & 0xffffffff00000000ULL) | (uint32_t)i;
	}
	*table_r = t;
	return 0;
}

/* domtable_find - the entry whose key is k */
uint32_t
domtable_find(const struct domtable *t, const char *k, size_t len,
    domtable_key_fn *key, const void *arg)
{
	uint64_t k64, slot;
	size_t h;
	uint32_t i;

	if (t == NULL)
		return DOMTABLE_NONE;
	k64 = domtable_hash(k, len);
	h = k64 & t->mask;
	while ((i = (uint32_t)(slot = t->slots[h])) != DOMTABLE_NONE) {
		if ((slot >> 32) == (k64 >> 32)) {
			const char *have = key(arg, i);

			if (strncmp(have, k, len) == 0 && have[len] == '\0')
				return i;
		}
		h = (h + 1) & t->mask;
	}
	return DOMTABLE_NONE;
}

/* domtable_memory - bytes the table allocated */
size_t
domtable_memory(const struct domtable *t)
{
	return t == NULL ? 0 : sizeof(*t) + (t->mask + 1) * sizeof(*t->slots);
}

/* domtable_free - free a table and set *table to NULL */
void
domtable_free(struct domtable **table)
{
	if (table == NULL || *table == NULL)
		return;
	free((*table)->slots);
	free(*table);
	*table = NULL;
}
