/*
 * NAME
 *	limits - per-account sending caps in the daemon
 * DESCRIPTION
 *	See limits.h. The stores are opened once (LMDB allows one handle
 *	per environment and process); a reload only hands them the new
 *	classes.
 * THREADS
 *	limits_lock guards the per-class counters and the log throttle;
 *	never held across a store call.
 */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "milter/limit_alert.h"
#include "milter/limits.h"
#include "milter/log.h"
#include "policy/limit_store.h"

#define LIMITS_SYNC_SECONDS 5	 /* LMDB flushed this often */
#define LIMITS_EXPIRE_SECONDS 60 /* idle LMDB states removed this often */
#define LIMITS_TOP_MAX 1000	 /* "limit top N": N at most */

struct limits_class_count {
	char name[RATELIMIT_NAME_MAX]; /* class */
	unsigned long refused;	       /* recipients refused */
	unsigned long shadow;	       /* would have been refused */
};

static struct limit_store *limits_main;	      /* LMDB or Redis */
static struct limit_store *limits_local;      /* LMDB when main is Redis */
static struct ratelimit_policy limits_policy; /* for parsing overrides */
static pthread_mutex_t limits_lock = PTHREAD_MUTEX_INITIALIZER;
static struct limits_class_count limits_count[RATELIMIT_MAX_CLASSES + 1];
static time_t limits_last_warning; /* log throttle (limits_lock) */
static atomic_ulong limits_checked, limits_refused_all, limits_fallback,
    limits_unreachable, limits_errors, limits_refunds;
static pthread_t limits_thread;
static bool limits_running;
static atomic_bool limits_stopping;

/* limits_active - are sending caps on? */
bool
limits_active(void)
{
	return limits_main != NULL;
}

/* limits_housekeeping - sync and expire the LMDB store */
static void *
limits_housekeeping(void *arg)
{
	struct limit_store *lmdb =
	    limits_local != NULL ? limits_local : limits_main;
	char *error = NULL;
	unsigned tick = 0;

	(void)arg;
	while (!atomic_load(&limits_stopping)) {
		usleep(250 * 1000);
		if (++tick % (4 * LIMITS_SYNC_SECONDS) != 0)
			continue;
		if (limit_store_sync(lmdb, &error) != 0) {
			log_msg(LOG_WARNING, "limits: sync: %s",
			    error != NULL ? error : "failed");
			free(error);
			error = NULL;
		}
		if (tick % (4 * LIMITS_EXPIRE_SECONDS) == 0 &&
		    limit_store_expire(
			lmdb, (int64_t)time(NULL), NULL, &error) != 0) {
			log_msg(LOG_WARNING, "limits: expire: %s",
			    error != NULL ? error : "failed");
			free(error);
			error = NULL;
		}
	}
	return NULL;
}

/* limits_open - open the stores */
int
limits_open(const struct config *cfg, char **error_r)
{
	struct limit_lmdb_options lo;
	struct limit_redis_options ro;
	char dir[4096], prefix[128];

	*error_r = NULL;
	if (!cfg->limits)
		return 0;
	limits_policy = *cfg->limit_policy;
	memset(&lo, 0, sizeof(lo));
	snprintf(dir, sizeof(dir), "%s/limits", cfg->state_dir);
	lo.dir = dir;
	if (strcmp(cfg->limit_store, "redis") == 0) {
		if (cfg->redis_server == NULL || cfg->redis_server[0] == '\0') {
			*error_r = strdup("limit_store = redis needs "
					  "redis_server");
			return -1;
		}
		memset(&ro, 0, sizeof(ro));
		snprintf(prefix, sizeof(prefix), "%srl:", cfg->redis_prefix);
		ro.address = cfg->redis_server;
		ro.prefix = prefix;
		ro.connect_timeout_ms = cfg->redis_timeout_ms;
		ro.command_timeout_ms = cfg->redis_timeout_ms;
		ro.pool = 8;
		if (limit_redis_open(
			&ro, cfg->limit_policy, &limits_main, error_r) != 0)
			return -1;
		if (limit_lmdb_open(
			&lo, cfg->limit_policy, &limits_local, error_r) != 0) {
			limit_store_close(&limits_main);
			return -1;
		}
	} else if (limit_lmdb_open(
		       &lo, cfg->limit_policy, &limits_main, error_r) != 0) {
		return -1;
	}
	return 0;
}

