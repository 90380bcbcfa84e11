/*
 * NAME
 *	config_schema - the one table of configuration options
 * SUMMARY
 *	The table, the value checks it names, and the README table.
 * DESCRIPTION
 *	See config_schema.h. A value check sees one value (one element of a
 *	list) and says why it is wrong; config.c adds file, line and key.
 *	Integer ranges are checked by config.c from min and max.
 * THREADS
 *	Constant data and pure functions; any thread.
 * OWNERSHIP
 *	Everything here is static.
 */
#include <sys/socket.h>
#include <sys/un.h>

#include <arpa/inet.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "lists/cidr.h"
#include "policy/config.h"
#include "policy/config_schema.h"

/* RFC 1035 2.3.4: names are at most 255 octets (253 as text). */
#define SCHEMA_NAME_MAX 253

/* Header field names: we also keep them short enough to log. */
#define SCHEMA_HEADER_MAX 64

/* schema_why - set the reason and return -1 */
static int __attribute__((format(printf, 3, 4)))
schema_why(char *why, size_t size, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, size, fmt, ap);
	va_end(ap);
	return -1;
}

/* schema_printable - only printable ASCII (and spaces if allowed)? */
static int
schema_printable(const char *value, int allow_space)
{
	const unsigned char *p;

	for (p = (const unsigned char *)value; *p != '\0'; p++) {
		if (*p < 0x20 || *p >= 0x7f || (*p == ' ' && !allow_space))
			return 0;
	}
	return 1;
}

/* schema_hostname_ok - a host name or dotted token: letters, digits, -._ */
static int
schema_hostname_ok(const char *name)
{
	size_t len = strlen(name), i, label = 0;

	if (len == 0 || len > SCHEMA_NAME_MAX)
		return 0;
	for (i = 0; i < len; i++) {
		char c = name[i];

		if (c == '.') {
			if (label == 0)
				return 0; /* empty label */
			label = 0;
			continue;
		}
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
			(c >= '0' && c <= '9') || c == '-' || c == '_'))
			return 0;
		if (++label > 63)
			return 0; /* RFC 1035 2.3.4: labels of 63 octets */
	}
	return 1;
}

/* schema_port - parse a decimal port 1..65535 */
static int
schema_port(const char *text, unsigned *port_r)
{
	unsigned long v;
	char *end;

	if (text[0] < '0' || text[0] > '9' || strlen(text) > 5)
		return -1;
	v = strtoul(text, &end, 10);
	if (*end != '\0' || v < 1 || v > 65535)
		return -1;
	*port_r = (unsigned)v;
	return 0;
}

/* schema_check_socket_path - an absolute path that fits sun_path */
static int
schema_check_socket_path(const char *path, char *why, size_t size)
{
	struct sockaddr_un sun;

	if (path[0] != '/')
		return schema_why(
		    why, size, "\"%s\": must be an absolute path", path);
	if (strlen(path) >= sizeof(sun.sun_path))
		return schema_why(why, size,
		    "\"%.40s...\": longer than %zu bytes", path,
		    sizeof(sun.sun_path) - 1);
	if (!schema_printable(path, 0))
		return schema_why(
		    why, size, "path holds spaces or control characters");
	return 0;
}

/* schema_check_listen - unix:/path, local:/path, inet:PORT@HOST, inet6: */
static int
schema_check_listen(const char *value, char *why, size_t size)
{
	char port[8], addr[16];
	const char *rest, *at;
	unsigned p;
	int v6;

	if (strncmp(value, "unix:", 5) == 0 || strncmp(value, "local:", 6) == 0)
		return schema_check_socket_path(
		    strchr(value, ':') + 1, why, size);
	if (strncmp(value, "inet:", 5) == 0) {
		rest = value + 5;
		v6 = 0;
	} else if (strncmp(value, "inet6:", 6) == 0) {
		rest = value + 6;
		v6 = 1;
	} else {
		return schema_why(why, size,
		    "\"%s\": want unix:/path, local:/path, inet:PORT@HOST "
		    "or inet6:PORT@HOST",
		    value);
	}
	at = strchr(rest, '@');
	if (at == NULL || at == rest || (size_t)(at - rest) >= sizeof(port))
		return schema_why(why, size, "\"%s\": want PORT@HOST after %s",
		    value, v6 ? "inet6:" : "inet:");
	memcpy(port, rest, (size_t)(at - rest));
	port[at - rest] = '\0';
	if (schema_port(port, &p) < 0)
		return schema_why(why, size,
		    "\"%s\": port must be a number from 1 to 65535", value);
	at++;
	if (inet_pton(v6 ? AF_INET6 : AF_INET, at, addr) == 1)
		return 0;
	if (inet_pton(v6 ? AF_INET : AF_INET6, at, addr) == 1)
		return schema_why(why, size, "\"%s\": %s address after %s",
		    value, v6 ? "IPv4" : "IPv6", v6 ? "inet6:" : "inet:");
	if (!schema_hostname_ok(at))
		return schema_why(why, size,
		    "\"%s\": \"%s\" is neither an address nor a host name",
		    value, at);
	return 0;
}

