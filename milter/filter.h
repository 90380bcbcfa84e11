/*
 * NAME
 *	filter - the libmilter callbacks: one SMTP session's checks
 * SUMMARY
 *	Registers sakimori with libmilter and runs the data flow of
 *	DESIGN.md: connect starts iprev, MAIL runs SPF, the first RCPT
 *	decides, end of message writes Authentication-Results.
 * DESCRIPTION
 *	Inbound sessions (not trusted, not authenticated) are checked;
 *	the verdict (policy/verdict.h) is given at RCPT for tempfail and
 *	reject so nothing is queued that will be refused, and applied at
 *	end of message for tag. Exactly one summary line is logged per
 *	message. Any internal failure tempfails the session (never a
 *	silent accept, never a crash).
 * THREADS
 *	libmilter runs one connection's callbacks serially and connections
 *	in parallel. Session state lives in smfi_setpriv() and needs no
 *	lock; shared state is the runtime snapshot (milter/runtime.h).
 */
#ifndef SAKIMORI_MILTER_FILTER_H
#define SAKIMORI_MILTER_FILTER_H

struct dkimverify_lib;

/*
 * filter_register - smfi_register() our callbacks
 *	dkim: the shared libopendkim handle for every session (borrowed
 *	    until exit), or NULL to verify and sign nothing
 * Returns 0, -1 when libmilter refused.
 */
int filter_register(struct dkimverify_lib *dkim);

/* filter_stats - counters for `sakimori-ctl stats` */
struct filter_stats {
	unsigned long sessions;	   /* connections seen */
	unsigned long messages;	   /* messages that reached a decision */
	unsigned long accepted;	   /* accepted (with or without tag) */
	unsigned long tagged;	   /* tagged */
	unsigned long quarantined; /* held in the MTA's quarantine */
	unsigned long tempfailed;  /* tempfailed by policy or error */
	unsigned long rejected;	   /* rejected */
	unsigned long errors;	   /* internal errors */
};
void filter_get_stats(struct filter_stats *st);

#endif
