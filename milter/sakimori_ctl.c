/*
 * NAME
 *	sakimori_ctl - the control client
 * SUMMARY
 *	sakimori-ctl [-s socket | -c file] [-k secretfile] command
 * DESCRIPTION
 *	Sends one request to the daemon's control socket and prints the
 *	reply. The socket is -s, else control_socket of the configuration
 *	(-c file, else the embedded defaults).
 *	Exit status: 0 when the daemon answered "ok", 1 when it answered
 *	with an error (the error is printed on stderr), EX_USAGE,
 *	EX_CONFIG, or EX_UNAVAILABLE when the daemon cannot be reached.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <netdb.h>
#include <stdbool.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "lists/list.h"
#include "lists/listsign.h"
#include "milter/control.h"
#include "milter/ctlauth.h"
#include "policy/config.h"

/* usage - the command line, on stderr */
static void
usage(void)
{
	fprintf(stderr,
	    "usage: sakimori-ctl [-s socket | -c file | -t HOST:PORT -K "
	    "secretfile] [-k keyfile] command\n"
	    "commands:\n"
	    "  reload   load the configuration again (the old one stays "
	    "live on error)\n"
	    "  stats    counters\n"
	    "  config   the effective configuration\n"
	    "  version  the daemon's version\n"
	    "  ping     is the daemon there?\n"
	    "  list show NAME            a local list: size, version, "
	    "checksum\n"
	    "  list test FIELD VALUE     which lists VALUE hits in FIELD, "
	    "and why\n"
	    "  list export NAME plain|rbldnsd   the list, to share it\n"
	    "  list push NAME FILE [version=N] [signature=SIG]\n"
	    "                            replace the list (validated whole)\n"
	    "  list add NAME ENTRY...    add entries (\"ENTRY [expires=WHEN] "
	    "[REASON]\")\n"
	    "  list del NAME ENTRY...    delete entries\n"
	    "  list rollback NAME        back to the previous version\n"
	    "  list keygen [KEYID]       a maintainer key pair: public on "
	    "stdout,\n"
	    "                            secret to the file -k FILE (mode "
	    "0600)\n"
	    "  limit get ACCOUNT         caps, counts, when each frees up\n"
	    "  limit set ACCOUNT CLASS|CAPS|-   per-account override\n"
	    "  limit reset ACCOUNT       forget counts and block\n"
	    "  limit import [--replace] FILE    CSV of ACCOUNT,CLASS|CAPS\n"
	    "  limit top [N]             heaviest senders now\n"
	    "  list sign KEYFILE KIND NAME VERSION FILE\n"
	    "                            the signature of a list version\n");
}

