/*
 * NAME
 *	listreg - the live local lists: pushes, deltas, rollback, state
 * DESCRIPTION
 *	See listreg.h. Files in state_dir/lists for list NAME:
 *	NAME.list, NAME.meta	the current content and its metadata
 *	NAME.prev.list, .meta	the one before, for rollback
 *	Every file is written as NAME.tmp.XXXXXX, fsynced, renamed over;
 *	the directory is fsynced after the renames. The .meta file is
 *	written last: a crash between the two leaves a .list whose
 *	checksum the old .meta does not name, and that pair is refused at
 *	start (the file seeds the list, with a warning).
 * THREADS
 *	listreg_lock guards the entries and serializes updates.
 * ERRORS
 *	Bad input and I/O errors come back as text; nothing changes.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "lists/text.h"
#include "lists/list.h"
#include "lists/listfile.h"
#include "lists/listsign.h"
#include "milter/listreg.h"
#include "milter/log.h"

#define LISTREG_NAME_MAX 64	    /* bytes of a list name (file names) */
#define LISTREG_FILE_MAX (1u << 30) /* bytes of a stored list */

struct listref {
	struct list_snapshot *snap; /* immutable */
	atomic_int refs;	    /* registry and listsets */
};

struct listreg_entry {
	char *name;		    /* the list's name */
	enum list_kind kind;	    /* its kind */
	bool pushed;		    /* content from pushes, not the file */
	struct listref *cur;	    /* current snapshot */
	uint64_t version;	    /* its version */
	time_t changed;		    /* when it became current */
	char who[128];		    /* who made it so */
	char signature[160];	    /* its maintainer signature, or "" */
	struct listref *prev;	    /* the one before, or NULL */
	uint64_t prev_version;	    /* its version */
	time_t prev_changed;	    /* and the rest of its metadata */
	char prev_who[128];	    /* who made it current */
	char prev_signature[160];   /* its signature */
	uint64_t signed_high;	    /* highest signed version taken */
	uint64_t fleet_seq;	    /* last fleet sequence number */
	struct listreg_entry *next; /* next entry */
};

static pthread_mutex_t listreg_lock = PTHREAD_MUTEX_INITIALIZER;
static struct listreg_entry *listreg_entries; /* guarded by listreg_lock */
static char *listreg_dir;		      /* state_dir/lists */
static char *listreg_audit;		      /* state_dir/audit.log */

/* set_str - copy a string into a buffer, cut to fit */
static void
set_str(char *dst, size_t size, const char *src)
{
	size_t n = strnlen(src, size - 1);

	memcpy(dst, src, n);
	dst[n] = '\0';
}

/* reg_lock - take the registry lock */
static void
reg_lock(void)
{
	if (pthread_mutex_lock(&listreg_lock) != 0)
		abort();
}

/* reg_unlock - release it */
static void
reg_unlock(void)
{
	if (pthread_mutex_unlock(&listreg_lock) != 0)
		abort();
}

/* ref_new - wrap a snapshot, one reference */
static struct listref *
ref_new(struct list_snapshot *snap)
{
	struct listref *r;

	if ((r = calloc(1, sizeof(*r))) == NULL)
		return NULL;
	r->snap = snap;
	atomic_init(&r->refs, 1);
	return r;
}

/* ref_up - one more reference */
static struct listref *
ref_up(struct listref *r)
{
	if (r != NULL)
		atomic_fetch_add(&r->refs, 1);
	return r;
}

/* ref_down - one reference less; the last frees */
static void
ref_down(struct listref **rp)
{
	struct listref *r = *rp;

	*rp = NULL;
	if (r != NULL && atomic_fetch_sub(&r->refs, 1) == 1) {
		list_free(&r->snap);
		free(r);
	}
}

/* listreg_name_ok - a list name usable as a file name */
static bool
listreg_name_ok(const char *name)
{
	size_t i, len = strlen(name);

	if (len == 0 || len > LISTREG_NAME_MAX || name[0] == '.' ||
	    name[0] == '-')
		return false;
	for (i = 0; i < len; i++) {
		char c = name[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
			(c >= '0' && c <= '9') || c == '.' || c == '_' ||
			c == '-'))
			return false;
	}
	return strstr(name, ".prev") == NULL && strstr(name, ".tmp") == NULL;
}

