/*
 * config.c: see config.h.  The only cJSON user among the configuration
 * modules.
 *
 * Shape of the parser: a document is pre-scanned (UTF-8, control bytes,
 * "\u0000"), parsed by cJSON from a NUL-terminated copy, scanned once for
 * duplicate keys, then walked by one function per object kind.  Every
 * function reports what it finds through perr() with the JSON path of the
 * offending value and carries on, so one pass reports every error.  The
 * struct being filled owns everything stored so far, so failure is a plain
 * config_free().  Issuers and routes are parsed by the same functions for
 * the config file and for policy documents; the context (struct pctx)
 * carries what they need from the rest of the configuration.
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
#include "json_strict.h"
#include "jwa.h"
#include "log.h"
#include "route.h"
#include "strnum.h"
#include "tenant.h"
#include "url.h"
#include "util.h"
#include "config.h"

#define CFG_PATH_MAX      256         /* JSON path buffer */
#define CFG_ERRORS_MAX    256         /* errors stored per parse */
#define CFG_FILE_MAX      (4u << 20)  /* config_parse_file() */
#define CFG_DOC_MAX       (64u << 20) /* any document (max_body_bytes cap) */
#define LISTEN_MAX        16
#define CREDENTIALS_MAX   64
#define ISSUERS_MAX       256
#define ROUTES_MAX        4096
#define CLAIM_VARS_MAX    64
#define CLAIM_NAME_MAX    256
#define NAME_MAX_LEN      64
#define VAR_FULL_PREFIX   "txn.iam."
#define VAR_PREFIX        "claim_"
#define VAR_FULL_MAX      63          /* HAProxy variable names: < 64 */

#define MI_DEFAULT_ENDPOINT \
	"http://169.254.169.254/metadata/identity/oauth2/token"
#define MI_DEFAULT_API_VERSION "2018-02-01"

/* Getter results. */
#define ABSENT   0
#define PRESENT  1
#define BAD      (-1)

/* Parse context: error sink and what issuers/routes need from the rest. */
struct pctx {
	struct config_errors *errs;
	size_t nerr;                  /* errors found (stored or not) */
	size_t nstored;               /* errors stored by this parse */
	const char *doc;              /* "config" or the policy document name */
	bool prefixed;                /* prefix paths with doc */
	bool oom;
	const char *base_dir;
	bool insecure;                /* fetch.insecure_skip_verify_for_tests */
	bool have_client_ca;
	const struct credential *creds;
	size_t ncreds;
	const struct issuer_cfg *issuers;
	size_t nissuers;
};

/* Error reporting -------------------------------------------------------- */

static int
errs_push(struct config_errors *errs, const char *line)
{
	char **nv;
	char *d;

	if ((d = strdup(line)) == NULL)
		return (-1);
	if (errs->n >= SIZE_MAX / sizeof(*nv) - 1 ||
	    (nv = realloc(errs->v, (errs->n + 1) * sizeof(*nv))) == NULL) {
		free(d);
		return (-1);
	}
	errs->v = nv;
	errs->v[errs->n++] = d;
	return (0);
}

static void perr(struct pctx *c, const char *path, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void
perr(struct pctx *c, const char *path, const char *fmt, ...)
{
	char msg[512], line[1024];
	va_list ap;

	c->nerr++;
	if (c->nstored >= CFG_ERRORS_MAX)
		return;
	va_start(ap, fmt);
	(void)vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (path[0] == '\0')
		(void)snprintf(line, sizeof(line), "%s: %s", c->doc, msg);
	else if (c->prefixed)
		(void)snprintf(line, sizeof(line), "%s.%s: %s", c->doc, path,
		    msg);
	else
		(void)snprintf(line, sizeof(line), "%s: %s", path, msg);
	if (errs_push(c->errs, line) == 0)
		c->nstored++;
}

static void
oom(struct pctx *c)
{
	if (!c->oom) {
		c->oom = true;
		perr(c, "", "out of memory");
	}
}

/* Close a parse: say how many errors were not stored. */
static void
perr_finish(struct pctx *c)
{
	char line[128];

	if (c->nerr > c->nstored) {
		(void)snprintf(line, sizeof(line),
		    "%s: %zu more errors not shown", c->doc,
		    c->nerr - c->nstored);
		(void)errs_push(c->errs, line);
	}
}

/*
 * Write ${s} into ${out} (${cap} >= 8) as a printable, bounded rendering:
 * at most ${max} source bytes, non-printable bytes as \xNN, '"' and '\'
 * escaped, "..." if cut.
 */
static void
render(char *out, size_t cap, const char *s, size_t max)
{
	static const char hexdig[] = "0123456789abcdef";
	size_t o = 0, i;

	for (i = 0; s[i] != '\0'; i++) {
		unsigned char ch = (unsigned char)s[i];

		if (i >= max || o + 8 >= cap) {
			memcpy(out + o, "...", 3);
			o += 3;
			break;
		}
		if (ch < 0x20 || ch >= 0x7f) {
			out[o++] = '\\';
			out[o++] = 'x';
			out[o++] = hexdig[ch >> 4];
			out[o++] = hexdig[ch & 15];
		} else if (ch == '"' || ch == '\\') {
			out[o++] = '\\';
			out[o++] = (char)ch;
		} else {
			out[o++] = (char)ch;
		}
	}
	out[o] = '\0';
}

/* A quoted value for messages: "\"value\"". */
struct quoted {
	char s[300];
};

static const char *
quote(struct quoted *q, const char *s)
{
	q->s[0] = '"';
	render(q->s + 1, sizeof(q->s) - 2, s, 64);
	size_t n = strlen(q->s);
	q->s[n] = '"';
	q->s[n + 1] = '\0';
	return (q->s);
}

/* Concatenate the NUL-terminated ${parts} into ${out}, truncating. */
static void
path_cat(char *out, size_t cap, const char *const *parts, size_t nparts)
{
	size_t o = 0;

	for (size_t i = 0; i < nparts; i++)
		for (const char *s = parts[i]; *s != '\0' && o + 1 < cap; s++)
			out[o++] = *s;
	out[o] = '\0';
}

static void
path_key(char *out, size_t cap, const char *parent, const char *key)
{
	char k[120];
	const char *parts[3];

	if (key == NULL || key[0] == '\0')
		(void)snprintf(k, sizeof(k), "\"\"");
	else
		render(k, sizeof(k), key, 48);
	parts[0] = parent;
	parts[1] = parent[0] != '\0' ? "." : "";
	parts[2] = k;
	path_cat(out, cap, parts, 3);
}

static void
path_idx(char *out, size_t cap, const char *parent, size_t i)
{
	char idx[32];
	const char *parts[2];

	(void)snprintf(idx, sizeof(idx), "[%zu]", i);
	parts[0] = parent;
	parts[1] = idx;
	path_cat(out, cap, parts, 2);
}

/* Allocation ------------------------------------------------------------- */

static char *
xstrdup(struct pctx *c, const char *s)
{
	char *d;

	if (s == NULL)
		return (NULL);
	if ((d = strdup(s)) == NULL)
		oom(c);
	return (d);
}

static void *
xcalloc(struct pctx *c, size_t n, size_t sz)
{
	void *p;

	if ((p = calloc(n ? n : 1, sz)) == NULL)
		oom(c);
	return (p);
}

/* ${file} as an absolute path when it is relative and base_dir is set. */
static char *
resolve(struct pctx *c, const char *file)
{
	size_t bl, fl;
	char *d;

	if (file[0] == '/' || c->base_dir == NULL || c->base_dir[0] == '\0')
		return (xstrdup(c, file));
	bl = strlen(c->base_dir);
	fl = strlen(file);
	while (bl > 1 && c->base_dir[bl - 1] == '/')
		bl--;
	if ((d = malloc(bl + fl + 2)) == NULL) {
		oom(c);
		return (NULL);
	}
	memcpy(d, c->base_dir, bl);
	d[bl] = '/';
	memcpy(d + bl + 1, file, fl + 1);
	if (bl == 1 && c->base_dir[0] == '/')
		memmove(d + 1, d + 2, fl + 1);
	return (d);
}

/* Small validators (constant message on error, NULL if fine) -------------- */

static bool
is_alnum(unsigned char ch)
{
	return ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
	    (ch >= '0' && ch <= '9'));
}

static void
ascii_lower(char *s)
{
	for (; *s != '\0'; s++)
		*s = util_ascii_lower(*s);
}

static bool
has_ctl(const char *s)
{
	for (; *s != '\0'; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return (true);
	return (false);
}

static const char *
check_name(char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > NAME_MAX_LEN)
		return ("must match [A-Za-z0-9_.-]{1,64}");
	for (; *s != '\0'; s++)
		if (!is_alnum((unsigned char)*s) && *s != '_' && *s != '.' &&
		    *s != '-')
			return ("must match [A-Za-z0-9_.-]{1,64}");
	return (NULL);
}

static const char *
check_env_name(char *s)
{
	static const char msg[] =
	    "must be an environment variable name ([A-Za-z_][A-Za-z0-9_]*)";

	if ((s[0] >= '0' && s[0] <= '9') || strlen(s) > 255)
		return (msg);
	for (; *s != '\0'; s++)
		if (!is_alnum((unsigned char)*s) && *s != '_')
			return (msg);
	return (NULL);
}

static const char *
check_guid(char *s)
{
	size_t i;

	if (strlen(s) != 36)
		return ("not a tenant id (GUID)");
	for (i = 0; i < 36; i++) {
		if (i == 8 || i == 13 || i == 18 || i == 23) {
			if (s[i] != '-')
				return ("not a tenant id (GUID)");
		} else if (util_hexval((unsigned char)s[i]) < 0) {
			return ("not a tenant id (GUID)");
		}
	}
	ascii_lower(s);
	return (NULL);
}

static const char *
check_appid(char *s)
{
	if (strlen(s) > 128)
		return ("must be at most 128 characters");
	for (; *s != '\0'; s++)
		if (!is_alnum((unsigned char)*s) && *s != '-' && *s != '.' &&
		    *s != '_' && *s != '~')
			return ("must contain only unreserved URL characters "
			    "(A-Z a-z 0-9 - . _ ~)");
	return (NULL);
}

