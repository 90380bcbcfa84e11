/*
 * NAME
 *	dkimkeys - a cache of parsed DKIM public keys under libopendkim
 * SUMMARY
 *	libopendkim decodes the RSA key of every signature it verifies with
 *	d2i_PUBKEY_bio(). With OpenSSL 3 that decode goes through the
 *	provider decoder chain and costs several times the RSA verification
 *	itself (about 80 µs against 17 µs for a 2048-bit key here). This
 *	file defines d2i_PUBKEY_bio() in the sakimori binary: the dynamic
 *	linker binds libopendkim's call to it, and it answers from a cache
 *	of keys already decoded, keyed by their exact DER bytes.
 * DESCRIPTION
 *	A memory BIO (the only kind libopendkim passes) is looked up by its
 *	bytes in a direct-mapped table of DKIMKEYS_SLOTS slots, slot chosen
 *	by a keyed hash (SipHash-style mixing with a per-process random
 *	key, so remote key records cannot aim at one slot). A hit returns
 *	the cached EVP_PKEY with one more reference; the caller frees it
 *	with EVP_PKEY_free() as it would its own. A miss decodes with
 *	d2i_PUBKEY() (what the real function does for a whole buffer),
 *	consumes the BIO's bytes as the real function would, and stores
 *	the key, replacing whatever the slot held. Anything else (not a
 *	memory BIO, more than DKIMKEYS_MAX_DER bytes, a decode failure) is
 *	handed to the real d2i_PUBKEY_bio() found with dlsym(RTLD_NEXT), so
 *	results never differ from libcrypto's: the cache only skips
 *	repeated decoding of identical bytes.
 *
 *	A cached EVP_PKEY is shared read-only between threads; OpenSSL 3
 *	allows that, and guards the legacy RSA copy EVP_PKEY_get1_RSA()
 *	makes of it with the key's own lock (so that copy is made once,
 *	not per message, too).
 * THREADS
 *	Any thread; one mutex guards the table, held for a hash, a memcmp
 *	and a reference count change, never across a decode.
 * OWNERSHIP
 *	The table holds one reference per cached key, for the life of the
 *	process (bounded: DKIMKEYS_SLOTS keys).
 */

/* System library. */
#include <dlfcn.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* Libraries. */
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/x509.h>

/* Project. */
#include "milter/dkimkeys.h"

#define DKIMKEYS_SLOTS 256    /* keys kept (direct-mapped) */
#define DKIMKEYS_MAX_DER 2600 /* larger than a 16384-bit RSA key */

struct dkimkeys_slot {
	unsigned char *der; /* the key's DER bytes, or NULL if empty */
	size_t len;	    /* length of der */
	EVP_PKEY *pkey;	    /* decoded key, one reference held here */
};

typedef EVP_PKEY *d2i_bio_fn(BIO *, EVP_PKEY **);

static pthread_mutex_t dkimkeys_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_once_t dkimkeys_once = PTHREAD_ONCE_INIT;
static struct dkimkeys_slot dkimkeys_table[DKIMKEYS_SLOTS];
static uint64_t dkimkeys_seed[2];	  /* hash key */
static d2i_bio_fn *dkimkeys_real;	  /* libcrypto's d2i_PUBKEY_bio */
static atomic_ulong dkimkeys_hit_count;	  /* answered from the table */
static atomic_ulong dkimkeys_miss_count;  /* decoded and stored */
static atomic_ulong dkimkeys_other_count; /* passed to libcrypto */

/* dkimkeys_init - hash key and the real function, once */
static void
dkimkeys_init(void)
{
	if (RAND_bytes((unsigned char *)dkimkeys_seed, sizeof(dkimkeys_seed)) !=
	    1) {
		/* Predictable slots only cost hit rate, never results. */
		dkimkeys_seed[0] = (uint64_t)(uintptr_t)&dkimkeys_seed;
		dkimkeys_seed[1] = (uint64_t)(uintptr_t)&dkimkeys_init;
	}
	dkimkeys_real = (d2i_bio_fn *)dlsym(RTLD_NEXT, "d2i_PUBKEY_bio");
}

/* dkimkeys_rotl - rotate left */
static inline uint64_t
dkimkeys_rotl(uint64_t x, int b)
{
	return (x << b) | (x >> (64 - b));
}

