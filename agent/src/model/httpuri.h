/*
 * httpuri.h: does an absolute http(s) URI name the request HAProxy saw?
 * DPoP proofs name their request by "htu" (RFC 9449 §4.3), and protected
 * resource metadata is served at a URL derived from a resource identifier
 * (RFC 9728 §3.1); both compare a URI with the request's scheme, Host
 * header and path.  Pure: no I/O, no allocation.
 */
#ifndef SPOA_HTTPURI_H
#define SPOA_HTTPURI_H

#include <stdbool.h>
#include <stddef.h>

/* Longest host (with port) compared. */
#define HTTPURI_HOST_MAX	256

/* The request, as borrowed slices (none NUL-terminated). */
struct httpuri_req {
	const char *scheme;           /* "https" or "http"; NULL: https */
	size_t scheme_len;
	const char *host;             /* Host header, may carry a port */
	size_t host_len;
	const char *path;             /* path, a "?query" suffix is ignored */
	size_t path_len;
};

/*
 * httpuri_names(uri, len, req):
 * True if the URI ${uri} (${len} bytes) names the request ${req}, whose
 * query is ignored, after RFC 3986 §6.2.2 and §6.2.3 normalisation:
 * scheme and host compared ignoring case, a default port (443 for https,
 * 80 for http) equal to none, a trailing dot of the host ignored, paths
 * compared after route_normalize_path() (an empty path is "/").  A URI
 * with a query, a fragment or user information, or that is not absolute
 * http(s), never matches; nor does a request without a Host or path.
 */
bool httpuri_names(const char *uri, size_t len, const struct httpuri_req *req);

/*
 * httpuri_split(uri, len, auth, auth_len, path, path_len):
 * Split the absolute http(s) URI ${uri} into its authority and its path
 * (empty when absent) and return its default port (443 or 80); 0 if it is
 * not one (no "scheme://", another scheme, user information, an empty or
 * malformed authority).  The query and fragment are left in the path: the
 * caller decides whether they are allowed.
 */
unsigned httpuri_split(const char *uri, size_t len, const char **auth,
    size_t *auth_len, const char **path, size_t *path_len);

#endif /* !SPOA_HTTPURI_H */
