/*
 * NAME
 *	list - local lists as immutable compiled snapshots
 * SUMMARY
 *	Parse, validate, sort and index list entries; look values up.
 * DESCRIPTION
 *	See list.h. A build parses every line into an entry (offsets into
 *	one string pool: the text as written, the canonical key, the
 *	reason), sorts the entries into canonical order, refuses
 *	duplicates, then indexes them by kind: ip lists in an iptree
 *	(lists/iptree.h) whose range i is entry i, domain and address lists
 *	in a hash of canonical keys (lists/domtable.h), pattern lists in a
 *	PCRE2 set (lists/patterns.h) whose pattern i is entry i. A delta
 *	re-parses the old snapshot's entries (from their canonical lines)
 *	with the added ones and removes the deleted ones, then builds the
 *	same way, so a delta's result is exactly what a build of its
 *	export would give.
 * THREADS
 *	Building is single-threaded; a snapshot is only read.
 * OWNERSHIP
 *	A snapshot owns its pool, entries and indexes.
 * ERRORS
 *	Errors are gathered per line, sorted by line, and the first
 *	LIST_MAX_ERRORS returned as text; at most LIST_KEEP_ERRORS are
 *	kept while building.
 */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/evp.h>

#include "lists/domain.h"
#include "lists/domtable.h"
#include "lists/iptree.h"
#include "lists/list.h"
#include "lists/listfile.h"
#include "lists/patterns.h"

#define LIST_KEEP_ERRORS 10000 /* errors kept while building */
#define LIST_NONE UINT32_MAX   /* no entry */
#define LIST_PATTERN_JOIN 64   /* patterns per alternation: see FORMAT.md */

struct list_ent {
	uint32_t text;	 /* pool offset: entry as written */
	uint32_t key;	 /* pool offset: canonical key (not ip) */
	uint32_t reason; /* pool offset: reason, 0 = "" */
	uint32_t line;	 /* line number; 0: from the old snapshot */
	int64_t expires; /* expiry, 0: never */
};

struct list_err {
	unsigned long line; /* line number */
	const char *tag;    /* "add:", "del:" or "" */
	char *msg;	    /* why (owned) */
};

struct list_builder {
	const char *name;	 /* list name, for errors */
	enum list_kind kind;	 /* entry kind */
	struct list_ent *ents;	 /* entries, in input order until sorted */
	struct iptree_net *nets; /* ip lists: network of each entry */
	size_t n;		 /* entries in use */
	size_t alloc;		 /* entries allocated */
	char *pool;		 /* NUL-ended strings */
	size_t pool_len;	 /* bytes in use */
	size_t pool_alloc;	 /* bytes allocated */
	struct list_err *errs;	 /* errors found */
	size_t nerrs;		 /* errors kept */
	size_t errs_alloc;	 /* errors allocated */
	size_t lost;		 /* errors found but not kept */
	int nomem;		 /* out of memory seen */
};

struct list_snapshot {
	char *name;	       /* list name */
	enum list_kind kind;   /* entry kind */
	uint64_t version;      /* caller's serial */
	time_t built;	       /* build time */
	size_t count;	       /* entries */
	struct list_ent *ents; /* in canonical order */
	char *pool;	       /* strings of the entries */
	size_t pool_len;       /* bytes in pool */
	struct iptree *ip;     /* ip: range i is entry i */
	struct domtable *dom;  /* domain, address: keys to entries */
	struct patterns *pat;  /* pattern: pattern i is entry i */
	char checksum[65];     /* SHA-256, hex */
};

static const char *const list_kind_names[] = { "ip", "domain", "address",
	"pattern" };

/* list_kind_parse - a kind name to a kind */
int
list_kind_parse(const char *name, enum list_kind *kind_r)
{
	size_t i;

	for (i = 0; name != NULL && i < 4; i++) {
		if (strcmp(name, list_kind_names[i]) == 0) {
			*kind_r = (enum list_kind)i;
			return 0;
		}
	}
	return -1;
}

/* list_kind_name - the name of a kind */
const char *
list_kind_name(enum list_kind kind)
{
	return (unsigned)kind < 4 ? list_kind_names[kind] : "?";
}

/* list_format_parse - a format name to a format */
int
list_format_parse(const char *name, enum list_format *format_r)
{
	if (name != NULL && strcmp(name, "plain") == 0)
		*format_r = LIST_FORMAT_PLAIN;
	else if (name != NULL && strcmp(name, "rbldnsd") == 0)
		*format_r = LIST_FORMAT_RBLDNSD;
	else
		return -1;
	return 0;
}

