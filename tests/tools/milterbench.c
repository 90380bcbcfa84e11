/*
 * NAME
 *	milterbench - drive a milter with many whole SMTP transactions
 * SUMMARY
 *	milterbench -p PORT [-n messages] [-c connections] [-i ip]
 *	    [-H helo] [-f from] [-r rcpts] [-h headers] [-b body_bytes]
 *	    [-m message_file]
 * DESCRIPTION
 *	Speaks the milter protocol (version 6) as an MTA does: negotiate,
 *	connect, HELO, MAIL, RCPT, headers, body, end of message, one
 *	message per connection, `-c` connections at once, each in its own
 *	thread. Honours the no-reply and skip flags the filter negotiates.
 *	With -m, the header fields and body of a message file (CRLF or LF
 *	line ends) are sent instead of made-up ones.
 *	Prints messages per second, latency percentiles and the actions
 *	the filter returned. Used by `make bench`; never by a test that
 *	asserts a time.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define NR_HDR 0x80UL	  /* SMFIP_NR_HDR */
#define NO_BODY 0x10UL	  /* SMFIP_NOBODY */
#define NO_HDRS 0x20UL	  /* SMFIP_NOHDRS */
#define NO_EOH 0x40UL	  /* SMFIP_NOEOH */
#define NR_BODY 0x80000UL /* SMFIP_NR_BODY */
#define NR_EOH 0x40000UL  /* SMFIP_NR_EOH */

struct bench {
	int port;	     /* milter port on 127.0.0.1 */
	int messages;	     /* total messages */
	int conns;	     /* connections at once */
	const char *ip;	     /* client IP presented */
	const char *helo;    /* HELO name */
	const char *from;    /* MAIL FROM */
	int rcpts;	     /* recipients per message */
	int headers;	     /* extra headers per message */
	int body;	     /* body bytes */
	char **hname;	     /* -m: header field names */
	char **hvalue;	     /* -m: header field values */
	int hcount;	     /* -m: fields */
	char *mbody;	     /* -m: body, CRLF line ends */
	size_t mbody_len;    /* -m: its bytes */
	atomic_int next;     /* next message number */
	atomic_int accepted; /* 'a' or 'c' at EOM */
	atomic_int refused;  /* 'r', 't' or 'y' */
	atomic_int errors;   /* protocol or socket errors */
	double *lat;	     /* per-message latency, seconds */
};