/* limits_start - start the alert hook and housekeeping */
int
limits_start(const struct config *cfg, char **error_r)
{
	struct limit_alert_options ao;
	int err;

	*error_r = NULL;
	if (limits_main == NULL)
		return 0;
	memset(&ao, 0, sizeof(ao));
	ao.command = cfg->limit_alert_command;
	ao.url = cfg->limit_alert_url;
	ao.interval = cfg->limit_alert_interval;
	if (limit_alert_start(&ao, error_r) != 0) {
		limits_stop();
		return -1;
	}
	atomic_store(&limits_stopping, false);
	if ((err = pthread_create(
		 &limits_thread, NULL, limits_housekeeping, NULL)) != 0) {
		*error_r = strdup(strerror(err));
		limits_stop();
		return -1;
	}
	limits_running = true;
	log_msg(LOG_INFO, "limits: counts in %s%s, %zu classes, default %s",
	    limit_store_kind(limits_main),
	    limits_local != NULL ? " (local fallback: lmdb)" : "",
	    limits_policy.nclasses,
	    ratelimit_policy_default(&limits_policy)->name);
	return 0;
}

/* limits_reload - a reloaded config's classes */
void
limits_reload(const struct config *cfg)
{
	char *error = NULL;

	if (limits_main == NULL)
		return;
	if (!cfg->limits)
		log_msg(LOG_WARNING,
		    "reload: limits = false takes effect at "
		    "restart");
	if (limit_store_set_policy(limits_main, cfg->limit_policy, &error) !=
		0 ||
	    (limits_local != NULL &&
		limit_store_set_policy(
		    limits_local, cfg->limit_policy, &error) != 0)) {
		log_msg(LOG_WARNING, "reload: limit classes: %s",
		    error != NULL ? error : "refused");
		free(error);
		return;
	}
	pthread_mutex_lock(&limits_lock);
	limits_policy = *cfg->limit_policy;
	pthread_mutex_unlock(&limits_lock);
}

/* limits_count_refusal - per-class counters */
static void
limits_count_refusal(const char *cls, bool shadow)
{
	size_t i;

	pthread_mutex_lock(&limits_lock);
	for (i = 0; i < RATELIMIT_MAX_CLASSES; i++) {
		if (limits_count[i].name[0] == '\0')
			snprintf(limits_count[i].name,
			    sizeof(limits_count[i].name), "%s", cls);
		if (strcmp(limits_count[i].name, cls) == 0)
			break;
	}
	if (i < RATELIMIT_MAX_CLASSES) {
		if (shadow)
			limits_count[i].shadow++;
		else
			limits_count[i].refused++;
	}
	pthread_mutex_unlock(&limits_lock);
}

/* limits_throttled - true when a store warning was logged < 10 s ago */
static bool
limits_throttled(void)
{
	time_t now = time(NULL);
	bool quiet;

	pthread_mutex_lock(&limits_lock);
	quiet = now - limits_last_warning < 10;
	if (!quiet)
		limits_last_warning = now;
	pthread_mutex_unlock(&limits_lock);
	return quiet;
}

/* limits_cap_text - "1000 recipients per 24 h" */
static void
limits_cap_text(const struct ratelimit_cap *cap, char *buf, size_t size)
{
	const char *what =
	    cap->what == RATELIMIT_MESSAGES ? "messages" : "recipients";

	if (cap->window % 3600 == 0)
		snprintf(buf, size, "%" PRIu32 " %s per %" PRIu32 " h",
		    cap->max, what, cap->window / 3600);
	else if (cap->window % 60 == 0)
		snprintf(buf, size, "%" PRIu32 " %s per %" PRIu32 " min",
		    cap->max, what, cap->window / 60);
	else
		snprintf(buf, size, "%" PRIu32 " %s per %" PRIu32 " s",
		    cap->max, what, cap->window);
}

/* limits_alert - a log line and the alert hook for a threshold or block */
static void
limits_alert(const char *id, const char *account, const char *event,
    int percent, const struct ratelimit_cap *cap, uint32_t used,
    const char *cls, int64_t until)
{
	struct limit_alert_event e;
	char capt[96], esc[400];

	limits_cap_text(cap, capt, sizeof(capt));
	if (strcmp(event, "blocked") == 0)
		log_msg(LOG_WARNING,
		    "%s: limit account=%s class=%s blocked until %lld (cap "
		    "\"%s\")",
		    id, log_escape(account, esc, sizeof(esc)), cls,
		    (long long)until, capt);
	else
		log_msg(percent >= 100 ? LOG_WARNING : LOG_INFO,
		    "%s: limit account=%s class=%s reached %d%% of \"%s\" "
		    "(%" PRIu32 " used)",
		    id, log_escape(account, esc, sizeof(esc)), cls, percent,
		    capt, used);
	memset(&e, 0, sizeof(e));
	e.account = account;
	e.event = event;
	e.percent = percent;
	e.cap_text = capt;
	e.class_name = cls;
	e.used = used;
	e.limit = cap->max;
	e.until = until;
	e.now = (int64_t)time(NULL);
	(void)limit_alert_post(&e);
}

