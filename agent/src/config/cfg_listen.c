/*
 * cfg_listen.c: listen addresses and the fetch section.  See cfg_int.h.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "b64url.h"
#include "cert.h"
#include "cidr.h"
#include "claims.h"
#include "fileio.h"
#include "json_doc.h"
#include "json_strict.h"
#include "jwa.h"
#include "log.h"
#include "route.h"
#include "strnum.h"
#include "tenant.h"
#include "url.h"
#include "util.h"
#include "cfg_int.h"
#include "config.h"

/* Listen addresses ------------------------------------------------------ */

void
cfg_parse_listen(struct pctx *c, const char *s, const char *p, bool allow_unix,
    struct listen_addr *la)
{
	const char *host, *port;
	size_t hlen;
	uint64_t v;
	char h[64];
	uint8_t bin[16];

	if ((la->text = cfg_xstrdup(c, s)) == NULL)
		return;
	if (strncmp(s, "unix:", 5) == 0) {
		struct sockaddr_un sun;

		if (!allow_unix) {
			cfg_perr(c, p, "must be host:port or [v6]:port");
			return;
		}
		la->kind = LISTEN_UNIX;
		if (s[5] != '/') {
			cfg_perr(c, p, "unix socket path must be absolute");
			return;
		}
		/* The socket is bound at a temporary name first (path +
		 * ".<pid>.new"), which must fit in sun_path too. */
		if (strlen(s + 5) + LISTEN_UNIX_SUFFIX_MAX >=
		    sizeof(sun.sun_path)) {
			cfg_perr(c, p,
			    "unix socket path too long (max %zu bytes)",
			    sizeof(sun.sun_path) - 1 - LISTEN_UNIX_SUFFIX_MAX);
			return;
		}
		la->path = cfg_xstrdup(c, s + 5);
		return;
	}
	la->kind = LISTEN_TCP;
	if (s[0] == '[') {
		const char *rb = strchr(s, ']');

		if (rb == NULL || rb[1] != ':') {
			cfg_perr(c, p, "must be host:port or [v6]:port%s",
			    allow_unix ? " or unix:/path" : "");
			return;
		}
		host = s + 1;
		hlen = (size_t)(rb - host);
		port = rb + 2;
		if (hlen == 0 || hlen >= sizeof(h)) {
			cfg_perr(c, p, "not an IPv6 address");
			return;
		}
		memcpy(h, host, hlen);
		h[hlen] = '\0';
		if (inet_pton(AF_INET6, h, bin) != 1) {
			cfg_perr(c, p, "not an IPv6 address");
			return;
		}
	} else {
		const char *colon = strrchr(s, ':');

		if (colon == NULL) {
			cfg_perr(c, p, "must be host:port or [v6]:port%s",
			    allow_unix ? " or unix:/path" : "");
			return;
		}
		host = s;
		hlen = (size_t)(colon - s);
		port = colon + 1;
		if (memchr(host, ':', hlen) != NULL) {
			cfg_perr(c, p,
			    "an IPv6 address needs brackets: [v6]:port");
			return;
		}
		if (hlen == 0 || hlen >= sizeof(h)) {
			cfg_perr(c, p,
			    "host must be an IPv4 address or localhost");
			return;
		}
		memcpy(h, host, hlen);
		h[hlen] = '\0';
		if (strcmp(h, "localhost") != 0 &&
		    inet_pton(AF_INET, h, bin) != 1) {
			cfg_perr(c, p,
			    "host must be an IPv4 address or localhost");
			return;
		}
	}
	if (strnum_u64(port, strlen(port), 1, 65535, &v) != 0) {
		cfg_perr(c, p, "port must be 1 to 65535");
		return;
	}
	la->port = (uint16_t)v;
	la->host = cfg_xstrdup(c, h);
}

/* fetch ----------------------------------------------------------------- */

void
cfg_fetch_defaults(struct fetch_cfg *f)
{
	f->connect_timeout_ms = 3000;
	f->timeout_ms = 10000;
	f->max_body_bytes = 1048576;
	f->refresh_min_s = 300;
	f->refresh_max_s = 86400;
	f->backoff_max_s = 300;
	f->max_stale_s = 0;
	f->insecure_skip_verify_for_tests = false;
}

void
cfg_parse_fetch(struct pctx *c, const cJSON *o, struct fetch_cfg *f)
{
	static const char *const keys[] = {
		"connect_timeout_ms", "timeout_ms", "max_body_bytes",
		"refresh_min_s", "refresh_max_s", "backoff_max_s",
		"max_stale_s", "ca_file", "insecure_skip_verify_for_tests",
		NULL
	};
	const char *path = "fetch";
	int rc, rt, rmin, rmax;

	cfg_check_keys(c, o, path, keys);
	rc = cfg_get_u32(c, o, path, "connect_timeout_ms", 100, 60000,
	    &f->connect_timeout_ms);
	rt = cfg_get_u32(c, o, path, "timeout_ms", 100, 300000, &f->timeout_ms);
	(void)cfg_get_u32(c, o, path, "max_body_bytes", 1024, 67108864,
	    &f->max_body_bytes);
	rmin = cfg_get_u32(c, o, path, "refresh_min_s", 1, 86400,
	    &f->refresh_min_s);
	rmax = cfg_get_u32(c, o, path, "refresh_max_s", 1, 604800,
	    &f->refresh_max_s);
	(void)cfg_get_u32(c, o, path, "backoff_max_s", 1, 86400,
	    &f->backoff_max_s);
	(void)cfg_get_u32(c, o, path, "max_stale_s", 0, 31536000,
	    &f->max_stale_s);
	(void)cfg_get_str(c, o, path, "ca_file", false, NULL, SV_PATH,
	    &f->ca_file);
	(void)cfg_get_bool(c, o, path, "insecure_skip_verify_for_tests",
	    &f->insecure_skip_verify_for_tests);
	if (rc != BAD && rt != BAD && f->timeout_ms < f->connect_timeout_ms)
		cfg_perr(c, "fetch.timeout_ms",
		    "must be >= connect_timeout_ms (%u)",
		    f->connect_timeout_ms);
	if (rmin != BAD && rmax != BAD && f->refresh_max_s < f->refresh_min_s)
		cfg_perr(c, "fetch.refresh_max_s",
		    "must be >= refresh_min_s (%u)", f->refresh_min_s);
}
