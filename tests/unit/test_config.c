/*
 * NAME
 *	test_config - unit tests for policy/config.c and config_schema.c
 * DESCRIPTION
 *	Embedded defaults; a file setting every option; errors for every
 *	option's range and every value check, each with file:line: option;
 *	-o overrides; dump and reload; the sample config and the README
 *	table against the schema. Files are written to a fresh directory
 *	under $TMPDIR (or /tmp) and removed afterwards.
 */
#include "policy/config.h"

#include <sys/stat.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "lists/cidr.h"
#include "policy/config_schema.h"
#include "policy/verdict.h"

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

struct fixture {
	char dir[256];	/* scratch directory */
	char path[300]; /* the file write_conf() wrote last */
	int serial;	/* names files uniquely */
};

/* setup - make the scratch directory */
static int
setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	const char *tmp = getenv("TMPDIR");

	if (f == NULL)
		return -1;
	snprintf(f->dir, sizeof(f->dir), "%s/test_config.XXXXXX",
	    tmp != NULL ? tmp : "/tmp");
	if (mkdtemp(f->dir) == NULL) {
		free(f);
		return -1;
	}
	*state = f;
	return 0;
}

/* teardown - remove the scratch directory and its files */
static int
teardown(void **state)
{
	struct fixture *f = *state;
	char path[300];
	int i;

	for (i = 0; i < f->serial; i++) {
		snprintf(path, sizeof(path), "%s/%d.conf", f->dir, i);
		unlink(path);
	}
	rmdir(f->dir);
	free(f);
	return 0;
}

/* write_conf - write text to a new file; its path is f->path */
static const char *
write_conf(struct fixture *f, const char *text)
{
	FILE *fp;

	snprintf(f->path, sizeof(f->path), "%s/%d.conf", f->dir, f->serial++);
	fp = fopen(f->path, "w");
	assert_non_null(fp);
	assert_int_equal(fputs(text, fp) >= 0, 1);
	assert_int_equal(fclose(fp), 0);
	return f->path;
}

/* load_ok - load or fail the test with the error */
static struct config *
load_ok(const char *what, const char *path, char *const *ov, size_t n)
{
	struct config *cfg = NULL;
	char *error = NULL;

	if (config_load(path, ov, n, &cfg, &error) < 0)
		fail_msg("%s: got error \"%s\", want success", what, error);
	assert_non_null(cfg);
	assert_null(error);
	return cfg;
}

/* expand - replace {F} in want with the file path */
static void
expand(char *buf, size_t size, const char *want, const char *path)
{
	const char *at = strstr(want, "{F}");

	if (at == NULL)
		snprintf(buf, size, "%s", want);
	else
		snprintf(buf, size, "%.*s%s%s", (int)(at - want), want, path,
		    at + 3);
}

/* load_fail - load, which must fail with exactly want ({F}: the path) */
static void
load_fail(const char *what, const char *path, char *const *ov, size_t n,
    const char *want)
{
	struct config *cfg = NULL;
	char *error = NULL, wantbuf[1024];

	expand(wantbuf, sizeof(wantbuf), want, path != NULL ? path : "");
	if (config_load(path, ov, n, &cfg, &error) == 0)
		fail_msg("%s: got success, want \"%s\"", what, wantbuf);
	if (cfg != NULL)
		fail_msg("%s: got a config with the error", what);
	if (error == NULL || strcmp(error, wantbuf) != 0)
		fail_msg("%s: got \"%s\", want \"%s\"", what,
		    error ? error : "(null)", wantbuf);
	free(error);
}

/* host_name - what authserv_id defaults to */
static void
host_name(char *buf, size_t size)
{
	assert_int_equal(gethostname(buf, size), 0);
	buf[size - 1] = '\0';
}

/* trusted_text - the trusted set as "a b c" */
static void
trusted_text(const struct config *cfg, char *buf, size_t size)
{
	char one[64];
	size_t i, len = 0;

	buf[0] = '\0';
	for (i = 0; i < cidr_set_count(cfg->trusted); i++) {
		cidr_set_format(cfg->trusted, i, one, sizeof(one));
		len += (size_t)snprintf(
		    buf + len, size - len, "%s%s", i > 0 ? " " : "", one);
		assert_true(len < size);
	}
}

/* same_policy - equal verdict policies? */
static int
same_policy(const struct verdict_policy *a, const struct verdict_policy *b)
{
	size_t c, r;

	for (c = 0; c < CHECK_COUNT; c++) {
		for (r = 0; r < VERDICT_SLOT_COUNT; r++) {
			if (a->rule[c][r].action != b->rule[c][r].action ||
			    a->rule[c][r].dry_run != b->rule[c][r].dry_run)
				return 0;
		}
	}
	return 1;
}

/* same_str - equal strings, NULL equal to NULL */
static int
same_str(const char *a, const char *b)
{
	if (a == NULL || b == NULL)
		return a == b;
	return strcmp(a, b) == 0;
}

