/*
 * NAME
 *	control - control socket server
 * SUMMARY
 *	Serves sakimori-ctl: reload, stats, config, version, ping.
 * DESCRIPTION
 *	See control.h. The serving thread polls the listening socket and a
 *	pipe that control_stop() writes to. A client gets 5 seconds to
 *	send its request.
 * THREADS
 *	One thread; requests are served one at a time, so a reload never
 *	races another reload from here (runtime_reload serializes anyway).
 * ERRORS
 *	Request errors are replies ("error: unknown request"); socket
 *	errors are logged as warnings and the thread goes on.
 */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "milter/control.h"
#include "milter/dkimkeys.h"
#include "milter/dns.h"
#include "milter/filter.h"
#include "milter/log.h"
#include "milter/runtime.h"
#include "lists/cidr.h"
#include "lists/list.h"
#include "policy/config.h"

#define CONTROL_REQUEST_MAX 1024 /* bytes in one request line */

static int control_fd = -1;		 /* listening socket */
static int control_pipe[2] = { -1, -1 }; /* stop signal for the thread */
static char *control_path;		 /* socket path, for removal */
static pthread_t control_thread;	 /* the serving thread */
static int control_running;		 /* thread started */

/* control_open - create and bind the socket */
int
control_open(
    const char *path, unsigned mode, uid_t uid, gid_t gid, char **error_r)
{
	struct sockaddr_un sun;
	int fd = -1, probe;
	char buf[512];

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sun.sun_path)) {
		snprintf(buf, sizeof(buf), "control_socket: %s: path too long",
		    path);
		goto fail;
	}
	strcpy(sun.sun_path, path);
	/* A live daemon answers on the socket: do not steal it. */
	if ((probe = socket(AF_UNIX, SOCK_STREAM, 0)) >= 0) {
		int live =
		    connect(probe, (struct sockaddr *)&sun, sizeof(sun)) == 0;

		close(probe);
		if (live) {
			snprintf(buf, sizeof(buf),
			    "control_socket: %s: "
			    "another sakimori is listening there",
			    path);
			goto fail;
		}
	}
	(void)unlink(path);
	if ((fd = socket(AF_UNIX, SOCK_STREAM, 0)) < 0 ||
	    bind(fd, (struct sockaddr *)&sun, sizeof(sun)) != 0 ||
	    chmod(path, mode) != 0 ||
	    (uid != (uid_t)-1 && chown(path, uid, gid) != 0) ||
	    listen(fd, 16) != 0) {
		snprintf(buf, sizeof(buf), "control_socket: %s: %s", path,
		    strerror(errno));
		goto fail;
	}
	if (pipe(control_pipe) != 0) {
		snprintf(buf, sizeof(buf), "pipe: %s", strerror(errno));
		goto fail;
	}
	control_fd = fd;
	control_path = strdup(path);
	return 0;
fail:
	if (fd >= 0)
		close(fd);
	*error_r = strdup(buf);
	return -1;
}

/* reply_stats - counters as "name value" lines */
static void
reply_stats(FILE *fp)
{
	struct filter_stats fs;
	struct dns_stats ds;
	struct dkimkeys_stats ks;
	struct runtime *rt = runtime_acquire();

	filter_get_stats(&fs);
	fprintf(fp,
	    "sessions %lu\nmessages %lu\naccepted %lu\ntagged %lu\n"
	    "quarantined %lu\ntempfailed %lu\nrejected %lu\nerrors %lu\n",
	    fs.sessions, fs.messages, fs.accepted, fs.tagged, fs.quarantined,
	    fs.tempfailed, fs.rejected, fs.errors);
	dkimkeys_get_stats(&ks);
	fprintf(fp, "dkim_key_cache_hits %lu\ndkim_key_cache_misses %lu\n",
	    ks.hits, ks.misses);
	if (rt != NULL) {
		dns_get_stats(rt->dns, &ds);
		fprintf(fp,
		    "dns_queries %lu\ndns_cache_hits %lu\n"
		    "dns_sent %lu\ndns_tempfail %lu\n"
		    "dns_cache_entries %lu\nconfig_generation %lu\n",
		    ds.queries, ds.cache_hits, ds.sent, ds.tempfail,
		    ds.cache_entries, rt->generation);
		runtime_release(&rt);
	}
}

/* control_find_list - a list of the current configuration by name */
static const struct config_list *
control_find_list(const struct config *cfg, const char *name)
{
	size_t i;

	for (i = 0; i < cfg->list_count; i++) {
		if (strcmp(cfg->lists[i].name, name) == 0)
			return &cfg->lists[i];
	}
	return NULL;
}