/* list_error - note an error at a line */
static void __attribute__((format(printf, 4, 5)))
list_error(struct list_builder *b, const char *tag, unsigned long line,
    const char *fmt, ...)
{
	struct list_err *grown;
	va_list ap;
	char *msg;

	if (b->nerrs >= LIST_KEEP_ERRORS) {
		b->lost++;
		return;
	}
	if (b->nerrs == b->errs_alloc) {
		size_t alloc = b->errs_alloc == 0 ? 16 : b->errs_alloc * 2;

		grown = reallocarray(b->errs, alloc, sizeof(*grown));
		if (grown == NULL) {
			b->nomem = 1;
			return;
		}
		b->errs = grown;
		b->errs_alloc = alloc;
	}
	va_start(ap, fmt);
	if (vasprintf(&msg, fmt, ap) < 0)
		msg = NULL;
	va_end(ap);
	if (msg == NULL) {
		b->nomem = 1;
		return;
	}
	b->errs[b->nerrs].line = line;
	b->errs[b->nerrs].tag = tag;
	b->errs[b->nerrs].msg = msg;
	b->nerrs++;
}

/* list_err_cmp - errors by line */
static int
list_err_cmp(const void *a, const void *b)
{
	const struct list_err *x = a, *y = b;

	if (x->line != y->line)
		return x->line < y->line ? -1 : 1;
	return strcmp(x->tag, y->tag);
}

/* list_errors_text - the first errors as text for error_r */
static char *
list_errors_text(struct list_builder *b)
{
	char *text = NULL;
	size_t size = 0, i;
	FILE *fp;

	if ((fp = open_memstream(&text, &size)) == NULL)
		return NULL;
	qsort(b->errs, b->nerrs, sizeof(*b->errs), list_err_cmp);
	for (i = 0; i < b->nerrs && i < LIST_MAX_ERRORS; i++)
		fprintf(fp, "%s%s:%s%lu: %s", i > 0 ? "\n" : "", b->name,
		    b->errs[i].tag, b->errs[i].line, b->errs[i].msg);
	if (b->nerrs + b->lost > LIST_MAX_ERRORS)
		fprintf(fp, "\n%s: %zu more errors", b->name,
		    b->nerrs + b->lost - LIST_MAX_ERRORS);
	if (b->nerrs == 0 && b->nomem)
		fprintf(fp, "%s: out of memory", b->name);
	if (fclose(fp) != 0) {
		free(text);
		return NULL;
	}
	return text;
}

/* list_fail - set error_r to text (or a fallback) */
static void
list_fail(char **error_r, char *text, const char *name)
{
	if (error_r == NULL) {
		free(text);
		return;
	}
	if (text == NULL && asprintf(&text, "%s: out of memory", name) < 0)
		text = NULL;
	*error_r = text;
}

/* list_pool_add - copy bytes into the pool; its offset, or LIST_NONE */
static uint32_t
list_pool_add(struct list_builder *b, const char *s, size_t len, int lower)
{
	size_t off = b->pool_len, i;
	char *grown;

	if (len == 0 && b->pool_len > 0)
		return 0;
	if (b->pool_len + len + 1 > b->pool_alloc) {
		size_t alloc = b->pool_alloc == 0 ? 4096 : b->pool_alloc;

		while (alloc < b->pool_len + len + 1)
			alloc *= 2;
		if (alloc > UINT32_MAX ||
		    (grown = realloc(b->pool, alloc)) == NULL) {
			b->nomem = 1;
			return LIST_NONE;
		}
		b->pool = grown;
		b->pool_alloc = alloc;
	}
	for (i = 0; i < len; i++)
		b->pool[off + i] =
		    lower ? (char)tolower((unsigned char)s[i]) : s[i];
	b->pool[off + len] = '\0';
	b->pool_len += len + 1;
	return (uint32_t)off;
}

/* list_builder_init - an empty builder; pool offset 0 is "" */
static int
list_builder_init(struct list_builder *b, const char *name, enum list_kind kind)
{
	memset(b, 0, sizeof(*b));
	b->name = name;
	b->kind = kind;
	return list_pool_add(b, "", 0, 0) == LIST_NONE ? -1 : 0;
}

