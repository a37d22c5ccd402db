/*
 * spop-int.h: helpers shared by the codec's source files.  Not installed,
 * not part of the API (the unit tests may include it).
 */
#ifndef SPOE_SPOP_INT_H
#define SPOE_SPOP_INT_H

#include <stdint.h>
#include <string.h>

#include "spoe/spop.h"

/*
 * True if the ${len} bytes at ${p} are exactly the string literal ${lit}:
 * length first, so "max-frame" never matches "max-frame-size" as a prefix.
 */
#define SPOP_MEM_EQ_LIT(p, len, lit)					\
	((len) == sizeof(lit) - 1 && memcmp((p), (lit), sizeof(lit) - 1) == 0)

/* Key names of the KV lists (haproxy doc/SPOE.txt §3.2.4-3.2.9). */
#define SPOP_KEY_VERSIONS	"supported-versions"
#define SPOP_KEY_VERSION	"version"
#define SPOP_KEY_MAX_FRAME	"max-frame-size"
#define SPOP_KEY_CAPS		"capabilities"
#define SPOP_KEY_HEALTHCHECK	"healthcheck"
#define SPOP_KEY_ENGINE_ID	"engine-id"
#define SPOP_KEY_STATUS		"status-code"
#define SPOP_KEY_MESSAGE	"message"

/* Big-endian 32-bit load/store. */
static inline uint32_t
spop_load_be32(const uint8_t *p)
{
	return ((uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	    (uint32_t)p[2] << 8 | (uint32_t)p[3]);
}

static inline void
spop_store_be32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

#endif /* !SPOE_SPOP_INT_H */