/* schema_check_user - empty, or a plausible user name */
static int
schema_check_user(const char *value, char *why, size_t size)
{
	const char *p;

	if (value[0] == '-')
		return schema_why(why, size, "\"%s\": not a user name", value);
	for (p = value; *p != '\0'; p++) {
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
			(*p >= '0' && *p <= '9') || *p == '-' || *p == '_' ||
			*p == '.'))
			return schema_why(
			    why, size, "\"%s\": not a user name", value);
	}
	if (p - value > 32)
		return schema_why(
		    why, size, "\"%s\": longer than 32 bytes", value);
	return 0;
}

/* schema_check_pidfile - empty, or an absolute path */
static int
schema_check_pidfile(const char *value, char *why, size_t size)
{
	if (value[0] == '\0')
		return 0;
	if (value[0] != '/')
		return schema_why(
		    why, size, "\"%s\": must be an absolute path", value);
	if (!schema_printable(value, 0))
		return schema_why(
		    why, size, "path holds spaces or control characters");
	return 0;
}

/* schema_check_redis - empty, or HOST:PORT */
static int
schema_check_redis(const char *value, char *why, size_t size)
{
	const char *colon = strrchr(value, ':');
	char *end;
	long port;

	if (value[0] == '\0')
		return 0;
	if (colon == NULL || colon == value || !schema_printable(value, 0))
		return schema_why(why, size, "\"%s\": want HOST:PORT", value);
	port = strtol(colon + 1, &end, 10);
	if (*end != '\0' || port < 1 || port > 65535)
		return schema_why(
		    why, size, "\"%s\": port must be 1..65535", value);
	return 0;
}

/* schema_check_redis_prefix - printable, no spaces, at most 64 bytes */
static int
schema_check_redis_prefix(const char *value, char *why, size_t size)
{
	if (strlen(value) > 64 || !schema_printable(value, 0))
		return schema_why(
		    why, size, "want up to 64 printable bytes without spaces");
	return 0;
}

/* schema_word - value is one of the words in list */
static int
schema_word(const char *value, const char *const *list, char *why, size_t size)
{
	size_t i;

	for (i = 0; list[i] != NULL; i++)
		if (strcmp(value, list[i]) == 0)
			return 0;
	return schema_why(why, size, "\"%s\": want %s%s%s%s%s", value, list[0],
	    list[1] != NULL ? ", " : "", list[1] != NULL ? list[1] : "",
	    list[2] != NULL ? " or " : "", list[2] != NULL ? list[2] : "");
}

/* schema_check_limit_store - lmdb or redis */
static int
schema_check_limit_store(const char *value, char *why, size_t size)
{
	static const char *const words[] = { "lmdb", "redis", NULL };

	return schema_word(value, words, why, size);
}

/* schema_check_limit_fallback - none, sender or client_ip */
static int
schema_check_limit_fallback(const char *value, char *why, size_t size)
{
	static const char *const words[] = { "none", "sender", "client_ip",
		NULL };

	return schema_word(value, words, why, size);
}

/* schema_check_limit_fail_mode - local, accept or tempfail */
static int
schema_check_limit_fail_mode(const char *value, char *why, size_t size)
{
	static const char *const words[] = { "local", "accept", "tempfail",
		NULL };

	return schema_word(value, words, why, size);
}

