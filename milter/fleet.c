/*
 * NAME
 *	fleet - pushed lists shared by every filter of a fleet over Redis
 * DESCRIPTION
 *	See fleet.h. The listener thread: connect, SUBSCRIBE, catch up on
 *	every list of the running configuration (so nothing announced
 *	between the catch-up and the subscription is missed), then apply
 *	each announcement; on any error drop the connection and start over
 *	after FLEET_RETRY_MS. It waits in poll() on the socket so that
 *	fleet_stop() is heard within FLEET_POLL_MS.
 * THREADS
 *	fleet_lock guards the publishing connection.
 */
#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include <hiredis/hiredis.h>

#include "milter/control.h"
#include "milter/fleet.h"
#include "milter/listreg.h"
#include "milter/log.h"
#include "milter/runtime.h"

#define FLEET_RETRY_MS 2000 /* wait before reconnecting */
#define FLEET_POLL_MS 500   /* listener wakes up to check for stop */

/* Store, number and announce a list's content (see fleet.h). */
static const char fleet_script[] =
    "local seq = redis.call('INCR', KEYS[2])\n"
    "redis.call('HSET', KEYS[1], 'seq', seq, 'version', ARGV[1],\n"
    "    'signature', ARGV[2], 'data', ARGV[3], 'origin', ARGV[4])\n"
    "redis.call('PUBLISH', KEYS[3], ARGV[5] .. ' ' .. seq .. ' ' .. "
    "ARGV[4])\n"
    "return seq\n";

static char fleet_host[256];	   /* Redis host */
static int fleet_port;		   /* and port */
static char fleet_prefix[80];	   /* key prefix */
static struct timeval fleet_tv;	   /* connect/command timeout */
static char fleet_origin[300];	   /* host:pid */
static pthread_t fleet_thread;	   /* the listener */
static bool fleet_running;	   /* started */
static atomic_bool fleet_stopping; /* fleet_stop called */
static pthread_mutex_t fleet_lock = PTHREAD_MUTEX_INITIALIZER;
static redisContext *fleet_pub; /* publishing connection */

/* fleet_connect - a connection with timeouts, or NULL (logged once) */
static redisContext *
fleet_connect(bool *warned)
{
	redisContext *c =
	    redisConnectWithTimeout(fleet_host, fleet_port, fleet_tv);

	if (c == NULL || c->err != 0) {
		if (!*warned)
			log_msg(LOG_WARNING,
			    "fleet: redis %s:%d: %s; lists stay local until "
			    "it answers",
			    fleet_host, fleet_port,
			    c != NULL ? c->errstr : "out of memory");
		*warned = true;
		if (c != NULL)
			redisFree(c);
		return NULL;
	}
	if (redisSetTimeout(c, fleet_tv) != REDIS_OK) {
		redisFree(c);
		return NULL;
	}
	if (*warned)
		log_msg(LOG_INFO, "fleet: redis %s:%d answers again",
		    fleet_host, fleet_port);
	*warned = false;
	return c;
}

/* fleet_field - a field of an HGETALL reply, or NULL */
static const redisReply *
fleet_field(const redisReply *r, const char *name)
{
	size_t i;

	if (r == NULL || r->type != REDIS_REPLY_ARRAY)
		return NULL;
	for (i = 0; i + 1 < r->elements; i += 2) {
		if (r->element[i]->type == REDIS_REPLY_STRING &&
		    strcmp(r->element[i]->str, name) == 0 &&
		    r->element[i + 1]->type == REDIS_REPLY_STRING)
			return r->element[i + 1];
	}
	return NULL;
}

/*
 * fleet_apply - fetch a list's stored content and apply it if its seq
 * is new here
 * Returns 0 (applied, or nothing to do, or refused: logged), -1 on a
 * connection error.
 */