/* limits_rcpt - decide one recipient of an account */
enum limits_verdict
limits_rcpt(const struct config *cfg, const char *id, const char *account,
    const struct ratelimit_request *req, const char *rcpt,
    struct limits_charge *charge_r, struct ratelimit_reply *r, bool *shadow_r)
{
	struct ratelimit_decision d;
	char why[200], esc[400], rcpt_esc[300], *error = NULL;
	int64_t now = (int64_t)time(NULL);
	int rc;

	memset(charge_r, 0, sizeof(*charge_r));
	memset(r, 0, sizeof(*r));
	*shadow_r = false;
	atomic_fetch_add(&limits_checked, 1);
	if (ratelimit_account_check(
		account, strlen(account), why, sizeof(why)) != 0) {
		/* Never uncounted: no account name, no mail. */
		log_msg(LOG_WARNING, "%s: limit account=%s unusable: %s", id,
		    log_escape(account, esc, sizeof(esc)), why);
		snprintf(r->rcode, sizeof(r->rcode), "451");
		snprintf(r->xcode, sizeof(r->xcode), "4.7.0");
		snprintf(r->text, sizeof(r->text),
		    "Account name unusable for sending limits");
		return LIMITS_TEMPFAIL;
	}
	rc = limit_store_reserve(
	    limits_main, account, req, now, &d, &charge_r->tok, &error);
	if (rc == LIMIT_UNREACHABLE && limits_local != NULL) {
		atomic_fetch_add(&limits_unreachable, 1);
		if (!limits_throttled())
			log_msg(LOG_WARNING, "limits: redis: %s; fail mode %s",
			    error != NULL ? error : "unreachable",
			    cfg->limit_fail_mode);
		free(error);
		error = NULL;
		if (strcmp(cfg->limit_fail_mode, "accept") == 0)
			return LIMITS_PASS;
		if (strcmp(cfg->limit_fail_mode, "local") == 0) {
			atomic_fetch_add(&limits_fallback, 1);
			charge_r->local = true;
			rc = limit_store_reserve(limits_local, account, req,
			    now, &d, &charge_r->tok, &error);
		}
	}
	if (rc != 0) {
		atomic_fetch_add(&limits_errors, 1);
		if (!limits_throttled())
			log_msg(LOG_WARNING,
			    "%s: limit account=%s: store: %s; tempfail", id,
			    log_escape(account, esc, sizeof(esc)),
			    error != NULL ? error : "unreachable");
		free(error);
		memset(charge_r, 0, sizeof(*charge_r));
		snprintf(r->rcode, sizeof(r->rcode), "451");
		snprintf(r->xcode, sizeof(r->xcode), "4.3.0");
		snprintf(r->text, sizeof(r->text),
		    "Sending limits cannot be checked now; try again later");
		return LIMITS_TEMPFAIL;
	}
	if (d.allowed && d.threshold > 0)
		limits_alert(id, account, "threshold", d.threshold,
		    &d.threshold_cap, d.used, d.class_name, 0);
	if (d.block_started)
		limits_alert(id, account, "blocked", 100, &d.cap, d.used,
		    d.class_name, d.blocked_until);
	if (!d.refused)
		return LIMITS_PASS;
	ratelimit_reply(&d, RATELIMIT_TZ_UTC, r);
	limits_count_refusal(d.class_name, d.shadow);
	log_msg(LOG_INFO,
	    "%s: limit account=%s class=%s rcpt=%s %s reply=\"%s %s %s\"", id,
	    log_escape(account, esc, sizeof(esc)), d.class_name,
	    log_escape(rcpt, rcpt_esc, sizeof(rcpt_esc)),
	    d.shadow ? "shadow=would_refuse" : "refused", r->rcode, r->xcode,
	    r->text);
	if (d.shadow) {
		*shadow_r = true;
		return LIMITS_PASS;
	}
	atomic_fetch_add(&limits_refused_all, 1);
	return LIMITS_REFUSE;
}

