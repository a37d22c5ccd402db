/*
 * inspect.c: see inspect.h.  The "spoa-iam inspect TOKEN" command: for
 * people at a terminal, lenient where it can be, never on a request path.
 */
#include <ctype.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <time.h>

#include <cjson/cJSON.h>

#include "b64url.h"
#include "claims.h"
#include "jws.h"
#include "reason.h"
#include "util.h"
#include "inspect.h"

/* ---- inspect: for people, lenient where it can be ---------------------- */

/*
 * Decode base64 leniently: base64url or standard alphabet, '=' padding and
 * whitespace skipped, unused trailing bits ignored.  Return the length or
 * -1 on any other character.  ${out} holds at least len * 3 / 4 + 1 bytes.
 */
static ssize_t
lenient_b64(const char *in, size_t len, uint8_t *out)
{
	uint32_t acc = 0;
	unsigned bits = 0;
	size_t n = 0;
	int v;

	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)in[i];
		if (c >= 'A' && c <= 'Z')
			v = c - 'A';
		else if (c >= 'a' && c <= 'z')
			v = c - 'a' + 26;
		else if (c >= '0' && c <= '9')
			v = c - '0' + 52;
		else if (c == '-' || c == '+')
			v = 62;
		else if (c == '_' || c == '/')
			v = 63;
		else if (c == '=' || isspace(c))
			continue;
		else
			return (-1);
		acc = (acc << 6 | (uint32_t)v) & 0xffffff;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			out[n++] = (uint8_t)(acc >> bits);
		}
	}
	return ((ssize_t)n);
}

/* Print bytes that are not JSON, escaping anything unprintable. */
static void
print_raw(FILE *out, const uint8_t *p, size_t n)
{
	fputs("  (not JSON) \"", out);
	for (size_t i = 0; i < n && i < 4096; i++) {
		if (p[i] >= 0x20 && p[i] < 0x7f && p[i] != '"' && p[i] != '\\')
			fputc(p[i], out);
		else
			fprintf(out, "\\x%02x", p[i]);
	}
	fputs(n > 4096 ? "\"...\n" : "\"\n", out);
}

/* "in 1h 5m", "3d 2h ago": the two largest units, zero ones left out. */
static void
print_rel(FILE *out, double delta)
{
	static const struct { const char *unit; double secs; } units[] = {
		{ "d", 86400 }, { "h", 3600 }, { "m", 60 }, { "s", 1 },
	};
	double a = floor(fabs(delta));
	size_t i = 0;

	if (a < 1) {
		fputs("now", out);
		return;
	}
	if (delta > 0)
		fputs("in ", out);
	while (a < units[i].secs)
		i++;
	fprintf(out, "%.0f%s", floor(a / units[i].secs), units[i].unit);
	a = fmod(a, units[i].secs);
	if (i + 1 < ARRAY_SIZE(units) && a >= units[i + 1].secs)
		fprintf(out, " %.0f%s", floor(a / units[i + 1].secs),
		    units[i + 1].unit);
	if (delta < 0)
		fputs(" ago", out);
}

static void
print_times(FILE *out, const cJSON *payload, int64_t now)
{
	static const char *const names[] = { "exp", "nbf", "iat" };
	int any = 0;

	for (size_t i = 0; i < ARRAY_SIZE(names); i++) {
		const cJSON *it = cJSON_GetObjectItemCaseSensitive(payload,
		    names[i]);
		char num[64];
		double v;

		if (it == NULL)
			continue;
		if (!any)
			fputs("\nTimes (UTC):\n", out);
		any = 1;
		if (claims_numeric_date(it, &v) != 0) {
			fprintf(out, "  %s  not a valid NumericDate\n", names[i]);
			continue;
		}
		time_t t = (time_t)v;
		struct tm tm;
		if (claims_render(it, num, sizeof(num)) < 0)
			num[0] = '\0';
		if (gmtime_r(&t, &tm) == NULL) {
			fprintf(out, "  %s  %s\n", names[i], num);
			continue;
		}
		fprintf(out, "  %s  %s  %04d-%02d-%02dT%02d:%02d:%02dZ  (",
		    names[i], num, tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
		    tm.tm_hour, tm.tm_min, tm.tm_sec);
		print_rel(out, v - (double)now);
		fputs(")\n", out);
	}
}