/* assert_same_config - every field equal (but path) */
static void
assert_same_config(
    const char *what, const struct config *a, const struct config *b)
{
	char ta[512], tb[512];
	size_t i;

#define SAME_STR(f) \
	if (!same_str(a->f, b->f)) \
	fail_msg("%s: " #f ": got \"%s\", want \"%s\"", what, \
	    b->f ? b->f : "(null)", a->f ? a->f : "(null)")
#define SAME_NUM(f) \
	if (a->f != b->f) \
	fail_msg("%s: " #f ": got %u, want %u", what, (unsigned)b->f, \
	    (unsigned)a->f)
	SAME_STR(listen);
	SAME_STR(user);
	SAME_STR(pidfile);
	SAME_STR(control_socket);
	SAME_NUM(control_mode);
	SAME_STR(authserv_id);
	SAME_NUM(dns_nameserver_count);
	SAME_NUM(dns_timeout_ms);
	SAME_NUM(dns_retries);
	SAME_NUM(dns_cache_size);
	SAME_NUM(dns_cache_max_ttl);
	SAME_NUM(dns_workers);
	SAME_NUM(dns_budget_ms);
	SAME_NUM(dns_max_answer_records);
	SAME_NUM(iprev_max_names);
	SAME_NUM(spf_helo);
	SAME_STR(tag_header);
	SAME_NUM(log_stderr);
	SAME_NUM(debug_count);
#undef SAME_STR
#undef SAME_NUM
	for (i = 0; i < a->dns_nameserver_count; i++) {
		if (strcmp(a->dns_nameservers[i], b->dns_nameservers[i]) != 0)
			fail_msg("%s: dns_nameservers[%zu]: got %s, want %s",
			    what, i, b->dns_nameservers[i],
			    a->dns_nameservers[i]);
	}
	for (i = 0; i < a->debug_count; i++) {
		if (strcmp(a->debug[i], b->debug[i]) != 0)
			fail_msg("%s: debug[%zu]: got %s, want %s", what, i,
			    b->debug[i], a->debug[i]);
	}
	trusted_text(a, ta, sizeof(ta));
	trusted_text(b, tb, sizeof(tb));
	if (strcmp(ta, tb) != 0)
		fail_msg("%s: trusted_networks: got \"%s\", want \"%s\"", what,
		    tb, ta);
	if (!same_policy(&a->policy, &b->policy))
		fail_msg("%s: policy differs", what);
	if (!config_same_dns(a, b))
		fail_msg("%s: config_same_dns: got false, want true", what);
}

/* test_defaults - path NULL gives the embedded defaults */
static void
test_defaults(void **state)
{
	struct verdict_policy want_policy;
	struct config *cfg;
	char host[256], trusted[256];

	(void)state;
	cfg = load_ok("defaults", NULL, NULL, 0);
	host_name(host, sizeof(host));
	assert_null(cfg->path);
	assert_string_equal(cfg->listen, "inet:8891@127.0.0.1");
	assert_null(cfg->user);
	assert_null(cfg->pidfile);
	assert_string_equal(cfg->control_socket, "/run/sakimori/control.sock");
	if (cfg->control_mode != 0660)
		fail_msg("control_mode: got %o, want 660", cfg->control_mode);
	assert_string_equal(cfg->authserv_id, host);
	trusted_text(cfg, trusted, sizeof(trusted));
	assert_string_equal(trusted, "127.0.0.0/8 ::1/128");
	assert_int_equal(cfg->dns_nameserver_count, 0);
	assert_null(cfg->dns_nameservers);
	assert_int_equal(cfg->dns_timeout_ms, 2000);
	assert_int_equal(cfg->dns_retries, 1);
	assert_int_equal(cfg->dns_cache_size, 10000);
	assert_int_equal(cfg->dns_cache_max_ttl, 86400);
	assert_int_equal(cfg->dns_workers, 32);
	assert_int_equal(cfg->dns_budget_ms, 20000);
	assert_int_equal(cfg->dns_max_answer_records, 100);
	assert_int_equal(cfg->iprev_max_names, 10);
	assert_true(cfg->spf_helo);
	assert_string_equal(cfg->tag_header, "X-Sakimori-Tag");
	assert_false(cfg->log_stderr);
	assert_int_equal(cfg->debug_count, 0);
	verdict_policy_default(&want_policy);
	if (!same_policy(&cfg->policy, &want_policy))
		fail_msg("policy: got something else, want "
			 "verdict_policy_default()");
	config_free(&cfg);
	assert_null(cfg);
	config_free(&cfg);
	config_free(NULL);
}

static const char full_conf[] =
    "# every option, none at its default\n"
    "listen = \"unix:/run/sakimori/milter.sock\"\n"
    "user = sakimori\n"
    "pidfile = /run/sakimori/sakimori.pid\n"
    "control_socket = '/run/s/ctl.sock'\n"
    "control_mode = 0600\n"
    "authserv_id = mx1.example.com\n"
    "trusted_networks = {\"10.0.0.0/8\", 192.0.2.1,\n"
    "    \"2001:db8::/32\"}\n"
    "dns_nameservers = {127.0.0.1@5353, \"::1\"}\n"
    "dns_timeout = 500\n"
    "dns_retries = 3\n"
    "dns_cache_size = 0\n"
    "dns_cache_max_ttl = 3600\n"
    "dns_workers = 8\n"
    "dns_budget = 5000\n"
    "dns_max_answer_records = 50\n"
    "iprev_max_names = 3\n"
    "spf_helo = false\n"
    "tag_header = X-Spam-Flag\n"
    "debug = {dns, spf}\n"
    "spf_pass = accept\n"
    "spf_fail = reject\n"
    "spf_softfail = tempfail\n"
    "spf_neutral = tag\n"
    "spf_none = tag\n"
    "spf_temperror = tempfail\n"
    "spf_permerror = reject\n"
    "iprev_pass = tag\n"
    "iprev_fail = reject\n"
    "iprev_temperror = tempfail\n"
    "iprev_permerror = tag\n"
    "/* C comments work too */\n"
    "dry_run = {spf_fail, iprev_fail}  // and these\n";

