/*
 * claims.c: see claims.h.
 */
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/types.h>

#include <cjson/cJSON.h>

#include "config-t.h"
#include "reason.h"
#include "tenant.h"
#include "util.h"
#include "claims.h"

/*
 * cJSON_GetObjectItemCaseSensitive(), without a strcmp() call per member:
 * claims are looked up a dozen times per request in payloads of twenty or
 * more members.  Same result: the first member whose name is ${name}.
 */
static const cJSON *
member(const cJSON *obj, const char *name)
{
	const cJSON *it;

	if (obj == NULL || name == NULL || !cJSON_IsObject(obj))
		return (NULL);
	for (it = obj->child; it != NULL; it = it->next)
		if (it->string != NULL && it->string[0] == name[0] &&
		    strcmp(it->string, name) == 0)
			return (it);
	return (NULL);
}

/* The member of ${obj} whose name is the ${n} bytes at ${name}. */
static const cJSON *
member_n(const cJSON *obj, const char *name, size_t n)
{
	const cJSON *it;

	if (!cJSON_IsObject(obj))
		return (NULL);
	for (it = obj->child; it != NULL; it = it->next)
		if (it->string != NULL && strlen(it->string) == n &&
		    memcmp(it->string, name, n) == 0)
			return (it);
	return (NULL);
}

/*
 * An RFC 6901 JSON Pointer ("/realm_access/roles", "/resource_access/my.app/roles",
 * "/https:~1~1example.com~1roles") into objects only; NULL if a step is
 * missing or not an object, or the pointer is malformed.
 */
static const cJSON *
pointer_get(const cJSON *cur, const char *ptr)
{
	char seg[CLAIMS_PATH_MAX + 1];

	if (*ptr != '/')
		return (NULL);
	while (*ptr == '/') {
		size_t n = 0;

		ptr++;
		while (*ptr != '\0' && *ptr != '/') {
			char ch = *ptr++;

			if (ch == '~') {
				if (*ptr == '0')
					ch = '~';
				else if (*ptr == '1')
					ch = '/';
				else
					return (NULL);
				ptr++;
			}
			if (n >= CLAIMS_PATH_MAX)
				return (NULL);
			seg[n++] = ch;
		}
		if ((cur = member_n(cur, seg, n)) == NULL)
			return (NULL);
	}
	return (cur);
}

const cJSON *
claims_get(const cJSON *payload, const char *path)
{
	const cJSON *cur = payload, *it;
	const char *dot;

	if (path == NULL || *path == '\0')
		return (NULL);
	if (*path == '/')
		return (pointer_get(payload, path));
	for (;;) {
		if (!cJSON_IsObject(cur))
			return (NULL);
		if ((it = member(cur, path)) != NULL)
			return (it);
		if ((dot = strchr(path, '.')) == NULL || dot == path)
			return (NULL);
		cur = member_n(cur, path, (size_t)(dot - path));
		path = dot + 1;
		if (cur == NULL || *path == '\0')
			return (NULL);
	}
}

bool
claims_path_valid(const char *path)
{
	size_t n = strlen(path);

	if (n == 0 || n > CLAIMS_PATH_MAX)
		return (false);
	if (path[0] != '/')
		return (path[n - 1] != '.' && path[0] != '.' &&
		    strstr(path, "..") == NULL);
	for (const char *p = path; *p != '\0'; p++)
		if (*p == '~' && p[1] != '0' && p[1] != '1')
			return (false);
	return (true);
}

