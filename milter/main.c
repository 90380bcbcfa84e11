/*
 * NAME
 *	main - the sakimori daemon
 * SUMMARY
 *	sakimori [-fDtV] [-c file] [-o name=value ...]
 * DESCRIPTION
 *	Loads the configuration (a file, or the embedded defaults), opens
 *	the milter socket and the control socket, daemonizes unless -f,
 *	writes the pidfile, drops privileges, starts the DNS workers and
 *	hands over to libmilter's smfi_main().
 *	Signals: libmilter stops the filter on SIGHUP, SIGTERM and SIGINT
 *	(freebsd-src contrib/sendmail/libmilter/signal.c), so the reload
 *	signal is SIGUSR1; `sakimori-ctl reload` does the same and reports
 *	the outcome.
 * THREADS
 *	Every signal is blocked before the first thread starts; one thread
 *	of ours sigwaits for SIGUSR1 (reload) and SIGTERM, SIGINT, SIGHUP
 *	(stop, as libmilter's own signal thread would, but at once).
 * ERRORS
 *	Start-up errors exit with a sysexits code: EX_USAGE for the command
 *	line, EX_CONFIG for the configuration, EX_NOUSER, EX_OSERR,
 *	EX_UNAVAILABLE for sockets.
 */
#include <errno.h>
#include <grp.h>
#include <pthread.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pwd.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sysexits.h>
#include <unistd.h>

#include <ldns/ldns.h>
#include <libmilter/mfapi.h>
#include <spf2/spf_lib_version.h>

#include "milter/control.h"
#include "milter/dkimverify.h"
#include "milter/dmarc.h"
#include "milter/filter.h"
#include "milter/fleet.h"
#include "milter/limits.h"
#include "milter/listreg.h"
#include "milter/log.h"
#include "milter/runtime.h"
#include "policy/config.h"

#define MAX_OVERRIDES 256 /* -o options on one command line */

/* usage - the command line, on stderr */
static void
usage(void)
{
	fprintf(stderr,
	    "usage: sakimori [-fDtV] [-c file] [-o name=value ...]\n"
	    "  -c file        configuration file (default: embedded "
	    "defaults)\n"
	    "  -o name=value  override one option for this run\n"
	    "  -f             stay in the foreground, log to stderr too\n"
	    "  -t             test the configuration and exit\n"
	    "  -D             print the effective configuration and exit\n"
	    "  -V             print the version and exit\n");
}

/* print_version - ours and the libraries' */
static void
print_version(void)
{
	unsigned int maj, min, pl;

	smfi_version(&maj, &min, &pl);
	printf("sakimori %s (libmilter %u.%u.%u, libspf2 %d.%d.%d, "
	       "ldns %s)\n",
	    SAKIMORI_VERSION, maj, min, pl, SPF_LIB_VERSION_MAJOR,
	    SPF_LIB_VERSION_MINOR, SPF_LIB_VERSION_PATCH, ldns_version());
}

/* make_parent_dir - create the directory of a runtime file if missing */
static void
make_parent_dir(const char *path, uid_t uid, gid_t gid)
{
	char dir[4096];
	char *slash;

	snprintf(dir, sizeof(dir), "%s", path);
	if ((slash = strrchr(dir, '/')) == NULL || slash == dir)
		return;
	*slash = '\0';
	if (mkdir(dir, 0755) == 0 && uid != (uid_t)-1 &&
	    chown(dir, uid, gid) != 0)
		fprintf(
		    stderr, "sakimori: chown %s: %s\n", dir, strerror(errno));
}

/* chown_state_dir - the state directory belongs to the user we become */
static void
chown_state_dir(const char *dir, uid_t uid, gid_t gid)
{
	char sub[4096];

	if (uid == (uid_t)-1)
		return;
	snprintf(sub, sizeof(sub), "%s/lists", dir);
	if (chown(dir, uid, gid) != 0 || chown(sub, uid, gid) != 0)
		fprintf(stderr, "sakimori: state_dir: chown %s: %s\n", dir,
		    strerror(errno));
}

/* write_pidfile - our pid, owned by the user we become */
static int
write_pidfile(const char *path, uid_t uid, gid_t gid)
{
	FILE *fp;

	make_parent_dir(path, uid, gid);
	if ((fp = fopen(path, "w")) == NULL)
		return -1;
	fprintf(fp, "%ld\n", (long)getpid());
	if (fclose(fp) != 0)
		return -1;
	if (uid != (uid_t)-1 && chown(path, uid, gid) != 0)
		return -1;
	return 0;
}