/* write_all - the whole buffer; 0 or -1 */
static int
write_all(int fd, const char *p, size_t len)
{
	ssize_t n;

	while (len > 0) {
		n = write(fd, p, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* read_file - a whole file (caller frees); NULL with a message */
static char *
read_file(const char *path, size_t *len_r)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *fp, *out;
	char chunk[65536];
	size_t n;

	if ((fp = fopen(path, "re")) == NULL) {
		fprintf(
		    stderr, "sakimori-ctl: %s: %s\n", path, strerror(errno));
		return NULL;
	}
	if ((out = open_memstream(&buf, &len)) == NULL) {
		fclose(fp);
		return NULL;
	}
	while ((n = fread(chunk, 1, sizeof(chunk), fp)) > 0)
		fwrite(chunk, 1, n, out);
	if (ferror(fp)) {
		fprintf(
		    stderr, "sakimori-ctl: %s: %s\n", path, strerror(errno));
		fclose(fp);
		fclose(out);
		free(buf);
		return NULL;
	}
	fclose(fp);
	if (fclose(out) != 0) {
		free(buf);
		return NULL;
	}
	*len_r = len;
	return buf;
}

/*
 * sign_list - the signature of a list version: KEYFILE KIND NAME VERSION
 * FILE; the checksum is that of the list as the daemon will build it
 */
static int
sign_list(char **argv, char *sig, char **why_r)
{
	struct listsign_secret key;
	struct list_snapshot *snap = NULL;
	enum list_kind kind;
	char *text = NULL, *end;
	unsigned long long version;
	size_t len = 0;
	int ret = -1;

	if (list_kind_parse(argv[1], &kind) != 0) {
		*why_r = strdup("KIND: want ip, domain, address or pattern");
		return -1;
	}
	errno = 0;
	version = strtoull(argv[3], &end, 10);
	if (errno != 0 || *end != '\0' || version == 0 || argv[3][0] == '-') {
		*why_r = strdup("VERSION: want a number from 1");
		return -1;
	}
	if (listsign_load_secret_file(argv[0], &key, why_r) != 0)
		return -1;
	if ((text = read_file(argv[4], &len)) == NULL) {
		*why_r = strdup("cannot read the list");
		goto out;
	}
	if (list_build(argv[2], kind, text, len, version, time(NULL), &snap,
		why_r) != 0)
		goto out;
	ret = listsign_sign(
	    &key, argv[2], version, list_checksum(snap), sig, why_r);
out:
	listsign_secret_clear(&key);
	list_free(&snap);
	free(text);
	return ret;
}

/* keygen - a key pair: public on stdout, secret into a new 0600 file */
static int
keygen(const char *id, const char *secret_path)
{
	char pub[LISTSIGN_PUBLIC_TEXT_SIZE], sec[LISTSIGN_SECRET_TEXT_SIZE];
	char *why = NULL;
	FILE *fp;
	int fd;

	if (listsign_keygen(id, pub, sec, &why) != 0) {
		fprintf(stderr, "sakimori-ctl: keygen: %s\n",
		    why != NULL ? why : "failed");
		free(why);
		return 1;
	}
	if ((fd = open(secret_path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC,
		 0600)) < 0 ||
	    (fp = fdopen(fd, "w")) == NULL) {
		fprintf(stderr, "sakimori-ctl: %s: %s\n", secret_path,
		    strerror(errno));
		sodium_memzero(sec, sizeof(sec));
		return 1;
	}
	fprintf(fp, "%s\n", sec);
	sodium_memzero(sec, sizeof(sec));
	if (fclose(fp) != 0) {
		fprintf(stderr, "sakimori-ctl: %s: %s\n", secret_path,
		    strerror(errno));
		return 1;
	}
	printf("%s\n", pub);
	return 0;
}

/* connect_unix - the daemon's control socket, or -1 (said) */
static int
connect_unix(const char *path)
{
	struct sockaddr_un sun;
	int fd;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sun.sun_path)) {
		fprintf(stderr, "sakimori-ctl: %s: path too long\n", path);
		return -1;
	}
	strcpy(sun.sun_path, path);
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0 ||
	    connect(fd, (struct sockaddr *)&sun, sizeof(sun)) != 0) {
		fprintf(stderr, "sakimori-ctl: %s: %s (is sakimori running?)\n",
		    path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	return fd;
}

/* connect_tcp - a daemon's control_listen, HOST:PORT, or -1 (said) */
static int
connect_tcp(const char *where)
{
	struct addrinfo hints, *res = NULL, *ai;
	const char *colon = strrchr(where, ':');
	char host[256];
	size_t hlen;
	int fd = -1, rc;

	if (colon == NULL || colon == where ||
	    (hlen = (size_t)(colon - where)) >= sizeof(host)) {
		fprintf(stderr, "sakimori-ctl: %s: want HOST:PORT\n", where);
		return -1;
	}
	memcpy(host, where, hlen);
	host[hlen] = '\0';
	if (host[0] == '[' && hlen > 2 && host[hlen - 1] == ']') {
		memmove(host, host + 1, hlen - 2);
		host[hlen - 2] = '\0';
	}
	memset(&hints, 0, sizeof(hints));
	hints.ai_socktype = SOCK_STREAM;
	if ((rc = getaddrinfo(host, colon + 1, &hints, &res)) != 0) {
		fprintf(
		    stderr, "sakimori-ctl: %s: %s\n", where, gai_strerror(rc));
		return -1;
	}
	for (ai = res; ai != NULL; ai = ai->ai_next) {
		if ((fd = socket(
			 ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0)
			continue;
		if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0)
			break;
		close(fd);
		fd = -1;
	}
	if (fd < 0)
		fprintf(
		    stderr, "sakimori-ctl: %s: %s\n", where, strerror(errno));
	freeaddrinfo(res);
	return fd;
}

/*
 * send_request - one request, the whole reply into *reply_r; over TCP
 * (secret != NULL) preceded by its auth line
 */
static int
send_request(const char *where, bool tcp, const unsigned char *secret,
    size_t secret_len, const char *request, const char *payload,
    size_t payload_len, char **reply_r)
{
	struct timeval tv = { 60, 0 };
	char buf[4096], line[CONTROL_REQUEST_MAX + 32];
	char nonce[CTLAUTH_NONCE_SIZE], auth[CTLAUTH_LINE_SIZE];
	char *reply = NULL, *why = NULL;
	size_t len = 0;
	FILE *fp;
	ssize_t n;
	int fd;

	if (payload != NULL)
		snprintf(
		    line, sizeof(line), "%s length=%zu", request, payload_len);
	else
		snprintf(line, sizeof(line), "%s", request);
	if (tcp &&
	    (ctlauth_nonce(nonce) != 0 ||
		ctlauth_sign(secret, secret_len, time(NULL), nonce, line,
		    payload, payload != NULL ? payload_len : 0, auth,
		    &why) != 0)) {
		fprintf(stderr, "sakimori-ctl: auth: %s\n",
		    why != NULL ? why : "failed");
		free(why);
		return -1;
	}
	if ((fd = tcp ? connect_tcp(where) : connect_unix(where)) < 0)
		return -1;
	(void)setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	if ((tcp &&
		(write_all(fd, auth, strlen(auth)) != 0 ||
		    write_all(fd, "\n", 1) != 0)) ||
	    write_all(fd, line, strlen(line)) != 0 ||
	    write_all(fd, "\n", 1) != 0 ||
	    (payload != NULL && write_all(fd, payload, payload_len) != 0)) {
		fprintf(
		    stderr, "sakimori-ctl: %s: %s\n", where, strerror(errno));
		close(fd);
		return -1;
	}
	if ((fp = open_memstream(&reply, &len)) == NULL) {
		close(fd);
		return -1;
	}
	while ((n = read(fd, buf, sizeof(buf))) > 0)
		fwrite(buf, 1, (size_t)n, fp);
	fclose(fp);
	close(fd);
	if (n < 0 || reply == NULL || len == 0) {
		fprintf(stderr, "sakimori-ctl: %s: no reply\n", where);
		free(reply);
		return -1;
	}
	*reply_r = reply;
	return 0;
}

/* join - words into one request line; -1 if too long or multi-line */
static int
join(char *request, size_t size, char **words, int n)
{
	size_t len = strlen(request);
	int i;

	for (i = 0; i < n; i++) {
		if (len + strlen(words[i]) + 2 > size ||
		    strpbrk(words[i], "\r\n") != NULL) {
			fprintf(stderr,
			    "sakimori-ctl: request too long or holds a line "
			    "break\n");
			return -1;
		}
		len += (size_t)snprintf(request + len, size - len, "%s%s",
		    len > 0 ? " " : "", words[i]);
	}
	return 0;
}

/*
 * list_request - the request line and payload of a list command
 * Returns 0, 1 when the command was done here (keygen, sign), or an exit
 * status above 1.
 */
static int
list_request(int argc, char **argv, const char *secret_path, char *request,
    size_t size, char **payload_r, size_t *len_r)
{
	const char *verb = argv[1];
	char sig[LISTSIGN_SIG_TEXT_SIZE], *why = NULL, *buf = NULL;
	size_t len = 0;
	FILE *fp;
	int i;

	request[0] = '\0';
	if (strcmp(verb, "keygen") == 0) {
		if (argc > 3 || secret_path == NULL) {
			fprintf(stderr,
			    "sakimori-ctl: list keygen needs -k "
			    "SECRETFILE [KEYID]\n");
			return EX_USAGE;
		}
		return keygen(argc == 3 ? argv[2] : NULL, secret_path) == 0
		    ? 1
		    : EX_CANTCREAT;
	}
	if (strcmp(verb, "sign") == 0) {
		if (argc != 7) {
			usage();
			return EX_USAGE;
		}
		if (sign_list(argv + 2, sig, &why) != 0) {
			fprintf(stderr, "sakimori-ctl: sign: %s\n",
			    why != NULL ? why : "failed");
			free(why);
			return EX_DATAERR;
		}
		printf("%s\n", sig);
		return 1;
	}
	if (strcmp(verb, "push") == 0) {
		char opts[512] = "";

		if (argc < 4) {
			usage();
			return EX_USAGE;
		}
		if ((*payload_r = read_file(argv[3], len_r)) == NULL)
			return EX_NOINPUT;
		for (i = 4; i < argc; i++) {
			if (strncmp(argv[i], "version=", 8) != 0 &&
			    strncmp(argv[i], "signature=", 10) != 0) {
				fprintf(stderr,
				    "sakimori-ctl: %s: want version=N or "
				    "signature=SIG\n",
				    argv[i]);
				return EX_USAGE;
			}
			if (strlen(opts) + strlen(argv[i]) + 2 > sizeof(opts)) {
				fprintf(stderr,
				    "sakimori-ctl: options too "
				    "long\n");
				return EX_USAGE;
			}
			strcat(opts, " ");
			strcat(opts, argv[i]);
		}
		snprintf(request, size, "list push %s%s", argv[2], opts);
		if (strpbrk(request, "\r\n") != NULL || strlen(argv[2]) > 255)
			return EX_USAGE;
		return 0;
	}
	if (strcmp(verb, "add") == 0 || strcmp(verb, "del") == 0) {
		if (argc < 4) {
			usage();
			return EX_USAGE;
		}
		if ((fp = open_memstream(&buf, &len)) == NULL)
			return EX_OSERR;
		for (i = 3; i < argc; i++) {
			if (strpbrk(argv[i], "\r\n") != NULL) {
				fclose(fp);
				free(buf);
				fprintf(stderr,
				    "sakimori-ctl: an entry holds a line "
				    "break\n");
				return EX_USAGE;
			}
			fprintf(fp, "%s\n", argv[i]);
		}
		if (fclose(fp) != 0)
			return EX_OSERR;
		*payload_r = buf;
		*len_r = len;
		snprintf(request, size, "list %s %s", verb, argv[2]);
		return strlen(argv[2]) > 255 ? EX_USAGE : 0;
	}
	/* show, test, export, rollback: words as they are */
	return join(request, size, argv, argc) == 0 ? 0 : EX_USAGE;
}

/*
 * limit_request - "limit import [--replace] FILE" sends the file; the
 * others go as words ("limit get ACCOUNT", "set ACCOUNT CAPS...",
 * "reset ACCOUNT", "top [N]")
 * Returns 0, or an exit status.
 */
static int
limit_request(int argc, char **argv, char *request, size_t size,
    char **payload_r, size_t *len_r)
{
	request[0] = '\0';
	if (strcmp(argv[1], "import") == 0) {
		bool replace = argc == 4 && strcmp(argv[2], "--replace") == 0;

		if (argc != 3 && !replace) {
			usage();
			return EX_USAGE;
		}
		if ((*payload_r = read_file(argv[argc - 1], len_r)) == NULL)
			return EX_NOINPUT;
		snprintf(request, size, "limit %s",
		    replace ? "import-replace" : "import");
		return 0;
	}
	return join(request, size, argv, argc) == 0 ? 0 : EX_USAGE;
}

int
main(int argc, char **argv)
{
	const char *socket_path = NULL, *config_path = NULL;
	const char *secret_path = NULL, *tcp_addr = NULL, *hmac_path = NULL;
	unsigned char *hmac_secret = NULL;
	size_t hmac_len = 0;
	struct config *cfg = NULL;
	char *error = NULL, *reply = NULL, *payload = NULL, request[1024];
	size_t payload_len = 0;
	int c, ret;

	while ((c = getopt(argc, argv, "+c:hk:K:s:t:")) != -1) {
		switch (c) {
		case 't':
			tcp_addr = optarg;
			break;
		case 'K':
			hmac_path = optarg;
			break;
		case 'c':
			config_path = optarg;
			break;
		case 'k':
			secret_path = optarg;
			break;
		case 's':
			socket_path = optarg;
			break;
		case 'h':
			usage();
			return 0;
		default:
			usage();
			return EX_USAGE;
		}
	}
	if (argc - optind >= 2 && strcmp(argv[optind], "limit") == 0) {
		ret = limit_request(argc - optind, argv + optind, request,
		    sizeof(request), &payload, &payload_len);
		if (ret != 0)
			return ret;
	} else if (argc - optind >= 2 && strcmp(argv[optind], "list") == 0) {
		ret = list_request(argc - optind, argv + optind, secret_path,
		    request, sizeof(request), &payload, &payload_len);
		if (ret == 1)
			return 0;
		if (ret != 0)
			return ret;
	} else if (argc - optind != 1) {
		usage();
		return EX_USAGE;
	} else if (strcmp(argv[optind], "reload") != 0 &&
	    strcmp(argv[optind], "stats") != 0 &&
	    strcmp(argv[optind], "config") != 0 &&
	    strcmp(argv[optind], "version") != 0 &&
	    strcmp(argv[optind], "ping") != 0) {
		fprintf(stderr, "sakimori-ctl: %s: unknown command\n",
		    argv[optind]);
		usage();
		return EX_USAGE;
	} else {
		snprintf(request, sizeof(request), "%s", argv[optind]);
	}
	if (tcp_addr != NULL) {
		if (hmac_path == NULL) {
			fprintf(
			    stderr, "sakimori-ctl: -t needs -K SECRETFILE\n");
			free(payload);
			return EX_USAGE;
		}
		if (ctlauth_secret_load(
			hmac_path, &hmac_secret, &hmac_len, &error) != 0) {
			fprintf(stderr, "sakimori-ctl: %s\n",
			    error != NULL ? error : "secret unreadable");
			free(error);
			free(payload);
			return EX_NOINPUT;
		}
		ret = send_request(tcp_addr, true, hmac_secret, hmac_len,
		    request, payload, payload_len, &reply);
		ctlauth_secret_free(&hmac_secret, hmac_len);
		free(payload);
		if (ret != 0)
			return EX_UNAVAILABLE;
		goto answer;
	}
	if (socket_path == NULL) {
		if (config_load(config_path, NULL, 0, &cfg, &error) != 0) {
			fprintf(stderr, "sakimori-ctl: %s\n", error);
			free(error);
			free(payload);
			return EX_CONFIG;
		}
		socket_path = cfg->control_socket;
	}
	if (send_request(socket_path, false, NULL, 0, request, payload,
		payload_len, &reply) != 0) {
		config_free(&cfg);
		free(payload);
		return EX_UNAVAILABLE;
	}
	free(payload);
	config_free(&cfg);
answer:
	if (strncmp(reply, "ok", 2) == 0) {
		/* "ok" alone is a header; "ok text" is the whole answer. */
		const char *body = reply + 2;

		if (*body == ' ')
			body++;
		else if (*body == '\n')
			body++;
		fputs(body, stdout);
		ret = 0;
	} else {
		fprintf(stderr, "sakimori-ctl: %s", reply);
		ret = 1;
	}
	free(reply);
	return ret;
}
