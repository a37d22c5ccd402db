/*
 * fileio.c: see fileio.h.
 */
#include <errno.h>
#include <stdbool.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fileio.h"

static int
read_file(const char *path, size_t max, bool private, char **buf,
    size_t *len, char *why, size_t whylen)
{
	struct stat st;
	char *b = NULL;
	size_t n = 0, size = 0;
	ssize_t r;
	int fd;

	*buf = NULL;
	*len = 0;
	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK |
	    (private ? O_NOFOLLOW : 0))) == -1) {
		snprintf(why, whylen, "%s", strerror(errno));
		return (-1);
	}
	if (fstat(fd, &st) == -1) {
		snprintf(why, whylen, "%s", strerror(errno));
		goto fail;
	}
	if (!S_ISREG(st.st_mode)) {
		snprintf(why, whylen, "not a regular file");
		goto fail;
	}
	if (private && st.st_uid != geteuid()) {
		snprintf(why, whylen, "owned by uid %lu, not by the agent's "
		    "(%lu)", (unsigned long)st.st_uid,
		    (unsigned long)geteuid());
		goto fail;
	}
	if (private && (st.st_mode & 077) != 0) {
		snprintf(why, whylen, "mode %04o: open to group or others "
		    "(it must be 0600)", (unsigned)(st.st_mode & 07777));
		goto fail;
	}
	if ((uint64_t)st.st_size > max) {
		snprintf(why, whylen, "larger than %zu bytes", max);
		goto fail;
	}
	size = (size_t)st.st_size;
	if ((b = malloc(size + 1)) == NULL) {
		snprintf(why, whylen, "out of memory");
		goto fail;
	}
	/* One byte more than the size: a file that grew is seen too. */
	while (n <= size) {
		r = read(fd, b + n, size + 1 - n);
		if (r == -1 && errno == EINTR)
			continue;
		if (r == -1) {
			snprintf(why, whylen, "%s", strerror(errno));
			goto fail;
		}
		if (r == 0)
			break;
		n += (size_t)r;
	}
	if (n != size) {
		snprintf(why, whylen, "file changed while read");
		goto fail;
	}
	close(fd);
	b[n] = '\0';
	*buf = b;
	*len = n;
	return (0);
fail:
	if (b != NULL) {
		explicit_bzero(b, size + 1);
		free(b);
	}
	close(fd);
	return (-1);
}

int
fileio_read(const char *path, size_t max, char **buf, size_t *len,
    char *why, size_t whylen)
{
	return (read_file(path, max, false, buf, len, why, whylen));
}

int
fileio_read_private(const char *path, size_t max, char **buf, size_t *len,
    char *why, size_t whylen)
{
	return (read_file(path, max, true, buf, len, why, whylen));
}
