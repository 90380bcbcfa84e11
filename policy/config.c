/*
 * NAME
 *	config - sakimori's configuration: schema, parser, effective dump
 * SUMMARY
 *	libconfuse parses; the schema (config_schema.c) says what is valid;
 *	the result is a fresh, immutable struct config.
 * DESCRIPTION
 *	See config.h. The libconfuse option array is built from the schema
 *	for each load. Every value is checked in a libconfuse parse
 *	callback, while the lexer still knows the line, so errors read
 *	"file:line: key: why"; -o overrides go through the same callbacks
 *	and read "-o key: why". libconfuse's own messages (syntax, unknown
 *	option) are caught by an error function and get the same prefix.
 *	Nothing is printed or logged: the first error comes back in error_r.
 * THREADS
 *	libconfuse's lexer keeps its state in globals (flex, not
 *	reentrant), so config_load holds config_lock around all libconfuse
 *	calls; loads in several threads are safe but run one at a time.
 *	The per-load error state travels with the cfg_t (config_ctx_*), not
 *	in a global. A loaded struct config is immutable.
 * OWNERSHIP
 *	struct config owns all its strings, arrays and its cidr_set;
 *	config_free() releases them.
 * ERRORS
 *	"FILE: strerror" for a file that cannot be opened;
 *	"FILE:LINE: KEY: why" or "FILE:LINE: libconfuse message" for bad
 *	input; "-o KEY: why" for a bad override; "FILE: KEY: why" when no
 *	line applies (authserv_id from the host name, out of memory).
 */
#include <sys/stat.h>

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <confuse.h>

#include "lists/cidr.h"
#include "lists/domain.h"
#include "policy/config.h"
#include "lists/list.h"
#include "lists/listfile.h"
#include "lists/listsign.h"
#include "policy/ratelimit.h"
#include "policy/dnsbl_map.h"
#include "policy/keytable.h"
#include "policy/config_schema.h"
#include "policy/result.h"
#include "policy/verdict.h"

/* Largest config file we read. */
#define CONFIG_FILE_MAX (1024 * 1024)

/* Serializes libconfuse, whose lexer is not reentrant. */
static pthread_mutex_t config_lock = PTHREAD_MUTEX_INITIALIZER;

struct config_ctx {
	const char *file;     /* file being parsed, NULL for defaults only */
	const char *override; /* key of the -o being applied, or NULL */
	char *error;	      /* first error, with its location */
};

/*
 * The load context of the parse in progress. libconfuse gives callbacks
 * only a cfg_t and keeps no user pointer (and titled sections, such as
 * dnsbl "ZONE", use the title slot), so the context of the one load that
 * holds config_lock is kept here. Guarded by config_lock.
 */
static struct config_ctx *config_current;

/* config_ctx_attach - make ctx the context of the parse; lock held */
static void
config_ctx_attach(cfg_t *cfg, struct config_ctx *ctx)
{
	(void)cfg;
	config_current = ctx;
}

/* config_ctx_of - the load context, NULL during cfg_init */
static struct config_ctx *
config_ctx_of(cfg_t *cfg)
{
	(void)cfg;
	return config_current;
}

/* config_ctx_detach - no parse in progress any more */
static void
config_ctx_detach(cfg_t *cfg)
{
	(void)cfg;
	config_current = NULL;
}

/* config_ctx_set - record the first error, adding the location */
static void
config_ctx_set(struct config_ctx *ctx, cfg_t *cfg, const char *msg)
{
	int n;

	if (ctx->error != NULL)
		return; /* later errors follow from the first */
	if (ctx->override != NULL)
		n = asprintf(&ctx->error, "-o %s: %s", ctx->override, msg);
	else if (cfg != NULL && cfg->line > 0 &&
	    (cfg->filename != NULL || ctx->file != NULL))
		n = asprintf(&ctx->error, "%s:%d: %s",
		    cfg->filename != NULL ? cfg->filename : ctx->file,
		    cfg->line, msg);
	else if (ctx->file != NULL)
		n = asprintf(&ctx->error, "%s: %s", ctx->file, msg);
	else
		n = asprintf(&ctx->error, "%s", msg);
	if (n < 0)
		ctx->error = NULL;
}

/* config_errfunc - libconfuse error function: capture, never print */
static void __attribute__((format(printf, 2, 0)))
config_errfunc(cfg_t *cfg, const char *fmt, va_list ap)
{
	struct config_ctx *ctx = config_ctx_of(cfg);
	char *msg;

	if (ctx == NULL || ctx->error != NULL)
		return;
	/* The commonest mistake gets our form: "KEY: unknown option". */
	if (strcmp(fmt, "no such option '%s'") == 0) {
		if (asprintf(&msg, "%s: unknown option", va_arg(ap, char *)) <
		    0)
			return;
	} else if (vasprintf(&msg, fmt, ap) < 0) {
		return;
	}
	config_ctx_set(ctx, cfg, msg);
	free(msg);
}

/* config_value_error - report a bad value of an option, then return -1 */
static int __attribute__((format(printf, 3, 4)))
config_value_error(cfg_t *cfg, const char *key, const char *fmt, ...)
{
	struct config_ctx *ctx = config_ctx_of(cfg);
	char why[512], *msg;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	if (ctx == NULL) {
		/* Only while cfg_init parses our own list defaults. */
		cfg_error(cfg, "%s: %s", key, why);
		return -1;
	}
	if (ctx->override != NULL) {
		/* "-o key: why": the key is already in the prefix. */
		config_ctx_set(ctx, cfg, why);
		return -1;
	}
	if (asprintf(&msg, "%s: %s", key, why) < 0)
		return -1;
	config_ctx_set(ctx, cfg, msg);
	free(msg);
	return -1;
}

/* config_parse_int - libconfuse parse callback: decimal or octal, range */
static int
config_parse_int(cfg_t *cfg, cfg_opt_t *opt, const char *value, void *result)
{
	const struct config_option *o = config_schema_find(opt->name);
	int octal = o != NULL && o->type == CONFIG_MODE;
	char *end;
	long v;

	if (o == NULL || value == NULL)
		return -1;
	if (!((value[0] >= '0' && value[0] <= '9') ||
		(value[0] == '-' && value[1] >= '0' && value[1] <= '9')))
		goto bad;
	errno = 0;
	v = strtol(value, &end, octal ? 8 : 10);
	if (*end != '\0')
		goto bad;
	if (errno == ERANGE || v < o->min || v > o->max) {
		if (octal)
			return config_value_error(cfg, o->key,
			    "must be between %#lo and %#lo", o->min, o->max);
		return config_value_error(cfg, o->key,
		    "must be between %ld and %ld%s%s", o->min, o->max,
		    o->unit[0] != '\0' ? " " : "", o->unit);
	}
	*(long *)result = v;
	return 0;
bad:
	return config_value_error(cfg, o->key,
	    octal ? "\"%.64s\": want an octal mode such as 0660"
		  : "\"%.64s\": want a whole number",
	    value);
}

/* config_parse_bool - libconfuse parse callback: true/false words */
static int
config_parse_bool(cfg_t *cfg, cfg_opt_t *opt, const char *value, void *result)
{
	int b;

	if (value == NULL)
		return -1;
	if ((b = cfg_parse_boolean(value)) < 0)
		return config_value_error(
		    cfg, opt->name, "\"%.64s\": want true or false", value);
	*(int *)result = b;
	return 0;
}

/* config_parse_str - libconfuse parse callback: printable, then check */
static int
config_parse_str(cfg_t *cfg, cfg_opt_t *opt, const char *value, void *result)
{
	const struct config_option *o = config_schema_find(opt->name);
	const unsigned char *p;
	char why[400];

	if (o == NULL || value == NULL)
		return -1;
	for (p = (const unsigned char *)value; *p != '\0'; p++) {
		if (*p < 0x20 || *p == 0x7f)
			return config_value_error(
			    cfg, o->key, "control characters are not allowed");
	}
	if (strlen(value) > 1024)
		return config_value_error(
		    cfg, o->key, "longer than 1024 bytes");
	if (o->check != NULL && o->check(value, why, sizeof(why)) < 0)
		return config_value_error(cfg, o->key, "%s", why);
	*(const char **)result = value;
	return 0;
}

