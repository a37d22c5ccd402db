/*
 * fuzz_spop.c: the SPOP codec over a stream of frames.
 *
 * The input is read as HAProxy's side of a connection would be: frames
 * back to back, each peeked (0 and > 65536 refused), decoded and handled by
 * type.  Invariants checked (abort on violation):
 *   - nothing consumed past the input; every returned slice lies inside it;
 *   - piece decoders are prefix-consistent: a piece of n bytes decodes from
 *     exactly n bytes and is NEED_MORE from n - 1;
 *   - every typed value re-encodes and decodes back to the same value;
 *   - varints are canonical by construction, so a frame header, a KV item,
 *     a message and an action re-encode to the identical bytes whenever the
 *     value's type byte is canonical (no flag bits except BOOL true);
 *   - a NOTIFY message accepted by spop_message_next() yields exactly
 *     nargs arguments from spop_kv_next(), never an error;
 *   - spop_message_walk() agrees with it (result, cursor, spans) and hands
 *     its callback exactly nargs arguments, in order;
 *   - negotiation results stay within [256, our max] and the peer's size.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "spoe/spop.h"

#define FUZZ_MAX_FRAME	65536u
#define OUR_MAX		16380u

#define CHECK(cond) do {						\
	if (!(cond)) {							\
		fprintf(stderr, "%s:%d: invariant failed: %s\n",	\
		    __FILE__, __LINE__, #cond);				\
		abort();						\
	}								\
} while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Scratch space for re-encoding (a frame is at most 64 KiB here). */
static uint8_t scratch[FUZZ_MAX_FRAME + 64];
static uint8_t scratch2[FUZZ_MAX_FRAME + 64];

static const uint8_t *in_base;
static size_t in_len;

static int
inside(const void *p, size_t n)
{
	uintptr_t a = (uintptr_t)p, b = (uintptr_t)in_base;

	return (a >= b && n <= in_len && a - b <= in_len - n);
}

#define CHECK_SLICE(s)	CHECK((s).len == 0 || inside((s).ptr, (s).len))

static uint8_t
canon_type_byte(const struct spop_data *d)
{
	uint8_t b = (uint8_t)d->type;

	if (d->type == SPOP_DATA_T_BOOL && d->u.b)
		b |= SPOP_DATA_FL_TRUE;
	return (b);
}

static int
data_equal(const struct spop_data *a, const struct spop_data *b)
{
	if (a->type != b->type)
		return (0);
	switch (a->type) {
	case SPOP_DATA_T_NULL:
		return (1);
	case SPOP_DATA_T_BOOL:
		return (a->u.b == b->u.b);
	case SPOP_DATA_T_INT32:
	case SPOP_DATA_T_INT64:
		return (a->u.s64 == b->u.s64);
	case SPOP_DATA_T_UINT32:
	case SPOP_DATA_T_UINT64:
		return (a->u.u64 == b->u.u64);
	case SPOP_DATA_T_IPV4:
		return (memcmp(a->u.ipv4, b->u.ipv4, 4) == 0);
	case SPOP_DATA_T_IPV6:
		return (memcmp(a->u.ipv6, b->u.ipv6, 16) == 0);
	case SPOP_DATA_T_STR:
	case SPOP_DATA_T_BIN:
		return (a->u.bytes.len == b->u.bytes.len &&
		    (a->u.bytes.len == 0 || memcmp(a->u.bytes.ptr,
		    b->u.bytes.ptr, a->u.bytes.len) == 0));
	}
	return (0);
}

/*
 * ${d} was decoded from the ${n} bytes at ${src}: check its slice, the
 * decoder's prefix consistency, the value round trip, and byte identity
 * when canonical.
 */
