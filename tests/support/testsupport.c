/*
 * testsupport.c: see testsupport.h.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "facts.h"
#include "log.h"
#include "testsupport.h"

static int
hexval(int c)
{
	if (c >= '0' && c <= '9')
		return (c - '0');
	if (c >= 'a' && c <= 'f')
		return (c - 'a' + 10);
	if (c >= 'A' && c <= 'F')
		return (c - 'A' + 10);
	return (-1);
}

size_t
ts_hex(const char *hex, uint8_t *out, size_t cap)
{
	size_t n = 0;
	int hi = -1;

	for (const char *p = hex; *p != '\0'; p++) {
		if (*p == '"') {
			for (p++; *p != '\0' && *p != '"'; p++) {
				if (n >= cap)
					fail_msg("ts_hex: overflow");
				out[n++] = (uint8_t)*p;
			}
			if (*p == '\0')
				fail_msg("ts_hex: unterminated quote");
			continue;
		}
		if (*p == ' ' || *p == '\n' || *p == '\t')
			continue;
		int v = hexval((unsigned char)*p);
		if (v < 0)
			fail_msg("ts_hex: bad digit '%c'", *p);
		if (hi < 0) {
			hi = v;
		} else {
			if (n >= cap)
				fail_msg("ts_hex: overflow");
			out[n++] = (uint8_t)(hi << 4 | v);
			hi = -1;
		}
	}
	if (hi >= 0)
		fail_msg("ts_hex: odd digit count");
	return (n);
}

char *
ts_read_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL;
	size_t cap = 0, n = 0;

	if (f == NULL)
		return (NULL);
	for (;;) {
		if (cap - n < 4096) {
			cap = cap ? cap * 2 : 65536;
			char *nb = realloc(buf, cap + 1);
			if (nb == NULL) {
				free(buf);
				fclose(f);
				return (NULL);
			}
			buf = nb;
		}
		size_t r = fread(buf + n, 1, cap - n, f);
		n += r;
		if (r == 0)
			break;
	}
	fclose(f);
	buf[n] = '\0';
	if (len != NULL)
		*len = n;
	return (buf);
}

const char *
ts_vectors_path(const char *rel)
{
	static char path[4096];
	const char *dir = getenv("SPOA_VECTORS");

	if (dir == NULL || *dir == '\0')
		dir = "../../shared/vectors";
	snprintf(path, sizeof(path), "%s/%s", dir, rel);
	if (access(path, R_OK) != 0) {
		printf("skipped: test vectors %s absent (set SPOA_VECTORS)\n", path);
		return (NULL);
	}
	return (path);
}

const char *
ts_source_path(const char *rel)
{
	static char path[4096];
	const char *dir = getenv("SPOA_SOURCE_DIR");

	snprintf(path, sizeof(path), "%s/%s", dir ? dir : "..", rel);
	return (path);
}

static char *cap_buf;
static size_t cap_len;

static void
capture_sink(void *arg, enum log_level lvl, const char *line)
{
	size_t l = strlen(line);
	char *nb;

	(void)arg;
	(void)lvl;
	nb = realloc(cap_buf, cap_len + l + 1);
	if (nb == NULL)
		return;
	cap_buf = nb;
	memcpy(cap_buf + cap_len, line, l + 1);
	cap_len += l;
}

void
ts_log_capture_start(void)
{
	free(cap_buf);
	cap_buf = NULL;
	cap_len = 0;
	log_set_sink(capture_sink, NULL);
}

const char *
ts_log_captured(void)
{
	return (cap_buf ? cap_buf : "");
}

void
ts_log_capture_stop(void)
{
	log_set_sink(NULL, NULL);
}

void
ts_facts_get(struct facts *f, const char *origin, const char *path)
{
	const char *host = strstr(origin, "://");

	assert_non_null(host);
	memset(f, 0, sizeof(*f));
	f->method.ptr = "GET";
	f->method.len = 3;
	f->scheme.ptr = origin;
	f->scheme.len = (size_t)(host - origin);
	f->host.ptr = host + 3;
	f->host.len = strlen(host + 3);
	f->path.ptr = path;
	f->path.len = strlen(path);
}