/* control_list_show - what a list holds */
static int
control_list_show(const struct config *cfg, const char *name, FILE *fp)
{
	const struct config_list *l = control_find_list(cfg, name);
	char when[32];
	time_t built;
	unsigned bit;

	if (l == NULL) {
		fprintf(fp, "error: %s: no such list\n", name);
		return -1;
	}
	built = list_built(l->snap);
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", gmtime(&built));
	fprintf(fp, "ok\nname %s\nkind %s\nfile %s\nfields", l->name,
	    list_kind_name(l->kind), l->file);
	for (bit = 1; bit != 0 && bit <= CONFIG_FIELD_IPREV; bit <<= 1) {
		if ((l->fields & bit) != 0)
			fprintf(fp, " %s", config_field_name(bit));
	}
	fprintf(fp,
	    "\naction %s%s\nentries %zu\nversion %llu\nchecksum %s\n"
	    "loaded %s\nmemory %zu\n",
	    verdict_action_name(l->action), l->dry_run ? " (dry run)" : "",
	    list_count(l->snap), (unsigned long long)list_version(l->snap),
	    list_checksum(l->snap), when, list_memory(l->snap));
	return 0;
}

/* control_list_test - which lists a value hits in a field, and why */
static int
control_list_test(
    const struct config *cfg, const char *field, const char *value, FILE *fp)
{
	const struct config_list *l;
	struct list_hit hit;
	struct cidr_addr addr;
	unsigned bit = 0, b;
	size_t i;
	int r;

	for (b = 1; b != 0 && b <= CONFIG_FIELD_IPREV; b <<= 1) {
		if (strcmp(config_field_name(b), field) == 0)
			bit = b;
	}
	if (bit == 0) {
		fprintf(fp,
		    "error: %s: not a field (client_ip, helo, "
		    "mail_from, from, subject, iprev)\n",
		    field);
		return -1;
	}
	if (bit == CONFIG_FIELD_CLIENT_IP &&
	    cidr_addr_parse(value, &addr) < 0) {
		fprintf(fp, "error: %s: not an IP address\n", value);
		return -1;
	}
	fprintf(fp, "ok\n");
	for (i = 0; i < cfg->list_count; i++) {
		l = &cfg->lists[i];
		if ((l->fields & bit) == 0)
			continue;
		if (l->kind == LIST_KIND_IP)
			r = list_match_ip(l->snap, &addr, time(NULL), &hit);
		else
			r = list_match(l->snap, value, time(NULL), &hit);
		if (r == 1)
			fprintf(fp, "hit %s entry=%s line=%lu action=%s%s%s\n",
			    l->name, hit.entry, hit.line,
			    verdict_action_name(l->action),
			    hit.reason[0] != '\0' ? " reason=" : "",
			    hit.reason);
		else
			fprintf(
			    fp, "%s %s\n", r < 0 ? "limit" : "miss", l->name);
	}
	return 0;
}

/*
 * control_list - "show NAME", "test FIELD VALUE", "export NAME FORMAT"
 * on the lists of the running configuration
 */
static int
control_list(const char *args, FILE *fp)
{
	struct runtime *rt = runtime_acquire();
	char verb[16], a[256], b[768];
	const struct config_list *l;
	enum list_format fmt;
	int n, ret = -1;

	a[0] = b[0] = '\0';
	n = sscanf(args, "%15s %255s %767[^\n]", verb, a, b);
	if (rt == NULL) {
		fprintf(fp, "error: no configuration\n");
	} else if (n >= 2 && strcmp(verb, "show") == 0) {
		ret = control_list_show(rt->cfg, a, fp);
	} else if (n == 3 && strcmp(verb, "test") == 0) {
		ret = control_list_test(rt->cfg, a, b, fp);
	} else if (n == 3 && strcmp(verb, "export") == 0) {
		if ((l = control_find_list(rt->cfg, a)) == NULL)
			fprintf(fp, "error: %s: no such list\n", a);
		else if (list_format_parse(b, &fmt) < 0)
			fprintf(fp, "error: %s: want plain or rbldnsd\n", b);
		else {
			fprintf(fp, "ok\n");
			if (list_export(l->snap, fmt, time(NULL), fp) == 0)
				ret = 0;
			else
				fprintf(fp,
				    "error: %s cannot be written as %s\n", a,
				    b);
		}
	} else {
		fprintf(fp,
		    "error: usage: list show NAME | list test FIELD "
		    "VALUE | list export NAME plain|rbldnsd\n");
	}
	runtime_release(&rt);
	return ret;
}