/* config_build_opts - the libconfuse option array for the schema */

/*
 * DNSBL and RHSBL zones: titled sections, any number of them.
 *
 *	dnsbl "bl.example.org" {
 *		check = client_ip	# client_ip helo mail_from from iprev
 *		timeout = 2000		# ms
 *		txt = true
 *		dry_run = false
 *		refused = {"127.255.255.0-127.255.255.255"}
 *		code "127.0.0.2" { meaning = "spam source" action = reject }
 *	}
 *
 * Values are checked as they are parsed (errors carry their line);
 * titles after the parse (errors carry the line that closes the
 * section).
 */
#define CONFIG_DNSBL_MEANING_MAX 200 /* bytes of a code's meaning */

/* config_parse_dnsbl_check - a subject word */
static int
config_parse_dnsbl_check(
    cfg_t *cfg, cfg_opt_t *opt, const char *value, void *result)
{
	enum dnsbl_subject subject;

	if (dnsbl_subject_parse(value, &subject) < 0)
		return config_value_error(cfg, opt->name,
		    "\"%s\": want client_ip, helo, mail_from, from or iprev",
		    value);
	/* libconfuse copies the value it is handed. */
	*(const char **)result = value;
	return 0;
}

/* config_parse_dnsbl_timeout - milliseconds, 100..60000 */
static int
config_parse_dnsbl_timeout(
    cfg_t *cfg, cfg_opt_t *opt, const char *value, void *result)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(value, &end, 10);
	if (errno != 0 || end == value || *end != '\0' || v < 100 || v > 60000)
		return config_value_error(cfg, opt->name,
		    "\"%s\": must be between 100 and 60000 ms", value);
	*(long *)result = v;
	return 0;
}

/* config_parse_dnsbl_action - an action word */
static int
config_parse_dnsbl_action(
    cfg_t *cfg, cfg_opt_t *opt, const char *value, void *result)
{
	enum action action;

	if (verdict_action_parse(value, &action) < 0)
		return config_value_error(cfg, opt->name,
		    "\"%s\": want accept, tag, quarantine, tempfail or reject",
		    value);
	/* libconfuse copies the value it is handed. */
	*(const char **)result = value;
	return 0;
}

/* config_parse_list_action - an action, or "score" (the score only) */
static int
config_parse_list_action(
    cfg_t *cfg, cfg_opt_t *opt, const char *value, void *result)
{
	enum action action;

	if (strcasecmp(value, "score") != 0 &&
	    verdict_action_parse(value, &action) < 0)
		return config_value_error(cfg, opt->name,
		    "\"%s\": want accept, tag, quarantine, tempfail, reject "
		    "or score",
		    value);
	*(const char **)result = value;
	return 0;
}

/* config_parse_dnsbl_meaning - printable text, bounded */
static int
config_parse_dnsbl_meaning(
    cfg_t *cfg, cfg_opt_t *opt, const char *value, void *result)
{
	const unsigned char *p;

	if (strlen(value) > CONFIG_DNSBL_MEANING_MAX)
		return config_value_error(cfg, opt->name,
		    "longer than %d bytes", CONFIG_DNSBL_MEANING_MAX);
	for (p = (const unsigned char *)value; *p != '\0'; p++) {
		if (*p < 0x20 || *p >= 0x7f)
			return config_value_error(
			    cfg, opt->name, "holds control or non-ASCII bytes");
	}
	/* libconfuse copies the value it is handed. */
	*(const char **)result = value;
	return 0;
}

/* config_parse_dnsbl_refused - one refused range */
static int
config_parse_dnsbl_refused(
    cfg_t *cfg, cfg_opt_t *opt, const char *value, void *result)
{
	struct dnsbl_map *m = dnsbl_map_create();
	char *why = NULL;
	int ret;

	if (m == NULL)
		return -1;
	ret = dnsbl_map_refused_add(m, value, &why);
	dnsbl_map_free(&m);
	if (ret < 0) {
		config_value_error(
		    cfg, opt->name, "%s", why != NULL ? why : "out of memory");
		free(why);
		return -1;
	}
	/* libconfuse copies the value it is handed. */
	*(const char **)result = value;
	return 0;
}

static cfg_opt_t config_dnsbl_code_opts[] = {
	CFG_STR_CB("meaning", "listed", CFGF_NONE, config_parse_dnsbl_meaning),
	CFG_STR_CB("action", "tag", CFGF_NONE, config_parse_dnsbl_action),
	CFG_INT("score", 0, CFGF_NONE),
	CFG_END(),
};

static cfg_opt_t config_dnsbl_opts[] = {
	CFG_STR_CB("check", "client_ip", CFGF_NONE, config_parse_dnsbl_check),
	CFG_INT_CB("timeout", 2000, CFGF_NONE, config_parse_dnsbl_timeout),
	CFG_BOOL("txt", cfg_true, CFGF_NONE),
	CFG_BOOL("dry_run", cfg_false, CFGF_NONE),
	CFG_STR_LIST_CB("refused", "{127.255.255.0-127.255.255.255}", CFGF_NONE,
	    config_parse_dnsbl_refused),
	CFG_SEC("code", config_dnsbl_code_opts,
	    CFGF_MULTI | CFGF_TITLE | CFGF_NO_TITLE_DUPES),
	CFG_END(),
};

/* config_dnsbl_zone - one dnsbl section into a config_dnsbl */
static int
config_dnsbl_zone(cfg_t *sec, struct config_dnsbl *z, char **why_r)
{
	const char *title = cfg_title(sec);
	char *why = NULL;
	enum action action;
	cfg_t *code;
	size_t i, n;

	if (title == NULL || domain_name_labels(title, strlen(title)) < 2) {
		if (asprintf(why_r, "\"%s\" (line %d): not a DNS zone",
			title != NULL ? title : "", sec->line) < 0)
			*why_r = NULL;
		return -1;
	}
	if ((z->zone = strdup(title)) == NULL ||
	    (z->map = dnsbl_map_create()) == NULL)
		return -1;
	(void)dnsbl_subject_parse(cfg_getstr(sec, "check"), &z->subject);
	z->timeout_ms = (unsigned)cfg_getint(sec, "timeout");
	z->txt = cfg_getbool(sec, "txt");
	z->dry_run = cfg_getbool(sec, "dry_run");
	dnsbl_map_refused_clear(z->map);
	n = cfg_size(sec, "refused");
	for (i = 0; i < n; i++) {
		if (dnsbl_map_refused_add(
			z->map, cfg_getnstr(sec, "refused", i), &why) < 0)
			goto fail;
	}
	n = cfg_size(sec, "code");
	for (i = 0; i < n; i++) {
		code = cfg_getnsec(sec, "code", i);
		(void)verdict_action_parse(cfg_getstr(code, "action"), &action);
		if (dnsbl_map_add(z->map, cfg_title(code),
			cfg_getstr(code, "meaning"), action,
			(int)cfg_getint(code, "score"), &why) < 0)
			goto fail;
	}
	/* No code given: any 127/8 answer outside the refused set lists. */
	if (n == 0 &&
	    dnsbl_map_add(z->map, "any", "listed", ACTION_TAG, 0, &why) < 0)
		goto fail;
	return 0;
fail:
	if (asprintf(why_r, "\"%s\" (line %d): %s", title, sec->line,
		why != NULL ? why : "out of memory") < 0)
		*why_r = NULL;
	free(why);
	return -1;
}

