/*
 * fuzz_admin.c: the admin HTTP request parser on arbitrary bytes.
 * Invariant: on success the path lies inside the input and starts with '/'.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>

#include "admin.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *buf = (const char *)data, *path = NULL;
	size_t plen = 0;
	bool head = false;

	if (admin_parse_request(buf, size, &path, &plen, &head) == 1) {
		if (path < buf || plen > size || path + plen > buf + size ||
		    plen == 0 || *path != '/')
			abort();
	}
	return (0);
}