int
claims_check_types(const cJSON *payload, const char **detail)
{
	/* RFC 7519 §4.1 (iss, sub: StringOrURI; jti: string), OIDC azp, and
	 * the providers' client and tenant ids: strings or absent.  A number
	 * or an array there would reach a header rendered as text. */
	static const struct { const char *name, *why; } strs[] = {
		{ "iss", "iss is not a string" },
		{ "sub", "sub is not a string" },
		{ "jti", "jti is not a string" },
		{ "azp", "azp is not a string" },
		{ "appid", "appid is not a string" },
		{ "client_id", "client_id is not a string" },
		{ "cid", "cid is not a string" },
		{ "tid", "tid is not a string" },
	};

	for (size_t i = 0; i < sizeof(strs) / sizeof(strs[0]); i++) {
		const cJSON *it = member(payload, strs[i].name);

		if (it != NULL && !cJSON_IsString(it)) {
			*detail = strs[i].why;
			return (-1);
		}
	}
	*detail = NULL;
	return (0);
}

int
claims_numeric_date(const cJSON *item, double *out)
{
	double v;

	if (!cJSON_IsNumber(item))
		return (-1);
	v = item->valuedouble;
	if (!isfinite(v) || v < 0 || v > CLAIMS_DATE_MAX)
		return (-1);
	*out = v;
	return (0);
}

/* Read an optional date claim; -1 if present but not a NumericDate. */
static int
opt_date(const cJSON *payload, const char *name, bool *has, double *v)
{
	const cJSON *it = member(payload, name);

	*has = (it != NULL);
	if (it == NULL)
		return (0);
	return (claims_numeric_date(it, v));
}

int
claims_times_extract(const cJSON *payload, struct claim_times *t,
    enum reason *r, const char **detail)
{
	const char *dummy;

	if (detail == NULL)
		detail = &dummy;
	*r = REASON_TOKEN_MALFORMED;
	memset(t, 0, sizeof(*t));
	if (opt_date(payload, "exp", &t->has_exp, &t->exp) != 0) {
		*detail = "exp is not a valid NumericDate";
		return (-1);
	}
	if (opt_date(payload, "nbf", &t->has_nbf, &t->nbf) != 0) {
		*detail = "nbf is not a valid NumericDate";
		return (-1);
	}
	if (opt_date(payload, "iat", &t->has_iat, &t->iat) != 0) {
		*detail = "iat is not a valid NumericDate";
		return (-1);
	}
	*r = REASON_OK;
	*detail = NULL;
	return (0);
}

int
claims_times_check(const struct claim_times *t, int64_t now, uint32_t skew_s,
    bool require_exp, uint32_t max_lifetime_s, enum reason *r,
    const char **detail)
{
	const char *dummy;
	double dnow = (double)now, skew = skew_s;

	if (detail == NULL)
		detail = &dummy;
	*r = REASON_TOKEN_MALFORMED;
	if (!t->has_exp && (require_exp || max_lifetime_s > 0)) {
		*detail = "exp missing";
		return (-1);
	}
	if (t->has_exp && dnow >= t->exp + skew) {
		*r = REASON_TOKEN_EXPIRED;
		*detail = "token expired";
		return (-1);
	}
	if (t->has_nbf && t->nbf > dnow + skew) {
		*r = REASON_TOKEN_NOT_YET_VALID;
		*detail = "token not valid yet (nbf)";
		return (-1);
	}
	if (t->has_iat && t->iat > dnow + skew) {
		*r = REASON_TOKEN_NOT_YET_VALID;
		*detail = "issued in the future";
		return (-1);
	}
	if (max_lifetime_s > 0 &&
	    t->exp - (t->has_iat ? t->iat : dnow) > (double)max_lifetime_s) {
		*r = REASON_TOKEN_EXPIRED;
		*detail = "lifetime exceeds max_lifetime_s";
		return (-1);
	}
	*r = REASON_OK;
	*detail = NULL;
	return (0);
}

int
claims_check_time(const cJSON *payload, int64_t now, uint32_t skew_s,
    bool require_exp, uint32_t max_lifetime_s, enum reason *r,
    const char **detail)
{
	struct claim_times t;

	if (claims_times_extract(payload, &t, r, detail) != 0)
		return (-1);
	return (claims_times_check(&t, now, skew_s, require_exp,
	    max_lifetime_s, r, detail));
}