/* HTTP method: a token (RFC 9110 tchar) without lowercase letters. */
static const char *
check_method(char *s)
{
	static const char msg[] = "must be an uppercase HTTP method token";

	if (strlen(s) > 32)
		return (msg);
	for (; *s != '\0'; s++) {
		unsigned char ch = (unsigned char)*s;

		if ((ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9'))
			continue;
		if (ch == '\0' || strchr("!#$%&'*+-.^_`|~", ch) == NULL)
			return (msg);
	}
	return (NULL);
}

/* Route host: lowercased, one trailing dot dropped, in place. */
static const char *
check_host(char *s)
{
	static const char msg[] =
	    "must be a host name, *.domain or [IPv6 address], without a port";
	size_t n, label = 0;
	char *p;

	ascii_lower(s);
	n = strlen(s);
	if (n > 0 && s[n - 1] == '.')
		s[--n] = '\0';
	if (n == 0 || n > 253)
		return (msg);
	if (s[0] == '[') {
		char a[64];
		uint8_t bin[16];

		if (s[n - 1] != ']' || n - 2 >= sizeof(a))
			return (msg);
		memcpy(a, s + 1, n - 2);
		a[n - 2] = '\0';
		if (inet_pton(AF_INET6, a, bin) != 1)
			return (msg);
		return (NULL);
	}
	p = s;
	if (p[0] == '*' && p[1] == '.')
		p += 2;
	if (*p == '\0')
		return (msg);
	for (; *p != '\0'; p++) {
		if (*p == '.') {
			if (label == 0)
				return (msg);
			label = 0;
		} else if (is_alnum((unsigned char)*p) || *p == '-' ||
		    *p == '_') {
			if (++label > 63)
				return (msg);
		} else {
			return (msg);
		}
	}
	if (label == 0)
		return (msg);
	return (NULL);
}

/* Certificate serial: hex, ':' allowed; to lowercase without zeros/colons. */
static const char *
check_serial(char *s)
{
	static const char msg[] =
	    "must be a hex serial number (':' separators allowed)";
	size_t o = 0, i, digits = 0;

	for (i = 0; s[i] != '\0'; i++) {
		if (s[i] == ':')
			continue;
		if (util_hexval((unsigned char)s[i]) < 0)
			return (msg);
		digits++;
		if (o == 0 && s[i] == '0')
			continue;
		s[o++] = s[i];
	}
	if (digits == 0 || digits > 64)
		return (msg);
	if (o == 0)
		s[o++] = '0';
	s[o] = '\0';
	ascii_lower(s);
	return (NULL);
}

/*
 * Claim path (claims_get(): dotted, or a JSON Pointer from '/'): no control
 * bytes, no empty dotted segment, pointer escapes "~0"/"~1" only.
 */
static const char *
claim_path_error(const char *s)
{
	size_t n = strlen(s), i;

	if (n == 0 || n > CLAIM_NAME_MAX)
		return ("claim name must be 1 to 256 characters");
	for (i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)s[i];

		if (ch < 0x20 || ch == 0x7f)
			return ("claim name contains a control character");
	}
	if (!claims_path_valid(s))
		return (s[0] == '/' ? "JSON Pointer claim path: '~' must be "
		    "followed by 0 or 1" : "claim name has an empty segment");
	return (NULL);
}

/* URL checks. */
enum url_mode {
	URL_HTTPS,        /* https, or http with insecure_skip_verify_for_tests */
	URL_HTTP_OK,      /* http or https */
};

static const char *
url_error(const struct pctx *c, const char *s, enum url_mode mode)
{
	if (mode == URL_HTTPS && !c->insecure && strncmp(s, "http://", 7) == 0)
		return ("must be an https:// URL (http:// only with "
		    "fetch.insecure_skip_verify_for_tests)");
	if (strncmp(s, "https://", 8) != 0 && strncmp(s, "http://", 7) != 0)
		return (mode == URL_HTTPS ? "must be an https:// URL" :
		    "must be an http:// or https:// URL");
	return (url_check(s, true));
}

/* JSON access ------------------------------------------------------------ */

static const cJSON *
get(const cJSON *o, const char *key)
{
	return (cJSON_GetObjectItemCaseSensitive(o, key));
}

static size_t
count_children(const cJSON *a)
{
	size_t n = 0;

	for (const cJSON *e = a->child; e != NULL; e = e->next)
		n++;
	return (n);
}

static bool
in_list(const char *s, const char *const *list)
{
	if (s == NULL)
		return (false);
	for (; *list != NULL; list++)
		if (strcmp(s, *list) == 0)
			return (true);
	return (false);
}

/*
 * Report every member of ${o} not in ${allowed}.  A member that is in
 * ${other} (keys of another variant, e.g. another credential type) gets
 * "${other_msg}" instead of "unknown key".
 */
static void
check_keys2(struct pctx *c, const cJSON *o, const char *path,
    const char *const *allowed, const char *const *other,
    const char *other_msg)
{
	char p[CFG_PATH_MAX];

	for (const cJSON *m = o->child; m != NULL; m = m->next) {
		if (in_list(m->string, allowed))
			continue;
		path_key(p, sizeof(p), path, m->string);
		if (other != NULL && in_list(m->string, other))
			perr(c, p, "%s", other_msg);
		else
			perr(c, p, "unknown key");
	}
}

static void
check_keys(struct pctx *c, const cJSON *o, const char *path,
    const char *const *allowed)
{
	check_keys2(c, o, path, allowed, NULL, NULL);
}

/* A string value at ${p}: non-empty, no control characters. */
static const char *
str_value(struct pctx *c, const cJSON *it, const char *p)
{
	if (!cJSON_IsString(it) || it->valuestring == NULL) {
		perr(c, p, "must be a string");
		return (NULL);
	}
	if (it->valuestring[0] == '\0') {
		perr(c, p, "must not be empty");
		return (NULL);
	}
	if (has_ctl(it->valuestring)) {
		perr(c, p, "must not contain control characters");
		return (NULL);
	}
	return (it->valuestring);
}

/* ${key} of ${o} as a borrowed string in *${out}. */
static int
get_sval(struct pctx *c, const cJSON *o, const char *path, const char *key,
    bool required, const char **out)
{
	char p[CFG_PATH_MAX];
	const cJSON *it = get(o, key);

	path_key(p, sizeof(p), path, key);
	if (it == NULL) {
		if (!required)
			return (ABSENT);
		perr(c, p, "required");
		return (BAD);
	}
	if ((*out = str_value(c, it, p)) == NULL)
		return (BAD);
	return (PRESENT);
}

typedef const char *str_check_fn(char *s);

enum {
	SV_PATH = 1,      /* resolve against base_dir */
	SV_LOWER = 2,     /* ASCII lowercase */
};

/*
 * ${key} of ${o} as a new string in *${out} (freed by the caller), checked
 * by ${check} (may be NULL) after the ${flags} transformations.
 */
static int
get_str(struct pctx *c, const cJSON *o, const char *path, const char *key,
    bool required, str_check_fn *check, unsigned flags, char **out)
{
	char p[CFG_PATH_MAX];
	const char *s, *msg;
	char *d;
	int r;

	if ((r = get_sval(c, o, path, key, required, &s)) != PRESENT)
		return (r);
	d = (flags & SV_PATH) ? resolve(c, s) : xstrdup(c, s);
	if (d == NULL)
		return (BAD);
	if (flags & SV_LOWER)
		ascii_lower(d);
	if (check != NULL && (msg = check(d)) != NULL) {
		path_key(p, sizeof(p), path, key);
		perr(c, p, "%s", msg);
		free(d);
		return (BAD);
	}
	free(*out);
	*out = d;
	return (PRESENT);
}

static int
get_url(struct pctx *c, const cJSON *o, const char *path, const char *key,
    bool required, enum url_mode mode, char **out)
{
	char p[CFG_PATH_MAX];
	const char *s, *msg;
	int r;

	if ((r = get_sval(c, o, path, key, required, &s)) != PRESENT)
		return (r);
	if ((msg = url_error(c, s, mode)) != NULL) {
		path_key(p, sizeof(p), path, key);
		perr(c, p, "%s", msg);
		return (BAD);
	}
	free(*out);
	if ((*out = xstrdup(c, s)) == NULL)
		return (BAD);
	return (PRESENT);
}

static int
get_u32(struct pctx *c, const cJSON *o, const char *path, const char *key,
    uint32_t min, uint32_t max, uint32_t *out)
{
	char p[CFG_PATH_MAX];
	const cJSON *it = get(o, key);
	double d;

	if (it == NULL)
		return (ABSENT);
	d = cJSON_IsNumber(it) ? it->valuedouble : NAN;
	if (!isfinite(d) || d < (double)min || d > (double)max ||
	    (double)(uint32_t)d != d) {
		path_key(p, sizeof(p), path, key);
		perr(c, p, "must be an integer from %u to %u", min, max);
		return (BAD);
	}
	*out = (uint32_t)d;
	return (PRESENT);
}

static int
get_bool(struct pctx *c, const cJSON *o, const char *path, const char *key,
    bool *out)
{
	char p[CFG_PATH_MAX];
	const cJSON *it = get(o, key);

	if (it == NULL)
		return (ABSENT);
	if (!cJSON_IsBool(it)) {
		path_key(p, sizeof(p), path, key);
		perr(c, p, "must be true or false");
		return (BAD);
	}
	*out = cJSON_IsTrue(it);
	return (PRESENT);
}

/* The object at ${key}, or NULL (reported if present but not an object). */
static const cJSON *
get_obj(struct pctx *c, const cJSON *o, const char *path, const char *key)
{
	char p[CFG_PATH_MAX];
	const cJSON *it = get(o, key);

	if (it != NULL && !cJSON_IsObject(it)) {
		path_key(p, sizeof(p), path, key);
		perr(c, p, "must be an object");
		return (NULL);
	}
	return (it);
}

static void
count_error(struct pctx *c, const char *p, size_t min, size_t max)
{
	if (min == 1 && max == SIZE_MAX)
		perr(c, p, "must not be empty");
	else if (max == SIZE_MAX)
		perr(c, p, "must have at least %zu entries", min);
	else
		perr(c, p, "must have %zu to %zu entries", min, max);
}

/* The array ${it} at ${p} with ${min}..${max} entries; its size in *${n}. */
static bool
array_ok(struct pctx *c, const cJSON *it, const char *p, const char *what,
    size_t min, size_t max, size_t *n)
{
	if (!cJSON_IsArray(it)) {
		perr(c, p, "must be an array of %s", what);
		return (false);
	}
	*n = count_children(it);
	if (*n < min || *n > max) {
		count_error(c, p, min, max);
		return (false);
	}
	return (true);
}

/* A string list from the array ${it} at ${p}. */
static int
strlist_from(struct pctx *c, const cJSON *it, const char *p, size_t min,
    size_t max, str_check_fn *check, unsigned flags, struct strlist *out)
{
	char ep[CFG_PATH_MAX];
	const char *s, *msg;
	size_t n, i = 0;
	int ret = PRESENT;

	if (!array_ok(c, it, p, "strings", min, max, &n))
		return (BAD);
	if (n == 0)
		return (PRESENT);
	if ((out->v = xcalloc(c, n, sizeof(*out->v))) == NULL)
		return (BAD);
	for (const cJSON *e = it->child; e != NULL; e = e->next, i++) {
		char *d;

		path_idx(ep, sizeof(ep), p, i);
		if ((s = str_value(c, e, ep)) == NULL) {
			ret = BAD;
			continue;
		}
		d = (flags & SV_PATH) ? resolve(c, s) : xstrdup(c, s);
		if (d == NULL) {
			ret = BAD;
			continue;
		}
		if (flags & SV_LOWER)
			ascii_lower(d);
		if (check != NULL && (msg = check(d)) != NULL) {
			perr(c, ep, "%s", msg);
			free(d);
			ret = BAD;
			continue;
		}
		out->v[out->n++] = d;
	}
	return (ret);
}

static int
get_strlist(struct pctx *c, const cJSON *o, const char *path,
    const char *key, size_t min, size_t max, str_check_fn *check,
    unsigned flags, struct strlist *out)
{
	char p[CFG_PATH_MAX];
	const cJSON *it = get(o, key);

	if (it == NULL)
		return (ABSENT);
	path_key(p, sizeof(p), path, key);
	return (strlist_from(c, it, p, min, max, check, flags, out));
}

static int
get_urllist(struct pctx *c, const cJSON *o, const char *path,
    const char *key, enum url_mode mode, struct strlist *out)
{
	char p[CFG_PATH_MAX], ep[CFG_PATH_MAX];
	const char *msg;
	int r;

	if ((r = get_strlist(c, o, path, key, 0, SIZE_MAX, NULL, 0, out)) !=
	    PRESENT)
		return (r);
	path_key(p, sizeof(p), path, key);
	for (size_t i = 0; i < out->n; i++) {
		if ((msg = url_error(c, out->v[i], mode)) != NULL) {
			path_idx(ep, sizeof(ep), p, i);
			perr(c, ep, "%s", msg);
			r = BAD;
		}
	}
	return (r);
}

/* Unique names --------------------------------------------------------- */

struct name_ref {
	const char *name;
	size_t idx;
};

static int
name_ref_cmp(const void *a, const void *b)
{
	const struct name_ref *x = a, *y = b;
	int r = strcmp(x->name, y->name);

	if (r != 0)
		return (r);
	return ((x->idx > y->idx) - (x->idx < y->idx));
}

/*
 * Report "${arr}[j].${field}: duplicate ${what} "x" (first at ${arr}[i])"
 * for every name of ${names} (${n} entries, NULL skipped) seen before.
 * O(n log n): arrays may be long in hostile documents.
 */
static void
check_unique(struct pctx *c, const char *arr, const char *field,
    const char *what, const char *const *names, size_t n)
{
	char p[CFG_PATH_MAX], q[CFG_PATH_MAX];
	struct name_ref *refs;
	struct quoted qn;
	size_t m = 0, i, first = 0;

	if (n < 2)
		return;
	if ((refs = xcalloc(c, n, sizeof(*refs))) == NULL)
		return;
	for (i = 0; i < n; i++)
		if (names[i] != NULL)
			refs[m++] = (struct name_ref){ names[i], i };
	qsort(refs, m, sizeof(*refs), name_ref_cmp);
	for (i = 1; i < m; i++) {
		if (strcmp(refs[i].name, refs[i - 1].name) != 0) {
			first = i;
			continue;
		}
		path_idx(q, sizeof(q), arr, refs[i].idx);
		if (field != NULL)
			path_key(p, sizeof(p), q, field);
		else
			(void)snprintf(p, sizeof(p), "%s", q);
		path_idx(q, sizeof(q), arr, refs[first].idx);
		perr(c, p, "duplicate %s %s (first at %s%s%s)", what,
		    quote(&qn, refs[i].name), c->prefixed ? c->doc : "",
		    c->prefixed ? "." : "", q);
	}
	free(refs);
}

/* Duplicate keys anywhere in the tree (cJSON keeps both members). */
static void
check_dups(struct pctx *c, const cJSON *it, const char *path)
{
	char p[CFG_PATH_MAX];
	const cJSON *e;
	size_t n, i;

	if (cJSON_IsArray(it)) {
		i = 0;
		for (e = it->child; e != NULL; e = e->next, i++) {
			if (e->child == NULL)
				continue;
			path_idx(p, sizeof(p), path, i);
			check_dups(c, e, p);
		}
		return;
	}
	if (!cJSON_IsObject(it) || it->child == NULL)
		return;
	n = count_children(it);
	if (n > 1) {
		struct name_ref *refs = xcalloc(c, n, sizeof(*refs));

		if (refs == NULL)
			return;
		i = 0;
		for (e = it->child; e != NULL; e = e->next, i++)
			refs[i] = (struct name_ref){
			    e->string != NULL ? e->string : "", i };
		qsort(refs, n, sizeof(*refs), name_ref_cmp);
		for (i = 1; i < n; i++) {
			if (strcmp(refs[i].name, refs[i - 1].name) != 0)
				continue;
			if (i >= 2 && strcmp(refs[i].name,
			    refs[i - 2].name) == 0)
				continue;       /* reported once per key */
			path_key(p, sizeof(p), path, refs[i].name);
			perr(c, p, "duplicate key");
		}
		free(refs);
	}
	for (e = it->child; e != NULL; e = e->next) {
		if (e->child == NULL)
			continue;
		path_key(p, sizeof(p), path, e->string);
		check_dups(c, e, p);
	}
}

/* Loading the JSON text ------------------------------------------------ */

/*
 * Reject what cJSON would accept or silently truncate: invalid UTF-8,
 * control bytes (raw, or "\u0000" which would cut a C string short).
 * Return 0, or -1 with *${off} and *${why} set.
 */
static int
json_prescan(const char *buf, size_t len, size_t *off, const char **why)
{
	const unsigned char *b = (const unsigned char *)buf;
	bool in_str = false;
	size_t i = 0, n;

	while (i < len) {
		unsigned char ch = b[i];

		*off = i;
		if (ch >= 0x80) {
			if ((n = json_strict_utf8_len(b + i, len - i)) == 0) {
				*why = "invalid UTF-8";
				return (-1);
			}
			i += n;
			continue;
		}
		if (ch < 0x20 && (in_str || (ch != '\t' && ch != '\n' &&
		    ch != '\r'))) {
			*why = "control character";
			return (-1);
		}
		if (in_str && ch == '\\') {
			if (len - i >= 6 && b[i + 1] == 'u' &&
			    memcmp(b + i + 2, "0000", 4) == 0) {
				*why = "\\u0000 in a string";
				return (-1);
			}
			i += 2;          /* the escaped byte is ASCII or caught by cJSON */
			continue;
		}
		if (ch == '"')
			in_str = !in_str;
		i++;
	}
	return (0);
}

static void
line_col(const char *buf, size_t off, size_t *line, size_t *col)
{
	size_t i, l = 1, last = 0;

	for (i = 0; i < off; i++) {
		if (buf[i] == '\n') {
			l++;
			last = i + 1;
		}
	}
	*line = l;
	*col = off - last + 1;
}

/* Parse ${buf}; NULL after reporting if it is not one JSON object. */
static cJSON *
json_load(struct pctx *c, const char *buf, size_t len)
{
	const char *why, *end = NULL;
	size_t off = 0, line, col;
	cJSON *root = NULL;
	char *copy;

	if (buf == NULL || len == 0) {
		perr(c, "", "empty document");
		return (NULL);
	}
	if (len > CFG_DOC_MAX) {
		perr(c, "", "document too large (%zu bytes, max %u)", len,
		    CFG_DOC_MAX);
		return (NULL);
	}
	if (json_prescan(buf, len, &off, &why) != 0) {
		line_col(buf, off, &line, &col);
		perr(c, "", "invalid JSON at line %zu, column %zu: %s", line,
		    col, why);
		return (NULL);
	}
	/* cJSON gets a NUL-terminated copy: it never reads past it. */
	if ((copy = malloc(len + 1)) == NULL) {
		oom(c);
		return (NULL);
	}
	memcpy(copy, buf, len);
	copy[len] = '\0';
	root = cJSON_ParseWithLengthOpts(copy, len, &end, 0);
	if (root == NULL) {
		off = (end != NULL && end >= copy && end <= copy + len) ?
		    (size_t)(end - copy) : 0;
		line_col(copy, off, &line, &col);
		perr(c, "", "invalid JSON at line %zu, column %zu", line, col);
		goto out;
	}
	off = (size_t)(end - copy);
	while (off < len && (copy[off] == ' ' || copy[off] == '\t' ||
	    copy[off] == '\n' || copy[off] == '\r'))
		off++;
	if (off < len) {
		line_col(copy, off, &line, &col);
		perr(c, "", "unexpected data after the JSON document at line "
		    "%zu, column %zu", line, col);
		cJSON_Delete(root);
		root = NULL;
		goto out;
	}
	if (!cJSON_IsObject(root)) {
		perr(c, "", "must be a JSON object");
		cJSON_Delete(root);
		root = NULL;
	}
out:
	free(copy);
	return (root);
}

/* Listen addresses ------------------------------------------------------ */

static void
parse_listen(struct pctx *c, const char *s, const char *p, bool allow_unix,
    struct listen_addr *la)
{
	const char *host, *port;
	size_t hlen;
	uint64_t v;
	char h[64];
	uint8_t bin[16];

	if ((la->text = xstrdup(c, s)) == NULL)
		return;
	if (strncmp(s, "unix:", 5) == 0) {
		struct sockaddr_un sun;

		if (!allow_unix) {
			perr(c, p, "must be host:port or [v6]:port");
			return;
		}
		la->kind = LISTEN_UNIX;
		if (s[5] != '/') {
			perr(c, p, "unix socket path must be absolute");
			return;
		}
		if (strlen(s + 5) >= sizeof(sun.sun_path)) {
			perr(c, p, "unix socket path too long (max %zu bytes)",
			    sizeof(sun.sun_path) - 1);
			return;
		}
		la->path = xstrdup(c, s + 5);
		return;
	}
	la->kind = LISTEN_TCP;
	if (s[0] == '[') {
		const char *rb = strchr(s, ']');

		if (rb == NULL || rb[1] != ':') {
			perr(c, p, "must be host:port or [v6]:port%s",
			    allow_unix ? " or unix:/path" : "");
			return;
		}
		host = s + 1;
		hlen = (size_t)(rb - host);
		port = rb + 2;
		if (hlen == 0 || hlen >= sizeof(h)) {
			perr(c, p, "not an IPv6 address");
			return;
		}
		memcpy(h, host, hlen);
		h[hlen] = '\0';
		if (inet_pton(AF_INET6, h, bin) != 1) {
			perr(c, p, "not an IPv6 address");
			return;
		}
	} else {
		const char *colon = strrchr(s, ':');

		if (colon == NULL) {
			perr(c, p, "must be host:port or [v6]:port%s",
			    allow_unix ? " or unix:/path" : "");
			return;
		}
		host = s;
		hlen = (size_t)(colon - s);
		port = colon + 1;
		if (memchr(host, ':', hlen) != NULL) {
			perr(c, p, "an IPv6 address needs brackets: [v6]:port");
			return;
		}
		if (hlen == 0 || hlen >= sizeof(h)) {
			perr(c, p, "host must be an IPv4 address or localhost");
			return;
		}
		memcpy(h, host, hlen);
		h[hlen] = '\0';
		if (strcmp(h, "localhost") != 0 &&
		    inet_pton(AF_INET, h, bin) != 1) {
			perr(c, p, "host must be an IPv4 address or localhost");
			return;
		}
	}
	if (strnum_u64(port, strlen(port), 1, 65535, &v) != 0) {
		perr(c, p, "port must be 1 to 65535");
		return;
	}
	la->port = (uint16_t)v;
	la->host = xstrdup(c, h);
}

/* fetch ----------------------------------------------------------------- */

/* Top-level integer keys: default and range (README "Top level"). */
static const struct {
	const char *key;
	uint32_t def, min, max;
	size_t off;
} top_u32[] = {
#define U32(k, d, lo, hi) { #k, d, lo, hi, offsetof(struct config, k) }
	U32(token_cache_entries, 65536, 0, 16777216),
	U32(cert_cache_entries, 4096, 0, 1048576),
	U32(max_token_bytes, 8192, 512, 65536),
	U32(max_frame_size, 65532, 256, 16777215),
	U32(park_timeout_ms, 1500, 0, 10000),
	U32(max_connections, 0, 0, 1048576),
	U32(idle_timeout_ms, 60000, 0, 86400000),
	U32(frame_timeout_ms, 5000, 100, 600000),
	U32(partial_frames_max_bytes, 16777216, 262144, 1073741824),
	U32(kid_refetch_interval_ms, 1000, 100, 600000),
	U32(kid_negative_ttl_s, 60, 1, 3600),
	/* Replaced by the two above; parsed only to be warned about (0: not
	 * given). */
	U32(kid_refetch_cooldown_s, 0, 1, 3600),
#undef U32
};

static void
fetch_defaults(struct fetch_cfg *f)
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

static void
parse_fetch(struct pctx *c, const cJSON *o, struct fetch_cfg *f)
{
	static const char *const keys[] = {
		"connect_timeout_ms", "timeout_ms", "max_body_bytes",
		"refresh_min_s", "refresh_max_s", "backoff_max_s",
		"max_stale_s", "ca_file", "insecure_skip_verify_for_tests",
		NULL
	};
	const char *path = "fetch";
	int rc, rt, rmin, rmax;

	check_keys(c, o, path, keys);
	rc = get_u32(c, o, path, "connect_timeout_ms", 100, 60000,
	    &f->connect_timeout_ms);
	rt = get_u32(c, o, path, "timeout_ms", 100, 300000, &f->timeout_ms);
	(void)get_u32(c, o, path, "max_body_bytes", 1024, 67108864,
	    &f->max_body_bytes);
	rmin = get_u32(c, o, path, "refresh_min_s", 1, 86400,
	    &f->refresh_min_s);
	rmax = get_u32(c, o, path, "refresh_max_s", 1, 604800,
	    &f->refresh_max_s);
	(void)get_u32(c, o, path, "backoff_max_s", 1, 86400,
	    &f->backoff_max_s);
	(void)get_u32(c, o, path, "max_stale_s", 0, 31536000,
	    &f->max_stale_s);
	(void)get_str(c, o, path, "ca_file", false, NULL, SV_PATH,
	    &f->ca_file);
	(void)get_bool(c, o, path, "insecure_skip_verify_for_tests",
	    &f->insecure_skip_verify_for_tests);
	if (rc != BAD && rt != BAD && f->timeout_ms < f->connect_timeout_ms)
		perr(c, "fetch.timeout_ms",
		    "must be >= connect_timeout_ms (%u)",
		    f->connect_timeout_ms);
	if (rmin != BAD && rmax != BAD && f->refresh_max_s < f->refresh_min_s)
		perr(c, "fetch.refresh_max_s",
		    "must be >= refresh_min_s (%u)", f->refresh_min_s);
}

/* credentials ----------------------------------------------------------- */

static const char *const cred_mi_keys[] = {
	"name", "type", "endpoint", "resource", "client_id", "api_version",
	NULL
};
static const char *const cred_cc_keys[] = {
	"name", "type", "token_url", "client_id", "client_secret_file",
	"client_secret_env", "scope", "ca_file", NULL
};
static const char *const cred_cert_keys[] = {
	"name", "type", "cert_file", "key_file", NULL
};
static const char *const cred_all_keys[] = {
	"name", "type", "endpoint", "resource", "client_id", "api_version",
	"token_url", "client_secret_file", "client_secret_env", "scope",
	"ca_file", "cert_file", "key_file", NULL
};

static void
parse_credential(struct pctx *c, const cJSON *o, const char *path,
    struct credential *cr)
{
	const char *type = NULL;
	char p[CFG_PATH_MAX];
	struct quoted q;
	int rt, nsec;

	(void)get_str(c, o, path, "name", true, check_name, 0, &cr->name);
	rt = get_sval(c, o, path, "type", true, &type);
	if (rt != PRESENT) {
		check_keys(c, o, path, cred_all_keys);
		return;
	}
	path_key(p, sizeof(p), path, "type");
	if (strcmp(type, "managed_identity") == 0) {
		cr->type = CRED_MANAGED_IDENTITY;
		check_keys2(c, o, path, cred_mi_keys, cred_all_keys,
		    "not allowed with type \"managed_identity\"");
		if (get_url(c, o, path, "endpoint", false, URL_HTTP_OK,
		    &cr->endpoint) == ABSENT)
			cr->endpoint = xstrdup(c, MI_DEFAULT_ENDPOINT);
		(void)get_str(c, o, path, "resource", true, NULL, 0,
		    &cr->resource);
		(void)get_str(c, o, path, "client_id", false, NULL, 0,
		    &cr->client_id);
		if (get_str(c, o, path, "api_version", false, NULL, 0,
		    &cr->api_version) == ABSENT)
			cr->api_version = xstrdup(c, MI_DEFAULT_API_VERSION);
	} else if (strcmp(type, "client_credentials") == 0) {
		cr->type = CRED_CLIENT_CREDENTIALS;
		check_keys2(c, o, path, cred_cc_keys, cred_all_keys,
		    "not allowed with type \"client_credentials\"");
		(void)get_url(c, o, path, "token_url", true, URL_HTTPS,
		    &cr->token_url);
		(void)get_str(c, o, path, "client_id", true, NULL, 0,
		    &cr->client_id);
		nsec = (get(o, "client_secret_file") != NULL) +
		    (get(o, "client_secret_env") != NULL);
		if (nsec != 1)
			perr(c, path, "exactly one of client_secret_file, "
			    "client_secret_env is required");
		(void)get_str(c, o, path, "client_secret_file", false, NULL,
		    SV_PATH, &cr->client_secret_file);
		(void)get_str(c, o, path, "client_secret_env", false,
		    check_env_name, 0, &cr->client_secret_env);
		(void)get_str(c, o, path, "scope", false, NULL, 0, &cr->scope);
		(void)get_str(c, o, path, "ca_file", false, NULL, SV_PATH,
		    &cr->ca_file);
	} else if (strcmp(type, "client_certificate") == 0) {
		cr->type = CRED_CLIENT_CERT;
		check_keys2(c, o, path, cred_cert_keys, cred_all_keys,
		    "not allowed with type \"client_certificate\"");
		(void)get_str(c, o, path, "cert_file", true, NULL, SV_PATH,
		    &cr->cert_file);
		(void)get_str(c, o, path, "key_file", true, NULL, SV_PATH,
		    &cr->key_file);
	} else {
		perr(c, p, "unknown credential type %s (managed_identity, "
		    "client_credentials or client_certificate)",
		    quote(&q, type));
		check_keys(c, o, path, cred_all_keys);
	}
}

static void
parse_credentials(struct pctx *c, const cJSON *root, struct config *cfg)
{
	const char *names[CREDENTIALS_MAX];
	char p[CFG_PATH_MAX];
	const cJSON *it = get(root, "credentials");
	size_t n, i = 0;

	if (it == NULL)
		return;
	if (!array_ok(c, it, "credentials", "objects", 0, CREDENTIALS_MAX, &n)
	    || n == 0)
		return;
	if ((cfg->credentials = xcalloc(c, n, sizeof(*cfg->credentials))) ==
	    NULL)
		return;
	cfg->ncredentials = n;
	for (const cJSON *e = it->child; e != NULL; e = e->next, i++) {
		path_idx(p, sizeof(p), "credentials", i);
		if (!cJSON_IsObject(e))
			perr(c, p, "must be an object");
		else
			parse_credential(c, e, p, &cfg->credentials[i]);
		names[i] = cfg->credentials[i].name;
	}
	check_unique(c, "credentials", "name", "name", names, n);
}

static bool
credential_exists(const struct pctx *c, const char *name)
{
	for (size_t i = 0; i < c->ncreds; i++)
		if (c->creds[i].name != NULL &&
		    strcmp(c->creds[i].name, name) == 0)
			return (true);
	return (false);
}

/* ${key} of ${o}: the name of an entry of credentials. */
static void
get_credential_ref(struct pctx *c, const cJSON *o, const char *path,
    const char *key, char **out)
{
	char p[CFG_PATH_MAX];
	struct quoted q;

	if (get_str(c, o, path, key, false, NULL, 0, out) != PRESENT)
		return;
	if (!credential_exists(c, *out)) {
		path_key(p, sizeof(p), path, key);
		perr(c, p, "no credential named %s", quote(&q, *out));
	}
}

/* issuers --------------------------------------------------------------- */

static const char *const issuer_keys[] = {
	"name", "issuer", "discovery_url", "jwks_url", "jwks_file", "appid",
	"audiences", "algorithms", "hmac_secret_file", "hmac_secret_env",
	"clock_skew_s", "require_exp", "max_lifetime_s", "typ", "tenants",
	"allow_any_tenant", "roles_claim", "scopes_claim", "ca_file",
	"credential", NULL
};

/*
 * "typ": the accepted typ header values; null in the list accepts a token
 * without typ (Okta access tokens carry none), explicitly.
 */
static void
parse_typ(struct pctx *c, const cJSON *o, const char *path,
    struct issuer_cfg *is)
{
	char p[CFG_PATH_MAX], ep[CFG_PATH_MAX];
	const cJSON *it = get(o, "typ");
	size_t n, i = 0;

	if (it == NULL)
		return;
	path_key(p, sizeof(p), path, "typ");
	if (!array_ok(c, it, p, "strings (or null for no typ)", 1, SIZE_MAX,
	    &n))
		return;
	is->typ_check = true;
	if ((is->typ.v = xcalloc(c, n, sizeof(*is->typ.v))) == NULL)
		return;
	for (const cJSON *e = it->child; e != NULL; e = e->next, i++) {
		const char *v;

		path_idx(ep, sizeof(ep), p, i);
		if (cJSON_IsNull(e)) {
			if (is->typ_absent_ok)
				perr(c, ep, "null given twice");
			is->typ_absent_ok = true;
			continue;
		}
		if ((v = str_value(c, e, ep)) == NULL)
			continue;
		if ((is->typ.v[is->typ.n] = xstrdup(c, v)) != NULL)
			is->typ.n++;
	}
}

/* "roles_claim" / "scopes_claim": one claim path or an array of them. */
static void
parse_word_claims(struct pctx *c, const cJSON *o, const char *path,
    const char *key, struct strlist *out)
{
	char p[CFG_PATH_MAX], ep[CFG_PATH_MAX];
	const cJSON *it = get(o, key);
	const char *msg;

	if (it == NULL)
		return;
	path_key(p, sizeof(p), path, key);
	if (cJSON_IsString(it)) {
		const char *v = str_value(c, it, p);

		if (v == NULL)
			return;
		if ((msg = claim_path_error(v)) != NULL) {
			perr(c, p, "%s", msg);
			return;
		}
		if ((out->v = xcalloc(c, 1, sizeof(char *))) != NULL &&
		    (out->v[0] = xstrdup(c, v)) != NULL)
			out->n = 1;
		return;
	}
	if (!cJSON_IsArray(it)) {
		perr(c, p, "must be a claim path or an array of them");
		return;
	}
	if (strlist_from(c, it, p, 1, CLAIMS_SOURCES_MAX, NULL, 0, out) !=
	    PRESENT)
		return;
	for (size_t i = 0; i < out->n; i++) {
		if ((msg = claim_path_error(out->v[i])) != NULL) {
			path_idx(ep, sizeof(ep), p, i);
			perr(c, ep, "%s", msg);
		}
	}
}

static void
parse_issuer_values(struct pctx *c, const cJSON *o, const char *path,
    struct issuer_cfg *is)
{
	char p[CFG_PATH_MAX], ep[CFG_PATH_MAX];
	const cJSON *it = get(o, "issuer");
	const char *s;
	size_t i;

	path_key(p, sizeof(p), path, "issuer");
	if (it == NULL) {
		perr(c, p, "required");
		return;
	}
	if (cJSON_IsString(it)) {
		if ((s = str_value(c, it, p)) == NULL)
			return;
		if ((is->issuer.v = xcalloc(c, 1, sizeof(char *))) == NULL ||
		    (is->issuer.v[0] = xstrdup(c, s)) == NULL)
			return;
		is->issuer.n = 1;
	} else if (cJSON_IsArray(it)) {
		if (strlist_from(c, it, p, 1, SIZE_MAX, NULL, 0, &is->issuer) !=
		    PRESENT)
			return;
	} else {
		perr(c, p, "must be a string or an array of strings");
		return;
	}
	for (i = 0; i < is->issuer.n; i++) {
		size_t k = tenant_placeholder_count(is->issuer.v[i]);

		if (k > 1) {
			if (cJSON_IsArray(it))
				path_idx(ep, sizeof(ep), p, i);
			else
				(void)snprintf(ep, sizeof(ep), "%s", p);
			perr(c, ep, "a tenant placeholder ({tenant} or "
			    "{tenantid}) may appear at most once");
		}
		if (k > 0)
			is->templated = true;
	}
}

static void
parse_issuer(struct pctx *c, const cJSON *o, const char *path,
    struct issuer_cfg *is)
{
	static const char *const src_keys[] = {
		"discovery_url", "jwks_url", "jwks_file"
	};
	char p[CFG_PATH_MAX], ep[CFG_PATH_MAX];
	char *loc[3] = { NULL, NULL, NULL };   /* in enum key_source order */
	const cJSON *algs;
	struct quoted q;
	bool algs_bad = false;
	int nsrc = 0, nsec, rt;
	size_t i;

	check_keys(c, o, path, issuer_keys);
	(void)get_str(c, o, path, "name", true, check_name, 0, &is->name);
	parse_issuer_values(c, o, path, is);

	for (i = 0; i < ARRAY_SIZE(src_keys); i++)
		if (get(o, src_keys[i]) != NULL)
			nsrc++;
	if (nsrc > 1)
		perr(c, path, "exactly one of discovery_url, jwks_url, "
		    "jwks_file is required");
	/* Parse each given source (to report its errors); keep the first. */
	(void)get_url(c, o, path, "discovery_url", false, URL_HTTPS, &loc[0]);
	(void)get_url(c, o, path, "jwks_url", false, URL_HTTPS, &loc[1]);
	(void)get_str(c, o, path, "jwks_file", false, NULL, SV_PATH, &loc[2]);
	for (i = 0; i < ARRAY_SIZE(loc); i++) {
		if (loc[i] != NULL && is->source_location == NULL) {
			is->source_location = loc[i];
			is->source = (enum key_source)i;
		} else {
			free(loc[i]);
		}
	}

	(void)get_str(c, o, path, "appid", false, check_appid, 0, &is->appid);
	rt = get_strlist(c, o, path, "audiences", 1, SIZE_MAX, NULL, 0,
	    &is->audiences);
	if (rt == ABSENT) {
		path_key(p, sizeof(p), path, "audiences");
		perr(c, p, "required");
	}

	is->algorithms = JWS_ALG_ASYMMETRIC_MASK;
	if ((algs = get(o, "algorithms")) != NULL) {
		size_t n;

		path_key(p, sizeof(p), path, "algorithms");
		is->algorithms = 0;
		algs_bad = true;
		if (array_ok(c, algs, p, "strings", 1, SIZE_MAX, &n)) {
			algs_bad = false;
			i = 0;
			for (const cJSON *e = algs->child; e != NULL;
			    e = e->next, i++) {
				const char *s;
				int a;

				path_idx(ep, sizeof(ep), p, i);
				if ((s = str_value(c, e, ep)) == NULL) {
					algs_bad = true;
					continue;
				}
				if ((a = jwa_parse(s, strlen(s))) < 0) {
					perr(c, ep, "unknown algorithm %s",
					    quote(&q, s));
					algs_bad = true;
					continue;
				}
				is->algorithms |= JWS_ALG_BIT(a);
			}
		}
	}

	/* A shared secret and public keys never serve one issuer (RFC 8725
	 * §3.1, Wycheproof MixedKeySet): an HS-only issuer takes no key
	 * source, any other needs exactly one. */
	bool hs_only = is->algorithms != 0 && !algs_bad &&
	    (is->algorithms & ~JWS_ALG_HMAC_MASK) == 0;
	if (!algs_bad && (is->algorithms & JWS_ALG_HMAC_MASK) && !hs_only) {
		path_key(p, sizeof(p), path, "algorithms");
		perr(c, p, "HS256/HS384/HS512 cannot be mixed with asymmetric "
		    "algorithms in one issuer (use two issuers)");
	} else if (hs_only && nsrc > 0) {
		perr(c, path, "an issuer with only HS256/HS384/HS512 takes no "
		    "discovery_url, jwks_url or jwks_file");
	} else if (nsrc == 0 && !hs_only) {
		perr(c, path, "exactly one of discovery_url, jwks_url, "
		    "jwks_file is required");
	}
	if (nsrc == 0)
		is->source = KEYS_NONE;

	nsec = (get(o, "hmac_secret_file") != NULL) +
	    (get(o, "hmac_secret_env") != NULL);
	(void)get_str(c, o, path, "hmac_secret_file", false, NULL, SV_PATH,
	    &is->hmac_secret_file);
	(void)get_str(c, o, path, "hmac_secret_env", false, check_env_name, 0,
	    &is->hmac_secret_env);
	if (is->algorithms & JWS_ALG_HMAC_MASK) {
		if (nsec != 1)
			perr(c, path, "HS256/HS384/HS512 require exactly one "
			    "of hmac_secret_file, hmac_secret_env");
	} else if (nsec > 0 && !algs_bad) {
		path_key(p, sizeof(p), path, get(o, "hmac_secret_file") ?
		    "hmac_secret_file" : "hmac_secret_env");
		perr(c, p, "requires an HS256, HS384 or HS512 algorithm");
	}

	is->clock_skew_s = 60;
	(void)get_u32(c, o, path, "clock_skew_s", 0, 600, &is->clock_skew_s);
	is->require_exp = true;
	(void)get_bool(c, o, path, "require_exp", &is->require_exp);
	is->max_lifetime_s = 0;
	(void)get_u32(c, o, path, "max_lifetime_s", 0, 31536000,
	    &is->max_lifetime_s);
	parse_typ(c, o, path, is);
	parse_word_claims(c, o, path, "roles_claim", &is->roles_claims);
	parse_word_claims(c, o, path, "scopes_claim", &is->scopes_claims);

	/*
	 * A template accepts whichever tenant signs: the allow-list is what
	 * keeps the rest of the world out.  Every tenant is a choice made in
	 * so many words ("allow_any_tenant"), never the default.
	 */
	rt = get_strlist(c, o, path, "tenants", 1, SIZE_MAX, check_guid, 0,
	    &is->tenants);
	(void)get_bool(c, o, path, "allow_any_tenant", &is->any_tenant);
	path_key(p, sizeof(p), path, "tenants");
	path_key(ep, sizeof(ep), path, "allow_any_tenant");
	if (is->templated && is->any_tenant && rt != ABSENT)
		perr(c, p, "cannot be combined with allow_any_tenant");
	else if (is->templated && !is->any_tenant && rt == ABSENT)
		perr(c, p, "required when issuer contains {tenant} or "
		    "{tenantid} (or \"allow_any_tenant\": true to accept "
		    "tokens of every tenant)");
	else if (!is->templated && rt != ABSENT && is->issuer.n > 0)
		perr(c, p, "only allowed when issuer contains {tenant} or "
		    "{tenantid}");
	if (!is->templated && is->any_tenant && is->issuer.n > 0)
		perr(c, ep, "only allowed when issuer contains {tenant} or "
		    "{tenantid}");

	(void)get_str(c, o, path, "ca_file", false, NULL, SV_PATH,
	    &is->ca_file);
	get_credential_ref(c, o, path, "credential", &is->credential);
	if (nsrc == 1 && get(o, "jwks_file") != NULL) {
		static const char *const remote_only[] = {
			"appid", "ca_file", "credential"
		};

		for (i = 0; i < ARRAY_SIZE(remote_only); i++) {
			if (get(o, remote_only[i]) == NULL)
				continue;
			path_key(p, sizeof(p), path, remote_only[i]);
			perr(c, p, "only used with discovery_url or jwks_url");
		}
	}
}

static void
parse_issuers(struct pctx *c, const cJSON *root, struct config *cfg)
{
	char p[CFG_PATH_MAX];
	const cJSON *it = get(root, "issuers");
	const char **names;
	size_t n, i = 0;

	if (it == NULL)
		return;
	if (!array_ok(c, it, "issuers", "objects", 0, ISSUERS_MAX, &n) ||
	    n == 0)
		return;
	if ((cfg->issuers = xcalloc(c, n, sizeof(*cfg->issuers))) == NULL)
		return;
	cfg->nissuers = n;
	if ((names = xcalloc(c, n, sizeof(*names))) == NULL)
		return;
	for (const cJSON *e = it->child; e != NULL; e = e->next, i++) {
		path_idx(p, sizeof(p), "issuers", i);
		if (!cJSON_IsObject(e))
			perr(c, p, "must be an object");
		else
			parse_issuer(c, e, p, &cfg->issuers[i]);
		names[i] = cfg->issuers[i].name;
	}
	check_unique(c, "issuers", "name", "name", names, n);
	free(names);
}

/* routes: client_cert --------------------------------------------------- */

/*
 * Thumbprint text to ${n} raw bytes: 2n hex digits, ':' separators
 * allowed, or (if ${b64} and n == 32) 43 canonical base64url characters.
 */
static int
thumb_parse(const char *s, uint8_t *out, size_t n, bool b64)
{
	size_t len = strlen(s), i, o = 0;

	if (b64 && n == 32 && len == 43 && strchr(s, ':') == NULL) {
		uint8_t raw[33];

		/* 43 hex digits can't be a thumbprint: try base64url, which
		 * b64url_decode() takes only in canonical form. */
		if (b64url_decode(s, len, raw, sizeof(raw)) == 32) {
			memcpy(out, raw, 32);
			return (0);
		}
	}
	o = 0;
	for (i = 0; i < len; i++) {
		int hi, lo;

		if (s[i] == ':')
			continue;
		if (o >= n || i + 1 >= len ||
		    (hi = util_hexval((unsigned char)s[i])) < 0 ||
		    (lo = util_hexval((unsigned char)s[i + 1])) < 0)
			return (-1);
		out[o++] = (uint8_t)(hi << 4 | lo);
		i++;
	}
	return (o == n ? 0 : -1);
}

static const char thumb256_msg[] =
    "must be 64 hex digits or 43 base64url characters";
static const char thumb1_msg[] = "must be 40 hex digits";

/* A thumbprint list: ${n}-byte entries in a new array in *${out}. */
static void
get_thumbs(struct pctx *c, const cJSON *o, const char *path,
    const char *key, size_t bytes, uint8_t **out, size_t *nout)
{
	char p[CFG_PATH_MAX], ep[CFG_PATH_MAX];
	const cJSON *it = get(o, key);
	size_t n, i = 0;
	const char *s;

	if (it == NULL)
		return;
	path_key(p, sizeof(p), path, key);
	if (!array_ok(c, it, p, "strings", 0, SIZE_MAX, &n) || n == 0)
		return;
	if ((*out = xcalloc(c, n, bytes)) == NULL)
		return;
	for (const cJSON *e = it->child; e != NULL; e = e->next, i++) {
		path_idx(ep, sizeof(ep), p, i);
		if ((s = str_value(c, e, ep)) == NULL)
			continue;
		if (thumb_parse(s, *out + *nout * bytes, bytes, true) != 0) {
			perr(c, ep, "%s", bytes == 32 ? thumb256_msg :
			    thumb1_msg);
			continue;
		}
		(*nout)++;
	}
}

static const char *const identity_keys[] = {
	"thumbprint_sha256", "thumbprint_sha1", "serial", "common_name",
	"subject", "issuer", "issuer_thumbprint_sha256", "dns_name", "uri",
	"email", NULL
};

static void
get_id_thumb(struct pctx *c, const cJSON *o, const char *path,
    const char *key, uint8_t *out, size_t n, bool *has)
{
	char p[CFG_PATH_MAX];
	const char *s;

	if (get_sval(c, o, path, key, false, &s) != PRESENT)
		return;
	if (thumb_parse(s, out, n, true) != 0) {
		path_key(p, sizeof(p), path, key);
		perr(c, p, "%s", n == 32 ? thumb256_msg : thumb1_msg);
		return;
	}
	*has = true;
}

/* Compile the DN ${s} into *${out}; report at ${p} if it is not one. */
static int
dn_compile(struct pctx *c, const char *p, const char *s,
    struct cert_dn_rule **out)
{
	const char *why = NULL;

	if (cert_dn_compile(s, out, &why) == 0)
		return (0);
	if (why == NULL)
		oom(c);
	else
		perr(c, p, "not a distinguished name: %s", why);
	return (-1);
}

/* The DN at ${key} of ${o}: its text and compiled form, or neither. */
static void
get_dn(struct pctx *c, const cJSON *o, const char *path, const char *key,
    char **text, struct cert_dn_rule **dn)
{
	char p[CFG_PATH_MAX];
	const char *s;

	if (get_sval(c, o, path, key, false, &s) != PRESENT)
		return;
	path_key(p, sizeof(p), path, key);
	if (dn_compile(c, p, s, dn) != 0)
		return;
	if ((*text = xstrdup(c, s)) == NULL) {
		cert_dn_rule_free(*dn);
		*dn = NULL;
	}
}

/* The array of DNs at ${key} of ${o}. */
static void
get_dnlist(struct pctx *c, const cJSON *o, const char *path,
    const char *key, struct dnlist *out)
{
	char p[CFG_PATH_MAX], ep[CFG_PATH_MAX];
	const cJSON *it = get(o, key);
	const char *s;
	size_t n, i = 0;

	if (it == NULL)
		return;
	path_key(p, sizeof(p), path, key);
	if (!array_ok(c, it, p, "strings", 0, SIZE_MAX, &n) || n == 0)
		return;
	if ((out->text = xcalloc(c, n, sizeof(*out->text))) == NULL ||
	    (out->dn = xcalloc(c, n, sizeof(*out->dn))) == NULL)
		return;
	for (const cJSON *e = it->child; e != NULL; e = e->next, i++) {
		path_idx(ep, sizeof(ep), p, i);
		if ((s = str_value(c, e, ep)) == NULL ||
		    dn_compile(c, ep, s, &out->dn[out->n]) != 0)
			continue;
		if ((out->text[out->n] = xstrdup(c, s)) == NULL) {
			cert_dn_rule_free(out->dn[out->n]);
			out->dn[out->n] = NULL;
			continue;
		}
		out->n++;
	}
}

static void
parse_identity(struct pctx *c, const cJSON *o, const char *path,
    struct cert_identity *id)
{
	char p[CFG_PATH_MAX];

	check_keys(c, o, path, identity_keys);
	get_id_thumb(c, o, path, "thumbprint_sha256", id->sha256, 32,
	    &id->has_sha256);
	get_id_thumb(c, o, path, "thumbprint_sha1", id->sha1, 20,
	    &id->has_sha1);
	get_id_thumb(c, o, path, "issuer_thumbprint_sha256", id->issuer_sha256,
	    32, &id->has_issuer_sha256);
	(void)get_str(c, o, path, "serial", false, check_serial, 0,
	    &id->serial);
	(void)get_str(c, o, path, "common_name", false, NULL, 0,
	    &id->common_name);
	get_dn(c, o, path, "subject", &id->subject, &id->subject_dn);
	get_dn(c, o, path, "issuer", &id->issuer, &id->issuer_dn);
	(void)get_str(c, o, path, "dns_name", false, NULL, 0, &id->dns_name);
	(void)get_str(c, o, path, "uri", false, NULL, 0, &id->uri);
	(void)get_str(c, o, path, "email", false, NULL, 0, &id->email);
	if (o->child == NULL)
		perr(c, path, "needs at least one attribute");
	if (get(o, "issuer_thumbprint_sha256") != NULL && !c->have_client_ca) {
		path_key(p, sizeof(p), path, "issuer_thumbprint_sha256");
		perr(c, p, "requires client_ca_file");
	}
}

static void
parse_client_cert(struct pctx *c, const cJSON *o, const char *path,
    struct cert_rule *cr)
{
	static const char *const keys[] = {
		"thumbprints_sha256", "thumbprints_sha1", "serials",
		"common_names", "subjects", "issuers",
		"issuer_thumbprints_sha256", "dns_names", "uris", "emails",
		"identities", "check_validity", NULL
	};
	char p[CFG_PATH_MAX], ep[CFG_PATH_MAX];
	uint8_t *raw;
	const cJSON *ids;
	size_t n, i;

	check_keys(c, o, path, keys);
	raw = NULL;
	get_thumbs(c, o, path, "thumbprints_sha256", 32, &raw, &cr->nsha256);
	cr->sha256 = (uint8_t (*)[32])(void *)raw;
	raw = NULL;
	get_thumbs(c, o, path, "thumbprints_sha1", 20, &raw, &cr->nsha1);
	cr->sha1 = (uint8_t (*)[20])(void *)raw;
	raw = NULL;
	get_thumbs(c, o, path, "issuer_thumbprints_sha256", 32, &raw,
	    &cr->nissuer_sha256);
	cr->issuer_sha256 = (uint8_t (*)[32])(void *)raw;
	if (get(o, "issuer_thumbprints_sha256") != NULL && !c->have_client_ca) {
		path_key(p, sizeof(p), path, "issuer_thumbprints_sha256");
		perr(c, p, "requires client_ca_file");
	}
	(void)get_strlist(c, o, path, "serials", 0, SIZE_MAX, check_serial, 0,
	    &cr->serials);
	(void)get_strlist(c, o, path, "common_names", 0, SIZE_MAX, NULL, 0,
	    &cr->common_names);
	get_dnlist(c, o, path, "subjects", &cr->subjects);
	get_dnlist(c, o, path, "issuers", &cr->issuers);
	(void)get_strlist(c, o, path, "dns_names", 0, SIZE_MAX, NULL, 0,
	    &cr->dns_names);
	(void)get_strlist(c, o, path, "uris", 0, SIZE_MAX, NULL, 0, &cr->uris);
	(void)get_strlist(c, o, path, "emails", 0, SIZE_MAX, NULL, 0,
	    &cr->emails);
	cr->check_validity = true;
	(void)get_bool(c, o, path, "check_validity", &cr->check_validity);

	if ((ids = get(o, "identities")) == NULL)
		return;
	path_key(p, sizeof(p), path, "identities");
	if (!array_ok(c, ids, p, "objects", 1, SIZE_MAX, &n))
		return;
	if ((cr->identities = xcalloc(c, n, sizeof(*cr->identities))) == NULL)
		return;
	cr->nidentities = n;
	i = 0;
	for (const cJSON *e = ids->child; e != NULL; e = e->next, i++) {
		path_idx(ep, sizeof(ep), p, i);
		if (!cJSON_IsObject(e))
			perr(c, ep, "must be an object");
		else
			parse_identity(c, e, ep, &cr->identities[i]);
	}
}

/* routes ---------------------------------------------------------------- */

static const char *const route_keys[] = {
	"name", "host", "path_prefix", "methods", "require", "issuers",
	"scopes_any", "scopes_all", "roles_any", "roles_all", "claims",
	"claims_to_vars", "client_cert", "bound_token", "source_cidrs", NULL
};

static void
parse_path_prefix(struct pctx *c, const cJSON *o, const char *path,
    struct route_cfg *r)
{
	char p[CFG_PATH_MAX];
	struct quoted q;
	const char *s;
	char *norm;
	size_t len;
	int n;

	if (get_sval(c, o, path, "path_prefix", false, &s) != PRESENT) {
		r->path_prefix = xstrdup(c, "/");
		return;
	}
	path_key(p, sizeof(p), path, "path_prefix");
	if (s[0] != '/') {
		perr(c, p, "must start with /");
		return;
	}
	len = strlen(s);
	if ((norm = malloc(len + 1)) == NULL) {
		oom(c);
		return;
	}
	n = route_normalize_path(s, len, norm, len + 1);
	if (n < 0)
		perr(c, p, "not a valid path (see route matching rules)");
	else if ((size_t)n != len || memcmp(norm, s, len) != 0)
		perr(c, p, "not a normalised path (write it as %s)",
		    quote(&q, norm));
	else {
		r->path_prefix = norm;
		norm = NULL;
	}
	free(norm);
}

static void
parse_route_issuers(struct pctx *c, const cJSON *o, const char *path,
    struct route_cfg *r)
{
	char p[CFG_PATH_MAX], ep[CFG_PATH_MAX];
	const cJSON *it = get(o, "issuers");
	struct quoted q;
	const char *s;
	size_t n, i = 0, j;

	if (it == NULL)
		return;
	path_key(p, sizeof(p), path, "issuers");
	if (!array_ok(c, it, p, "strings", 1, SIZE_MAX, &n))
		return;
	if ((r->issuers = xcalloc(c, n, sizeof(*r->issuers))) == NULL)
		return;
	for (const cJSON *e = it->child; e != NULL; e = e->next, i++) {
		path_idx(ep, sizeof(ep), p, i);
		if ((s = str_value(c, e, ep)) == NULL)
			continue;
		for (j = 0; j < c->nissuers; j++)
			if (c->issuers[j].name != NULL &&
			    strcmp(c->issuers[j].name, s) == 0)
				break;
		if (j == c->nissuers) {
			perr(c, ep, "no issuer named %s", quote(&q, s));
			continue;
		}
		r->issuers[r->nissuers++] = j;
	}
}

/* The allowed values of a claims rule, the array ${arr} at ${p}. */
static void
parse_claim_values(struct pctx *c, const cJSON *arr, const char *p,
    struct claim_rule *cr)
{
	char vp[CFG_PATH_MAX];
	size_t nv, k = 0;

	if (!array_ok(c, arr, p, "strings, numbers or booleans", 1, SIZE_MAX,
	    &nv))
		return;
	if ((cr->values = xcalloc(c, nv, sizeof(*cr->values))) == NULL)
		return;
	for (const cJSON *v = arr->child; v != NULL; v = v->next, k++) {
		struct claim_value *cv = &cr->values[cr->nvalues];

		path_idx(vp, sizeof(vp), p, k);
		if (cJSON_IsString(v)) {
			const char *s = str_value(c, v, vp);

			if (s == NULL || (cv->s = xstrdup(c, s)) == NULL)
				continue;
			cv->type = CLAIM_VAL_STRING;
		} else if (cJSON_IsNumber(v)) {
			if (!isfinite(v->valuedouble)) {
				perr(c, vp, "must be a finite number");
				continue;
			}
			cv->type = CLAIM_VAL_NUMBER;
			cv->num = v->valuedouble;
		} else if (cJSON_IsBool(v)) {
			cv->type = CLAIM_VAL_BOOL;
			cv->b = cJSON_IsTrue(v);
		} else {
			perr(c, vp, "must be a string, number or boolean");
			continue;
		}
		cr->nvalues++;
	}
}

/*
 * One claims rule: an array of values (any of them), or an object with
 * exactly one of "any": [values], "all": [values], "present": true.
 */
static void
parse_claim_rule(struct pctx *c, const cJSON *m, const char *cp,
    struct claim_rule *cr)
{
	static const char *const forms[] = { "any", "all", "present", NULL };
	char fp[CFG_PATH_MAX];
	const cJSON *f = NULL;
	size_t nforms = 0;

	if (cJSON_IsArray(m)) {
		cr->match = CLAIM_MATCH_ANY;
		parse_claim_values(c, m, cp, cr);
		return;
	}
	if (!cJSON_IsObject(m)) {
		perr(c, cp, "must be an array of values or an object with "
		    "\"any\", \"all\" or \"present\"");
		return;
	}
	check_keys(c, m, cp, forms);
	for (size_t i = 0; forms[i] != NULL; i++) {
		if (get(m, forms[i]) != NULL) {
			nforms++;
			f = get(m, forms[i]);
			cr->match = (enum claim_match)i;
		}
	}
	if (nforms != 1) {
		perr(c, cp, "exactly one of any, all, present is required");
		return;
	}
	path_key(fp, sizeof(fp), cp, forms[cr->match]);
	if (cr->match == CLAIM_MATCH_PRESENT) {
		if (!cJSON_IsTrue(f))
			perr(c, fp, "must be true");
		return;
	}
	parse_claim_values(c, f, fp, cr);
}

static void
parse_claims(struct pctx *c, const cJSON *o, const char *path,
    struct route_cfg *r)
{
	char p[CFG_PATH_MAX], cp[CFG_PATH_MAX];
	const cJSON *it = get_obj(c, o, path, "claims");
	const char *msg;
	size_t n;

	if (it == NULL || (n = count_children(it)) == 0)
		return;
	path_key(p, sizeof(p), path, "claims");
	if ((r->claims = xcalloc(c, n, sizeof(*r->claims))) == NULL)
		return;
	for (const cJSON *m = it->child; m != NULL; m = m->next) {
		struct claim_rule *cr = &r->claims[r->nclaims];

		path_key(cp, sizeof(cp), p, m->string);
		if ((msg = claim_path_error(m->string != NULL ? m->string :
		    "")) != NULL) {
			perr(c, cp, "%s", msg);
			continue;
		}
		if ((cr->name = xstrdup(c, m->string)) == NULL)
			continue;
		r->nclaims++;
		parse_claim_rule(c, m, cp, cr);
	}
}

/* A variable name part: [A-Za-z0-9_]+. */
static bool
var_part_ok(const char *s)
{
	if (*s == '\0')
		return (false);
	for (; *s != '\0'; s++)
		if (!is_alnum((unsigned char)*s) && *s != '_')
			return (false);
	return (true);
}

/*
 * The name "claim_<x>" a claims_to_vars string ${s} gets: a dotted name
 * of [A-Za-z0-9_.-] ('.' and '-' become '_'), or a JSON Pointer whose
 * names are of those characters ('/' between them becomes '_').  NULL for
 * anything else (a URL-named claim): that needs the {"claim", "var"} form.
 */
static char *
derived_var(struct pctx *c, const char *s)
{
	size_t len = strlen(s), o = sizeof(VAR_PREFIX) - 1;
	const char *p = s[0] == '/' ? s + 1 : s;
	char *var;

	for (const char *q = p; *q != '\0'; q++)
		if (!is_alnum((unsigned char)*q) && *q != '_' && *q != '.' &&
		    *q != '-' && !(s[0] == '/' && *q == '/'))
			return (NULL);
	if (*p == '\0' || (var = malloc(o + len + 1)) == NULL) {
		if (*p != '\0')
			oom(c);
		return (NULL);
	}
	memcpy(var, VAR_PREFIX, o);
	for (; *p != '\0'; p++)
		var[o++] = (*p == '.' || *p == '-' || *p == '/') ? '_' : *p;
	var[o] = '\0';
	return (var);
}

static void
parse_claims_to_vars(struct pctx *c, const cJSON *o, const char *path,
    struct route_cfg *r)
{
	static const char *const obj_keys[] = { "claim", "var", NULL };
	char p[CFG_PATH_MAX], ep[CFG_PATH_MAX], kp[CFG_PATH_MAX];
	const char *names[CLAIM_VARS_MAX];
	const cJSON *it = get(o, "claims_to_vars");
	size_t n, i = 0;

	if (it == NULL)
		return;
	path_key(p, sizeof(p), path, "claims_to_vars");
	if (!array_ok(c, it, p, "claim paths or {\"claim\", \"var\"} "
	    "objects", 0, CLAIM_VARS_MAX, &n) || n == 0)
		return;
	if ((r->claims_to_vars = xcalloc(c, n, sizeof(*r->claims_to_vars))) ==
	    NULL)
		return;
	for (const cJSON *e = it->child; e != NULL; e = e->next, i++) {
		struct claim_var *cv = &r->claims_to_vars[r->nclaims_to_vars];
		const char *s, *vs = NULL, *msg;
		char *var = NULL;
		size_t vlen;

		names[i] = NULL;
		path_idx(ep, sizeof(ep), p, i);
		if (cJSON_IsObject(e)) {
			check_keys(c, e, ep, obj_keys);
			s = NULL;
			if (get_sval(c, e, ep, "claim", true, &s) != PRESENT ||
			    get_sval(c, e, ep, "var", true, &vs) != PRESENT)
				continue;
			path_key(kp, sizeof(kp), ep, "claim");
		} else {
			if ((s = str_value(c, e, ep)) == NULL)
				continue;
			(void)snprintf(kp, sizeof(kp), "%s", ep);
		}
		if ((msg = claim_path_error(s)) != NULL) {
			perr(c, kp, "%s", msg);
			continue;
		}
		if (vs != NULL) {
			path_key(kp, sizeof(kp), ep, "var");
			if (!var_part_ok(vs)) {
				perr(c, kp, "must match [A-Za-z0-9_]+ (the "
				    "variable is txn.iam.claim_<var>)");
				continue;
			}
			vlen = sizeof(VAR_PREFIX) - 1 + strlen(vs);
			if ((var = malloc(vlen + 1)) == NULL) {
				oom(c);
				continue;
			}
			(void)snprintf(var, vlen + 1, "%s%s", VAR_PREFIX, vs);
		} else if ((var = derived_var(c, s)) == NULL) {
			perr(c, kp, "no variable name can be made from this "
			    "claim path: use {\"claim\": \"...\", \"var\": "
			    "\"<name>\"}");
			continue;
		}
		vlen = strlen(var);
		if (sizeof(VAR_FULL_PREFIX) - 1 + vlen > VAR_FULL_MAX) {
			perr(c, kp, "variable txn.iam.%s would be %zu characters "
			    "(max %d)", var, sizeof(VAR_FULL_PREFIX) - 1 + vlen,
			    VAR_FULL_MAX);
			free(var);
			continue;
		}
		if ((cv->claim = xstrdup(c, s)) == NULL) {
			free(var);
			continue;
		}
		cv->var = var;
		names[i] = var;
		r->nclaims_to_vars++;
	}
	check_unique(c, p, NULL, "variable", names, n);
}

static void
parse_source_cidrs(struct pctx *c, const cJSON *o, const char *path,
    struct route_cfg *r)
{
	char p[CFG_PATH_MAX], ep[CFG_PATH_MAX];
	const cJSON *it = get(o, "source_cidrs");
	const char *s, *why;
	size_t n, i = 0;

	if (it == NULL)
		return;
	path_key(p, sizeof(p), path, "source_cidrs");
	if (!array_ok(c, it, p, "strings", 1, SIZE_MAX, &n))
		return;
	if ((r->source_cidrs = cidr_list_new()) == NULL) {
		oom(c);
		return;
	}
	for (const cJSON *e = it->child; e != NULL; e = e->next, i++) {
		path_idx(ep, sizeof(ep), p, i);
		if ((s = str_value(c, e, ep)) == NULL)
			continue;
		if (cidr_list_add(r->source_cidrs, s, strlen(s), &why) != 0)
			perr(c, ep, "%s", why);
	}
}

static bool
mode_has_jwt(enum require_mode m)
{
	return (m == REQUIRE_JWT || m == REQUIRE_JWT_MTLS);
}

static bool
mode_has_mtls(enum require_mode m)
{
	return (m == REQUIRE_MTLS || m == REQUIRE_JWT_MTLS);
}

static void
parse_route(struct pctx *c, const cJSON *o, const char *path,
    struct route_cfg *r)
{
	static const char *const jwt_keys[] = {
		"issuers", "scopes_any", "scopes_all", "roles_any",
		"roles_all", "claims", "claims_to_vars", NULL
	};
	static const char *const list_keys[] = {
		"scopes_any", "scopes_all", "roles_any", "roles_all"
	};
	struct strlist *lists[] = {
		&r->scopes_any, &r->scopes_all, &r->roles_any, &r->roles_all
	};
	char p[CFG_PATH_MAX];
	const char *req = NULL;
	const cJSON *cc;
	struct quoted q;
	bool mode_ok = false;
	size_t i;

	check_keys(c, o, path, route_keys);
	(void)get_str(c, o, path, "name", true, check_name, 0, &r->name);
	(void)get_str(c, o, path, "host", false, check_host, 0, &r->host);
	parse_path_prefix(c, o, path, r);
	(void)get_strlist(c, o, path, "methods", 1, SIZE_MAX, check_method, 0,
	    &r->methods);

	if (get_sval(c, o, path, "require", true, &req) == PRESENT) {
		mode_ok = true;
		if (strcmp(req, "none") == 0)
			r->require = REQUIRE_NONE;
		else if (strcmp(req, "jwt") == 0)
			r->require = REQUIRE_JWT;
		else if (strcmp(req, "mtls") == 0)
			r->require = REQUIRE_MTLS;
		else if (strcmp(req, "jwt+mtls") == 0)
			r->require = REQUIRE_JWT_MTLS;
		else {
			mode_ok = false;
			path_key(p, sizeof(p), path, "require");
			perr(c, p, "must be one of none, jwt, mtls, jwt+mtls "
			    "(got %s)", quote(&q, req));
		}
	}
	if (mode_ok && mode_has_jwt(r->require) && c->nissuers == 0) {
		path_key(p, sizeof(p), path, "require");
		perr(c, p, "%s needs at least one issuer", quote(&q, req));
	}

	parse_route_issuers(c, o, path, r);
	for (i = 0; i < ARRAY_SIZE(list_keys); i++)
		(void)get_strlist(c, o, path, list_keys[i], 0, SIZE_MAX, NULL,
		    0, lists[i]);
	parse_claims(c, o, path, r);
	parse_claims_to_vars(c, o, path, r);

	if ((cc = get_obj(c, o, path, "client_cert")) != NULL) {
		path_key(p, sizeof(p), path, "client_cert");
		if ((r->client_cert = xcalloc(c, 1, sizeof(*r->client_cert))) !=
		    NULL)
			parse_client_cert(c, cc, p, r->client_cert);
	}
	(void)get_bool(c, o, path, "bound_token", &r->bound_token);
	parse_source_cidrs(c, o, path, r);

	if (!mode_ok)
		return;
	if (!mode_has_jwt(r->require)) {
		for (i = 0; jwt_keys[i] != NULL; i++) {
			if (get(o, jwt_keys[i]) == NULL)
				continue;
			path_key(p, sizeof(p), path, jwt_keys[i]);
			perr(c, p, "only allowed when require is jwt or "
			    "jwt+mtls");
		}
	}
	if (!mode_has_mtls(r->require) && get(o, "client_cert") != NULL) {
		path_key(p, sizeof(p), path, "client_cert");
		perr(c, p, "only allowed when require is mtls or jwt+mtls");
	}
	if (r->require != REQUIRE_JWT_MTLS && get(o, "bound_token") != NULL) {
		path_key(p, sizeof(p), path, "bound_token");
		perr(c, p, "only allowed when require is jwt+mtls");
	}
}

static void
parse_routes(struct pctx *c, const cJSON *it, struct config *cfg)
{
	char p[CFG_PATH_MAX];
	const char **names;
	size_t n, i = 0;

	if (!array_ok(c, it, "routes", "objects", 0, ROUTES_MAX, &n) || n == 0)
		return;
	if ((cfg->routes = xcalloc(c, n, sizeof(*cfg->routes))) == NULL)
		return;
	cfg->nroutes = n;
	if ((names = xcalloc(c, n, sizeof(*names))) == NULL)
		return;
	c->issuers = cfg->issuers;
	c->nissuers = cfg->nissuers;
	for (const cJSON *e = it->child; e != NULL; e = e->next, i++) {
		path_idx(p, sizeof(p), "routes", i);
		if (!cJSON_IsObject(e))
			perr(c, p, "must be an object");
		else
			parse_route(c, e, p, &cfg->routes[i]);
		names[i] = cfg->routes[i].name;
	}
	check_unique(c, "routes", "name", "name", names, n);
	free(names);
}

/* Top level ------------------------------------------------------------- */

static const char *const top_keys[] = {
	"listen", "admin_listen", "workers", "state_dir", "log_level",
	"token_cache_entries", "cert_cache_entries", "max_token_bytes",
	"max_frame_size", "park_timeout_ms", "kid_refetch_interval_ms",
	"max_connections", "idle_timeout_ms", "frame_timeout_ms",
	"partial_frames_max_bytes",
	"kid_negative_ttl_s", "kid_refetch_cooldown_s",
	"policy_url", "policy_file", "policy_credential", "policy_ca_file",
	"client_ca_file", "crl_files", "crl_urls", "crl_stale", "fetch",
	"credentials", "issuers", "routes", NULL
};

static void
parse_listens(struct pctx *c, const cJSON *root, struct config *cfg)
{
	char ep[CFG_PATH_MAX];
	const cJSON *it = get(root, "listen");
	const char *s;
	size_t n, i = 0;

	if (it == NULL) {
		perr(c, "listen", "required");
		return;
	}
	if (!array_ok(c, it, "listen", "strings", 1, LISTEN_MAX, &n))
		return;
	if ((cfg->listen = xcalloc(c, n, sizeof(*cfg->listen))) == NULL)
		return;
	for (const cJSON *e = it->child; e != NULL; e = e->next, i++) {
		path_idx(ep, sizeof(ep), "listen", i);
		if ((s = str_value(c, e, ep)) == NULL)
			continue;
		parse_listen(c, s, ep, true, &cfg->listen[cfg->nlisten++]);
	}
}

static uint32_t
online_cpus(void)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);

	if (n < 1)
		return (1);
	if (n > 256)
		return (256);
	return ((uint32_t)n);
}