static int
fleet_apply(redisContext *c, const char *name)
{
	struct listreg_change ch;
	const redisReply *f_seq, *f_ver, *f_sig, *f_data, *f_origin;
	redisReply *r;
	struct runtime *rt;
	char *result = NULL, *error = NULL, who[320];
	uint64_t seq, local_seq = 0;

	if (listreg_get_fleet_seq(name, &local_seq) != 0)
		return 0; /* not a list of ours */
	r = redisCommand(c, "HGETALL %slist:%s", fleet_prefix, name);
	if (r == NULL)
		return -1;
	f_seq = fleet_field(r, "seq");
	f_ver = fleet_field(r, "version");
	f_sig = fleet_field(r, "signature");
	f_data = fleet_field(r, "data");
	f_origin = fleet_field(r, "origin");
	if (f_seq == NULL || f_ver == NULL || f_data == NULL) {
		freeReplyObject(r);
		return 0; /* never pushed in this fleet */
	}
	seq = strtoull(f_seq->str, NULL, 10);
	if (seq <= local_seq) {
		freeReplyObject(r);
		return 0;
	}
	if (f_origin != NULL && strcmp(f_origin->str, fleet_origin) == 0) {
		listreg_set_fleet_seq(name, seq); /* our own change */
		freeReplyObject(r);
		return 0;
	}
	memset(&ch, 0, sizeof(ch));
	ch.op = LISTREG_PUSH;
	ch.name = name;
	ch.data = f_data->str;
	ch.len = f_data->len;
	ch.version = strtoull(f_ver->str, NULL, 10);
	ch.signature = f_sig != NULL && f_sig->len > 0 ? f_sig->str : NULL;
	snprintf(who, sizeof(who), "fleet:%.200s",
	    f_origin != NULL ? f_origin->str : "?");
	ch.who = who;
	ch.fleet_seq = seq;
	if ((rt = runtime_acquire()) == NULL) {
		freeReplyObject(r);
		return 0;
	}
	if (listreg_update(&ch, rt->cfg, &result, &error) != 0) {
		log_msg(LOG_WARNING,
		    "fleet: list %s: change %" PRIu64 " from %s refused: %s",
		    name, seq, who + 6,
		    error != NULL ? error : "out of memory");
		/* Do not ask again for a change we cannot take. */
		listreg_set_fleet_seq(name, seq);
	} else {
		free(error);
		error = NULL;
		if (runtime_refresh_lists(&error) != 0)
			log_msg(LOG_WARNING, "fleet: list %s: %s", name,
			    error != NULL ? error : "out of memory");
	}
	runtime_release(&rt);
	free(result);
	free(error);
	freeReplyObject(r);
	return 0;
}

/* fleet_catch_up - every list of the running configuration */
static int
fleet_catch_up(redisContext *c)
{
	struct runtime *rt = runtime_acquire();
	size_t i;
	int ret = 0;

	for (i = 0; rt != NULL && i < rt->cfg->list_count && ret == 0; i++)
		ret = fleet_apply(c, rt->cfg->lists[i].name);
	runtime_release(&rt);
	return ret;
}

/* fleet_message - an announcement "NAME SEQ ORIGIN" */
static int
fleet_message(redisContext *c, const redisReply *m)
{
	char name[256];

	if (m->type != REDIS_REPLY_ARRAY || m->elements != 3 ||
	    m->element[0]->type != REDIS_REPLY_STRING ||
	    strcmp(m->element[0]->str, "message") != 0 ||
	    m->element[2]->type != REDIS_REPLY_STRING)
		return 0; /* subscribe confirmations and the like */
	if (sscanf(m->element[2]->str, "%255s", name) != 1)
		return 0;
	return fleet_apply(c, name);
}

/* fleet_listen - one connection's life: subscribe, catch up, listen */
static void
fleet_listen(redisContext *sub, redisContext *cmd)
{
	struct pollfd pfd;
	redisReply *r;
	void *reply;
	int n;

	r = redisCommand(sub, "SUBSCRIBE %slists", fleet_prefix);
	if (r == NULL)
		return;
	freeReplyObject(r);
	if (fleet_catch_up(cmd) != 0)
		return;
	pfd.fd = sub->fd;
	pfd.events = POLLIN;
	while (!atomic_load(&fleet_stopping)) {
		reply = NULL;
		if (redisReaderGetReply(sub->reader, &reply) != REDIS_OK)
			return;
		if (reply != NULL) {
			n = fleet_message(cmd, reply);
			freeReplyObject(reply);
			if (n != 0)
				return;
			continue;
		}
		n = poll(&pfd, 1, FLEET_POLL_MS);
		if (n < 0 && errno != EINTR)
			return;
		if (n > 0 && redisBufferRead(sub) != REDIS_OK)
			return;
	}
}

/* fleet_main - the listener thread */
static void *
fleet_main(void *arg)
{
	redisContext *sub, *cmd;
	bool warned = false;
	int waited;

	(void)arg;
	/* As the control thread: list builds yield to the milter threads. */
	(void)control_background();
	while (!atomic_load(&fleet_stopping)) {
		if ((sub = fleet_connect(&warned)) != NULL) {
			if ((cmd = fleet_connect(&warned)) != NULL) {
				fleet_listen(sub, cmd);
				redisFree(cmd);
				if (!atomic_load(&fleet_stopping))
					log_msg(LOG_WARNING,
					    "fleet: redis %s:%d: connection "
					    "lost (%s); reconnecting",
					    fleet_host, fleet_port,
					    sub->errstr[0] != '\0' ? sub->errstr
								   : "closed");
			}
			redisFree(sub);
		}
		for (waited = 0;
		     waited < FLEET_RETRY_MS && !atomic_load(&fleet_stopping);
		     waited += 100)
			usleep(100 * 1000);
	}
	return NULL;
}