static void
check_value(const uint8_t *src, size_t n, const struct spop_data *d)
{
	struct spop_data again;
	ssize_t r;

	CHECK(n >= 1 && inside(src, n));
	if (d->type == SPOP_DATA_T_STR || d->type == SPOP_DATA_T_BIN)
		CHECK_SLICE(d->u.bytes);
	CHECK(spop_data_decode(src, n, &again) == (ssize_t)n);
	CHECK(data_equal(d, &again));
	CHECK(spop_data_decode(src, n - 1, &again) == SPOP_NEED_MORE);

	r = spop_data_encode(scratch2, sizeof(scratch2), d);
	CHECK(r > 0);
	CHECK(spop_data_decode(scratch2, (size_t)r, &again) == r);
	CHECK(data_equal(d, &again));
	if (src[0] == canon_type_byte(d)) {
		CHECK((size_t)r == n);
		CHECK(memcmp(scratch2, src, n) == 0);
	}
}

/* Walk a KV list, checking every item; return spop_kv_next's last result. */
static int
walk_kv(struct spop_cursor *c, unsigned limit)
{
	struct spop_slice k;
	struct spop_data v;
	unsigned count = 0;
	int r;

	for (;;) {
		const uint8_t *start = c->p;

		if (limit != 0 && count == limit)
			return (0);
		r = spop_kv_next(c, &k, &v);
		if (r != 1) {
			CHECK(c->p == start);   /* unchanged on error/end */
			return (r);
		}
		count++;
		CHECK(c->p > start && c->p <= c->end);
		CHECK(inside(start, (size_t)(c->p - start)));
		CHECK_SLICE(k);
		{
			const uint8_t *vstart = k.ptr + k.len;
			struct spop_writer w;

			check_value(vstart, (size_t)(c->p - vstart), &v);
			spop_w_init(&w, scratch, sizeof(scratch));
			spop_w_kvn(&w, k.ptr, k.len, &v);
			CHECK(!w.overflow);
			if (vstart[0] == canon_type_byte(&v)) {
				CHECK(w.len == (size_t)(c->p - start));
				CHECK(memcmp(scratch, start, w.len) == 0);
			}
		}
	}
}

static void
do_hello(const struct spop_slice *pl)
{
	struct spop_hello h;
	enum spop_err err = SPOP_ERR_NONE;
	uint32_t mfs = 0;
	bool pipe;

	if (spop_hello_decode(pl->ptr, pl->len, &h, &err) != 0) {
		CHECK(err == SPOP_ERR_INVALID || err == SPOP_ERR_NO_VSN ||
		    err == SPOP_ERR_NO_FRAME_SIZE || err == SPOP_ERR_NO_CAP ||
		    err == SPOP_ERR_BAD_FRAME_SIZE);
		return;
	}
	CHECK(h.has_versions && h.has_max_frame_size && h.has_capabilities);
	CHECK_SLICE(h.versions);
	CHECK_SLICE(h.capabilities);
	CHECK_SLICE(h.engine_id);
	if (spop_hello_negotiate(&h, OUR_MAX, &mfs, &pipe, &err) != 0) {
		CHECK(err == SPOP_ERR_BAD_VSN || err == SPOP_ERR_BAD_FRAME_SIZE);
		return;
	}
	CHECK(mfs >= SPOP_MIN_FRAME_SIZE && mfs <= OUR_MAX);
	CHECK(mfs <= h.max_frame_size);
	CHECK(mfs == OUR_MAX || mfs == h.max_frame_size);
	/* Our answer always fits the negotiated size. */
	{
		ssize_t r = spop_agent_hello_encode(scratch, sizeof(scratch),
		    mfs, pipe ? "pipelining" : "");

		CHECK(r > 0 && (size_t)r - 4 <= mfs);
	}
}

static void
do_disconnect(const struct spop_slice *pl)
{
	struct spop_disconnect d;
	enum spop_err err = SPOP_ERR_NONE;

	if (spop_disconnect_decode(pl->ptr, pl->len, &d, &err) != 0) {
		CHECK(err == SPOP_ERR_INVALID);
		return;
	}
	if (d.has_message)
		CHECK_SLICE(d.message);
}

/* spop_message_walk()'s callback: the arguments it is handed, in order. */
struct walked {
	const struct spop_message *m;
	const uint8_t *at;              /* where the next argument starts */
	const uint8_t *name_ptr;        /* the message's name */
	unsigned n;
};