/* ---- issuers ------------------------------------------------------------ */

/* The token's tid, lowercased into ${out}, if it is a GUID; else "". */
static void
tid_guid(const cJSON *payload, char out[TENANT_GUID_LEN + 1])
{
	const char *tid = claims_tenant(payload);

	out[0] = '\0';
	if (tid == NULL || strlen(tid) != TENANT_GUID_LEN ||
	    !tenant_is_guid(tid, TENANT_GUID_LEN))
		return;
	for (size_t k = 0; k < TENANT_GUID_LEN; k++)
		out[k] = util_ascii_lower(tid[k]);
	out[TENANT_GUID_LEN] = '\0';
}

int
claims_issuer_match(const char *iss, size_t iss_len,
    const struct issuer_cfg *is, const cJSON *payload, char *tenant_out,
    size_t tenant_cap)
{
	char tid[TENANT_GUID_LEN + 1];
	const char *guid;

	if (iss == NULL || is == NULL || tenant_cap < TENANT_GUID_LEN + 1)
		return (-1);
	tid_guid(payload, tid);
	for (size_t i = 0; i < is->issuer.n; i++) {
		const char *pat = is->issuer.v[i];
		size_t phlen;

		if (tenant_placeholder(pat, &phlen) == NULL) {
			if (strlen(pat) != iss_len ||
			    memcmp(pat, iss, iss_len) != 0)
				continue;
			/* Key issuers are checked with the token's tid. */
			memcpy(tenant_out, tid, sizeof(tid));
			return (0);
		}
		guid = tenant_template_guid(iss, iss_len, pat);
		if (guid == NULL)
			continue;
		/* The allow-list decides; an empty one allows nothing unless
		 * the config says "allow_any_tenant" in so many words. */
		if (!is->any_tenant &&
		    !tenant_in(guid, is->tenants.v, is->tenants.n))
			continue;
		/* S19: the tenant of iss must be the token's tid. */
		if (tid[0] == '\0' ||
		    !util_mem_caseeq(tid, guid, TENANT_GUID_LEN))
			continue;
		memcpy(tenant_out, tid, sizeof(tid));
		return (0);
	}
	return (-1);
}

#define ENTRA_V1_PRE	"https://sts.windows.net/"
#define ENTRA_V1_SUF	"/"
#define ENTRA_V2_PRE	"https://login.microsoftonline.com/"
#define ENTRA_V2_SUF	"/v2.0"

/* True if ${iss} is the Entra v1 issuer of tenant ${tenant}. */
static bool
v1_tenant_is(const char *iss, const char *tenant)
{
	size_t pre = sizeof(ENTRA_V1_PRE) - 1;

	return (strlen(iss) == pre + CLAIMS_GUID_LEN + 1 &&
	    memcmp(iss, ENTRA_V1_PRE, pre) == 0 &&
	    util_mem_caseeq(iss + pre, tenant, CLAIMS_GUID_LEN) &&
	    strcmp(iss + pre + CLAIMS_GUID_LEN, ENTRA_V1_SUF) == 0);
}

/*
 * Entra's v1 key endpoint attaches no issuer to its keys, and the same keys
 * are published by the v2 endpoint with a v2 issuer.  A v1 token
 * ("https://sts.windows.net/T/") checked against a v2 key set therefore
 * meets keys whose issuer is "https://login.microsoftonline.com/T/v2.0"
 * (or its {tenantid} template).  What the key scoping protects is the
 * tenant, so accept that pair when T is the same on both sides (as
 * Microsoft.IdentityModel does).  ${ph} is the placeholder in ${key_issuer},
 * NULL for a concrete one.  Return 0 if the pair matches, else -1.
 */
