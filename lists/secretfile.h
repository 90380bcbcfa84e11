/*
 * NAME
 *	secretfile - read a small file holding a secret
 * SUMMARY
 *	Read a key or shared-secret file whole, refusing one that is not a
 *	regular file, is too large, or can be reached by group or others.
 * DESCRIPTION
 *	Used by lists/listsign.c (list signing keys) and milter/ctlauth.c
 *	(the control shared secret). As ssh does for its private keys, a
 *	file whose mode has any group or other bit (mode & 077) is
 *	refused, so "chmod 600" is the fix the error names. The file is
 *	opened (symbolic links followed) and checked with fstat, so the
 *	mode checked is the mode of what is read.
 * THREADS
 *	Pure apart from the file read; any thread.
 * OWNERSHIP
 *	The content is the caller's; free it with secretfile_free, which
 *	wipes it first. Error texts are the caller's to free().
 * ERRORS
 *	"PATH: why": the open or read error (strerror), "not a regular
 *	file", "permissions 0644 are too open: a secret must not be
 *	readable or writable by group or others (chmod 600 PATH)", "empty
 *	file", "larger than N bytes", "out of memory".
 */
#ifndef SAKIMORI_LISTS_SECRETFILE_H
#define SAKIMORI_LISTS_SECRETFILE_H

#include <stddef.h>

/*
 * secretfile_read - read a secret file whole
 *	path: the file
 *	max: refuse a file of more than this many bytes
 *	text_r: the content, NUL-ended (the NUL not counted in len_r);
 *	    caller frees with secretfile_free; NULL on error
 *	len_r: bytes read
 *	error_r: on -1, why (caller frees); may be NULL
 * Returns 0,
 *	-1 the file cannot be read, is not a regular file, is empty or too
 *	   large, has group or other permission bits, or out of memory.
 */
int secretfile_read(const char *path, size_t max, char **text_r, size_t *len_r,
    char **error_r) __attribute__((warn_unused_result));

/*
 * secretfile_free - wipe len bytes of *text, free it (NULL is fine) and
 * set *text to NULL
 */
void secretfile_free(char **text, size_t len);

#endif