/* list_builder_free - free what a builder still holds */
static void
list_builder_free(struct list_builder *b)
{
	size_t i;

	for (i = 0; i < b->nerrs; i++)
		free(b->errs[i].msg);
	free(b->errs);
	free(b->ents);
	free(b->nets);
	free(b->pool);
	memset(b, 0, sizeof(*b));
}

/* list_grow - room for one more entry */
static int
list_grow(struct list_builder *b)
{
	struct list_ent *ents;
	struct iptree_net *nets;
	size_t alloc;

	if (b->n < b->alloc)
		return 0;
	if (b->n >= LIST_MAX_ENTRIES)
		return -1;
	alloc = b->alloc == 0 ? 1024 : b->alloc * 2;
	if ((ents = reallocarray(b->ents, alloc, sizeof(*ents))) == NULL)
		return -1;
	b->ents = ents;
	if (b->kind == LIST_KIND_IP) {
		nets = reallocarray(b->nets, alloc, sizeof(*nets));
		if (nets == NULL)
			return -1;
		b->nets = nets;
	}
	b->alloc = alloc;
	return 0;
}

/* list_check_address - validate "user@domain", "user@" or "@domain" */
static int
list_check_address(const char *s, size_t len, char *why, size_t why_size)
{
	const char *at;
	size_t local, i;

	at = memchr(s, '@', len);
	if (at == NULL || memchr(at + 1, '@', len - (size_t)(at - s) - 1)) {
		snprintf(why, why_size,
		    "not an address (user@example.com, user@ or "
		    "@example.com): \"%.*s\"",
		    (int)(len > 64 ? 64 : len), s);
		return -1;
	}
	local = (size_t)(at - s);
	if (local == 0 && len == 1) {
		snprintf(why, why_size, "empty address \"@\"");
		return -1;
	}
	/* RFC 5321 4.5.3.1.1: a local-part is at most 64 octets. */
	if (local > 64) {
		snprintf(why, why_size, "local-part over 64 octets");
		return -1;
	}
	for (i = 0; i < local; i++) {
		if ((unsigned char)s[i] <= 0x20 || s[i] == 0x7f ||
		    strchr("<>()[],;:\\\"", s[i]) != NULL) {
			snprintf(why, why_size,
			    "bad byte in local-part \"%.*s\"", (int)local, s);
			return -1;
		}
	}
	if (len - local - 1 > 0 &&
	    domain_name_labels(at + 1, len - local - 1) < 0) {
		snprintf(why, why_size, "not a domain name: \"%.*s\"",
		    (int)(len - local - 1), at + 1);
		return -1;
	}
	return 0;
}

/* list_add_line - validate one parsed line and add its entry */
static void
list_add_line(struct list_builder *b, const char *tag,
    const struct listfile_line *ln, unsigned long line)
{
	struct iptree_net net;
	char why[512];
	const char *e = ln->entry;
	size_t len = ln->entry_len, keylen = len;
	struct list_ent ent;

	memset(&ent, 0, sizeof(ent));
	/* The canonical line must stay a valid line: see listfile.h. */
	if (len + ln->reason_len + (ln->expires != 0 ? 29 : 0) + 1 >
	    LISTFILE_MAX_LINE) {
		list_error(b, tag, line,
		    "line too long once written canonically (over %d bytes)",
		    LISTFILE_MAX_LINE);
		return;
	}
	if (ln->reason_len >= 8 && memcmp(ln->reason, "expires=", 8) == 0) {
		list_error(b, tag, line, "reason starts with \"expires=\"");
		return;
	}
	switch (b->kind) {
	case LIST_KIND_IP:
		if (iptree_net_parse(e, len, &net, why, sizeof(why)) < 0) {
			list_error(b, tag, line, "%s", why);
			return;
		}
		break;
	case LIST_KIND_DOMAIN:
		if (len > 1 && e[len - 1] == '.')
			keylen--;
		if (e[0] == '.' ? domain_name_labels(e + 1, len - 1) < 0 ||
			    (len > 1 && e[1] == '.')
				: domain_name_labels(e, len) < 0) {
			list_error(b, tag, line,
			    "not a domain (example.com or .example.com): "
			    "\"%.*s\"",
			    (int)(len > 64 ? 64 : len), e);
			return;
		}
		break;
	case LIST_KIND_ADDRESS:
		if (list_check_address(e, len, why, sizeof(why)) < 0) {
			list_error(b, tag, line, "%s", why);
			return;
		}
		if (e[len - 1] == '.')
			keylen--;
		break;
	case LIST_KIND_PATTERN:
		/* listfile checked "/.../flags"; the last '/' closes. */
		while (e[keylen - 1] == 'i')
			keylen--;
		if (keylen < 3) {
			list_error(b, tag, line, "empty pattern");
			return;
		}
		keylen = len;
		break;
	}
	if (list_grow(b) < 0) {
		b->nomem = 1;
		return;
	}
	ent.line = (uint32_t)line;
	ent.expires = ln->expires;
	ent.text = list_pool_add(b, e, len, 0);
	ent.reason = list_pool_add(b, ln->reason, ln->reason_len, 0);
	if (b->kind == LIST_KIND_DOMAIN || b->kind == LIST_KIND_ADDRESS)
		ent.key = list_pool_add(b, e, keylen, 1);
	else
		ent.key = ent.text;
	if (ent.text == LIST_NONE || ent.reason == LIST_NONE ||
	    ent.key == LIST_NONE)
		return;
	if (b->kind == LIST_KIND_IP)
		b->nets[b->n] = net;
	b->ents[b->n++] = ent;
}