/* now_s - monotonic seconds */
static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* full_write - write all or fail */
static int
full_write(int fd, const void *buf, size_t len)
{
	const char *p = buf;
	ssize_t n;

	while (len > 0) {
		if ((n = write(fd, p, len)) <= 0) {
			if (n < 0 && errno == EINTR)
				continue;
			return -1;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* full_read - read exactly len bytes */
static int
full_read(int fd, void *buf, size_t len)
{
	char *p = buf;
	ssize_t n;

	while (len > 0) {
		if ((n = read(fd, p, len)) <= 0) {
			if (n < 0 && errno == EINTR)
				continue;
			return -1;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* send_cmd - one packet: length, command, data */
static int
send_cmd(int fd, char cmd, const void *data, size_t len)
{
	char hdr[5];
	uint32_t n = htonl((uint32_t)len + 1);

	memcpy(hdr, &n, 4);
	hdr[4] = cmd;
	if (full_write(fd, hdr, 5) != 0)
		return -1;
	return len > 0 ? full_write(fd, data, len) : 0;
}

/* read_reply - one packet; returns its command, -1 on error */
static int
read_reply(int fd, char *buf, size_t size, size_t *len_r)
{
	uint32_t n;
	char cmd;

	if (full_read(fd, &n, 4) != 0)
		return -1;
	n = ntohl(n);
	if (n == 0 || n - 1 > size)
		return -1;
	if (full_read(fd, &cmd, 1) != 0 || full_read(fd, buf, n - 1) != 0)
		return -1;
	*len_r = n - 1;
	return (unsigned char)cmd;
}

/* final_reply - skip modifications and progress; the final action */
static int
final_reply(int fd)
{
	char buf[70000];
	size_t len;
	int c;

	for (;;) {
		c = read_reply(fd, buf, sizeof(buf), &len);
		if (c < 0)
			return -1;
		if (c == 'h' || c == 'i' || c == 'm' || c == 'p' || c == '+' ||
		    c == '-' || c == 'e' || c == '2' || c == 'q')
			continue;
		return c;
	}
}

/* put - append a string with its NUL */
static size_t
put(char *buf, size_t off, const char *s)
{
	size_t n = strlen(s) + 1;

	memcpy(buf + off, s, n);
	return off + n;
}

/* one_message - a whole session; 1 accepted, 0 refused, -1 error */
static int
one_message(struct bench *b, int seq)
{
	char buf[70000], tmp[512];
	uint32_t v[3];
	unsigned long proto;
	struct sockaddr_in sin;
	size_t off, len;
	int fd, c, i, ret = -1, one = 1;
	uint16_t port = htons(25);

	if ((fd = socket(AF_INET, SOCK_STREAM, 0)) < 0)
		return -1;
	(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons((uint16_t)b->port);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (connect(fd, (struct sockaddr *)&sin, sizeof(sin)) != 0)
		goto out;
	v[0] = htonl(6);
	v[1] = htonl(0x1ff);	/* every action */
	v[2] = htonl(0x1fffff); /* every protocol step we know */
	if (send_cmd(fd, 'O', v, sizeof(v)) != 0 ||
	    read_reply(fd, buf, sizeof(buf), &len) != 'O' || len < 12)
		goto out;
	memcpy(v, buf, 12);
	proto = ntohl(v[2]);

	off = put(buf, 0, "mail.client.test");
	buf[off++] = '4';
	memcpy(buf + off, &port, 2);
	off += 2;
	off = put(buf, off, b->ip);
	if (send_cmd(fd, 'C', buf, off) != 0 || final_reply(fd) != 'c')
		goto out;
	off = put(buf, 0, b->helo);
	if (send_cmd(fd, 'H', buf, off) != 0 || final_reply(fd) != 'c')
		goto out;
	buf[0] = 'M';
	off = put(buf, 1, "i");
	off = put(buf, off, "");
	if (send_cmd(fd, 'D', buf, off) != 0)
		goto out;
	snprintf(tmp, sizeof(tmp), "<%s>", b->from);
	off = put(buf, 0, tmp);
	if (send_cmd(fd, 'M', buf, off) != 0 || final_reply(fd) != 'c')
		goto out;
	for (i = 0; i < b->rcpts; i++) {
		snprintf(tmp, sizeof(tmp), "<rcpt%d@example.test>", i);
		off = put(buf, 0, tmp);
		if (send_cmd(fd, 'R', buf, off) != 0)
			goto out;
		c = final_reply(fd);
		if (c != 'c') {
			ret = (c == 'r' || c == 't' || c == 'y') ? 0 : -1;
			goto quit;
		}
	}
	if ((proto & NO_HDRS) == 0 && b->hcount > 0) {
		for (i = 0; i < b->hcount; i++) {
			off = put(buf, 0, b->hname[i]);
			off = put(buf, off, b->hvalue[i]);
			if (send_cmd(fd, 'L', buf, off) != 0)
				goto out;
			if ((proto & NR_HDR) == 0 && final_reply(fd) != 'c')
				goto out;
		}
	} else if ((proto & NO_HDRS) == 0) {
		for (i = 0; i < b->headers + 2; i++) {
			if (i == 0) {
				off = put(buf, 0, "From");
				snprintf(tmp, sizeof(tmp), "<%s>", b->from);
			} else if (i == 1) {
				off = put(buf, 0, "Authentication-Results");
				snprintf(tmp, sizeof(tmp),
				    "elsewhere.test; spf=pass");
			} else {
				off = put(buf, 0, "X-Bench");
				snprintf(tmp, sizeof(tmp),
				    "header %d of "
				    "message %d",
				    i, seq);
			}
			off = put(buf, off, tmp);
			if (send_cmd(fd, 'L', buf, off) != 0)
				goto out;
			if ((proto & NR_HDR) == 0 && final_reply(fd) != 'c')
				goto out;
		}
	}
	if ((proto & NO_EOH) == 0) {
		if (send_cmd(fd, 'N', NULL, 0) != 0)
			goto out;
		if ((proto & NR_EOH) == 0 && final_reply(fd) != 'c')
			goto out;
	}
	if ((proto & NO_BODY) == 0 && b->mbody != NULL) {
		size_t done = 0;

		while (done < b->mbody_len) {
			size_t chunk = b->mbody_len - done;

			if (chunk > 65535)
				chunk = 65535;
			if (send_cmd(fd, 'B', b->mbody + done, chunk) != 0)
				goto out;
			if ((proto & NR_BODY) == 0 && final_reply(fd) != 'c')
				goto out;
			done += chunk;
		}
	} else if ((proto & NO_BODY) == 0 && b->body > 0) {
		int left = b->body;

		while (left > 0) {
			int chunk = left > 65535 ? 65535 : left;

			memset(buf, 'x', (size_t)chunk);
			if (send_cmd(fd, 'B', buf, (size_t)chunk) != 0)
				goto out;
			if ((proto & NR_BODY) == 0 && final_reply(fd) != 'c')
				goto out;
			left -= chunk;
		}
	}
	buf[0] = 'E';
	off = put(buf, 1, "i");
	snprintf(tmp, sizeof(tmp), "BENCH%d", seq);
	off = put(buf, off, tmp);
	if (send_cmd(fd, 'D', buf, off) != 0 || send_cmd(fd, 'E', NULL, 0) != 0)
		goto out;
	c = final_reply(fd);
	ret = (c == 'a' || c == 'c')		 ? 1
	    : (c == 'r' || c == 't' || c == 'y') ? 0
						 : -1;
quit:
	(void)send_cmd(fd, 'Q', NULL, 0);
out:
	close(fd);
	return ret;
}

/* load_message - split a message file into fields and a CRLF body */
static int
load_message(struct bench *b, const char *path)
{
	FILE *fp = fopen(path, "rb");
	char *line = NULL, *p;
	size_t cap = 0, blen = 0;
	ssize_t n;
	int in_body = 0;
	FILE *body;

	if (fp == NULL)
		return -1;
	if ((body = open_memstream(&b->mbody, &blen)) == NULL) {
		fclose(fp);
		return -1;
	}
	while ((n = getline(&line, &cap, fp)) > 0) {
		while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
			line[--n] = '\0';
		if (in_body) {
			fprintf(body, "%s\r\n", line);
		} else if (n == 0) {
			in_body = 1;
		} else if ((line[0] == ' ' || line[0] == '\t') &&
		    b->hcount > 0) {
			char *v = b->hvalue[b->hcount - 1];
			size_t len = strlen(v) + 1 + strlen(line) + 1;
			char *nv = malloc(len);

			if (nv == NULL)
				return -1;
			snprintf(nv, len, "%s\n%s", v, line);
			free(v);
			b->hvalue[b->hcount - 1] = nv;
		} else if ((p = strchr(line, ':')) != NULL) {
			b->hname = realloc(
			    b->hname, (size_t)(b->hcount + 1) * sizeof(char *));
			b->hvalue = realloc(b->hvalue,
			    (size_t)(b->hcount + 1) * sizeof(char *));
			if (b->hname == NULL || b->hvalue == NULL)
				return -1;
			*p++ = '\0';
			while (*p == ' ')
				p++;
			b->hname[b->hcount] = strdup(line);
			b->hvalue[b->hcount] = strdup(p);
			b->hcount++;
		}
	}
	free(line);
	fclose(fp);
	fclose(body);
	b->mbody_len = blen;
	return 0;
}

/* worker - take message numbers until none are left */
static void *
worker(void *arg)
{
	struct bench *b = arg;
	int seq, r;
	double t0;

	while ((seq = atomic_fetch_add(&b->next, 1)) < b->messages) {
		t0 = now_s();
		r = one_message(b, seq);
		b->lat[seq] = now_s() - t0;
		if (r == 1)
			atomic_fetch_add(&b->accepted, 1);
		else if (r == 0)
			atomic_fetch_add(&b->refused, 1);
		else
			atomic_fetch_add(&b->errors, 1);
	}
	return NULL;
}

/* cmp_double - qsort order */
static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

int
main(int argc, char **argv)
{
	struct bench b;
	pthread_t *th;
	double t0, el;
	int c, i;

	memset(&b, 0, sizeof(b));
	b.messages = 1000;
	b.conns = 4;
	b.ip = "192.0.2.10";
	b.helo = "pass.spf.test";
	b.from = "user@pass.spf.test";
	b.rcpts = 1;
	b.headers = 10;
	b.body = 0;
	while ((c = getopt(argc, argv, "p:n:c:i:H:f:r:h:b:m:")) != -1) {
		switch (c) {
		case 'p':
			b.port = atoi(optarg);
			break;
		case 'n':
			b.messages = atoi(optarg);
			break;
		case 'c':
			b.conns = atoi(optarg);
			break;
		case 'i':
			b.ip = optarg;
			break;
		case 'H':
			b.helo = optarg;
			break;
		case 'f':
			b.from = optarg;
			break;
		case 'r':
			b.rcpts = atoi(optarg);
			break;
		case 'h':
			b.headers = atoi(optarg);
			break;
		case 'b':
			b.body = atoi(optarg);
			break;
		case 'm':
			if (load_message(&b, optarg) != 0) {
				fprintf(stderr,
				    "milterbench: %s: cannot read\n", optarg);
				return 66;
			}
			break;
		default:
			fprintf(stderr,
			    "usage: milterbench -p PORT [-n N] "
			    "[-c CONNS] [-i IP] [-H HELO] [-f FROM] "
			    "[-r RCPTS] [-h HEADERS] [-b BYTES] "
			    "[-m FILE]\n");
			return 64;
		}
	}
	if (b.port <= 0 || b.messages <= 0 || b.conns <= 0) {
		fprintf(stderr,
		    "milterbench: -p, -n and -c must be "
		    "positive\n");
		return 64;
	}
	b.lat = calloc((size_t)b.messages, sizeof(double));
	th = calloc((size_t)b.conns, sizeof(*th));
	if (b.lat == NULL || th == NULL)
		return 71;
	t0 = now_s();
	for (i = 0; i < b.conns; i++)
		pthread_create(&th[i], NULL, worker, &b);
	for (i = 0; i < b.conns; i++)
		pthread_join(th[i], NULL);
	el = now_s() - t0;
	qsort(b.lat, (size_t)b.messages, sizeof(double), cmp_double);
	printf("messages=%d connections=%d seconds=%.3f msgs_per_s=%.0f "
	       "p50_ms=%.3f p99_ms=%.3f max_ms=%.3f accepted=%d refused=%d "
	       "errors=%d\n",
	    b.messages, b.conns, el, b.messages / el,
	    b.lat[b.messages / 2] * 1e3, b.lat[(b.messages * 99) / 100] * 1e3,
	    b.lat[b.messages - 1] * 1e3, atomic_load(&b.accepted),
	    atomic_load(&b.refused), atomic_load(&b.errors));
	free(b.lat);
	free(th);
	return atomic_load(&b.errors) > 0 ? 1 : 0;
}
