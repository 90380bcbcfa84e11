/*
 * NAME
 *	limitcheck - drive a rate-limit store from the command line
 * SUMMARY
 *	limitcheck [-l] [-c NAME=CAPS]... [-d NAME] [-n NOW] [-p PREFIX]
 *	    [-P POOL] [-t MS] STORE WHERE COMMAND [ARG...]
 * DESCRIPTION
 *	STORE WHERE is "lmdb DIR" or "redis ADDRESS" (HOST:PORT, /socket).
 *	Classes come from -c NAME=CAPS (ratelimit.h caps text), the first
 *	being the default unless -d names another; without -c the
 *	built-in default class (1000/day). -n sets the time (seconds since
 *	the epoch; default: the clock), -l writes times in local time, -p
 *	sets the Redis key prefix, -P the Redis pool size, -t the Redis
 *	connect and command timeouts in milliseconds.
 *	Commands, with what they print:
 *	    reserve ACCOUNT [RCPTS [MSGS [MSG_RCPTS [SESSION_RCPTS]]]]
 *		one decision line (see print_decision)
 *	    refund ACCOUNT AT RCPTS MSGS	"refunded"
 *	    get ACCOUNT		the "limit get" text, then "usage ..." lines
 *	    set ACCOUNT CLASS|CAPS|-		"set"
 *	    reset ACCOUNT			"reset"
 *	    import FILE [replace]		"imported N"
 *	    top N			"N. ACCOUNT USED/MAX WHAT:MAX/WINDOW"
 *	    expire				"expired N"
 *	    race ACCOUNT THREADS		T threads reserve one recipient
 *		each until refused: "accepted=N refused=N errors=N
 *		unreachable=N"
 *	    replay	commands from stdin, one a line, each output line
 *		prefixed "LINE: ": "NOW reserve ACCOUNT RCPTS MSGS MSG_RCPTS
 *		SESSION_RCPTS", "NOW refund ACCOUNT" (the account's last
 *		token), "NOW get ACCOUNT", "set ACCOUNT VALUE", "reset
 *		ACCOUNT"; '#' lines and blank lines are skipped
 *	Options end at STORE (so "set bob -5" reaches the store).
 *	Exit status: 0 done, 1 error, 3 store unreachable, 64 usage.
 *	Errors go to stderr as "limitcheck: why".
 */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "policy/limit_store.h"
#include "policy/ratelimit.h"

#define EXIT_ERROR 1	   /* an operation failed */
#define EXIT_UNREACHABLE 3 /* the store did not answer */
#define EXIT_USAGE 64	   /* EX_USAGE */
#define MAX_TOKENS 64	   /* replay: accounts with a token */

static enum ratelimit_tz tz = RATELIMIT_TZ_UTC; /* -l */

/* usage - the synopsis, and exit */
static void
usage(void)
{
	fprintf(stderr,
	    "usage: limitcheck [-l] [-c NAME=CAPS]... [-d NAME] [-n NOW] "
	    "[-p PREFIX] [-P POOL] [-t MS]\n"
	    "    lmdb DIR | redis ADDRESS\n"
	    "    reserve ACCOUNT [RCPTS [MSGS [MSG_RCPTS [SESSION_RCPTS]]]] | "
	    "refund ACCOUNT AT RCPTS MSGS |\n"
	    "    get ACCOUNT | set ACCOUNT CLASS|CAPS|- | reset ACCOUNT | "
	    "import FILE [replace] |\n"
	    "    top N | expire | race ACCOUNT THREADS | replay\n");
	exit(EXIT_USAGE);
}

/* status - the exit status of a store result, error printed */
static int
status(int rc, char *error)
{
	if (rc == 0)
		return 0;
	fprintf(stderr, "limitcheck: %s\n", error != NULL ? error : "failed");
	free(error);
	return rc == LIMIT_UNREACHABLE ? EXIT_UNREACHABLE : EXIT_ERROR;
}