static int
v1_for_v2(const char *iss, const char *key_issuer, const char *ph,
    size_t phlen)
{
	size_t v1pre = sizeof(ENTRA_V1_PRE) - 1, v2pre = sizeof(ENTRA_V2_PRE) - 1;
	const char *t = iss + v1pre;

	if (strlen(iss) != v1pre + CLAIMS_GUID_LEN + 1 ||
	    memcmp(iss, ENTRA_V1_PRE, v1pre) != 0 ||
	    !tenant_is_guid(t, CLAIMS_GUID_LEN) ||
	    strcmp(t + CLAIMS_GUID_LEN, ENTRA_V1_SUF) != 0)
		return (-1);
	if (strncmp(key_issuer, ENTRA_V2_PRE, v2pre) != 0)
		return (-1);
	if (ph != NULL)
		return (ph == key_issuer + v2pre &&
		    strcmp(ph + phlen, ENTRA_V2_SUF) == 0 ? 0 : -1);
	return (strlen(key_issuer) == v2pre + CLAIMS_GUID_LEN +
	    sizeof(ENTRA_V2_SUF) - 1 &&
	    util_mem_caseeq(key_issuer + v2pre, t, CLAIMS_GUID_LEN) &&
	    strcmp(key_issuer + v2pre + CLAIMS_GUID_LEN, ENTRA_V2_SUF) == 0 ?
	    0 : -1);
}

int
claims_key_issuer_ok(const char *key_issuer, const char *iss,
    const char *tenant)
{
	const char *ph, *guid;
	size_t phlen;

	if (key_issuer == NULL)
		return (0);
	if (iss == NULL)
		return (-1);
	if ((ph = tenant_placeholder(key_issuer, &phlen)) == NULL) {
		if (strcmp(key_issuer, iss) == 0)
			return (0);
		return (v1_for_v2(iss, key_issuer, NULL, 0));
	}
	if (tenant == NULL || strlen(tenant) != CLAIMS_GUID_LEN)
		return (-1);
	guid = tenant_template_guid(iss, strlen(iss), key_issuer);
	if (guid != NULL)
		return (util_mem_caseeq(guid, tenant, CLAIMS_GUID_LEN) ? 0 : -1);
	return (v1_for_v2(iss, key_issuer, ph, phlen) == 0 &&
	    v1_tenant_is(iss, tenant) ? 0 : -1);
}

/* ---- audiences, scopes, roles, rules ----------------------------------- */

static bool
in_list(const char *s, const struct strlist *l)
{
	for (size_t i = 0; i < l->n; i++)
		if (strcmp(s, l->v[i]) == 0)
			return (true);
	return (false);
}

bool
claims_aud_match(const cJSON *payload, const struct strlist *audiences)
{
	const cJSON *aud = member(payload, "aud"), *it;
	bool found = false;
	int n = 0;

	if (aud == NULL || audiences == NULL || audiences->n == 0)
		return (false);
	if (cJSON_IsString(aud))
		return (aud->valuestring != NULL &&
		    in_list(aud->valuestring, audiences));
	if (!cJSON_IsArray(aud))
		return (false);
	cJSON_ArrayForEach(it, aud) {
		if (++n > CLAIMS_AUD_MAX || !cJSON_IsString(it) ||
		    it->valuestring == NULL)
			return (false);
		if (!found && in_list(it->valuestring, audiences))
			found = true;
	}
	return (found);
}

/* True if ${word} is one of the space-separated words of ${s}. */
static bool
in_words(const char *s, const char *word)
{
	size_t wl = strlen(word);

	if (wl == 0)
		return (false);
	while (*s != '\0') {
		while (*s == ' ')
			s++;
		const char *w = s;
		while (*s != '\0' && *s != ' ')
			s++;
		if ((size_t)(s - w) == wl && memcmp(w, word, wl) == 0)
			return (true);
	}
	return (false);
}

