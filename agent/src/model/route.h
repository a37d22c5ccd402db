/*
 * route.h: first-match route selection on (method, host, path).  Pure: no
 * I/O, no allocation.
 *
 * Paths are matched after normalisation (route_normalize_path), never raw:
 * HAProxy forwards the raw path and the backend may normalise it, so a
 * request for "/public/../admin" must be matched as "/admin".
 */
#ifndef SPOA_ROUTE_H
#define SPOA_ROUTE_H

#include <stdbool.h>
#include <stddef.h>

#include "config-t.h"

/* Longest path (before any query string) that is matched at all. */
#define ROUTE_PATH_MAX 8192

/* Return values of route_match() besides a route index. */
#define ROUTE_NONE     (-1)
#define ROUTE_REFUSED  (-2)

/*
 * The request facts routes are matched on.  Pointers borrow the caller's
 * bytes; none needs to be NUL-terminated.  A NULL pointer (or length 0 for
 * method and host) means "absent".
 */
struct route_req {
	const char *method;
	size_t method_len;
	const char *host;             /* Host header as sent: "a.b:8443", "[::1]:80" */
	size_t host_len;
	const char *path;             /* raw path; a "?query" suffix is ignored */
	size_t path_len;
};

/*
 * route_normalize_path(in, len, out, cap):
 * Normalise the raw request path ${in} (${len} bytes, not NUL-terminated)
 * into ${out} (${cap} bytes; NUL-terminated on success).  In order: drop a
 * "?query" suffix; refuse a path longer than ROUTE_PATH_MAX, not starting
 * with "/", containing a raw control character, space, backslash or "#",
 * a malformed %-escape, or an escaped "/", "\" or NUL (%2F, %5C, %00, any
 * case); decode the %-escapes of unreserved characters (ALPHA DIGIT - . _
 * ~) and upper-case the hex digits of the others; collapse repeated "/";
 * remove dot segments (RFC 3986 §5.2.4), refusing a path whose ".."
 * segments climb above the root; and refuse a segment that is "." or ".."
 * followed by ";" ("..;/" is ".." to Tomcat-style backends).  The result
 * never contains "//", "/./" or "/../", is never longer than the path part
 * of ${in}, and normalising it again gives the same bytes.  ${cap} must
 * exceed the length of the path part of ${in}.  Return the normalised
 * length, or -1 if the path is refused or ${cap} is too small.
 */
int route_normalize_path(const char *in, size_t len, char *out, size_t cap);

/*
 * route_host_match(pattern, host, len):
 * True if the Host header value ${host} (${len} bytes) matches the route
 * host ${pattern} (lowercase, as stored by config.c): case-insensitively,
 * ignoring a ":port" suffix (also after "[v6]") and one trailing dot.
 * "*.example.com" matches "a.example.com" and "a.b.example.com", not
 * "example.com".  A NULL ${pattern} matches anything, even an absent host;
 * otherwise an absent host (NULL or ${len} 0) matches nothing.
 */
bool route_host_match(const char *pattern, const char *host, size_t len);

/*
 * route_path_match(prefix, path, len):
 * True if the normalised ${path} (${len} bytes) is under ${prefix} on a
 * segment boundary: "/orders" matches "/orders", "/orders/" and
 * "/orders/1", not "/ordersX"; a prefix ending in "/" is a plain prefix;
 * "/" matches every path.
 */
bool route_path_match(const char *prefix, const char *path, size_t len);

/*
 * route_match(routes, n, req):
 * Return the index of the first of the ${n} ${routes} whose method list,
 * host and path prefix all match ${req}; ROUTE_NONE (-1) if none does;
 * ROUTE_REFUSED (-2) if the path is absent or refused by
 * route_normalize_path() (the caller answers no_route either way).
 * Methods are compared exactly (routes hold uppercase tokens); a route with
 * methods never matches a request without one.
 */
int route_match(const struct route_cfg *routes, size_t n,
    const struct route_req *req);

#endif /* !SPOA_ROUTE_H */