/* list_parse - parse text into the builder (errors noted in it) */
static void
list_parse(struct list_builder *b, const char *tag, const char *text,
    size_t len, int line_zero)
{
	struct listfile lf;
	struct listfile_line ln;
	char why[256];
	int rc;

	listfile_init(&lf, text, len, b->kind == LIST_KIND_PATTERN);
	while ((rc = listfile_next(&lf, &ln, why, sizeof(why))) != 0) {
		if (b->nomem)
			return;
		if (rc < 0) {
			list_error(b, tag, ln.line, "%s", why);
			continue;
		}
		list_add_line(b, tag, &ln, line_zero ? 0 : ln.line);
	}
}

/* list_ent_cmp - canonical order of two entries (qsort_r) */
static int
list_ent_cmp(const void *x, const void *y, void *arg)
{
	const struct list_builder *b = arg;
	uint32_t i = *(const uint32_t *)x, j = *(const uint32_t *)y;
	int c;

	if (b->kind == LIST_KIND_IP)
		c = iptree_net_compare(&b->nets[i], &b->nets[j]);
	else
		c = strcmp(b->pool + b->ents[i].key, b->pool + b->ents[j].key);
	if (c != 0)
		return c;
	/* Equal entries: the earlier line first, old entries (0) first. */
	return b->ents[i].line < b->ents[j].line
	    ? -1
	    : b->ents[i].line > b->ents[j].line;
}

/* list_same - are entries i and j (sorted positions) the same entry? */
static int
list_same(const struct list_builder *b, size_t i, size_t j)
{
	if (b->kind == LIST_KIND_IP)
		return iptree_net_compare(&b->nets[i], &b->nets[j]) == 0;
	return strcmp(b->pool + b->ents[i].key, b->pool + b->ents[j].key) == 0;
}

/* list_sort - put the entries into canonical order */
static int
list_sort(struct list_builder *b)
{
	struct list_ent *ents = NULL;
	struct iptree_net *nets = NULL;
	uint32_t *perm;
	size_t i;

	if (b->n == 0)
		return 0;
	if ((perm = calloc(b->n, sizeof(*perm))) == NULL)
		return -1;
	for (i = 0; i < b->n; i++)
		perm[i] = (uint32_t)i;
	qsort_r(perm, b->n, sizeof(*perm), list_ent_cmp, b);
	if ((ents = calloc(b->n, sizeof(*ents))) == NULL)
		goto fail;
	if (b->kind == LIST_KIND_IP &&
	    (nets = calloc(b->n, sizeof(*nets))) == NULL)
		goto fail;
	for (i = 0; i < b->n; i++) {
		ents[i] = b->ents[perm[i]];
		if (nets != NULL)
			nets[i] = b->nets[perm[i]];
	}
	free(perm);
	free(b->ents);
	free(b->nets);
	b->ents = ents;
	b->nets = nets;
	b->alloc = b->n;
	return 0;
fail:
	free(perm);
	free(ents);
	free(nets);
	return -1;
}