/* schema_check_state_dir - an absolute path */
static int
schema_check_state_dir(const char *value, char *why, size_t size)
{
	if (value[0] == '\0')
		return schema_why(why, size, "must be set");
	return schema_check_pidfile(value, why, size);
}

/*
 * schema_check_authserv_id - a valid RFC 8601 authserv-id
 *	RFC 8601 2.5: authserv-id is a value (token or quoted-string) and
 *	SHOULD be a domain name. We take domain-like tokens only: no spaces,
 *	';', quotes or control bytes, so it never needs quoting.
 */
static int
schema_check_authserv_id(const char *value, char *why, size_t size)
{
	if (value[0] == '\0')
		return 0; /* the host name, filled in by config_load */
	if (!schema_hostname_ok(value))
		return schema_why(why, size,
		    "\"%s\": want a domain name: letters, digits, '-', '_', "
		    "'.', no empty label, at most %d bytes",
		    value, SCHEMA_NAME_MAX);
	return 0;
}

/* schema_check_cidr - an address or CIDR range */
static int
schema_check_cidr(const char *value, char *why, size_t size)
{
	struct cidr_set *set;
	char *error = NULL;
	int ret;

	if ((set = cidr_set_create()) == NULL)
		return schema_why(why, size, "out of memory");
	ret = cidr_set_add(set, value, &error);
	if (ret < 0)
		schema_why(why, size, "%s", error ? error : "out of memory");
	free(error);
	cidr_set_free(&set);
	return ret;
}

/* schema_check_nameserver - "ADDR" or "ADDR@PORT" */
static int
schema_check_nameserver(const char *value, char *why, size_t size)
{
	char host[INET6_ADDRSTRLEN], addr[16];
	const char *at = strrchr(value, '@');
	size_t len = at != NULL ? (size_t)(at - value) : strlen(value);
	unsigned port;

	if (len == 0 || len >= sizeof(host))
		goto bad;
	memcpy(host, value, len);
	host[len] = '\0';
	if (inet_pton(AF_INET, host, addr) != 1 &&
	    inet_pton(AF_INET6, host, addr) != 1)
		goto bad;
	if (at != NULL && schema_port(at + 1, &port) < 0)
		return schema_why(why, size,
		    "\"%s\": port must be a number from 1 to 65535", value);
	return 0;
bad:
	return schema_why(why, size,
	    "\"%s\": want an IP address, optionally @PORT "
	    "(192.0.2.53, 2001:db8::53@5353)",
	    value);
}

/* schema_check_header - RFC 5322 3.6.8 field name: printable, no ':' */
static int
schema_check_header(const char *value, char *why, size_t size)
{
	const unsigned char *p;

	if (value[0] == '\0')
		return schema_why(why, size, "empty header name");
	if (strlen(value) > SCHEMA_HEADER_MAX)
		return schema_why(
		    why, size, "longer than %d bytes", SCHEMA_HEADER_MAX);
	/* ftext = %d33-57 / %d59-126 */
	for (p = (const unsigned char *)value; *p != '\0'; p++) {
		if (*p < 33 || *p > 126 || *p == ':')
			return schema_why(why, size,
			    "\"%s\": header names are printable ASCII "
			    "without spaces or ':'",
			    value);
	}
	/* We delete forged ones: a tag by that name would vanish. */
	if (strcasecmp(value, "Authentication-Results") == 0)
		return schema_why(
		    why, size, "must not be Authentication-Results");
	return 0;
}

/* schema_check_debug - a debug subsystem name */
static int
schema_check_debug(const char *value, char *why, size_t size)
{
	static const char *const names[] = { "dns", "spf", "iprev", "dkim",
		"dmarc", "milter", "control", "all" };
	size_t i;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (strcmp(value, names[i]) == 0)
			return 0;
	}
	return schema_why(why, size,
	    "\"%s\": want dns, spf, iprev, dkim, dmarc, milter, control or "
	    "all",
	    value);
}

/* schema_check_action - accept, tag, quarantine, tempfail or reject */
static int
schema_check_action(const char *value, char *why, size_t size)
{
	enum action action;

	if (verdict_action_parse(value, &action) < 0)
		return schema_why(why, size,
		    "\"%s\": want accept, tag, quarantine, tempfail or reject",
		    value);
	return 0;
}

