/*
 * fuzz_json_strict.c: the strict JSON pre-validator.  Invariant: whatever
 * json_strict accepts, cJSON accepts too, and cJSON's reprint of it is
 * accepted again (so the two parsers agree on what the text is).  The
 * first byte picks the limits; the rest is the document.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "json_strict.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct json_limits lim = { 32, 2048, 0 };
	const char *why = NULL, *doc;
	char *copy, *re;
	cJSON *tree;

	if (size == 0)
		return (0);
	lim.require_object = data[0] & 1;
	if (data[0] & 2) {
		lim.max_depth = 1 + (data[0] >> 4);
		lim.max_members = 1 + ((data[0] >> 2) & 3) * 3;
	}
	doc = (const char *)data + 1;
	size--;

	if (json_strict_check(doc, size, &lim, &why) != 0) {
		if (why == NULL)
			abort();
		return (0);
	}
	/* cJSON gets an exact-size copy: no NUL after the text. */
	if ((copy = malloc(size ? size : 1)) == NULL)
		return (0);
	memcpy(copy, doc, size);
	tree = cJSON_ParseWithLength(copy, size);
	if (tree == NULL)
		abort();	/* strict accepted what cJSON refuses */
	if (lim.require_object && !cJSON_IsObject(tree))
		abort();
	re = cJSON_PrintUnformatted(tree);
	if (re != NULL) {
		if (json_strict_check(re, strlen(re), &lim, &why) != 0)
			abort();	/* the reprint must stay acceptable */
		cJSON_free(re);
	}
	cJSON_Delete(tree);
	free(copy);
	return (0);
}