/* list_dups - note an error for each entry that repeats an earlier one */
static void
list_dups(struct list_builder *b, const char *tag)
{
	size_t i, first = 0;

	for (i = 1; i < b->n; i++) {
		if (!list_same(b, first, i)) {
			first = i;
			continue;
		}
		if (b->ents[first].line == 0)
			list_error(
			    b, tag, b->ents[i].line, "already in the list");
		else
			list_error(b, tag, b->ents[i].line,
			    "duplicate of %sline %lu", tag,
			    (unsigned long)b->ents[first].line);
	}
}

/* list_key - domtable_key_fn: the canonical key of entry i */
static const char *
list_key(const void *arg, size_t i)
{
	const struct list_snapshot *s = arg;

	return s->pool + s->ents[i].key;
}

/* list_entry_line - entry i as a canonical line, without the newline */
int
list_entry_line(const struct list_snapshot *s, size_t i, char *buf, size_t size)
{
	char when[32];
	const struct list_ent *e;
	size_t n;

	if (s == NULL || i >= s->count ||
	    list_entry_canonical(s, i, buf, size) < 0)
		return -1;
	e = &s->ents[i];
	n = strlen(buf);
	if (e->expires != 0) {
		listfile_expires_format((time_t)e->expires, when, sizeof(when));
		n += (size_t)snprintf(
		    buf + n, n < size ? size - n : 0, " expires=%s", when);
	}
	if (s->pool[e->reason] != '\0' && n < size)
		snprintf(buf + n, size - n, " %s", s->pool + e->reason);
	return 0;
}

/* list_checksum_compute - SHA-256 of the canonical lines */
static int
list_checksum_compute(struct list_snapshot *s)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	char line[LIST_LINE_SIZE];
	unsigned int mdlen = 0, k;
	EVP_MD_CTX *ctx;
	size_t i, n;
	int rc = -1;

	if ((ctx = EVP_MD_CTX_new()) == NULL)
		return -1;
	if (EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) != 1)
		goto fail;
	for (i = 0; i < s->count; i++) {
		if (list_entry_line(s, i, line, sizeof(line) - 1) < 0)
			goto fail;
		n = strlen(line);
		line[n++] = '\n';
		if (EVP_DigestUpdate(ctx, line, n) != 1)
			goto fail;
	}
	if (EVP_DigestFinal_ex(ctx, md, &mdlen) != 1 || mdlen != 32)
		goto fail;
	for (k = 0; k < mdlen; k++)
		snprintf(s->checksum + 2 * k, 3, "%02x", md[k]);
	rc = 0;
fail:
	EVP_MD_CTX_free(ctx);
	return rc;
}

/* list_finish - turn a sorted, checked builder into a snapshot */
static struct list_snapshot *
list_finish(struct list_builder *b, uint64_t version, time_t now, int renumber)
{
	struct list_snapshot *s;
	char why[512];
	size_t i;

	if ((s = calloc(1, sizeof(*s))) == NULL)
		return NULL;
	if ((s->name = strdup(b->name)) == NULL)
		goto fail;
	s->kind = b->kind;
	s->version = version;
	s->built = now;
	s->count = b->n;
	s->ents = b->ents;
	s->pool = b->pool;
	s->pool_len = b->pool_len;
	b->ents = NULL;
	b->pool = NULL;
	/* A delta numbers entries as its plain export does: header first. */
	for (i = 0; renumber && i < s->count; i++)
		s->ents[i].line = (uint32_t)(i + 2);
	switch (s->kind) {
	case LIST_KIND_IP:
		if (iptree_build(b->nets, b->n, &s->ip) < 0)
			goto fail;
		break;
	case LIST_KIND_DOMAIN:
	case LIST_KIND_ADDRESS:
		if (domtable_build(s->count, list_key, s, &s->dom) < 0)
			goto fail;
		break;
	case LIST_KIND_PATTERN:
		if ((s->pat = patterns_create()) == NULL)
			goto fail;
		for (i = 0; i < s->count; i++) {
			const char *t = s->pool + s->ents[i].text;
			const char *close = strrchr(t, '/');

			/* Compiled once already at parse: cannot fail. */
			if (patterns_add(s->pat, t + 1, (size_t)(close - t - 1),
				close[1] == 'i', why, sizeof(why)) < 0)
				goto fail;
		}
		if (patterns_finish(s->pat, LIST_PATTERN_JOIN) < 0)
			goto fail;
		break;
	}
	if (list_checksum_compute(s) < 0)
		goto fail;
	return s;
fail:
	list_free(&s);
	return NULL;
}

