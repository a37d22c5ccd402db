/*
 * b64url.c: see b64url.h.
 */
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "b64url.h"

/*
 * Value + 1 of each base64url character; 0 for everything else, so that
 * the table needs no range initialiser.
 */
static const uint8_t b64url_val1[256] = {
	['A'] = 1, ['B'] = 2, ['C'] = 3, ['D'] = 4, ['E'] = 5, ['F'] = 6,
	['G'] = 7, ['H'] = 8, ['I'] = 9, ['J'] = 10, ['K'] = 11, ['L'] = 12,
	['M'] = 13, ['N'] = 14, ['O'] = 15, ['P'] = 16, ['Q'] = 17,
	['R'] = 18, ['S'] = 19, ['T'] = 20, ['U'] = 21, ['V'] = 22,
	['W'] = 23, ['X'] = 24, ['Y'] = 25, ['Z'] = 26, ['a'] = 27,
	['b'] = 28, ['c'] = 29, ['d'] = 30, ['e'] = 31, ['f'] = 32,
	['g'] = 33, ['h'] = 34, ['i'] = 35, ['j'] = 36, ['k'] = 37,
	['l'] = 38, ['m'] = 39, ['n'] = 40, ['o'] = 41, ['p'] = 42,
	['q'] = 43, ['r'] = 44, ['s'] = 45, ['t'] = 46, ['u'] = 47,
	['v'] = 48, ['w'] = 49, ['x'] = 50, ['y'] = 51, ['z'] = 52,
	['0'] = 53, ['1'] = 54, ['2'] = 55, ['3'] = 56, ['4'] = 57,
	['5'] = 58, ['6'] = 59, ['7'] = 60, ['8'] = 61, ['9'] = 62,
	['-'] = 63, ['_'] = 64,
};

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

ssize_t
b64url_decode(const char *in, size_t len, uint8_t *out, size_t cap)
{
	const uint8_t *p = (const uint8_t *)in;
	size_t full = len / 4, rest = len % 4, n = 0;
	uint32_t v;
	unsigned c0, c1, c2, c3;

	if (rest == 1)
		return (-1);
	if (b64url_decoded_len(len) > cap)
		return (-1);

	for (size_t i = 0; i < full; i++, p += 4) {
		c0 = b64url_val1[p[0]];
		c1 = b64url_val1[p[1]];
		c2 = b64url_val1[p[2]];
		c3 = b64url_val1[p[3]];
		if (c0 == 0 || c1 == 0 || c2 == 0 || c3 == 0)
			return (-1);
		v = (uint32_t)(c0 - 1) << 18 | (uint32_t)(c1 - 1) << 12 |
		    (uint32_t)(c2 - 1) << 6 | (c3 - 1);
		out[n++] = (uint8_t)(v >> 16);
		out[n++] = (uint8_t)(v >> 8);
		out[n++] = (uint8_t)v;
	}

	if (rest == 2) {
		c0 = b64url_val1[p[0]];
		c1 = b64url_val1[p[1]];
		if (c0-- == 0 || c1-- == 0)
			return (-1);
		/* 12 bits carry 8: the low 4 bits of c1 are unused. */
		if ((c1 & 0x0f) != 0)
			return (-1);
		out[n++] = (uint8_t)(c0 << 2 | c1 >> 4);
	} else if (rest == 3) {
		c0 = b64url_val1[p[0]];
		c1 = b64url_val1[p[1]];
		c2 = b64url_val1[p[2]];
		if (c0-- == 0 || c1-- == 0 || c2-- == 0)
			return (-1);
		/* 18 bits carry 16: the low 2 bits of c2 are unused. */
		if ((c2 & 0x03) != 0)
			return (-1);
		v = (uint32_t)c0 << 12 | (uint32_t)c1 << 6 | c2;
		out[n++] = (uint8_t)(v >> 10);
		out[n++] = (uint8_t)(v >> 2);
	}
	return ((ssize_t)n);
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