/* number - an unsigned number argument, or usage */
static uint64_t
number(const char *s, uint64_t max)
{
	unsigned long long v;
	char *end;

	errno = 0;
	v = strtoull(s, &end, 10);
	if (*s == '\0' || *end != '\0' || errno != 0 || v > max || *s == '-') {
		fprintf(stderr, "limitcheck: bad number \"%s\"\n", s);
		exit(EXIT_USAGE);
	}
	return v;
}

/* cap_text - "rcpt:5/3600" */
static const char *
cap_text(const struct ratelimit_cap *c, char *buf, size_t size)
{
	snprintf(buf, size, "%s:%" PRIu32 "/%" PRIu32,
	    c->what == RATELIMIT_MESSAGES ? "msg" : "rcpt", c->max, c->window);
	return buf;
}

/* print_decision - one line of key=value fields, the reply last */
static void
print_decision(FILE *fp, const struct ratelimit_decision *d,
    const struct ratelimit_token *tok)
{
	struct ratelimit_reply r;
	char c1[64], c2[64];

	ratelimit_reply(d, tz, &r);
	fprintf(fp,
	    "allowed=%d refused=%d shadow=%d cause=%s cap=%s used=%" PRIu32
	    " limit=%" PRIu32 " resume=%" PRId64 " blocked=%" PRId64
	    " started=%d threshold=%d/%s action=%s class=%s token=%" PRId64
	    ",%" PRIu32 ",%" PRIu32 " reply=\"%s%s%s%s%s\"\n",
	    d->allowed, d->refused, d->shadow, ratelimit_cause_name(d->cause),
	    cap_text(&d->cap, c1, sizeof(c1)), d->used, d->limit, d->resume,
	    d->blocked_until, d->block_started, d->threshold,
	    cap_text(&d->threshold_cap, c2, sizeof(c2)),
	    ratelimit_action_name(d->action), d->class_name, tok->at,
	    tok->rcpts, tok->msgs, r.rcode, r.rcode[0] != '\0' ? " " : "",
	    r.xcode, r.xcode[0] != '\0' ? " " : "", r.text);
}

/* print_info - "limit get" text, then one machine line per cap */
static void
print_info(FILE *fp, const char *prefix, const struct limit_info *info)
{
	char text[4096], spec[RATELIMIT_SPEC_MAX + 1], c[64];
	char *line, *save = NULL;
	size_t i;

	if (limit_info_text(info, tz, text, sizeof(text)) < 0)
		fprintf(fp, "%s(text truncated)\n", prefix);
	for (line = strtok_r(text, "\n", &save); line != NULL;
	     line = strtok_r(NULL, "\n", &save))
		fprintf(fp, "%s%s\n", prefix, line);
	if (limit_override_format(&info->override, spec, sizeof(spec)) < 0)
		spec[0] = '\0';
	fprintf(fp,
	    "%sclass=%s override=\"%s\" unknown=%d blocked=%" PRId64 "\n",
	    prefix, info->cls.name, spec, info->class_unknown,
	    info->usage.blocked_until);
	for (i = 0; i < info->usage.ncaps; i++)
		fprintf(fp,
		    "%susage cap=%s used=%" PRIu32 " next=%" PRId64
		    " all=%" PRId64 "\n",
		    prefix, cap_text(&info->usage.cap[i].cap, c, sizeof(c)),
		    info->usage.cap[i].used, info->usage.cap[i].next_free,
		    info->usage.cap[i].all_free);
}

/* set_override - parse override text and store it */
static int
set_override(struct limit_store *store, const struct ratelimit_policy *p,
    const char *account, const char *text)
{
	struct limit_override ov;
	char why[256], *error = NULL;
	int rc;

	if (limit_override_parse(p, text, &ov, why, sizeof(why)) < 0) {
		fprintf(stderr, "limitcheck: %s\n", why);
		return EXIT_ERROR;
	}
	rc = limit_store_set_override(store, account, &ov, &error);
	return status(rc, error);
}