/* test_full - a file that sets every option */
static void
test_full(void **state)
{
	struct fixture *f = *state;
	const struct verdict_rule(*r)[VERDICT_SLOT_COUNT];
	struct config *cfg;
	char trusted[256];
	const char *path;

	path = write_conf(f, full_conf);
	cfg = load_ok("full", path, NULL, 0);
	r = cfg->policy.rule;
	assert_string_equal(cfg->path, path);
	assert_string_equal(cfg->listen, "unix:/run/sakimori/milter.sock");
	assert_string_equal(cfg->user, "sakimori");
	assert_string_equal(cfg->pidfile, "/run/sakimori/sakimori.pid");
	assert_string_equal(cfg->control_socket, "/run/s/ctl.sock");
	if (cfg->control_mode != 0600)
		fail_msg("control_mode: got %o, want 600", cfg->control_mode);
	assert_string_equal(cfg->authserv_id, "mx1.example.com");
	trusted_text(cfg, trusted, sizeof(trusted));
	assert_string_equal(trusted, "10.0.0.0/8 192.0.2.1/32 2001:db8::/32");
	assert_int_equal(cfg->dns_nameserver_count, 2);
	assert_string_equal(cfg->dns_nameservers[0], "127.0.0.1@5353");
	assert_string_equal(cfg->dns_nameservers[1], "::1");
	assert_int_equal(cfg->dns_timeout_ms, 500);
	assert_int_equal(cfg->dns_retries, 3);
	assert_int_equal(cfg->dns_cache_size, 0);
	assert_int_equal(cfg->dns_cache_max_ttl, 3600);
	assert_int_equal(cfg->dns_workers, 8);
	assert_int_equal(cfg->dns_budget_ms, 5000);
	assert_int_equal(cfg->dns_max_answer_records, 50);
	assert_int_equal(cfg->iprev_max_names, 3);
	assert_false(cfg->spf_helo);
	assert_string_equal(cfg->tag_header, "X-Spam-Flag");
	assert_int_equal(cfg->debug_count, 2);
	assert_string_equal(cfg->debug[0], "dns");
	assert_string_equal(cfg->debug[1], "spf");
	assert_int_equal(r[CHECK_SPF][RESULT_PASS].action, ACTION_ACCEPT);
	assert_int_equal(r[CHECK_SPF][RESULT_FAIL].action, ACTION_REJECT);
	assert_int_equal(r[CHECK_SPF][RESULT_SOFTFAIL].action, ACTION_TEMPFAIL);
	assert_int_equal(r[CHECK_SPF][RESULT_NEUTRAL].action, ACTION_TAG);
	assert_int_equal(r[CHECK_SPF][RESULT_NONE].action, ACTION_TAG);
	assert_int_equal(
	    r[CHECK_SPF][RESULT_TEMPERROR].action, ACTION_TEMPFAIL);
	assert_int_equal(r[CHECK_SPF][RESULT_PERMERROR].action, ACTION_REJECT);
	assert_int_equal(r[CHECK_IPREV][RESULT_PASS].action, ACTION_TAG);
	assert_int_equal(r[CHECK_IPREV][RESULT_FAIL].action, ACTION_REJECT);
	assert_int_equal(
	    r[CHECK_IPREV][RESULT_TEMPERROR].action, ACTION_TEMPFAIL);
	assert_int_equal(r[CHECK_IPREV][RESULT_PERMERROR].action, ACTION_TAG);
	assert_true(r[CHECK_SPF][RESULT_FAIL].dry_run);
	assert_true(r[CHECK_IPREV][RESULT_FAIL].dry_run);
	assert_false(r[CHECK_SPF][RESULT_SOFTFAIL].dry_run);
	assert_false(r[CHECK_IPREV][RESULT_PASS].dry_run);
	config_free(&cfg);
}

/* test_lists - list syntax: one value, append, empty, dry_run all */
static void
test_lists(void **state)
{
	static const struct {
		const char *name;
		const char *input;
		const char *want; /* trusted networks, space-separated */
	} cases[] = {
		{ "single value without braces",
		    "trusted_networks = 10.0.0.0/8\n", "10.0.0.0/8" },
		{ "append to the default",
		    "trusted_networks += {\"10.0.0.0/8\"}\n",
		    "127.0.0.0/8 ::1/128 10.0.0.0/8" },
		{ "empty list", "trusted_networks = {}\n", "" },
		{ "later line wins",
		    "trusted_networks = {10.0.0.0/8}\ntrusted_networks = "
		    "{192.0.2.0/24}\n",
		    "192.0.2.0/24" },
		{ "mapped range folds to v4",
		    "trusted_networks = \"::ffff:10.0.0.0/104\"\n",
		    "10.0.0.0/8" },
	};
	struct fixture *f = *state;
	struct config *cfg;
	char got[256];
	size_t i, c, r;

	for (i = 0; i < NELEM(cases); i++) {
		cfg = load_ok(
		    cases[i].name, write_conf(f, cases[i].input), NULL, 0);
		trusted_text(cfg, got, sizeof(got));
		if (strcmp(got, cases[i].want) != 0)
			fail_msg("%s: got \"%s\", want \"%s\"", cases[i].name,
			    got, cases[i].want);
		config_free(&cfg);
	}

	cfg = load_ok("dry_run all", write_conf(f, "dry_run = all\n"), NULL, 0);
	for (c = 0; c < CHECK_COUNT; c++) {
		for (r = 0; r < VERDICT_SLOT_COUNT; r++) {
			if (!cfg->policy.rule[c][r].dry_run)
				fail_msg("dry_run all: %s %s: got live, want "
					 "dry run",
				    verdict_check_name((enum check)c),
				    result_name((enum result_code)r));
		}
	}
	config_free(&cfg);
}