static void
parse_config(struct pctx *c, const cJSON *root, struct config *cfg)
{
	const cJSON *fetch, *routes;
	const char *s;
	struct quoted q;
	enum log_level lvl;
	int r;

	check_keys(c, root, "", top_keys);
	parse_listens(c, root, cfg);
	if (get_sval(c, root, "", "admin_listen", false, &s) == PRESENT) {
		if ((cfg->admin_listen = xcalloc(c, 1,
		    sizeof(*cfg->admin_listen))) != NULL)
			parse_listen(c, s, "admin_listen", false,
			    cfg->admin_listen);
	}
	cfg->workers = 0;
	(void)get_u32(c, root, "", "workers", 0, 256, &cfg->workers);
	if (cfg->workers == 0)
		cfg->workers = online_cpus();
	(void)get_str(c, root, "", "state_dir", false, NULL, SV_PATH,
	    &cfg->state_dir);
	cfg->log_level = LOG_LVL_INFO;
	if (get_sval(c, root, "", "log_level", false, &s) == PRESENT) {
		if (log_level_parse(s, &lvl) != 0)
			perr(c, "log_level", "must be one of error, warn, "
			    "info, debug (got %s)", quote(&q, s));
		else
			cfg->log_level = (int)lvl;
	}
	for (size_t k = 0; k < ARRAY_SIZE(top_u32); k++) {
		uint32_t *f = (uint32_t *)(void *)((char *)cfg + top_u32[k].off);

		*f = top_u32[k].def;
		(void)get_u32(c, root, "", top_u32[k].key, top_u32[k].min,
		    top_u32[k].max, f);
	}

	fetch_defaults(&cfg->fetch);
	if ((fetch = get_obj(c, root, "", "fetch")) != NULL)
		parse_fetch(c, fetch, &cfg->fetch);
	c->insecure = cfg->fetch.insecure_skip_verify_for_tests;
	parse_credentials(c, root, cfg);
	c->creds = cfg->credentials;
	c->ncreds = cfg->ncredentials;

	(void)get_url(c, root, "", "policy_url", false, URL_HTTPS,
	    &cfg->policy_url);
	(void)get_str(c, root, "", "policy_file", false, NULL, SV_PATH,
	    &cfg->policy_file);
	if (get(root, "policy_url") != NULL && get(root, "policy_file") != NULL)
		perr(c, "policy_file", "policy_url and policy_file are "
		    "mutually exclusive");
	get_credential_ref(c, root, "", "policy_credential",
	    &cfg->policy_credential);
	(void)get_str(c, root, "", "policy_ca_file", false, NULL, SV_PATH,
	    &cfg->policy_ca_file);
	if (get(root, "policy_url") == NULL) {
		if (get(root, "policy_credential") != NULL)
			perr(c, "policy_credential", "requires policy_url");
		if (get(root, "policy_ca_file") != NULL)
			perr(c, "policy_ca_file", "requires policy_url");
	}

	r = get_str(c, root, "", "client_ca_file", false, NULL, SV_PATH,
	    &cfg->client_ca_file);
	c->have_client_ca = (r == PRESENT);
	(void)get_strlist(c, root, "", "crl_files", 0, SIZE_MAX, NULL, SV_PATH,
	    &cfg->crl_files);
	(void)get_urllist(c, root, "", "crl_urls", URL_HTTP_OK,
	    &cfg->crl_urls);
	cfg->crl_stale = CRL_STALE_DENY;
	if (get_sval(c, root, "", "crl_stale", false, &s) == PRESENT) {
		if (strcmp(s, "deny") == 0)
			cfg->crl_stale = CRL_STALE_DENY;
		else if (strcmp(s, "allow") == 0)
			cfg->crl_stale = CRL_STALE_ALLOW;
		else
			perr(c, "crl_stale", "must be deny or allow (got %s)",
			    quote(&q, s));
	}

	parse_issuers(c, root, cfg);
	routes = get(root, "routes");
	if (routes != NULL && get(root, "policy_file") != NULL)
		perr(c, "routes", "not allowed with policy_file (the policy "
		    "document holds the routes)");
	if (routes != NULL)
		parse_routes(c, routes, cfg);
	if (cfg->nroutes == 0 && get(root, "policy_url") == NULL &&
	    get(root, "policy_file") == NULL &&
	    (routes == NULL || (cJSON_IsArray(routes) && routes->child == NULL)))
		perr(c, "routes", "at least one route is required unless "
		    "policy_url or policy_file is set");
}