/* read_file - a whole file (or stdin for "-"); caller frees */
static char *
read_file(const char *path, size_t *len_r)
{
	FILE *fp = strcmp(path, "-") == 0 ? stdin : fopen(path, "r");
	char *buf = NULL;
	size_t len = 0, alloc = 0, n;

	if (fp == NULL) {
		fprintf(stderr, "limitcheck: %s: %s\n", path, strerror(errno));
		return NULL;
	}
	do {
		if (len + 65536 > alloc) {
			char *grown;

			alloc = alloc == 0 ? 1 << 20 : alloc * 2;
			if ((grown = realloc(buf, alloc)) == NULL) {
				free(buf);
				buf = NULL;
				break;
			}
			buf = grown;
		}
		n = fread(buf + len, 1, alloc - len, fp);
		len += n;
	} while (n > 0);
	if (fp != stdin)
		fclose(fp);
	*len_r = len;
	return buf;
}

struct race_arg {
	struct limit_store *store; /* shared */
	const char *account;	   /* shared */
	int64_t now;		   /* the time */
	unsigned long accepted;	   /* counts */
	unsigned long refused;
	unsigned long errors;
	unsigned long unreachable;
};

/* race_thread - reserve one recipient at a time until refused */
static void *
race_thread(void *p)
{
	struct race_arg *a = p;
	struct ratelimit_request req = { 1, 0, 0, 0 };
	struct ratelimit_decision d;
	struct ratelimit_token tok;
	char *error = NULL;
	int rc;

	for (;;) {
		rc = limit_store_reserve(
		    a->store, a->account, &req, a->now, &d, &tok, &error);
		if (rc != 0) {
			if (rc == LIMIT_UNREACHABLE)
				a->unreachable++;
			else
				a->errors++;
			free(error);
			error = NULL;
			/* A store that fails keeps failing: stop here. */
			if (a->errors + a->unreachable >= 100)
				break;
			continue;
		}
		if (!d.allowed) {
			a->refused++;
			break;
		}
		a->accepted++;
	}
	return NULL;
}

/* race - THREADS threads on one account; the totals */
static int
race(struct limit_store *store, const char *account, unsigned threads,
    int64_t now)
{
	struct race_arg *args = calloc(threads, sizeof(*args));
	pthread_t *th = calloc(threads, sizeof(*th));
	unsigned long accepted = 0, refused = 0, errors = 0, unreachable = 0;
	unsigned i;

	if (args == NULL || th == NULL) {
		fprintf(stderr, "limitcheck: out of memory\n");
		return EXIT_ERROR;
	}
	for (i = 0; i < threads; i++) {
		args[i].store = store;
		args[i].account = account;
		args[i].now = now;
		if (pthread_create(&th[i], NULL, race_thread, &args[i]) != 0) {
			fprintf(stderr, "limitcheck: cannot start a thread\n");
			exit(EXIT_ERROR);
		}
	}
	for (i = 0; i < threads; i++) {
		pthread_join(th[i], NULL);
		accepted += args[i].accepted;
		refused += args[i].refused;
		errors += args[i].errors;
		unreachable += args[i].unreachable;
	}
	printf("accepted=%lu refused=%lu errors=%lu unreachable=%lu\n",
	    accepted, refused, errors, unreachable);
	free(args);
	free(th);
	if (unreachable > 0)
		return EXIT_UNREACHABLE;
	return errors > 0 ? EXIT_ERROR : 0;
}

struct replay_token {
	char account[RATELIMIT_ACCOUNT_MAX + 1]; /* whose */
	struct ratelimit_token tok;		 /* its last token */
};

/* replay_token - the token slot of an account */
static struct ratelimit_token *
replay_token(struct replay_token *tokens, size_t *n, const char *account)
{
	size_t i;

	for (i = 0; i < *n; i++) {
		if (strcmp(tokens[i].account, account) == 0)
			return &tokens[i].tok;
	}
	if (*n == MAX_TOKENS || strlen(account) > RATELIMIT_ACCOUNT_MAX)
		return NULL;
	snprintf(tokens[*n].account, sizeof(tokens[*n].account), "%s", account);
	memset(&tokens[*n].tok, 0, sizeof(tokens[*n].tok));
	return &tokens[(*n)++].tok;
}