/* schema_check_rule - a rule name for dry_run, or "all" */
static int
schema_check_rule(const char *value, char *why, size_t size)
{
	size_t i;

	if (strcmp(value, "all") == 0)
		return 0;
	for (i = 0; i < config_schema_count; i++) {
		if (config_schema[i].type == CONFIG_ACTION &&
		    strcmp(value, config_schema[i].key) == 0)
			return 0;
	}
	return schema_why(why, size,
	    "\"%s\": want a rule name such as spf_fail, or all", value);
}

#define OFF(field) ((long)offsetof(struct config, field))

#define ACTION(key, def, chk, res, doc) \
	{ \
		key, CONFIG_ACTION, def, 0, 0, "", true, doc, \
		    schema_check_action, -1, chk, res \
	}

/* The order here is the order of the dump and of the sample config. */
const struct config_option config_schema[] = {
	{ "listen", CONFIG_STRING, "inet:8891@127.0.0.1", 0, 0, "", false,
	    "milter socket: unix:/path, local:/path, inet:PORT@HOST, "
	    "inet6:PORT@HOST",
	    schema_check_listen, OFF(listen), 0, 0 },
	{ "user", CONFIG_STRING, "", 0, 0, "", false,
	    "user to run as after start-up; empty: stay as started",
	    schema_check_user, OFF(user), 0, 0 },
	{ "pidfile", CONFIG_STRING, "", 0, 0, "", false,
	    "file to write the process id to; empty: none",
	    schema_check_pidfile, OFF(pidfile), 0, 0 },
	{ "control_socket", CONFIG_STRING, "/run/sakimori/control.sock", 0, 0,
	    "", false, "Unix socket that sakimori-ctl talks to",
	    schema_check_socket_path, OFF(control_socket), 0, 0 },
	{ "control_mode", CONFIG_MODE, "0660", 0, 0777, "", false,
	    "file mode of control_socket, octal", NULL, OFF(control_mode), 0,
	    0 },
	{ "control_group", CONFIG_STRING, "", 0, 0, "", false,
	    "group owning control_socket (members may use sakimori-ctl); "
	    "empty: the group of user",
	    schema_check_user, OFF(control_group), 0, 0 },
	{ "control_listen", CONFIG_STRING, "", 0, 0, "", false,
	    "TCP listener for sakimori-ctl -t, HOST:PORT; every request "
	    "needs an HMAC of control_secret_file; empty: none",
	    schema_check_redis, OFF(control_listen), 0, 0 },
	{ "control_secret_file", CONFIG_STRING, "", 0, 0, "", false,
	    "shared secret of control_listen (mode 0600, 32 bytes or more)",
	    schema_check_pidfile, OFF(control_secret_file), 0, 0 },
	{ "control_auth_window", CONFIG_UINT, "300", 1, 3600, "seconds", false,
	    "how far the clock of a control_listen request may be off", NULL,
	    OFF(control_auth_window), 0, 0 },
	{ "state_dir", CONFIG_STRING, "/var/lib/sakimori", 0, 0, "", false,
	    "directory for pushed lists, their audit log and rate-limit "
	    "counts",
	    schema_check_state_dir, OFF(state_dir), 0, 0 },
	{ "redis_server", CONFIG_STRING, "", 0, 0, "", false,
	    "Redis of a fleet, HOST:PORT: pushed lists are shared through "
	    "it; empty: no Redis",
	    schema_check_redis, OFF(redis_server), 0, 0 },
	{ "redis_prefix", CONFIG_STRING, "sakimori:", 0, 0, "", false,
	    "prefix of the Redis keys and channels of this fleet",
	    schema_check_redis_prefix, OFF(redis_prefix), 0, 0 },
	{ "redis_timeout", CONFIG_UINT, "500", 50, 10000, "ms", false,
	    "time a Redis connect or command may take", NULL,
	    OFF(redis_timeout_ms), 0, 0 },
	{ "limits", CONFIG_BOOL, "true", 0, 0, "", false,
	    "per-account sending caps for authenticated submitters "
	    "(limit_class sections)",
	    NULL, OFF(limits), 0, 0 },
	{ "limit_store", CONFIG_STRING, "lmdb", 0, 0, "", false,
	    "where counts live: lmdb (state_dir/limits) or redis "
	    "(redis_server, shared by a fleet)",
	    schema_check_limit_store, OFF(limit_store), 0, 0 },
	{ "limit_fallback", CONFIG_STRING, "none", 0, 0, "", true,
	    "key for unauthenticated submitters from trusted_networks: "
	    "none, sender (MAIL FROM) or client_ip",
	    schema_check_limit_fallback, OFF(limit_fallback), 0, 0 },
	{ "limit_fail_mode", CONFIG_STRING, "local", 0, 0, "", true,
	    "when Redis is unreachable: local (count in LMDB meanwhile), "
	    "accept or tempfail",
	    schema_check_limit_fail_mode, OFF(limit_fail_mode), 0, 0 },
	{ "limit_default", CONFIG_STRING, "default", 0, 0, "", true,
	    "class of accounts without an override", NULL, OFF(limit_default),
	    0, 0 },
	{ "limit_alert_command", CONFIG_STRING, "", 0, 0, "", false,
	    "command run (sh -c) when an account reaches 80% or 100% of a "
	    "cap; empty: none",
	    NULL, OFF(limit_alert_command), 0, 0 },
	{ "limit_alert_url", CONFIG_STRING, "", 0, 0, "", false,
	    "URL that gets a JSON POST when an account reaches 80% or 100% "
	    "of a cap; empty: none",
	    NULL, OFF(limit_alert_url), 0, 0 },
	{ "limit_alert_interval", CONFIG_UINT, "3600", 1, 86400, "seconds",
	    false, "one alert per account, cap and threshold this often", NULL,
	    OFF(limit_alert_interval), 0, 0 },
	{ "authserv_id", CONFIG_STRING, "", 0, 0, "", true,
	    "authserv-id in Authentication-Results (RFC 8601); empty: the "
	    "host name",
	    schema_check_authserv_id, OFF(authserv_id), 0, 0 },
	{ "trusted_networks", CONFIG_LIST, "{\"127.0.0.0/8\", \"::1/128\"}", 0,
	    0, "", true, "clients in these CIDR ranges skip the inbound checks",
	    schema_check_cidr, -1, 0, 0 },
	{ "dns_nameservers", CONFIG_LIST, "{}", 0, 0, "", true,
	    "resolvers to query, \"ADDR\" or \"ADDR@PORT\"; empty: those of "
	    "/etc/resolv.conf",
	    schema_check_nameserver, -1, 0, 0 },
	{ "dns_timeout", CONFIG_UINT, "2000", 100, 60000, "ms", true,
	    "time one DNS query attempt may take", NULL, OFF(dns_timeout_ms), 0,
	    0 },
	{ "dns_retries", CONFIG_UINT, "1", 0, 5, "", true,
	    "further attempts after a DNS query times out", NULL,
	    OFF(dns_retries), 0, 0 },
	{ "dns_cache_size", CONFIG_UINT, "10000", 0, 10000000, "entries", true,
	    "DNS answers kept in the cache; 0: no cache", NULL,
	    OFF(dns_cache_size), 0, 0 },
	{ "dns_cache_max_ttl", CONFIG_UINT, "86400", 0, 604800, "seconds", true,
	    "longest time a DNS answer stays cached, whatever its TTL", NULL,
	    OFF(dns_cache_max_ttl), 0, 0 },
	{ "dns_workers", CONFIG_UINT, "32", 1, 256, "", true,
	    "DNS queries in flight at once", NULL, OFF(dns_workers), 0, 0 },
	{ "dns_budget", CONFIG_UINT, "20000", 100, 600000, "ms", true,
	    "total DNS wait allowed for one message; then temperror", NULL,
	    OFF(dns_budget_ms), 0, 0 },
	{ "dns_max_answer_records", CONFIG_UINT, "100", 1, 1000, "", true,
	    "records in one DNS answer above which it is a temperror", NULL,
	    OFF(dns_max_answer_records), 0, 0 },
	{ "iprev_max_names", CONFIG_UINT, "10", 1, 20, "", true,
	    "PTR names of the client that iprev looks up forward", NULL,
	    OFF(iprev_max_names), 0, 0 },
	{ "spf_helo", CONFIG_BOOL, "true", 0, 0, "", true,
	    "check SPF for the HELO name too (RFC 7208 2.3)", NULL,
	    OFF(spf_helo), 0, 0 },
	{ "dkim_verify", CONFIG_BOOL, "true", 0, 0, "", true,
	    "verify the DKIM signatures of inbound mail (RFC 6376)", NULL,
	    OFF(dkim_verify), 0, 0 },
	{ "dkim_max_signatures", CONFIG_UINT, "5", 1, 16, "", true,
	    "DKIM signatures verified per message; later ones are ignored",
	    NULL, OFF(dkim_max_signatures), 0, 0 },
	{ "dkim_keytable", CONFIG_STRING, "", 0, 0, "", true,
	    "signing key table: lines of DOMAIN SELECTOR KEYFILE; empty: do "
	    "not sign",
	    schema_check_pidfile, OFF(dkim_keytable), 0, 0 },
	{ "dkim_sign_headers", CONFIG_LIST, "{}", 0, 0, "", true,
	    "header fields to sign; empty: From, To, Subject, Date and the "
	    "other RFC 6376 5.4.1 fields",
	    schema_check_header, -1, 0, 0 },
	{ "score_tag", CONFIG_UINT, "0", 0, 100000, "", true,
	    "listing score (DNSBL code and list scores added up) from which "
	    "a message is tagged; 0: never",
	    NULL, OFF(policy.score_tag), 0, 0 },
	{ "score_reject", CONFIG_UINT, "0", 0, 100000, "", true,
	    "listing score from which a message is rejected (550 5.7.1); "
	    "0: never",
	    NULL, OFF(policy.score_reject), 0, 0 },
	{ "dmarc", CONFIG_BOOL, "true", 0, 0, "", true,
	    "evaluate the DMARC policy of the From domain (RFC 7489)", NULL,
	    OFF(dmarc), 0, 0 },
	{ "tag_header", CONFIG_STRING, "X-Sakimori-Tag", 0, 0, "", true,
	    "header field added to messages the tag action marks",
	    schema_check_header, OFF(tag_header), 0, 0 },
	{ "debug", CONFIG_LIST, "{}", 0, 0, "", true,
	    "debug logging for: dns, spf, iprev, dkim, dmarc, milter, control, "
	    "all",
	    schema_check_debug, -1, 0, 0 },
	ACTION("spf_pass", "accept", CHECK_SPF, RESULT_PASS,
	    "action for SPF pass"),
	ACTION("spf_fail", "tag", CHECK_SPF, RESULT_FAIL,
	    "action for SPF fail (reject answers 550 5.7.23)"),
	ACTION("spf_softfail", "tag", CHECK_SPF, RESULT_SOFTFAIL,
	    "action for SPF softfail"),
	ACTION("spf_neutral", "accept", CHECK_SPF, RESULT_NEUTRAL,
	    "action for SPF neutral"),
	ACTION("spf_none", "accept", CHECK_SPF, RESULT_NONE,
	    "action for SPF none (no SPF record)"),
	ACTION("spf_temperror", "accept", CHECK_SPF, RESULT_TEMPERROR,
	    "action for SPF temperror (DNS failure; tempfail answers 451 "
	    "4.4.3)"),
	ACTION("spf_permerror", "tag", CHECK_SPF, RESULT_PERMERROR,
	    "action for SPF permerror (broken SPF record)"),
	ACTION("iprev_pass", "accept", CHECK_IPREV, RESULT_PASS,
	    "action for iprev pass"),
	ACTION("iprev_fail", "tag", CHECK_IPREV, RESULT_FAIL,
	    "action for iprev fail (no forward-confirmed reverse DNS)"),
	ACTION("iprev_temperror", "accept", CHECK_IPREV, RESULT_TEMPERROR,
	    "action for iprev temperror (DNS failure; tempfail answers 451 "
	    "4.4.3)"),
	ACTION("iprev_permerror", "accept", CHECK_IPREV, RESULT_PERMERROR,
	    "action for iprev permerror"),
	ACTION("dkim_pass", "accept", CHECK_DKIM, RESULT_PASS,
	    "action when a DKIM signature passes"),
	ACTION("dkim_fail", "accept", CHECK_DKIM, RESULT_FAIL,
	    "action for DKIM fail, no signature passing (RFC 6376 6.3: "
	    "as if unsigned)"),
	ACTION("dkim_neutral", "accept", CHECK_DKIM, RESULT_NEUTRAL,
	    "action for DKIM neutral (signature could not be checked)"),
	ACTION("dkim_policy", "accept", CHECK_DKIM, RESULT_POLICY,
	    "action for DKIM policy (signature refused by local policy)"),
	ACTION("dkim_none", "accept", CHECK_DKIM, RESULT_NONE,
	    "action for DKIM none (no signature)"),
	ACTION("dkim_temperror", "accept", CHECK_DKIM, RESULT_TEMPERROR,
	    "action for DKIM temperror (key lookup failed)"),
	ACTION("dkim_permerror", "accept", CHECK_DKIM, RESULT_PERMERROR,
	    "action for DKIM permerror (broken signature or key)"),
	ACTION("dmarc_pass", "accept", CHECK_DMARC, RESULT_PASS,
	    "action for DMARC pass"),
	ACTION("dmarc_fail", "accept", CHECK_DMARC, RESULT_FAIL,
	    "action for DMARC fail when the domain asks for nothing "
	    "(p=none, or sampled out by pct=)"),
	ACTION("dmarc_quarantine", "tag", CHECK_DMARC,
	    VERDICT_SLOT_DMARC_QUARANTINE,
	    "action for DMARC fail when the domain asks for quarantine"),
	ACTION("dmarc_reject", "tag", CHECK_DMARC, VERDICT_SLOT_DMARC_REJECT,
	    "action for DMARC fail when the domain asks for reject (reject "
	    "answers 550 5.7.1)"),
	ACTION("dmarc_none", "accept", CHECK_DMARC, RESULT_NONE,
	    "action for DMARC none (no policy published)"),
	ACTION("dmarc_temperror", "accept", CHECK_DMARC, RESULT_TEMPERROR,
	    "action for DMARC temperror (DNS failure)"),
	ACTION("dmarc_permerror", "accept", CHECK_DMARC, RESULT_PERMERROR,
	    "action for DMARC permerror (unusable From or record)"),
	{ "dry_run", CONFIG_LIST, "{}", 0, 0, "", true,
	    "rules (spf_fail, ...) or all that only log what they would do",
	    schema_check_rule, -1, 0, 0 },
};