/* config_dnsbl_from_cfg - every dnsbl section */
static int
config_dnsbl_from_cfg(cfg_t *cfg, struct config *c, char **why_r)
{
	size_t i, n = cfg_size(cfg, "dnsbl");

	if (n == 0)
		return 0;
	if ((c->dnsbl = calloc(n, sizeof(*c->dnsbl))) == NULL)
		return -1;
	for (i = 0; i < n; i++) {
		c->dnsbl_count = i + 1;
		if (config_dnsbl_zone(
			cfg_getnsec(cfg, "dnsbl", i), &c->dnsbl[i], why_r) < 0)
			return -1;
	}
	return 0;
}

/* config_dnsbl_free - the zones of a config */
static void
config_dnsbl_free(struct config *c)
{
	size_t i;

	for (i = 0; i < c->dnsbl_count; i++) {
		free(c->dnsbl[i].zone);
		dnsbl_map_free(&c->dnsbl[i].map);
	}
	free(c->dnsbl);
	c->dnsbl = NULL;
	c->dnsbl_count = 0;
}

/*
 * Local lists: titled sections, any number of them.
 *
 *	list "blocked" {
 *		kind = ip		# ip domain address pattern
 *		file = "/etc/sakimori/lists/blocked"
 *		fields = {client_ip}	# see config_list_fields
 *		action = reject		# accept = whitelist
 *		dry_run = false
 *	}
 *
 * The file is read and compiled (lists/list.h) when the configuration
 * is loaded: a bad line stops the start or the reload with its line.
 */
#define CONFIG_LIST_FILE_MAX (512u << 20) /* bytes of one list file */

static void config_write_quoted(FILE *fp, const char *s);

static const struct {
	const char *name; /* config word */
	unsigned bit;	  /* enum config_list_field */
} config_list_fields[] = {
	{ "client_ip", CONFIG_FIELD_CLIENT_IP },
	{ "helo", CONFIG_FIELD_HELO },
	{ "mail_from", CONFIG_FIELD_MAIL_FROM },
	{ "from", CONFIG_FIELD_FROM },
	{ "subject", CONFIG_FIELD_SUBJECT },
	{ "iprev", CONFIG_FIELD_IPREV },
	{ "rcpt_to", CONFIG_FIELD_RCPT_TO },
};

/*
 * config_header_name_ok - "header:NAME": NAME an RFC 5322 field name
 * (printable US-ASCII but ':'), at most 64 bytes
 */
static int
config_header_name_ok(const char *word)
{
	const char *p;

	if (strncmp(word, "header:", 7) != 0)
		return 0;
	word += 7;
	if (*word == '\0' || strlen(word) > 64)
		return 0;
	for (p = word; *p != '\0'; p++)
		if (*p < 33 || *p > 126 || *p == ':')
			return 0;
	return 1;
}

/* config_field_bit - the bit of a field word, 0 if unknown */
static unsigned
config_field_bit(const char *word)
{
	size_t i;

	for (i = 0;
	     i < sizeof(config_list_fields) / sizeof(config_list_fields[0]);
	     i++) {
		if (strcmp(word, config_list_fields[i].name) == 0)
			return config_list_fields[i].bit;
	}
	return 0;
}

/* config_field_name - the word of a field bit */
const char *
config_field_name(unsigned bit)
{
	size_t i;

	if (bit == CONFIG_FIELD_HEADER)
		return "header";
	for (i = 0;
	     i < sizeof(config_list_fields) / sizeof(config_list_fields[0]);
	     i++) {
		if (config_list_fields[i].bit == bit)
			return config_list_fields[i].name;
	}
	return "?";
}

/* config_parse_list_kind - ip, domain, address or pattern */
static int
config_parse_list_kind(
    cfg_t *cfg, cfg_opt_t *opt, const char *value, void *result)
{
	enum list_kind kind;

	if (list_kind_parse(value, &kind) < 0)
		return config_value_error(cfg, opt->name,
		    "\"%s\": want ip, domain, address or pattern", value);
	*(const char **)result = value;
	return 0;
}

/* config_parse_list_field - one field word */
static int
config_parse_list_field(
    cfg_t *cfg, cfg_opt_t *opt, const char *value, void *result)
{
	if (config_field_bit(value) == 0 && !config_header_name_ok(value))
		return config_value_error(cfg, opt->name,
		    "\"%s\": want client_ip, helo, mail_from, rcpt_to, from, "
		    "subject, iprev or header:NAME",
		    value);
	*(const char **)result = value;
	return 0;
}

/* config_parse_list_file - an absolute path */
static int
config_parse_list_file(
    cfg_t *cfg, cfg_opt_t *opt, const char *value, void *result)
{
	if (value[0] != '/')
		return config_value_error(
		    cfg, opt->name, "\"%s\": must be an absolute path", value);
	*(const char **)result = value;
	return 0;
}

/* config_parse_list_key - a maintainer's public key, "ed25519:BASE64" */
static int
config_parse_list_key(
    cfg_t *cfg, cfg_opt_t *opt, const char *value, void *result)
{
	struct listsign_public key;
	char *why = NULL;
	int r;

	if (value[0] == '\0') {
		*(const char **)result = value;
		return 0;
	}
	if (listsign_parse_public(value, &key, &why) != 0) {
		r = config_value_error(cfg, opt->name, "\"%s\": %s", value,
		    why != NULL ? why : "not a public key");
		free(why);
		return r;
	}
	*(const char **)result = value;
	return 0;
}

static cfg_opt_t config_list_opts[] = {
	CFG_STR_CB("kind", "ip", CFGF_NONE, config_parse_list_kind),
	CFG_STR_CB("file", "", CFGF_NONE, config_parse_list_file),
	CFG_STR_LIST_CB("fields", "{}", CFGF_NONE, config_parse_list_field),
	CFG_STR_CB("action", "tag", CFGF_NONE, config_parse_list_action),
	CFG_INT("score", 0, CFGF_NONE),
	CFG_BOOL("dry_run", cfg_false, CFGF_NONE),
	CFG_STR_CB("signed_by", "", CFGF_NONE, config_parse_list_key),
	CFG_END(),
};

/* config_list_fields_ok - which fields each kind can look at */
static const char *
config_list_fields_ok(enum list_kind kind, unsigned fields)
{
	if (fields == 0)
		return "no fields: set fields = {...}";
	switch (kind) {
	case LIST_KIND_IP:
		return fields == CONFIG_FIELD_CLIENT_IP
		    ? NULL
		    : "an ip list applies to client_ip only";
	case LIST_KIND_DOMAIN:
	case LIST_KIND_ADDRESS:
		return (fields &
			   (CONFIG_FIELD_CLIENT_IP | CONFIG_FIELD_SUBJECT)) != 0
		    ? "domain and address lists apply to helo, mail_from, "
		      "rcpt_to, from, iprev and header:NAME"
		    : NULL;
	case LIST_KIND_PATTERN:
		return (fields & CONFIG_FIELD_CLIENT_IP) != 0
		    ? "pattern lists apply to names and text, not client_ip"
		    : NULL;
	}
	return NULL;
}

