/*
 * tokenresp.c: see tokenresp.h.
 */
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <cjson/cJSON.h>

#include "json_strict.h"
#include "strnum.h"
#include "tokenresp.h"

static const struct json_limits token_limits = { 8, 256, 1, 0 };

/* Year 9999 in epoch seconds: beyond is not a date. */
#define EPOCH_MAX       253402300799.0

/*
 * A number of seconds: a JSON number, or a string of decimal digits.
 * Return 1 with *${out} set, 0 if absent or not usable (a string in
 * another format: Azure App Service once used dates here), -1 if present
 * but a number out of range.
 */
static int
seconds(const cJSON *it, double max, double *out)
{
	uint64_t v;

	if (it == NULL)
		return (0);
	if (cJSON_IsNumber(it)) {
		double d = it->valuedouble;

		if (!isfinite(d) || d < 0 || d > max)
			return (-1);
		*out = floor(d);
		return (1);
	}
	if (cJSON_IsString(it) && it->valuestring != NULL) {
		if (strnum_u64(it->valuestring, strlen(it->valuestring), 0,
		    (uint64_t)max, &v) != 0)
			return (0);
		*out = (double)v;
		return (1);
	}
	return (0);
}

static bool
token_chars_ok(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] <= 0x20 || (unsigned char)s[i] >= 0x7f)
			return (false);
	return (true);
}

/* Copy the OAuth "error" code for a message: short, visible ASCII only. */
static void
error_code(const cJSON *root, char *err, size_t errlen)
{
	const cJSON *e = cJSON_GetObjectItemCaseSensitive(root, "error");
	char code[65];
	size_t n = 0;

	if (cJSON_IsString(e) && e->valuestring != NULL) {
		for (const char *p = e->valuestring; *p != '\0' &&
		    n + 1 < sizeof(code); p++)
			code[n++] = ((unsigned char)*p > 0x20 &&
			    (unsigned char)*p < 0x7f && *p != '"') ? *p : '?';
	}
	code[n] = '\0';
	if (n > 0)
		snprintf(err, errlen, "token endpoint error \"%s\"", code);
	else
		snprintf(err, errlen, "no access_token in the response");
}

int
tokenresp_parse(const char *buf, size_t len, int64_t now, char **token,
    size_t *token_len, int64_t *expires_at, char *err, size_t errlen)
{
	cJSON *root = NULL, *at;
	const cJSON *tt;
	char *copy = NULL;
	const char *why;
	double ttl = TOKENRESP_DEFAULT_TTL, v;
	size_t tlen;
	int rc = -1, r;

	*token = NULL;
	*token_len = 0;
	if (buf == NULL || len == 0 || len > TOKENRESP_DOC_MAX) {
		snprintf(err, errlen, "response empty or too large");
		return (-1);
	}
	if (json_strict_check(buf, len, &token_limits, &why) != 0) {
		snprintf(err, errlen, "response is not valid JSON: %s", why);
		return (-1);
	}
	if ((copy = malloc(len + 1)) == NULL) {
		snprintf(err, errlen, "out of memory");
		return (-1);
	}
	memcpy(copy, buf, len);
	copy[len] = '\0';
	root = cJSON_ParseWithLength(copy, len);
	if (root == NULL) {
		snprintf(err, errlen, "response is not valid JSON");
		goto out;
	}
	at = cJSON_GetObjectItemCaseSensitive(root, "access_token");
	if (!cJSON_IsString(at) || at->valuestring == NULL ||
	    at->valuestring[0] == '\0') {
		error_code(root, err, errlen);
		goto out;
	}
	tlen = strlen(at->valuestring);
	if (tlen > TOKENRESP_TOKEN_MAX || !token_chars_ok(at->valuestring, tlen)) {
		snprintf(err, errlen, "access_token too long or not visible ASCII");
		goto out;
	}
	tt = cJSON_GetObjectItemCaseSensitive(root, "token_type");
	if (tt != NULL && (!cJSON_IsString(tt) || tt->valuestring == NULL ||
	    strcasecmp(tt->valuestring, "Bearer") != 0)) {
		snprintf(err, errlen, "token_type is not Bearer");
		goto out;
	}
	r = seconds(cJSON_GetObjectItemCaseSensitive(root, "expires_in"),
	    EPOCH_MAX, &v);
	if (r < 0) {
		snprintf(err, errlen, "expires_in out of range");
		goto out;
	}
	if (r > 0) {
		ttl = v;
	} else {
		r = seconds(cJSON_GetObjectItemCaseSensitive(root, "expires_on"),
		    EPOCH_MAX, &v);
		if (r < 0) {
			snprintf(err, errlen, "expires_on out of range");
			goto out;
		}
		if (r > 0)
			ttl = v - (double)now;
	}
	if (ttl <= 0) {
		snprintf(err, errlen, "token already expired");
		goto out;
	}
	if (ttl > TOKENRESP_MAX_TTL)
		ttl = TOKENRESP_MAX_TTL;
	if ((*token = malloc(tlen + 1)) == NULL) {
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	memcpy(*token, at->valuestring, tlen + 1);
	*token_len = tlen;
	*expires_at = now + (int64_t)ttl;
	rc = 0;
out:
	if (root != NULL) {
		at = cJSON_GetObjectItemCaseSensitive(root, "access_token");
		if (cJSON_IsString(at) && at->valuestring != NULL)
			explicit_bzero(at->valuestring, strlen(at->valuestring));
	}
	cJSON_Delete(root);
	explicit_bzero(copy, len);
	free(copy);
	return (rc);
}
