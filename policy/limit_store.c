/*
 * NAME
 *	limit_store - the store interface, overrides and CSV import
 * SUMMARY
 *	Argument checks and dispatch to a store's operations; override
 *	text; the CSV parser both stores validate imports with; the top N
 *	heap; "limit get" text.
 * DESCRIPTION
 *	See limit_store.h. Every public call checks the account name
 *	(ratelimit_account_check) before a store sees it, so a name with
 *	odd bytes or of any length never reaches LMDB or Redis.
 *	CSV: every line is checked and every error kept (up to
 *	LIMIT_KEEP_ERRORS; the first LIMIT_MAX_ERRORS by line are
 *	reported); the rows are then sorted by account, which finds
 *	accounts listed twice and gives LMDB its key order.
 * THREADS
 *	Pure apart from the store calls (see limit_store.h).
 * OWNERSHIP
 *	Error texts are allocated for the caller.
 */
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "policy/limit_store.h"
#include "policy/limit_store_impl.h"
#include "policy/ratelimit.h"

#define LIMIT_LINE_MAX 4096	 /* bytes in a CSV line */
#define LIMIT_KEEP_ERRORS 1000	 /* CSV errors kept while checking */
#define LIMIT_MAX_ROWS 100000000 /* lines in one import */

/* limit_error - set *error_r to a formatted text */
int
limit_error(int rc, char **error_r, const char *fmt, ...)
{
	va_list ap;

	if (error_r == NULL)
		return rc;
	va_start(ap, fmt);
	if (vasprintf(error_r, fmt, ap) < 0)
		*error_r = strdup("out of memory");
	va_end(ap);
	return rc;
}

/* limit_check_account - a NUL-ended account name a store may see */
static int
limit_check_account(const char *account, size_t *len_r, char **error_r)
{
	char why[128];
	size_t len;

	if (account == NULL)
		return limit_error(-1, error_r, "no account name");
	len = strlen(account);
	if (ratelimit_account_check(account, len, why, sizeof(why)) < 0)
		return limit_error(-1, error_r, "%s", why);
	*len_r = len;
	return 0;
}

/* limit_policy_check - a policy a store can use */
static int
limit_policy_check(const struct ratelimit_policy *policy, char **error_r)
{
	char why[256];
	size_t i, j;

	if (policy->nclasses == 0 || policy->nclasses > RATELIMIT_MAX_CLASSES ||
	    policy->default_class >= policy->nclasses)
		return limit_error(-1, error_r,
		    "policy: 1 to %d classes and a default one",
		    RATELIMIT_MAX_CLASSES);
	for (i = 0; i < policy->nclasses; i++) {
		const struct ratelimit_class *c = &policy->cls[i];

		if (memchr(c->name, '\0', sizeof(c->name)) == NULL ||
		    ratelimit_class_name_check(c->name, why, sizeof(why)) < 0)
			return limit_error(-1, error_r, "policy: %s", why);
		if (c->ncaps > RATELIMIT_MAX_CAPS)
			return limit_error(-1, error_r,
			    "policy: class %s has too many caps", c->name);
		for (j = 0; j < c->ncaps; j++) {
			if (c->cap[j].window == 0 ||
			    c->cap[j].window > RATELIMIT_MAX_WINDOW ||
			    c->cap[j].max > RATELIMIT_MAX_VALUE)
				return limit_error(-1, error_r,
				    "policy: class %s: bad cap %zu", c->name,
				    j + 1);
		}
		for (j = 0; j < i; j++) {
			if (strcmp(policy->cls[j].name, c->name) == 0)
				return limit_error(-1, error_r,
				    "policy: class %s twice", c->name);
		}
	}
	return 0;
}

/* limit_store_base_init - set up the shared part of a store */
int
limit_store_base_init(struct limit_store *store,
    const struct limit_store_ops *ops, const struct ratelimit_policy *policy,
    char **error_r)
{
	if (limit_policy_check(policy, error_r) < 0)
		return -1;
	if ((store->policy = malloc(sizeof(*store->policy))) == NULL)
		return limit_error(-1, error_r, "out of memory");
	*store->policy = *policy;
	if (pthread_rwlock_init(&store->lock, NULL) != 0) {
		free(store->policy);
		store->policy = NULL;
		return limit_error(-1, error_r, "cannot make a lock");
	}
	store->ops = ops;
	store->generation = 1;
	return 0;
}

