/*
 * data.c: TYPED-DATA and STRING (haproxy doc/SPOE.txt §3.1).
 *
 * The type is the low nibble of the first byte, the flags the high nibble.
 * Only BOOL gives the flags a meaning (0x10 = true); like HAProxy, the
 * decoder ignores flag bits on other types, so such an input decodes but
 * does not re-encode to the same bytes (see PROTOCOL.md, "canonical").
 */
#include "spop-int.h"

/* Map a uint64 (two's complement on the wire) to int64 without UB. */
static int64_t
u64_to_s64(uint64_t u)
{
	if (u <= (uint64_t)INT64_MAX)
		return ((int64_t)u);
	return (-(int64_t)(~u) - 1);
}

ssize_t
spop_string_decode(const uint8_t *buf, size_t len, struct spop_slice *s)
{
	uint64_t n;
	int r;

	if ((r = spop_varint_decode(buf, len, &n)) < 0)
		return (r);
	if (n > (uint64_t)(len - (size_t)r))
		return (SPOP_NEED_MORE);
	s->ptr = buf + r;
	s->len = (size_t)n;
	return ((ssize_t)((size_t)r + (size_t)n));
}

ssize_t
spop_data_decode(const uint8_t *buf, size_t len, struct spop_data *d)
{
	const uint8_t *p = buf + 1;
	size_t rem;
	uint64_t u;
	ssize_t r;
	int vr;

	if (len == 0)
		return (SPOP_NEED_MORE);
	rem = len - 1;
	switch (buf[0] & SPOP_DATA_T_MASK) {
	case SPOP_DATA_T_NULL:
		d->type = SPOP_DATA_T_NULL;
		return (1);
	case SPOP_DATA_T_BOOL:
		d->type = SPOP_DATA_T_BOOL;
		d->u.b = (buf[0] & SPOP_DATA_FL_TRUE) != 0;
		return (1);
	case SPOP_DATA_T_INT32:
	case SPOP_DATA_T_INT64:
	case SPOP_DATA_T_UINT32:
	case SPOP_DATA_T_UINT64:
		/*
		 * HAProxy reads every integer type into 64 bits.  So do we:
		 * an INT32 outside the 32-bit range is kept as sent, not
		 * refused and not truncated; consumers range-check.
		 */
		if ((vr = spop_varint_decode(p, rem, &u)) < 0)
			return (vr);
		d->type = (enum spop_data_type)(buf[0] & SPOP_DATA_T_MASK);
		if (d->type == SPOP_DATA_T_INT32 || d->type == SPOP_DATA_T_INT64)
			d->u.s64 = u64_to_s64(u);
		else
			d->u.u64 = u;
		return (1 + vr);
	case SPOP_DATA_T_IPV4:
		if (rem < sizeof(d->u.ipv4))
			return (SPOP_NEED_MORE);
		d->type = SPOP_DATA_T_IPV4;
		memcpy(d->u.ipv4, p, sizeof(d->u.ipv4));
		return (1 + (ssize_t)sizeof(d->u.ipv4));
	case SPOP_DATA_T_IPV6:
		if (rem < sizeof(d->u.ipv6))
			return (SPOP_NEED_MORE);
		d->type = SPOP_DATA_T_IPV6;
		memcpy(d->u.ipv6, p, sizeof(d->u.ipv6));
		return (1 + (ssize_t)sizeof(d->u.ipv6));
	case SPOP_DATA_T_STR:
	case SPOP_DATA_T_BIN:
		if ((r = spop_string_decode(p, rem, &d->u.bytes)) < 0)
			return (r);
		d->type = (enum spop_data_type)(buf[0] & SPOP_DATA_T_MASK);
		return (1 + r);
	default:
		return (SPOP_INVALID);
	}
}

ssize_t
spop_data_encode(uint8_t *buf, size_t cap, const struct spop_data *d)
{
	uint8_t hdr[1 + SPOP_VARINT_MAX_LEN];
	const void *body = NULL;
	size_t hlen = 1, blen = 0;
	uint64_t u;
	int vr;

	hdr[0] = (uint8_t)d->type;
	switch (d->type) {
	case SPOP_DATA_T_NULL:
		break;
	case SPOP_DATA_T_BOOL:
		if (d->u.b)
			hdr[0] |= SPOP_DATA_FL_TRUE;
		break;
	case SPOP_DATA_T_INT32:
	case SPOP_DATA_T_INT64:
	case SPOP_DATA_T_UINT32:
	case SPOP_DATA_T_UINT64:
		/* Signed: two's complement, as HAProxy (10 bytes if < 0). */
		if (d->type == SPOP_DATA_T_INT32 || d->type == SPOP_DATA_T_INT64)
			u = (uint64_t)d->u.s64;
		else
			u = d->u.u64;
		vr = spop_varint_encode(u, hdr + 1, sizeof(hdr) - 1);
		hlen += (size_t)vr;
		break;
	case SPOP_DATA_T_IPV4:
		body = d->u.ipv4;
		blen = sizeof(d->u.ipv4);
		break;
	case SPOP_DATA_T_IPV6:
		body = d->u.ipv6;
		blen = sizeof(d->u.ipv6);
		break;
	case SPOP_DATA_T_STR:
	case SPOP_DATA_T_BIN:
		vr = spop_varint_encode(d->u.bytes.len, hdr + 1, sizeof(hdr) - 1);
		hlen += (size_t)vr;
		body = d->u.bytes.ptr;
		blen = d->u.bytes.len;
		break;
	default:
		return (-1);
	}
	if (hlen > cap || blen > cap - hlen)
		return (-1);
	memcpy(buf, hdr, hlen);
	if (blen > 0)
		memcpy(buf + hlen, body, blen);
	return ((ssize_t)(hlen + blen));
}

int
spop_data_get_uint(const struct spop_data *d, uint64_t *v)
{
	switch (d->type) {
	case SPOP_DATA_T_INT32:
	case SPOP_DATA_T_INT64:
		if (d->u.s64 < 0)
			return (-1);
		*v = (uint64_t)d->u.s64;
		return (0);
	case SPOP_DATA_T_UINT32:
	case SPOP_DATA_T_UINT64:
		*v = d->u.u64;
		return (0);
	default:
		return (-1);
	}
}

/* Constructors: every other member of the union is zero. */
struct spop_data
spop_data_null(void)
{
	return ((struct spop_data){ .type = SPOP_DATA_T_NULL });
}

struct spop_data
spop_data_bool(bool b)
{
	return ((struct spop_data){ .type = SPOP_DATA_T_BOOL, .u.b = b });
}

struct spop_data
spop_data_int32(int32_t v)
{
	return ((struct spop_data){ .type = SPOP_DATA_T_INT32, .u.s64 = v });
}

struct spop_data
spop_data_uint32(uint32_t v)
{
	return ((struct spop_data){ .type = SPOP_DATA_T_UINT32, .u.u64 = v });
}

struct spop_data
spop_data_int64(int64_t v)
{
	return ((struct spop_data){ .type = SPOP_DATA_T_INT64, .u.s64 = v });
}

struct spop_data
spop_data_uint64(uint64_t v)
{
	return ((struct spop_data){ .type = SPOP_DATA_T_UINT64, .u.u64 = v });
}

struct spop_data
spop_data_str(const void *p, size_t len)
{
	return ((struct spop_data){ .type = SPOP_DATA_T_STR,
	    .u.bytes = { p, len } });
}

struct spop_data
spop_data_bin(const void *p, size_t len)
{
	return ((struct spop_data){ .type = SPOP_DATA_T_BIN,
	    .u.bytes = { p, len } });
}