/* mkdir_p1 - one directory, existing is fine */
static int
mkdir_p1(const char *path, char **error_r)
{
	struct stat st;

	if (mkdir(path, 0750) == 0 ||
	    (errno == EEXIST && stat(path, &st) == 0 && S_ISDIR(st.st_mode)))
		return 0;
	text_error(error_r, "state_dir: %s: %s", path,
	    errno == EEXIST ? "not a directory" : strerror(errno));
	return -1;
}

/* listreg_init - set up the registry and its state directory */
int
listreg_init(const char *state_dir, char **error_r)
{
	*error_r = NULL;
	if (state_dir == NULL || state_dir[0] != '/') {
		*error_r = strdup("state_dir: want an absolute path");
		return -1;
	}
	free(listreg_dir);
	free(listreg_audit);
	listreg_dir = listreg_audit = NULL;
	if (mkdir_p1(state_dir, error_r) != 0)
		return -1;
	if (asprintf(&listreg_dir, "%s/lists", state_dir) < 0 ||
	    asprintf(&listreg_audit, "%s/audit.log", state_dir) < 0) {
		listreg_dir = listreg_audit = NULL;
		*error_r = strdup("out of memory");
		return -1;
	}
	return mkdir_p1(listreg_dir, error_r);
}

/* entry_find - the entry of a name, or NULL (lock held) */
static struct listreg_entry *
entry_find(const char *name)
{
	struct listreg_entry *e;

	for (e = listreg_entries; e != NULL; e = e->next)
		if (strcmp(e->name, name) == 0)
			return e;
	return NULL;
}

/* path_of - state_dir/lists/NAME + suffix (caller frees) */
static char *
path_of(const char *name, const char *suffix)
{
	char *p;

	if (listreg_dir == NULL ||
	    asprintf(&p, "%s/%s%s", listreg_dir, name, suffix) < 0)
		return NULL;
	return p;
}

/* Metadata of one stored snapshot. */
struct listreg_meta {
	uint64_t version;     /* its version */
	time_t changed;	      /* when it became current */
	char who[128];	      /* who */
	char signature[160];  /* maintainer signature or "" */
	char checksum[65];    /* of the content */
	uint64_t signed_high; /* highest signed version taken */
	uint64_t fleet_seq;   /* last fleet sequence number */
};

/* meta_parse - "key=value" lines; unknown keys ignored */
static int
meta_parse(const char *text, struct listreg_meta *m)
{
	const char *p = text, *nl;
	char line[512];
	size_t len;

	memset(m, 0, sizeof(*m));
	for (; *p != '\0'; p = nl + 1) {
		if ((nl = strchr(p, '\n')) == NULL)
			nl = p + strlen(p);
		len = (size_t)(nl - p);
		if (len < sizeof(line)) {
			memcpy(line, p, len);
			line[len] = '\0';
			if (strncmp(line, "version=", 8) == 0)
				m->version = strtoull(line + 8, NULL, 10);
			else if (strncmp(line, "changed=", 8) == 0)
				m->changed =
				    (time_t)strtoll(line + 8, NULL, 10);
			else if (strncmp(line, "who=", 4) == 0)
				set_str(m->who, sizeof(m->who), line + 4);
			else if (strncmp(line, "signature=", 10) == 0)
				set_str(m->signature, sizeof(m->signature),
				    line + 10);
			else if (strncmp(line, "checksum=", 9) == 0)
				set_str(
				    m->checksum, sizeof(m->checksum), line + 9);
			else if (strncmp(line, "signed_high=", 12) == 0)
				m->signed_high = strtoull(line + 12, NULL, 10);
			else if (strncmp(line, "fleet_seq=", 10) == 0)
				m->fleet_seq = strtoull(line + 10, NULL, 10);
		}
		if (*nl == '\0')
			break;
	}
	return m->version > 0 && strlen(m->checksum) == 64 ? 0 : -1;
}

/* load_stored - a stored snapshot and its metadata; 0 ok, -1 none/bad */
static int
load_stored(const char *name, enum list_kind kind, const char *which,
    struct list_snapshot **snap_r, struct listreg_meta *m)
{
	char *lp = NULL, *mp = NULL, *text = NULL, *mtext = NULL, *why = NULL;
	char lsuf[16], msuf[16];
	size_t len = 0, mlen = 0;
	int ret = -1;