/* dkimkeys_hash - SipHash-2-4 of data under the process key */
static uint64_t
dkimkeys_hash(const unsigned char *data, size_t len)
{
	uint64_t v0 = 0x736f6d6570736575ULL ^ dkimkeys_seed[0];
	uint64_t v1 = 0x646f72616e646f6dULL ^ dkimkeys_seed[1];
	uint64_t v2 = 0x6c7967656e657261ULL ^ dkimkeys_seed[0];
	uint64_t v3 = 0x7465646279746573ULL ^ dkimkeys_seed[1];
	uint64_t m, b = (uint64_t)len << 56;
	size_t i, full = len & ~(size_t)7;
	int r;

#define DKIMKEYS_ROUND() \
	do { \
		v0 += v1; \
		v1 = dkimkeys_rotl(v1, 13) ^ v0; \
		v0 = dkimkeys_rotl(v0, 32); \
		v2 += v3; \
		v3 = dkimkeys_rotl(v3, 16) ^ v2; \
		v0 += v3; \
		v3 = dkimkeys_rotl(v3, 21) ^ v0; \
		v2 += v1; \
		v1 = dkimkeys_rotl(v1, 17) ^ v2; \
		v2 = dkimkeys_rotl(v2, 32); \
	} while (0)
	for (i = 0; i < full; i += 8) {
		memcpy(&m, data + i, 8);
		v3 ^= m;
		DKIMKEYS_ROUND();
		DKIMKEYS_ROUND();
		v0 ^= m;
	}
	for (r = 0; i < len; i++, r += 8)
		b |= (uint64_t)data[i] << r;
	v3 ^= b;
	DKIMKEYS_ROUND();
	DKIMKEYS_ROUND();
	v0 ^= b;
	v2 ^= 0xff;
	DKIMKEYS_ROUND();
	DKIMKEYS_ROUND();
	DKIMKEYS_ROUND();
	DKIMKEYS_ROUND();
#undef DKIMKEYS_ROUND
	return v0 ^ v1 ^ v2 ^ v3;
}

/* dkimkeys_real_call - libcrypto's own d2i_PUBKEY_bio */
static EVP_PKEY *
dkimkeys_real_call(BIO *bio, EVP_PKEY **out)
{
	atomic_fetch_add(&dkimkeys_other_count, 1);
	if (dkimkeys_real == NULL)
		return NULL;
	return dkimkeys_real(bio, out);
}

/* dkimkeys_consume - read len bytes off bio, as a decode would */
static void
dkimkeys_consume(BIO *bio, long len)
{
	unsigned char scratch[DKIMKEYS_MAX_DER];

	(void)BIO_read(bio, scratch, (int)len);
}

/* d2i_PUBKEY_bio - libcrypto's function, answered from the cache */
EVP_PKEY *
d2i_PUBKEY_bio(BIO *bio, EVP_PKEY **out)
{
	struct dkimkeys_slot *slot;
	const unsigned char *p;
	unsigned char *copy;
	char *data;
	EVP_PKEY *pkey = NULL, *old = NULL;
	unsigned char *old_der = NULL;
	long len;

	dkimkeys_setup();
	if (out != NULL || bio == NULL || BIO_method_type(bio) != BIO_TYPE_MEM)
		return dkimkeys_real_call(bio, out);
	len = BIO_get_mem_data(bio, &data);
	if (len <= 0 || len > DKIMKEYS_MAX_DER)
		return dkimkeys_real_call(bio, out);

	slot =
	    &dkimkeys_table[dkimkeys_hash((unsigned char *)data, (size_t)len) %
		DKIMKEYS_SLOTS];
	if (pthread_mutex_lock(&dkimkeys_lock) != 0)
		abort();
	if (slot->der != NULL && slot->len == (size_t)len &&
	    memcmp(slot->der, data, (size_t)len) == 0 &&
	    EVP_PKEY_up_ref(slot->pkey) == 1)
		pkey = slot->pkey;
	if (pthread_mutex_unlock(&dkimkeys_lock) != 0)
		abort();
	if (pkey != NULL) {
		atomic_fetch_add(&dkimkeys_hit_count, 1);
		dkimkeys_consume(bio, len);
		return pkey;
	}

	/*
	 * Decode a copy, not the BIO's buffer: a decode failure must leave
	 * the BIO for the real function, which then reports its own error.
	 */
	if ((copy = malloc((size_t)len)) == NULL)
		return dkimkeys_real_call(bio, out);
	memcpy(copy, data, (size_t)len);
	p = copy;
	if ((pkey = d2i_PUBKEY(NULL, &p, len)) == NULL || p != copy + len ||
	    EVP_PKEY_up_ref(pkey) != 1) {
		EVP_PKEY_free(pkey);
		free(copy);
		ERR_clear_error();
		return dkimkeys_real_call(bio, out);
	}
	atomic_fetch_add(&dkimkeys_miss_count, 1);
	dkimkeys_consume(bio, len);
	if (pthread_mutex_lock(&dkimkeys_lock) != 0)
		abort();
	old = slot->pkey;
	old_der = slot->der;
	slot->der = copy;
	slot->len = (size_t)len;
	slot->pkey = pkey; /* the second reference, for the table */
	if (pthread_mutex_unlock(&dkimkeys_lock) != 0)
		abort();
	EVP_PKEY_free(old);
	free(old_der);
	return pkey;
}

/* dkimkeys_setup - initialise the cache (idempotent, thread-safe) */
void
dkimkeys_setup(void)
{
	(void)pthread_once(&dkimkeys_once, dkimkeys_init);
}

/* dkimkeys_get_stats - cache counters */
void
dkimkeys_get_stats(struct dkimkeys_stats *st)
{
	st->hits = atomic_load(&dkimkeys_hit_count);
	st->misses = atomic_load(&dkimkeys_miss_count);
	st->passed = atomic_load(&dkimkeys_other_count);
}
