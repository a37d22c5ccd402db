/*
 * fuzz_statemeta.c: state_dir files on arbitrary bytes.  Invariants: the
 * slices lie inside the input, the body ends the input, and formatting
 * the parsed header reproduces it byte for byte.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "statemeta.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
inside(const struct statemeta_str *s, const char *buf, size_t size)
{
	if (s->p == NULL)
		return;
	if (s->p < buf || s->len > size || s->p + s->len > buf + size)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *buf = (const char *)data, *why = NULL;
	struct statemeta m;
	static char out[STATEMETA_HEADER_MAX];
	ssize_t n;

	if (statemeta_parse(buf, size, &m, &why) != 0) {
		if (why == NULL)
			abort();
		return (0);
	}
	inside(&m.key, buf, size);
	inside(&m.url, buf, size);
	inside(&m.etag, buf, size);
	inside(&m.last_modified, buf, size);
	if (m.body < buf || m.body + m.body_len != buf + size)
		abort();
	n = statemeta_format(&m, out, sizeof(out));
	if (n < 0 || (size_t)n != (size_t)(m.body - buf) ||
	    memcmp(out, buf, (size_t)n) != 0)
		abort();
	return (0);
}