static void
on_walk_arg(void *arg, const struct spop_message *m,
    const struct spop_slice *name, const struct spop_data *value)
{
	struct walked *w = arg;

	(void)value;
	CHECK(m == w->m && m->name.ptr == w->name_ptr);
	CHECK(w->n < m->nargs);
	/* In order: each name after the previous one's end. */
	CHECK(w->at == NULL || name->ptr >= w->at);
	CHECK_SLICE(*name);
	w->at = name->ptr + name->len;
	w->n++;
}

/* The one-pass walk agrees with spop_message_next() on every message. */
static void
walk_agrees(const struct spop_cursor *before, int r_next,
    const struct spop_cursor *after, const struct spop_message *mn)
{
	struct spop_cursor c = *before;
	struct spop_message m;
	struct walked w = { .m = &m };
	int r;

	if (before->p < before->end) {
		/* The name's slice as spop_message_next() would set it. */
		struct spop_slice name;

		if (spop_string_decode(before->p, (size_t)(before->end -
		    before->p), &name) > 0)
			w.name_ptr = name.ptr;
	}
	r = spop_message_walk(&c, &m, on_walk_arg, &w);
	CHECK(r == r_next);
	CHECK(c.p == after->p);
	if (r == 1) {
		CHECK(w.n == mn->nargs && m.nargs == mn->nargs);
		CHECK(m.args.p == mn->args.p && m.args.end == mn->args.end);
	}
}

static void
do_notify(const struct spop_slice *pl)
{
	struct spop_cursor c;
	struct spop_message m;
	int r;

	spop_cursor_init(&c, pl->ptr, pl->len);
	for (;;) {
		const uint8_t *start = c.p;
		struct spop_cursor args;
		struct spop_writer w;
		bool canon = true;

		struct spop_cursor before = c;

		r = spop_message_next(&c, &m);
		walk_agrees(&before, r, &c, &m);
		if (r != 1) {
			CHECK(c.p == start);
			break;
		}
		CHECK(c.p > start && c.p <= c.end);
		CHECK_SLICE(m.name);
		CHECK(m.nargs <= 255);
		CHECK(m.args.p <= m.args.end && m.args.end == c.p);
		CHECK(m.args.p == m.name.ptr + m.name.len + 1);

		/* Exactly nargs arguments, then the clean end. */
		args = m.args;
		CHECK(walk_kv(&args, m.nargs) == 0);
		CHECK(args.p == args.end);

		/* Re-encode the whole message. */
		spop_w_init(&w, scratch, sizeof(scratch));
		spop_w_string(&w, m.name.ptr, m.name.len);
		spop_w_u8(&w, (uint8_t)m.nargs);
		args = m.args;
		for (unsigned i = 0; i < m.nargs; i++) {
			struct spop_slice k;
			struct spop_data v;

			CHECK(spop_kv_next(&args, &k, &v) == 1);
			if (k.ptr[k.len] != canon_type_byte(&v))
				canon = false;
			spop_w_kvn(&w, k.ptr, k.len, &v);
		}
		CHECK(!w.overflow);
		if (canon) {
			CHECK(w.len == (size_t)(c.p - start));
			CHECK(memcmp(scratch, start, w.len) == 0);
		}
	}
}

static void
do_ack(const struct spop_slice *pl)
{
	struct spop_cursor c;
	struct spop_action a;
	int r;

	spop_cursor_init(&c, pl->ptr, pl->len);
	for (;;) {
		const uint8_t *start = c.p;
		struct spop_writer w;

		r = spop_action_next(&c, &a);
		if (r != 1) {
			CHECK(c.p == start);
			break;
		}
		CHECK(c.p > start && c.p <= c.end);
		CHECK_SLICE(a.name);
		CHECK(a.scope <= SPOP_SCOPE_RES);
		spop_w_init(&w, scratch, sizeof(scratch));
		if (a.type == SPOP_ACT_T_SET_VAR) {
			const uint8_t *vstart = a.name.ptr + a.name.len;

			check_value(vstart, (size_t)(c.p - vstart), &a.value);
			spop_w_set_var(&w, a.scope, (const char *)a.name.ptr,
			    a.name.len, &a.value);
			CHECK(!w.overflow);
			if (vstart[0] != canon_type_byte(&a.value))
				continue;
		} else {
			CHECK(a.type == SPOP_ACT_T_UNSET_VAR);
			CHECK(a.value.type == SPOP_DATA_T_NULL);
			spop_w_unset_var(&w, a.scope, (const char *)a.name.ptr,
			    a.name.len);
			CHECK(!w.overflow);
		}
		CHECK(w.len == (size_t)(c.p - start));
		CHECK(memcmp(scratch, start, w.len) == 0);
	}
}