/* limit_store_base_fini - free the shared part of a store */
void
limit_store_base_fini(struct limit_store *store)
{
	if (store->policy == NULL)
		return;
	pthread_rwlock_destroy(&store->lock);
	free(store->policy);
	store->policy = NULL;
}

/* limit_store_resolve - limit_resolve under the policy lock */
int
limit_store_resolve(struct limit_store *store, const char *text, size_t len,
    struct limit_info *info, char *why, size_t size)
{
	int rc;

	limit_rdlock(&store->lock);
	rc = limit_resolve(store->policy, text, len, info, why, size);
	limit_rwunlock(&store->lock);
	return rc;
}

/* limit_store_policy_copy - a copy of the current policy */
struct ratelimit_policy *
limit_store_policy_copy(struct limit_store *store, unsigned long *generation_r)
{
	struct ratelimit_policy *copy;

	if ((copy = malloc(sizeof(*copy))) == NULL)
		return NULL;
	limit_rdlock(&store->lock);
	*copy = *store->policy;
	if (generation_r != NULL)
		*generation_r = store->generation;
	limit_rwunlock(&store->lock);
	return copy;
}

/* limit_store_reserve - check and charge one request */
int
limit_store_reserve(struct limit_store *store, const char *account,
    const struct ratelimit_request *req, int64_t now,
    struct ratelimit_decision *d, struct ratelimit_token *tok, char **error_r)
{
	size_t len;

	memset(d, 0, sizeof(*d));
	memset(tok, 0, sizeof(*tok));
	if (limit_check_account(account, &len, error_r) < 0)
		return -1;
	return store->ops->reserve(
	    store, account, len, req, now, d, tok, error_r);
}

/* limit_store_refund - give back a reservation */
int
limit_store_refund(struct limit_store *store, const char *account,
    const struct ratelimit_token *tok, int64_t now, char **error_r)
{
	size_t len;

	if (limit_check_account(account, &len, error_r) < 0)
		return -1;
	if (tok->rcpts == 0 && tok->msgs == 0)
		return 0;
	return store->ops->refund(store, account, len, tok, now, error_r);
}

/* limit_store_get - an account's override, class and counts */
int
limit_store_get(struct limit_store *store, const char *account, int64_t now,
    struct limit_info *info, char **error_r)
{
	size_t len;

	memset(info, 0, sizeof(*info));
	if (limit_check_account(account, &len, error_r) < 0)
		return -1;
	if (now < 0 || now > RATELIMIT_TIME_MAX)
		return limit_error(-1, error_r, "time out of range");
	return store->ops->get(store, account, len, now, info, error_r);
}

/* limit_override_check - an override the store's policy can apply */
static int
limit_override_check(
    struct limit_store *store, const struct limit_override *ov, char **error_r)
{
	char why[256];
	bool found;
	size_t i;

	switch (ov->kind) {
	case LIMIT_OVERRIDE_NONE:
		return 0;
	case LIMIT_OVERRIDE_CLASS:
		if (memchr(ov->class_name, '\0', sizeof(ov->class_name)) ==
			NULL ||
		    ratelimit_class_name_check(
			ov->class_name, why, sizeof(why)) < 0)
			return limit_error(-1, error_r, "bad class name");
		limit_rdlock(&store->lock);
		found = ratelimit_policy_find(store->policy, ov->class_name) !=
		    NULL;
		limit_rwunlock(&store->lock);
		if (!found)
			return limit_error(
			    -1, error_r, "no class \"%s\"", ov->class_name);
		return 0;
	case LIMIT_OVERRIDE_CAPS:
		if (ov->caps.ncaps > RATELIMIT_MAX_CAPS)
			return limit_error(-1, error_r, "too many caps");
		for (i = 0; i < ov->caps.ncaps; i++) {
			if (ov->caps.cap[i].window == 0 ||
			    ov->caps.cap[i].window > RATELIMIT_MAX_WINDOW ||
			    ov->caps.cap[i].max > RATELIMIT_MAX_VALUE)
				return limit_error(
				    -1, error_r, "bad cap %zu", i + 1);
		}
		return 0;
	default:
		return limit_error(-1, error_r, "bad override");
	}
}