/* config_list_section - one list section: read and compile its file */
static int
config_list_section(cfg_t *sec, struct config_list *l, char **why_r)
{
	const char *title = cfg_title(sec), *bad;
	char *text = NULL, *why = NULL;
	size_t i, n, len = 0;

	if ((l->name = strdup(title != NULL ? title : "")) == NULL)
		return -1;
	(void)list_kind_parse(cfg_getstr(sec, "kind"), &l->kind);
	if (strcasecmp(cfg_getstr(sec, "action"), "score") == 0) {
		l->score_only = true;
		l->action = ACTION_ACCEPT;
	} else {
		(void)verdict_action_parse(
		    cfg_getstr(sec, "action"), &l->action);
	}
	if (cfg_getint(sec, "score") < -1000 ||
	    cfg_getint(sec, "score") > 1000) {
		if (asprintf(&why, "score: want -1000..1000") < 0)
			why = NULL;
		goto fail;
	}
	l->score = (int)cfg_getint(sec, "score");
	l->dry_run = cfg_getbool(sec, "dry_run");
	n = cfg_size(sec, "fields");
	if ((l->headers = calloc(n + 1, sizeof(char *))) == NULL)
		return -1;
	for (i = 0; i < n; i++) {
		const char *w = cfg_getnstr(sec, "fields", i);

		l->fields |= config_field_bit(w);
		if (config_header_name_ok(w)) {
			if (l->header_count == CONFIG_LIST_MAX_HEADERS) {
				if (asprintf(&why, "more than %d header fields",
					CONFIG_LIST_MAX_HEADERS) < 0)
					why = NULL;
				goto fail;
			}
			l->fields |= CONFIG_FIELD_HEADER;
			if ((l->headers[l->header_count++] = strdup(w + 7)) ==
			    NULL)
				return -1;
		}
	}
	if (cfg_getstr(sec, "signed_by")[0] != '\0' &&
	    (l->signed_by = strdup(cfg_getstr(sec, "signed_by"))) == NULL)
		return -1;
	if ((bad = config_list_fields_ok(l->kind, l->fields)) != NULL) {
		if (asprintf(&why, "%s", bad) < 0)
			why = NULL;
		goto fail;
	}
	if ((l->file = strdup(cfg_getstr(sec, "file"))) == NULL)
		return -1;
	/* No file: the list starts empty and takes pushes. */
	if (l->file[0] != '\0' &&
	    (text = listfile_read(l->file, CONFIG_LIST_FILE_MAX, &len, &why)) ==
		NULL)
		goto fail;
	if (list_build(l->name, l->kind, text != NULL ? text : "", len, 1,
		time(NULL), &l->snap, &why) != 0)
		goto fail;
	free(text);
	return 0;
fail:
	if (asprintf(why_r, "\"%s\" (line %d): %s", l->name, sec->line,
		why != NULL ? why : "out of memory") < 0)
		*why_r = NULL;
	free(why);
	free(text);
	return -1;
}

/* config_lists_from_cfg - every list section */
static int
config_lists_from_cfg(cfg_t *cfg, struct config *c, char **why_r)
{
	size_t i, n = cfg_size(cfg, "list");

	if (n == 0)
		return 0;
	if ((c->lists = calloc(n, sizeof(*c->lists))) == NULL)
		return -1;
	for (i = 0; i < n; i++) {
		c->list_count = i + 1;
		if (config_list_section(
			cfg_getnsec(cfg, "list", i), &c->lists[i], why_r) < 0)
			return -1;
	}
	return 0;
}

/* config_lists_free - the lists of a config */
static void
config_lists_free(struct config *c)
{
	size_t i, j;

	for (i = 0; i < c->list_count; i++) {
		free(c->lists[i].name);
		free(c->lists[i].file);
		free(c->lists[i].signed_by);
		for (j = 0; j < c->lists[i].header_count; j++)
			free(c->lists[i].headers[j]);
		free(c->lists[i].headers);
		list_free(&c->lists[i].snap);
	}
	free(c->lists);
	c->lists = NULL;
	c->list_count = 0;
}

/* config_lists_dump - the list sections, in file syntax */
static void
config_lists_dump(const struct config *cfg, FILE *fp)
{
	const struct config_list *l;
	size_t i, j;
	int first;

	fputs("\n# Local lists (lists/FORMAT.md), any number; reloadable:\n"
	      "# list \"blocked\" {\n"
	      "#\tkind = ip\t\t# ip, domain, address, pattern\n"
	      "#\tfile = \"/etc/sakimori/lists/blocked\"\t# empty: starts "
	      "empty, takes pushes\n"
	      "#\tfields = {client_ip}\t# client_ip, helo, mail_from, "
	      "rcpt_to, from,\n"
	      "#\t\t\t\t# subject, iprev, \"header:NAME\"\n"
	      "#\taction = reject\t\t# accept (whitelist), tag, quarantine, "
	      "tempfail, reject,\n"
	      "#\t\t\t\t# score (no action, only the score)\n"
	      "#\tscore = 0\t\t# added to the message's listing score\n"
	      "#\tdry_run = false\n"
	      "#\tsigned_by = \"\"\t# maintainer key ed25519:...: only "
	      "signed pushes\n"
	      "# }\n",
	    fp);
	for (i = 0; i < cfg->list_count; i++) {
		l = &cfg->lists[i];
		fputs("list ", fp);
		config_write_quoted(fp, l->name);
		fprintf(
		    fp, " {\n\tkind = %s\n\tfile = ", list_kind_name(l->kind));
		config_write_quoted(fp, l->file);
		fputs("\n\tfields = {", fp);
		for (j = 0, first = 1; j < 32; j++) {
			if ((l->fields & (1u << j)) == 0 ||
			    (1u << j) == CONFIG_FIELD_HEADER)
				continue;
			fprintf(fp, "%s%s", first ? "" : ", ",
			    config_field_name(1u << j));
			first = 0;
		}
		for (j = 0; j < l->header_count; j++) {
			fputs(first ? "" : ", ", fp);
			fputs("\"header:", fp);
			fputs(l->headers[j], fp);
			fputs("\"", fp);
			first = 0;
		}
		fprintf(fp, "}\n\taction = %s\n\tscore = %d\n\tdry_run = %s\n",
		    l->score_only ? "score" : verdict_action_name(l->action),
		    l->score, l->dry_run ? "true" : "false");
		if (l->signed_by != NULL) {
			fputs("\tsigned_by = ", fp);
			config_write_quoted(fp, l->signed_by);
			fputs("\n", fp);
		}
		fputs("}\n", fp);
	}
}

/*
 * Rate-limit classes: titled sections, any number (up to 64).
 *
 *	limit_class "business" {
 *		caps = "3000/day 300/hour msg:1000/day per_message=100"
 *	}
 *
 * caps is policy/ratelimit.h's caps text. A class "default" replaces
 * the built-in one (1000 recipients per rolling 24 hours); limit_default
 * names the class of accounts without an override.
 */
static cfg_opt_t config_limit_class_opts[] = {
	CFG_STR("caps", "1000/day", CFGF_NONE),
	CFG_END(),
};

/* config_limits_from_cfg - the classes, into c->limit_policy */
static int
config_limits_from_cfg(cfg_t *cfg, struct config *c, char **why_r)
{
	struct ratelimit_policy *p;
	struct ratelimit_class cls;
	const struct ratelimit_class *def;
	size_t i, n = cfg_size(cfg, "limit_class");
	char why[256];
	cfg_t *sec;

	if ((p = calloc(1, sizeof(*p))) == NULL)
		return -1;
	c->limit_policy = p;
	ratelimit_policy_init(p);
	if (n > RATELIMIT_MAX_CLASSES) {
		if (asprintf(why_r, "more than %d classes",
			RATELIMIT_MAX_CLASSES) < 0)
			*why_r = NULL;
		return -1;
	}
	for (i = 0; i < n; i++) {
		sec = cfg_getnsec(cfg, "limit_class", i);
		if (ratelimit_class_parse(cfg_title(sec),
			cfg_getstr(sec, "caps"), &cls, why, sizeof(why)) != 0) {
			if (asprintf(why_r, "\"%s\" (line %d): %s",
				cfg_title(sec), sec->line, why) < 0)
				*why_r = NULL;
			return -1;
		}
		if (strcmp(cls.name, p->cls[0].name) == 0) {
			p->cls[0] = cls; /* replaces the built-in default */
		} else if (p->nclasses == RATELIMIT_MAX_CLASSES) {
			if (asprintf(why_r, "more than %d classes",
				RATELIMIT_MAX_CLASSES) < 0)
				*why_r = NULL;
			return -1;
		} else {
			p->cls[p->nclasses++] = cls;
		}
	}
	def = c->limit_default != NULL
	    ? ratelimit_policy_find(p, c->limit_default)
	    : NULL;
	if (c->limit_default != NULL && def == NULL) {
		if (asprintf(why_r, "limit_default: \"%s\": no such class",
			c->limit_default) < 0)
			*why_r = NULL;
		return -1;
	}
	if (def != NULL)
		p->default_class = (size_t)(def - p->cls);
	return 0;
}

