/*
 * cfg_schema.c: error reporting with JSON paths, allocation, small validators,
 * typed getters over cJSON, unique names, and loading a document through
 * the strict tokenizer (json_doc_parse).  See cfg_int.h.
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

/* Error reporting -------------------------------------------------------- */

int
cfg_errs_push(struct config_errors *errs, const char *line)
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

void
cfg_perr(struct pctx *c, const char *path, const char *fmt, ...)
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
	if (cfg_errs_push(c->errs, line) == 0)
		c->nstored++;
}

void
cfg_oom(struct pctx *c)
{
	if (!c->oom) {
		c->oom = true;
		cfg_perr(c, "", "out of memory");
	}
}

/* Close a parse: say how many errors were not stored. */
void
cfg_perr_finish(struct pctx *c)
{
	char line[128];

	if (c->nerr > c->nstored) {
		(void)snprintf(line, sizeof(line),
		    "%s: %zu more errors not shown", c->doc,
		    c->nerr - c->nstored);
		(void)cfg_errs_push(c->errs, line);
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

const char *
cfg_quote(struct quoted *q, const char *s)
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

void
cfg_path_key(char *out, size_t cap, const char *parent, const char *key)
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

void
cfg_path_idx(char *out, size_t cap, const char *parent, size_t i)
{
	char idx[32];
	const char *parts[2];

	(void)snprintf(idx, sizeof(idx), "[%zu]", i);
	parts[0] = parent;
	parts[1] = idx;
	path_cat(out, cap, parts, 2);
}

/* Allocation ------------------------------------------------------------- */

char *
cfg_xstrdup(struct pctx *c, const char *s)
{
	char *d;

	if (s == NULL)
		return (NULL);
	if ((d = strdup(s)) == NULL)
		cfg_oom(c);
	return (d);
}

void *
cfg_xcalloc(struct pctx *c, size_t n, size_t sz)
{
	void *p;

	if ((p = calloc(n ? n : 1, sz)) == NULL)
		cfg_oom(c);
	return (p);
}

/* ${file} as an absolute path when it is relative and base_dir is set. */
static char *
resolve(struct pctx *c, const char *file)
{
	size_t bl, fl;
	char *d;

	if (file[0] == '/' || c->base_dir == NULL || c->base_dir[0] == '\0')
		return (cfg_xstrdup(c, file));
	bl = strlen(c->base_dir);
	fl = strlen(file);
	while (bl > 1 && c->base_dir[bl - 1] == '/')
		bl--;
	if ((d = malloc(bl + fl + 2)) == NULL) {
		cfg_oom(c);
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

bool
cfg_is_alnum(unsigned char ch)
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

const char *
cfg_check_name(char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > NAME_MAX_LEN)
		return ("must match [A-Za-z0-9_.-]{1,64}");
	for (; *s != '\0'; s++)
		if (!cfg_is_alnum((unsigned char)*s) && *s != '_' &&
		    *s != '.' &&
		    *s != '-')
			return ("must match [A-Za-z0-9_.-]{1,64}");
	return (NULL);
}

const char *
cfg_check_env_name(char *s)
{
	static const char msg[] =
	    "must be an environment variable name ([A-Za-z_][A-Za-z0-9_]*)";

	if ((s[0] >= '0' && s[0] <= '9') || strlen(s) > 255)
		return (msg);
	for (; *s != '\0'; s++)
		if (!cfg_is_alnum((unsigned char)*s) && *s != '_')
			return (msg);
	return (NULL);
}

const char *
cfg_check_guid(char *s)
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

const char *
cfg_check_appid(char *s)
{
	if (strlen(s) > 128)
		return ("must be at most 128 characters");
	for (; *s != '\0'; s++)
		if (!cfg_is_alnum((unsigned char)*s) && *s != '-' &&
		    *s != '.' &&
		    *s != '_' && *s != '~')
			return ("must contain only unreserved URL characters "
			    "(A-Z a-z 0-9 - . _ ~)");
	return (NULL);
}

/* HTTP method: a token (RFC 9110 tchar) without lowercase letters. */
const char *
cfg_check_method(char *s)
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
const char *
cfg_check_host(char *s)
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
		} else if (cfg_is_alnum((unsigned char)*p) || *p == '-' ||
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
const char *
cfg_check_serial(char *s)
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
const char *
cfg_claim_path_error(const char *s)
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

const cJSON *
cfg_get(const cJSON *o, const char *key)
{
	return (cJSON_GetObjectItemCaseSensitive(o, key));
}

size_t
cfg_count_children(const cJSON *a)
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
void
cfg_check_keys2(struct pctx *c, const cJSON *o, const char *path,
    const char *const *allowed, const char *const *other,
    const char *other_msg)
{
	char p[CFG_PATH_MAX];

	for (const cJSON *m = o->child; m != NULL; m = m->next) {
		if (in_list(m->string, allowed))
			continue;
		cfg_path_key(p, sizeof(p), path, m->string);
		if (other != NULL && in_list(m->string, other))
			cfg_perr(c, p, "%s", other_msg);
		else
			cfg_perr(c, p, "unknown key");
	}
}

void
cfg_check_keys(struct pctx *c, const cJSON *o, const char *path,
    const char *const *allowed)
{
	cfg_check_keys2(c, o, path, allowed, NULL, NULL);
}

/* A string value at ${p}: non-empty, no control characters. */
const char *
cfg_str_value(struct pctx *c, const cJSON *it, const char *p)
{
	if (!cJSON_IsString(it) || it->valuestring == NULL) {
		cfg_perr(c, p, "must be a string");
		return (NULL);
	}
	if (it->valuestring[0] == '\0') {
		cfg_perr(c, p, "must not be empty");
		return (NULL);
	}
	if (has_ctl(it->valuestring)) {
		cfg_perr(c, p, "must not contain control characters");
		return (NULL);
	}
	return (it->valuestring);
}

/* ${key} of ${o} as a borrowed string in *${out}. */
int
cfg_get_sval(struct pctx *c, const cJSON *o, const char *path, const char *key,
    bool required, const char **out)
{
	char p[CFG_PATH_MAX];
	const cJSON *it = cfg_get(o, key);

	cfg_path_key(p, sizeof(p), path, key);
	if (it == NULL) {
		if (!required)
			return (ABSENT);
		cfg_perr(c, p, "required");
		return (BAD);
	}
	if ((*out = cfg_str_value(c, it, p)) == NULL)
		return (BAD);
	return (PRESENT);
}

/*
 * ${key} of ${o} as a new string in *${out} (freed by the caller), checked
 * by ${check} (may be NULL) after the ${flags} transformations.
 */
int
cfg_get_str(struct pctx *c, const cJSON *o, const char *path, const char *key,
    bool required, str_check_fn *check, unsigned flags, char **out)
{
	char p[CFG_PATH_MAX];
	const char *s, *msg;
	char *d;
	int r;

	if ((r = cfg_get_sval(c, o, path, key, required, &s)) != PRESENT)
		return (r);
	d = (flags & SV_PATH) ? resolve(c, s) : cfg_xstrdup(c, s);
	if (d == NULL)
		return (BAD);
	if (flags & SV_LOWER)
		ascii_lower(d);
	if (check != NULL && (msg = check(d)) != NULL) {
		cfg_path_key(p, sizeof(p), path, key);
		cfg_perr(c, p, "%s", msg);
		free(d);
		return (BAD);
	}
	free(*out);
	*out = d;
	return (PRESENT);
}

int
cfg_get_url(struct pctx *c, const cJSON *o, const char *path, const char *key,
    bool required, enum url_mode mode, char **out)
{
	char p[CFG_PATH_MAX];
	const char *s, *msg;
	int r;

	if ((r = cfg_get_sval(c, o, path, key, required, &s)) != PRESENT)
		return (r);
	if ((msg = url_error(c, s, mode)) != NULL) {
		cfg_path_key(p, sizeof(p), path, key);
		cfg_perr(c, p, "%s", msg);
		return (BAD);
	}
	free(*out);
	if ((*out = cfg_xstrdup(c, s)) == NULL)
		return (BAD);
	return (PRESENT);
}

int
cfg_get_u32(struct pctx *c, const cJSON *o, const char *path, const char *key,
    uint32_t min, uint32_t max, uint32_t *out)
{
	char p[CFG_PATH_MAX];
	const cJSON *it = cfg_get(o, key);
	double d;

	if (it == NULL)
		return (ABSENT);
	d = cJSON_IsNumber(it) ? it->valuedouble : NAN;
	if (!isfinite(d) || d < (double)min || d > (double)max ||
	    (double)(uint32_t)d != d) {
		cfg_path_key(p, sizeof(p), path, key);
		cfg_perr(c, p, "must be an integer from %u to %u", min, max);
		return (BAD);
	}
	*out = (uint32_t)d;
	return (PRESENT);
}

int
cfg_get_bool(struct pctx *c, const cJSON *o, const char *path, const char *key,
    bool *out)
{
	char p[CFG_PATH_MAX];
	const cJSON *it = cfg_get(o, key);

	if (it == NULL)
		return (ABSENT);
	if (!cJSON_IsBool(it)) {
		cfg_path_key(p, sizeof(p), path, key);
		cfg_perr(c, p, "must be true or false");
		return (BAD);
	}
	*out = cJSON_IsTrue(it);
	return (PRESENT);
}

/* The object at ${key}, or NULL (reported if present but not an object). */
const cJSON *
cfg_get_obj(struct pctx *c, const cJSON *o, const char *path, const char *key)
{
	char p[CFG_PATH_MAX];
	const cJSON *it = cfg_get(o, key);

	if (it != NULL && !cJSON_IsObject(it)) {
		cfg_path_key(p, sizeof(p), path, key);
		cfg_perr(c, p, "must be an object");
		return (NULL);
	}
	return (it);
}

static void
count_error(struct pctx *c, const char *p, size_t min, size_t max)
{
	if (min == 1 && max == SIZE_MAX)
		cfg_perr(c, p, "must not be empty");
	else if (max == SIZE_MAX)
		cfg_perr(c, p, "must have at least %zu entries", min);
	else
		cfg_perr(c, p, "must have %zu to %zu entries", min, max);
}

/* The array ${it} at ${p} with ${min}..${max} entries; its size in *${n}. */
bool
cfg_array_ok(struct pctx *c, const cJSON *it, const char *p, const char *what,
    size_t min, size_t max, size_t *n)
{
	if (!cJSON_IsArray(it)) {
		cfg_perr(c, p, "must be an array of %s", what);
		return (false);
	}
	*n = cfg_count_children(it);
	if (*n < min || *n > max) {
		count_error(c, p, min, max);
		return (false);
	}
	return (true);
}

/* A string list from the array ${it} at ${p}. */
int
cfg_strlist_from(struct pctx *c, const cJSON *it, const char *p, size_t min,
    size_t max, str_check_fn *check, unsigned flags, struct strlist *out)
{
	char ep[CFG_PATH_MAX];
	const char *s, *msg;
	size_t n, i = 0;
	int ret = PRESENT;

	if (!cfg_array_ok(c, it, p, "strings", min, max, &n))
		return (BAD);
	if (n == 0)
		return (PRESENT);
	if ((out->v = cfg_xcalloc(c, n, sizeof(*out->v))) == NULL)
		return (BAD);
	for (const cJSON *e = it->child; e != NULL; e = e->next, i++) {
		char *d;

		cfg_path_idx(ep, sizeof(ep), p, i);
		if ((s = cfg_str_value(c, e, ep)) == NULL) {
			ret = BAD;
			continue;
		}
		d = (flags & SV_PATH) ? resolve(c, s) : cfg_xstrdup(c, s);
		if (d == NULL) {
			ret = BAD;
			continue;
		}
		if (flags & SV_LOWER)
			ascii_lower(d);
		if (check != NULL && (msg = check(d)) != NULL) {
			cfg_perr(c, ep, "%s", msg);
			free(d);
			ret = BAD;
			continue;
		}
		out->v[out->n++] = d;
	}
	return (ret);
}

int
cfg_get_strlist(struct pctx *c, const cJSON *o, const char *path,
    const char *key, size_t min, size_t max, str_check_fn *check,
    unsigned flags, struct strlist *out)
{
	char p[CFG_PATH_MAX];
	const cJSON *it = cfg_get(o, key);

	if (it == NULL)
		return (ABSENT);
	cfg_path_key(p, sizeof(p), path, key);
	return (cfg_strlist_from(c, it, p, min, max, check, flags, out));
}

int
cfg_get_urllist(struct pctx *c, const cJSON *o, const char *path,
    const char *key, enum url_mode mode, struct strlist *out)
{
	char p[CFG_PATH_MAX], ep[CFG_PATH_MAX];
	const char *msg;
	int r;

	if ((r = cfg_get_strlist(c, o, path, key, 0, SIZE_MAX, NULL, 0, out)) !=
	    PRESENT)
		return (r);
	cfg_path_key(p, sizeof(p), path, key);
	for (size_t i = 0; i < out->n; i++) {
		if ((msg = url_error(c, out->v[i], mode)) != NULL) {
			cfg_path_idx(ep, sizeof(ep), p, i);
			cfg_perr(c, ep, "%s", msg);
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
void
cfg_check_unique(struct pctx *c, const char *arr, const char *field,
    const char *what, const char *const *names, size_t n)
{
	char p[CFG_PATH_MAX], q[CFG_PATH_MAX];
	struct name_ref *refs;
	struct quoted qn;
	size_t m = 0, i, first = 0;

	if (n < 2)
		return;
	if ((refs = cfg_xcalloc(c, n, sizeof(*refs))) == NULL)
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
		cfg_path_idx(q, sizeof(q), arr, refs[i].idx);
		if (field != NULL)
			cfg_path_key(p, sizeof(p), q, field);
		else
			(void)snprintf(p, sizeof(p), "%s", q);
		cfg_path_idx(q, sizeof(q), arr, refs[first].idx);
		cfg_perr(c, p, "duplicate %s %s (first at %s%s%s)", what,
		    cfg_quote(&qn, refs[i].name), c->prefixed ? c->doc : "",
		    c->prefixed ? "." : "", q);
	}
	free(refs);
}

/* Loading the JSON text ------------------------------------------------ */

/*
 * The rules of the one strict tokenizer (json_strict.h), with room for any
 * config: nesting far beyond the schema's, arrays as long as memory allows
 * (the schema caps those it must), objects of up to 16384 keys (each key is
 * checked against the earlier ones of its object, so large objects cost
 * more; the schema's objects have a few dozen).
 */
static const struct json_limits cfg_json_limits = {
	64, 1u << 24, 0, 0, 16384
};

/* Parse ${buf}; NULL after reporting if it is not one strict JSON object. */
cJSON *
cfg_json_load(struct pctx *c, const char *buf, size_t len)
{
	struct json_error err;
	cJSON *root;

	if (buf == NULL || len == 0) {
		cfg_perr(c, "", "empty document");
		return (NULL);
	}
	if (len > CFG_DOC_MAX) {
		cfg_perr(c, "", "document too large (%zu bytes, max %u)", len,
		    CFG_DOC_MAX);
		return (NULL);
	}
	if ((root = json_doc_parse(buf, len, &cfg_json_limits, &err)) == NULL) {
		cfg_perr(c, "", "invalid JSON at line %zu, column %zu: %s",
		    err.line, err.col, err.why);
		return (NULL);
	}
	if (!cJSON_IsObject(root)) {
		cfg_perr(c, "", "must be a JSON object");
		cJSON_Delete(root);
		return (NULL);
	}
	return (root);
}