/* limit_store_set_override - set or remove an account's override */
int
limit_store_set_override(struct limit_store *store, const char *account,
    const struct limit_override *ov, char **error_r)
{
	char text[RATELIMIT_SPEC_MAX + 1];
	size_t len;

	if (limit_check_account(account, &len, error_r) < 0)
		return -1;
	if (limit_override_check(store, ov, error_r) < 0)
		return -1;
	if (limit_override_format(ov, text, sizeof(text)) < 0)
		return limit_error(-1, error_r, "override too long");
	return store->ops->set_override(store, account, len, text, error_r);
}

/* limit_store_reset - forget an account's counts and block */
int
limit_store_reset(
    struct limit_store *store, const char *account, char **error_r)
{
	size_t len;

	if (limit_check_account(account, &len, error_r) < 0)
		return -1;
	return store->ops->reset(store, account, len, error_r);
}

/* limit_store_top - the heaviest senders now */
int
limit_store_top(struct limit_store *store, size_t n, int64_t now,
    struct limit_top *top, size_t *count_r, char **error_r)
{
	*count_r = 0;
	if (n > LIMIT_MAX_TOP)
		return limit_error(
		    -1, error_r, "top %zu: at most %d", n, LIMIT_MAX_TOP);
	if (now < 0 || now > RATELIMIT_TIME_MAX)
		return limit_error(-1, error_r, "time out of range");
	if (n == 0)
		return 0;
	return store->ops->top(store, n, now, top, count_r, error_r);
}

/* limit_store_expire - delete the states of idle accounts */
int
limit_store_expire(
    struct limit_store *store, int64_t now, size_t *removed_r, char **error_r)
{
	size_t removed = 0;
	int rc;

	if (now < 0 || now > RATELIMIT_TIME_MAX)
		return limit_error(-1, error_r, "time out of range");
	rc = store->ops->expire(store, now, &removed, error_r);
	if (removed_r != NULL)
		*removed_r = removed;
	return rc;
}

/* limit_store_set_policy - new classes */
int
limit_store_set_policy(struct limit_store *store,
    const struct ratelimit_policy *policy, char **error_r)
{
	struct ratelimit_policy *copy;

	if (limit_policy_check(policy, error_r) < 0)
		return -1;
	if ((copy = malloc(sizeof(*copy))) == NULL)
		return limit_error(-1, error_r, "out of memory");
	*copy = *policy;
	limit_wrlock(&store->lock);
	free(store->policy);
	store->policy = copy;
	store->generation++;
	limit_rwunlock(&store->lock);
	return 0;
}

/* limit_store_sync - flush to disk */
int
limit_store_sync(struct limit_store *store, char **error_r)
{
	return store->ops->sync(store, error_r);
}

/* limit_store_close - close a store */
void
limit_store_close(struct limit_store **store)
{
	if (store == NULL || *store == NULL)
		return;
	(*store)->ops->close(*store);
	*store = NULL;
}

/* limit_store_kind - "lmdb" or "redis" */
const char *
limit_store_kind(const struct limit_store *store)
{
	return store->ops->kind;
}

/* limit_is_caps - does override text hold caps rather than a name? */
static bool
limit_is_caps(const char *text)
{
	return strpbrk(text, "/=") != NULL || strcasecmp(text, "none") == 0;
}

/* limit_override_parse - override text to an override */
int
limit_override_parse(const struct ratelimit_policy *policy, const char *text,
    struct limit_override *ov, char *why, size_t size)
{
	char name[RATELIMIT_NAME_MAX];
	size_t len;