/* replay_line - one replay command; the exit status it earns */
static int
replay_line(struct limit_store *store, const struct ratelimit_policy *p,
    char *line, unsigned long lineno, struct replay_token *tokens,
    size_t *ntokens)
{
	char *w[8], *save = NULL, prefix[32], *error = NULL, *rest;
	struct ratelimit_request req;
	struct ratelimit_decision d;
	struct ratelimit_token *tok, got;
	struct limit_info info;
	size_t n = 0;
	int64_t now = 0;
	int rc;

	snprintf(prefix, sizeof(prefix), "%lu: ", lineno);
	line += strspn(line, " \t");
	/* "set ACCOUNT VALUE": the value is the rest of the line. */
	if (strncmp(line, "set ", 4) == 0) {
		w[1] = line + 4 + strspn(line + 4, " \t");
		if ((rest = strpbrk(w[1], " \t")) == NULL)
			goto bad;
		*rest++ = '\0';
		rc = set_override(store, p, w[1], rest + strspn(rest, " \t"));
		printf("%s%s\n", prefix, rc == 0 ? "set" : "error");
		return rc;
	}
	for (w[n] = strtok_r(line, " \t", &save); w[n] != NULL && n < 7;
	     w[n] = strtok_r(NULL, " \t", &save))
		n++;
	if (n == 0 || w[0][0] == '#')
		return 0;
	if (n == 2 && strcmp(w[0], "reset") == 0) {
		rc = limit_store_reset(store, w[1], &error);
		rc = status(rc, error);
		printf("%s%s\n", prefix, rc == 0 ? "reset" : "error");
		return rc;
	}
	if (n < 3)
		goto bad;
	now = (int64_t)number(w[0], RATELIMIT_TIME_MAX);
	if ((tok = replay_token(tokens, ntokens, w[2])) == NULL)
		tok = &got;
	if (n == 7 && strcmp(w[1], "reserve") == 0) {
		req.rcpts = (uint32_t)number(w[3], UINT32_MAX);
		req.msgs = (uint32_t)number(w[4], UINT32_MAX);
		req.msg_rcpts = (uint32_t)number(w[5], UINT32_MAX);
		req.session_rcpts = (uint32_t)number(w[6], UINT32_MAX);
		rc = limit_store_reserve(
		    store, w[2], &req, now, &d, &got, &error);
		if (rc != 0) {
			printf("%serror\n", prefix);
			return status(rc, error);
		}
		/* Keep the last token that charged something. */
		if (got.rcpts > 0 || got.msgs > 0)
			*tok = got;
		fputs(prefix, stdout);
		print_decision(stdout, &d, &got);
		return 0;
	}
	if (n == 3 && strcmp(w[1], "refund") == 0) {
		rc = limit_store_refund(store, w[2], tok, now, &error);
		rc = status(rc, error);
		memset(tok, 0, sizeof(*tok));
		printf("%s%s\n", prefix, rc == 0 ? "refunded" : "error");
		return rc;
	}
	if (n == 3 && strcmp(w[1], "get") == 0) {
		rc = limit_store_get(store, w[2], now, &info, &error);
		if (rc != 0) {
			printf("%serror\n", prefix);
			return status(rc, error);
		}
		print_info(stdout, prefix, &info);
		return 0;
	}
bad:
	fprintf(stderr, "limitcheck: replay line %lu: bad command\n", lineno);
	return EXIT_USAGE;
}

/* replay - commands from stdin */
static int
replay(struct limit_store *store, const struct ratelimit_policy *p)
{
	struct replay_token tokens[MAX_TOKENS];
	size_t ntokens = 0, cap = 0;
	unsigned long lineno = 0;
	char *line = NULL;
	ssize_t len;
	int rc, worst = 0;

	while ((len = getline(&line, &cap, stdin)) >= 0) {
		lineno++;
		if (len > 0 && line[len - 1] == '\n')
			line[len - 1] = '\0';
		rc = replay_line(store, p, line, lineno, tokens, &ntokens);
		if (rc > worst)
			worst = rc;
	}
	free(line);
	return worst;
}

