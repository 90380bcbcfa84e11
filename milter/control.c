/*
 * NAME
 *	control - control socket server
 * SUMMARY
 *	Serves sakimori-ctl: reload, stats, config, version, ping, and
 *	the list requests (show, test, export, push, add, del, rollback).
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
#include <sched.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <netdb.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "milter/control.h"
#include "milter/ctlauth.h"
#include "milter/dkimkeys.h"
#include "milter/dns.h"
#include "milter/filter.h"
#include "milter/fleet.h"
#include "milter/limits.h"
#include "milter/listreg.h"
#include "milter/log.h"
#include "milter/runtime.h"
#include "milter/screen.h"
#include "lists/cidr.h"
#include "lists/list.h"
#include "policy/config.h"

static int control_fd = -1;		 /* listening socket */
static int control_tcp_fd = -1;		 /* TCP listener, or -1 */
static unsigned char *control_secret;	 /* its shared secret */
static size_t control_secret_len;	 /* bytes of it */
static struct ctlauth *control_auth;	 /* its replay cache */
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
	    ((uid != (uid_t)-1 || gid != (gid_t)-1) &&
		chown(path, uid, gid) != 0) ||
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
	limits_stats(fp);
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

/* control_find_list - index of a list of the configuration, or -1 */
static long
control_find_list(const struct config *cfg, const char *name)
{
	size_t i;

	for (i = 0; i < cfg->list_count; i++) {
		if (strcmp(cfg->lists[i].name, name) == 0)
			return (long)i;
	}
	return -1;
}