/* Copying the base of a policy config ---------------------------------- */

static int
strlist_copy(struct pctx *c, struct strlist *dst, const struct strlist *src)
{
	if (src->n == 0)
		return (0);
	if ((dst->v = xcalloc(c, src->n, sizeof(*dst->v))) == NULL)
		return (-1);
	for (size_t i = 0; i < src->n; i++) {
		if ((dst->v[i] = xstrdup(c, src->v[i])) == NULL)
			return (-1);
		dst->n++;
	}
	return (0);
}

static void
listen_copy(struct pctx *c, struct listen_addr *dst,
    const struct listen_addr *src)
{
	dst->kind = src->kind;
	dst->port = src->port;
	dst->host = xstrdup(c, src->host);
	dst->path = xstrdup(c, src->path);
	dst->text = xstrdup(c, src->text);
}

static void
copy_base(struct pctx *c, const struct config *b, struct config *d)
{
	size_t i;

	d->path = xstrdup(c, b->path);
	d->base_dir = xstrdup(c, b->base_dir);
	if (b->nlisten > 0 &&
	    (d->listen = xcalloc(c, b->nlisten, sizeof(*d->listen))) != NULL) {
		for (i = 0; i < b->nlisten; i++)
			listen_copy(c, &d->listen[i], &b->listen[i]);
		d->nlisten = b->nlisten;
	}
	if (b->admin_listen != NULL &&
	    (d->admin_listen = xcalloc(c, 1, sizeof(*d->admin_listen))) != NULL)
		listen_copy(c, d->admin_listen, b->admin_listen);
	d->workers = b->workers;
	d->state_dir = xstrdup(c, b->state_dir);
	d->log_level = b->log_level;
	d->token_cache_entries = b->token_cache_entries;
	d->cert_cache_entries = b->cert_cache_entries;
	d->max_token_bytes = b->max_token_bytes;
	d->max_frame_size = b->max_frame_size;
	d->park_timeout_ms = b->park_timeout_ms;
	d->max_connections = b->max_connections;
	d->idle_timeout_ms = b->idle_timeout_ms;
	d->frame_timeout_ms = b->frame_timeout_ms;
	d->partial_frames_max_bytes = b->partial_frames_max_bytes;
	d->kid_refetch_interval_ms = b->kid_refetch_interval_ms;
	d->kid_negative_ttl_s = b->kid_negative_ttl_s;
	d->kid_refetch_cooldown_s = b->kid_refetch_cooldown_s;
	d->policy_url = xstrdup(c, b->policy_url);
	d->policy_file = xstrdup(c, b->policy_file);
	d->policy_credential = xstrdup(c, b->policy_credential);
	d->policy_ca_file = xstrdup(c, b->policy_ca_file);
	d->client_ca_file = xstrdup(c, b->client_ca_file);
	(void)strlist_copy(c, &d->crl_files, &b->crl_files);
	(void)strlist_copy(c, &d->crl_urls, &b->crl_urls);
	d->crl_stale = b->crl_stale;
	d->fetch = b->fetch;
	d->fetch.ca_file = xstrdup(c, b->fetch.ca_file);
	if (b->ncredentials > 0 && (d->credentials = xcalloc(c,
	    b->ncredentials, sizeof(*d->credentials))) != NULL) {
		d->ncredentials = b->ncredentials;
		for (i = 0; i < b->ncredentials; i++) {
			const struct credential *s = &b->credentials[i];
			struct credential *t = &d->credentials[i];

			t->name = xstrdup(c, s->name);
			t->type = s->type;
			t->endpoint = xstrdup(c, s->endpoint);
			t->resource = xstrdup(c, s->resource);
			t->client_id = xstrdup(c, s->client_id);
			t->api_version = xstrdup(c, s->api_version);
			t->token_url = xstrdup(c, s->token_url);
			t->client_secret_file = xstrdup(c,
			    s->client_secret_file);
			t->client_secret_env = xstrdup(c, s->client_secret_env);
			t->scope = xstrdup(c, s->scope);
			t->ca_file = xstrdup(c, s->ca_file);
			t->cert_file = xstrdup(c, s->cert_file);
			t->key_file = xstrdup(c, s->key_file);
		}
	}
}

