/*
 * NAME
 *	log - syslog (mail facility) and, in the foreground, stderr
 * SUMMARY
 *	One line per event: an id first (queue id or session id), then
 *	key=value fields. Debug lines only for enabled subsystems.
 * DESCRIPTION
 *	Untrusted text goes through log_escape() before it is logged.
 * THREADS
 *	Any thread. log_set_debug() is called before threads start and on
 *	reload (an atomic bit set).
 */
#ifndef SAKIMORI_MILTER_LOG_H
#define SAKIMORI_MILTER_LOG_H

#include <stdbool.h>
#include <stddef.h>
#include <syslog.h>

enum log_subsys {
	LOG_SUB_DNS = 1 << 0,	  /* resolver and cache */
	LOG_SUB_SPF = 1 << 1,	  /* SPF evaluation */
	LOG_SUB_IPREV = 1 << 2,	  /* iprev */
	LOG_SUB_MILTER = 1 << 3,  /* callbacks */
	LOG_SUB_CONTROL = 1 << 4, /* control socket */
	LOG_SUB_DKIM = 1 << 5,	  /* DKIM verification and signing */
	LOG_SUB_DMARC = 1 << 6,	  /* DMARC */
};

/*
 * log_open - start logging
 *	ident: syslog identifier ("sakimori")
 *	to_stderr: copy every line to stderr
 */
void log_open(const char *ident, bool to_stderr);

/*
 * log_set_debug - enable debug subsystems by name
 *	names: "dns", "spf", "iprev", "milter", "control", "dkim", "dmarc", "all"
 *	count: entries
 * Returns 0, or -1 for an unknown name (nothing changed).
 */
int log_set_debug(char *const *names, size_t count);

/* log_debug_on - is a subsystem's debug output enabled? */
bool log_debug_on(enum log_subsys sub);

/* log_msg - one line at a syslog priority (LOG_ERR, LOG_WARNING, ...) */
void log_msg(int prio, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* log_debug - one debug line for a subsystem, if enabled */
void log_debug(enum log_subsys sub, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/*
 * log_escape - make untrusted text safe for one log line
 *	in: bytes (NULL logs as "")
 *	buf: output; control and non-ASCII bytes become \xNN, '"' and '\\'
 *	    are escaped; cut at size-4 with "..." appended
 * Returns buf.
 */
char *log_escape(const char *in, char *buf, size_t size);

#endif
