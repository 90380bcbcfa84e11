/*
 * NAME
 *	fleet - pushed lists shared by every filter of a fleet over Redis
 * SUMMARY
 *	A change made on one filter (push, add, del, rollback) is stored in
 *	Redis and announced; every other filter applies it within moments,
 *	and a filter that was down catches up when it starts.
 * DESCRIPTION
 *	Per list NAME, Redis holds the hash PREFIX "list:" NAME with fields
 *	seq (a number from INCR PREFIX "seq:" NAME), version, signature,
 *	origin (host:pid of the filter that made the change) and data (the
 *	list's plain export); the change is announced on the channel
 *	PREFIX "lists" as "NAME SEQ ORIGIN". Storing, numbering and
 *	announcing happen in one Lua script, so two filters pushing at once
 *	get distinct numbers and every filter ends with the same last one.
 *
 *	A filter applies a change whose seq is above the last one it
 *	applied or made for that list (kept in the list's state, so it
 *	survives restarts), through the same path as a push from the
 *	control socket: validated whole, stored, audited (who:
 *	"fleet:ORIGIN"), then swapped in. A signed list verifies the
 *	maintainer's signature and refuses older versions as for any push,
 *	so Redis cannot hand a filter a list its maintainer did not sign.
 *	A rollback travels like a push (of the previous content).
 *
 *	Redis absent or down: lists work as before, changes stay local and
 *	are logged; the listener reconnects every few seconds and catches
 *	up. A change made while Redis was down is not sent later: push it
 *	again.
 * THREADS
 *	One listener thread (SUBSCRIBE); fleet_publish runs in the control
 *	thread with its own connection.
 */
#ifndef SAKIMORI_MILTER_FLEET_H
#define SAKIMORI_MILTER_FLEET_H

#include "policy/config.h"

/*
 * fleet_start - connect the fleet, catch up, listen (no-op without
 * redis_server). Connection trouble is logged, never fatal.
 * Returns 0, or -1 if the thread cannot start.
 */
int fleet_start(const struct config *cfg);

/*
 * fleet_publish - share the current content of a list changed here
 *	name: the list
 * Returns 0, or -1 (logged; the change stays local).
 */
int fleet_publish(const char *name);

/* fleet_stop - stop the listener, close the connections */
void fleet_stop(void);

#endif