/* Public API ------------------------------------------------------------ */

static void
pctx_init(struct pctx *c, struct config_errors *errs, const char *doc,
    bool prefixed)
{
	memset(c, 0, sizeof(*c));
	c->errs = errs;
	c->doc = doc;
	c->prefixed = prefixed;
}

int
config_parse(const char *buf, size_t len, const char *base_dir,
    struct config **cfgp, struct config_errors *errs)
{
	struct config *cfg = NULL;
	struct pctx c;
	cJSON *root;

	*cfgp = NULL;
	pctx_init(&c, errs, "config", false);
	c.base_dir = base_dir;
	if ((root = json_load(&c, buf, len)) != NULL) {
		if ((cfg = xcalloc(&c, 1, sizeof(*cfg))) != NULL) {
			if (base_dir != NULL)
				cfg->base_dir = xstrdup(&c, base_dir);
			check_dups(&c, root, "");
			parse_config(&c, root, cfg);
		}
		cJSON_Delete(root);
	}
	perr_finish(&c);
	if (c.nerr > 0) {
		config_free(cfg);
		return (-1);
	}
	*cfgp = cfg;
	return (0);
}

int
config_parse_file(const char *path, struct config **cfgp,
    struct config_errors *errs)
{
	char *buf, *dir = NULL, *base = NULL, *slash;
	char why[FILEIO_WHY_MAX];
	size_t len = 0;
	struct pctx c;
	int r = -1;