/* test_good_values - edge values that must be accepted */
static void
test_good_values(void **state)
{
	static const char *const cases[] = {
		"listen = local:/var/run/s.sock\n",
		"listen = \"inet6:8891@::1\"\n",
		"listen = inet:25@mx.example.com\n",
		"listen = inet:65535@0.0.0.0\n",
		"control_mode = \"0640\"\n",
		"control_mode = 0\n",
		"control_mode = 0777\n",
		"user = \"\"\n",
		"authserv_id = mx_1.example-host.test\n",
		"dns_nameservers = {\"2001:db8::53@53\", 192.0.2.53}\n",
		"spf_helo = no\n",
		"spf_helo = on\n",
		"spf_fail = REJECT\n",
		"debug = {all, control, milter, iprev}\n",
		"dry_run = {spf_pass, spf_none, iprev_permerror}\n",
		"tag_header = \"X-!#$%&'*+-.^_`|~\"\n",
		"listen = 'unix:/run/#x//y' # '\"//\n",
		"listen = \"unix:/run/\\\"#\"\n",
		"",
		"# only a comment",
	};
	struct fixture *f = *state;
	struct config *cfg;
	size_t i;

	for (i = 0; i < NELEM(cases); i++) {
		cfg = load_ok(cases[i], write_conf(f, cases[i]), NULL, 0);
		config_free(&cfg);
	}
}

/* test_range_errors - every integer option, below and above its range */
static void
test_range_errors(void **state)
{
	struct fixture *f = *state;
	const struct config_option *o;
	char text[256], want[256], what[128];
	size_t i, below;

	for (i = 0; i < config_schema_count; i++) {
		o = &config_schema[i];
		if (o->type != CONFIG_UINT && o->type != CONFIG_MODE)
			continue;
		if (o->type == CONFIG_MODE)
			snprintf(want, sizeof(want),
			    "{F}:3: %s: must be between %#lo and %#lo", o->key,
			    o->min, o->max);
		else
			snprintf(want, sizeof(want),
			    "{F}:3: %s: must be between %ld and %ld%s%s",
			    o->key, o->min, o->max,
			    o->unit[0] != '\0' ? " " : "", o->unit);
		for (below = 0; below < 2; below++) {
			if (o->type == CONFIG_MODE)
				snprintf(text, sizeof(text),
				    "# range\n\n%s = 0%lo\n", o->key,
				    below ? 0 : (unsigned long)o->max + 1);
			else
				snprintf(text, sizeof(text),
				    "# range\n\n%s = %ld\n", o->key,
				    below ? o->min - 1 : o->max + 1);
			if (below && o->type == CONFIG_MODE)
				continue; /* 0 is a fine mode */
			snprintf(what, sizeof(what), "%s %s", o->key,
			    below ? "below" : "above");
			load_fail(what, write_conf(f, text), NULL, 0, want);
		}
	}
}

#define AUTHSERV_WHY \
	"want a domain name: letters, digits, '-', '_', '.', no empty " \
	"label, at most 253 bytes"