/* Decode one frame body of ${len} bytes and dispatch on its type. */
static void
do_frame(const uint8_t *body, size_t len)
{
	struct spop_frame f;
	struct spop_writer w;
	enum spop_err err = SPOP_ERR_NONE;
	size_t hdr;
	ssize_t r;

	if (spop_frame_decode(body, len, &f, &err) != 0) {
		CHECK(err == SPOP_ERR_INVALID);
		return;
	}
	CHECK(f.payload.ptr >= body && f.payload.ptr <= body + len);
	CHECK(f.payload.ptr + f.payload.len == body + len);
	CHECK_SLICE(f.payload);
	hdr = (size_t)(f.payload.ptr - body);
	CHECK(hdr >= 7 && hdr <= 1 + 4 + 2 * SPOP_VARINT_MAX_LEN);

	/* The header re-encodes to the same bytes (canonical varints). */
	spop_w_init(&w, scratch, sizeof(scratch));
	spop_w_begin(&w, f.type, f.flags, f.stream_id, f.frame_id);
	r = spop_w_end(&w, FUZZ_MAX_FRAME);
	CHECK(r == (ssize_t)(4 + hdr));
	CHECK(memcmp(scratch + 4, body, hdr) == 0);

	switch (f.type) {
	case SPOP_FRM_T_HAPROXY_HELLO:
		{
			struct spop_cursor c;

			spop_cursor_init(&c, f.payload.ptr, f.payload.len);
			(void)walk_kv(&c, 0);
		}
		do_hello(&f.payload);
		break;
	case SPOP_FRM_T_HAPROXY_DISCON:
	case SPOP_FRM_T_AGENT_DISCON:
	case SPOP_FRM_T_AGENT_HELLO:
		{
			struct spop_cursor c;

			spop_cursor_init(&c, f.payload.ptr, f.payload.len);
			(void)walk_kv(&c, 0);
		}
		if (f.type != SPOP_FRM_T_AGENT_HELLO)
			do_disconnect(&f.payload);
		break;
	case SPOP_FRM_T_HAPROXY_NOTIFY:
		do_notify(&f.payload);
		break;
	case SPOP_FRM_T_AGENT_ACK:
		do_ack(&f.payload);
		break;
	default:
		break;   /* unknown frame types may be skipped */
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t off = 0;
	uint32_t fl;

	in_base = data;
	in_len = size;
	while (spop_frame_peek(data + off, size - off, &fl) == 1) {
		if (fl == 0 || fl > FUZZ_MAX_FRAME)
			break;
		if (fl > size - off - SPOP_FRAME_LEN_SIZE)
			break;   /* would wait for more bytes */
		do_frame(data + off + SPOP_FRAME_LEN_SIZE, fl);
		off += SPOP_FRAME_LEN_SIZE + fl;
		CHECK(off <= size);
	}
	/* Raw piece decoders on the whole input, for their own invariants. */
	{
		uint64_t v;
		struct spop_data d;
		int n = spop_varint_decode(data, size, &v);

		if (n > 0) {
			uint8_t tmp[SPOP_VARINT_MAX_LEN];

			CHECK((size_t)n <= size && n <= 10);
			CHECK(spop_varint_decode(data, (size_t)n - 1, &v) ==
			    SPOP_NEED_MORE);
			CHECK(spop_varint_encode(v, tmp, sizeof(tmp)) == n);
			CHECK(memcmp(tmp, data, (size_t)n) == 0);
		}
		ssize_t dn = spop_data_decode(data, size, &d);
		if (dn > 0)
			check_value(data, (size_t)dn, &d);
	}
	return (0);
}
