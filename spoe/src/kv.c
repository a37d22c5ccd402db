/*
 * kv.c: KV lists (haproxy doc/SPOE.txt §3.2): <NAME:STRING><VALUE:TYPED-DATA>
 * pairs; the HAPROXY-HELLO and DISCONNECT payloads built on them; and the
 * HELLO negotiation.
 */
#include "spop-int.h"

void
spop_cursor_init(struct spop_cursor *c, const uint8_t *buf, size_t len)
{
	c->p = buf;
	c->end = len > 0 ? buf + len : buf;   /* no NULL + 0 */
}

int
spop_kv_next(struct spop_cursor *c, struct spop_slice *name,
    struct spop_data *value)
{
	const uint8_t *p = c->p;
	ssize_t r;

	if (p == c->end)
		return (0);
	/* Inside a payload, "need more" is as malformed as "invalid". */
	if ((r = spop_string_decode(p, (size_t)(c->end - p), name)) < 0)
		return (-1);
	p += r;
	if ((r = spop_data_decode(p, (size_t)(c->end - p), value)) < 0)
		return (-1);
	p += r;
	c->p = p;
	return (1);
}

static bool
data_is_int(const struct spop_data *d)
{
	return (d->type == SPOP_DATA_T_INT32 || d->type == SPOP_DATA_T_UINT32 ||
	    d->type == SPOP_DATA_T_INT64 || d->type == SPOP_DATA_T_UINT64);
}

int
spop_hello_decode(const uint8_t *payload, size_t len, struct spop_hello *h,
    enum spop_err *err)
{
	struct spop_cursor c;
	struct spop_slice k;
	struct spop_data v;
	bool has_hc = false, has_eid = false;
	int r;

	memset(h, 0, sizeof(*h));
	spop_cursor_init(&c, payload, len);
	while ((r = spop_kv_next(&c, &k, &v)) == 1) {
		if (SPOP_MEM_EQ_LIT(k.ptr, k.len, SPOP_KEY_VERSIONS)) {
			if (h->has_versions || v.type != SPOP_DATA_T_STR)
				goto invalid;
			h->has_versions = true;
			h->versions = v.u.bytes;
		} else if (SPOP_MEM_EQ_LIT(k.ptr, k.len, SPOP_KEY_MAX_FRAME)) {
			if (h->has_max_frame_size || !data_is_int(&v))
				goto invalid;
			/* HAProxy reads a negative size as "too small". */
			if (spop_data_get_uint(&v, &h->max_frame_size) != 0) {
				*err = SPOP_ERR_BAD_FRAME_SIZE;
				return (-1);
			}
			h->has_max_frame_size = true;
		} else if (SPOP_MEM_EQ_LIT(k.ptr, k.len, SPOP_KEY_CAPS)) {
			if (h->has_capabilities || v.type != SPOP_DATA_T_STR)
				goto invalid;
			h->has_capabilities = true;
			h->capabilities = v.u.bytes;
		} else if (SPOP_MEM_EQ_LIT(k.ptr, k.len, SPOP_KEY_HEALTHCHECK)) {
			if (has_hc || v.type != SPOP_DATA_T_BOOL)
				goto invalid;
			has_hc = true;
			h->healthcheck = v.u.b;
		} else if (SPOP_MEM_EQ_LIT(k.ptr, k.len, SPOP_KEY_ENGINE_ID)) {
			if (has_eid || v.type != SPOP_DATA_T_STR)
				goto invalid;
			has_eid = true;
			h->engine_id = v.u.bytes;
		}
		/* Unknown keys are skipped (§3.2.4). */
	}
	if (r < 0)
		goto invalid;
	if (!h->has_versions) {
		*err = SPOP_ERR_NO_VSN;
		return (-1);
	}
	if (!h->has_max_frame_size) {
		*err = SPOP_ERR_NO_FRAME_SIZE;
		return (-1);
	}
	if (!h->has_capabilities) {
		*err = SPOP_ERR_NO_CAP;
		return (-1);
	}
	return (0);

invalid:
	*err = SPOP_ERR_INVALID;
	return (-1);
}

static bool
is_space(uint8_t ch)
{
	return (ch == ' ' || ch == '\t');
}