/* add_class - a -c NAME=CAPS option into the policy */
static void
add_class(struct ratelimit_policy *p, const char *arg)
{
	char name[RATELIMIT_NAME_MAX], why[256];
	const char *eq = strchr(arg, '=');

	if (eq == NULL || (size_t)(eq - arg) >= sizeof(name) ||
	    p->nclasses == RATELIMIT_MAX_CLASSES) {
		fprintf(stderr, "limitcheck: -c %s: want NAME=CAPS\n", arg);
		exit(EXIT_USAGE);
	}
	memcpy(name, arg, (size_t)(eq - arg));
	name[eq - arg] = '\0';
	if (ratelimit_class_parse(
		name, eq + 1, &p->cls[p->nclasses], why, sizeof(why)) < 0) {
		fprintf(stderr, "limitcheck: -c %s: %s\n", arg, why);
		exit(EXIT_USAGE);
	}
	p->nclasses++;
}

/* open_store - lmdb DIR or redis ADDRESS */
static struct limit_store *
open_store(const char *kind, const char *where,
    const struct ratelimit_policy *p, const char *prefix, unsigned pool,
    unsigned timeout_ms)
{
	struct limit_store *store = NULL;
	char *error = NULL;
	int rc;

	if (strcmp(kind, "lmdb") == 0) {
		struct limit_lmdb_options o = { where, (size_t)1 << 32, false };

		rc = limit_lmdb_open(&o, p, &store, &error);
	} else if (strcmp(kind, "redis") == 0) {
		struct limit_redis_options o = { where, prefix, timeout_ms,
			timeout_ms, pool, 0, 0 };

		rc = limit_redis_open(&o, p, &store, &error);
	} else {
		usage();
		return NULL;
	}
	if (rc != 0)
		exit(status(rc, error));
	return store;
}