/* config_limits_dump - the classes, in file syntax */
static void
config_limits_dump(const struct config *cfg, FILE *fp)
{
	char caps[RATELIMIT_SPEC_MAX];
	size_t i;

	fputs("\n# Rate-limit classes (README: Sending caps), any number; "
	      "reloadable:\n"
	      "# limit_class \"business\" {\n"
	      "#\tcaps = \"3000/day 300/hour msg:1000/day per_message=100 "
	      "block=24h\"\n"
	      "# }\n",
	    fp);
	for (i = 0;
	     cfg->limit_policy != NULL && i < cfg->limit_policy->nclasses;
	     i++) {
		if (ratelimit_class_format(
			&cfg->limit_policy->cls[i], caps, sizeof(caps)) != 0)
			continue;
		fputs("limit_class ", fp);
		config_write_quoted(fp, cfg->limit_policy->cls[i].name);
		fputs(" {\n\tcaps = ", fp);
		config_write_quoted(fp, caps);
		fputs("\n}\n", fp);
	}
}

/* config_build_opts - libconfuse options from the schema, then sections */
static cfg_opt_t *
config_build_opts(void)
{
	cfg_opt_t *opts, *opt;
	size_t i;

	opts = calloc(config_schema_count + 4, sizeof(*opts));
	if (opts == NULL)
		return NULL;
	for (i = 0; i < config_schema_count; i++) {
		const struct config_option *o = &config_schema[i];

		opt = &opts[i];
		opt->name = o->key;
		switch (o->type) {
		case CONFIG_UINT:
		case CONFIG_MODE:
			opt->type = CFGT_INT;
			opt->def.number = strtol(
			    o->def, NULL, o->type == CONFIG_MODE ? 8 : 10);
			opt->parsecb = config_parse_int;
			break;
		case CONFIG_BOOL:
			opt->type = CFGT_BOOL;
			opt->def.boolean = cfg_parse_boolean(o->def) == 1
			    ? cfg_true
			    : cfg_false;
			opt->parsecb = config_parse_bool;
			break;
		case CONFIG_LIST:
			opt->type = CFGT_STR;
			opt->flags = CFGF_LIST;
			/* cfg_dupopt_array copies it; we never write it. */
			opt->def.parsed = (char *)(uintptr_t)o->def;
			opt->parsecb = config_parse_str;
			break;
		case CONFIG_STRING:
		case CONFIG_ACTION:
			opt->type = CFGT_STR;
			opt->def.string = o->def;
			opt->parsecb = config_parse_str;
			break;
		}
	}
	{
		cfg_opt_t sec = CFG_SEC("dnsbl", config_dnsbl_opts,
		    CFGF_MULTI | CFGF_TITLE | CFGF_NO_TITLE_DUPES);

		cfg_opt_t lsec = CFG_SEC("list", config_list_opts,
		    CFGF_MULTI | CFGF_TITLE | CFGF_NO_TITLE_DUPES);

		cfg_opt_t csec = CFG_SEC("limit_class", config_limit_class_opts,
		    CFGF_MULTI | CFGF_TITLE | CFGF_NO_TITLE_DUPES);

		opts[config_schema_count] = sec;
		opts[config_schema_count + 1] = lsec;
		opts[config_schema_count + 2] = csec;
	}
	/* opts[config_schema_count + 3] stays zero: CFG_END(). */
	return opts;
}

/* config_unquote - strip one pair of matching quotes, in place */
static char *
config_unquote(char *s)
{
	size_t len = strlen(s);

	if (len >= 2 && (s[0] == '"' || s[0] == '\'') && s[len - 1] == s[0]) {
		s[len - 1] = '\0';
		return s + 1;
	}
	return s;
}

/* config_trim - strip blanks at both ends, in place */
static char *
config_trim(char *s)
{
	size_t len;

	while (*s == ' ' || *s == '\t')
		s++;
	len = strlen(s);
	while (len > 0 && (s[len - 1] == ' ' || s[len - 1] == '\t'))
		s[--len] = '\0';
	return s;
}

/*
 * config_override - apply one "name=value"
 *	A list takes "{a, b}" (or "{}") or a single value, and replaces the
 *	list, as "name = ..." in a file does. Quotes around a value are
 *	removed; no other file syntax (escapes, ${ENV}) applies.
 */
static int
config_override(cfg_t *cfg, struct config_ctx *ctx, const char *text)
{
	const struct config_option *o;
	char *copy, *name, *value, *eq, *elem, *next;
	cfg_opt_t *opt;
	size_t len;
	int ret = -1;

	if ((copy = strdup(text)) == NULL) {
		config_ctx_set(ctx, NULL, "out of memory");
		return -1;
	}
	if ((eq = strchr(copy, '=')) == NULL) {
		ctx->override = NULL;
		if (asprintf(&ctx->error, "-o %s: want name=value", text) < 0)
			ctx->error = NULL;
		goto fail;
	}
	*eq = '\0';
	name = config_trim(copy);
	value = config_trim(eq + 1);
	ctx->override = name;
	if ((o = config_schema_find(name)) == NULL ||
	    (opt = cfg_getopt(cfg, name)) == NULL) {
		config_ctx_set(ctx, NULL, "unknown option");
		goto fail;
	}
	if (o->type != CONFIG_LIST) {
		if (cfg_setopt(cfg, opt, config_unquote(value)) == NULL)
			goto bad;
		ret = 0;
		goto fail;
	}

	/* A list: replace whatever the defaults or the file gave. */
	cfg_free_value(opt);
	opt->flags &= ~CFGF_RESET;
	len = strlen(value);
	if (len > 0 && value[0] == '{') {
		if (value[len - 1] != '}') {
			config_ctx_set(ctx, NULL, "missing '}'");
			goto fail;
		}
		value[len - 1] = '\0';
		value = config_trim(value + 1);
		if (value[0] == '\0') {
			ret = 0; /* {}: the empty list */
			goto fail;
		}
	}
	for (elem = value; elem != NULL; elem = next) {
		if ((next = strchr(elem, ',')) != NULL)
			*next++ = '\0';
		elem = config_unquote(config_trim(elem));
		if (cfg_setopt(cfg, opt, elem) == NULL)
			goto bad;
	}
	ret = 0;
	goto fail;
bad:
	config_ctx_set(ctx, NULL, "bad value");
fail:
	ctx->override = NULL;
	free(copy);
	return ret;
}

/* config_strdup_list - copy a libconfuse list of strings */
static int
config_strdup_list(cfg_t *cfg, const char *key, char ***list_r, size_t *count_r)
{
	size_t n = cfg_size(cfg, key), i;
	char **list;

	*list_r = NULL;
	*count_r = 0;
	if (n == 0)
		return 0;
	if ((list = calloc(n, sizeof(*list))) == NULL)
		return -1;
	for (i = 0; i < n; i++) {
		if ((list[i] = strdup(cfg_getnstr(cfg, key, i))) == NULL)
			goto fail;
	}
	*list_r = list;
	*count_r = n;
	return 0;
fail:
	while (i > 0)
		free(list[--i]);
	free(list);
	return -1;
}

/* config_free_list - free a list of strings */
static void
config_free_list(char **list, size_t count)
{
	size_t i;

	for (i = 0; i < count; i++)
		free(list[i]);
	free(list);
}

/* config_field - a field of struct config by its schema offset */
static void *
config_field(struct config *c, const struct config_option *o)
{
	return (char *)c + o->offset;
}

