/*
 * b64url.c: see b64url.h.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/types.h>

#include "b64url.h"

/*
 * Decoding tables: b64url_dK[c] is the 6-bit value of character c already
 * shifted to its place in a 24-bit block (K = position 0..3 in the block),
 * so a block is four loads ORed together.  Every other byte maps to
 * B64_BAD, which lies above the 24 data bits: the decoder ORs all blocks'
 * words into one error accumulator and tests it once, at the end, instead
 * of branching on each character.
 */
#define B64_BAD		UINT32_C(0x01000000)
#define B64_VAL(c)							\
	((c) >= 'A' && (c) <= 'Z' ? (uint32_t)((c) - 'A') :		\
	 (c) >= 'a' && (c) <= 'z' ? (uint32_t)((c) - 'a' + 26) :	\
	 (c) >= '0' && (c) <= '9' ? (uint32_t)((c) - '0' + 52) :	\
	 (c) == '-' ? UINT32_C(62) : (c) == '_' ? UINT32_C(63) : B64_BAD)
#define B64_ENT(c, sh)	(B64_VAL(c) == B64_BAD ? B64_BAD : B64_VAL(c) << (sh))
#define B64_R4(c, sh)	B64_ENT(c, sh), B64_ENT((c) + 1, sh),		\
	B64_ENT((c) + 2, sh), B64_ENT((c) + 3, sh)
#define B64_R16(c, sh)	B64_R4(c, sh), B64_R4((c) + 4, sh),		\
	B64_R4((c) + 8, sh), B64_R4((c) + 12, sh)
#define B64_R64(c, sh)	B64_R16(c, sh), B64_R16((c) + 16, sh),		\
	B64_R16((c) + 32, sh), B64_R16((c) + 48, sh)
#define B64_TABLE(sh)	{ B64_R64(0, sh), B64_R64(64, sh),		\
	B64_R64(128, sh), B64_R64(192, sh) }

static const uint32_t b64url_d0[256] = B64_TABLE(18);
static const uint32_t b64url_d1[256] = B64_TABLE(12);
static const uint32_t b64url_d2[256] = B64_TABLE(6);
static const uint32_t b64url_d3[256] = B64_TABLE(0);

static const char b64url_alphabet[65] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

size_t
b64url_decoded_len(size_t len)
{
	return (len / 4 * 3 + (len % 4) * 3 / 4);
}

size_t
b64url_encoded_len(size_t len)
{
	return (len / 3 * 4 + (len % 3 == 0 ? 0 : len % 3 + 1));
}

/* Store ${w} at ${o} most significant byte first. */
static inline void
store_be64(uint8_t *o, uint64_t w)
{
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	w = __builtin_bswap64(w);
	memcpy(o, &w, sizeof(w));
#elif defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
	memcpy(o, &w, sizeof(w));
#else
	for (int i = 0; i < 8; i++)
		o[i] = (uint8_t)(w >> (56 - 8 * i));
#endif
}

ssize_t
b64url_decode(const char *in, size_t len, uint8_t *out, size_t cap)
{
	const uint8_t *p = (const uint8_t *)in;
	size_t full = len / 4, rest = len % 4, pairs;
	uint32_t v, err = 0;
	uint8_t *o = out;

	if (rest == 1)
		return (-1);
	if (b64url_decoded_len(len) > cap)
		return (-1);

	/*
	 * No branch on the data: bad characters only set bits in err.  Two
	 * blocks at a time, their 6 bytes stored as one 8-byte word, while
	 * the 2 bytes past them are still inside ${out} (they are written
	 * over by the next blocks, or left as unspecified slack).
	 */
	pairs = full / 2;
	if (cap < 8)
		pairs = 0;
	else if (pairs > (cap - 8) / 6 + 1)
		pairs = (cap - 8) / 6 + 1;	/* pair k writes out[6k .. 6k+7] */
	full -= 2 * pairs;
	for (; pairs > 0; pairs--, p += 8, o += 6) {
		uint32_t v1;
		uint64_t w;

		v = b64url_d0[p[0]] | b64url_d1[p[1]] | b64url_d2[p[2]] |
		    b64url_d3[p[3]];
		v1 = b64url_d0[p[4]] | b64url_d1[p[5]] | b64url_d2[p[6]] |
		    b64url_d3[p[7]];
		err |= v | v1;
		w = (uint64_t)v << 40 | (uint64_t)v1 << 16;
		store_be64(o, w);
	}
	for (; full > 0; full--, p += 4, o += 3) {
		v = b64url_d0[p[0]] | b64url_d1[p[1]] | b64url_d2[p[2]] |
		    b64url_d3[p[3]];
		err |= v;
		o[0] = (uint8_t)(v >> 16);
		o[1] = (uint8_t)(v >> 8);
		o[2] = (uint8_t)v;
	}

	if (rest == 2) {
		v = b64url_d0[p[0]] | b64url_d1[p[1]];
		/* 12 bits carry 8: the low 4 bits of the 2nd are unused. */
		err |= v | ((v & 0x0000f000) != 0 ? B64_BAD : 0);
		*o++ = (uint8_t)(v >> 16);
	} else if (rest == 3) {
		v = b64url_d0[p[0]] | b64url_d1[p[1]] | b64url_d2[p[2]];
		/* 18 bits carry 16: the low 2 bits of the 3rd are unused. */
		err |= v | ((v & 0x000000c0) != 0 ? B64_BAD : 0);
		*o++ = (uint8_t)(v >> 16);
		*o++ = (uint8_t)(v >> 8);
	}
	if ((err & ~UINT32_C(0x00ffffff)) != 0)
		return (-1);
	return ((ssize_t)(o - out));
}

size_t
b64url_encode(const uint8_t *in, size_t len, char *out, size_t cap)
{
	size_t need = b64url_encoded_len(len), n = 0, i;
	uint32_t v;

	if (cap == 0)
		return (0);
	if (need >= cap) {
		out[0] = '\0';
		return (0);
	}
	for (i = 0; len - i >= 3; i += 3) {
		v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 | in[i + 2];
		out[n++] = b64url_alphabet[v >> 18];
		out[n++] = b64url_alphabet[(v >> 12) & 0x3f];
		out[n++] = b64url_alphabet[(v >> 6) & 0x3f];
		out[n++] = b64url_alphabet[v & 0x3f];
	}
	if (len - i == 1) {
		v = (uint32_t)in[i] << 16;
		out[n++] = b64url_alphabet[v >> 18];
		out[n++] = b64url_alphabet[(v >> 12) & 0x3f];
	} else if (len - i == 2) {
		v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8;
		out[n++] = b64url_alphabet[v >> 18];
		out[n++] = b64url_alphabet[(v >> 12) & 0x3f];
		out[n++] = b64url_alphabet[(v >> 6) & 0x3f];
	}
	out[n] = '\0';
	return (n);
}
