/*
 * varint.c: the "peers" variable-length integer of SPOP (haproxy
 * doc/SPOE.txt §3.1), bounded to 10 bytes with 64-bit overflow detection.
 *
 * Layout: a first byte below 240 is the value.  Otherwise the first byte
 * carries 4 bits (it is >= 0xF0), then each further byte carries 7 bits
 * and is >= 0x80 while more bytes follow; the last byte is < 0x80.  The
 * decoder adds every byte whole (continuation bit included) shifted by 4,
 * 11, 18, ...; the encoder's "- 240" and "- 128" offsets compensate.  Each
 * length covers a contiguous range of values exactly once, so every value
 * has a single encoding: an accepted varint is always canonical.
 */
#include "spop-int.h"

int
spop_varint_encode(uint64_t v, uint8_t *buf, size_t cap)
{
	uint8_t tmp[SPOP_VARINT_MAX_LEN];
	size_t n = 0;

	if (v < 240) {
		tmp[n++] = (uint8_t)v;
	} else {
		tmp[n++] = (uint8_t)(v | 0xF0);
		v = (v - 240) >> 4;
		while (v >= 128) {
			tmp[n++] = (uint8_t)(v | 0x80);
			v = (v - 128) >> 7;
		}
		tmp[n++] = (uint8_t)v;
	}
	if (n > cap)
		return (-1);
	memcpy(buf, tmp, n);
	return ((int)n);
}

int
spop_varint_decode(const uint8_t *buf, size_t len, uint64_t *v)
{
	uint64_t r, add;
	unsigned shift = 4;
	size_t i;

	if (len == 0)
		return (SPOP_NEED_MORE);
	r = buf[0];
	if (r < 240) {
		*v = r;
		return (1);
	}
	for (i = 1; i < SPOP_VARINT_MAX_LEN; i++, shift += 7) {
		if (i >= len)
			return (SPOP_NEED_MORE);
		/*
		 * Only the 10th byte (shift 60) can carry bits beyond 64,
		 * or make the sum wrap; both are rejected before shifting.
		 */
		if (buf[i] > (UINT64_MAX >> shift))
			return (SPOP_INVALID);
		add = (uint64_t)buf[i] << shift;
		if (add > UINT64_MAX - r)
			return (SPOP_INVALID);
		r += add;
		if (buf[i] < 128) {
			*v = r;
			return ((int)(i + 1));
		}
	}
	/* Ten bytes and the last one still says "more". */
	return (SPOP_INVALID);
}