/* limits_refund - give back one charge */
void
limits_refund(const char *account, const struct limits_charge *c)
{
	struct limit_store *st = c->local ? limits_local : limits_main;
	char *error = NULL, esc[400];

	if (st == NULL || (c->tok.rcpts == 0 && c->tok.msgs == 0))
		return;
	atomic_fetch_add(&limits_refunds, 1);
	if (limit_store_refund(
		st, account, &c->tok, (int64_t)time(NULL), &error) != 0) {
		log_msg(LOG_WARNING, "limit account=%s: refund: %s",
		    log_escape(account, esc, sizeof(esc)),
		    error != NULL ? error : "store unreachable");
		free(error);
	}
}

/* limits_word - the next blank-separated word of *p into buf */
static bool
limits_word(const char **p, char *buf, size_t size)
{
	size_t n;

	while (**p == ' ')
		(*p)++;
	n = strcspn(*p, " ");
	if (n == 0 || n >= size)
		return false;
	memcpy(buf, *p, n);
	buf[n] = '\0';
	*p += n;
	return true;
}

/* limits_error - an error reply from a store call */
static int
limits_error(FILE *fp, int rc, char *error)
{
	fprintf(fp, "error: %s\n",
	    rc == LIMIT_UNREACHABLE ? "the limit store is unreachable"
		: error != NULL	    ? error
				    : "failed");
	free(error);
	return -1;
}

/* limits_control - sakimori-ctl limit requests */
int
limits_control(const char *args, const char *payload, size_t len,
    const char *who, FILE *fp)
{
	char verb[32], account[RATELIMIT_ACCOUNT_MAX + 1], why[300];
	char text[4096], *error = NULL, esc[400];
	struct limit_override ov;
	struct limit_info info;
	struct ratelimit_policy pol;
	const char *p = args;
	size_t n = 0, i;
	int rc;

	if (limits_main == NULL) {
		fprintf(fp, "error: sending limits are off (limits = false)\n");
		return -1;
	}
	if (!limits_word(&p, verb, sizeof(verb)))
		goto usage;
	if (strcmp(verb, "top") == 0) {
		struct limit_top *top;
		char capt[96];
		unsigned long want = 10;

		if (limits_word(&p, text, sizeof(text)) &&
		    (strspn(text, "0123456789") != strlen(text) ||
			(want = strtoul(text, NULL, 10)) == 0 ||
			want > LIMITS_TOP_MAX)) {
			fprintf(
			    fp, "error: top N: N is 1..%d\n", LIMITS_TOP_MAX);
			return -1;
		}
		if ((top = calloc(want, sizeof(*top))) == NULL) {
			fprintf(fp, "error: out of memory\n");
			return -1;
		}
		rc = limit_store_top(
		    limits_main, want, (int64_t)time(NULL), top, &n, &error);
		if (rc != 0) {
			free(top);
			return limits_error(fp, rc, error);
		}
		fprintf(fp, "ok\n");
		for (i = 0; i < n; i++) {
			limits_cap_text(&top[i].cap, capt, sizeof(capt));
			fprintf(fp, "%s %" PRIu32 " (%s)\n",
			    log_escape(top[i].account, esc, sizeof(esc)),
			    top[i].used, capt);
		}
		free(top);
		return 0;
	}
	if (strcmp(verb, "import") == 0 ||
	    strcmp(verb, "import-replace") == 0) {
		if (payload == NULL) {
			fprintf(fp, "error: import needs the CSV as payload\n");
			return -1;
		}
		rc = limit_store_import(limits_main, payload, len,
		    verb[6] == '-' ? LIMIT_IMPORT_REPLACE : 0, &n, &error);
		if (rc != 0) {
			log_msg(LOG_WARNING, "limits: import by %s refused: %s",
			    who, error != NULL ? error : "store unreachable");
			return limits_error(fp, rc, error);
		}
		log_msg(LOG_INFO, "limits: import by %s: %zu accounts", who, n);
		fprintf(fp, "ok imported %zu accounts\n", n);
		return 0;
	}
	if (!limits_word(&p, account, sizeof(account))) {
		fprintf(fp, "error: %s: want an account\n", verb);
		return -1;
	}
	if (ratelimit_account_check(
		account, strlen(account), why, sizeof(why)) != 0) {
		fprintf(fp, "error: %s\n", why);
		return -1;
	}
	while (*p == ' ')
		p++;
	if (strcmp(verb, "get") == 0 && *p == '\0') {
		rc = limit_store_get(
		    limits_main, account, (int64_t)time(NULL), &info, &error);
		if (rc != 0)
			return limits_error(fp, rc, error);
		if (limit_info_text(
			&info, RATELIMIT_TZ_UTC, text, sizeof(text)) != 0) {
			fprintf(fp, "error: reply too long\n");
			return -1;
		}
		fprintf(fp, "ok\n%s\n", text);
		return 0;
	}
	if (strcmp(verb, "reset") == 0 && *p == '\0') {
		if ((rc = limit_store_reset(limits_main, account, &error)) != 0)
			return limits_error(fp, rc, error);
		if (limits_local != NULL &&
		    limit_store_reset(limits_local, account, &error) != 0) {
			free(error);
			error = NULL;
		}
		log_msg(LOG_INFO, "limits: account=%s reset by %s",
		    log_escape(account, esc, sizeof(esc)), who);
		fprintf(fp, "ok reset\n");
		return 0;
	}
	if (strcmp(verb, "set") == 0 && *p != '\0') {
		pthread_mutex_lock(&limits_lock);
		pol = limits_policy;
		pthread_mutex_unlock(&limits_lock);
		if (limit_override_parse(&pol, p, &ov, why, sizeof(why)) != 0) {
			fprintf(fp, "error: %s\n", why);
			return -1;
		}
		if ((rc = limit_store_set_override(
			 limits_main, account, &ov, &error)) != 0)
			return limits_error(fp, rc, error);
		if (limits_local != NULL &&
		    limit_store_set_override(
			limits_local, account, &ov, &error) != 0) {
			free(error);
			error = NULL;
		}
		(void)limit_override_format(&ov, text, sizeof(text));
		log_msg(LOG_INFO, "limits: account=%s set to \"%s\" by %s",
		    log_escape(account, esc, sizeof(esc)),
		    text[0] != '\0' ? text : "default", who);
		fprintf(fp, "ok %s\n", text[0] != '\0' ? text : "default");
		return 0;
	}
usage:
	fprintf(fp,
	    "error: usage: limit get ACCOUNT | limit set ACCOUNT CLASS|CAPS|- "
	    "| limit reset ACCOUNT | limit import length=N | limit top [N]\n");
	return -1;
}

