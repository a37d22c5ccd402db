/*
 * cidr.h: IPv4/IPv6 CIDR lists ("10.0.0.0/8", "2001:db8::/32", a bare
 * address meaning /32 or /128).  Pure: no I/O.
 */
#ifndef SPOA_CIDR_H
#define SPOA_CIDR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct cidr_list;

/* cidr_list_new(): an empty list, or NULL on allocation failure. */
struct cidr_list *cidr_list_new(void);

/*
 * cidr_list_add(l, s, len, why):
 * Parse the CIDR text ${s} (${len} bytes) and append it to ${l}.  Host bits
 * must be zero ("10.0.0.1/8" is refused, it is almost always a typo).  The
 * address is what inet_pton(3) accepts (dotted quad, no leading zeros; no
 * IPv6 zone id); the prefix is canonical decimal ("/08" is refused, like
 * any leading zero), at most 32 or 128; no spaces anywhere.
 * Return 0, or -1 with *${why} set to a constant message ("not a CIDR",
 * "prefix length out of range", "host bits set" or "out of memory").
 */
int cidr_list_add(struct cidr_list *l, const char *s, size_t len,
    const char **why);

/*
 * cidr_list_match_v4(l, addr) / cidr_list_match_v6(l, addr):
 * True if the address (network order) is inside some entry of ${l}.  An
 * IPv4-mapped IPv6 address (::ffff:a.b.c.d) also matches IPv4 entries:
 * it is matched exactly as the IPv4 address it carries (so "::/0" does not
 * cover it, "0.0.0.0/0" does).  Likewise an entry inside ::ffff:0:0/96 is
 * stored as the IPv4 network it denotes.
 */
bool cidr_list_match_v4(const struct cidr_list *l, const uint8_t addr[4]);
bool cidr_list_match_v6(const struct cidr_list *l, const uint8_t addr[16]);

/* cidr_list_count(l): number of entries. */
size_t cidr_list_count(const struct cidr_list *l);

/* cidr_list_free(l): release ${l}; NULL is a no-op. */
void cidr_list_free(struct cidr_list *l);

#endif /* !SPOA_CIDR_H */
