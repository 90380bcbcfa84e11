/*
 * NAME
 *	domtable - a hash of canonical keys for domain and address lists
 * SUMMARY
 *	Open addressing with linear probing over entry indexes; a slot
 *	keeps the high half of its key's hash, so probes past other keys
 *	rarely read them.
 * DESCRIPTION
 *	For lists/list.c: domain lists look up a name and each of its
 *	".parent" suffixes, address lists the mailbox, "user@" and
 *	"@domain"; every probe is one domtable_find. The keys live in the
 *	caller's memory and are reached through a callback, so the table
 *	costs 8 bytes a slot, at most 50% full.
 * THREADS
 *	Built by one thread, then read by any number.
 * OWNERSHIP
 *	The table owns its slots, not the keys.
 */
#ifndef SAKIMORI_LISTS_DOMTABLE_H
#define SAKIMORI_LISTS_DOMTABLE_H

#include <stddef.h>
#include <stdint.h>

#define DOMTABLE_NONE UINT32_MAX /* no entry */

struct domtable;

/* domtable_key_fn - the NUL-ended key of entry i */
typedef const char *domtable_key_fn(const void *arg, size_t i);

/*
 * domtable_build - index n distinct keys
 *	n: number of keys (less than DOMTABLE_NONE)
 *	key: gives key i
 *	arg: passed to key
 *	table_r: the table (caller frees with domtable_free)
 * Returns 0, or -1 out of memory.
 */
int domtable_build(size_t n, domtable_key_fn *key, const void *arg,
    struct domtable **table_r) __attribute__((warn_unused_result));

/*
 * domtable_find - the entry whose key is k
 *	k, len: the key looked up (need not be NUL-ended)
 *	key, arg: as given to domtable_build
 * Returns the entry index,
 *	DOMTABLE_NONE if no key equals k.
 */
uint32_t domtable_find(const struct domtable *table, const char *k, size_t len,
    domtable_key_fn *key, const void *arg);

/* domtable_memory - bytes the table allocated */
size_t domtable_memory(const struct domtable *table);

/* domtable_free - free a table (NULL is fine) and set *table to NULL */
void domtable_free(struct domtable **table);

#endif
