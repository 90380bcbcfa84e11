/*
 * NAME
 *	limit_alert - the alert hook for per-account sending caps
 * DESCRIPTION
 *	See limit_alert.h. limit_alert_post() copies the event into a
 *	fixed-size item (cut at a UTF-8 boundary), checks the two rate
 *	limits and queues it, all under one mutex and without allocating.
 *	The worker takes one item at a time, builds its JSON text and runs
 *	the hooks with the mutex released. The (account, event, percent,
 *	cap) key is remembered as a keyed SipHash-2-4 of the four (random
 *	key per start), so a chosen account name cannot aim at one set of
 *	the table.
 * THREADS
 *	limit_alert_state.lock guards the queue, the tables and the
 *	counters; the options, the environment copy and the hash key are
 *	written before the worker starts and freed after it is joined.
 *	stopping and deadline_ms are atomics read by the worker during a
 *	delivery.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <sodium.h>

#include "milter/limit_alert.h"
#include "milter/log.h"
#include "policy/ratelimit.h"

#ifndef SAKIMORI_VERSION
#define SAKIMORI_VERSION "0"
#endif

#define LIMIT_ALERT_WAYS 8 /* entries per set of the seen table */
#define LIMIT_ALERT_SETS (LIMIT_ALERT_SEEN / LIMIT_ALERT_WAYS)
#define LIMIT_ALERT_ACCOUNT_MAX RATELIMIT_ACCOUNT_MAX /* account bytes */
#define LIMIT_ALERT_CAP_MAX 160			      /* cap text bytes */
#define LIMIT_ALERT_CLASS_MAX 63		      /* class name bytes */
#define LIMIT_ALERT_EVENT_MAX 15		      /* event name bytes */
#define LIMIT_ALERT_DRAIN_MS 2000 /* stop: deliver what is queued this long */
#define LIMIT_ALERT_LOG_EVERY 60  /* s between "suppressed/dropped" lines */
#define LIMIT_ALERT_REPLY_LOG 100 /* response bytes kept for the log */

extern char **environ;

/* One queued alert: the event, copied and cut to size. */
struct limit_alert_item {
	char account[LIMIT_ALERT_ACCOUNT_MAX + 1];  /* the account */
	char event[LIMIT_ALERT_EVENT_MAX + 1];	    /* threshold | blocked */
	char cap[LIMIT_ALERT_CAP_MAX + 1];	    /* the cap as text */
	char class_name[LIMIT_ALERT_CLASS_MAX + 1]; /* the class */
	int percent;				    /* threshold reached */
	uint32_t used;				    /* count */
	uint32_t limit;				    /* cap maximum */
	int64_t until;				    /* end of block, 0 none */
	int64_t now;				    /* time of the event */
	bool cut;				    /* some text was cut */
};

/* One remembered key of the seen table. */
struct limit_alert_seen {
	uint64_t key; /* SipHash of (account, event, percent, cap) */
	int64_t at;   /* when it was last queued */
	bool used;    /* slot holds a key */
};

/* Everything the module keeps between start and stop. */
struct limit_alert_state {
	pthread_mutex_t lock; /* guards the members up to stats */
	pthread_cond_t cond;  /* work queued, or stopping */
	bool accepting;	      /* posts may queue */
	struct limit_alert_item queue[LIMIT_ALERT_QUEUE]; /* ring */
	size_t head;					  /* first queued */
	size_t count;					  /* queued */
	struct limit_alert_seen seen[LIMIT_ALERT_SEEN];	  /* recent keys */
	int64_t *minute;		/* ring of per_minute queue times */
	size_t minute_head;		/* oldest in minute */
	size_t minute_count;		/* entries in minute */
	int64_t warn_at;		/* last "suppressed/dropped" line */
	uint64_t warn_over;		/* per_minute refusals since warn_at */
	uint64_t warn_full;		/* queue-full drops since warn_at */
	struct limit_alert_stats stats; /* counters */

	bool started;	     /* worker running (start/stop thread) */
	pthread_t thread;    /* the worker */
	char *command;	     /* shell command, NULL none */
	char *url;	     /* URL, NULL none */
	unsigned interval;   /* s between equal alerts */
	unsigned per_minute; /* alerts a minute */
	unsigned command_ms; /* command time limit */
	unsigned url_ms;     /* POST time limit */
	char **env;	     /* environment copy, NULL-ended */
	size_t env_count;    /* entries in env */
	unsigned char hash_key[crypto_shorthash_KEYBYTES]; /* SipHash key */
	atomic_bool stopping;	     /* limit_alert_stop called */
	_Atomic int64_t deadline_ms; /* then: give up at (monotonic) */
};