/* test_bad_values - each value check, with file:line: option */
static void
test_bad_values(void **state)
{
	static const struct {
		const char *name;
		const char *input;
		const char *want; /* {F} stands for the file */
	} cases[] = {
		{ "unknown option", "\nbogus = 1\n",
		    "{F}:2: bogus: unknown option" },
		{ "misspelt option", "dns_timeout_ms = 100\n",
		    "{F}:1: dns_timeout_ms: unknown option" },
		{ "bad action word", "\n\n\nspf_fail = bounce\n",
		    "{F}:4: spf_fail: \"bounce\": want accept, tag, "
		    "quarantine, "
		    "tempfail or reject" },
		{ "bad action iprev", "iprev_temperror = defer\n",
		    "{F}:1: iprev_temperror: \"defer\": want accept, tag, "
		    "quarantine, tempfail or reject" },
		{ "bad cidr host bits",
		    "trusted_networks = {\"10.0.0.0/8\",\n\"10.0.0.1/8\"}\n",
		    "{F}:2: trusted_networks: 10.0.0.1/8: host bits set" },
		{ "bad cidr prefix", "trusted_networks = 10.0.0.0/33\n",
		    "{F}:1: trusted_networks: 10.0.0.0/33: prefix length must "
		    "be 0 to 32" },
		{ "bad cidr name", "trusted_networks = localhost\n",
		    "{F}:1: trusted_networks: localhost: not an IP address" },
		{ "bad nameserver name", "dns_nameservers = ns.example.com\n",
		    "{F}:1: dns_nameservers: \"ns.example.com\": want an IP "
		    "address, optionally @PORT (192.0.2.53, "
		    "2001:db8::53@5353)" },
		{ "bad nameserver port", "dns_nameservers = {\"::1@0\"}\n",
		    "{F}:1: dns_nameservers: \"::1@0\": port must be a number "
		    "from 1 to 65535" },
		{ "bad nameserver port text", "dns_nameservers = 1.2.3.4@dns\n",
		    "{F}:1: dns_nameservers: \"1.2.3.4@dns\": port must be a "
		    "number from 1 to 65535" },
		{ "bad nameserver empty", "dns_nameservers = \"\"\n",
		    "{F}:1: dns_nameservers: \"\": want an IP address, "
		    "optionally @PORT (192.0.2.53, 2001:db8::53@5353)" },
		{ "listen no scheme", "listen = 8891\n",
		    "{F}:1: listen: \"8891\": want unix:/path, local:/path, "
		    "inet:PORT@HOST or inet6:PORT@HOST" },
		{ "listen no host", "listen = inet:8891\n",
		    "{F}:1: listen: \"inet:8891\": want PORT@HOST after "
		    "inet:" },
		{ "listen bad port", "listen = inet:88a@127.0.0.1\n",
		    "{F}:1: listen: \"inet:88a@127.0.0.1\": port must be a "
		    "number from 1 to 65535" },
		{ "listen port 0", "listen = inet:0@127.0.0.1\n",
		    "{F}:1: listen: \"inet:0@127.0.0.1\": port must be a "
		    "number from 1 to 65535" },
		{ "listen v6 on inet", "listen = \"inet:25@::1\"\n",
		    "{F}:1: listen: \"inet:25@::1\": IPv6 address after "
		    "inet:" },
		{ "listen relative", "listen = unix:run/s.sock\n",
		    "{F}:1: listen: \"run/s.sock\": must be an absolute path" },
		{ "listen bad host", "listen = \"inet:25@a..b\"\n",
		    "{F}:1: listen: \"inet:25@a..b\": \"a..b\" is neither an "
		    "address nor a host name" },
		{ "control socket relative", "control_socket = ctl.sock\n",
		    "{F}:1: control_socket: \"ctl.sock\": must be an absolute "
		    "path" },
		{ "pidfile relative", "pidfile = s.pid\n",
		    "{F}:1: pidfile: \"s.pid\": must be an absolute path" },
		{ "user with space", "user = \"mail user\"\n",
		    "{F}:1: user: \"mail user\": not a user name" },
		{ "control mode not octal", "control_mode = 0689\n",
		    "{F}:1: control_mode: \"0689\": want an octal mode such as "
		    "0660" },
		{ "number with unit", "dns_timeout = 2s\n",
		    "{F}:1: dns_timeout: \"2s\": want a whole number" },
		{ "number empty", "dns_retries = \"\"\n",
		    "{F}:1: dns_retries: \"\": want a whole number" },
		{ "number hex", "dns_workers = 0x10\n",
		    "{F}:1: dns_workers: \"0x10\": want a whole number" },
		{ "number huge", "dns_cache_size = 99999999999999999999999\n",
		    "{F}:1: dns_cache_size: must be between 0 and 10000000 "
		    "entries" },
		{ "bad bool", "spf_helo = maybe\n",
		    "{F}:1: spf_helo: \"maybe\": want true or false" },
		{ "authserv_id semicolon", "authserv_id = \"mx;x\"\n",
		    "{F}:1: authserv_id: \"mx;x\": " AUTHSERV_WHY },
		{ "authserv_id quote", "authserv_id = 'mx\"x'\n",
		    "{F}:1: authserv_id: \"mx\"x\": " AUTHSERV_WHY },
		{ "authserv_id space", "authserv_id = \"mx x\"\n",
		    "{F}:1: authserv_id: \"mx x\": " AUTHSERV_WHY },
		{ "control byte", "authserv_id = \"mx\\001\"\n",
		    "{F}:1: authserv_id: control characters are not allowed" },
		{ "tag header colon", "tag_header = \"X-Tag:\"\n",
		    "{F}:1: tag_header: \"X-Tag:\": header names are printable "
		    "ASCII without spaces or ':'" },
		{ "tag header empty", "tag_header = \"\"\n",
		    "{F}:1: tag_header: empty header name" },
		{ "tag header a-r", "tag_header = authentication-results\n",
		    "{F}:1: tag_header: must not be Authentication-Results" },
		{ "debug name", "debug = {dns, arc}\n",
		    "{F}:1: debug: \"arc\": want dns, spf, iprev, dkim, dmarc, "
		    "milter, control or all" },
		{ "dry_run name", "dry_run = spf\n",
		    "{F}:1: dry_run: \"spf\": want a rule name such as "
		    "spf_fail, or all" },
		{ "syntax missing =", "dns_timeout 100\n",
		    "{F}:1: missing equal sign after option 'dns_timeout'" },
		{ "syntax stray brace", "}\n",
		    "{F}:1: unexpected closing brace" },
		{ "append to scalar", "dns_timeout += 100\n",
		    "{F}:1: attempt to append to non-list option "
		    "'dns_timeout'" },
		{ "unterminated list", "debug = {dns,\n",
		    "{F}:2: premature end of file" },
		{ "first error wins", "a = 1\nb = 2\n",
		    "{F}:1: a: unknown option" },
		{ "line after comments",
		    "# one\n## two\n// three\n/* four\n five */ /* 5 "
		    "*/\nlisten = \"unix:/x\" # six\ndns_timeout = 1\n",
		    "{F}:7: dns_timeout: must be between 100 and 60000 ms" },
		{ "line after multi-line string", "user = \"a\nb\"\n",
		    "{F}:2: user: control characters are not allowed" },
		{ "line after continued string",
		    "listen = \"unix:/a\\\n/b\"\ndns_retries = 9\n",
		    "{F}:3: dns_retries: must be between 0 and 5" },
		{ "unterminated comment", "\n/* no end\n",
		    "{F}:2: unterminated comment or string" },
		{ "unterminated string", "listen = 'inet:1@h\n",
		    "{F}:1: unterminated comment or string" },
	};
	struct fixture *f = *state;
	size_t i;

	for (i = 0; i < NELEM(cases); i++)
		load_fail(cases[i].name, write_conf(f, cases[i].input), NULL, 0,
		    cases[i].want);
}

/* test_file_errors - files that cannot be read */
static void
test_file_errors(void **state)
{
	struct fixture *f = *state;
	char path[300];

	snprintf(path, sizeof(path), "%s/missing.conf", f->dir);
	load_fail("missing", path, NULL, 0, "{F}: No such file or directory");
	load_fail("directory", f->dir, NULL, 0, "{F}: not a regular file");
	if (geteuid() != 0) {
		write_conf(f, "dns_timeout = 100\n");
		chmod(f->path, 0);
		load_fail(
		    "unreadable", f->path, NULL, 0, "{F}: Permission denied");
	}
}

