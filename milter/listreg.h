/*
 * NAME
 *	listreg - the live local lists: pushes, deltas, rollback, state
 * SUMMARY
 *	Holds the current snapshot of every local list by name, apart from
 *	the configuration, so that a list pushed through the control socket
 *	outlives reloads and restarts. Each runtime gets a listset: the
 *	snapshots of its configuration's lists, in config order.
 * DESCRIPTION
 *	A list's content comes from its file (the config section's file =)
 *	until the first push; from then on from the state directory
 *	(state_dir/lists/NAME.list, the plain export, and NAME.meta:
 *	version, time, who, signature), which is what loads at start and
 *	reload; the file only seeds a list never pushed. Every change
 *	(push, add, del, rollback, a changed file at reload) builds the new
 *	snapshot aside (lists/list.h: the whole input validated, an error
 *	names the line), writes it to the state directory (temp file,
 *	fsync, rename, fsync of the directory), keeps the one before for
 *	rollback (NAME.prev.list), appends a line to state_dir/audit.log,
 *	and only then becomes current. Sessions keep the listset of the
 *	runtime they acquired: they never see a list change under them.
 *
 *	Versions: a serial per list, 1 for the first content. A push may
 *	name its version (it must be higher than the current one) or take
 *	the next; a delta takes the next; a rollback returns to the
 *	previous snapshot and its version. A list whose section names a
 *	maintainer key (signed_by) takes only pushes carrying that key's
 *	signature over (name, version, checksum), with a version above
 *	every version it has taken (an older one replayed is refused), and
 *	no deltas.
 * THREADS
 *	One mutex guards the registry; updates are serialized under it.
 *	Lock order: runtime's reload lock, then this one.
 * OWNERSHIP
 *	listsets belong to their runtime; snapshots are reference-counted
 *	(struct listref) between the registry and every listset.
 */
#ifndef SAKIMORI_MILTER_LISTREG_H
#define SAKIMORI_MILTER_LISTREG_H

#include <stdint.h>
#include <stdio.h>

#include "lists/list.h"
#include "policy/config.h"

struct listref;

/* The snapshots of one configuration's lists, in its order. */
struct listset {
	size_t count;			   /* cfg->list_count */
	struct listref **ref;		   /* one reference each */
	const struct list_snapshot **snap; /* ref[i]'s snapshot */
};

enum listreg_op {
	LISTREG_PUSH,	 /* the whole list */
	LISTREG_ADD,	 /* entries to add */
	LISTREG_DEL,	 /* entries to delete */
	LISTREG_ROLLBACK /* back to the previous snapshot */
};

/* One change asked for through the control socket. */
struct listreg_change {
	enum listreg_op op;    /* what */
	const char *name;      /* which list */
	const char *data;      /* list text or entry lines; not for rollback */
	size_t len;	       /* bytes of data */
	uint64_t version;      /* push: the version asked for, 0: next */
	const char *signature; /* push: "ed25519:BASE64" or NULL */
	const char *who;       /* for show and the audit log */
	uint64_t fleet_seq;    /* from the fleet: its sequence number (the
				  version need not rise), 0: local */
};

/*
 * listreg_init - set up the registry and its state directory
 *	state_dir: the directory (created, with lists/ in it, mode 0750)
 *	error_r: why not (caller frees)
 * Returns 0, or -1.
 */
int listreg_init(const char *state_dir, char **error_r)
    __attribute__((warn_unused_result));

/*
 * listreg_bind - the listset of a configuration being loaded
 *	cfg: its lists' snapshots (built from their files) are taken over
 *	    or dropped: a pushed list keeps its pushed content
 *	set_r: the listset (freed with listset_free)
 *	error_r: why not (caller frees)
 * Returns 0, or -1 (out of memory; nothing changed).
 */
int listreg_bind(struct config *cfg, struct listset **set_r, char **error_r)
    __attribute__((warn_unused_result));

/*
 * listreg_rebind - a new listset for a configuration already bound, from
 * the registry's current snapshots (after listreg_update)
 *	set_r: the listset (freed with listset_free)
 * Returns 0, or -1 (out of memory).
 */
int listreg_rebind(const struct config *cfg, struct listset **set_r)
    __attribute__((warn_unused_result));

/*
 * listreg_update - apply a change and make it current in the registry
 *	ch: the change
 *	cfg: the running configuration (the list must be one of its)
 *	result_r: on 0, a line for the reply ("version 4 entries 1200")
 *	error_r: on -1, why (list name, line number and reason for bad
 *	    input); nothing changed
 * Returns 0, or -1. The caller then rebinds the runtime
 * (runtime_refresh_lists) so new sessions see it.
 */
int listreg_update(const struct listreg_change *ch, const struct config *cfg,
    char **result_r, char **error_r) __attribute__((warn_unused_result));

/*
 * listreg_show - version, count, checksum, last change and who
 *	name: the list; cfg: the running configuration
 * Returns 0, or -1 if no such list (an error line written).
 */
int listreg_show(const char *name, const struct config *cfg, FILE *fp);

/*
 * listreg_current - the current content of a list, for the fleet
 *	name: the list
 *	text_r, len_r: its plain export (caller frees)
 *	version_r: its version
 *	sig_r: its signature or "", 160 bytes
 *	fleet_seq_r: the last fleet sequence number applied or published
 * Returns 0, or -1 (no such list, out of memory).
 */
int listreg_current(const char *name, char **text_r, size_t *len_r,
    uint64_t *version_r, char *sig_r, uint64_t *fleet_seq_r)
    __attribute__((warn_unused_result));

/*
 * listreg_get_fleet_seq - the last fleet sequence number of a list
 * Returns 0, or -1 if there is no such list.
 */
int listreg_get_fleet_seq(const char *name, uint64_t *seq_r)
    __attribute__((warn_unused_result));

/* listreg_set_fleet_seq - note the fleet sequence number of a list */
void listreg_set_fleet_seq(const char *name, uint64_t seq);

/* listset_free - drop a listset's references (NULL is fine) */
void listset_free(struct listset **set);

/* listreg_shutdown - drop every snapshot (at exit) */
void listreg_shutdown(void);

#endif
