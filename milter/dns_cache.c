/*
 * NAME
 *	dns_cache - the shared positive and negative DNS answer cache
 * SUMMARY
 *	Sharded hash of (lower-cased name, type) -> struct dns_result.
 * DESCRIPTION
 *	See dns_cache.h. The cache has a few shards (DNS_CACHE_SHARDS unless
 *	told), each a chained hash table plus an LRU list under one mutex.
 *	The size bound is split over the shards (their capacities add up to the
 *	configured size exactly), so a full shard evicts its least
 *	recently used entry even when another shard has room.
 *	Expired entries are dropped when looked up or evicted.
 * THREADS
 *	One mutex per shard; never two held at once. The entry count is
 *	an atomic so dns_cache_count() takes no lock.
 * OWNERSHIP
 *	Entries hold their own copy of a result.
 * ERRORS
 *	Out of memory is returned as -1; a failed pthread call is a broken
 *	invariant and aborts.
 */
#include <ctype.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "milter/dns.h"
#include "milter/dns_cache.h"

#define DNS_CACHE_SHARDS 16 /* shards by default (fewer if size is less) */

struct dns_cache_entry {
	struct dns_cache_entry *hnext; /* hash chain */
	struct dns_cache_entry *prev;  /* LRU list, towards most recent */
	struct dns_cache_entry *next;  /* LRU list, towards least recent */
	uint32_t hash;		       /* of name and type */
	time_t expire;		       /* gone at or after this time */
	struct dns_result *res;	       /* the answer; res->qname is the key */
};

struct dns_cache_shard {
	pthread_mutex_t lock;		 /* guards everything below */
	struct dns_cache_entry **bucket; /* hash chains */
	size_t mask;			 /* buckets - 1 (a power of two) */
	size_t count;			 /* entries held */
	size_t cap;			 /* most entries */
	struct dns_cache_entry *head;	 /* most recently used */
	struct dns_cache_entry *tail;	 /* least recently used */
};

struct dns_cache {
	unsigned max_ttl;		/* cap on any entry's life */
	size_t nshards;			/* shards in use */
	atomic_size_t count;		/* entries in all shards */
	struct dns_cache_shard *shards; /* nshards of them */
};

/* dns_cache_lock - lock a shard; failure is a broken invariant */
static void
dns_cache_lock(struct dns_cache_shard *s)
{
	if (pthread_mutex_lock(&s->lock) != 0)
		abort();
}

/* dns_cache_unlock - unlock a shard */
static void
dns_cache_unlock(struct dns_cache_shard *s)
{
	if (pthread_mutex_unlock(&s->lock) != 0)
		abort();
}

/* dns_cache_hash - FNV-1a over the lower-cased name, then the type */
static uint32_t
dns_cache_hash(const char *name, uint16_t type)
{
	uint32_t h = 2166136261u;
	const unsigned char *p;

	for (p = (const unsigned char *)name; *p != '\0'; p++) {
		h ^= (uint32_t)tolower(*p);
		h *= 16777619u;
	}
	h ^= type & 0xff;
	h *= 16777619u;
	h ^= type >> 8;
	h *= 16777619u;
	return h;
}

/* dns_cache_result_copy - a deep copy of a result */
struct dns_result *
dns_cache_result_copy(const struct dns_result *res)
{
	struct dns_result *c;
	size_t i;

	if ((c = calloc(1, sizeof(*c))) == NULL)
		return NULL;
	c->status = res->status;
	c->qtype = res->qtype;
	c->ttl = res->ttl;
	memcpy(c->why, res->why, sizeof(c->why));
	if ((c->qname = strdup(res->qname != NULL ? res->qname : "")) == NULL)
		goto fail;
	if (res->count > 0) {
		if ((c->rr = calloc(res->count, sizeof(*c->rr))) == NULL)
			goto fail;
		for (i = 0; i < res->count; i++) {
			c->rr[i] = res->rr[i];
			c->rr[i].text = NULL;
			c->count = i + 1;
			if (res->rr[i].text == NULL)
				continue;
			/* TXT may hold NULs: copy len bytes, not a string */
			if ((c->rr[i].text = malloc(res->rr[i].len + 1)) ==
			    NULL)
				goto fail;
			memcpy(
			    c->rr[i].text, res->rr[i].text, res->rr[i].len + 1);
		}
	}
	return c;
fail:
	dns_result_free(&c);
	return NULL;
}

/* dns_cache_create - an empty cache */
struct dns_cache *
dns_cache_create(unsigned size, unsigned max_ttl, unsigned shards)
{
	struct dns_cache *c;
	struct dns_cache_shard *s;
	size_t i, buckets;

	if ((c = calloc(1, sizeof(*c))) == NULL)
		return NULL;
	c->max_ttl = max_ttl;
	atomic_init(&c->count, 0);
	if (shards == 0)
		shards = DNS_CACHE_SHARDS;
	c->nshards = size < shards ? size : shards;
	if (c->nshards == 0)
		return c;
	if ((c->shards = calloc(c->nshards, sizeof(*c->shards))) == NULL) {
		free(c);
		return NULL;
	}
	for (i = 0; i < c->nshards; i++) {
		s = &c->shards[i];
		/* the remainder goes one each to the first shards */
		s->cap = size / c->nshards + (i < size % c->nshards ? 1 : 0);
		for (buckets = 8; buckets < s->cap; buckets <<= 1)
			;
		s->mask = buckets - 1;
		if ((s->bucket = calloc(buckets, sizeof(*s->bucket))) == NULL)
			goto fail;
		if (pthread_mutex_init(&s->lock, NULL) != 0) {
			free(s->bucket);
			s->bucket = NULL;
			goto fail;
		}
	}
	return c;
fail:
	c->nshards = i;
	dns_cache_free(&c);
	return NULL;
}