/* True if the claim ${c} (string of words or array of strings) has ${w}. */
static bool
claim_has(const cJSON *c, const char *w)
{
	const cJSON *it;

	if (cJSON_IsString(c) && c->valuestring != NULL)
		return (in_words(c->valuestring, w));
	if (cJSON_IsArray(c)) {
		cJSON_ArrayForEach(it, c)
			if (cJSON_IsString(it) && it->valuestring != NULL &&
			    strcmp(it->valuestring, w) == 0)
				return (true);
	}
	return (false);
}

size_t
claims_words_gather(const cJSON *payload, enum claims_words which,
    const struct strlist *paths, const cJSON *out[CLAIMS_SOURCES_MAX])
{
	size_t n = 0;
	const cJSON *c;

	if (paths != NULL && paths->n > 0) {
		for (size_t i = 0; i < paths->n && i < CLAIMS_SOURCES_MAX; i++)
			if ((c = claims_get(payload, paths->v[i])) != NULL)
				out[n++] = c;
		return (n);
	}
	if (which == CLAIMS_ROLES) {
		c = member(payload, "roles");
	} else if ((c = member(payload, "scp")) == NULL) {
		c = member(payload, "scope");
		if (c != NULL && !cJSON_IsString(c))
			c = NULL;	/* RFC 8693: scope is a string */
	}
	if (c != NULL)
		out[n++] = c;
	return (n);
}

bool
claims_words_has(const cJSON *const *cs, size_t n, const char *w)
{
	for (size_t i = 0; i < n; i++)
		if (claim_has(cs[i], w))
			return (true);
	return (false);
}

static bool
value_equal(const cJSON *it, const struct claim_value *v)
{
	switch (v->type) {
	case CLAIM_VAL_STRING:
		return (cJSON_IsString(it) && it->valuestring != NULL &&
		    v->s != NULL && strcmp(it->valuestring, v->s) == 0);
	case CLAIM_VAL_NUMBER:
		return (cJSON_IsNumber(it) && it->valuedouble == v->num);
	case CLAIM_VAL_BOOL:
		return (cJSON_IsBool(it) && (cJSON_IsTrue(it) != 0) == v->b);
	}
	return (false);
}

bool
claims_value_has(const cJSON *c, const struct claim_value *v)
{
	const cJSON *it;

	if (!cJSON_IsArray(c))
		return (value_equal(c, v));
	cJSON_ArrayForEach(it, c)
		if (value_equal(it, v))
			return (true);
	return (false);
}

/* ---- rendering ---------------------------------------------------------- */

/* Append the rendering of scalar ${it} at ${out}+*${n}; -1 if impossible. */
/*
 * Bytes render_scalar() must look at: C0 controls (NUL ends the string
 * first), DEL, and 0xc2, the lead byte of the C1 controls.  One load per
 * byte instead of three comparisons: every identity value goes through it.
 */
static const uint8_t render_attn[256] = {
	[0x01] = 1, [0x02] = 1, [0x03] = 1, [0x04] = 1, [0x05] = 1, [0x06] = 1,
	[0x07] = 1, [0x08] = 1, [0x09] = 1, [0x0a] = 1, [0x0b] = 1, [0x0c] = 1,
	[0x0d] = 1, [0x0e] = 1, [0x0f] = 1, [0x10] = 1, [0x11] = 1, [0x12] = 1,
	[0x13] = 1, [0x14] = 1, [0x15] = 1, [0x16] = 1, [0x17] = 1, [0x18] = 1,
	[0x19] = 1, [0x1a] = 1, [0x1b] = 1, [0x1c] = 1, [0x1d] = 1, [0x1e] = 1,
	[0x1f] = 1, [0x7f] = 1, [0xc2] = 1,
};