/* fleet_start - connect the fleet, catch up, listen */
int
fleet_start(const struct config *cfg)
{
	char host[256];
	const char *colon;
	size_t hlen;
	int err;

	if (cfg->redis_server == NULL || cfg->redis_server[0] == '\0')
		return 0;
	colon = strrchr(cfg->redis_server, ':');
	hlen = (size_t)(colon - cfg->redis_server);
	if (hlen >= sizeof(fleet_host))
		hlen = sizeof(fleet_host) - 1;
	memcpy(fleet_host, cfg->redis_server, hlen);
	fleet_host[hlen] = '\0';
	fleet_port = atoi(colon + 1);
	snprintf(fleet_prefix, sizeof(fleet_prefix), "%s", cfg->redis_prefix);
	fleet_tv.tv_sec = cfg->redis_timeout_ms / 1000;
	fleet_tv.tv_usec = (cfg->redis_timeout_ms % 1000) * 1000;
	if (gethostname(host, sizeof(host)) != 0)
		snprintf(host, sizeof(host), "localhost");
	host[sizeof(host) - 1] = '\0';
	snprintf(
	    fleet_origin, sizeof(fleet_origin), "%s:%ld", host, (long)getpid());
	atomic_store(&fleet_stopping, false);
	if ((err = pthread_create(&fleet_thread, NULL, fleet_main, NULL)) !=
	    0) {
		log_msg(LOG_ERR, "fleet: pthread_create: %s", strerror(err));
		return -1;
	}
	fleet_running = true;
	log_msg(LOG_INFO, "fleet: lists shared through redis %s:%d as %s",
	    fleet_host, fleet_port, fleet_origin);
	return 0;
}

/* fleet_publish - share the current content of a list changed here */
int
fleet_publish(const char *name)
{
	char *text = NULL, sig[160], ver[32];
	uint64_t version, seq;
	size_t len;
	redisReply *r = NULL;
	bool warned = false;
	int ret = -1;

	if (!fleet_running)
		return 0;
	if (listreg_current(name, &text, &len, &version, sig, &seq) != 0)
		return -1;
	snprintf(ver, sizeof(ver), "%" PRIu64, version);
	if (pthread_mutex_lock(&fleet_lock) != 0)
		abort();
	for (int attempt = 0; attempt < 2 && r == NULL; attempt++) {
		if (fleet_pub == NULL &&
		    (fleet_pub = fleet_connect(&warned)) == NULL)
			break;
		r = redisCommand(fleet_pub,
		    "EVAL %s 3 %slist:%s %sseq:%s %slists %s %s %b %s %s",
		    fleet_script, fleet_prefix, name, fleet_prefix, name,
		    fleet_prefix, ver, sig, text, len, fleet_origin, name);
		if (r == NULL) {
			redisFree(fleet_pub); /* stale: try a new one once */
			fleet_pub = NULL;
		}
	}
	if (r != NULL && r->type == REDIS_REPLY_INTEGER) {
		seq = (uint64_t)r->integer;
		ret = 0;
	}
	if (pthread_mutex_unlock(&fleet_lock) != 0)
		abort();
	if (ret == 0) {
		listreg_set_fleet_seq(name, seq);
		log_msg(LOG_INFO,
		    "fleet: list %s version %" PRIu64
		    " shared as change %" PRIu64,
		    name, version, seq);
	} else {
		log_msg(LOG_WARNING,
		    "fleet: list %s: not shared (%s); it stays local to this "
		    "filter",
		    name,
		    r != NULL && r->type == REDIS_REPLY_ERROR ? r->str
							      : "no redis");
	}
	if (r != NULL)
		freeReplyObject(r);
	free(text);
	return ret;
}

/* fleet_stop - stop the listener, close the connections */
void
fleet_stop(void)
{
	if (!fleet_running)
		return;
	atomic_store(&fleet_stopping, true);
	(void)pthread_join(fleet_thread, NULL);
	fleet_running = false;
	if (pthread_mutex_lock(&fleet_lock) != 0)
		abort();
	if (fleet_pub != NULL)
		redisFree(fleet_pub);
	fleet_pub = NULL;
	if (pthread_mutex_unlock(&fleet_lock) != 0)
		abort();
}
