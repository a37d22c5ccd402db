/*
 * fuzz_discovery.c: OpenID discovery documents and the issuer check on
 * arbitrary bytes.  Invariants: success yields non-empty, bounded strings
 * with an https jwks_uri; a document issuer always matches itself.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "discovery.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct discovery d;
	const char *why = NULL;

	if (discovery_parse((const char *)data, size, false, &d, &why) != 0) {
		if (why == NULL || d.issuer != NULL || d.jwks_uri != NULL)
			abort();
		return (0);
	}
	if (d.issuer == NULL || d.jwks_uri == NULL || d.issuer[0] == '\0' ||
	    strlen(d.issuer) > DISCOVERY_STR_MAX ||
	    strncmp(d.jwks_uri, "https://", 8) != 0)
		abort();
	struct issuer_cfg self = { .issuer = { &d.issuer, 1 }, .any_tenant = true };
	if (!discovery_issuer_match(d.issuer, &self))
		abort();
	discovery_release(&d);
	return (0);
}