/* test_overrides - -o name=value after the file */
static void
test_overrides(void **state)
{
	static const struct {
		const char *name;
		const char *input; /* one override */
		const char *want;  /* error, or NULL for success */
	} cases[] = {
		{ "unknown", "bogus=1", "-o bogus: unknown option" },
		{ "no equal sign", "dns_timeout",
		    "-o dns_timeout: want name=value" },
		{ "bad range", "dns_timeout=5",
		    "-o dns_timeout: must be between 100 and 60000 ms" },
		{ "bad number", "dns_retries=x",
		    "-o dns_retries: \"x\": want a whole number" },
		{ "bad action", "spf_fail=drop",
		    "-o spf_fail: \"drop\": want accept, tag, quarantine, "
		    "tempfail or reject" },
		{ "bad bool", "spf_helo=2",
		    "-o spf_helo: \"2\": want true or false" },
		{ "bad cidr in list",
		    "trusted_networks={10.0.0.0/8, 10.0.0.1/8}",
		    "-o trusted_networks: 10.0.0.1/8: host bits set" },
		{ "bad nameserver", "dns_nameservers=ns1",
		    "-o dns_nameservers: \"ns1\": want an IP address, "
		    "optionally @PORT (192.0.2.53, 2001:db8::53@5353)" },
		{ "unclosed brace", "debug={dns", "-o debug: missing '}'" },
		{ "control byte", "tag_header=X-\001",
		    "-o tag_header: control characters are not allowed" },
	};
	struct fixture *f = *state;
	struct config *cfg;
	const char *path;
	char *ov[8];
	size_t i;

	path = write_conf(f, "dns_timeout = 3000\ndebug = {dns}\n");
	for (i = 0; i < NELEM(cases); i++) {
		ov[0] = (char *)(uintptr_t)cases[i].input;
		load_fail(cases[i].name, path, ov, 1, cases[i].want);
		load_fail(cases[i].name, NULL, ov, 1, cases[i].want);
	}

	/* Good ones: they beat the file, later ones beat earlier ones. */
	ov[0] = "dns_timeout=4000";
	ov[1] = " dns_retries = 2 ";
	ov[2] = "debug={spf, 'iprev'}";
	ov[3] = "trusted_networks=192.0.2.0/24";
	ov[4] = "tag_header=\"X-Checked\"";
	ov[5] = "spf_fail=reject";
	ov[6] = "dry_run=spf_fail";
	ov[7] = "dns_timeout=5000";
	cfg = load_ok("overrides", path, ov, 8);
	assert_int_equal(cfg->dns_timeout_ms, 5000);
	assert_int_equal(cfg->dns_retries, 2);
	assert_int_equal(cfg->debug_count, 2);
	assert_string_equal(cfg->debug[0], "spf");
	assert_string_equal(cfg->debug[1], "iprev");
	assert_int_equal(cidr_set_count(cfg->trusted), 1);
	assert_string_equal(cfg->tag_header, "X-Checked");
	assert_int_equal(
	    cfg->policy.rule[CHECK_SPF][RESULT_FAIL].action, ACTION_REJECT);
	assert_true(cfg->policy.rule[CHECK_SPF][RESULT_FAIL].dry_run);
	config_free(&cfg);

	ov[0] = "debug={}";
	ov[1] = "trusted_networks = { }";
	cfg = load_ok("empty lists", path, ov, 2);
	assert_int_equal(cfg->debug_count, 0);
	assert_int_equal(cidr_set_count(cfg->trusted), 0);
	config_free(&cfg);
}

/* dump_to - dump a config into a new file, return its path */
static const char *
dump_to(struct fixture *f, const struct config *cfg)
{
	FILE *fp;

	snprintf(f->path, sizeof(f->path), "%s/%d.conf", f->dir, f->serial++);
	fp = fopen(f->path, "w");
	assert_non_null(fp);
	assert_int_equal(config_dump(cfg, fp), 0);
	assert_int_equal(fclose(fp), 0);
	return f->path;
}

/* read_all - a file's text, without its first line (it names the file) */
static char *
read_all(const char *path)
{
	FILE *fp = fopen(path, "r");
	char *buf, *nl;
	long n;

	assert_non_null(fp);
	assert_int_equal(fseek(fp, 0, SEEK_END), 0);
	n = ftell(fp);
	rewind(fp);
	buf = calloc(1, (size_t)n + 1);
	assert_non_null(buf);
	assert_int_equal(fread(buf, 1, (size_t)n, fp), (size_t)n);
	fclose(fp);
	nl = strchr(buf, '\n');
	assert_non_null(nl);
	memmove(buf, nl + 1, strlen(nl + 1) + 1);
	return buf;
}

/* test_dump_reload - a dump loads back to equal values and equal dump */
static void
test_dump_reload(void **state)
{
	static const char *const cases[] = {
		NULL,
		full_conf,
		"dry_run = all\ntag_header = \"X-It's\"\n",
		"user = \"\"\ncontrol_mode = 0\ndns_nameservers = "
		"{\"::1@53\"}\n",
		"authserv_id = \"a.b\"\n",
	};
	struct fixture *f = *state;
	struct config *a, *b;
	char *ta, *tb, what[32];
	const char *d1, *d2;
	size_t i;
	const struct config_option *o;
	char key[64];

	for (i = 0; i < NELEM(cases); i++) {
		snprintf(what, sizeof(what), "dump case %zu", i);
		a = load_ok(
		    what, cases[i] ? write_conf(f, cases[i]) : NULL, NULL, 0);
		d1 = dump_to(f, a);
		ta = read_all(d1);
		b = load_ok(what, d1, NULL, 0);
		assert_same_config(what, a, b);
		d2 = dump_to(f, b);
		tb = read_all(d2);
		if (strcmp(ta, tb) != 0)
			fail_msg("%s: second dump differs:\n%s\n---\n%s", what,
			    ta, tb);
		/* Every option is in the dump, with its doc. */
		for (o = config_schema; o < config_schema + config_schema_count;
		     o++) {
			snprintf(key, sizeof(key), "\n%s = ", o->key);
			if (strstr(ta, key) == NULL ||
			    strstr(ta, o->doc) == NULL)
				fail_msg("%s: %s or its doc missing in dump",
				    what, o->key);
		}
		free(ta);
		free(tb);
		config_free(&a);
		config_free(&b);
	}
}