/* Show one part; return 0 if it decoded to JSON. */
static int
inspect_part(FILE *out, const char *title, const char *seg, size_t seglen,
    cJSON **tree)
{
	uint8_t *buf;
	ssize_t n;
	char *txt;
	int rc = 1;

	*tree = NULL;
	fprintf(out, "\n%s:\n", title);
	if ((buf = malloc(seglen * 3 / 4 + 1)) == NULL) {
		fputs("  (out of memory)\n", out);
		return (1);
	}
	n = lenient_b64(seg, seglen, buf);
	if (n < 0) {
		fputs("  (not base64url)\n", out);
		goto out;
	}
	*tree = cJSON_ParseWithLength((const char *)buf, (size_t)n);
	if (*tree == NULL) {
		print_raw(out, buf, (size_t)n);
		goto out;
	}
	if ((txt = cJSON_Print(*tree)) != NULL) {
		fprintf(out, "%s\n", txt);
		cJSON_free(txt);
	}
	rc = 0;
out:
	free(buf);
	return (rc);
}

int
inspect_token_at(FILE *out, const char *tok, size_t len, int64_t now)
{
	const char *t, *end, *seg[5], *bt;
	size_t seglen[5], nseg = 0, btlen;
	cJSON *header = NULL, *payload = NULL;
	const char *detail = NULL;
	enum reason reason;
	struct jws j;
	int rc = 1;

	if (tok == NULL)
		len = 0;
	t = (tok != NULL) ? tok : "";
	end = t + len;

	/* Forgive what a copy and paste brings along. */
	while (t < end && isspace((unsigned char)*t))
		t++;
	while (end > t && isspace((unsigned char)end[-1]))
		end--;
	if (jws_bearer(t, (size_t)(end - t), &bt, &btlen) == 0) {
		t = bt;
		end = bt + btlen;
	}

	fputs("NOT VERIFIED \xe2\x80\x94 decoded only.  Nothing below has been "
	    "checked: not the\nsignature, not the issuer, not the audience, "
	    "not the lifetime.\n", out);

	for (const char *p = t; nseg < ARRAY_SIZE(seg); ) {
		const char *dot = memchr(p, '.', (size_t)(end - p));
		seg[nseg] = p;
		seglen[nseg++] = (size_t)((dot ? dot : end) - p);
		if (dot == NULL)
			break;
		p = dot + 1;
	}
	if (t == end) {
		fputs("\n(empty token)\n", out);
		goto verdict;
	}
	if (*t == '{') {
		fputs("\n(JWS JSON serialization: not supported)\n", out);
		goto verdict;
	}
	fprintf(out, "\nSegments: %zu%s\n", nseg,
	    nseg == 3 ? "" : nseg == 5 ? " (a JWE: encrypted, not a JWS)" :
	    " (a JWS has exactly 3)");

	rc = inspect_part(out, "Header", seg[0], seglen[0], &header);
	if (nseg >= 2 && nseg != 5) {
		if (inspect_part(out, "Payload", seg[1], seglen[1], &payload))
			rc = 1;
		if (payload != NULL && cJSON_IsObject(payload))
			print_times(out, payload, now);
	} else {
		rc = 1;
	}
	if (nseg == 3)
		fprintf(out, "\nSignature: %zu base64url characters "
		    "(about %zu bytes)\n", seglen[2],
		    b64url_decoded_len(seglen[2]));

verdict:
	if (jws_parse(t, (size_t)(end - t), NULL, &j, &reason, &detail) == 0) {
		fprintf(out, "\nStructure: well-formed (%s, kid %s).  Signature "
		    "NOT verified.\n", jwa_name(j.alg),
		    j.kid != NULL ? "present" : "absent");
		jws_release(&j);
	} else {
		fprintf(out, "\nStructure: rejected: %s (%s)\n",
		    reason_name(reason), detail);
	}
	cJSON_Delete(header);
	cJSON_Delete(payload);
	return (rc);
}

int
inspect_token(FILE *out, const char *tok, size_t len)
{
	return (inspect_token_at(out, tok, len, (int64_t)time(NULL)));
}