	*cfgp = NULL;
	if (fileio_read(path, CFG_FILE_MAX, &buf, &len, why,
	    sizeof(why)) != 0) {
		char line[512];
		struct quoted q;

		(void)snprintf(line, sizeof(line), "%s: cannot read: %s",
		    quote(&q, path), why);
		(void)errs_push(errs, line);
		return (-1);
	}
	pctx_init(&c, errs, "config", false);
	if ((dir = xstrdup(&c, path)) == NULL)
		goto out;
	if ((slash = strrchr(dir, '/')) == NULL) {
		free(dir);
		dir = xstrdup(&c, ".");
	} else if (slash == dir) {
		slash[1] = '\0';
	} else {
		*slash = '\0';
	}
	if (dir == NULL)
		goto out;
	base = realpath(dir, NULL);
	r = config_parse(buf, len, base != NULL ? base : dir, cfgp, errs);
	if (r == 0 && ((*cfgp)->path = strdup(path)) == NULL) {
		config_free(*cfgp);
		*cfgp = NULL;
		(void)errs_push(errs, "config: out of memory");
		r = -1;
	}
out:
	if (c.nerr > 0)
		r = -1;
	free(base);
	free(dir);
	free(buf);
	return (r);
}

int
config_policy_parse(const char *buf, size_t len, const char *name,
    const struct config *base, struct config **out,
    struct config_errors *errs)
{
	static const char *const keys[] = {
		"version", "issuers", "routes", NULL
	};
	struct config *cfg = NULL;
	const cJSON *it;
	struct pctx c;
	cJSON *root;