/* list_check_patterns - compile each pattern once to report its errors */
static void
list_check_patterns(struct list_builder *b, const char *tag)
{
	struct patterns *set;
	char why[512];
	size_t i, keep = 0;

	if ((set = patterns_create()) == NULL) {
		b->nomem = 1;
		return;
	}
	for (i = 0; i < b->n; i++) {
		const char *t = b->pool + b->ents[i].text;
		const char *close = strrchr(t, '/');

		if (patterns_add(set, t + 1, (size_t)(close - t - 1),
			close[1] == 'i', why, sizeof(why)) < 0) {
			list_error(b, tag, b->ents[i].line, "%s", why);
			continue;
		}
		b->ents[keep++] = b->ents[i];
	}
	b->n = keep;
	patterns_free(&set);
}

/* list_build - compile list text into a snapshot */
int
list_build(const char *name, enum list_kind kind, const char *text, size_t len,
    uint64_t version, time_t now, struct list_snapshot **snap_r, char **error_r)
{
	struct list_builder b;
	struct list_snapshot *s = NULL;

	*snap_r = NULL;
	if (error_r != NULL)
		*error_r = NULL;
	if (name == NULL || (unsigned)kind > LIST_KIND_PATTERN) {
		list_fail(
		    error_r, strdup("list_build: bad name or kind"), "list");
		return -1;
	}
	if (list_builder_init(&b, name, kind) < 0)
		goto fail;
	list_parse(&b, "", text, len, 0);
	if (kind == LIST_KIND_PATTERN && !b.nomem)
		list_check_patterns(&b, "");
	if (b.nomem || list_sort(&b) < 0)
		goto fail;
	list_dups(&b, "");
	if (b.nerrs > 0 || b.lost > 0 || b.nomem)
		goto fail;
	if ((s = list_finish(&b, version, now, 0)) == NULL)
		goto fail;
	list_builder_free(&b);
	*snap_r = s;
	return 0;
fail:
	b.nomem = b.nomem || b.nerrs == 0;
	list_fail(error_r, list_errors_text(&b), name);
	list_builder_free(&b);
	return -1;
}

/* list_delta - a new snapshot: old plus adds minus dels */
int
list_delta(const struct list_snapshot *old, const char *adds, size_t adds_len,
    const char *dels, size_t dels_len, uint64_t version, time_t now,
    struct list_snapshot **new_r, char **error_r)
{
	struct list_builder b, d;
	struct list_snapshot *s = NULL;
	char line[LIST_LINE_SIZE];
	size_t i, j, keep;
	int c;

	*new_r = NULL;
	if (error_r != NULL)
		*error_r = NULL;
	if (old == NULL) {
		list_fail(error_r, strdup("list_delta: no list"), "list");
		return -1;
	}
	memset(&d, 0, sizeof(d));
	if (list_builder_init(&b, old->name, old->kind) < 0 ||
	    list_builder_init(&d, old->name, old->kind) < 0)
		goto fail;
	/* The old entries, from their canonical lines, as line 0. */
	for (i = 0; i < old->count && !b.nomem; i++) {
		if (list_entry_line(old, i, line, sizeof(line)) < 0)
			goto fail;
		list_parse(&b, "", line, strlen(line), 1);
	}
	if (b.nerrs > 0)
		goto fail; /* cannot happen: old was valid */
	list_parse(&b, "add:", adds, adds_len, 0);
	list_parse(&d, "del:", dels, dels_len, 0);
	if (old->kind == LIST_KIND_PATTERN)
		list_check_patterns(&b, "add:");
	if (b.nomem || d.nomem || list_sort(&b) < 0 || list_sort(&d) < 0)
		goto fail;
	list_dups(&b, "add:");
	list_dups(&d, "del:");