/* drop_privileges - become the configured user for good */
static int
drop_privileges(const struct passwd *pw)
{
	if (initgroups(pw->pw_name, pw->pw_gid) != 0 ||
	    setgid(pw->pw_gid) != 0 || setuid(pw->pw_uid) != 0)
		return -1;
	/* Regaining root must fail now. */
	if (pw->pw_uid != 0 && setuid(0) == 0)
		return -1;
	return 0;
}

static struct sockaddr_storage listen_addr; /* where libmilter listens */
static socklen_t listen_len;		    /* its length; 0: unknown */
static atomic_bool milter_done;		    /* smfi_main has returned */

/*
 * find_listener - note libmilter's listening socket, set TCP_NODELAY
 *
 * At end of message libmilter writes each header change and the final
 * reply as separate packets; with Nagle on, the second waits for the
 * MTA's delayed ACK (about 40 ms a message). libmilter keeps its
 * listening socket to itself, so find it: the one socket in LISTEN state
 * we have. Linux copies TCP_NODELAY to every accepted socket. Its
 * address is kept to wake libmilter's listener at shutdown.
 */
static void
find_listener(void)
{
	struct sockaddr_storage ss;
	socklen_t len;
	int fd, on = 1, listening;

	for (fd = 0; fd < 1024; fd++) {
		len = sizeof(listening);
		if (getsockopt(
			fd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &len) != 0 ||
		    !listening)
			continue;
		len = sizeof(ss);
		if (getsockname(fd, (struct sockaddr *)&ss, &len) != 0)
			continue;
		if (ss.ss_family == AF_INET) {
			struct sockaddr_in *in = (struct sockaddr_in *)&ss;

			if (in->sin_addr.s_addr == htonl(INADDR_ANY))
				in->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		} else if (ss.ss_family == AF_INET6) {
			struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&ss;

			if (IN6_IS_ADDR_UNSPECIFIED(&in6->sin6_addr))
				in6->sin6_addr = in6addr_loopback;
		} else if (ss.ss_family != AF_UNIX) {
			continue;
		}
		memcpy(&listen_addr, &ss, len);
		listen_len = len;
		if (ss.ss_family != AF_UNIX &&
		    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof(on)) !=
			0)
			fprintf(stderr, "sakimori: TCP_NODELAY: %s\n",
			    strerror(errno));
	}
}

/* stopper_main - smfi_stop(), which waits for the listener's lock */
static void *
stopper_main(void *arg)
{
	(void)arg;
	smfi_stop();
	return NULL;
}

/*
 * stop_milter - stop now, not at libmilter's next 5-second check
 *
 * libmilter's listener holds its lock across a select() of up to 5
 * seconds (MI_CHK_TIME); smfi_stop() sets the stop flag, then waits for
 * that lock. A connection of ours wakes the select, the listener sees
 * the flag and returns. Repeated until smfi_main() has returned, since
 * a wake before the flag is set is lost.
 */
static void
stop_milter(void)
{
	pthread_t t;
	int i, fd;

	if (pthread_create(&t, NULL, stopper_main, NULL) != 0) {
		smfi_stop();
		return;
	}
	pthread_detach(t);
	for (i = 0; i < 500 && !atomic_load(&milter_done); i++) {
		if (listen_len > 0 &&
		    (fd = socket(listen_addr.ss_family, SOCK_STREAM, 0)) >= 0) {
			(void)connect(
			    fd, (struct sockaddr *)&listen_addr, listen_len);
			close(fd);
		}
		usleep(20000);
	}
}

/*
 * signal_main - reload on SIGUSR1; stop on SIGTERM, SIGINT, SIGHUP
 *
 * This thread starts before libmilter's own signal thread, so Linux,
 * which hands a process signal to the first thread waiting for it, gives
 * it to us; should libmilter's thread take one, it stops the filter all
 * the same, only up to 5 seconds later.
 */
