/*
 * statedir.c: state_dir files (see fetch_int.h).  Each good document is
 * kept as <32 hex of SHA-256(source identity)>.state (statemeta.h: a
 * header with the identity, URL, fetch time and validators; then the
 * body), written through a temporary file, fsync, rename, fsync of the
 * directory.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fetch_int.h"
#include "fileio.h"
#include "log.h"
#include "statemeta.h"

static int
state_path(const struct fetcher *f, const struct source *src, char *out,
    size_t cap)
{
	char name[STATEMETA_NAME_LEN + 1];
	int n;

	if (file_cfg(f)->state_dir == NULL || statemeta_name(src->key, name) != 0)
		return (-1);
	n = snprintf(out, cap, "%s/%s", file_cfg(f)->state_dir, name);
	return (n > 0 && (size_t)n < cap ? 0 : -1);
}

static int
write_all(int fd, const void *v, size_t len)
{
	const char *p = v;

	while (len > 0) {
		ssize_t w = write(fd, p, len);

		if (w < 0) {
			if (errno == EINTR)
				continue;
			return (-1);
		}
		p += w;
		len -= (size_t)w;
	}
	return (0);
}

int
statedir_write(const char *dir, const char *path, const void *a,
    size_t alen, const void *b, size_t blen, unsigned mode, const char *who)
{
	char tmp[4200];
	int fd, dfd, n;

	n = snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	if (n < 0 || (size_t)n >= sizeof(tmp))
		return (-1);
	/* A fresh file of ours: never through a link planted in its place,
	 * never into a leftover (a crash between open and rename). */
	if (unlink(tmp) != 0 && errno != ENOENT)
		log_warnp("%s: cannot remove %s", who, tmp);
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
	    (mode_t)mode);
	if (fd == -1 || write_all(fd, a, alen) != 0 ||
	    write_all(fd, b, blen) != 0 || fsync(fd) != 0) {
		log_warnp("%s: cannot write %s", who, tmp);
		if (fd != -1) {
			(void)close(fd);
			(void)unlink(tmp);
		}
		return (-1);
	}
	if (close(fd) != 0) {
		log_warnp("%s: cannot write %s", who, tmp);
		(void)unlink(tmp);
		return (-1);
	}
	if (rename(tmp, path) != 0) {
		log_warnp("%s: cannot rename %s", who, tmp);
		(void)unlink(tmp);
		return (-1);
	}
	dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd == -1 || fsync(dfd) != 0)
		log_warnp("%s: cannot sync %s", who, dir);
	if (dfd != -1)
		close(dfd);
	return (0);
}

/*
 * Write ${src}'s document to state_dir (statedir_write()).
 */
void
statedir_save(struct fetcher *f, struct source *src)
{
	char path[4096], who[300], *hdr = NULL;
	struct statemeta m;
	ssize_t hlen;

	if (!src->have || file_cfg(f)->state_dir == NULL ||
	    state_path(f, src, path, sizeof(path)) != 0)
		return;
	memset(&m, 0, sizeof(m));
	m.key.p = src->key;
	m.key.len = strlen(src->key);
	m.url.p = src->url != NULL ? src->url : src->conf_url;
	m.url.len = strlen(m.url.p);
	if (src->etag != NULL) {
		m.etag.p = src->etag;
		m.etag.len = strlen(src->etag);
	}
	if (src->last_modified != NULL) {
		m.last_modified.p = src->last_modified;
		m.last_modified.len = strlen(src->last_modified);
	}
	m.fetched = src->st.good_at;
	m.body_len = src->doc_len;
	if ((hdr = malloc(STATEMETA_HEADER_MAX)) == NULL ||
	    (hlen = statemeta_format(&m, hdr, STATEMETA_HEADER_MAX)) < 0) {
		log_warn("%s: state_dir: cannot format the state file", src->id);
		goto out;
	}
	(void)snprintf(who, sizeof(who), "%s: state_dir", src->id);
	if (statedir_write(file_cfg(f)->state_dir, path, hdr, (size_t)hlen,
	    src->doc, src->doc_len, 0600, who) != 0)
		goto out;
	log_debug("%s: saved to state_dir", src->id);
out:
	free(hdr);
}

/*
 * Read ${src}'s state file.  Return 0 with the whole file in *${buf}
 * (caller frees) and *${m} pointing into it, or -1 (nothing usable; why
 * logged unless the file simply does not exist).
 */
int
statedir_read(struct fetcher *f, struct source *src, char **buf,
    struct statemeta *m)
{
	char path[4096], err[512];
	const char *why;
	size_t len;

	*buf = NULL;
	if (state_path(f, src, path, sizeof(path)) != 0)
		return (-1);
	if (access(path, F_OK) != 0)
		return (-1);
	if (fileio_read(path, (size_t)fcfg(f)->max_body_bytes +
	    STATEMETA_HEADER_MAX, buf, &len, err, sizeof(err)) != 0) {
		log_warn("%s: state_dir: cannot read \"%s\": %s", src->id, path,
		    err);
		return (-1);
	}
	if (statemeta_parse(*buf, len, m, &why) != 0) {
		log_warn("%s: state_dir: %s: %s; ignored", src->id, path, why);
		goto bad;
	}
	if (m->key.len != strlen(src->key) ||
	    memcmp(m->key.p, src->key, m->key.len) != 0) {
		log_warn("%s: state_dir: %s belongs to another source; ignored",
		    src->id, path);
		goto bad;
	}
	if (m->body_len > fcfg(f)->max_body_bytes) {
		log_warn("%s: state_dir: %s: body larger than "
		    "fetch.max_body_bytes; ignored", src->id, path);
		goto bad;
	}
	return (0);
bad:
	free(*buf);
	*buf = NULL;
	return (-1);
}

/* Create a missing state_dir (0700: cached documents are private). */
void
statedir_ensure(const struct config *cfg)
{
	struct stat st;

	if (cfg->state_dir == NULL || stat(cfg->state_dir, &st) == 0)
		return;
	if (mkdir(cfg->state_dir, 0700) != 0)
		log_warnp("state_dir %s: cannot create it; documents will not be "
		    "cached", cfg->state_dir);
	else
		log_info("state_dir %s: created", cfg->state_dir);
}