	*out = NULL;
	pctx_init(&c, errs, (name != NULL && name[0] != '\0') ? name :
	    "policy", true);
	if ((root = json_load(&c, buf, len)) != NULL) {
		if ((cfg = xcalloc(&c, 1, sizeof(*cfg))) == NULL)
			goto done;
		copy_base(&c, base, cfg);
		c.base_dir = cfg->base_dir;
		c.insecure = base->fetch.insecure_skip_verify_for_tests;
		c.have_client_ca = base->client_ca_file != NULL;
		c.creds = cfg->credentials;
		c.ncreds = cfg->ncredentials;
		check_dups(&c, root, "");
		check_keys(&c, root, "", keys);
		(void)get_str(&c, root, "", "version", false, NULL, 0,
		    &cfg->policy_version);
		if (get(root, "issuers") == NULL)
			perr(&c, "issuers", "required");
		parse_issuers(&c, root, cfg);
		if ((it = get(root, "routes")) == NULL)
			perr(&c, "routes", "required");
		else if (cJSON_IsArray(it) && it->child == NULL)
			perr(&c, "routes", "must not be empty");
		else
			parse_routes(&c, it, cfg);
done:
		cJSON_Delete(root);
	}
	perr_finish(&c);
	if (c.nerr > 0) {
		config_free(cfg);
		return (-1);
	}
	*out = cfg;
	return (0);
}

