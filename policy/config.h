/*
 * NAME
 *	config - sakimori's configuration: schema, parser, effective dump
 * SUMMARY
 *	One schema table drives the parser (libconfuse), the -o overrides,
 *	`sakimori -t`, the effective-config dump and the README table.
 * DESCRIPTION
 *	config_load() parses a file (or nothing: embedded defaults), applies
 *	name=value overrides, validates the whole, and returns a fresh
 *	immutable struct config. On any error nothing is returned and the
 *	error names file, line and option ("sakimori.conf:12: dns_timeout:
 *	must be between 100 and 60000 ms").
 * THREADS
 *	config_load may run in any thread; a loaded config is immutable and
 *	may be read by any number of threads. Reference counting of live
 *	configs is the milter's business. libconfuse's lexer is not
 *	reentrant, so concurrent config_load calls take turns on a lock
 *	inside config.c.
 * OWNERSHIP
 *	Every string and array in struct config belongs to it and is freed
 *	by config_free().
 */
#ifndef SAKIMORI_POLICY_CONFIG_H
#define SAKIMORI_POLICY_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "lists/cidr.h"
#include "lists/list.h"
#include "policy/ratelimit.h"
#include "policy/dnsbl_map.h"
#include "policy/keytable.h"
#include "policy/verdict.h"

/* One DNSBL or RHSBL zone (a dnsbl "ZONE" { ... } section). */
struct config_dnsbl {
	char *zone;		    /* the DNS zone asked */
	enum dnsbl_subject subject; /* what is asked: check = */
	unsigned timeout_ms;	    /* wait at most this long */
	bool txt;		    /* fetch the TXT reason of listings */
	bool dry_run;		    /* log what would happen, do nothing */
	struct dnsbl_map *map;	    /* return codes -> meaning, action */
};

/* Fields a local list can look at (bits). */
enum config_list_field {
	CONFIG_FIELD_CLIENT_IP = 1u << 0, /* the client address */
	CONFIG_FIELD_HELO = 1u << 1,	  /* the HELO name */
	CONFIG_FIELD_MAIL_FROM = 1u << 2, /* the MAIL FROM address */
	CONFIG_FIELD_FROM = 1u << 3,	  /* the From header address */
	CONFIG_FIELD_SUBJECT = 1u << 4,	  /* the Subject header */
	CONFIG_FIELD_IPREV = 1u << 5,	  /* the iprev-confirmed name */
	CONFIG_FIELD_RCPT_TO = 1u << 6,	  /* each RCPT TO address */
	CONFIG_FIELD_HEADER = 1u << 7,	  /* header fields named in headers */
};

#define CONFIG_FIELD_LAST CONFIG_FIELD_RCPT_TO /* last bit with a word */
#define CONFIG_LIST_MAX_HEADERS 16	       /* header:NAME per list */

/* One local list (a list "NAME" { ... } section), compiled. */
struct config_list {
	char *name;		    /* list name */
	enum list_kind kind;	    /* ip, domain, address, pattern */
	char *file;		    /* where it was read from */
	unsigned fields;	    /* enum config_list_field bits */
	enum action action;	    /* what a hit does; accept: whitelist */
	bool dry_run;		    /* log what would happen, do nothing */
	bool score_only;	    /* action = score: no action of its own */
	int score;		    /* a hit adds this to the listing score */
	char **headers;		    /* header:NAME fields, names */
	size_t header_count;	    /* entries in headers */
	char *signed_by;	    /* maintainer key "ed25519:..." or NULL */
	struct list_snapshot *snap; /* compiled from file at load; taken
				       over by milter/listreg.c */
};

/* config_field_name - "client_ip", ... for one field bit */
const char *config_field_name(unsigned bit);