/* dns_cache_unlink - take an entry out of its shard, and free it */
static void
dns_cache_unlink(
    struct dns_cache *c, struct dns_cache_shard *s, struct dns_cache_entry *e)
{
	struct dns_cache_entry **pp;

	for (pp = &s->bucket[(e->hash / c->nshards) & s->mask]; *pp != e;
	     pp = &(*pp)->hnext)
		;
	*pp = e->hnext;
	if (e->prev != NULL)
		e->prev->next = e->next;
	else
		s->head = e->next;
	if (e->next != NULL)
		e->next->prev = e->prev;
	else
		s->tail = e->prev;
	s->count--;
	atomic_fetch_sub(&c->count, 1);
	dns_result_free(&e->res);
	free(e);
}

/* dns_cache_to_front - mark an entry most recently used */
static void
dns_cache_to_front(struct dns_cache_shard *s, struct dns_cache_entry *e)
{
	if (s->head == e)
		return;
	e->prev->next = e->next;
	if (e->next != NULL)
		e->next->prev = e->prev;
	else
		s->tail = e->prev;
	e->prev = NULL;
	e->next = s->head;
	s->head->prev = e;
	s->head = e;
}

/* dns_cache_find - the entry for a key in a locked shard, or NULL */
static struct dns_cache_entry *
dns_cache_find(struct dns_cache *c, struct dns_cache_shard *s, uint32_t hash,
    const char *name, uint16_t type)
{
	struct dns_cache_entry *e;

	for (e = s->bucket[(hash / c->nshards) & s->mask]; e != NULL;
	     e = e->hnext) {
		if (e->hash == hash && e->res->qtype == type &&
		    strcasecmp(e->res->qname, name) == 0)
			return e;
	}
	return NULL;
}

/* dns_cache_free - free the cache and every entry */
void
dns_cache_free(struct dns_cache **cp)
{
	struct dns_cache *c;
	struct dns_cache_shard *s;
	struct dns_cache_entry *e, *next;
	size_t i;

	if (cp == NULL || (c = *cp) == NULL)
		return;
	*cp = NULL;
	for (i = 0; i < c->nshards; i++) {
		s = &c->shards[i];
		for (e = s->head; e != NULL; e = next) {
			next = e->next;
			dns_result_free(&e->res);
			free(e);
		}
		free(s->bucket);
		pthread_mutex_destroy(&s->lock);
	}
	free(c->shards);
	free(c);
}

/* dns_cache_put - store a copy of a result */
int
dns_cache_put(struct dns_cache *c, const struct dns_result *res, time_t now)
{
	struct dns_cache_shard *s;
	struct dns_cache_entry *e, *old;
	struct dns_result *copy;
	uint32_t hash, ttl;
	char *p;

	if (c->nshards == 0 || res->qname == NULL)
		return 0;
	if (res->status != DNS_OK && res->status != DNS_NXDOMAIN &&
	    res->status != DNS_NODATA)
		return 0;
	ttl = res->ttl < c->max_ttl ? res->ttl : c->max_ttl;
	if (ttl == 0)
		return 0;
	if ((copy = dns_cache_result_copy(res)) == NULL)
		return -1;
	if ((e = calloc(1, sizeof(*e))) == NULL) {
		dns_result_free(&copy);
		return -1;
	}
	for (p = copy->qname; *p != '\0'; p++)
		*p = (char)tolower((unsigned char)*p);
	hash = dns_cache_hash(copy->qname, copy->qtype);
	e->hash = hash;
	e->expire = now + (time_t)ttl;
	e->res = copy;

	s = &c->shards[hash % c->nshards];
	dns_cache_lock(s);
	if ((old = dns_cache_find(c, s, hash, copy->qname, copy->qtype)) !=
	    NULL)
		dns_cache_unlink(c, s, old);
	if (s->count >= s->cap)
		dns_cache_unlink(c, s, s->tail);
	e->hnext = s->bucket[(hash / c->nshards) & s->mask];
	s->bucket[(hash / c->nshards) & s->mask] = e;
	e->next = s->head;
	if (s->head != NULL)
		s->head->prev = e;
	s->head = e;
	if (s->tail == NULL)
		s->tail = e;
	s->count++;
	atomic_fetch_add(&c->count, 1);
	dns_cache_unlock(s);
	return 1;
}

/* dns_cache_get - look up (name, type) */
int
dns_cache_get(struct dns_cache *c, const char *name, uint16_t type, time_t now,
    struct dns_result **res_r)
{
	struct dns_cache_shard *s;
	struct dns_cache_entry *e;
	uint32_t hash;
	int ret = 0;

	*res_r = NULL;
	if (c->nshards == 0)
		return 0;
	hash = dns_cache_hash(name, type);
	s = &c->shards[hash % c->nshards];
	dns_cache_lock(s);
	if ((e = dns_cache_find(c, s, hash, name, type)) == NULL)
		goto out;
	if (e->expire <= now) {
		dns_cache_unlink(c, s, e);
		goto out;
	}
	dns_cache_to_front(s, e);
	if ((*res_r = dns_cache_result_copy(e->res)) == NULL) {
		ret = -1;
		goto out;
	}
	(*res_r)->ttl = (uint32_t)(e->expire - now);
	ret = 1;
out:
	dns_cache_unlock(s);
	return ret;
}

/* dns_cache_count - entries now held */
size_t
dns_cache_count(struct dns_cache *c)
{
	return c == NULL ? 0 : atomic_load(&c->count);
}