static void *
signal_main(void *arg)
{
	sigset_t *set = arg;
	char *error;
	int sig;

	for (;;) {
		if (sigwait(set, &sig) != 0)
			continue;
		if (sig != SIGUSR1) {
			log_msg(LOG_INFO, "%s: stopping", strsignal(sig));
			stop_milter();
			return NULL;
		}
		log_msg(LOG_INFO, "SIGUSR1: reloading");
		if (runtime_reload(&error) != 0) {
			log_msg(LOG_WARNING,
			    "reload refused, old "
			    "configuration stays live: %s",
			    error);
			free(error);
		}
	}
	return NULL;
}

int
main(int argc, char **argv)
{
	char *overrides[MAX_OVERRIDES];
	size_t override_count = 0;
	const char *path = NULL;
	bool foreground = false, test = false, dump = false;
	struct config *cfg = NULL;
	struct passwd *pw = NULL;
	uid_t uid = (uid_t)-1;
	gid_t gid = (gid_t)-1, ctl_gid;
	char *error = NULL;
	static sigset_t sigs;
	sigset_t all;
	pthread_t sig_thread;
	struct dkimverify_lib *dkim = NULL;
	int c, err, ret;

	while ((c = getopt(argc, argv, "c:Dfho:tV")) != -1) {
		switch (c) {
		case 'c':
			path = optarg;
			break;
		case 'D':
			dump = true;
			break;
		case 'f':
			foreground = true;
			break;
		case 'o':
			if (override_count == MAX_OVERRIDES) {
				fprintf(stderr, "sakimori: too many -o\n");
				return EX_USAGE;
			}
			overrides[override_count++] = optarg;
			break;
		case 't':
			test = true;
			break;
		case 'V':
			print_version();
			return 0;
		case 'h':
			usage();
			return 0;
		default:
			usage();
			return EX_USAGE;
		}
	}
	if (optind != argc) {
		usage();
		return EX_USAGE;
	}
	if (config_load(path, overrides, override_count, &cfg, &error) != 0) {
		fprintf(stderr, "sakimori: %s\n", error);
		free(error);
		return EX_CONFIG;
	}
	if (test) {
		printf("sakimori: configuration %s is valid\n",
		    path != NULL ? path : "(embedded defaults)");
		config_free(&cfg);
		return 0;
	}
	if (dump) {
		ret = config_dump(cfg, stdout) == 0 ? 0 : EX_IOERR;
		config_free(&cfg);
		return ret;
	}
	log_open("sakimori", foreground);
	if (log_set_debug(cfg->debug, cfg->debug_count) != 0) {
		fprintf(stderr, "sakimori: debug: unknown subsystem\n");
		config_free(&cfg);
		return EX_CONFIG;
	}
	if (cfg->user != NULL && *cfg->user != '\0') {
		if ((pw = getpwnam(cfg->user)) == NULL) {
			fprintf(stderr, "sakimori: user: %s: no such user\n",
			    cfg->user);
			config_free(&cfg);
			return EX_NOUSER;
		}
		uid = pw->pw_uid;
		gid = pw->pw_gid;
	}

	/* libopendkim and the Public Suffix List: once, for every thread. */
	if (dkimverify_lib_new(&dkim, &error) != 0 ||
	    dmarc_global_init(&error) != 0) {
		fprintf(stderr, "sakimori: %s\n", error);
		free(error);
		config_free(&cfg);
		return EX_SOFTWARE;
	}
	if (smfi_setconn(cfg->listen) != MI_SUCCESS ||
	    filter_register(dkim) != 0 || smfi_opensocket(true) != MI_SUCCESS) {
		fprintf(stderr,
		    "sakimori: listen: %s: cannot open the milter "
		    "socket\n",
		    cfg->listen);
		config_free(&cfg);
		return EX_UNAVAILABLE;
	}
	find_listener();
	if (listreg_init(cfg->state_dir, &error) != 0) {
		fprintf(stderr, "sakimori: %s\n", error);
		free(error);
		config_free(&cfg);
		return EX_CANTCREAT;
	}
	chown_state_dir(cfg->state_dir, uid, gid);
	ctl_gid = gid;
	if (cfg->control_group != NULL && *cfg->control_group != '\0') {
		struct group *gr = getgrnam(cfg->control_group);

		if (gr == NULL) {
			fprintf(stderr,
			    "sakimori: control_group: %s: no such group\n",
			    cfg->control_group);
			config_free(&cfg);
			return EX_NOUSER;
		}
		ctl_gid = gr->gr_gid;
	}
	if (cfg->control_socket != NULL && *cfg->control_socket != '\0') {
		make_parent_dir(cfg->control_socket, uid, gid);
		if (control_open(cfg->control_socket, cfg->control_mode, uid,
			ctl_gid, &error) != 0) {
			fprintf(stderr, "sakimori: %s\n", error);
			free(error);
			config_free(&cfg);
			return EX_UNAVAILABLE;
		}
	}
	if (cfg->control_listen != NULL && *cfg->control_listen != '\0' &&
	    control_open_tcp(cfg->control_listen, cfg->control_secret_file,
		cfg->control_auth_window, &error) != 0) {
		fprintf(stderr, "sakimori: %s\n", error);
		free(error);
		control_stop();
		config_free(&cfg);
		return EX_CONFIG;
	}
	if (!foreground && daemon(0, 0) != 0) {
		fprintf(stderr, "sakimori: daemon: %s\n", strerror(errno));
		control_stop();
		config_free(&cfg);
		return EX_OSERR;
	}
	if (cfg->pidfile != NULL && *cfg->pidfile != '\0' &&
	    write_pidfile(cfg->pidfile, uid, gid) != 0)
		log_msg(LOG_WARNING, "pidfile: %s: %s", cfg->pidfile,
		    strerror(errno));
	if (limits_open(cfg, &error) != 0) {
		log_msg(LOG_ERR, "limits: %s",
		    error != NULL ? error : "cannot open the store");
		free(error);
		control_stop();
		config_free(&cfg);
		return EX_CANTCREAT;
	}
	if (pw != NULL && drop_privileges(pw) != 0) {
		log_msg(LOG_ERR, "user: %s: cannot drop privileges: %s",
		    pw->pw_name, strerror(errno));
		control_stop();
		config_free(&cfg);
		return EX_OSERR;
	}

	/* Block every signal before any thread exists. */
	sigfillset(&all);
	sigdelset(&all, SIGSEGV);
	sigdelset(&all, SIGBUS);
	sigdelset(&all, SIGFPE);
	sigdelset(&all, SIGILL);
	sigdelset(&all, SIGABRT);
	pthread_sigmask(SIG_BLOCK, &all, NULL);
	signal(SIGPIPE, SIG_IGN);
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGUSR1);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGHUP);

	if (runtime_init(cfg, path, overrides, override_count, &error) != 0) {
		log_msg(LOG_ERR, "%s", error);
		free(error);
		control_stop();
		return EX_CONFIG;
	}
	if ((err = pthread_create(&sig_thread, NULL, signal_main, &sigs)) !=
	    0) {
		log_msg(LOG_ERR, "pthread_create: %s", strerror(err));
		control_stop();
		runtime_shutdown();
		return EX_OSERR;
	}
	if (control_start() != 0) {
		control_stop();
		runtime_shutdown();
		return EX_OSERR;
	}
	{
		struct runtime *rt = runtime_acquire();

		err = rt != NULL ? fleet_start(rt->cfg) : 0;
		if (err == 0 && rt != NULL &&
		    limits_start(rt->cfg, &error) != 0) {
			log_msg(LOG_ERR, "limits: %s",
			    error != NULL ? error : "cannot start");
			free(error);
			err = EX_CONFIG;
		}
		runtime_release(&rt);
		if (err != 0) {
			fleet_stop();
			control_stop();
			runtime_shutdown();
			return err == EX_CONFIG ? EX_CONFIG : EX_OSERR;
		}
	}
	{
		struct runtime *rt = runtime_acquire();

		log_msg(LOG_INFO,
		    "sakimori %s started listen=%s config=%s "
		    "authserv_id=%s",
		    SAKIMORI_VERSION, rt->cfg->listen,
		    path != NULL ? path : "(embedded defaults)",
		    rt->cfg->authserv_id);
		runtime_release(&rt);
	}
	ret = smfi_main();
	atomic_store(&milter_done, true);
	log_msg(LOG_INFO, "stopping");
	control_stop();
	fleet_stop();
	limits_stop();
	{
		struct runtime *rt = runtime_acquire();

		if (rt != NULL && rt->cfg->pidfile != NULL &&
		    *rt->cfg->pidfile != '\0')
			(void)unlink(rt->cfg->pidfile);
		runtime_release(&rt);
	}
	runtime_shutdown();
	listreg_shutdown();
	return ret == MI_SUCCESS ? 0 : EX_SOFTWARE;
}
