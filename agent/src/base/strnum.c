/*
 * strnum.c: see strnum.h.
 */
#include <stddef.h>
#include <stdint.h>

#include "strnum.h"

int
strnum_u64(const char *s, size_t len, uint64_t min, uint64_t max,
    uint64_t *out)
{
	uint64_t v = 0;
	size_t i;

	if (s == NULL || len == 0 || len > 20)
		return (-1);
	if (s[0] == '0' && len > 1)
		return (-1);
	for (i = 0; i < len; i++) {
		unsigned d;

		if (s[i] < '0' || s[i] > '9')
			return (-1);
		d = (unsigned)(s[i] - '0');
		if (v > (UINT64_MAX - d) / 10)
			return (-1);
		v = v * 10 + d;
	}
	if (v < min || v > max)
		return (-1);
	*out = v;
	return (0);
}