/* control_handle - answer one request line */
int
control_handle(const char *request, char **reply_r)
{
	char *buf = NULL, *error = NULL;
	size_t len = 0;
	FILE *fp;
	int ret = 0;
	struct runtime *rt;

	if ((fp = open_memstream(&buf, &len)) == NULL) {
		*reply_r = strdup("error: out of memory\n");
		return -1;
	}
	if (strcmp(request, "reload") == 0) {
		if (runtime_reload(&error) == 0) {
			fprintf(fp, "ok reloaded\n");
		} else {
			log_msg(LOG_WARNING,
			    "reload refused, old "
			    "configuration stays live: %s",
			    error);
			fprintf(fp, "error: %s\n", error);
			ret = -1;
		}
		free(error);
	} else if (strcmp(request, "stats") == 0) {
		fprintf(fp, "ok\n");
		reply_stats(fp);
	} else if (strcmp(request, "config") == 0) {
		if ((rt = runtime_acquire()) == NULL) {
			fprintf(fp, "error: no configuration\n");
			ret = -1;
		} else {
			fprintf(fp, "ok\n");
			config_dump(rt->cfg, fp);
			runtime_release(&rt);
		}
	} else if (strncmp(request, "list ", 5) == 0) {
		ret = control_list(request + 5, fp);
	} else if (strcmp(request, "version") == 0) {
		fprintf(fp, "ok sakimori %s\n", SAKIMORI_VERSION);
	} else if (strcmp(request, "ping") == 0) {
		fprintf(fp, "ok pong\n");
	} else {
		fprintf(fp,
		    "error: unknown request; try reload, stats, "
		    "config, version, ping\n");
		ret = -1;
	}
	if (fclose(fp) != 0 || buf == NULL) {
		free(buf);
		*reply_r = strdup("error: out of memory\n");
		return -1;
	}
	*reply_r = buf;
	return ret;
}

/* serve_one - read one request, answer, close */
static void
serve_one(int fd)
{
	char req[CONTROL_REQUEST_MAX + 2], *reply = NULL, *nl;
	struct timeval tv = { 5, 0 };
	size_t got = 0;
	ssize_t n;

	(void)setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	(void)setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	while (got < sizeof(req) - 1) {
		n = read(fd, req + got, sizeof(req) - 1 - got);
		if (n <= 0)
			break;
		got += (size_t)n;
		req[got] = '\0';
		if (strchr(req, '\n') != NULL)
			break;
	}
	req[got] = '\0';
	if ((nl = strchr(req, '\n')) != NULL) {
		*nl = '\0';
		if (nl > req && nl[-1] == '\r')
			nl[-1] = '\0';
	} else if (got > CONTROL_REQUEST_MAX) {
		reply = strdup("error: request too long\n");
	}
	if (reply == NULL) {
		log_debug(LOG_SUB_CONTROL, "control: request \"%.40s\"", req);
		(void)control_handle(req, &reply);
	}
	if (reply != NULL) {
		size_t off = 0, len = strlen(reply);

		while (off < len) {
			n = write(fd, reply + off, len - off);
			if (n <= 0)
				break;
			off += (size_t)n;
		}
	}
	free(reply);
}

/* control_main - accept loop */
static void *
control_main(void *arg)
{
	struct pollfd pfd[2];
	int fd;

	(void)arg;
	pfd[0].fd = control_fd;
	pfd[0].events = POLLIN;
	pfd[1].fd = control_pipe[0];
	pfd[1].events = POLLIN;
	for (;;) {
		if (poll(pfd, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			log_msg(
			    LOG_WARNING, "control: poll: %s", strerror(errno));
			break;
		}
		if (pfd[1].revents != 0)
			break;
		if ((pfd[0].revents & POLLIN) == 0)
			continue;
		if ((fd = accept(control_fd, NULL, NULL)) < 0) {
			if (errno != EINTR && errno != ECONNABORTED)
				log_msg(LOG_WARNING, "control: accept: %s",
				    strerror(errno));
			continue;
		}
		serve_one(fd);
		close(fd);
	}
	return NULL;
}

/* control_start - start the serving thread */
int
control_start(void)
{
	int err;

	if (control_fd < 0)
		return 0;
	if ((err = pthread_create(&control_thread, NULL, control_main, NULL)) !=
	    0) {
		log_msg(LOG_ERR, "control: pthread_create: %s", strerror(err));
		return -1;
	}
	control_running = 1;
	return 0;
}

/* control_stop - stop the thread, remove the socket */
void
control_stop(void)
{
	if (control_running) {
		if (write(control_pipe[1], "x", 1) != 1)
			log_msg(
			    LOG_WARNING, "control: stop: %s", strerror(errno));
		pthread_join(control_thread, NULL);
		control_running = 0;
	}
	if (control_fd >= 0) {
		close(control_fd);
		control_fd = -1;
	}
	if (control_path != NULL) {
		(void)unlink(control_path);
		free(control_path);
		control_path = NULL;
	}
	if (control_pipe[0] >= 0) {
		close(control_pipe[0]);
		close(control_pipe[1]);
		control_pipe[0] = control_pipe[1] = -1;
	}
}