	/* Merge: each deleted entry must be an old one; drop it. */
	keep = 0;
	for (i = 0, j = 0; i < b.n || j < d.n;) {
		if (i >= b.n) {
			c = 1;
		} else if (j >= d.n) {
			c = -1;
		} else if (b.kind == LIST_KIND_IP) {
			c = iptree_net_compare(&b.nets[i], &d.nets[j]);
		} else {
			c = strcmp(
			    b.pool + b.ents[i].key, d.pool + d.ents[j].key);
		}
		if (c < 0) {
			if (b.kind == LIST_KIND_IP)
				b.nets[keep] = b.nets[i];
			b.ents[keep++] = b.ents[i++];
		} else if (c > 0) {
			if (j == 0 || !list_same(&d, j - 1, j))
				list_error(&b, "del:", d.ents[j].line,
				    "not in the list");
			j++;
		} else {
			/* Equal: an old entry (line 0 sorts first). */
			if (b.ents[i].line != 0)
				list_error(&b, "del:", d.ents[j].line,
				    "not in the list");
			i++;
			j++;
		}
	}
	b.n = keep;
	for (i = 0; i < d.nerrs; i++)
		list_error(
		    &b, d.errs[i].tag, d.errs[i].line, "%s", d.errs[i].msg);
	b.lost += d.lost;
	if (b.nerrs > 0 || b.lost > 0 || b.nomem)
		goto fail;
	if ((s = list_finish(&b, version, now, 1)) == NULL)
		goto fail;
	list_builder_free(&b);
	list_builder_free(&d);
	*new_r = s;
	return 0;
fail:
	b.nomem = b.nomem || b.nerrs == 0;
	list_fail(error_r, list_errors_text(&b), old->name);
	list_builder_free(&b);
	list_builder_free(&d);
	return -1;
}

/* list_alive - has entry i not expired at now? */
static int
list_alive(const struct list_snapshot *s, size_t i, time_t now)
{
	int64_t e = s->ents[i].expires;

	return e == 0 || (int64_t)now < e;
}

/* list_fill_hit - describe entry i */
static void
list_fill_hit(const struct list_snapshot *s, size_t i, struct list_hit *hit_r)
{
	if (hit_r == NULL)
		return;
	hit_r->entry = s->pool + s->ents[i].text;
	hit_r->reason = s->pool + s->ents[i].reason;
	hit_r->expires = (time_t)s->ents[i].expires;
	hit_r->line = s->ents[i].line;
	hit_r->index = i;
}

/* list_match_ip - look an address up in an ip list */
int
list_match_ip(const struct list_snapshot *s, const struct cidr_addr *addr,
    time_t now, struct list_hit *hit_r)
{
	size_t i = IPTREE_NONE;

	if (s == NULL || s->kind != LIST_KIND_IP || addr == NULL)
		return 0;
	while ((i = iptree_match(s->ip, addr, i)) != IPTREE_NONE) {
		if (list_alive(s, i, now)) {
			list_fill_hit(s, i, hit_r);
			return 1;
		}
	}
	return 0;
}

/* list_try - is key an unexpired entry? fills hit_r */
static int
list_try(const struct list_snapshot *s, const char *k, size_t len, time_t now,
    struct list_hit *hit_r)
{
	uint32_t i = domtable_find(s->dom, k, len, list_key, s);

	if (i == DOMTABLE_NONE || !list_alive(s, i, now))
		return 0;
	list_fill_hit(s, i, hit_r);
	return 1;
}

/* list_match_domain - exact name, then .name, then each .parent */
static int
list_match_domain(const struct list_snapshot *s, const char *value, time_t now,
    struct list_hit *hit_r)
{
	char buf[256];
	size_t len = strlen(value), i;

	if (len > 0 && value[len - 1] == '.')
		len--;
	if (len == 0 || len > 253)
		return 0;
	buf[0] = '.';
	for (i = 0; i < len; i++)
		buf[i + 1] = (char)tolower((unsigned char)value[i]);
	buf[len + 1] = '\0';
	if (list_try(s, buf + 1, len, now, hit_r))
		return 1;
	for (i = 0; i < len; i++) {
		if (buf[i] == '.' &&
		    list_try(s, buf + i, len + 1 - i, now, hit_r))
			return 1;
	}
	return 0;
}

/* list_match_address - mailbox, then "user@", then "@domain" */
static int
list_match_address(const struct list_snapshot *s, const char *value, time_t now,
    struct list_hit *hit_r)
{
	char buf[1025];
	size_t len = strlen(value), i, at;
	const char *p;

