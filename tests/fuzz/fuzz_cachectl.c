/*
 * fuzz_cachectl.c: Cache-Control parsing and the interval/backoff math on
 * arbitrary bytes.  Invariants: a refused header says nothing; a stale
 * header has no max-age; intervals stay within their bounds.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "refresh.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct refresh_cc cc;
	uint32_t rnd = 0, v;

	if (size >= 4)
		memcpy(&rnd, data, 4);
	if (refresh_parse_cc((const char *)data, size, &cc) != 0) {
		if (cc.has_max_age || cc.stale || cc.max_age != 0)
			abort();
	} else {
		if (cc.stale && cc.has_max_age)
			abort();
		if (cc.max_age > REFRESH_DELTA_MAX)
			abort();
	}
	v = refresh_interval(&cc, 300, 86400, rnd);
	if (v < 300 || v > 86400)
		abort();
	v = refresh_interval(&cc, 1, 1, rnd);
	if (v != 1)
		abort();
	double b = refresh_backoff(rnd & 0xff, 300, rnd);
	if (!(b > 0 && b <= 300))
		abort();
	return (0);
}