static struct limit_alert_state limit_alert_state = {
	.lock = PTHREAD_MUTEX_INITIALIZER,
	.cond = PTHREAD_COND_INITIALIZER,
};
static pthread_once_t limit_alert_curl_once = PTHREAD_ONCE_INIT;
static CURLcode limit_alert_curl_rc; /* curl_global_init's result */

/* limit_alert_lock - take the module lock */
static void
limit_alert_lock(void)
{
	if (pthread_mutex_lock(&limit_alert_state.lock) != 0)
		abort();
}

/* limit_alert_unlock - release the module lock */
static void
limit_alert_unlock(void)
{
	if (pthread_mutex_unlock(&limit_alert_state.lock) != 0)
		abort();
}

/* limit_alert_mono_ms - the monotonic clock in milliseconds */
static int64_t
limit_alert_mono_ms(void)
{
	struct timespec ts;

	if (clock_gettime(CLOCK_MONOTONIC, &ts) != 0)
		abort();
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* limit_alert_aborting - has stop's drain time run out? */
static bool
limit_alert_aborting(void)
{
	return atomic_load(&limit_alert_state.stopping) &&
	    limit_alert_mono_ms() >=
	    atomic_load(&limit_alert_state.deadline_ms);
}

/* limit_alert_copy - copy a string, cut at a UTF-8 boundary to fit */
static void
limit_alert_copy(char *dst, size_t size, const char *src, bool *cut)
{
	size_t n;

	if (src == NULL)
		src = "";
	n = strlen(src);
	if (n >= size) {
		n = size - 1;
		/* Never keep the first bytes of a multi-byte sequence. */
		while (n > 0 && ((unsigned char)src[n] & 0xc0) == 0x80)
			n--;
		*cut = true;
	}
	memcpy(dst, src, n);
	dst[n] = '\0';
}

/* limit_alert_item_fill - an item from an event */
static void
limit_alert_item_fill(
    struct limit_alert_item *it, const struct limit_alert_event *e)
{
	it->cut = false;
	limit_alert_copy(
	    it->account, sizeof(it->account), e->account, &it->cut);
	limit_alert_copy(it->event, sizeof(it->event), e->event, &it->cut);
	limit_alert_copy(it->cap, sizeof(it->cap), e->cap_text, &it->cut);
	limit_alert_copy(
	    it->class_name, sizeof(it->class_name), e->class_name, &it->cut);
	it->percent = e->percent;
	it->used = e->used;
	it->limit = e->limit;
	it->until = e->until;
	it->now = e->now;
}

/* limit_alert_item_event - the event view of an item (borrows it) */
static void
limit_alert_item_event(
    const struct limit_alert_item *it, struct limit_alert_event *e)
{
	memset(e, 0, sizeof(*e));
	e->account = it->account;
	e->event = it->event;
	e->percent = it->percent;
	e->cap_text = it->cap;
	e->class_name = it->class_name;
	e->used = it->used;
	e->limit = it->limit;
	e->until = it->until;
	e->now = it->now;
}

/* limit_alert_key - the keyed hash of (account, event, percent, cap) */
static uint64_t
limit_alert_key(const struct limit_alert_item *it)
{
	unsigned char
	    in[sizeof(it->account) + sizeof(it->event) + 16 + sizeof(it->cap)];
	unsigned char out[crypto_shorthash_BYTES];
	uint64_t key;
	size_t len;
	int n;

	/* NUL separators: no two different keys give the same input. */
	n = snprintf((char *)in, sizeof(in), "%s%c%s%c%d%c%s", it->account,
	    '\0', it->event, '\0', it->percent, '\0', it->cap);
	len = n < 0 ? 0 : (size_t)n < sizeof(in) ? (size_t)n : sizeof(in) - 1;
	crypto_shorthash(out, in, len, limit_alert_state.hash_key);
	memcpy(&key, out, sizeof(key));
	return key;
}

/*
 * limit_alert_seen_slot - find the slot of a key, or the one it would
 * take (empty, expired, else the oldest of its set)
 *	recent_r: the key was queued less than interval ago
 */
static struct limit_alert_seen *
limit_alert_seen_slot(uint64_t key, int64_t now, bool *recent_r)
{
	struct limit_alert_state *s = &limit_alert_state;
	struct limit_alert_seen *set, *pick = NULL;
	size_t i;

	*recent_r = false;
	set = &s->seen[((key >> 32) % LIMIT_ALERT_SETS) * LIMIT_ALERT_WAYS];
	for (i = 0; i < LIMIT_ALERT_WAYS; i++) {
		if (set[i].used && set[i].key == key) {
			*recent_r = now - set[i].at < (int64_t)s->interval;
			return &set[i];
		}
		if (pick == NULL || !set[i].used ||
		    (pick->used && set[i].at < pick->at))
			pick = &set[i];
	}
	return pick;
}

/* limit_alert_minute_full - have per_minute alerts been queued in 60 s? */
static bool
limit_alert_minute_full(int64_t now)
{
	struct limit_alert_state *s = &limit_alert_state;

	if (s->minute_count < s->per_minute)
		return false;
	return now - s->minute[s->minute_head] < 60;
}

/* limit_alert_minute_add - remember one more queued alert */
static void
limit_alert_minute_add(int64_t now)
{
	struct limit_alert_state *s = &limit_alert_state;

	if (s->minute_count < s->per_minute) {
		s->minute[(s->minute_head + s->minute_count) % s->per_minute] =
		    now;
		s->minute_count++;
	} else {
		s->minute[s->minute_head] = now;
		s->minute_head = (s->minute_head + 1) % s->per_minute;
	}
}

/* limit_alert_post - queue an alert; never waits for I/O */
int
limit_alert_post(const struct limit_alert_event *e)
{
	struct limit_alert_state *s = &limit_alert_state;
	struct limit_alert_item it;
	struct limit_alert_seen *slot;
	uint64_t key, over = 0, full = 0;
	bool recent, warn = false;
	unsigned per_minute;
	int ret;

	limit_alert_item_fill(&it, e);
	limit_alert_lock();
	if (!s->accepting) {
		limit_alert_unlock();
		return -1;
	}
	per_minute = s->per_minute;
	key = limit_alert_key(&it);
	slot = limit_alert_seen_slot(key, it.now, &recent);
	if (recent) {
		s->stats.suppressed++;
		ret = 0;
	} else if (limit_alert_minute_full(it.now)) {
		s->stats.suppressed++;
		s->warn_over++;
		ret = 0;
	} else if (s->count == LIMIT_ALERT_QUEUE) {
		s->stats.dropped++;
		s->warn_full++;
		ret = 0;
	} else {
		s->queue[(s->head + s->count) % LIMIT_ALERT_QUEUE] = it;
		s->count++;
		s->stats.queued++;
		slot->key = key;
		slot->at = it.now;
		slot->used = true;
		limit_alert_minute_add(it.now);
		if (pthread_cond_signal(&s->cond) != 0)
			abort();
		ret = 1;
	}
	if ((s->warn_over > 0 || s->warn_full > 0) &&
	    it.now - s->warn_at >= LIMIT_ALERT_LOG_EVERY) {
		warn = true;
		over = s->warn_over;
		full = s->warn_full;
		s->warn_over = s->warn_full = 0;
		s->warn_at = it.now;
	}
	limit_alert_unlock();
	if (warn)
		log_msg(LOG_WARNING,
		    "limit_alert: %" PRIu64 " alerts over per_minute=%u "
		    "suppressed, %" PRIu64 " dropped (queue full)",
		    over, per_minute, full);
	return ret;
}

/* limit_alert_stats - the counters */
void
limit_alert_stats(struct limit_alert_stats *st)
{
	limit_alert_lock();
	*st = limit_alert_state.stats;
	limit_alert_unlock();
}

/* JSON text under construction. */
struct limit_alert_buf {
	char *p;       /* output */
	size_t size;   /* bytes at p */
	size_t len;    /* bytes used, without the NUL */
	bool overflow; /* something did not fit */
};

/* limit_alert_put - append bytes */
static void
limit_alert_put(struct limit_alert_buf *b, const char *s, size_t n)
{
	if (b->overflow || b->len + n >= b->size) {
		b->overflow = true;
		return;
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
}

/* limit_alert_puts - append a C string as is */
static void
limit_alert_puts(struct limit_alert_buf *b, const char *s)
{
	limit_alert_put(b, s, strlen(s));
}

/*
 * limit_alert_utf8_len - length of the valid UTF-8 sequence at p, or 0
 * (RFC 3629 section 4: no overlong forms, no surrogates, at most
 * U+10FFFF). p is NUL-ended, which is never a continuation byte.
 */
static size_t
limit_alert_utf8_len(const unsigned char *p)
{
	unsigned char lo = 0x80, hi = 0xbf;
	size_t n, i;

	if (p[0] < 0x80)
		return 1;
	if (p[0] >= 0xc2 && p[0] <= 0xdf)
		n = 2;
	else if (p[0] >= 0xe0 && p[0] <= 0xef)
		n = 3;
	else if (p[0] >= 0xf0 && p[0] <= 0xf4)
		n = 4;
	else
		return 0;
	if (p[0] == 0xe0)
		lo = 0xa0;
	else if (p[0] == 0xed)
		hi = 0x9f;
	else if (p[0] == 0xf0)
		lo = 0x90;
	else if (p[0] == 0xf4)
		hi = 0x8f;
	if (p[1] < lo || p[1] > hi)
		return 0;
	for (i = 2; i < n; i++) {
		if (p[i] < 0x80 || p[i] > 0xbf)
			return 0;
	}
	return n;
}

/* limit_alert_put_string - append a JSON string (RFC 8259 section 7) */
static void
limit_alert_put_string(struct limit_alert_buf *b, const char *s)
{
	const unsigned char *p = (const unsigned char *)(s != NULL ? s : "");
	char esc[8];
	size_t n;

	limit_alert_put(b, "\"", 1);
	while (*p != '\0') {
		if (*p == '"' || *p == '\\') {
			esc[0] = '\\';
			esc[1] = (char)*p;
			limit_alert_put(b, esc, 2);
			p++;
		} else if (*p < 0x20 || *p == 0x7f) {
			snprintf(esc, sizeof(esc), "\\u%04x", *p);
			limit_alert_put(b, esc, 6);
			p++;
		} else if ((n = limit_alert_utf8_len(p)) == 0) {
			limit_alert_puts(b, "\\ufffd");
			p++;
		} else {
			limit_alert_put(b, (const char *)p, n);
			p += n;
		}
	}
	limit_alert_put(b, "\"", 1);
}

/* limit_alert_json - the JSON text of an event */
int
limit_alert_json(const struct limit_alert_event *e, char *buf, size_t size)
{
	struct limit_alert_buf b = { buf, size, 0, false };
	struct tm tm;
	time_t t = (time_t)e->now;
	char num[64];

	if (size == 0)
		return -1;
	buf[0] = '\0';
	limit_alert_puts(&b, "{\"account\":");
	limit_alert_put_string(&b, e->account);
	limit_alert_puts(&b, ",\"event\":");
	limit_alert_put_string(&b, e->event);
	snprintf(num, sizeof(num), ",\"percent\":%d,\"cap\":", e->percent);
	limit_alert_puts(&b, num);
	limit_alert_put_string(&b, e->cap_text);
	limit_alert_puts(&b, ",\"class\":");
	limit_alert_put_string(&b, e->class_name);
	snprintf(num, sizeof(num), ",\"used\":%" PRIu32 ",\"limit\":%" PRIu32,
	    e->used, e->limit);
	limit_alert_puts(&b, num);
	if (e->until > 0)
		snprintf(num, sizeof(num), ",\"until\":%" PRId64, e->until);
	else
		snprintf(num, sizeof(num), ",\"until\":null");
	limit_alert_puts(&b, num);
	if (gmtime_r(&t, &tm) != NULL &&
	    strftime(
		num, sizeof(num), ",\"time\":\"%Y-%m-%dT%H:%M:%SZ\"}", &tm) > 0)
		limit_alert_puts(&b, num);
	else
		limit_alert_puts(&b, ",\"time\":null}");
	return b.overflow ? -1 : (int)b.len;
}

/* limit_alert_who - "account=... event=... percent=..." for a log line */
static char *
limit_alert_who(const struct limit_alert_item *it, char *buf, size_t size)
{
	char acc[400], cap[200];

	snprintf(buf, size, "account=%s event=%s percent=%d cap=\"%s\"",
	    log_escape(it->account, acc, sizeof(acc)), it->event, it->percent,
	    log_escape(it->cap, cap, sizeof(cap)));
	return buf;
}

/* limit_alert_feed - give the command its stdin, as much as fits now */
static void
limit_alert_feed(int fd, const char *json, size_t len)
{
	const char *parts[2] = { json, "\n" };
	size_t sizes[2] = { len, 1 }, i, off;
	ssize_t n;

	/*
	 * XXX: non-blocking, so a command that never reads cannot stall
	 * the worker; the text (< LIMIT_ALERT_JSON_MAX) fits in a socket
	 * buffer, so nothing is lost in practice.
	 */
	for (i = 0; i < 2; i++) {
		for (off = 0; off < sizes[i]; off += (size_t)n) {
			n = send(fd, parts[i] + off, sizes[i] - off,
			    MSG_NOSIGNAL | MSG_DONTWAIT);
			if (n < 0 && errno == EINTR) {
				n = 0;
				continue;
			}
			if (n <= 0)
				return; /* it exited, or will not read */
		}
	}
}

/* limit_alert_wait - wait for the command; kill its group when late */
static int
limit_alert_wait(pid_t pid, int *status_r, bool *late_r)
{
	int64_t end = limit_alert_mono_ms() + limit_alert_state.command_ms;
	useconds_t delay = 1000;
	pid_t r;

	*late_r = false;
	for (;;) {
		r = waitpid(pid, status_r, WNOHANG);
		if (r == pid)
			return 0;
		if (r < 0 && errno != EINTR)
			return -1;
		if (limit_alert_mono_ms() >= end || limit_alert_aborting())
			break;
		usleep(delay);
		if (delay < 50000)
			delay *= 2;
	}
	*late_r = true;
	(void)kill(-pid, SIGKILL); /* the shell and what it started */
	(void)kill(pid, SIGKILL);
	while ((r = waitpid(pid, status_r, 0)) < 0 && errno == EINTR)
		;
	return r == pid ? 0 : -1;
}

/* limit_alert_spawn - start "/bin/sh -c COMMAND" with stdin from fd */
static int
limit_alert_spawn(int fd, char **envp, pid_t *pid_r)
{
	static const int defaults[] = { SIGPIPE, SIGHUP, SIGINT, SIGTERM,
		SIGQUIT, SIGUSR1, SIGUSR2, SIGCHLD, SIGALRM };
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t attr;
	sigset_t none, dfl;
	char sh[] = "/bin/sh", dash_c[] = "-c";
	char *argv[] = { sh, dash_c, limit_alert_state.command, NULL };
	size_t i;
	int err;

	sigemptyset(&none);
	sigemptyset(&dfl);
	for (i = 0; i < sizeof(defaults) / sizeof(defaults[0]); i++)
		sigaddset(&dfl, defaults[i]);
	if ((err = posix_spawn_file_actions_init(&fa)) != 0)
		return err;
	if ((err = posix_spawnattr_init(&attr)) != 0) {
		posix_spawn_file_actions_destroy(&fa);
		return err;
	}
	/*
	 * The daemon blocks every signal and ignores SIGPIPE: the command
	 * gets neither. Its own process group, so a late one is killed
	 * with everything it started; no descriptor but 0, 1, 2.
	 */
	err = posix_spawn_file_actions_adddup2(&fa, fd, 0);
	if (err == 0)
		err = posix_spawn_file_actions_addopen(
		    &fa, 1, "/dev/null", O_WRONLY, 0);
	if (err == 0)
		err = posix_spawn_file_actions_addclosefrom_np(&fa, 3);
	if (err == 0)
		err = posix_spawnattr_setsigmask(&attr, &none);
	if (err == 0)
		err = posix_spawnattr_setsigdefault(&attr, &dfl);
	if (err == 0)
		err = posix_spawnattr_setpgroup(&attr, 0);
	if (err == 0)
		err = posix_spawnattr_setflags(&attr,
		    POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF |
			POSIX_SPAWN_SETPGROUP);
	if (err == 0)
		err = posix_spawn(pid_r, sh, &fa, &attr, argv, envp);
	posix_spawnattr_destroy(&attr);
	posix_spawn_file_actions_destroy(&fa);
	return err;
}

/* limit_alert_run - run the command for one alert */
static int
limit_alert_run(const struct limit_alert_item *it, const char *json, size_t len)
{
	struct limit_alert_state *s = &limit_alert_state;
	char v_account[sizeof(it->account) + 20], v_event[40], v_percent[40];
	char v_cap[sizeof(it->cap) + 20], v_class[sizeof(it->class_name) + 20];
	char v_used[40], v_limit[40], v_until[48], who[700];
	char *vars[] = { v_account, v_event, v_percent, v_cap, v_class, v_used,
		v_limit, v_until };
	char **envp;
	size_t i, nvars = sizeof(vars) / sizeof(vars[0]);
	int sv[2], err, status = 0;
	bool late;
	pid_t pid = -1;

	snprintf(
	    v_account, sizeof(v_account), "SAKIMORI_ACCOUNT=%s", it->account);
	snprintf(v_event, sizeof(v_event), "SAKIMORI_EVENT=%s", it->event);
	snprintf(
	    v_percent, sizeof(v_percent), "SAKIMORI_PERCENT=%d", it->percent);
	snprintf(v_cap, sizeof(v_cap), "SAKIMORI_CAP=%s", it->cap);
	snprintf(v_class, sizeof(v_class), "SAKIMORI_CLASS=%s", it->class_name);
	snprintf(v_used, sizeof(v_used), "SAKIMORI_USED=%" PRIu32, it->used);
	snprintf(
	    v_limit, sizeof(v_limit), "SAKIMORI_LIMIT=%" PRIu32, it->limit);
	if (it->until > 0)
		snprintf(v_until, sizeof(v_until), "SAKIMORI_UNTIL=%" PRId64,
		    it->until);
	else
		snprintf(v_until, sizeof(v_until), "SAKIMORI_UNTIL=");
	if ((envp = calloc(s->env_count + nvars + 1, sizeof(*envp))) == NULL) {
		log_msg(LOG_WARNING, "limit_alert: command: out of memory; %s",
		    limit_alert_who(it, who, sizeof(who)));
		return -1;
	}
	for (i = 0; i < s->env_count; i++)
		envp[i] = s->env[i];
	for (i = 0; i < nvars; i++)
		envp[s->env_count + i] = vars[i];
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0) {
		log_msg(LOG_WARNING, "limit_alert: command: socketpair: %s; %s",
		    strerror(errno), limit_alert_who(it, who, sizeof(who)));
		free(envp);
		return -1;
	}
	err = limit_alert_spawn(sv[1], envp, &pid);
	close(sv[1]);
	free(envp);
	if (err != 0) {
		close(sv[0]);
		log_msg(LOG_WARNING,
		    "limit_alert: command: cannot start: %s; %s", strerror(err),
		    limit_alert_who(it, who, sizeof(who)));
		return -1;
	}
	limit_alert_feed(sv[0], json, len);
	close(sv[0]);
	if (limit_alert_wait(pid, &status, &late) != 0) {
		log_msg(LOG_WARNING, "limit_alert: command: waitpid: %s; %s",
		    strerror(errno), limit_alert_who(it, who, sizeof(who)));
		return -1;
	}
	if (late && limit_alert_aborting()) {
		log_msg(LOG_WARNING, "limit_alert: command: killed at stop; %s",
		    limit_alert_who(it, who, sizeof(who)));
		return -1;
	}
	if (late) {
		log_msg(LOG_WARNING,
		    "limit_alert: command: killed after %u ms; %s",
		    s->command_ms, limit_alert_who(it, who, sizeof(who)));
		return -1;
	}
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		return 0;
	if (WIFEXITED(status))
		log_msg(LOG_WARNING, "limit_alert: command: exit status %d; %s",
		    WEXITSTATUS(status), limit_alert_who(it, who, sizeof(who)));
	else
		log_msg(LOG_WARNING, "limit_alert: command: signal %d; %s",
		    WIFSIGNALED(status) ? WTERMSIG(status) : 0,
		    limit_alert_who(it, who, sizeof(who)));
	return -1;
}

/* The start of a web hook's response, for the log. */
struct limit_alert_reply {
	char text[LIMIT_ALERT_REPLY_LOG + 1]; /* first bytes, NUL-ended */
	size_t len;			      /* bytes in text */
};

/* limit_alert_body - curl write callback: keep the first bytes only */
static size_t
limit_alert_body(char *ptr, size_t size, size_t nmemb, void *arg)
{
	struct limit_alert_reply *r = arg;
	size_t n = size * nmemb, take;

	take = LIMIT_ALERT_REPLY_LOG - r->len;
	if (take > n)
		take = n;
	memcpy(r->text + r->len, ptr, take);
	r->len += take;
	r->text[r->len] = '\0';
	return n;
}

/* limit_alert_progress - curl progress callback: abort when stopping */
static int
limit_alert_progress(void *arg, curl_off_t dltotal, curl_off_t dlnow,
    curl_off_t ultotal, curl_off_t ulnow)
{
	(void)arg;
	(void)dltotal;
	(void)dlnow;
	(void)ultotal;
	(void)ulnow;
	return limit_alert_aborting() ? 1 : 0;
}

/* limit_alert_http - POST the JSON text for one alert */
static int
limit_alert_http(CURL *c, struct curl_slist *headers,
    const struct limit_alert_item *it, const char *json, size_t len)
{
	struct limit_alert_state *s = &limit_alert_state;
	struct limit_alert_reply reply;
	char errbuf[CURL_ERROR_SIZE], esc[300], who[700];
	long status = 0;
	CURLcode rc;

	if (c == NULL || headers == NULL) {
		log_msg(LOG_WARNING, "limit_alert: url: curl not ready; %s",
		    limit_alert_who(it, who, sizeof(who)));
		return -1;
	}
	memset(&reply, 0, sizeof(reply));
	errbuf[0] = '\0';
	curl_easy_reset(c);
	curl_easy_setopt(c, CURLOPT_URL, s->url);
#if LIBCURL_VERSION_NUM >= 0x075500
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
#else
	curl_easy_setopt(
	    c, CURLOPT_PROTOCOLS, (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS));
#endif
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers);
	curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)len);
	curl_easy_setopt(c, CURLOPT_POSTFIELDS, json);
	curl_easy_setopt(c, CURLOPT_USERAGENT, "sakimori/" SAKIMORI_VERSION);
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, (long)s->url_ms);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, limit_alert_body);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &reply);
	curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
	curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, limit_alert_progress);
	rc = curl_easy_perform(c);
	if (rc != CURLE_OK) {
		log_msg(LOG_WARNING, "limit_alert: url: %s; %s",
		    log_escape(
			errbuf[0] != '\0' ? errbuf : curl_easy_strerror(rc),
			esc, sizeof(esc)),
		    limit_alert_who(it, who, sizeof(who)));
		return -1;
	}
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
	if (status >= 200 && status <= 299)
		return 0;
	log_msg(LOG_WARNING,
	    "limit_alert: url: HTTP status %ld reply=\"%s\"; %s", status,
	    log_escape(reply.text, esc, sizeof(esc)),
	    limit_alert_who(it, who, sizeof(who)));
	return -1;
}

