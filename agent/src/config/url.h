/*
 * url.h: small string operations on URLs for the fetcher.  Pure: no I/O.
 *
 * URLs here come from the config (already checked to be http(s) URLs) or
 * from a discovery document (jwks_uri); these helpers only look at the
 * query and userinfo parts and never "normalise" anything else.
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
 * NULL if ${s} is a URL the agent may fetch: "https://" (or "http://" when
 * ${allow_http}), a non-empty host, no credentials ("user@host"), and
 * only printable ASCII without spaces.  Otherwise a short constant reason.
 */
const char *url_check(const char *s, bool allow_http);

/*
 * url_has_param(url, name):
 * True if the query of the NUL-terminated ${url} (between the first '?'
 * and '#') has a parameter whose name is exactly ${name} (case-sensitive,
 * not percent-decoded), with or without a value.
 */
bool url_has_param(const char *url, const char *name);

/*
 * url_add_param(url, name, value):
 * A new malloc'd copy of ${url} with "name=<value percent-encoded>"
 * appended to its query (before any fragment), unless the query already
 * has ${name} (then an unchanged copy).  NULL on allocation failure or if
 * the result would exceed URL_MAX bytes.  ${name} is used as given (it is
 * a literal such as "appid").
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