/* test_same_dns - config_same_dns sees each DNS option */
static void
test_same_dns(void **state)
{
	static const char *const changes[] = {
		"dns_nameservers=127.0.0.1",
		"dns_timeout=1000",
		"dns_retries=2",
		"dns_cache_size=5",
		"dns_cache_max_ttl=60",
		"dns_workers=4",
		"dns_budget=1000",
		"dns_max_answer_records=10",
	};
	struct config *a, *b;
	char *ov[1];
	size_t i;

	(void)state;
	a = load_ok("base", NULL, NULL, 0);
	ov[0] = "spf_fail=reject";
	b = load_ok("non-dns change", NULL, ov, 1);
	if (!config_same_dns(a, b))
		fail_msg("spf_fail change: got different DNS, want same");
	config_free(&b);
	for (i = 0; i < NELEM(changes); i++) {
		ov[0] = (char *)(uintptr_t)changes[i];
		b = load_ok(changes[i], NULL, ov, 1);
		if (config_same_dns(a, b))
			fail_msg(
			    "%s: got same DNS, want different", changes[i]);
		config_free(&b);
	}
	config_free(&a);
}

/* src_path - a path in the source tree, from this file's name */
static void
src_path(char *buf, size_t size, const char *rel)
{
	const char *me = __FILE__, *cut = strstr(me, "tests/unit/");

	snprintf(buf, size, "%.*s%s", cut ? (int)(cut - me) : 0, me, rel);
}

/* test_sample - contrib/sakimori.conf: every option, defaults, docs */
static void
test_sample(void **state)
{
	struct config *defaults, *sample;
	char path[512], key[64];
	const struct config_option *o;
	char *text;

	(void)state;
	src_path(path, sizeof(path), "contrib/sakimori.conf");
	defaults = load_ok("defaults", NULL, NULL, 0);
	sample = load_ok(path, path, NULL, 0);
	assert_same_config(
	    "contrib/sakimori.conf vs defaults", defaults, sample);
	text = read_all(path);
	for (o = config_schema; o < config_schema + config_schema_count; o++) {
		snprintf(key, sizeof(key), "\n%s = ", o->key);
		if (strstr(text, key) == NULL)
			fail_msg("%s: no \"%s = \" line", path, o->key);
		if (strstr(text, o->doc) == NULL)
			fail_msg(
			    "%s: %s: doc \"%s\" missing", path, o->key, o->doc);
	}
	free(text);
	config_free(&defaults);
	config_free(&sample);
}

/* test_markdown - the README table has a row per option */
static void
test_markdown(void **state)
{
	const struct config_option *o;
	char *buf = NULL, row[96];
	size_t len = 0;
	FILE *fp;

	(void)state;
	fp = open_memstream(&buf, &len);
	assert_non_null(fp);
	assert_int_equal(config_schema_markdown(fp), 0);
	fclose(fp);
	for (o = config_schema; o < config_schema + config_schema_count; o++) {
		snprintf(row, sizeof(row), "\n| `%s` |", o->key);
		if (strstr(buf, row) == NULL)
			fail_msg("no README row for %s", o->key);
		assert_non_null(config_schema_find(o->key));
	}
	assert_null(config_schema_find("nope"));
	free(buf);
}

/* main - run the tests */
/* test_dnsbl - dnsbl sections: values, defaults, errors, dump round trip */
static void
test_dnsbl(void **state)
{
	struct fixture *f = *state;
	static const struct {
		const char *name; /* case */
		const char *text; /* file */
		const char *want; /* error; {F} is the file */
	} bad[] = {
		{ "bad check", "dnsbl \"bl.test\" {\n check = nope\n}\n",
		    "{F}:2: check: \"nope\": want client_ip, helo, mail_from, "
		    "from or iprev" },
		{ "bad timeout", "\ndnsbl \"bl.test\" {\n timeout = 5\n}\n",
		    "{F}:3: timeout: \"5\": must be between 100 and 60000 ms" },
		{ "bad action",
		    "dnsbl \"bl.test\" {\n code \"127.0.0.2\" {\n"
		    "  action = bounce\n }\n}\n",
		    "{F}:3: action: \"bounce\": want accept, tag, quarantine, "
		    "tempfail or reject" },
		{ "bad code",
		    "dnsbl \"bl.test\" {\n code \"10.0.0.2\" {\n"
		    " }\n}\n",
		    "{F}: dnsbl: \"bl.test\" (line 4): 10.0.0.2: outside "
		    "127.0.0.0/8 (RFC 5782 2.3: answers are 127/8)" },
		{ "bad zone", "dnsbl \"not a zone\" {\n}\n",
		    "{F}: dnsbl: \"not a zone\" (line 2): not a DNS zone" },
		{ "bad refused",
		    "dnsbl \"bl.test\" {\n refused = "
		    "{\"127.0.0.9-127.0.0.1\"}\n"
		    "}\n",
		    "{F}:2: refused: 127.0.0.9-127.0.0.1: range start above "
		    "its "
		    "end" },
	};
	const struct dnsbl_map_row *row;
	struct config *cfg, *again;
	char dump[16384], path2[600];
	FILE *fp;
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		load_fail(bad[i].name, write_conf(f, bad[i].text), NULL, 0,
		    bad[i].want);
	cfg = load_ok("dnsbl",
	    write_conf(f,
		"dnsbl \"bl.test\" {\n check = client_ip\n timeout = 1500\n"
		" code \"127.0.0.2\" { meaning = \"spam\" action = reject }\n"
		" code \"&4\" { meaning = \"bit\" action = tag score = 3 }\n"
		"}\n"
		"dnsbl \"dbl.test\" {\n check = from\n txt = false\n}\n"),
	    NULL, 0);
	assert_int_equal(cfg->dnsbl_count, 2);
	assert_string_equal(cfg->dnsbl[0].zone, "bl.test");
	assert_int_equal(cfg->dnsbl[0].subject, DNSBL_CLIENT_IP);
	assert_int_equal(cfg->dnsbl[0].timeout_ms, 1500);
	assert_int_equal(dnsbl_map_count(cfg->dnsbl[0].map), 2);
	row = dnsbl_map_match(cfg->dnsbl[0].map, 0x7f000002);
	assert_non_null(row);
	assert_string_equal(row->meaning, "spam");
	assert_int_equal(row->action, ACTION_REJECT);
	row = dnsbl_map_match(cfg->dnsbl[0].map, 0x7f000004);
	assert_non_null(row);
	assert_int_equal(row->score, 3);
	/* No code section: any 127/8 answer lists, with a tag. */
	assert_int_equal(cfg->dnsbl[1].subject, DNSBL_FROM);
	assert_false(cfg->dnsbl[1].txt);
	row = dnsbl_map_match(cfg->dnsbl[1].map, 0x7f000063);
	assert_non_null(row);
	assert_int_equal(row->action, ACTION_TAG);
	/* The dump loads back to the same zones. */
	fp = fmemopen(dump, sizeof(dump), "w");
	assert_non_null(fp);
	assert_int_equal(config_dump(cfg, fp), 0);
	fclose(fp);
	snprintf(path2, sizeof(path2), "%s", write_conf(f, dump));
	again = load_ok("dnsbl dump", path2, NULL, 0);
	assert_int_equal(again->dnsbl_count, 2);
	assert_string_equal(again->dnsbl[1].zone, "dbl.test");
	assert_int_equal(dnsbl_map_count(again->dnsbl[0].map), 2);
	assert_int_equal(again->dnsbl[0].timeout_ms, 1500);
	config_free(&again);
	config_free(&cfg);
}