	*snap_r = NULL;
	snprintf(lsuf, sizeof(lsuf), "%s.list", which);
	snprintf(msuf, sizeof(msuf), "%s.meta", which);
	if ((lp = path_of(name, lsuf)) == NULL ||
	    (mp = path_of(name, msuf)) == NULL)
		goto out;
	if ((mtext = listfile_read(mp, LISTREG_FILE_MAX, &mlen, &why)) == NULL)
		goto out; /* never stored (or unreadable: the file seeds it) */
	if (meta_parse(mtext, m) != 0) {
		log_msg(
		    LOG_WARNING, "list %s: %s: unreadable; not used", name, mp);
		goto out;
	}
	if ((text = listfile_read(lp, LISTREG_FILE_MAX, &len, &why)) == NULL) {
		log_msg(LOG_WARNING, "list %s: %s; not used", name,
		    why != NULL ? why : "out of memory");
		goto out;
	}
	if (list_build(name, kind, text, len, m->version, m->changed, snap_r,
		&why) != 0) {
		log_msg(LOG_WARNING, "list %s: %s: %s; not used", name, lp,
		    why != NULL ? why : "out of memory");
		goto out;
	}
	if (strcmp(list_checksum(*snap_r), m->checksum) != 0) {
		log_msg(LOG_WARNING,
		    "list %s: %s does not match the checksum of %s; not used",
		    name, lp, mp);
		list_free(snap_r);
		goto out;
	}
	ret = 0;
out:
	free(why);
	free(text);
	free(mtext);
	free(lp);
	free(mp);
	return ret;
}

