/*
 * NAME
 *	log - syslog and stderr logging
 * DESCRIPTION
 *	See log.h.
 */
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "milter/log.h"

static atomic_uint log_debug_mask;
static atomic_bool log_stderr;

static const struct {
	const char *name;
	unsigned bit;
} log_subsys_names[] = {
	{ "dns", LOG_SUB_DNS },
	{ "spf", LOG_SUB_SPF },
	{ "iprev", LOG_SUB_IPREV },
	{ "milter", LOG_SUB_MILTER },
	{ "control", LOG_SUB_CONTROL },
	{ "dkim", LOG_SUB_DKIM },
	{ "dmarc", LOG_SUB_DMARC },
	{ "all", ~0u },
};

/* log_open - start logging */
void
log_open(const char *ident, bool to_stderr)
{
	openlog(ident, LOG_PID | LOG_NDELAY, LOG_MAIL);
	atomic_store(&log_stderr, to_stderr);
}

/* log_set_debug - enable debug subsystems by name */
int
log_set_debug(char *const *names, size_t count)
{
	unsigned mask = 0;
	size_t i, j;

	for (i = 0; i < count; i++) {
		for (j = 0;
		     j < sizeof(log_subsys_names) / sizeof(log_subsys_names[0]);
		     j++) {
			if (strcasecmp(names[i], log_subsys_names[j].name) == 0)
				break;
		}
		if (j == sizeof(log_subsys_names) / sizeof(log_subsys_names[0]))
			return -1;
		mask |= log_subsys_names[j].bit;
	}
	atomic_store(&log_debug_mask, mask);
	return 0;
}

/* log_debug_on - is a subsystem's debug output enabled? */
bool
log_debug_on(enum log_subsys sub)
{
	return (atomic_load(&log_debug_mask) & (unsigned)sub) != 0;
}

/* log_vmsg - format once, send to syslog and maybe stderr */
static void __attribute__((format(printf, 2, 0)))
log_vmsg(int prio, const char *fmt, va_list ap)
{
	char line[2048];
	static const char *const names[] = { "emerg", "alert", "crit", "err",
		"warning", "notice", "info", "debug" };

	vsnprintf(line, sizeof(line), fmt, ap);
	syslog(prio, "%s", line);
	if (atomic_load(&log_stderr))
		fprintf(stderr, "sakimori: %s: %s\n", names[prio & 7], line);
}

/* log_msg - one line at a syslog priority */
void
log_msg(int prio, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vmsg(prio, fmt, ap);
	va_end(ap);
}

/* log_debug - one debug line for a subsystem, if enabled */
void
log_debug(enum log_subsys sub, const char *fmt, ...)
{
	va_list ap;

	if (!log_debug_on(sub))
		return;
	va_start(ap, fmt);
	log_vmsg(LOG_DEBUG, fmt, ap);
	va_end(ap);
}

/* log_escape - make untrusted text safe for one log line */
char *
log_escape(const char *in, char *buf, size_t size)
{
	static const char hex[] = "0123456789abcdef";
	size_t o = 0;
	const unsigned char *p;

	if (size == 0)
		return buf;
	if (in == NULL)
		in = "";
	for (p = (const unsigned char *)in; *p != '\0'; p++) {
		size_t need = (*p < 0x20 || *p >= 0x7f) ? 4
		    : (*p == '"' || *p == '\\')		? 2
							: 1;
		if (o + need + 4 > size) {
			if (size >= 4) {
				memcpy(buf + (o < size - 4 ? o : size - 4),
				    "...", 4);
				return buf;
			}
			break;
		}
		if (need == 4) {
			buf[o++] = '\\';
			buf[o++] = 'x';
			buf[o++] = hex[*p >> 4];
			buf[o++] = hex[*p & 15];
		} else if (need == 2) {
			buf[o++] = '\\';
			buf[o++] = (char)*p;
		} else {
			buf[o++] = (char)*p;
		}
	}
	buf[o] = '\0';
	return buf;
}