static int
render_scalar(const cJSON *it, char *out, size_t cap, size_t *n)
{
	size_t room = cap - *n, len;
	char num[40];
	const char *s;
	int w;

	if (cJSON_IsString(it) && it->valuestring != NULL) {
		s = it->valuestring;
		len = strlen(s);
		for (size_t i = 0; i < len; i++) {
			unsigned char ch = (unsigned char)s[i];

			if (!render_attn[ch])
				continue;
			/* C0, DEL, and C1 (U+0080-U+009F is C2 80..C2 9F). */
			if (ch != 0xc2 || (i + 1 < len &&
			    (unsigned char)s[i + 1] < 0xa0))
				return (-1);
		}
	} else if (cJSON_IsNumber(it)) {
		double v = it->valuedouble;
		if (!isfinite(v))
			return (-1);
		if (v == 0)
			w = snprintf(num, sizeof(num), "0");
		else if (v == floor(v) && fabs(v) < 9007199254740992.0)
			w = snprintf(num, sizeof(num), "%.0f", v);
		else
			w = snprintf(num, sizeof(num), "%.17g", v);
		if (w < 0 || (size_t)w >= sizeof(num))
			return (-1);
		s = num;
		len = (size_t)w;
	} else if (cJSON_IsTrue(it)) {
		s = "true";
		len = 4;
	} else if (cJSON_IsFalse(it)) {
		s = "false";
		len = 5;
	} else {
		return (-1);
	}
	if (len >= room)
		return (-1);
	memcpy(out + *n, s, len);
	*n += len;
	out[*n] = '\0';
	return (0);
}

ssize_t
claims_render(const cJSON *item, char *out, size_t cap)
{
	const cJSON *it;
	size_t n = 0;

	if (cap == 0)
		return (-1);
	out[0] = '\0';
	if (item == NULL)
		return (-1);
	if (!cJSON_IsArray(item)) {
		if (render_scalar(item, out, cap, &n) != 0)
			goto fail;
		return ((ssize_t)n);
	}
	cJSON_ArrayForEach(it, item) {
		if (it != item->child) {
			if (cap - n < 2)
				goto fail;
			out[n++] = ' ';
			out[n] = '\0';
		}
		if (render_scalar(it, out, cap, &n) != 0)
			goto fail;
	}
	return ((ssize_t)n);
fail:
	out[0] = '\0';
	return (-1);
}

ssize_t
claims_render_words(const cJSON *payload, enum claims_words which,
    const struct strlist *paths, char *out, size_t cap)
{
	const cJSON *cs[CLAIMS_SOURCES_MAX];
	size_t n = claims_words_gather(payload, which, paths, cs), len = 0;
	ssize_t r;

	if (cap > 0)
		out[0] = '\0';
	if (n == 0)
		return (-1);
	if (cap == 0)
		return (-2);
	for (size_t i = 0; i < n; i++) {
		if (len > 0) {
			if (cap - len < 2)
				goto fail;
			out[len++] = ' ';
		}
		r = claims_render(cs[i], out + len, cap - len);
		if (r < 0)
			goto fail;
		len += (size_t)r;
		if (r == 0 && len > 0 && out[len - 1] == ' ')
			len--;          /* an empty array adds nothing */
		out[len] = '\0';
	}
	return ((ssize_t)len);
fail:
	out[0] = '\0';
	return (-2);
}

/* ---- identity ----------------------------------------------------------- */

const char *
claims_string(const cJSON *payload, const char *name)
{
	const cJSON *it = member(payload, name);

	if (!cJSON_IsString(it) || it->valuestring == NULL)
		return (NULL);
	return (it->valuestring);
}

static const char *
nonempty(const cJSON *payload, const char *name)
{
	const char *s = claims_string(payload, name);

	return ((s != NULL && *s != '\0') ? s : NULL);
}

const char *
claims_client_id(const cJSON *payload)
{
	const char *s;

	if ((s = nonempty(payload, "azp")) != NULL ||
	    (s = nonempty(payload, "appid")) != NULL ||
	    (s = nonempty(payload, "client_id")) != NULL)
		return (s);
	return (nonempty(payload, "cid"));     /* Okta */
}

const char *
claims_tenant(const cJSON *payload)
{
	return (nonempty(payload, "tid"));
}