/* fsync_dir - make renames in the state directory durable */
static int
fsync_dir(void)
{
	int fd, ret;

	if ((fd = open(listreg_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
		return -1;
	ret = fsync(fd);
	close(fd);
	return ret;
}

/* write_tmp - write a temp file in the state directory via fn, fsynced */
static char *
write_tmp(const char *name, int (*fn)(FILE *, const void *), const void *arg,
    char **error_r)
{
	char *tmp = NULL;
	FILE *fp = NULL;
	int fd = -1;

	if (asprintf(&tmp, "%s/%s.tmp.XXXXXX", listreg_dir, name) < 0) {
		*error_r = strdup("out of memory");
		return NULL;
	}
	if ((fd = mkstemp(tmp)) < 0 || (fp = fdopen(fd, "w")) == NULL)
		goto fail;
	fd = -1;
	if (fn(fp, arg) != 0 || fflush(fp) != 0 || fsync(fileno(fp)) != 0)
		goto fail;
	if (fclose(fp) != 0) {
		fp = NULL;
		goto fail;
	}
	return tmp;
fail:
	text_error(error_r, "state_dir: %s: %s", tmp, strerror(errno));
	if (fp != NULL)
		fclose(fp);
	if (fd >= 0)
		close(fd);
	unlink(tmp);
	free(tmp);
	return NULL;
}

/* write_list - the plain export of a snapshot */
static int
write_list(FILE *fp, const void *arg)
{
	return list_export(arg, LIST_FORMAT_PLAIN, time(NULL), fp);
}

/* write_meta - the metadata lines */
static int
write_meta(FILE *fp, const void *arg)
{
	const struct listreg_meta *m = arg;

	return fprintf(fp,
		   "version=%" PRIu64 "\nchanged=%lld\nwho=%s\n"
		   "signature=%s\nchecksum=%s\nsigned_high=%" PRIu64
		   "\nfleet_seq=%" PRIu64 "\n",
		   m->version, (long long)m->changed, m->who, m->signature,
		   m->checksum, m->signed_high, m->fleet_seq) < 0
	    ? -1
	    : 0;
}

/* meta_of - the metadata of an entry's current (prev: previous) state */
static void
meta_of(const struct listreg_entry *e, bool prev, struct listreg_meta *m)
{
	memset(m, 0, sizeof(*m));
	m->version = prev ? e->prev_version : e->version;
	m->changed = prev ? e->prev_changed : e->changed;
	set_str(m->who, sizeof(m->who), prev ? e->prev_who : e->who);
	set_str(m->signature, sizeof(m->signature),
	    prev ? e->prev_signature : e->signature);
	set_str(m->checksum, sizeof(m->checksum),
	    list_checksum((prev ? e->prev : e->cur)->snap));
	m->signed_high = e->signed_high;
	m->fleet_seq = e->fleet_seq;
}

/*
 * store - write an entry's current state (and the previous one) to the
 * state directory: both temp files first, then the renames
 */
static int
store(const struct listreg_entry *e, char **error_r)
{
	struct listreg_meta m, pm;
	char *tl = NULL, *tm = NULL, *tpl = NULL, *tpm = NULL;
	char *fl = NULL, *fm = NULL, *fpl = NULL, *fpm = NULL;
	int ret = -1;

	meta_of(e, false, &m);
	if ((fl = path_of(e->name, ".list")) == NULL ||
	    (fm = path_of(e->name, ".meta")) == NULL ||
	    (fpl = path_of(e->name, ".prev.list")) == NULL ||
	    (fpm = path_of(e->name, ".prev.meta")) == NULL) {
		*error_r = strdup("out of memory");
		goto out;
	}
	if ((tl = write_tmp(e->name, write_list, e->cur->snap, error_r)) ==
		NULL ||
	    (tm = write_tmp(e->name, write_meta, &m, error_r)) == NULL)
		goto out;
	if (e->prev != NULL) {
		meta_of(e, true, &pm);
		if ((tpl = write_tmp(e->name, write_list, e->prev->snap,
			 error_r)) == NULL ||
		    (tpm = write_tmp(e->name, write_meta, &pm, error_r)) ==
			NULL)
			goto out;
	}
	if ((tpl != NULL && (rename(tpl, fpl) != 0 || rename(tpm, fpm) != 0)) ||
	    rename(tl, fl) != 0 || rename(tm, fm) != 0 || fsync_dir() != 0) {
		text_error(
		    error_r, "state_dir: %s: %s", listreg_dir, strerror(errno));
		goto out;
	}
	ret = 0;
out:
	if (ret != 0) {
		if (tl != NULL)
			unlink(tl);
		if (tm != NULL)
			unlink(tm);
		if (tpl != NULL)
			unlink(tpl);
		if (tpm != NULL)
			unlink(tpm);
	}
	free(tl);
	free(tm);
	free(tpl);
	free(tpm);
	free(fl);
	free(fm);
	free(fpl);
	free(fpm);
	return ret;
}

/* audit - one line in state_dir/audit.log, synced */
static void
audit(const char *who, const char *name, const char *op, uint64_t oldv,
    size_t oldn, uint64_t newv, size_t newn, const char *checksum)
{
	char when[32];
	time_t now = time(NULL);
	struct tm tm;
	FILE *fp;

	gmtime_r(&now, &tm);
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
	log_msg(LOG_INFO,
	    "list %s: %s by %s: version %" PRIu64 " -> %" PRIu64
	    ", entries %zu -> %zu",
	    name, op, who, oldv, newv, oldn, newn);
	if (listreg_audit == NULL ||
	    (fp = fopen(listreg_audit, "ae")) == NULL) {
		log_msg(LOG_WARNING, "list %s: audit log %s: %s", name,
		    listreg_audit != NULL ? listreg_audit : "-",
		    strerror(errno));
		return;
	}
	fprintf(fp,
	    "%s who=%s list=%s op=%s old_version=%" PRIu64
	    " new_version=%" PRIu64 " old_entries=%zu new_entries=%zu "
	    "checksum=%s\n",
	    when, who, name, op, oldv, newv, oldn, newn, checksum);
	if (fflush(fp) != 0 || fsync(fileno(fp)) != 0)
		log_msg(LOG_WARNING, "list %s: audit log %s: %s", name,
		    listreg_audit, strerror(errno));
	fclose(fp);
}

/* entry_new - a registry entry (lock held) */
static struct listreg_entry *
entry_new(const char *name, enum list_kind kind)
{
	struct listreg_entry *e;

	if ((e = calloc(1, sizeof(*e))) == NULL ||
	    (e->name = strdup(name)) == NULL) {
		free(e);
		return NULL;
	}
	e->kind = kind;
	e->next = listreg_entries;
	listreg_entries = e;
	return e;
}

/* entry_drop_content - forget snapshots and metadata (lock held) */
static void
entry_drop_content(struct listreg_entry *e)
{
	ref_down(&e->cur);
	ref_down(&e->prev);
	e->pushed = false;
	e->version = e->prev_version = e->signed_high = 0;
	e->signature[0] = e->prev_signature[0] = '\0';
	e->who[0] = e->prev_who[0] = '\0';
}

/* entry_from_state - take a list's stored state at start (lock held) */
static void
entry_from_state(struct listreg_entry *e)
{
	struct list_snapshot *snap = NULL, *psnap = NULL;
	struct listreg_meta m, pm;

	if (load_stored(e->name, e->kind, "", &snap, &m) != 0)
		return;
	if ((e->cur = ref_new(snap)) == NULL) {
		list_free(&snap);
		return;
	}
	e->pushed = true;
	e->version = m.version;
	e->changed = m.changed;
	e->signed_high = m.signed_high;
	e->fleet_seq = m.fleet_seq;
	set_str(e->who, sizeof(e->who), m.who);
	set_str(e->signature, sizeof(e->signature), m.signature);
	if (load_stored(e->name, e->kind, ".prev", &psnap, &pm) == 0) {
		if ((e->prev = ref_new(psnap)) == NULL) {
			list_free(&psnap);
			return;
		}
		e->prev_version = pm.version;
		e->prev_changed = pm.changed;
		set_str(e->prev_who, sizeof(e->prev_who), pm.who);
		set_str(
		    e->prev_signature, sizeof(e->prev_signature), pm.signature);
	}
	log_msg(LOG_INFO,
	    "list %s: version %" PRIu64 " (%zu entries) from the state "
	    "directory",
	    e->name, e->version, list_count(e->cur->snap));
}

/* entry_from_file - a list's file content at load (lock held) */
static int
entry_from_file(struct listreg_entry *e, struct list_snapshot **snap)
{
	struct listref *r;
	uint64_t oldv = e->version;
	size_t oldn = e->cur != NULL ? list_count(e->cur->snap) : 0;

	if (e->cur != NULL &&
	    strcmp(list_checksum(e->cur->snap), list_checksum(*snap)) == 0) {
		list_free(snap); /* same content: same version */
		return 0;
	}
	if ((r = ref_new(*snap)) == NULL)
		return -1;
	*snap = NULL;
	ref_down(&e->prev);
	e->prev = e->cur;
	e->prev_version = e->version;
	e->prev_changed = e->changed;
	set_str(e->prev_who, sizeof(e->prev_who), e->who);
	e->cur = r;
	e->version = oldv + 1;
	e->changed = time(NULL);
	snprintf(e->who, sizeof(e->who), "file");
	if (oldv > 0)
		audit("file", e->name, "file", oldv, oldn, e->version,
		    list_count(r->snap), list_checksum(r->snap));
	return 0;
}

/* listset_free - drop a listset's references */
void
listset_free(struct listset **setp)
{
	struct listset *set = *setp;
	size_t i;

	if (set == NULL)
		return;
	*setp = NULL;
	for (i = 0; i < set->count; i++)
		ref_down(&set->ref[i]);
	free(set->ref);
	free(set->snap);
	free(set);
}

/* listreg_bind - the listset of a configuration being loaded */
int
listreg_bind(struct config *cfg, struct listset **set_r, char **error_r)
{
	struct listset *set;
	struct listreg_entry *e;
	struct config_list *l;
	size_t i;

	*set_r = NULL;
	*error_r = NULL;
	if ((set = calloc(1, sizeof(*set))) == NULL ||
	    (set->ref = calloc(cfg->list_count + 1, sizeof(*set->ref))) ==
		NULL ||
	    (set->snap = calloc(cfg->list_count + 1, sizeof(*set->snap))) ==
		NULL)
		goto oom;
	set->count = cfg->list_count;
	reg_lock();
	for (i = 0; i < cfg->list_count; i++) {
		l = &cfg->lists[i];
		if ((e = entry_find(l->name)) != NULL && e->kind != l->kind) {
			log_msg(LOG_WARNING,
			    "list %s: kind changed from %s to %s; its pushed "
			    "content is dropped, the file seeds it",
			    l->name, list_kind_name(e->kind),
			    list_kind_name(l->kind));
			entry_drop_content(e);
			e->kind = l->kind;
		} else if (e == NULL) {
			if ((e = entry_new(l->name, l->kind)) == NULL)
				goto oom_locked;
			entry_from_state(e);
		}
		if (!e->pushed && l->snap != NULL &&
		    entry_from_file(e, &l->snap) != 0)
			goto oom_locked;
		list_free(&l->snap); /* pushed content wins */
		set->ref[i] = ref_up(e->cur);
		set->snap[i] = e->cur->snap;
	}
	reg_unlock();
	*set_r = set;
	return 0;
oom_locked:
	reg_unlock();
oom:
	listset_free(&set);
	*error_r = strdup("out of memory");
	return -1;
}

/* listreg_rebind - a listset of a configuration already bound */
int
listreg_rebind(const struct config *cfg, struct listset **set_r)
{
	struct listset *set;
	struct listreg_entry *e;
	size_t i;

	*set_r = NULL;
	if ((set = calloc(1, sizeof(*set))) == NULL ||
	    (set->ref = calloc(cfg->list_count + 1, sizeof(*set->ref))) ==
		NULL ||
	    (set->snap = calloc(cfg->list_count + 1, sizeof(*set->snap))) ==
		NULL) {
		listset_free(&set);
		return -1;
	}
	set->count = cfg->list_count;
	reg_lock();
	for (i = 0; i < cfg->list_count; i++) {
		if ((e = entry_find(cfg->lists[i].name)) == NULL ||
		    e->cur == NULL) {
			reg_unlock();
			listset_free(&set);
			return -1; /* bound at load: cannot happen */
		}
		set->ref[i] = ref_up(e->cur);
		set->snap[i] = e->cur->snap;
	}
	reg_unlock();
	*set_r = set;
	return 0;
}

/* find_config_list - the section of a list name, or NULL */
static const struct config_list *
find_config_list(const struct config *cfg, const char *name)
{
	size_t i;

	for (i = 0; i < cfg->list_count; i++)
		if (strcmp(cfg->lists[i].name, name) == 0)
			return &cfg->lists[i];
	return NULL;
}

/* check_signature - a signed list's push: key, signature, no replay */
static int
check_signature(const struct config_list *l, const struct listreg_entry *e,
    const struct listreg_change *ch, const struct list_snapshot *snap,
    uint64_t version, char **error_r)
{
	struct listsign_public key;
	char *why = NULL;
	int r;

	if (l->signed_by == NULL || l->signed_by[0] == '\0')
		return 0;
	if (ch->op != LISTREG_PUSH) {
		text_error(error_r,
		    "%s: a signed list takes whole signed pushes only",
		    l->name);
		return -1;
	}
	if (ch->signature == NULL || ch->signature[0] == '\0') {
		text_error(error_r,
		    "%s: unsigned push refused: the list is signed by "
		    "its maintainer",
		    l->name);
		return -1;
	}
	if (ch->version == 0) {
		text_error(error_r, "%s: a signed push must name its version",
		    l->name);
		return -1;
	}
	if (listsign_parse_public(l->signed_by, &key, &why) != 0)
		r = 0; /* checked at load: cannot happen */
	else
		r = listsign_verify(&key, l->name, version, list_checksum(snap),
		    ch->signature, &why);
	if (r != 1) {
		text_error(error_r, "%s: signature refused: %s", l->name,
		    why != NULL ? why : "invalid");
		free(why);
		return -1;
	}
	if (version <= e->signed_high) {
		text_error(error_r,
		    "%s: version %" PRIu64 " refused: version %" PRIu64
		    " was already taken (replay)",
		    l->name, version, e->signed_high);
		return -1;
	}
	return 0;
}

/* listreg_update - apply a change and make it current */
int
listreg_update(const struct listreg_change *ch, const struct config *cfg,
    char **result_r, char **error_r)
{
	const struct config_list *l;
	struct listreg_entry *e, saved;
	struct list_snapshot *snap = NULL;
	struct listref *r = NULL;
	uint64_t version, oldv;
	size_t oldn;
	const char *op;
	char *why = NULL;
	int ret = -1;

	*result_r = *error_r = NULL;
	if ((l = find_config_list(cfg, ch->name)) == NULL) {
		text_error(error_r, "%s: no such list", ch->name);
		return -1;
	}
	if (!listreg_name_ok(ch->name)) {
		text_error(error_r,
		    "%s: list names for pushes are letters, digits, '.', "
		    "'_' and '-' (at most %d)",
		    ch->name, LISTREG_NAME_MAX);
		return -1;
	}
	reg_lock();
	if ((e = entry_find(ch->name)) == NULL || e->cur == NULL) {
		text_error(error_r, "%s: no such list", ch->name);
		goto out;
	}
	oldv = e->version;
	oldn = list_count(e->cur->snap);
	version =
	    ch->op == LISTREG_PUSH && ch->version != 0 ? ch->version : oldv + 1;
	switch (ch->op) {
	case LISTREG_PUSH:
		op = "push";
		if (ch->version != 0 && ch->version <= oldv &&
		    ch->fleet_seq == 0 &&
		    (l->signed_by == NULL || l->signed_by[0] == '\0')) {
			text_error(error_r,
			    "%s: version %" PRIu64
			    " is not above the current %" PRIu64,
			    ch->name, ch->version, oldv);
			goto out;
		}
		if (list_build(ch->name, e->kind, ch->data, ch->len, version,
			time(NULL), &snap, &why) != 0)
			goto bad;
		break;
	case LISTREG_ADD:
	case LISTREG_DEL:
		op = ch->op == LISTREG_ADD ? "add" : "del";
		if (list_delta(e->cur->snap,
			ch->op == LISTREG_ADD ? ch->data : "",
			ch->op == LISTREG_ADD ? ch->len : 0,
			ch->op == LISTREG_DEL ? ch->data : "",
			ch->op == LISTREG_DEL ? ch->len : 0, version,
			time(NULL), &snap, &why) != 0)
			goto bad;
		break;
	case LISTREG_ROLLBACK:
	default:
		op = "rollback";
		break;
	}
	if (ch->op != LISTREG_ROLLBACK &&
	    check_signature(l, e, ch, snap, version, error_r) != 0)
		goto out;
	saved = *e;
	if (ch->op == LISTREG_ROLLBACK) {
		struct listref *t;

		if (e->prev == NULL) {
			text_error(error_r,
			    "%s: no previous version to return to", ch->name);
			goto out;
		}
		/* Swap: a second rollback undoes the first. */
		t = e->cur;
		e->cur = e->prev;
		e->prev = t;
		e->version = saved.prev_version;
		e->prev_version = saved.version;
		e->changed = time(NULL);
		e->prev_changed = saved.changed;
		set_str(e->who, sizeof(e->who), ch->who);
		memcpy(e->prev_who, saved.who, sizeof(e->prev_who));
		memcpy(
		    e->signature, saved.prev_signature, sizeof(e->signature));
		memcpy(e->prev_signature, saved.signature,
		    sizeof(e->prev_signature));
	} else {
		if ((r = ref_new(snap)) == NULL) {
			*error_r = strdup("out of memory");
			goto out;
		}
		snap = NULL;
		e->prev = e->cur;
		e->prev_version = e->version;
		e->prev_changed = e->changed;
		memcpy(e->prev_who, e->who, sizeof(e->prev_who));
		memcpy(
		    e->prev_signature, e->signature, sizeof(e->prev_signature));
		e->cur = r;
		e->version = version;
		e->changed = time(NULL);
		set_str(e->who, sizeof(e->who), ch->who);
		set_str(e->signature, sizeof(e->signature),
		    ch->signature != NULL ? ch->signature : "");
		if (ch->signature != NULL && ch->signature[0] != '\0')
			e->signed_high = version;
	}
	e->pushed = true;
	if (ch->fleet_seq != 0)
		e->fleet_seq = ch->fleet_seq;
	if (store(e, error_r) != 0) {
		/* Not stored, not live: back to what was. */
		if (ch->op != LISTREG_ROLLBACK)
			ref_down(&e->cur);
		*e = saved;
		goto out;
	}
	if (ch->op != LISTREG_ROLLBACK)
		ref_down(&saved.prev); /* the one before the previous */
	audit(ch->who, ch->name, op, oldv, oldn, e->version,
	    list_count(e->cur->snap), list_checksum(e->cur->snap));
	if (asprintf(result_r, "version %" PRIu64 " entries %zu checksum %s",
		e->version, list_count(e->cur->snap),
		list_checksum(e->cur->snap)) < 0)
		*result_r = NULL;
	ret = 0;
	goto out;
bad:
	*error_r = why;
	why = NULL;
	if (*error_r == NULL)
		*error_r = strdup("out of memory");
out:
	reg_unlock();
	list_free(&snap);
	free(why);
	return ret;
}

/* listreg_current - the current content of a list, for the fleet */
int
listreg_current(const char *name, char **text_r, size_t *len_r,
    uint64_t *version_r, char *sig_r, uint64_t *fleet_seq_r)
{
	struct listreg_entry *e;
	FILE *fp;
	int ret = -1;

	*text_r = NULL;
	*len_r = 0;
	reg_lock();
	if ((e = entry_find(name)) != NULL && e->cur != NULL &&
	    (fp = open_memstream(text_r, len_r)) != NULL) {
		if (list_export(
			e->cur->snap, LIST_FORMAT_PLAIN, time(NULL), fp) == 0)
			ret = 0;
		if (fclose(fp) != 0)
			ret = -1;
		*version_r = e->version;
		set_str(sig_r, 160, e->signature);
		*fleet_seq_r = e->fleet_seq;
	}
	reg_unlock();
	if (ret != 0) {
		free(*text_r);
		*text_r = NULL;
	}
	return ret;
}

/* listreg_get_fleet_seq - the last fleet sequence number of a list */
int
listreg_get_fleet_seq(const char *name, uint64_t *seq_r)
{
	struct listreg_entry *e;
	int ret = -1;

	reg_lock();
	if ((e = entry_find(name)) != NULL && e->cur != NULL) {
		*seq_r = e->fleet_seq;
		ret = 0;
	}
	reg_unlock();
	return ret;
}

/* listreg_set_fleet_seq - note the fleet sequence number of a list */
void
listreg_set_fleet_seq(const char *name, uint64_t seq)
{
	struct listreg_entry *e;
	char *error = NULL;

	reg_lock();
	if ((e = entry_find(name)) != NULL && e->cur != NULL &&
	    seq > e->fleet_seq) {
		e->fleet_seq = seq;
		if (store(e, &error) != 0)
			log_msg(LOG_WARNING, "list %s: %s", name,
			    error != NULL ? error : "out of memory");
		free(error);
	}
	reg_unlock();
}

/* listreg_show - version, count, checksum, last change and who */
int
listreg_show(const char *name, const struct config *cfg, FILE *fp)
{
	const struct config_list *l = find_config_list(cfg, name);
	struct listreg_entry *e;
	char when[32];
	struct tm tm;
	unsigned bit;

	reg_lock();
	if (l == NULL || (e = entry_find(name)) == NULL || e->cur == NULL) {
		reg_unlock();
		fprintf(fp, "error: %s: no such list\n", name);
		return -1;
	}
	gmtime_r(&e->changed, &tm);
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
	fprintf(fp, "ok\nname %s\nkind %s\nsource %s\nfile %s\nfields", l->name,
	    list_kind_name(l->kind), e->pushed ? "pushed" : "file",
	    l->file != NULL && l->file[0] != '\0' ? l->file : "-");
	for (bit = 1; bit != 0 && bit <= CONFIG_FIELD_LAST; bit <<= 1) {
		if ((l->fields & bit) != 0)
			fprintf(fp, " %s", config_field_name(bit));
	}
	if (l->header_count > 0) {
		size_t i;

		for (i = 0; i < l->header_count; i++)
			fprintf(fp, " header:%s", l->headers[i]);
	}
	fprintf(fp,
	    "\naction %s%s\nentries %zu\nversion %" PRIu64
	    "\nchecksum %s\nchanged %s\nwho %s\nsigned %s\nprevious %s\n"
	    "memory %zu\n",
	    verdict_action_name(l->action), l->dry_run ? " (dry run)" : "",
	    list_count(e->cur->snap), e->version, list_checksum(e->cur->snap),
	    when, e->who[0] != '\0' ? e->who : "-",
	    e->signature[0] != '\0' ? "yes" : "no",
	    e->prev != NULL ? "yes" : "no", list_memory(e->cur->snap));
	reg_unlock();
	return 0;
}

/* listreg_shutdown - drop every snapshot */
void
listreg_shutdown(void)
{
	struct listreg_entry *e, *next;

	reg_lock();
	for (e = listreg_entries; e != NULL; e = next) {
		next = e->next;
		ref_down(&e->cur);
		ref_down(&e->prev);
		free(e->name);
		free(e);
	}
	listreg_entries = NULL;
	reg_unlock();
	free(listreg_dir);
	free(listreg_audit);
	listreg_dir = listreg_audit = NULL;
}
