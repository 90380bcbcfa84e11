/*
 * NAME
 *	sakimori_ctl - the control client
 * SUMMARY
 *	sakimori-ctl [-s socket | -c file] reload|stats|config|version|ping
 * DESCRIPTION
 *	Sends one request to the daemon's control socket and prints the
 *	reply. The socket is -s, else control_socket of the configuration
 *	(-c file, else the embedded defaults).
 *	Exit status: 0 when the daemon answered "ok", 1 when it answered
 *	with an error (the error is printed on stderr), EX_USAGE,
 *	EX_CONFIG, or EX_UNAVAILABLE when the daemon cannot be reached.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <sysexits.h>
#include <unistd.h>

#include "policy/config.h"

/* usage - the command line, on stderr */
static void
usage(void)
{
	fprintf(stderr,
	    "usage: sakimori-ctl [-s socket | -c file] command\n"
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
	    "  list export NAME plain|rbldnsd   the list, to share it\n");
}

/* send_request - one request, the whole reply into *reply_r */
static int
send_request(const char *path, const char *request, char **reply_r)
{
	struct sockaddr_un sun;
	struct timeval tv = { 60, 0 };
	char buf[4096];
	char *reply = NULL;
	size_t len = 0;
	FILE *fp;
	ssize_t n;
	int fd;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sun.sun_path)) {
		fprintf(stderr, "sakimori-ctl: %s: path too long\n", path);
		return -1;
	}
	strcpy(sun.sun_path, path);
	if ((fd = socket(AF_UNIX, SOCK_STREAM, 0)) < 0 ||
	    connect(fd, (struct sockaddr *)&sun, sizeof(sun)) != 0) {
		fprintf(stderr,
		    "sakimori-ctl: %s: %s (is sakimori "
		    "running?)\n",
		    path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	(void)setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	snprintf(buf, sizeof(buf), "%s\n", request);
	if (write(fd, buf, strlen(buf)) != (ssize_t)strlen(buf)) {
		fprintf(
		    stderr, "sakimori-ctl: %s: %s\n", path, strerror(errno));
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
		fprintf(stderr, "sakimori-ctl: %s: no reply\n", path);
		free(reply);
		return -1;
	}
	*reply_r = reply;
	return 0;
}

int
main(int argc, char **argv)
{
	const char *socket_path = NULL, *config_path = NULL;
	struct config *cfg = NULL;
	char *error = NULL, *reply = NULL, request[1024];
	int c, ret;

	while ((c = getopt(argc, argv, "c:hs:")) != -1) {
		switch (c) {
		case 'c':
			config_path = optarg;
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
	if (argc - optind >= 2 && strcmp(argv[optind], "list") == 0) {
		/* list show NAME | test FIELD VALUE... | export NAME FMT */
		size_t len = 0;
		int i;

		for (i = optind; i < argc; i++) {
			if (len + strlen(argv[i]) + 2 > sizeof(request) ||
			    strpbrk(argv[i], "\r\n") != NULL) {
				fprintf(stderr,
				    "sakimori-ctl: request too long "
				    "or holds a line break\n");
				return EX_USAGE;
			}
			len += (size_t)snprintf(request + len,
			    sizeof(request) - len, "%s%s", len > 0 ? " " : "",
			    argv[i]);
		}
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
	if (socket_path == NULL) {
		if (config_load(config_path, NULL, 0, &cfg, &error) != 0) {
			fprintf(stderr, "sakimori-ctl: %s\n", error);
			free(error);
			return EX_CONFIG;
		}
		socket_path = cfg->control_socket;
	}
	if (send_request(socket_path, request, &reply) != 0) {
		config_free(&cfg);
		return EX_UNAVAILABLE;
	}
	config_free(&cfg);
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