/* config_field_const - config_field for a const config */
static const void *
config_field_const(const struct config *c, const struct config_option *o)
{
	return (const char *)c + o->offset;
}

/* config_set_dry_run - mark one rule, or all, as dry-run */
static void
config_set_dry_run(struct config *c, const char *name)
{
	const struct config_option *o;
	size_t i, j;

	if (strcmp(name, "all") == 0) {
		for (i = 0; i < CHECK_COUNT; i++) {
			for (j = 0; j < VERDICT_SLOT_COUNT; j++)
				c->policy.rule[i][j].dry_run = true;
		}
		return;
	}
	if ((o = config_schema_find(name)) != NULL && o->type == CONFIG_ACTION)
		c->policy.rule[o->check_id][o->result].dry_run = true;
}

/* config_list_option - fill a list option into the config */
static int
config_list_option(
    cfg_t *cfg, struct config *c, const struct config_option *o, char **why_r)
{
	size_t n = cfg_size(cfg, o->key), i;

	if (strcmp(o->key, "trusted_networks") == 0) {
		if ((c->trusted = cidr_set_create()) == NULL)
			return -1;
		for (i = 0; i < n; i++) {
			if (cidr_set_add(c->trusted,
				cfg_getnstr(cfg, o->key, i), why_r) < 0)
				return -1;
		}
		return 0;
	}
	if (strcmp(o->key, "dns_nameservers") == 0)
		return config_strdup_list(
		    cfg, o->key, &c->dns_nameservers, &c->dns_nameserver_count);
	if (strcmp(o->key, "debug") == 0)
		return config_strdup_list(
		    cfg, o->key, &c->debug, &c->debug_count);
	if (strcmp(o->key, "dkim_sign_headers") == 0)
		return config_strdup_list(cfg, o->key, &c->dkim_sign_headers,
		    &c->dkim_sign_header_count);
	if (strcmp(o->key, "dry_run") == 0) {
		for (i = 0; i < n; i++)
			config_set_dry_run(c, cfg_getnstr(cfg, o->key, i));
		return 0;
	}
	return -1; /* a list in the schema that this file does not know */
}

/* config_empty_to_null - "" means "not set" for paths and user */
static void
config_empty_to_null(char **s)
{
	if (*s != NULL && (*s)[0] == '\0') {
		free(*s);
		*s = NULL;
	}
}

/*
 * config_from_cfg - build struct config from parsed, checked values
 *	On failure *why_r is the reason (without location), or NULL for
 *	out of memory.
 */
static int
config_from_cfg(cfg_t *cfg, const char *path, struct config **cfg_r,
    const char **key_r, char **why_r)
{
	const struct config_option *o;
	struct config *c;
	enum action action;
	size_t i;

	*why_r = NULL;
	*key_r = NULL;
	if ((c = calloc(1, sizeof(*c))) == NULL)
		return -1;
	verdict_policy_default(&c->policy);
	if (path != NULL && (c->path = strdup(path)) == NULL)
		goto fail;
	for (i = 0; i < config_schema_count; i++) {
		o = &config_schema[i];
		*key_r = o->key;
		switch (o->type) {
		case CONFIG_STRING:
			*(char **)config_field(c, o) =
			    strdup(cfg_getstr(cfg, o->key));
			if (*(char **)config_field(c, o) == NULL)
				goto fail;
			break;
		case CONFIG_UINT:
		case CONFIG_MODE:
			*(unsigned *)config_field(c, o) =
			    (unsigned)cfg_getint(cfg, o->key);
			break;
		case CONFIG_BOOL:
			*(bool *)config_field(c, o) = cfg_getbool(cfg, o->key);
			break;
		case CONFIG_LIST:
			if (config_list_option(cfg, c, o, why_r) < 0)
				goto fail;
			break;
		case CONFIG_ACTION:
			if (verdict_action_parse(
				cfg_getstr(cfg, o->key), &action) < 0)
				goto fail;
			c->policy.rule[o->check_id][o->result].action = action;
			break;
		}
	}
	*key_r = NULL;
	config_empty_to_null(&c->user);
	config_empty_to_null(&c->pidfile);
	config_empty_to_null(&c->dkim_keytable);
	*key_r = "dnsbl";
	if (config_dnsbl_from_cfg(cfg, c, why_r) < 0)
		goto fail;
	*key_r = "list";
	if (config_lists_from_cfg(cfg, c, why_r) < 0)
		goto fail;
	*key_r = "limit_class";
	config_empty_to_null(&c->limit_default);
	if (config_limits_from_cfg(cfg, c, why_r) < 0)
		goto fail;
	*key_r = NULL;
	/* Keys are read and checked now: a bad key fails start or reload. */
	if (c->dkim_keytable != NULL) {
		*key_r = "dkim_keytable";
		if (keytable_load(c->dkim_keytable, &c->keytable, why_r) != 0)
			goto fail;
		*key_r = NULL;
	}
	*cfg_r = c;
	return 0;
fail:
	config_free(&c);
	return -1;
}

/*
 * config_fill_authserv_id - authserv_id "" becomes the host name
 *	Returns 0, or -1 with *why_r set (caller frees).
 */
static int
config_fill_authserv_id(struct config *c, char **why_r)
{
	const struct config_option *o = config_schema_find("authserv_id");
	char host[256], why[400];

	if (c->authserv_id[0] != '\0')
		return 0;
	if (gethostname(host, sizeof(host)) < 0) {
		if (asprintf(why_r, "gethostname: %s; set authserv_id",
			strerror(errno)) < 0)
			*why_r = NULL;
		return -1;
	}
	host[sizeof(host) - 1] = '\0';
	if (o->check(host, why, sizeof(why)) < 0 || host[0] == '\0') {
		if (asprintf(why_r,
			"the host name is no authserv-id (%s); "
			"set authserv_id",
			host[0] != '\0' ? why : "empty") < 0)
			*why_r = NULL;
		return -1;
	}
	free(c->authserv_id);
	if ((c->authserv_id = strdup(host)) == NULL) {
		if (asprintf(why_r, "out of memory") < 0)
			*why_r = NULL;
		return -1;
	}
	return 0;
}

/*
 * config_blank_comments - replace comments by blanks, keeping newlines
 *	XXX libconfuse 3.3 counts a line three times for a "#" or "//"
 *	comment, and once too often for a "/ *" comment, so every error
 *	after a comment would name the wrong line. We remove comments
 *	before libconfuse sees them, as its lexer would find them: outside
 *	quotes ("..." with \ escapes, '...' with \\ and \' escapes).
 * Returns 0, or the line of an unterminated comment or string.
 */
static int
config_blank_comments(char *buf, size_t len)
{
	enum { NORMAL, DQ, SQ, LINE, BLOCK } state = NORMAL;
	int line = 1, start = 0;
	size_t i;

	for (i = 0; i < len; i++) {
		char c = buf[i], next = i + 1 < len ? buf[i + 1] : '\0';

		switch (state) {
		case NORMAL:
			if (c == '"' || c == '\'') {
				state = c == '"' ? DQ : SQ;
				start = line;
			} else if (c == '#' || (c == '/' && next == '/')) {
				state = LINE;
				buf[i] = ' ';
			} else if (c == '/' && next == '*') {
				state = BLOCK;
				start = line;
				buf[i] = ' ';
				buf[++i] = ' ';
			}
			break;
		case DQ:
		case SQ:
			if (c == '\\' && next != '\0' &&
			    (state == DQ || next == '\\' || next == '\'')) {
				if (next == '\n')
					line++;
				i++;
			} else if (c == (state == DQ ? '"' : '\'')) {
				state = NORMAL;
			}
			break;
		case LINE:
			if (c == '\n')
				state = NORMAL;
			else
				buf[i] = ' ';
			break;
		case BLOCK:
			if (c == '*' && next == '/') {
				buf[i] = ' ';
				buf[++i] = ' ';
				state = NORMAL;
			} else if (c != '\n') {
				buf[i] = ' ';
			}
			break;
		}
		if (c == '\n')
			line++;
	}
	if (state == BLOCK || state == DQ || state == SQ)
		return start;
	return 0;
}

