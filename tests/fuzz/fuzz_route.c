/*
 * fuzz_route.c: route_normalize_path() and the host/path matchers on
 * arbitrary bytes.  Invariants: the result is never longer than the path
 * part of the input, starts with "/", has no "//", "/./" or "/../" (nor a
 * trailing "/." or "/.."), and normalising it again is the identity.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "route.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond) do {						\
	if (!(cond)) {							\
		fprintf(stderr, "%s:%d: invariant failed: %s\n",	\
		    __FILE__, __LINE__, #cond);				\
		abort();						\
	}								\
} while (0)

static bool
ends_with(const char *s, size_t n, const char *suf)
{
	size_t k = strlen(suf);

	return (n >= k && memcmp(s + n - k, suf, k) == 0);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *in = (const char *)data;
	const char *q = memchr(in, '?', size);
	size_t plen = q != NULL ? (size_t)(q - in) : size;
	char *out = malloc(size + 1), *again = malloc(size + 1);
	int n, m;

	CHECK(out != NULL && again != NULL);
	n = route_normalize_path(in, size, out, size + 1);
	if (n >= 0) {
		CHECK((size_t)n <= plen && (size_t)n == strlen(out));
		CHECK(n >= 1 && out[0] == '/');
		CHECK(strstr(out, "//") == NULL);
		CHECK(strstr(out, "/./") == NULL);
		CHECK(strstr(out, "/../") == NULL);
		CHECK(!ends_with(out, (size_t)n, "/.") &&
		    !ends_with(out, (size_t)n, "/.."));
		CHECK(memchr(out, '\\', (size_t)n) == NULL);
		m = route_normalize_path(out, (size_t)n, again, (size_t)n + 1);
		CHECK(m == n && memcmp(out, again, (size_t)n + 1) == 0);
		/* Every prefix on a segment boundary matches. */
		for (int i = 1; i <= n; i++) {
			if (i == n || out[i] == '/') {
				char save = out[i];

				out[i] = '\0';
				CHECK(route_path_match(out, again, (size_t)n));
				out[i] = save;
			}
		}
		CHECK(route_path_match("/", out, (size_t)n));
	} else {
		CHECK(n == -1);
	}

	/* Host matching: bounded reads, and the port/dot rules agree. */
	{
		bool exact = route_host_match("a.example.com", in, size);
		bool wild = route_host_match("*.example.com", in, size);

		CHECK(route_host_match(NULL, in, size));
		if (exact)
			CHECK(wild);
		(void)route_host_match("[::1]", in, size);
	}
	free(out);
	free(again);
	return (0);
}