/* control_list_test - which lists a value hits in a field, and why */
static int
control_list_test(
    const struct runtime *rt, const char *field, const char *value, FILE *fp)
{
	const struct config *cfg = rt->cfg;
	const struct config_list *l;
	struct list_hit hit;
	struct cidr_addr addr;
	unsigned bit = 0, b;
	const char *hname = NULL, *v;
	char vbuf[1024];
	size_t i, j;
	int r;

	for (b = 1; b != 0 && b <= CONFIG_FIELD_LAST; b <<= 1) {
		if (strcmp(config_field_name(b), field) == 0)
			bit = b;
	}
	if (bit == 0 && strncmp(field, "header:", 7) == 0 && field[7] != '\0') {
		bit = CONFIG_FIELD_HEADER;
		hname = field + 7;
	}
	if (bit == 0) {
		fprintf(fp,
		    "error: %s: not a field (client_ip, helo, mail_from, "
		    "rcpt_to, from, subject, iprev, header:NAME)\n",
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
		if (hname != NULL) {
			for (j = 0; j < l->header_count; j++)
				if (strcasecmp(l->headers[j], hname) == 0)
					break;
			if (j == l->header_count)
				continue;
		}
		if (l->kind == LIST_KIND_IP)
			r = list_match_ip(
			    rt->lists->snap[i], &addr, time(NULL), &hit);
		else if ((v = screen_value(
			      l->kind, bit, value, vbuf, sizeof(vbuf))) == NULL)
			r = 0;
		else
			r = list_match(rt->lists->snap[i], v, time(NULL), &hit);
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

/* control_list_change - push, add, del, rollback; then make it live */
static int
control_list_change(const struct control_request *req, enum listreg_op op,
    const char *name, const char *opts, FILE *fp)
{
	struct listreg_change ch;
	struct runtime *rt = runtime_acquire();
	char *result = NULL, *error = NULL, sig[160] = "";
	const char *p;
	int ret = -1;

	memset(&ch, 0, sizeof(ch));
	ch.op = op;
	ch.name = name;
	ch.data = req->payload != NULL ? req->payload : "";
	ch.len = req->payload_len;
	ch.who = req->who;
	/* Options: version=N signature=ed25519:... */
	for (p = opts; p != NULL && *p != '\0';) {
		size_t n;

		while (*p == ' ')
			p++;
		n = strcspn(p, " ");
		if (n == 0)
			break;
		if (strncmp(p, "version=", 8) == 0 && n > 8 && n < 28 &&
		    strspn(p + 8, "0123456789") == n - 8)
			ch.version = strtoull(p + 8, NULL, 10);
		else if (strncmp(p, "signature=", 10) == 0 && n > 10 &&
		    n - 10 < sizeof(sig)) {
			memcpy(sig, p + 10, n - 10);
			sig[n - 10] = '\0';
			ch.signature = sig;
		} else {
			fprintf(fp,
			    "error: %.*s: want version=N (digits) or "
			    "signature=SIG\n",
			    (int)n, p);
			goto out;
		}
		p += n;
	}
	if (rt == NULL) {
		fprintf(fp, "error: no configuration\n");
	} else if (listreg_update(&ch, rt->cfg, &result, &error) != 0) {
		log_msg(LOG_WARNING, "list %s: change by %s refused: %s", name,
		    req->who, error != NULL ? error : "out of memory");
		fprintf(
		    fp, "error: %s\n", error != NULL ? error : "out of memory");
	} else if (runtime_refresh_lists(&error) != 0) {
		fprintf(
		    fp, "error: %s\n", error != NULL ? error : "out of memory");
	} else {
		fprintf(fp, "ok %s\n", result != NULL ? result : "");
		(void)fleet_publish(name);
		ret = 0;
	}
out:
	free(result);
	free(error);
	runtime_release(&rt);
	return ret;
}

/*
 * control_list - show, test, export, push, add, del, rollback on the
 * lists of the running configuration
 */
static int
control_list(const struct control_request *req, const char *args, FILE *fp)
{
	struct runtime *rt = runtime_acquire();
	char verb[16], a[256], b[768];
	enum list_format fmt;
	long i;
	int n, ret = -1;

	a[0] = b[0] = '\0';
	n = sscanf(args, "%15s %255s %767[^\n]", verb, a, b);
	if (rt == NULL) {
		fprintf(fp, "error: no configuration\n");
	} else if (n == 2 && strcmp(verb, "show") == 0) {
		ret = listreg_show(a, rt->cfg, fp);
	} else if (n == 3 && strcmp(verb, "test") == 0) {
		ret = control_list_test(rt, a, b, fp);
	} else if (n == 3 && strcmp(verb, "export") == 0) {
		if ((i = control_find_list(rt->cfg, a)) < 0)
			fprintf(fp, "error: %s: no such list\n", a);
		else if (list_format_parse(b, &fmt) < 0)
			fprintf(fp, "error: %s: want plain or rbldnsd\n", b);
		else {
			fprintf(fp, "ok\n");
			if (list_export(
				rt->lists->snap[i], fmt, time(NULL), fp) == 0)
				ret = 0;
			else
				fprintf(fp,
				    "error: %s cannot be written as %s\n", a,
				    b);
		}
	} else if (n >= 2 && req->has_payload &&
	    (strcmp(verb, "push") == 0 || strcmp(verb, "add") == 0 ||
		strcmp(verb, "del") == 0)) {
		ret = control_list_change(req,
		    verb[0] == 'p'	 ? LISTREG_PUSH
			: verb[0] == 'a' ? LISTREG_ADD
					 : LISTREG_DEL,
		    a, n == 3 ? b : NULL, fp);
	} else if (n == 2 && strcmp(verb, "rollback") == 0 &&
	    !req->has_payload) {
		ret = control_list_change(req, LISTREG_ROLLBACK, a, NULL, fp);
	} else {
		fprintf(fp,
		    "error: usage: list show NAME | list test FIELD VALUE | "
		    "list export NAME plain|rbldnsd | list push NAME "
		    "[version=N] [signature=SIG] length=N | list add|del NAME "
		    "length=N | list rollback NAME\n");
	}
	runtime_release(&rt);
	return ret;
}

/* control_handle - answer one request */
int
control_handle(const struct control_request *req, char **reply_r)
{
	const char *request = req->line;
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
		ret = control_list(req, request + 5, fp);
	} else if (strncmp(request, "limit ", 6) == 0) {
		ret = limits_control(
		    request + 6, req->payload, req->payload_len, req->who, fp);
	} else if (strcmp(request, "version") == 0) {
		fprintf(fp, "ok sakimori %s\n", SAKIMORI_VERSION);
	} else if (strcmp(request, "ping") == 0) {
		fprintf(fp, "ok pong\n");
	} else if (req->has_payload) {
		fprintf(fp, "error: this request takes no payload\n");
		ret = -1;
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

/* A buffered reader over the client's socket. */
struct control_reader {
	int fd;		/* the connection */
	char buf[8192]; /* bytes read, not yet taken */
	size_t len;	/* bytes in buf */
	size_t pos;	/* next byte to take */
};

/* reader_fill - read more; 1 got some, 0 end, -1 error or timeout */
static int
reader_fill(struct control_reader *r)
{
	ssize_t n;

	if (r->pos == r->len)
		r->pos = r->len = 0;
	do
		n = read(r->fd, r->buf + r->len, sizeof(r->buf) - r->len);
	while (n < 0 && errno == EINTR);
	if (n <= 0)
		return n == 0 ? 0 : -1;
	r->len += (size_t)n;
	return 1;
}

/* reader_line - one line of at most max bytes, without CR LF */
static int
reader_line(struct control_reader *r, char *out, size_t max, const char **why_r)
{
	size_t n = 0;
	char c;

	for (;;) {
		if (r->pos == r->len && reader_fill(r) != 1) {
			*why_r = "request cut short";
			return -1;
		}
		c = r->buf[r->pos++];
		if (c == '\n')
			break;
		if (n == max) {
			*why_r = "request too long";
			return -1;
		}
		out[n++] = c;
	}
	if (n > 0 && out[n - 1] == '\r')
		n--;
	out[n] = '\0';
	if (strlen(out) != n) {
		*why_r = "NUL byte in the request";
		return -1;
	}
	return 0;
}

/* reader_bytes - exactly n bytes */
static int
reader_bytes(struct control_reader *r, char *out, size_t n)
{
	size_t take;

	while (n > 0) {
		if (r->pos == r->len && reader_fill(r) != 1)
			return -1;
		take = r->len - r->pos < n ? r->len - r->pos : n;
		memcpy(out, r->buf + r->pos, take);
		r->pos += take;
		out += take;
		n -= take;
	}
	return 0;
}

/*
 * control_read_request - the request line and its payload: a line
 * ending in " length=N" is followed by N bytes
 */
static int
control_read_request(struct control_reader *r, struct control_request *req,
    const char *auth_line, const char **why_r)
{
	struct ctlauth_mac *mac = NULL;
	char *sp;
	unsigned long long n;

	if (reader_line(r, req->line, CONTROL_REQUEST_MAX, why_r) != 0)
		return -1;
	/* TCP: the lines are checked before a payload is read. */
	if (auth_line != NULL &&
	    ctlauth_begin(control_auth, control_secret, control_secret_len,
		auth_line, req->line, time(NULL), &mac, why_r) != 0)
		return -1;
	sp = strrchr(req->line, ' ');
	if (sp == NULL || strncmp(sp, " length=", 8) != 0)
		goto done;
	if (sp[8] == '\0' || strspn(sp + 8, "0123456789") != strlen(sp + 8) ||
	    strlen(sp + 8) > 12 ||
	    (n = strtoull(sp + 8, NULL, 10)) > CONTROL_PAYLOAD_MAX) {
		*why_r = "length= wants a number of bytes up to 512 MB";
		goto fail;
	}
	*sp = '\0';
	req->has_payload = true;
	req->payload_len = (size_t)n;
	if ((req->payload = malloc((size_t)n + 1)) == NULL) {
		*why_r = "out of memory";
		goto fail;
	}
	if (reader_bytes(r, req->payload, (size_t)n) != 0) {
		*why_r = "payload cut short";
		goto fail;
	}
	req->payload[n] = '\0';
	if (mac != NULL)
		ctlauth_mac_update(mac, req->payload, (size_t)n);
done:
	if (mac != NULL &&
	    ctlauth_finish(control_auth, &mac, time(NULL), why_r) != 0)
		return -1;
	return 0;
fail:
	ctlauth_mac_free(&mac);
	return -1;
}

/* peer_who - the local user on the other end, "NAME(uid=N)" */
static void
peer_who(int fd, char *buf, size_t size)
{
	struct ucred cr;
	socklen_t len = sizeof(cr);
	struct passwd pw, *res = NULL;
	char pwbuf[1024];

	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &len) != 0) {
		snprintf(buf, size, "unknown");
		return;
	}
	if (getpwuid_r(cr.uid, &pw, pwbuf, sizeof(pwbuf), &res) == 0 &&
	    res != NULL)
		snprintf(
		    buf, size, "%.64s(uid=%u)", pw.pw_name, (unsigned)cr.uid);
	else
		snprintf(buf, size, "uid=%u", (unsigned)cr.uid);
}

/* peer_addr - "hmac@ADDR:PORT" of a TCP client */
static void
peer_addr(int fd, char *buf, size_t size)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	char host[INET6_ADDRSTRLEN] = "?", port[8] = "?";

	if (getpeername(fd, (struct sockaddr *)&ss, &len) == 0)
		(void)getnameinfo((struct sockaddr *)&ss, len, host,
		    sizeof(host), port, sizeof(port),
		    NI_NUMERICHOST | NI_NUMERICSERV);
	snprintf(buf, size, "hmac@%s:%s", host, port);
}

/* write_all - the whole reply */
static void
write_all(int fd, const char *text)
{
	size_t off = 0, len = strlen(text);
	ssize_t n;

	while (off < len) {
		n = write(fd, text + off, len - off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		off += (size_t)n;
	}
}

/* serve_one - read one request, answer, close (tcp: authenticated) */
static void
serve_one(int fd, bool tcp)
{
	struct control_reader *r = NULL;
	struct control_request *req = NULL;
	struct timeval tv = { 5, 0 };
	char *reply = NULL, auth[CTLAUTH_LINE_SIZE];
	const char *why = NULL;

	(void)setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	(void)setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	if ((r = calloc(1, sizeof(*r))) == NULL ||
	    (req = calloc(1, sizeof(*req))) == NULL) {
		write_all(fd, "error: out of memory\n");
		goto out;
	}
	r->fd = fd;
	if (tcp) {
		peer_addr(fd, req->who, sizeof(req->who));
		if (reader_line(r, auth, sizeof(auth) - 1, &why) != 0 ||
		    strncmp(auth, "auth ", 5) != 0) {
			log_msg(LOG_WARNING,
			    "control: request from %s refused: missing auth "
			    "line",
			    req->who);
			write_all(fd, "error: missing auth line\n");
			goto out;
		}
	} else {
		peer_who(fd, req->who, sizeof(req->who));
	}
	if (control_read_request(r, req, tcp ? auth : NULL, &why) != 0) {
		log_msg(LOG_WARNING, "control: request from %s refused: %s",
		    req->who, why);
		write_all(fd, "error: ");
		write_all(fd, why);
		write_all(fd, "\n");
		goto out;
	}
	log_debug(LOG_SUB_CONTROL, "control: request \"%.40s\" from %s",
	    req->line, req->who);
	(void)control_handle(req, &reply);
	if (reply != NULL)
		write_all(fd, reply);
out:
	free(reply);
	if (req != NULL)
		free(req->payload);
	free(req);
	free(r);
}

/* control_accept - accept and serve one client of a listener */
static void
control_accept(int lfd, bool tcp)
{
	int fd;

	if ((fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC)) < 0) {
		if (errno != EINTR && errno != ECONNABORTED && errno != EAGAIN)
			log_msg(LOG_WARNING, "control: accept: %s",
			    strerror(errno));
		return;
	}
	serve_one(fd, tcp);
	close(fd);
}

/*
 * control_background - this thread runs only on CPU the milter threads
 * leave idle (SCHED_IDLE), or else niced
 */
int
control_background(void)
{
	struct sched_param sp;

	memset(&sp, 0, sizeof(sp));
	if (pthread_setschedparam(pthread_self(), SCHED_IDLE, &sp) == 0)
		return 0;
	return setpriority(PRIO_PROCESS, (id_t)gettid(), 19);
}

/* control_main - accept loop over the Unix socket and the TCP listener */
static void *
control_main(void *arg)
{
	struct pollfd pfd[3];
	nfds_t n = 2;

	(void)arg;
	/*
	 * Building a pushed list takes CPU for a second or so: let the
	 * milter threads have it first (Linux: niceness per thread).
	 */
	if (control_background() != 0)
		log_debug(LOG_SUB_CONTROL, "control: SCHED_IDLE: %s",
		    strerror(errno));
	pfd[0].fd = control_fd;
	pfd[0].events = POLLIN;
	pfd[1].fd = control_pipe[0];
	pfd[1].events = POLLIN;
	if (control_tcp_fd >= 0) {
		pfd[2].fd = control_tcp_fd;
		pfd[2].events = POLLIN;
		n = 3;
	}
	for (;;) {
		if (poll(pfd, n, -1) < 0) {
			if (errno == EINTR)
				continue;
			log_msg(
			    LOG_WARNING, "control: poll: %s", strerror(errno));
			break;
		}
		if (pfd[1].revents != 0)
			break;
		if ((pfd[0].revents & POLLIN) != 0)
			control_accept(control_fd, false);
		if (n == 3 && (pfd[2].revents & POLLIN) != 0)
			control_accept(control_tcp_fd, true);
	}
	return NULL;
}

/* control_open_tcp - the TCP listener for authenticated requests */
int
control_open_tcp(const char *listen_on, const char *secret_file,
    unsigned window, char **error_r)
{
	struct addrinfo hints, *res = NULL;
	char host[256], *why = NULL, buf[600];
	const char *colon = strrchr(listen_on, ':');
	size_t hlen;
	int fd = -1, one = 1, rc;

	*error_r = NULL;
	if (colon == NULL || colon == listen_on ||
	    (hlen = (size_t)(colon - listen_on)) >= sizeof(host)) {
		snprintf(buf, sizeof(buf), "control_listen: %s: want HOST:PORT",
		    listen_on);
		goto fail;
	}
	memcpy(host, listen_on, hlen);
	host[hlen] = '\0';
	if (host[0] == '[' && hlen > 2 && host[hlen - 1] == ']') {
		memmove(host, host + 1, hlen - 2);
		host[hlen - 2] = '\0';
	}
	if (secret_file == NULL || secret_file[0] == '\0') {
		snprintf(buf, sizeof(buf),
		    "control_listen: needs control_secret_file");
		goto fail;
	}
	if (ctlauth_secret_load(
		secret_file, &control_secret, &control_secret_len, &why) != 0) {
		snprintf(buf, sizeof(buf), "control_secret_file: %s",
		    why != NULL ? why : "unreadable");
		free(why);
		goto fail;
	}
	if ((control_auth = ctlauth_new(window, 10000)) == NULL) {
		snprintf(buf, sizeof(buf), "control_listen: out of memory");
		goto fail;
	}
	memset(&hints, 0, sizeof(hints));
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV | AI_PASSIVE;
	if ((rc = getaddrinfo(host, colon + 1, &hints, &res)) != 0) {
		snprintf(buf, sizeof(buf), "control_listen: %s: %s", listen_on,
		    gai_strerror(rc));
		goto fail;
	}
	if ((fd = socket(res->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) != 0 ||
	    bind(fd, res->ai_addr, res->ai_addrlen) != 0 ||
	    listen(fd, 16) != 0) {
		snprintf(buf, sizeof(buf), "control_listen: %s: %s", listen_on,
		    strerror(errno));
		goto fail;
	}
	freeaddrinfo(res);
	control_tcp_fd = fd;
	return 0;
fail:
	if (res != NULL)
		freeaddrinfo(res);
	if (fd >= 0)
		close(fd);
	ctlauth_secret_free(&control_secret, control_secret_len);
	ctlauth_free(&control_auth);
	*error_r = strdup(buf);
	return -1;
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
	if (control_tcp_fd >= 0) {
		close(control_tcp_fd);
		control_tcp_fd = -1;
	}
	ctlauth_secret_free(&control_secret, control_secret_len);
	ctlauth_free(&control_auth);
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