/* run - one command on an open store */
static int
run(struct limit_store *store, const struct ratelimit_policy *p, int argc,
    char **argv, int64_t now)
{
	struct ratelimit_request req = { 1, 0, 0, 0 };
	struct ratelimit_decision d;
	struct ratelimit_token tok;
	struct limit_info info;
	struct limit_top *top;
	char *error = NULL, *text, c[64];
	const char *cmd = argv[0];
	size_t len, count, i;
	int rc;

	if (strcmp(cmd, "reserve") == 0 && argc >= 2 && argc <= 6) {
		if (argc > 2)
			req.rcpts = (uint32_t)number(argv[2], UINT32_MAX);
		if (argc > 3)
			req.msgs = (uint32_t)number(argv[3], UINT32_MAX);
		if (argc > 4)
			req.msg_rcpts = (uint32_t)number(argv[4], UINT32_MAX);
		if (argc > 5)
			req.session_rcpts =
			    (uint32_t)number(argv[5], UINT32_MAX);
		rc = limit_store_reserve(
		    store, argv[1], &req, now, &d, &tok, &error);
		if (rc == 0)
			print_decision(stdout, &d, &tok);
		return status(rc, error);
	}
	if (strcmp(cmd, "refund") == 0 && argc == 5) {
		tok.at = (int64_t)number(argv[2], RATELIMIT_TIME_MAX);
		tok.rcpts = (uint32_t)number(argv[3], UINT32_MAX);
		tok.msgs = (uint32_t)number(argv[4], UINT32_MAX);
		rc = limit_store_refund(store, argv[1], &tok, now, &error);
		if (rc == 0)
			printf("refunded\n");
		return status(rc, error);
	}
	if (strcmp(cmd, "get") == 0 && argc == 2) {
		rc = limit_store_get(store, argv[1], now, &info, &error);
		if (rc == 0)
			print_info(stdout, "", &info);
		return status(rc, error);
	}
	if (strcmp(cmd, "set") == 0 && argc == 3) {
		rc = set_override(store, p, argv[1], argv[2]);
		if (rc == 0)
			printf("set\n");
		return rc;
	}
	if (strcmp(cmd, "reset") == 0 && argc == 2) {
		rc = limit_store_reset(store, argv[1], &error);
		if (rc == 0)
			printf("reset\n");
		return status(rc, error);
	}
	if (strcmp(cmd, "import") == 0 && (argc == 2 || argc == 3)) {
		if (argc == 3 && strcmp(argv[2], "replace") != 0)
			usage();
		if ((text = read_file(argv[1], &len)) == NULL)
			return EXIT_ERROR;
		rc = limit_store_import(store, text, len,
		    argc == 3 ? LIMIT_IMPORT_REPLACE : 0, &count, &error);
		free(text);
		if (rc == 0)
			printf("imported %zu\n", count);
		return status(rc, error);
	}
	if (strcmp(cmd, "top") == 0 && argc == 2) {
		i = (size_t)number(argv[1], LIMIT_MAX_TOP);
		if ((top = calloc(i + 1, sizeof(*top))) == NULL)
			return EXIT_ERROR;
		rc = limit_store_top(store, i, now, top, &count, &error);
		for (i = 0; rc == 0 && i < count; i++)
			printf("%zu. %s %" PRIu32 "/%" PRIu32 " %s\n", i + 1,
			    top[i].account, top[i].used, top[i].cap.max,
			    cap_text(&top[i].cap, c, sizeof(c)));
		free(top);
		return status(rc, error);
	}
	if (strcmp(cmd, "expire") == 0 && argc == 1) {
		rc = limit_store_expire(store, now, &count, &error);
		if (rc == 0)
			printf("expired %zu\n", count);
		return status(rc, error);
	}
	if (strcmp(cmd, "race") == 0 && argc == 3)
		return race(
		    store, argv[1], (unsigned)number(argv[2], 1024), now);
	if (strcmp(cmd, "replay") == 0 && argc == 1)
		return replay(store, p);
	usage();
	return EXIT_USAGE;
}

int
main(int argc, char **argv)
{
	struct ratelimit_policy *policy = calloc(1, sizeof(*policy));
	const char *def = NULL, *prefix = NULL;
	struct limit_store *store;
	unsigned pool = 0, timeout_ms = 0;
	int64_t now = (int64_t)time(NULL);
	const struct ratelimit_class *c;
	int ch, rc;

	if (policy == NULL)
		return EXIT_ERROR;
	while ((ch = getopt(argc, argv, "+c:d:ln:p:P:t:")) != -1) {
		switch (ch) {
		case 'c':
			add_class(policy, optarg);
			break;
		case 'd':
			def = optarg;
			break;
		case 'l':
			tz = RATELIMIT_TZ_LOCAL;
			tzset();
			break;
		case 'n':
			now = (int64_t)number(optarg, RATELIMIT_TIME_MAX);
			break;
		case 'p':
			prefix = optarg;
			break;
		case 'P':
			pool = (unsigned)number(optarg, 1024);
			break;
		case 't':
			timeout_ms = (unsigned)number(optarg, 600000);
			break;
		default:
			usage();
		}
	}
	argc -= optind;
	argv += optind;
	if (argc < 3)
		usage();
	if (policy->nclasses == 0)
		ratelimit_policy_init(policy);
	if (def != NULL) {
		if ((c = ratelimit_policy_find(policy, def)) == NULL) {
			fprintf(
			    stderr, "limitcheck: -d %s: no such class\n", def);
			return EXIT_USAGE;
		}
		policy->default_class = (size_t)(c - policy->cls);
	}
	store = open_store(argv[0], argv[1], policy, prefix, pool, timeout_ms);
	rc = run(store, policy, argc - 2, argv + 2, now);
	limit_store_close(&store);
	free(policy);
	return rc;
}
