/*
 * url.h: URLs for the fetcher: the check of a URL it may fetch, query
 * parameters, percent-encoding, redaction for display.  Pure: no I/O.
 *
 * URLs come from the config or from a discovery document (jwks_uri, which
 * a remote party shapes).  url_check(), url_has_param() and
 * url_add_param() read them with libcurl's URL parser (curl_url()), the
 * one that fetches them, so that what is checked is what is fetched.
 */
#ifndef SPOA_URL_H
#define SPOA_URL_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/* Longest URL the fetcher accepts (config and discovery documents). */
#define URL_MAX         4096

/*
 * url_check(s, allow_http):
 * NULL if ${s} is a URL the agent may fetch, otherwise a short constant
 * reason.  As written: it starts with "https://" (or "http://" when
 * ${allow_http}) and something other than '/' or '\', and has only
 * printable ASCII without spaces.  As libcurl reads it: a URL it parses,
 * of scheme https (or http), with a non-empty host, no login (user,
 * password or options, even empty: "https://@host"), no IPv6 zone id and
 * not port 0.  libcurl decides the rest (a host with a backslash or a bad
 * percent-encoding, a port above 65535: refused; a host with
 * percent-encoded letters: decoded; a port with leading zeros: accepted).
 */
const char *url_check(const char *s, bool allow_http);

/*
 * url_has_param(url, name):
 * True if ${url} is a URL libcurl parses and its query has a parameter
 * whose name is exactly ${name} (case-sensitive, not percent-decoded),
 * with or without a value.
 */
bool url_has_param(const char *url, const char *name);

/*
 * url_add_param(url, name, value):
 * A new malloc'd string: ${url} with "name=value" appended to its query
 * (before any fragment) by libcurl (CURLU_APPENDQUERY: an '&' first
 * unless the query is empty or ends with one; CURLU_URLENCODE: every byte
 * of ${value} but ALPHA / DIGIT / "-" / "." / "_" / "~" becomes %xx in
 * lower-case hex, a space '+'), the URL as libcurl writes it back (host
 * as it reads it, "/" for an empty path, dot segments removed).  If the
 * query already has ${name}: an unchanged copy of ${url}.  NULL if ${url}
 * is not a URL libcurl parses, on allocation failure, or if the result
 * would exceed URL_MAX bytes.  ${name} is a literal such as "appid".
 */
char *url_add_param(const char *url, const char *name, const char *value);

/*
 * url_encode(in, len, out, cap):
 * Percent-encode the ${len} bytes at ${in} (RFC 3986: every byte except
 * ALPHA / DIGIT / "-" / "." / "_" / "~" becomes %XX, uppercase hex) into
 * ${out} of ${cap} bytes, NUL-terminated.  Suits query values and
 * application/x-www-form-urlencoded bodies alike.  Return the length
 * written (without the NUL), or -1 if ${cap} is too small (then ${out} is
 * an empty string if ${cap} > 0).
 */
ssize_t url_encode(const char *in, size_t len, char *out, size_t cap);

/*
 * url_redact(url, out, cap):
 * A copy of ${url} fit for logs and /readyz: userinfo becomes "***@", the
 * value of every query parameter except appid, api-version, resource and
 * client_id becomes "***", the fragment is dropped, and non-printable
 * bytes become '?'.  Truncated with "..." to fit ${cap} (>= 4) bytes.
 * Returns ${out}.
 */
char *url_redact(const char *url, char *out, size_t cap);

#endif /* !SPOA_URL_H */
