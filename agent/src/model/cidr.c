/*
 * cidr.c: see cidr.h.
 *
 * Entries are kept in one flat array and matched linearly: a route lists a
 * handful of networks, and a linear scan over 20-byte entries beats any
 * tree at that size.  An IPv6 entry inside ::ffff:0:0/96 is stored as the
 * IPv4 entry it denotes, and an IPv4-mapped address is matched as the IPv4
 * address it carries, so "10.0.0.0/8" and "::ffff:10.0.0.0/104" are the
 * same rule whichever socket family HAProxy reports.
 */
#include <arpa/inet.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "strnum.h"
#include "cidr.h"

struct cidr_entry {
	uint8_t family;         /* 4 or 6 */
	uint8_t prefix;         /* 0..32 or 0..128 */
	uint8_t addr[16];       /* network order; IPv4 in the first 4 bytes */
};

struct cidr_list {
	struct cidr_entry *v;
	size_t n, cap;
};

/* Longest text we accept: a full IPv6 address with an embedded IPv4 and /128. */
#define CIDR_TEXT_MAX 64

static const uint8_t v4mapped_prefix[12] = {
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff
};

struct cidr_list *
cidr_list_new(void)
{
	return (calloc(1, sizeof(struct cidr_list)));
}

/* True if the bits of ${a} (${nbytes} bytes) after ${prefix} are all zero. */
static bool
host_bits_zero(const uint8_t *a, size_t nbytes, unsigned prefix)
{
	size_t i = prefix / 8;

	if (i < nbytes && (prefix % 8) != 0) {
		if ((a[i] & (uint8_t)(0xffu >> (prefix % 8))) != 0)
			return (false);
		i++;
	}
	for (; i < nbytes; i++)
		if (a[i] != 0)
			return (false);
	return (true);
}

/* True if the first ${prefix} bits of ${a} and ${b} are equal. */
static bool
prefix_equal(const uint8_t *a, const uint8_t *b, unsigned prefix)
{
	size_t full = prefix / 8;
	unsigned rem = prefix % 8;

	if (memcmp(a, b, full) != 0)
		return (false);
	if (rem == 0)
		return (true);
	return (((a[full] ^ b[full]) & (uint8_t)(0xffu << (8 - rem))) == 0);
}

int
cidr_list_add(struct cidr_list *l, const char *s, size_t len,
    const char **why)
{
	char text[CIDR_TEXT_MAX];
	struct cidr_entry e;
	const char *slash;
	uint64_t prefix;
	size_t alen;
	unsigned maxp;

	memset(&e, 0, sizeof(e));
	*why = "not a CIDR";
	if (l == NULL || s == NULL || len == 0 || len >= sizeof(text))
		return (-1);
	if (memchr(s, '\0', len) != NULL)
		return (-1);
	slash = memchr(s, '/', len);
	alen = (slash != NULL) ? (size_t)(slash - s) : len;
	if (alen == 0)
		return (-1);
	memcpy(text, s, alen);
	text[alen] = '\0';

	if (memchr(text, ':', alen) != NULL) {
		if (inet_pton(AF_INET6, text, e.addr) != 1)
			return (-1);
		e.family = 6;
		maxp = 128;
	} else {
		if (inet_pton(AF_INET, text, e.addr) != 1)
			return (-1);
		e.family = 4;
		maxp = 32;
	}

	if (slash != NULL) {
		const char *p = slash + 1;
		size_t plen = len - alen - 1;

		if (strnum_u64(p, plen, 0, UINT64_MAX, &prefix) != 0)
			return (-1);
		if (prefix > maxp) {
			*why = "prefix length out of range";
			return (-1);
		}
	} else {
		prefix = maxp;
	}
	e.prefix = (uint8_t)prefix;
	if (!host_bits_zero(e.addr, maxp / 8, e.prefix)) {
		*why = "host bits set";
		return (-1);
	}

	/* ::ffff:a.b.c.d/96+n is the IPv4 network a.b.c.d/n. */
	if (e.family == 6 && e.prefix >= 96 &&
	    memcmp(e.addr, v4mapped_prefix, sizeof(v4mapped_prefix)) == 0) {
		memmove(e.addr, e.addr + 12, 4);
		memset(e.addr + 4, 0, 12);
		e.family = 4;
		e.prefix = (uint8_t)(e.prefix - 96);
	}

	if (l->n == l->cap) {
		size_t ncap = l->cap ? l->cap * 2 : 4;
		struct cidr_entry *nv;

		if (ncap > SIZE_MAX / sizeof(*nv) ||
		    (nv = realloc(l->v, ncap * sizeof(*nv))) == NULL) {
			*why = "out of memory";
			return (-1);
		}
		l->v = nv;
		l->cap = ncap;
	}
	l->v[l->n++] = e;
	*why = NULL;
	return (0);
}

bool
cidr_list_match_v4(const struct cidr_list *l, const uint8_t addr[4])
{
	size_t i;

	if (l == NULL)
		return (false);
	for (i = 0; i < l->n; i++)
		if (l->v[i].family == 4 &&
		    prefix_equal(l->v[i].addr, addr, l->v[i].prefix))
			return (true);
	return (false);
}

bool
cidr_list_match_v6(const struct cidr_list *l, const uint8_t addr[16])
{
	size_t i;

	if (l == NULL)
		return (false);
	if (memcmp(addr, v4mapped_prefix, sizeof(v4mapped_prefix)) == 0)
		return (cidr_list_match_v4(l, addr + 12));
	for (i = 0; i < l->n; i++)
		if (l->v[i].family == 6 &&
		    prefix_equal(l->v[i].addr, addr, l->v[i].prefix))
			return (true);
	return (false);
}

size_t
cidr_list_count(const struct cidr_list *l)
{
	return (l != NULL ? l->n : 0);
}

void
cidr_list_free(struct cidr_list *l)
{
	if (l == NULL)
		return;
	free(l->v);
	free(l);
}