/* limits_stats - counters as "name value" lines */
void
limits_stats(FILE *fp)
{
	struct limit_alert_stats as;
	size_t i;

	if (limits_main == NULL)
		return;
	fprintf(fp,
	    "limit_checked %lu\nlimit_refused %lu\nlimit_refunds %lu\n"
	    "limit_store_unreachable %lu\nlimit_local_fallback %lu\n"
	    "limit_store_errors %lu\n",
	    atomic_load(&limits_checked), atomic_load(&limits_refused_all),
	    atomic_load(&limits_refunds), atomic_load(&limits_unreachable),
	    atomic_load(&limits_fallback), atomic_load(&limits_errors));
	pthread_mutex_lock(&limits_lock);
	for (i = 0;
	     i < RATELIMIT_MAX_CLASSES && limits_count[i].name[0] != '\0'; i++)
		fprintf(fp,
		    "limit_refused_class_%s %lu\nlimit_shadow_class_%s %lu\n",
		    limits_count[i].name, limits_count[i].refused,
		    limits_count[i].name, limits_count[i].shadow);
	pthread_mutex_unlock(&limits_lock);
	limit_alert_stats(&as);
	fprintf(fp,
	    "limit_alerts_sent %lu\nlimit_alerts_failed %lu\n"
	    "limit_alerts_suppressed %lu\nlimit_alerts_dropped %lu\n",
	    (unsigned long)as.sent, (unsigned long)as.failed,
	    (unsigned long)as.suppressed, (unsigned long)as.dropped);
}

/* limits_stop - stop housekeeping, close the stores */
void
limits_stop(void)
{
	char *error = NULL;

	if (limits_running) {
		atomic_store(&limits_stopping, true);
		(void)pthread_join(limits_thread, NULL);
		limits_running = false;
	}
	limit_alert_stop();
	if (limits_local != NULL && limit_store_sync(limits_local, &error) != 0)
		free(error);
	error = NULL;
	if (limits_main != NULL && limit_store_sync(limits_main, &error) != 0)
		free(error);
	limit_store_close(&limits_main);
	limit_store_close(&limits_local);
}