	memset(ov, 0, sizeof(*ov));
	if (text == NULL || *text == '\0' || strcmp(text, "-") == 0) {
		ov->kind = LIMIT_OVERRIDE_NONE;
		return 0;
	}
	/* Not caps, nor a name: say what is wrong with it as caps. */
	if (limit_is_caps(text) ||
	    ratelimit_class_name_check(text, NULL, 0) < 0) {
		if (ratelimit_class_parse(NULL, text, &ov->caps, why, size) < 0)
			return -1;
		ov->kind = LIMIT_OVERRIDE_CAPS;
		return 0;
	}
	len = strlen(text);
	memcpy(name, text, len + 1);
	if (policy != NULL && ratelimit_policy_find(policy, name) == NULL) {
		snprintf(why, size, "no class \"%s\"", name);
		return -1;
	}
	ov->kind = LIMIT_OVERRIDE_CLASS;
	memcpy(ov->class_name, name, len + 1);
	return 0;
}

/* limit_override_format - the stored text of an override */
int
limit_override_format(const struct limit_override *ov, char *buf, size_t size)
{
	if (size == 0)
		return -1;
	switch (ov->kind) {
	case LIMIT_OVERRIDE_CLASS:
		if (snprintf(buf, size, "%s", ov->class_name) >= (int)size)
			return -1;
		return 0;
	case LIMIT_OVERRIDE_CAPS:
		return ratelimit_class_format(&ov->caps, buf, size);
	default:
		buf[0] = '\0';
		return 0;
	}
}

/* limit_resolve - the effective class from a stored override */
int
limit_resolve(const struct ratelimit_policy *policy, const char *text,
    size_t len, struct limit_info *info, char *why, size_t size)
{
	char buf[RATELIMIT_SPEC_MAX + 1];
	const struct ratelimit_class *cls;

	info->class_unknown = false;
	memset(&info->override, 0, sizeof(info->override));
	if (text == NULL || len == 0) {
		info->cls = *ratelimit_policy_default(policy);
		return 0;
	}
	if (len > RATELIMIT_SPEC_MAX) {
		snprintf(why, size, "stored override of %zu bytes", len);
		return -1;
	}
	memcpy(buf, text, len);
	buf[len] = '\0';
	if (limit_override_parse(NULL, buf, &info->override, why, size) < 0)
		return -1;
	if (info->override.kind == LIMIT_OVERRIDE_CAPS) {
		info->cls = info->override.caps;
		return 0;
	}
	cls = NULL;
	if (info->override.kind == LIMIT_OVERRIDE_CLASS)
		cls = ratelimit_policy_find(policy, info->override.class_name);
	if (cls == NULL) {
		info->class_unknown =
		    info->override.kind != LIMIT_OVERRIDE_NONE;
		cls = ratelimit_policy_default(policy);
	}
	info->cls = *cls;
	return 0;
}

/* limit_info_text - "limit get" as text */
int
limit_info_text(
    const struct limit_info *info, enum ratelimit_tz tz, char *buf, size_t size)
{
	char spec[RATELIMIT_SPEC_MAX + 1], usage[2048];
	int n, rc = 0;

	if (size == 0)
		return -1;
	if (ratelimit_class_format(&info->cls, spec, sizeof(spec)) < 0)
		rc = -1;
	if (ratelimit_usage_text(&info->usage, tz, usage, sizeof(usage)) < 0)
		rc = -1;
	if (info->override.kind == LIMIT_OVERRIDE_CAPS)
		n = snprintf(
		    buf, size, "explicit caps (override): %s\n%s", spec, usage);
	else if (info->class_unknown)
		n = snprintf(buf, size,
		    "class %s (override names unknown class %s; default "
		    "applies): %s\n%s",
		    info->cls.name, info->override.class_name, spec, usage);
	else
		n = snprintf(buf, size, "class %s%s: %s\n%s", info->cls.name,
		    info->override.kind == LIMIT_OVERRIDE_CLASS ? " (override)"
								: "",
		    spec, usage);
	if (n < 0 || (size_t)n >= size)
		rc = -1;
	return rc;
}

