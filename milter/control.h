/*
 * NAME
 *	control - the control socket sakimori-ctl talks to
 * SUMMARY
 *	A Unix stream socket; one request line per connection, a reply of
 *	one or more lines, the first "ok" or "error: why".
 * DESCRIPTION
 *	Requests: "reload" (load the config again; the reply carries the
 *	error and the old config stays live), "stats" (counters),
 *	"config" (the effective configuration), "version", "ping".
 *	Requests are at most 1024 bytes; anything else is an error reply.
 *	The socket is created with the configured mode (control_mode) and,
 *	when privileges are dropped, owned by the configured user.
 * THREADS
 *	One thread accepts and serves requests one at a time.
 */
#ifndef SAKIMORI_MILTER_CONTROL_H
#define SAKIMORI_MILTER_CONTROL_H

#include <stdbool.h>
#include <sys/types.h>

/*
 * control_open - create and bind the socket (before dropping privileges)
 *	path: socket path; a stale socket is replaced, a live one refused
 *	mode: file mode
 *	uid, gid: owner to give it, or (uid_t)-1 to keep
 *	error_r: why it failed (caller frees)
 * Returns 0, or -1.
 */
int control_open(const char *path, unsigned mode, uid_t uid, gid_t gid,
    char **error_r) __attribute__((warn_unused_result));

/*
 * control_open_tcp - a TCP listener whose every request must carry an
 * HMAC of the shared secret (milter/ctlauth.h); call after control_open
 *	listen_on: "HOST:PORT" ("[::1]:PORT" for IPv6)
 *	secret_file: the shared secret (mode 0600, 32 bytes or more)
 *	window: seconds a request's timestamp may be off
 *	error_r: why not (caller frees)
 * Returns 0, or -1.
 */
int control_open_tcp(const char *listen_on, const char *secret_file,
    unsigned window, char **error_r) __attribute__((warn_unused_result));

/*
 * control_background - make the calling thread yield the CPU to the
 * milter threads (SCHED_IDLE; niced if that is refused): for threads
 * that build lists
 * Returns 0, or -1 (errno).
 */
int control_background(void);

/*
 * control_start - start the serving thread
 * Returns 0, or -1 (logged).
 */
int control_start(void);

/* control_stop - stop the thread, remove the socket */
void control_stop(void);

#define CONTROL_REQUEST_MAX 1024	 /* bytes in one request line */
#define CONTROL_PAYLOAD_MAX (512u << 20) /* bytes of a request's payload */

/* One request: a line, maybe a payload, and who sent it. */
struct control_request {
	char line[CONTROL_REQUEST_MAX + 1]; /* without newline, length= */
	bool has_payload;		    /* the line ended in length=N */
	char *payload;			    /* N bytes and a NUL, or NULL */
	size_t payload_len;		    /* N */
	char who[128];			    /* "root(uid=0)", "hmac@ADDR" */
};

/*
 * control_handle - answer one request
 *	req: the request
 *	reply_r: the reply text, newline-terminated lines (caller frees)
 * Returns 0 ok, -1 error reply.
 */
int control_handle(const struct control_request *req, char **reply_r);

#endif
