/*
 * NAME
 *	limits - per-account sending caps in the daemon
 * SUMMARY
 *	Opens the count store (LMDB in state_dir/limits, or Redis with
 *	LMDB as the local fallback), decides each recipient of an account,
 *	refunds what a message that was not delivered had reserved, keeps
 *	the stores in shape, answers sakimori-ctl's limit requests and
 *	counts refusals per class.
 * DESCRIPTION
 *	Counting (policy/ratelimit.h): every recipient an account's message
 *	gets past RCPT is charged at once (reservation), the message at
 *	its first such recipient; a message that then ends without being
 *	accepted by sakimori (aborted by the client, refused or tempfailed
 *	at end of message, the session lost) gets every charge back. So an
 *	account is charged exactly for the recipients of the messages that
 *	went on, and a recipient refused by the cap is never charged (unless
 *	the class says count_refused).
 *
 *	Fail mode, with limit_store = redis: when Redis does not answer,
 *	"local" counts in the local LMDB store against the same caps until
 *	Redis answers again (each filter of a fleet then allows up to the
 *	cap on its own: during an outage an account can send at most its
 *	cap once more per filter than the fleet would have allowed),
 *	"accept" lets the recipient pass uncounted, "tempfail" answers
 *	451 4.3.0. Every such decision is counted (stats) and logged at
 *	most every 10 seconds.
 * THREADS
 *	Any milter thread; the stores are thread-safe. One housekeeping
 *	thread syncs and expires the LMDB store.
 */
#ifndef SAKIMORI_MILTER_LIMITS_H
#define SAKIMORI_MILTER_LIMITS_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "policy/config.h"
#include "policy/ratelimit.h"

/* One reservation, for its refund. */
struct limits_charge {
	struct ratelimit_token tok; /* what was charged */
	bool local;		    /* charged to the local fallback store */
};

/* The outcome of one recipient. */
enum limits_verdict {
	LIMITS_PASS,	/* charged (or not counted): let it pass */
	LIMITS_REFUSE,	/* a cap refuses it: reply with r */
	LIMITS_TEMPFAIL /* the store failed: reply with r (451 4.3.0) */
};

/*
 * limits_open - open the stores (nothing when limits = false); before
 * privileges are dropped (the state directory's parents may be closed
 * to the user), after any fork, before threads
 *	error_r: why not (caller frees)
 * Returns 0, or -1.
 */
int limits_open(const struct config *cfg, char **error_r)
    __attribute__((warn_unused_result));

/*
 * limits_start - start the alert hook and housekeeping threads (after
 * limits_open, once signals are blocked)
 *	error_r: why not (caller frees)
 * Returns 0, or -1.
 */
int limits_start(const struct config *cfg, char **error_r)
    __attribute__((warn_unused_result));

/* limits_reload - a reloaded config's classes; errors are logged */
void limits_reload(const struct config *cfg);

/* limits_active - are sending caps on? */
bool limits_active(void);

/*
 * limits_rcpt - decide one recipient of an account
 *	cfg: the session's configuration (fail mode)
 *	id: queue or session id, for the log
 *	account: the account (checked here; a bad one is refused with a
 *	    tempfail, never let through uncounted)
 *	req: the request (ratelimit.h)
 *	rcpt: the recipient, for the log
 *	charge_r: on LIMITS_PASS, what to refund if the message is not
 *	    delivered (tok.rcpts 0: nothing)
 *	r: on LIMITS_REFUSE or LIMITS_TEMPFAIL, the reply
 *	shadow_r: set when a shadow class would have refused
 * Returns the verdict.
 */
enum limits_verdict limits_rcpt(const struct config *cfg, const char *id,
    const char *account, const struct ratelimit_request *req, const char *rcpt,
    struct limits_charge *charge_r, struct ratelimit_reply *r, bool *shadow_r);

/* limits_refund - give back one charge (errors are logged) */
void limits_refund(const char *account, const struct limits_charge *c);

/*
 * limits_control - "limit get ACCOUNT", "set ACCOUNT CAPS|CLASS",
 * "reset ACCOUNT", "import" (payload: CSV), "import-replace", "top [N]"
 *	args: what follows "limit "
 *	payload, len: the CSV of an import, else NULL
 *	who: for the log
 *	fp: the reply
 * Returns 0, or -1 (an error line written).
 */
int limits_control(const char *args, const char *payload, size_t len,
    const char *who, FILE *fp);

/* limits_stats - counters as "name value" lines */
void limits_stats(FILE *fp);

/* limits_stop - stop housekeeping, close the stores */
void limits_stop(void);

#endif