/*
 * Parse one "Major.Minor" token of [p, end), spaces ignored anywhere.
 * Return the major number (saturated at 1000000), or -1 if the token is
 * not digits '.' digits.
 */
static long
version_major(const uint8_t *p, const uint8_t *end)
{
	long major = 0;
	int ndig = 0, part = 0;

	for (; p < end; p++) {
		if (is_space(*p))
			continue;
		if (*p == '.') {
			if (part != 0 || ndig == 0)
				return (-1);
			part = 1;
			ndig = 0;
			continue;
		}
		if (*p < '0' || *p > '9')
			return (-1);
		if (part == 0 && major < 1000000)
			major = major * 10 + (*p - '0');
		ndig++;
	}
	if (part != 1 || ndig == 0)
		return (-1);
	return (major);
}

/* True if the comma-separated list [p, p + len) holds a 2.x version. */
static bool
versions_have_2(const uint8_t *p, size_t len)
{
	const uint8_t *end, *tok = p;

	if (len == 0)
		return (false);
	end = p + len;
	for (; ; p++) {
		if (p == end || *p == ',') {
			if (version_major(tok, p) == 2)
				return (true);
			if (p == end)
				return (false);
			tok = p + 1;
		}
	}
}

/* True if the comma-separated list [p, p + len) has the exact token ${w}. */
static bool
list_has_token(const uint8_t *p, size_t len, const char *w)
{
	const uint8_t *end, *tok = p, *a, *b;
	size_t wl = strlen(w);

	if (len == 0)
		return (false);
	end = p + len;
	for (; ; p++) {
		if (p == end || *p == ',') {
			a = tok;
			b = p;
			while (a < b && is_space(*a))
				a++;
			while (b > a && is_space(b[-1]))
				b--;
			if ((size_t)(b - a) == wl && memcmp(a, w, wl) == 0)
				return (true);
			if (p == end)
				return (false);
			tok = p + 1;
		}
	}
}

int
spop_hello_negotiate(const struct spop_hello *h, uint32_t our_max,
    uint32_t *max_frame_size, bool *pipelining, enum spop_err *err)
{
	if (!h->has_versions) {
		*err = SPOP_ERR_NO_VSN;
		return (-1);
	}
	if (!h->has_max_frame_size) {
		*err = SPOP_ERR_NO_FRAME_SIZE;
		return (-1);
	}
	if (!h->has_capabilities) {
		*err = SPOP_ERR_NO_CAP;
		return (-1);
	}
	if (!versions_have_2(h->versions.ptr, h->versions.len)) {
		*err = SPOP_ERR_BAD_VSN;
		return (-1);
	}
	if (h->max_frame_size < SPOP_MIN_FRAME_SIZE) {
		*err = SPOP_ERR_BAD_FRAME_SIZE;
		return (-1);
	}
	*max_frame_size = h->max_frame_size < our_max ?
	    (uint32_t)h->max_frame_size : our_max;
	*pipelining = list_has_token(h->capabilities.ptr,
	    h->capabilities.len, "pipelining");
	return (0);
}

int
spop_disconnect_decode(const uint8_t *payload, size_t len,
    struct spop_disconnect *d, enum spop_err *err)
{
	struct spop_cursor c;
	struct spop_slice k;
	struct spop_data v;
	int r;

	memset(d, 0, sizeof(*d));
	spop_cursor_init(&c, payload, len);
	while ((r = spop_kv_next(&c, &k, &v)) == 1) {
		if (SPOP_MEM_EQ_LIT(k.ptr, k.len, SPOP_KEY_STATUS)) {
			if (d->has_status ||
			    spop_data_get_uint(&v, &d->status) != 0)
				goto invalid;
			d->has_status = true;
		} else if (SPOP_MEM_EQ_LIT(k.ptr, k.len, SPOP_KEY_MESSAGE)) {
			if (d->has_message || v.type != SPOP_DATA_T_STR)
				goto invalid;
			d->has_message = true;
			d->message = v.u.bytes;
		}
	}
	if (r < 0)
		goto invalid;
	return (0);

invalid:
	*err = SPOP_ERR_INVALID;
	return (-1);
}