/*
 * config_read - read the whole file, comments blanked
 *	Returns the text (caller frees) and its length in *len_r, or NULL
 *	with *error_r set.
 */
static char *
config_read(const char *path, size_t *len_r, char **error_r)
{
	struct stat st;
	char *buf = NULL;
	const char *why;
	FILE *fp;
	size_t len;
	int line;

	if ((fp = fopen(path, "r")) == NULL) {
		why = strerror(errno);
		goto fail;
	}
	if (fstat(fileno(fp), &st) < 0 || !S_ISREG(st.st_mode)) {
		why = "not a regular file";
		goto fail;
	}
	if (st.st_size > CONFIG_FILE_MAX) {
		why = "larger than 1 MiB";
		goto fail;
	}
	if ((buf = malloc((size_t)st.st_size + 1)) == NULL) {
		why = strerror(errno);
		goto fail;
	}
	len = fread(buf, 1, (size_t)st.st_size + 1, fp);
	if (ferror(fp)) {
		why = strerror(errno);
		goto fail;
	}
	if (len > (size_t)st.st_size) {
		why = "file grew while being read";
		goto fail;
	}
	buf[len] = '\0';
	if (memchr(buf, '\0', len) != NULL) {
		why = "holds a NUL byte";
		goto fail;
	}
	if ((line = config_blank_comments(buf, len)) > 0) {
		if (asprintf(error_r, "%s:%d: unterminated comment or string",
			path, line) < 0)
			*error_r = NULL;
		goto fail_quiet;
	}
	fclose(fp);
	*len_r = len;
	return buf;
fail:
	if (asprintf(error_r, "%s: %s", path, why) < 0)
		*error_r = NULL;
fail_quiet:
	free(buf);
	if (fp != NULL)
		fclose(fp);
	return NULL;
}

/* config_parse_locked - parse file and overrides; config_lock held */
static int
config_parse_locked(cfg_opt_t *opts, char *text, size_t len,
    struct config_ctx *ctx, char *const *overrides, size_t override_count,
    struct config **cfg_r)
{
	const char *key;
	char *why = NULL;
	FILE *fp = NULL;
	cfg_t *cfg;
	size_t i;
	int ret = -1;

	if ((cfg = cfg_init(opts, CFGF_NONE)) == NULL) {
		config_ctx_set(ctx, NULL, "out of memory");
		return -1;
	}
	config_ctx_attach(cfg, ctx);
	cfg_set_error_function(cfg, config_errfunc);

	if (text != NULL && len > 0) {
		free(cfg->filename);
		if ((cfg->filename = strdup(ctx->file)) == NULL ||
		    (fp = fmemopen(text, len, "r")) == NULL) {
			config_ctx_set(ctx, NULL, "out of memory");
			goto fail;
		}
		if (cfg_parse_fp(cfg, fp) != CFG_SUCCESS) {
			config_ctx_set(ctx, cfg, "parse error");
			goto fail;
		}
	}
	/* Errors now have no line: the file is done. */
	cfg->line = 0;
	for (i = 0; i < override_count; i++) {
		if (config_override(cfg, ctx, overrides[i]) < 0) {
			config_ctx_set(ctx, NULL, "bad override");
			goto fail;
		}
	}
	if (config_from_cfg(cfg, ctx->file, cfg_r, &key, &why) < 0) {
		char *msg;

		if (asprintf(&msg, "%s: %s", key != NULL ? key : "config",
			why != NULL ? why : "out of memory") >= 0) {
			config_ctx_set(ctx, NULL, msg);
			free(msg);
		} else {
			config_ctx_set(ctx, NULL, "out of memory");
		}
		goto fail;
	}
	ret = 0;
fail:
	if (fp != NULL)
		fclose(fp);
	free(why);
	config_ctx_detach(cfg);
	cfg_free(cfg);
	return ret;
}

/* config_load - parse, override, validate */
int
config_load(const char *path, char *const *overrides, size_t override_count,
    struct config **cfg_r, char **error_r)
{
	struct config_ctx ctx;
	struct config *c = NULL;
	cfg_opt_t *opts = NULL;
	char *text = NULL, *why = NULL;
	size_t len = 0;
	int ret = -1;

	*cfg_r = NULL;
	*error_r = NULL;
	memset(&ctx, 0, sizeof(ctx));
	ctx.file = path;
	if (path != NULL && (text = config_read(path, &len, error_r)) == NULL)
		return -1;
	if ((opts = config_build_opts()) == NULL) {
		config_ctx_set(&ctx, NULL, "out of memory");
		goto fail;
	}

	pthread_mutex_lock(&config_lock);
	ret = config_parse_locked(
	    opts, text, len, &ctx, overrides, override_count, &c);
	pthread_mutex_unlock(&config_lock);
	if (ret < 0)
		goto fail;

	if (config_fill_authserv_id(c, &why) < 0) {
		char *msg;

		ret = -1;
		if (asprintf(&msg, "authserv_id: %s",
			why != NULL ? why : "out of memory") >= 0) {
			config_ctx_set(&ctx, NULL, msg);
			free(msg);
		}
		goto fail;
	}
	*cfg_r = c;
	c = NULL;
	ret = 0;
fail:
	if (ret < 0) {
		*error_r =
		    ctx.error != NULL ? ctx.error : strdup("out of memory");
		ctx.error = NULL;
	}
	free(ctx.error);
	free(why);
	free(opts);
	config_free(&c);
	free(text);
	return ret;
}

/* config_write_quoted - a string as a single-quoted libconfuse value */
static void
config_write_quoted(FILE *fp, const char *s)
{
	/* Single quotes: no ${ENV} expansion, only \\ and \' escapes. */
	fputc('\'', fp);
	for (; *s != '\0'; s++) {
		if (*s == '\\' || *s == '\'')
			fputc('\\', fp);
		fputc(*s, fp);
	}
	fputc('\'', fp);
}

/* config_write_strings - a list of strings as {'a', 'b'} */
static void
config_write_strings(FILE *fp, char *const *list, size_t count)
{
	size_t i;

	fputc('{', fp);
	for (i = 0; i < count; i++) {
		if (i > 0)
			fputs(", ", fp);
		config_write_quoted(fp, list[i]);
	}
	fputc('}', fp);
}

/* config_write_dry_run - the rules in dry-run mode, "all" if all are */
static void
config_write_dry_run(FILE *fp, const struct config *cfg)
{
	const struct config_option *o;
	size_t i, n = 0, set = 0;

	for (i = 0; i < config_schema_count; i++) {
		o = &config_schema[i];
		if (o->type != CONFIG_ACTION)
			continue;
		n++;
		if (cfg->policy.rule[o->check_id][o->result].dry_run)
			set++;
	}
	if (set == n && n > 0) {
		fputs("{'all'}", fp);
		return;
	}
	fputc('{', fp);
	for (i = 0, n = 0; i < config_schema_count; i++) {
		o = &config_schema[i];
		if (o->type != CONFIG_ACTION ||
		    !cfg->policy.rule[o->check_id][o->result].dry_run)
			continue;
		if (n++ > 0)
			fputs(", ", fp);
		config_write_quoted(fp, o->key);
	}
	fputc('}', fp);
}