/* limit_alert_deliver - run every hook for one alert */
static int
limit_alert_deliver(
    const struct limit_alert_item *it, CURL *c, struct curl_slist *headers)
{
	struct limit_alert_state *s = &limit_alert_state;
	struct limit_alert_event e;
	char json[LIMIT_ALERT_JSON_MAX], who[700];
	int len, ret = 0;

	limit_alert_item_event(it, &e);
	if ((len = limit_alert_json(&e, json, sizeof(json))) < 0)
		abort(); /* the item's bounds make it fit */
	if (it->cut)
		log_msg(LOG_WARNING, "limit_alert: text cut to fit; %s",
		    limit_alert_who(it, who, sizeof(who)));
	if (s->command != NULL && limit_alert_run(it, json, (size_t)len) != 0)
		ret = -1;
	if (s->url != NULL &&
	    limit_alert_http(c, headers, it, json, (size_t)len) != 0)
		ret = -1;
	return ret;
}

/* limit_alert_main - the worker: deliver queued alerts until stopped */
static void *
limit_alert_main(void *arg)
{
	struct limit_alert_state *s = &limit_alert_state;
	struct limit_alert_item it;
	struct curl_slist *headers = NULL, *h;
	CURL *c = NULL;
	size_t left = 0;
	int rc;

	(void)arg;
	if (s->url != NULL) {
		c = curl_easy_init();
		if ((h = curl_slist_append(
			 NULL, "Content-Type: application/json")) != NULL &&
		    (headers = curl_slist_append(h, "Expect:")) == NULL)
			curl_slist_free_all(h);
		if (c == NULL || headers == NULL)
			log_msg(LOG_ERR,
			    "limit_alert: url: cannot set up "
			    "curl; web hook alerts will fail");
	}
	limit_alert_lock();
	for (;;) {
		while (s->count == 0 && !atomic_load(&s->stopping)) {
			if (pthread_cond_wait(&s->cond, &s->lock) != 0)
				abort();
		}
		if (s->count == 0)
			break;
		if (limit_alert_aborting()) {
			left = s->count;
			s->stats.dropped += left;
			s->count = 0;
			break;
		}
		it = s->queue[s->head];
		s->head = (s->head + 1) % LIMIT_ALERT_QUEUE;
		s->count--;
		limit_alert_unlock();
		rc = limit_alert_deliver(&it, c, headers);
		limit_alert_lock();
		if (rc == 0)
			s->stats.sent++;
		else
			s->stats.failed++;
	}
	limit_alert_unlock();
	if (left > 0)
		log_msg(LOG_WARNING,
		    "limit_alert: stopping: %zu alerts dropped", left);
	curl_slist_free_all(headers);
	if (c != NULL)
		curl_easy_cleanup(c);
	return NULL;
}

