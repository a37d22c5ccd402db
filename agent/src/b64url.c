/*
 * b64url.c: see b64url.h.  Minimal version; another branch owns this module.
 */
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "b64url.h"

static const char b64url_alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

static int
b64url_val(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return (c - 'A');
	if (c >= 'a' && c <= 'z')
		return (c - 'a' + 26);
	if (c >= '0' && c <= '9')
		return (c - '0' + 52);
	if (c == '-')
		return (62);
	if (c == '_')
		return (63);
	return (-1);
}

size_t
b64url_decoded_len(size_t len)
{
	return (len / 4 * 3 + (len % 4 == 0 ? 0 : len % 4 - 1));
}

ssize_t
b64url_decode(const char *in, size_t len, uint8_t *out, size_t cap)
{
	uint32_t acc = 0;
	size_t i, n = 0;
	int bits = 0, v;

	if (len % 4 == 1 || b64url_decoded_len(len) > cap)
		return (-1);
	for (i = 0; i < len; i++) {
		if ((v = b64url_val((unsigned char)in[i])) < 0)
			return (-1);
		acc = (acc << 6) | (uint32_t)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			out[n++] = (uint8_t)(acc >> bits);
			acc &= (1u << bits) - 1;
		}
	}
	/* Leftover bits (2 or 4) must be zero: one text per byte string. */
	if (acc != 0)
		return (-1);
	return ((ssize_t)n);
}

size_t
b64url_encode(const uint8_t *in, size_t len, char *out, size_t cap)
{
	size_t need, i, n = 0;
	uint32_t acc = 0;
	int bits = 0;

	if (len > (SIZE_MAX - 3) / 4 * 3)
		return (0);
	need = len / 3 * 4 + (len % 3 == 0 ? 0 : len % 3 + 1);
	if (need > cap)
		return (0);
	for (i = 0; i < len; i++) {
		acc = (acc << 8) | in[i];
		bits += 8;
		while (bits >= 6) {
			bits -= 6;
			out[n++] = b64url_alphabet[(acc >> bits) & 63];
		}
		acc &= (1u << bits) - 1;
	}
	if (bits > 0)
		out[n++] = b64url_alphabet[(acc << (6 - bits)) & 63];
	if (n < cap)
		out[n] = '\0';
	return (n);
}