struct config {
	char *path;	      /* file loaded, NULL for embedded defaults */
	char *listen;	      /* libmilter socket: inet:8891@127.0.0.1 */
	char *user;	      /* drop privileges to; NULL: stay as we are */
	char *pidfile;	      /* NULL: none */
	char *control_socket; /* Unix socket for sakimori-ctl */
	char *control_group;  /* group of the socket, NULL: user's */
	char *control_listen; /* TCP HOST:PORT for HMAC requests, "" */
	char *control_secret_file;     /* its shared secret */
	unsigned control_auth_window;  /* seconds a request may be off */
	char *state_dir;	       /* pushed lists, audit log, counters */
	char *redis_server;	       /* HOST:PORT of the fleet's Redis, "" */
	char *redis_prefix;	       /* prefix of keys and channels */
	unsigned redis_timeout_ms;     /* connect and command timeout */
	bool limits;		       /* per-account sending caps on */
	char *limit_store;	       /* "lmdb" or "redis" */
	char *limit_fallback;	       /* "none", "sender", "client_ip" */
	char *limit_fail_mode;	       /* "local", "accept", "tempfail" */
	char *limit_default;	       /* class without an override */
	char *limit_alert_command;     /* run on 80%/100%, NULL none */
	char *limit_alert_url;	       /* POST JSON on 80%/100%, NULL none */
	unsigned limit_alert_interval; /* seconds between equal alerts */
	struct ratelimit_policy *limit_policy; /* the classes */
	unsigned control_mode;		       /* its file mode, e.g. 0660 */
	char *authserv_id;	  /* A-R authserv-id; host name by default */
	struct cidr_set *trusted; /* trusted_networks: skip inbound checks */
	char **dns_nameservers;	  /* "ADDR" or "ADDR@PORT"; none: resolv.conf */
	size_t dns_nameserver_count;	 /* entries in dns_nameservers */
	unsigned dns_timeout_ms;	 /* one query attempt */
	unsigned dns_retries;		 /* further attempts after the first */
	unsigned dns_cache_size;	 /* entries; 0 disables the cache */
	unsigned dns_cache_max_ttl;	 /* seconds; longer TTLs are capped */
	unsigned dns_workers;		 /* queries in flight at once */
	unsigned dns_budget_ms;		 /* DNS wait allowed per message */
	unsigned dns_max_answer_records; /* more in one answer: temperror */
	unsigned iprev_max_names;	 /* PTR names followed forward */
	bool spf_helo;			 /* check the HELO identity too */
	char *tag_header;		 /* header added by the "tag" action */
	bool dkim_verify;		 /* verify DKIM signatures inbound */
	unsigned dkim_max_signatures;	 /* signatures verified per message */
	char *dkim_keytable;	  /* signing key table file; NULL: no signing */
	char **dkim_sign_headers; /* headers to sign; none: the default list */
	size_t dkim_sign_header_count; /* entries in dkim_sign_headers */
	struct keytable *keytable;     /* dkim_keytable loaded, or NULL */
	struct config_dnsbl *dnsbl;    /* DNSBL/RHSBL zones, in file order */
	size_t dnsbl_count;	       /* entries in dnsbl */
	struct config_list *lists;     /* local lists, in file order */
	size_t list_count;	       /* entries in lists */
	bool dmarc;		       /* evaluate DMARC (RFC 7489) */
	bool log_stderr;	       /* also log to stderr (foreground) */
	char **debug;	    /* debug subsystems: dns, spf, iprev, milter */
	size_t debug_count; /* entries in debug */
	struct verdict_policy
	    policy; /* per check and result: action, dry_run */
};

/*
 * config_load - parse, override, validate
 *	path: config file, or NULL for the embedded defaults
 *	overrides: "name=value" strings (from -o), applied after the file;
 *	    a list option takes "{a, b}", "{}" or one value and is replaced
 *	    whole; quotes around a value are removed
 *	override_count: entries in overrides
 *	cfg_r: on success, the new config (caller frees with config_free)
 *	error_r: on failure, "file:line: option: why" (caller frees);
 *	    "-o option: why" for an override, "file: strerror" for a file
 *	    that cannot be read
 * Returns 0 on success, -1 on any error (nothing allocated).
 */
int config_load(const char *path, char *const *overrides, size_t override_count,
    struct config **cfg_r, char **error_r) __attribute__((warn_unused_result));

/*
 * config_dump - write the effective config, every option, in file syntax
 *	cfg: the config
 *	fp: where to
 * Returns 0, -1 on a write error.
 */
int config_dump(const struct config *cfg, FILE *fp);

/*
 * config_same_dns - do two configs ask for the same DNS resolver setup?
 * Returns true when nameservers, timeouts, retries, cache and workers match
 * (every dns_* option is compared).
 */
bool config_same_dns(const struct config *a, const struct config *b);

/* config_free - free a config (NULL is fine) and set *cfg to NULL */
void config_free(struct config **cfg);

#endif