/* limit_alert_curl_init - curl_global_init, once per process */
static void
limit_alert_curl_init(void)
{
	limit_alert_curl_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

/* limit_alert_free - free the copied options and tables */
static void
limit_alert_free(void)
{
	struct limit_alert_state *s = &limit_alert_state;
	size_t i;

	free(s->command);
	free(s->url);
	for (i = 0; i < s->env_count; i++)
		free(s->env[i]);
	free(s->env);
	free(s->minute);
	s->command = s->url = NULL;
	s->env = NULL;
	s->env_count = 0;
	s->minute = NULL;
}

/* limit_alert_copy_env - the environment, without SAKIMORI_ variables */
static int
limit_alert_copy_env(void)
{
	struct limit_alert_state *s = &limit_alert_state;
	size_t i, n = 0;

	for (i = 0; environ != NULL && environ[i] != NULL; i++)
		n++;
	if ((s->env = calloc(n + 1, sizeof(*s->env))) == NULL)
		return -1;
	for (i = 0; i < n; i++) {
		if (strncmp(environ[i], "SAKIMORI_", 9) == 0)
			continue;
		if ((s->env[s->env_count] = strdup(environ[i])) == NULL)
			return -1;
		s->env_count++;
	}
	return 0;
}

/* limit_alert_start - copy the options, start the worker */
int
limit_alert_start(const struct limit_alert_options *o, char **error_r)
{
	struct limit_alert_state *s = &limit_alert_state;
	bool has_command, has_url;
	const char *why = NULL;
	int err;

	*error_r = NULL;
	if (s->started) {
		*error_r = strdup("limit_alert: already started");
		return -1;
	}
	has_command = o->command != NULL && o->command[0] != '\0';
	has_url = o->url != NULL && o->url[0] != '\0';
	if (has_url && strncasecmp(o->url, "http://", 7) != 0 &&
	    strncasecmp(o->url, "https://", 8) != 0) {
		*error_r = strdup("limit_alert_url: not an http:// or "
				  "https:// URL");
		return -1;
	}
	if (o->per_minute > LIMIT_ALERT_PER_MINUTE_MAX) {
		if (asprintf(error_r,
			"limit_alert per_minute: %u is more "
			"than %u",
			o->per_minute, LIMIT_ALERT_PER_MINUTE_MAX) < 0)
			*error_r = NULL;
		return -1;
	}
	if (!has_command && !has_url)
		return 0;
	if (sodium_init() < 0) {
		*error_r = strdup("limit_alert: libsodium cannot start");
		return -1;
	}
	if (has_url) {
		if ((err = pthread_once(
			 &limit_alert_curl_once, limit_alert_curl_init)) != 0 ||
		    limit_alert_curl_rc != CURLE_OK) {
			*error_r = strdup("limit_alert: curl_global_init "
					  "failed");
			return -1;
		}
	}
	s->interval = o->interval != 0 ? o->interval : 3600;
	s->per_minute = o->per_minute != 0 ? o->per_minute : 60;
	s->command_ms =
	    o->command_timeout_ms != 0 ? o->command_timeout_ms : 10000;
	s->url_ms = o->url_timeout_ms != 0 ? o->url_timeout_ms : 5000;
	if ((has_command && (s->command = strdup(o->command)) == NULL) ||
	    (has_url && (s->url = strdup(o->url)) == NULL) ||
	    (s->minute = calloc(s->per_minute, sizeof(*s->minute))) == NULL ||
	    limit_alert_copy_env() != 0) {
		why = "out of memory";
		goto fail;
	}
	randombytes_buf(s->hash_key, sizeof(s->hash_key));
	atomic_store(&s->stopping, false);
	atomic_store(&s->deadline_ms, 0);
	limit_alert_lock();
	s->head = s->count = 0;
	memset(s->seen, 0, sizeof(s->seen));
	s->minute_head = s->minute_count = 0;
	s->warn_at = 0;
	s->warn_over = s->warn_full = 0;
	memset(&s->stats, 0, sizeof(s->stats));
	s->accepting = true;
	limit_alert_unlock();
	if ((err = pthread_create(&s->thread, NULL, limit_alert_main, NULL)) !=
	    0) {
		limit_alert_lock();
		s->accepting = false;
		limit_alert_unlock();
		why = strerror(err);
		goto fail;
	}
	s->started = true;
	log_msg(LOG_INFO, "limit_alert: hook%s%s, interval %u s, per_minute %u",
	    has_command ? " command" : "", has_url ? " url" : "", s->interval,
	    s->per_minute);
	return 0;

fail:
	limit_alert_free();
	if (asprintf(error_r, "limit_alert: %s", why) < 0)
		*error_r = NULL;
	return -1;
}

/* limit_alert_stop - drain for a moment, then drop, and join the worker */
void
limit_alert_stop(void)
{
	struct limit_alert_state *s = &limit_alert_state;

	if (!s->started)
		return;
	limit_alert_lock();
	s->accepting = false;
	atomic_store(
	    &s->deadline_ms, limit_alert_mono_ms() + LIMIT_ALERT_DRAIN_MS);
	atomic_store(&s->stopping, true);
	if (pthread_cond_broadcast(&s->cond) != 0)
		abort();
	limit_alert_unlock();
	if (pthread_join(s->thread, NULL) != 0)
		abort();
	s->started = false;
	limit_alert_free();
}
