/*
 * fileio.h: reading a whole local file (configs, policies, key sets, CA
 * bundles, CRLs, secrets), one way for every caller.
 */
#ifndef SPOA_FILEIO_H
#define SPOA_FILEIO_H

#include <stddef.h>

/* Room for any reason fileio_read() gives. */
#define FILEIO_WHY_MAX	128

/*
 * fileio_read(path, max, buf, len, why, whylen):
 * Read the regular file ${path} of at most ${max} bytes into a malloc'd,
 * NUL-terminated *${buf} of *${len} bytes (the caller frees it, after
 * explicit_bzero() for secrets).  The file is opened without blocking (a
 * FIFO or a device is refused before anything waits on it) and must be
 * read whole: a size that changes while it is read is an error, never half
 * a document.  Return 0, or -1 with *${buf} NULL and a short reason in
 * ${why} (${whylen} bytes; FILEIO_WHY_MAX is enough) that does not repeat
 * the path, e.g. "No such file or directory", "not a regular file",
 * "larger than 65536 bytes".  Callers say which file.
 */
int fileio_read(const char *path, size_t max, char **buf, size_t *len,
    char *why, size_t whylen);

/*
 * fileio_read_private(path, max, buf, len, why, whylen):
 * fileio_read() of a file that only the agent may read: not a symbolic
 * link, owned by the agent's user, no permission bit for group or others
 * (0600 or 0400).  Anything else is refused (-1) with the reason, e.g.
 * "mode 0644: open to group or others (it must be 0600)".  For private
 * keys.
 */
int fileio_read_private(const char *path, size_t max, char **buf,
    size_t *len, char *why, size_t whylen);

#endif /* !SPOA_FILEIO_H */
