/*
 * NAME
 *	dkimkeys - a cache of parsed DKIM public keys under libopendkim
 * SUMMARY
 *	Defines d2i_PUBKEY_bio() for the process so that libopendkim's
 *	per-signature key decode is answered from a cache (see
 *	milter/dkimkeys.c). Results are libcrypto's; only repeated decoding
 *	of identical key bytes is skipped.
 */
#ifndef SAKIMORI_MILTER_DKIMKEYS_H
#define SAKIMORI_MILTER_DKIMKEYS_H

struct dkimkeys_stats {
	unsigned long hits;   /* keys answered from the cache */
	unsigned long misses; /* keys decoded and cached */
	unsigned long passed; /* decodes left to libcrypto */
};

/*
 * dkimkeys_setup - initialise the cache; call before the first
 *	verification (dkimverify_lib_new does). Idempotent, thread-safe.
 *	Linking a caller also links the cache into the binary.
 */
void dkimkeys_setup(void);

/*
 * dkimkeys_get_stats - the cache counters since start
 *	st: filled in
 */
void dkimkeys_get_stats(struct dkimkeys_stats *st);

#endif