/* config_write_list - the value of a list option */
static void
config_write_list(
    FILE *fp, const struct config *cfg, const struct config_option *o)
{
	char buf[64];
	size_t i, n;

	if (strcmp(o->key, "trusted_networks") == 0) {
		n = cidr_set_count(cfg->trusted);
		fputc('{', fp);
		for (i = 0; i < n; i++) {
			cidr_set_format(cfg->trusted, i, buf, sizeof(buf));
			fprintf(fp, "%s'%s'", i > 0 ? ", " : "", buf);
		}
		fputc('}', fp);
	} else if (strcmp(o->key, "dns_nameservers") == 0) {
		config_write_strings(
		    fp, cfg->dns_nameservers, cfg->dns_nameserver_count);
	} else if (strcmp(o->key, "debug") == 0) {
		config_write_strings(fp, cfg->debug, cfg->debug_count);
	} else if (strcmp(o->key, "dkim_sign_headers") == 0) {
		config_write_strings(
		    fp, cfg->dkim_sign_headers, cfg->dkim_sign_header_count);
	} else if (strcmp(o->key, "dry_run") == 0) {
		config_write_dry_run(fp, cfg);
	} else {
		fputs("{}", fp);
	}
}

/* config_write_comment - doc, default, range, reload as # lines */
static void
config_write_comment(FILE *fp, const struct config_option *o)
{
	fprintf(fp, "# %s\n# default: %s", o->doc,
	    o->def[0] != '\0' ? o->def : "\"\"");
	if (o->type == CONFIG_UINT)
		fprintf(fp, "; range %ld..%ld%s%s", o->min, o->max,
		    o->unit[0] != '\0' ? " " : "", o->unit);
	else if (o->type == CONFIG_ACTION)
		fputs("; accept, tag, quarantine, tempfail or reject", fp);
	if (!o->reloadable)
		fputs("; needs a restart to change", fp);
	fputc('\n', fp);
}

/* config_dnsbl_dump - the dnsbl sections, in file syntax */
static void
config_dnsbl_dump(const struct config *cfg, FILE *fp)
{
	const struct config_dnsbl *z;
	const struct dnsbl_map_row *row;
	char buf[40];
	size_t i, j;

	fputs("\n# DNSBL and RHSBL zones (RFC 5782), any number; reloadable:\n"
	      "# dnsbl \"bl.example.org\" {\n"
	      "#\tcheck = client_ip\t# client_ip, helo, mail_from, from, "
	      "iprev\n"
	      "#\ttimeout = 2000\t\t# ms, 100..60000\n"
	      "#\ttxt = true\t\t# fetch the TXT reason of a listing\n"
	      "#\tdry_run = false\t\t# log what would happen, do nothing\n"
	      "#\trefused = {\"127.255.255.0-127.255.255.255\"}\t# not "
	      "listings\n"
	      "#\tcode \"127.0.0.2\" { meaning = \"spam source\" action = "
	      "reject }\n"
	      "#\tcode \"127.0.0.4-127.0.0.7\" { meaning = \"dynamic\" "
	      "action = tag }\n"
	      "#\tcode \"&4\" { meaning = \"bit 4\" action = tag score = 2 "
	      "}\n"
	      "# }\n"
	      "# Without code sections any 127/8 answer lists (action tag).\n",
	    fp);
	for (i = 0; i < cfg->dnsbl_count; i++) {
		z = &cfg->dnsbl[i];
		fputs("dnsbl ", fp);
		config_write_quoted(fp, z->zone);
		fprintf(fp,
		    " {\n\tcheck = %s\n\ttimeout = %u\n\ttxt = %s\n"
		    "\tdry_run = %s\n\trefused = {",
		    dnsbl_subject_name(z->subject), z->timeout_ms,
		    z->txt ? "true" : "false", z->dry_run ? "true" : "false");
		for (j = 0; j < dnsbl_map_refused_count(z->map); j++) {
			if (j > 0)
				fputs(", ", fp);
			config_write_quoted(fp,
			    dnsbl_map_refused_text(
				z->map, j, buf, sizeof(buf)));
		}
		fputs("}\n", fp);
		for (j = 0; j < dnsbl_map_count(z->map); j++) {
			row = dnsbl_map_row(z->map, j);
			fputs("\tcode ", fp);
			config_write_quoted(fp, row->match);
			fputs(" { meaning = ", fp);
			config_write_quoted(fp, row->meaning);
			fprintf(fp, " action = %s score = %d }\n",
			    verdict_action_name(row->action), row->score);
		}
		fputs("}\n", fp);
	}
}

/* config_dump - write the effective config, every option, in file syntax */
int
config_dump(const struct config *cfg, FILE *fp)
{
	const struct config_option *o;
	const void *field;
	size_t i;

	fprintf(fp, "# sakimori effective configuration (%s)\n",
	    cfg->path != NULL ? cfg->path : "embedded defaults");
	for (i = 0; i < config_schema_count; i++) {
		o = &config_schema[i];
		field = o->offset >= 0 ? config_field_const(cfg, o) : NULL;
		fputc('\n', fp);
		config_write_comment(fp, o);
		fprintf(fp, "%s = ", o->key);
		switch (o->type) {
		case CONFIG_STRING: {
			const char *s = *(char *const *)field;

			config_write_quoted(fp, s != NULL ? s : "");
			break;
		}
		case CONFIG_UINT:
			fprintf(fp, "%u", *(const unsigned *)field);
			break;
		case CONFIG_MODE:
			fprintf(fp, "0%03o", *(const unsigned *)field);
			break;
		case CONFIG_BOOL:
			fputs(*(const bool *)field ? "true" : "false", fp);
			break;
		case CONFIG_LIST:
			config_write_list(fp, cfg, o);
			break;
		case CONFIG_ACTION:
			fputs(verdict_action_name(
				  cfg->policy.rule[o->check_id][o->result]
				      .action),
			    fp);
			break;
		}
		fputc('\n', fp);
	}
	config_dnsbl_dump(cfg, fp);
	config_lists_dump(cfg, fp);
	config_limits_dump(cfg, fp);
	if (fflush(fp) != 0 || ferror(fp))
		return -1;
	return 0;
}

/* config_same_strings - equal lists of strings? */
static bool
config_same_strings(char *const *a, size_t na, char *const *b, size_t nb)
{
	size_t i;

	if (na != nb)
		return false;
	for (i = 0; i < na; i++) {
		if (strcmp(a[i], b[i]) != 0)
			return false;
	}
	return true;
}

/* config_same_dns - do two configs ask for the same DNS resolver setup? */
bool
config_same_dns(const struct config *a, const struct config *b)
{
	return config_same_strings(a->dns_nameservers, a->dns_nameserver_count,
		   b->dns_nameservers, b->dns_nameserver_count) &&
	    a->dns_timeout_ms == b->dns_timeout_ms &&
	    a->dns_retries == b->dns_retries &&
	    a->dns_cache_size == b->dns_cache_size &&
	    a->dns_cache_max_ttl == b->dns_cache_max_ttl &&
	    a->dns_workers == b->dns_workers &&
	    a->dns_budget_ms == b->dns_budget_ms &&
	    a->dns_max_answer_records == b->dns_max_answer_records;
}

/* config_free - free a config and set *cfg to NULL */
void
config_free(struct config **cfg)
{
	struct config *c;

	if (cfg == NULL || (c = *cfg) == NULL)
		return;
	free(c->path);
	free(c->listen);
	free(c->user);
	free(c->pidfile);
	free(c->control_socket);
	free(c->control_group);
	free(c->control_listen);
	free(c->control_secret_file);
	free(c->state_dir);
	free(c->redis_server);
	free(c->redis_prefix);
	free(c->limit_store);
	free(c->limit_fallback);
	free(c->limit_fail_mode);
	free(c->limit_default);
	free(c->limit_alert_command);
	free(c->limit_alert_url);
	free(c->limit_policy);
	free(c->authserv_id);
	cidr_set_free(&c->trusted);
	config_free_list(c->dns_nameservers, c->dns_nameserver_count);
	free(c->tag_header);
	free(c->dkim_keytable);
	keytable_free(&c->keytable);
	config_dnsbl_free(c);
	config_lists_free(c);
	config_free_list(c->debug, c->debug_count);
	config_free_list(c->dkim_sign_headers, c->dkim_sign_header_count);
	free(c);
	*cfg = NULL;
}