/* --check ---------------------------------------------------------------- */

static void
check_file(struct pctx *c, const char *path, const char *file)
{
	struct quoted q;
	struct stat st;
	int fd;

	if (file == NULL)
		return;
	if ((fd = open(file, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK)) ==
	    -1) {
		perr(c, path, "cannot read %s: %s", quote(&q, file),
		    strerror(errno));
		return;
	}
	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode))
		perr(c, path, "%s is not a regular file", quote(&q, file));
	close(fd);
}

static void
check_env(struct pctx *c, const char *path, const char *name)
{
	const char *v;

	if (name == NULL)
		return;
	if ((v = getenv(name)) == NULL || v[0] == '\0')
		perr(c, path, "environment variable %s is not set", name);
}

static void
check_issuer_files(struct pctx *c, const struct issuer_cfg *is, size_t n)
{
	char p[CFG_PATH_MAX], q[CFG_PATH_MAX];

	for (size_t i = 0; i < n; i++) {
		path_idx(p, sizeof(p), "issuers", i);
		if (is[i].source == KEYS_JWKS_FILE) {
			path_key(q, sizeof(q), p, "jwks_file");
			check_file(c, q, is[i].source_location);
		}
		path_key(q, sizeof(q), p, "hmac_secret_file");
		check_file(c, q, is[i].hmac_secret_file);
		path_key(q, sizeof(q), p, "hmac_secret_env");
		check_env(c, q, is[i].hmac_secret_env);
		path_key(q, sizeof(q), p, "ca_file");
		check_file(c, q, is[i].ca_file);
	}
}

int
config_check_files(const struct config *cfg, struct config_errors *errs)
{
	char p[CFG_PATH_MAX], q[CFG_PATH_MAX];
	bool policy_bad = false;
	struct pctx c;
	size_t i;

	pctx_init(&c, errs, "config", false);
	/* policy_file: read and checked whole below. */
	check_file(&c, "policy_ca_file", cfg->policy_ca_file);
	check_file(&c, "client_ca_file", cfg->client_ca_file);
	check_file(&c, "fetch.ca_file", cfg->fetch.ca_file);
	for (i = 0; i < cfg->crl_files.n; i++) {
		path_idx(p, sizeof(p), "crl_files", i);
		check_file(&c, p, cfg->crl_files.v[i]);
	}
	for (i = 0; i < cfg->ncredentials; i++) {
		const struct credential *cr = &cfg->credentials[i];

		path_idx(p, sizeof(p), "credentials", i);
		path_key(q, sizeof(q), p, "client_secret_file");
		check_file(&c, q, cr->client_secret_file);
		path_key(q, sizeof(q), p, "client_secret_env");
		check_env(&c, q, cr->client_secret_env);
		path_key(q, sizeof(q), p, "ca_file");
		check_file(&c, q, cr->ca_file);
		path_key(q, sizeof(q), p, "cert_file");
		check_file(&c, q, cr->cert_file);
		path_key(q, sizeof(q), p, "key_file");
		check_file(&c, q, cr->key_file);
	}
	check_issuer_files(&c, cfg->issuers, cfg->nissuers);

	/* A local policy document: parse it and check what it names. */
	if (cfg->policy_file != NULL) {
		struct config *pol = NULL;
		char why[FILEIO_WHY_MAX];
		struct quoted qp;
		size_t len = 0;
		char *buf;

		/* The loader's limit: what passes here loads there. */
		if (fileio_read(cfg->policy_file, CONFIG_LOCAL_DOC_MAX, &buf,
		    &len, why, sizeof(why)) != 0) {
			perr(&c, "policy_file", "cannot read %s: %s",
			    quote(&qp, cfg->policy_file), why);
		} else {
			if (config_policy_parse(buf, len, "policy_file", cfg,
			    &pol, errs) != 0) {
				policy_bad = true;
			} else {
				struct pctx pc;

				pctx_init(&pc, errs, "policy_file", true);
				check_issuer_files(&pc, pol->issuers,
				    pol->nissuers);
				perr_finish(&pc);
				policy_bad = pc.nerr > 0;
				config_free(pol);
			}
			free(buf);
		}
	}
	perr_finish(&c);
	return (c.nerr > 0 || policy_bad ? -1 : 0);
}

/* Freeing ---------------------------------------------------------------- */

static void
strlist_free(struct strlist *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->v[i]);
	free(l->v);
	l->v = NULL;
	l->n = 0;
}

static void
dnlist_free(struct dnlist *l)
{
	for (size_t i = 0; i < l->n; i++) {
		free(l->text[i]);
		cert_dn_rule_free(l->dn[i]);
	}
	free(l->text);
	free(l->dn);
	memset(l, 0, sizeof(*l));
}

static void
listen_free(struct listen_addr *la)
{
	free(la->host);
	free(la->path);
	free(la->text);
}

static void
issuer_free(struct issuer_cfg *is)
{
	free(is->name);
	strlist_free(&is->issuer);
	free(is->source_location);
	free(is->appid);
	strlist_free(&is->audiences);
	free(is->hmac_secret_file);
	free(is->hmac_secret_env);
	strlist_free(&is->typ);
	strlist_free(&is->scopes_claims);
	strlist_free(&is->roles_claims);
	strlist_free(&is->tenants);
	free(is->ca_file);
	free(is->credential);
}

static void
cert_rule_free(struct cert_rule *cr)
{
	if (cr == NULL)
		return;
	free(cr->sha256);
	free(cr->sha1);
	free(cr->issuer_sha256);
	strlist_free(&cr->serials);
	strlist_free(&cr->common_names);
	dnlist_free(&cr->subjects);
	dnlist_free(&cr->issuers);
	strlist_free(&cr->dns_names);
	strlist_free(&cr->uris);
	strlist_free(&cr->emails);
	for (size_t i = 0; i < cr->nidentities; i++) {
		struct cert_identity *id = &cr->identities[i];

		free(id->serial);
		free(id->common_name);
		free(id->subject);
		free(id->issuer);
		cert_dn_rule_free(id->subject_dn);
		cert_dn_rule_free(id->issuer_dn);
		free(id->dns_name);
		free(id->uri);
		free(id->email);
	}
	free(cr->identities);
	free(cr);
}

static void
route_free(struct route_cfg *r)
{
	size_t i, j;

	free(r->name);
	free(r->host);
	free(r->path_prefix);
	strlist_free(&r->methods);
	free(r->issuers);
	strlist_free(&r->scopes_any);
	strlist_free(&r->scopes_all);
	strlist_free(&r->roles_any);
	strlist_free(&r->roles_all);
	for (i = 0; i < r->nclaims; i++) {
		for (j = 0; j < r->claims[i].nvalues; j++)
			free(r->claims[i].values[j].s);
		free(r->claims[i].values);
		free(r->claims[i].name);
	}
	free(r->claims);
	for (i = 0; i < r->nclaims_to_vars; i++) {
		free(r->claims_to_vars[i].claim);
		free(r->claims_to_vars[i].var);
	}
	free(r->claims_to_vars);
	cert_rule_free(r->client_cert);
	cidr_list_free(r->source_cidrs);
}

void
config_free(struct config *cfg)
{
	size_t i;

	if (cfg == NULL)
		return;
	free(cfg->path);
	for (i = 0; i < cfg->nlisten; i++)
		listen_free(&cfg->listen[i]);
	free(cfg->listen);
	if (cfg->admin_listen != NULL)
		listen_free(cfg->admin_listen);
	free(cfg->admin_listen);
	free(cfg->state_dir);
	free(cfg->policy_url);
	free(cfg->policy_file);
	free(cfg->policy_credential);
	free(cfg->policy_ca_file);
	free(cfg->client_ca_file);
	strlist_free(&cfg->crl_files);
	strlist_free(&cfg->crl_urls);
	free(cfg->fetch.ca_file);
	for (i = 0; i < cfg->ncredentials; i++) {
		struct credential *cr = &cfg->credentials[i];

		free(cr->name);
		free(cr->endpoint);
		free(cr->resource);
		free(cr->client_id);
		free(cr->api_version);
		free(cr->token_url);
		free(cr->client_secret_file);
		free(cr->client_secret_env);
		free(cr->scope);
		free(cr->ca_file);
		free(cr->cert_file);
		free(cr->key_file);
	}
	free(cfg->credentials);
	for (i = 0; i < cfg->nissuers; i++)
		issuer_free(&cfg->issuers[i]);
	free(cfg->issuers);
	for (i = 0; i < cfg->nroutes; i++)
		route_free(&cfg->routes[i]);
	free(cfg->routes);
	free(cfg->base_dir);
	free(cfg->policy_version);
	free(cfg);
}

void
config_errors_free(struct config_errors *errs)
{
	if (errs == NULL)
		return;
	for (size_t i = 0; i < errs->n; i++)
		free(errs->v[i]);
	free(errs->v);
	errs->v = NULL;
	errs->n = 0;
}

int
config_issuer_find(const struct config *cfg, const char *name)
{
	for (size_t i = 0; i < cfg->nissuers && i < INT32_MAX; i++)
		if (cfg->issuers[i].name != NULL &&
		    strcmp(cfg->issuers[i].name, name) == 0)
			return ((int)i);
	return (-1);
}