const size_t config_schema_count =
    sizeof(config_schema) / sizeof(config_schema[0]);

/* config_schema_find - the entry for a key */
const struct config_option *
config_schema_find(const char *key)
{
	size_t i;

	for (i = 0; i < config_schema_count; i++) {
		if (strcmp(key, config_schema[i].key) == 0)
			return &config_schema[i];
	}
	return NULL;
}

/* config_schema_markdown - the README table of options */
int
config_schema_markdown(FILE *fp)
{
	const struct config_option *o;
	char range[64];
	size_t i;

	fprintf(fp,
	    "| option | default | range | unit | reload | meaning |\n"
	    "|---|---|---|---|---|---|\n");
	for (i = 0; i < config_schema_count; i++) {
		o = &config_schema[i];
		range[0] = '\0';
		if (o->type == CONFIG_UINT)
			snprintf(
			    range, sizeof(range), "%ld..%ld", o->min, o->max);
		else if (o->type == CONFIG_MODE)
			snprintf(range, sizeof(range), "0..0%lo", o->max);
		else if (o->type == CONFIG_ACTION)
			snprintf(range, sizeof(range),
			    "accept, tag, quarantine, tempfail, reject");
		else if (o->type == CONFIG_BOOL)
			snprintf(range, sizeof(range), "true, false");
		fprintf(fp, "| `%s` | `%s` | %s | %s | %s | %s |\n", o->key,
		    o->def[0] != '\0' ? o->def : "\"\"", range, o->unit,
		    o->reloadable ? "yes" : "restart", o->doc);
	}
	return ferror(fp) ? -1 : 0;
}