/* limit_key_cmp - LMDB's default key order */
int
limit_key_cmp(const char *a, size_t alen, const char *b, size_t blen)
{
	int c = memcmp(a, b, alen < blen ? alen : blen);

	if (c != 0)
		return c;
	return alen < blen ? -1 : alen > blen ? 1 : 0;
}

struct limit_csv_err {
	unsigned long line; /* line number */
	char *msg;	    /* why (owned) */
};

struct limit_csv_build {
	struct limit_csv *csv;	    /* the result being built */
	size_t rows_alloc;	    /* rows allocated */
	size_t *acc_off;	    /* pool offsets while the pool grows */
	size_t *val_off;	    /* same, values */
	struct limit_csv_err *errs; /* errors kept */
	size_t nerrs;		    /* errors kept */
	size_t errs_alloc;	    /* allocated */
	size_t lost;		    /* errors not kept */
	bool nomem;		    /* out of memory */
};

/* limit_csv_error - note an error at a line */
static void __attribute__((format(printf, 3, 4))) limit_csv_error(
    struct limit_csv_build *b, unsigned long line, const char *fmt, ...)
{
	struct limit_csv_err *grown;
	va_list ap;
	char *msg;

	if (b->nerrs >= LIMIT_KEEP_ERRORS) {
		b->lost++;
		return;
	}
	if (b->nerrs == b->errs_alloc) {
		size_t alloc = b->errs_alloc == 0 ? 16 : b->errs_alloc * 2;

		grown = reallocarray(b->errs, alloc, sizeof(*grown));
		if (grown == NULL) {
			b->nomem = true;
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
		b->nomem = true;
		return;
	}
	b->errs[b->nerrs].line = line;
	b->errs[b->nerrs].msg = msg;
	b->nerrs++;
}

/* limit_csv_pool_add - copy bytes and a NUL into the pool */
static int
limit_csv_pool_add(
    struct limit_csv *csv, const char *s, size_t len, size_t *off_r)
{
	if (csv->pool_len + len + 1 > csv->pool_alloc) {
		size_t alloc = csv->pool_alloc == 0 ? 65536 : csv->pool_alloc;
		char *grown;

		while (csv->pool_len + len + 1 > alloc)
			alloc *= 2;
		if ((grown = realloc(csv->pool, alloc)) == NULL)
			return -1;
		csv->pool = grown;
		csv->pool_alloc = alloc;
	}
	memcpy(csv->pool + csv->pool_len, s, len);
	csv->pool[csv->pool_len + len] = '\0';
	*off_r = csv->pool_len;
	csv->pool_len += len + 1;
	return 0;
}

/* limit_csv_add_row - a checked row */
static void
limit_csv_add_row(struct limit_csv_build *b, const char *account, size_t alen,
    const char *value, unsigned long line)
{
	struct limit_csv *csv = b->csv;
	size_t aoff, voff;

	if (csv->nrows == b->rows_alloc) {
		size_t alloc = b->rows_alloc == 0 ? 1024 : b->rows_alloc * 2;
		struct limit_csv_row *rows;
		size_t *ao, *vo;

		if ((rows = reallocarray(csv->rows, alloc, sizeof(*rows))) ==
		    NULL) {
			b->nomem = true;
			return;
		}
		csv->rows = rows;
		if ((ao = reallocarray(b->acc_off, alloc, sizeof(*ao))) ==
		    NULL) {
			b->nomem = true;
			return;
		}
		b->acc_off = ao;
		if ((vo = reallocarray(b->val_off, alloc, sizeof(*vo))) ==
		    NULL) {
			b->nomem = true;
			return;
		}
		b->val_off = vo;
		b->rows_alloc = alloc;
	}
	if (limit_csv_pool_add(csv, account, alen, &aoff) < 0 ||
	    limit_csv_pool_add(csv, value, strlen(value), &voff) < 0) {
		b->nomem = true;
		return;
	}
	b->acc_off[csv->nrows] = aoff;
	b->val_off[csv->nrows] = voff;
	csv->rows[csv->nrows].account_len = alen;
	csv->rows[csv->nrows].line = line;
	csv->nrows++;
}

/* limit_csv_trim - drop blanks at both ends of [*s, *e) */
static void
limit_csv_trim(const char **s, const char **e)
{
	while (*s < *e && (**s == ' ' || **s == '\t'))
		(*s)++;
	while (*e > *s && ((*e)[-1] == ' ' || (*e)[-1] == '\t'))
		(*e)--;
}

/*
 * limit_csv_field - one field from p (up to end), unquoted into out;
 * *next is where the field ended (at the comma, or end)
 * Returns the field length, or -1 for a bad quote.
 */
static long
limit_csv_field(
    const char *p, const char *end, bool to_end, char *out, const char **next)
{
	const char *s = p, *e;
	size_t o = 0;

	while (s < end && (*s == ' ' || *s == '\t'))
		s++;
	if (s < end && *s == '"') {
		for (s++; s < end; s++) {
			if (*s == '"') {
				if (s + 1 < end && s[1] == '"') {
					out[o++] = '"';
					s++;
					continue;
				}
				break;
			}
			out[o++] = *s;
		}
		if (s >= end)
			return -1;
		for (s++; s < end && (*s == ' ' || *s == '\t'); s++)
			;
		if (s < end && (to_end || *s != ','))
			return -1;
		*next = s;
		out[o] = '\0';
		return (long)o;
	}
	e = to_end ? end : memchr(s, ',', (size_t)(end - s));
	if (e == NULL)
		e = end;
	*next = e;
	limit_csv_trim(&s, &e);
	memcpy(out, s, (size_t)(e - s));
	out[e - s] = '\0';
	return (long)(e - s);
}

/* limit_csv_line - check one line and keep its row */
static void
limit_csv_line(struct limit_csv_build *b, const struct ratelimit_policy *policy,
    const char *line, size_t len, unsigned long lineno)
{
	char account[LIMIT_LINE_MAX + 1], value[LIMIT_LINE_MAX + 1];
	char stored[RATELIMIT_SPEC_MAX + 1], why[256];
	const char *end = line + len, *next;
	struct limit_override ov;
	long alen, vlen;

	if (len > LIMIT_LINE_MAX) {
		limit_csv_error(
		    b, lineno, "line longer than %d bytes", LIMIT_LINE_MAX);
		return;
	}
	if (memchr(line, '\0', len) != NULL) {
		limit_csv_error(b, lineno, "NUL byte");
		return;
	}
	alen = limit_csv_field(line, end, false, account, &next);
	if (alen < 0) {
		limit_csv_error(b, lineno, "unterminated or misplaced quote");
		return;
	}
	if (next >= end || *next != ',') {
		limit_csv_error(
		    b, lineno, "want ACCOUNT,CLASS or ACCOUNT,CAPS");
		return;
	}
	vlen = limit_csv_field(next + 1, end, true, value, &next);
	if (vlen < 0) {
		limit_csv_error(b, lineno, "unterminated or misplaced quote");
		return;
	}
	if (ratelimit_account_check(account, (size_t)alen, why, sizeof(why)) <
	    0) {
		limit_csv_error(b, lineno, "%s", why);
		return;
	}
	if (strlen(value) != (size_t)vlen) {
		limit_csv_error(b, lineno, "NUL byte");
		return;
	}
	if (limit_override_parse(policy, value, &ov, why, sizeof(why)) < 0) {
		limit_csv_error(b, lineno, "%s", why);
		return;
	}
	if (limit_override_format(&ov, stored, sizeof(stored)) < 0) {
		limit_csv_error(b, lineno, "override too long");
		return;
	}
	limit_csv_add_row(b, account, (size_t)alen, stored, lineno);
}

/* limit_csv_row_cmp - rows by account, then line */
static int
limit_csv_row_cmp(const void *a, const void *b)
{
	const struct limit_csv_row *x = a, *y = b;
	int c = limit_key_cmp(
	    x->account, x->account_len, y->account, y->account_len);

	if (c != 0)
		return c;
	return x->line < y->line ? -1 : x->line > y->line;
}

/* limit_csv_err_cmp - errors by line */
static int
limit_csv_err_cmp(const void *a, const void *b)
{
	const struct limit_csv_err *x = a, *y = b;

	if (x->line != y->line)
		return x->line < y->line ? -1 : 1;
	return strcmp(x->msg, y->msg);
}

/* limit_csv_errors - the first errors as one text */
static char *
limit_csv_errors(struct limit_csv_build *b)
{
	char *text = NULL;
	size_t size = 0, i;
	FILE *fp;

	if ((fp = open_memstream(&text, &size)) == NULL)
		return NULL;
	qsort(b->errs, b->nerrs, sizeof(*b->errs), limit_csv_err_cmp);
	for (i = 0; i < b->nerrs && i < LIMIT_MAX_ERRORS; i++)
		fprintf(fp, "%sline %lu: %s", i > 0 ? "\n" : "",
		    b->errs[i].line, b->errs[i].msg);
	if (b->nerrs + b->lost > LIMIT_MAX_ERRORS)
		fprintf(fp, "\n%zu more errors",
		    b->nerrs + b->lost - LIMIT_MAX_ERRORS);
	if (b->nerrs == 0 && b->nomem)
		fprintf(fp, "out of memory");
	if (fclose(fp) != 0) {
		free(text);
		return NULL;
	}
	return text;
}

/* limit_csv_is_header - "account,class" or "account,caps" */
static bool
limit_csv_is_header(const char *line, size_t len)
{
	while (len > 0 && (line[len - 1] == ' ' || line[len - 1] == '\t'))
		len--;
	return (len == 13 && strncasecmp(line, "account,class", 13) == 0) ||
	    (len == 12 && strncasecmp(line, "account,caps", 12) == 0);
}

/* limit_csv_parse - check a whole CSV file */
int
limit_csv_parse(const struct ratelimit_policy *policy, const char *text,
    size_t len, struct limit_csv **csv_r, char **error_r)
{
	struct limit_csv_build b;
	const char *p = text, *end = text + len, *nl, *s;
	unsigned long lineno = 0;
	bool first = true;
	size_t i, n;
	char *msg;

	*csv_r = NULL;
	memset(&b, 0, sizeof(b));
	if ((b.csv = calloc(1, sizeof(*b.csv))) == NULL)
		return limit_error(-1, error_r, "out of memory");
	while (p < end && !b.nomem) {
		nl = memchr(p, '\n', (size_t)(end - p));
		n = nl != NULL ? (size_t)(nl - p) : (size_t)(end - p);
		lineno++;
		if (n > 0 && p[n - 1] == '\r')
			n--;
		s = p;
		p = nl != NULL ? nl + 1 : end;
		while (n > 0 && (*s == ' ' || *s == '\t')) {
			s++;
			n--;
		}
		if (n == 0 || *s == '#')
			continue;
		if (first && limit_csv_is_header(s, n)) {
			first = false;
			continue;
		}
		first = false;
		if (b.csv->nrows >= LIMIT_MAX_ROWS) {
			limit_csv_error(
			    &b, lineno, "more than %d lines", LIMIT_MAX_ROWS);
			break;
		}
		limit_csv_line(&b, policy, s, n, lineno);
	}
	if (!b.nomem) {
		for (i = 0; i < b.csv->nrows; i++) {
			b.csv->rows[i].account = b.csv->pool + b.acc_off[i];
			b.csv->rows[i].value = b.csv->pool + b.val_off[i];
		}
		if (b.csv->nrows > 1)
			qsort(b.csv->rows, b.csv->nrows, sizeof(b.csv->rows[0]),
			    limit_csv_row_cmp);
		for (i = 1; i < b.csv->nrows; i++) {
			const struct limit_csv_row *x = &b.csv->rows[i - 1];
			const struct limit_csv_row *y = &b.csv->rows[i];

			if (limit_key_cmp(x->account, x->account_len,
				y->account, y->account_len) == 0)
				limit_csv_error(&b, y->line,
				    "account also on line %lu", x->line);
		}
	}
	free(b.acc_off);
	free(b.val_off);
	if (b.nerrs > 0 || b.lost > 0 || b.nomem) {
		msg = limit_csv_errors(&b);
		if (error_r != NULL)
			*error_r = msg != NULL ? msg : strdup("out of memory");
		else
			free(msg);
		for (i = 0; i < b.nerrs; i++)
			free(b.errs[i].msg);
		free(b.errs);
		limit_csv_free(&b.csv);
		return -1;
	}
	free(b.errs);
	*csv_r = b.csv;
	return 0;
}

/* limit_csv_free - free parsed rows */
void
limit_csv_free(struct limit_csv **csv)
{
	if (csv == NULL || *csv == NULL)
		return;
	free((*csv)->rows);
	free((*csv)->pool);
	free(*csv);
	*csv = NULL;
}

/* limit_store_import - apply a CSV file of overrides, all or nothing */
int
limit_store_import(struct limit_store *store, const char *text, size_t len,
    unsigned flags, size_t *count_r, char **error_r)
{
	struct ratelimit_policy *policy;
	struct limit_csv *csv = NULL;
	int rc;

	if (count_r != NULL)
		*count_r = 0;
	if ((flags & ~(unsigned)LIMIT_IMPORT_REPLACE) != 0)
		return limit_error(-1, error_r, "unknown import flags");
	if ((policy = limit_store_policy_copy(store, NULL)) == NULL)
		return limit_error(-1, error_r, "out of memory");
	rc = limit_csv_parse(policy, text, len, &csv, error_r);
	free(policy);
	if (rc < 0)
		return -1;
	rc = store->ops->import(store, csv, flags, error_r);
	if (rc == 0 && count_r != NULL)
		*count_r = csv->nrows;
	limit_csv_free(&csv);
	return rc;
}

/* limit_top_lighter - is a lighter than b? (less used, or later name) */
static bool
limit_top_lighter(const struct limit_top *a, const struct limit_top *b)
{
	if (a->used != b->used)
		return a->used < b->used;
	return strcmp(a->account, b->account) > 0;
}

/* limit_top_swap - swap two entries */
static void
limit_top_swap(struct limit_top *a, struct limit_top *b)
{
	struct limit_top t = *a;

	*a = *b;
	*b = t;
}

/* limit_top_down - restore the heap below i */
static void
limit_top_down(struct limit_top *heap, size_t count, size_t i)
{
	for (;;) {
		size_t l = 2 * i + 1, r = l + 1, m = i;

		if (l < count && limit_top_lighter(&heap[l], &heap[m]))
			m = l;
		if (r < count && limit_top_lighter(&heap[r], &heap[m]))
			m = r;
		if (m == i)
			return;
		limit_top_swap(&heap[i], &heap[m]);
		i = m;
	}
}

/* limit_top_add - keep the n heaviest in a min-heap */
void
limit_top_add(struct limit_top *heap, size_t n, size_t *count,
    const char *account, size_t len, uint32_t used,
    const struct ratelimit_cap *cap)
{
	struct limit_top e;
	size_t i;

	if (n == 0 || len > RATELIMIT_ACCOUNT_MAX)
		return;
	memset(&e, 0, sizeof(e));
	memcpy(e.account, account, len);
	e.used = used;
	e.cap = *cap;
	if (*count < n) {
		i = (*count)++;
		heap[i] = e;
		while (
		    i > 0 && limit_top_lighter(&heap[i], &heap[(i - 1) / 2])) {
			limit_top_swap(&heap[i], &heap[(i - 1) / 2]);
			i = (i - 1) / 2;
		}
		return;
	}
	if (!limit_top_lighter(&heap[0], &e))
		return;
	heap[0] = e;
	limit_top_down(heap, *count, 0);
}

/* limit_top_cmp - heaviest first */
static int
limit_top_cmp(const void *a, const void *b)
{
	const struct limit_top *x = a, *y = b;

	if (limit_top_lighter(y, x))
		return -1;
	if (limit_top_lighter(x, y))
		return 1;
	return 0;
}

/* limit_top_sort - heap to heaviest first */
void
limit_top_sort(struct limit_top *heap, size_t count)
{
	qsort(heap, count, sizeof(*heap), limit_top_cmp);
}
