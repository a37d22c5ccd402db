/*
 * cfg_cert.c: a route's client_cert rules.  See cfg_int.h.
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
	const cJSON *it = cfg_get(o, key);
	size_t n, i = 0;
	const char *s;

	if (it == NULL)
		return;
	cfg_path_key(p, sizeof(p), path, key);
	if (!cfg_array_ok(c, it, p, "strings", 0, SIZE_MAX, &n) || n == 0)
		return;
	if ((*out = cfg_xcalloc(c, n, bytes)) == NULL)
		return;
	for (const cJSON *e = it->child; e != NULL; e = e->next, i++) {
		cfg_path_idx(ep, sizeof(ep), p, i);
		if ((s = cfg_str_value(c, e, ep)) == NULL)
			continue;
		if (thumb_parse(s, *out + *nout * bytes, bytes, true) != 0) {
			cfg_perr(c, ep, "%s", bytes == 32 ? thumb256_msg :
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

	if (cfg_get_sval(c, o, path, key, false, &s) != PRESENT)
		return;
	if (thumb_parse(s, out, n, true) != 0) {
		cfg_path_key(p, sizeof(p), path, key);
		cfg_perr(c, p, "%s", n == 32 ? thumb256_msg : thumb1_msg);
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
		cfg_oom(c);
	else
		cfg_perr(c, p, "not a distinguished name: %s", why);
	return (-1);
}

/* The DN at ${key} of ${o}: its text and compiled form, or neither. */
static void
get_dn(struct pctx *c, const cJSON *o, const char *path, const char *key,
    char **text, struct cert_dn_rule **dn)
{
	char p[CFG_PATH_MAX];
	const char *s;

	if (cfg_get_sval(c, o, path, key, false, &s) != PRESENT)
		return;
	cfg_path_key(p, sizeof(p), path, key);
	if (dn_compile(c, p, s, dn) != 0)
		return;
	if ((*text = cfg_xstrdup(c, s)) == NULL) {
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
	const cJSON *it = cfg_get(o, key);
	const char *s;
	size_t n, i = 0;

	if (it == NULL)
		return;
	cfg_path_key(p, sizeof(p), path, key);
	if (!cfg_array_ok(c, it, p, "strings", 0, SIZE_MAX, &n) || n == 0)
		return;
	if ((out->text = cfg_xcalloc(c, n, sizeof(*out->text))) == NULL ||
	    (out->dn = cfg_xcalloc(c, n, sizeof(*out->dn))) == NULL)
		return;
	for (const cJSON *e = it->child; e != NULL; e = e->next, i++) {
		cfg_path_idx(ep, sizeof(ep), p, i);
		if ((s = cfg_str_value(c, e, ep)) == NULL ||
		    dn_compile(c, ep, s, &out->dn[out->n]) != 0)
			continue;
		if ((out->text[out->n] = cfg_xstrdup(c, s)) == NULL) {
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

	cfg_check_keys(c, o, path, identity_keys);
	get_id_thumb(c, o, path, "thumbprint_sha256", id->sha256, 32,
	    &id->has_sha256);
	get_id_thumb(c, o, path, "thumbprint_sha1", id->sha1, 20,
	    &id->has_sha1);
	get_id_thumb(c, o, path, "issuer_thumbprint_sha256", id->issuer_sha256,
	    32, &id->has_issuer_sha256);
	(void)cfg_get_str(c, o, path, "serial", false, cfg_check_serial, 0,
	    &id->serial);
	(void)cfg_get_str(c, o, path, "common_name", false, NULL, 0,
	    &id->common_name);
	get_dn(c, o, path, "subject", &id->subject, &id->subject_dn);
	get_dn(c, o, path, "issuer", &id->issuer, &id->issuer_dn);
	(void)cfg_get_str(c, o, path, "dns_name", false, NULL, 0,
	    &id->dns_name);
	(void)cfg_get_str(c, o, path, "uri", false, NULL, 0, &id->uri);
	(void)cfg_get_str(c, o, path, "email", false, NULL, 0, &id->email);
	if (o->child == NULL)
		cfg_perr(c, path, "needs at least one attribute");
	if (cfg_get(o, "issuer_thumbprint_sha256") != NULL &&
	    !c->have_client_ca) {
		cfg_path_key(p, sizeof(p), path, "issuer_thumbprint_sha256");
		cfg_perr(c, p, "requires client_ca_file");
	}
}

void
cfg_parse_client_cert(struct pctx *c, const cJSON *o, const char *path,
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

	cfg_check_keys(c, o, path, keys);
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
	if (cfg_get(o, "issuer_thumbprints_sha256") != NULL &&
	    !c->have_client_ca) {
		cfg_path_key(p, sizeof(p), path, "issuer_thumbprints_sha256");
		cfg_perr(c, p, "requires client_ca_file");
	}
	(void)cfg_get_strlist(c, o, path, "serials", 0, SIZE_MAX,
	    cfg_check_serial, 0,
	    &cr->serials);
	(void)cfg_get_strlist(c, o, path, "common_names", 0, SIZE_MAX, NULL, 0,
	    &cr->common_names);
	get_dnlist(c, o, path, "subjects", &cr->subjects);
	get_dnlist(c, o, path, "issuers", &cr->issuers);
	(void)cfg_get_strlist(c, o, path, "dns_names", 0, SIZE_MAX, NULL, 0,
	    &cr->dns_names);
	(void)cfg_get_strlist(c, o, path, "uris", 0, SIZE_MAX, NULL, 0,
	    &cr->uris);
	(void)cfg_get_strlist(c, o, path, "emails", 0, SIZE_MAX, NULL, 0,
	    &cr->emails);
	cr->check_validity = true;
	(void)cfg_get_bool(c, o, path, "check_validity", &cr->check_validity);

	if ((ids = cfg_get(o, "identities")) == NULL)
		return;
	cfg_path_key(p, sizeof(p), path, "identities");
	if (!cfg_array_ok(c, ids, p, "objects", 1, SIZE_MAX, &n))
		return;
	if ((cr->identities = cfg_xcalloc(c, n,
	    sizeof(*cr->identities))) == NULL)
		return;
	cr->nidentities = n;
	i = 0;
	for (const cJSON *e = ids->child; e != NULL; e = e->next, i++) {
		cfg_path_idx(ep, sizeof(ep), p, i);
		if (!cJSON_IsObject(e))
			cfg_perr(c, ep, "must be an object");
		else
			parse_identity(c, e, ep, &cr->identities[i]);
	}
}