/* test_lists - list sections: compiled at load, errors, dump round trip */
static void
test_lists_sections(void **state)
{
	struct fixture *f = *state;
	char listfile[600], conf[1400], dump[16384], path2[600];
	struct config *cfg, *again;
	struct list_hit hit;
	struct cidr_addr a;
	FILE *fp;

	snprintf(listfile, sizeof(listfile), "%s/blocked.list", f->dir);
	fp = fopen(listfile, "w");
	assert_non_null(fp);
	fputs("# test\n192.0.2.50 infected\n198.51.100.0/24\n", fp);
	fclose(fp);
	snprintf(conf, sizeof(conf),
	    "list \"blocked\" {\n kind = ip\n file = \"%s\"\n"
	    " fields = {client_ip}\n action = reject\n}\n",
	    listfile);
	cfg = load_ok("list", write_conf(f, conf), NULL, 0);
	assert_int_equal(cfg->list_count, 1);
	assert_string_equal(cfg->lists[0].name, "blocked");
	assert_int_equal(cfg->lists[0].action, ACTION_REJECT);
	assert_int_equal(cfg->lists[0].fields, CONFIG_FIELD_CLIENT_IP);
	assert_int_equal(cidr_addr_parse("198.51.100.7", &a), 0);
	assert_int_equal(list_match_ip(cfg->lists[0].snap, &a, 0, &hit), 1);
	fp = fmemopen(dump, sizeof(dump), "w");
	assert_non_null(fp);
	assert_int_equal(config_dump(cfg, fp), 0);
	fclose(fp);
	snprintf(path2, sizeof(path2), "%s", write_conf(f, dump));
	again = load_ok("list dump", path2, NULL, 0);
	assert_int_equal(again->list_count, 1);
	assert_int_equal(again->lists[0].kind, LIST_KIND_IP);
	config_free(&again);
	config_free(&cfg);
	/* Errors: the field a kind cannot use, a bad kind, a bad line. */
	snprintf(conf, sizeof(conf),
	    "list \"x\" {\n kind = ip\n file = \"%s\"\n fields = {helo}\n"
	    "}\n",
	    listfile);
	load_fail("ip list on helo", write_conf(f, conf), NULL, 0,
	    "{F}: list: \"x\" (line 5): an ip list applies to client_ip "
	    "only");
	load_fail("bad kind", write_conf(f, "list \"x\" {\n kind = cidr\n}\n"),
	    NULL, 0,
	    "{F}:2: kind: \"cidr\": want ip, domain, address or pattern");
	fp = fopen(listfile, "w");
	assert_non_null(fp);
	fputs("192.0.2.50\n10.0.0.1/8\n", fp);
	fclose(fp);
	snprintf(conf, sizeof(conf),
	    "list \"blocked\" {\n kind = ip\n file = \"%s\"\n"
	    " fields = {client_ip}\n}\n",
	    listfile);
	load_fail("bad list line", write_conf(f, conf), NULL, 0,
	    "{F}: list: \"blocked\" (line 5): blocked:2: host bits set in "
	    "\"10.0.0.1/8\"");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_dnsbl),
		cmocka_unit_test(test_lists_sections),
		cmocka_unit_test(test_full),
		cmocka_unit_test(test_lists),
		cmocka_unit_test(test_good_values),
		cmocka_unit_test(test_range_errors),
		cmocka_unit_test(test_bad_values),
		cmocka_unit_test(test_file_errors),
		cmocka_unit_test(test_overrides),
		cmocka_unit_test(test_dump_reload),
		cmocka_unit_test(test_same_dns),
		cmocka_unit_test(test_sample),
		cmocka_unit_test(test_markdown),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