	if (len >= 2 && value[0] == '<' && value[len - 1] == '>') {
		value++;
		len -= 2;
	}
	if (len == 0 || len >= sizeof(buf))
		return 0;
	for (i = 0; i < len; i++)
		buf[i] = (char)tolower((unsigned char)value[i]);
	if (len > 1 && buf[len - 1] == '.')
		len--;
	buf[len] = '\0';
	if ((p = strrchr(buf, '@')) == NULL)
		return 0;
	at = (size_t)(p - buf);
	if (at > 0 && at + 1 < len && list_try(s, buf, len, now, hit_r))
		return 1;
	if (at > 0 && list_try(s, buf, at + 1, now, hit_r))
		return 1;
	if (at + 1 < len && list_try(s, buf + at, len - at, now, hit_r))
		return 1;
	return 0;
}

struct list_alive_arg {
	const struct list_snapshot *s; /* the snapshot */
	time_t now;		       /* the time */
};

/* list_pattern_alive - patterns_alive_fn for expiry */
static int
list_pattern_alive(const void *arg, size_t index)
{
	const struct list_alive_arg *a = arg;

	return list_alive(a->s, index, a->now);
}

/* list_match - look a value up in a domain, address or pattern list */
int
list_match(const struct list_snapshot *s, const char *value, time_t now,
    struct list_hit *hit_r)
{
	struct list_alive_arg arg;
	struct cidr_addr addr;
	size_t i;
	int rc;

	if (s == NULL || value == NULL)
		return 0;
	switch (s->kind) {
	case LIST_KIND_DOMAIN:
		return list_match_domain(s, value, now, hit_r);
	case LIST_KIND_ADDRESS:
		return list_match_address(s, value, now, hit_r);
	case LIST_KIND_PATTERN:
		arg.s = s;
		arg.now = now;
		rc = patterns_match(s->pat, value,
		    strnlen(value, LIST_MAX_VALUE), list_pattern_alive, &arg,
		    &i);
		if (rc == 1)
			list_fill_hit(s, i, hit_r);
		return rc;
	case LIST_KIND_IP:
		if (cidr_addr_parse(value, &addr) < 0)
			return 0;
		return list_match_ip(s, &addr, now, hit_r);
	}
	return 0;
}

/* list_name - the list's name */
const char *
list_name(const struct list_snapshot *s)
{
	return s == NULL ? "" : s->name;
}

/* list_kind - the list's kind */
enum list_kind
list_kind(const struct list_snapshot *s)
{
	return s == NULL ? LIST_KIND_IP : s->kind;
}

/* list_version - the serial */
uint64_t
list_version(const struct list_snapshot *s)
{
	return s == NULL ? 0 : s->version;
}

/* list_built - the build time */
time_t
list_built(const struct list_snapshot *s)
{
	return s == NULL ? 0 : s->built;
}

/* list_count - number of entries */
size_t
list_count(const struct list_snapshot *s)
{
	return s == NULL ? 0 : s->count;
}

/* list_checksum - SHA-256 of the canonical content, hex */
const char *
list_checksum(const struct list_snapshot *s)
{
	return s == NULL ? "" : s->checksum;
}

/* list_memory - bytes the snapshot allocated, about */
size_t
list_memory(const struct list_snapshot *s)
{
	if (s == NULL)
		return 0;
	return sizeof(*s) + s->count * sizeof(*s->ents) + s->pool_len +
	    iptree_memory(s->ip) + domtable_memory(s->dom);
}

/* list_entry - entry i in canonical order */
int
list_entry(const struct list_snapshot *s, size_t i, struct list_hit *hit_r)
{
	if (s == NULL || i >= s->count)
		return -1;
	list_fill_hit(s, i, hit_r);
	return 0;
}

/* list_entry_canonical - entry i in canonical form */
int
list_entry_canonical(
    const struct list_snapshot *s, size_t i, char *buf, size_t size)
{
	struct iptree_net net;

	if (s == NULL || i >= s->count || size == 0)
		return -1;
	if (s->kind == LIST_KIND_IP) {
		if (iptree_get(s->ip, i, &net) < 0)
			return -1;
		iptree_net_format(&net, buf, size);
	} else {
		snprintf(buf, size, "%s", s->pool + s->ents[i].key);
	}
	return 0;
}

/* list_free - free a snapshot and set *snap to NULL */
void
list_free(struct list_snapshot **snap)
{
	struct list_snapshot *s;

	if (snap == NULL || (s = *snap) == NULL)
		return;
	free(s->name);
	free(s->ents);
	free(s->pool);
	iptree_free(&s->ip);
	domtable_free(&s->dom);
	patterns_free(&s->pat);
	free(s);
	*snap = NULL;
}
