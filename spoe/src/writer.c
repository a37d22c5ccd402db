/*
 * writer.c: the bounded frame writer and the whole-frame encoders.
 *
 * A frame is built whole in the caller's buffer (spop.md §1.6: one write()
 * per frame).  Each piece is written entirely or not at all; the first
 * refused piece makes the writer sticky-failed until spop_w_end() rolls the
 * frame back.
 */
#include "spop-int.h"

void
spop_w_init(struct spop_writer *w, uint8_t *buf, size_t cap)
{
	w->buf = buf;
	w->cap = cap;
	w->len = 0;
	w->frame_start = 0;
	w->overflow = false;
	w->in_frame = false;
}

/* Append [p, p + n) whole, or set the overflow flag. */
static void
w_put(struct spop_writer *w, const void *p, size_t n)
{
	if (w->overflow)
		return;
	if (n > w->cap - w->len) {
		w->overflow = true;
		return;
	}
	if (n > 0)
		memcpy(w->buf + w->len, p, n);
	w->len += n;
}

void
spop_w_begin(struct spop_writer *w, uint8_t type, uint32_t flags,
    uint64_t stream_id, uint64_t frame_id)
{
	uint8_t hdr[SPOP_FRAME_LEN_SIZE + 1 + 4];

	if (w->in_frame) {
		/* Caller bug: the open frame can only be rolled back now. */
		w->overflow = true;
		return;
	}
	w->in_frame = true;
	w->frame_start = w->len;
	spop_store_be32(hdr, 0);   /* filled in by spop_w_end() */
	hdr[4] = type;
	spop_store_be32(hdr + 5, flags);
	w_put(w, hdr, sizeof(hdr));
	spop_w_varint(w, stream_id);
	spop_w_varint(w, frame_id);
}

void
spop_w_u8(struct spop_writer *w, uint8_t v)
{
	w_put(w, &v, 1);
}

void
spop_w_varint(struct spop_writer *w, uint64_t v)
{
	uint8_t tmp[SPOP_VARINT_MAX_LEN];
	int n;

	n = spop_varint_encode(v, tmp, sizeof(tmp));
	w_put(w, tmp, (size_t)n);
}

void
spop_w_string(struct spop_writer *w, const void *p, size_t len)
{
	uint8_t tmp[SPOP_VARINT_MAX_LEN];
	int n;

	if (w->overflow)
		return;
	n = spop_varint_encode(len, tmp, sizeof(tmp));
	/* Both parts or neither. */
	if ((size_t)n > w->cap - w->len || len > w->cap - w->len - (size_t)n) {
		w->overflow = true;
		return;
	}
	w_put(w, tmp, (size_t)n);
	w_put(w, p, len);
}

void
spop_w_data(struct spop_writer *w, const struct spop_data *d)
{
	ssize_t r;

	if (w->overflow)
		return;
	if (w->len == w->cap) {   /* every TYPED-DATA takes >= 1 byte */
		w->overflow = true;
		return;
	}
	r = spop_data_encode(w->buf + w->len, w->cap - w->len, d);
	if (r < 0) {
		w->overflow = true;
		return;
	}
	w->len += (size_t)r;
}

void
spop_w_kvn(struct spop_writer *w, const void *name, size_t name_len,
    const struct spop_data *d)
{
	size_t save = w->len;

	spop_w_string(w, name, name_len);
	spop_w_data(w, d);
	if (w->overflow)
		w->len = save;   /* no half pair */
}

void
spop_w_kv(struct spop_writer *w, const char *name, const struct spop_data *d)
{
	spop_w_kvn(w, name, strlen(name), d);
}

void
spop_w_message(struct spop_writer *w, const char *name, uint8_t nargs)
{
	spop_w_string(w, name, strlen(name));
	spop_w_u8(w, nargs);
}

void
spop_w_set_var(struct spop_writer *w, enum spop_scope scope,
    const char *name, size_t name_len, const struct spop_data *value)
{
	uint8_t hdr[3] = { SPOP_ACT_T_SET_VAR, 3, (uint8_t)scope };

	w_put(w, hdr, sizeof(hdr));
	spop_w_string(w, name, name_len);
	spop_w_data(w, value);
}

void
spop_w_set_var_str(struct spop_writer *w, enum spop_scope scope,
    const char *name, size_t name_len, const void *val, size_t val_len)
{
	size_t room = w->cap - w->len;
	struct spop_data d;

	/* With room for the longest varints, write in place: one check
	 * instead of one per piece.  Otherwise (or overflowed already) the
	 * piece by piece path, which fits an action exactly or refuses it. */
	if (!w->overflow && name_len < room && val_len < room - name_len &&
	    4 + 2 * SPOP_VARINT_MAX_LEN <= room - name_len - val_len) {
		uint8_t *p = w->buf + w->len;

		*p++ = SPOP_ACT_T_SET_VAR;
		*p++ = 3;
		*p++ = (uint8_t)scope;
		p += spop_varint_encode(name_len, p, SPOP_VARINT_MAX_LEN);
		if (name_len > 0)
			memcpy(p, name, name_len);
		p += name_len;
		*p++ = SPOP_DATA_T_STR;
		p += spop_varint_encode(val_len, p, SPOP_VARINT_MAX_LEN);
		if (val_len > 0)
			memcpy(p, val, val_len);
		p += val_len;
		w->len = (size_t)(p - w->buf);
		return;
	}
	d = spop_data_str(val, val_len);
	spop_w_set_var(w, scope, name, name_len, &d);
}

void
spop_w_unset_var(struct spop_writer *w, enum spop_scope scope,
    const char *name, size_t name_len)
{
	uint8_t hdr[3] = { SPOP_ACT_T_UNSET_VAR, 2, (uint8_t)scope };

	w_put(w, hdr, sizeof(hdr));
	spop_w_string(w, name, name_len);
}

ssize_t
spop_w_end(struct spop_writer *w, uint32_t max_frame_size)
{
	size_t body;

	if (!w->in_frame)
		return (-1);
	w->in_frame = false;
	if (w->overflow)
		goto rollback;
	body = w->len - w->frame_start - SPOP_FRAME_LEN_SIZE;
	if (body > max_frame_size)
		goto rollback;
	spop_store_be32(w->buf + w->frame_start, (uint32_t)body);
	return ((ssize_t)(w->len - w->frame_start));

rollback:
	w->len = w->frame_start;
	w->overflow = false;
	return (-1);
}

/* ---- whole frames ------------------------------------------------------- */

ssize_t
spop_agent_hello_encode(uint8_t *buf, size_t cap, uint32_t max_frame_size,
    const char *capabilities)
{
	struct spop_writer w;
	struct spop_data d;

	spop_w_init(&w, buf, cap);
	spop_w_begin(&w, SPOP_FRM_T_AGENT_HELLO, SPOP_FRM_FL_FIN, 0, 0);
	d = spop_data_str("2.0", 3);
	spop_w_kv(&w, SPOP_KEY_VERSION, &d);
	d = spop_data_uint32(max_frame_size);
	spop_w_kv(&w, SPOP_KEY_MAX_FRAME, &d);
	d = spop_data_str(capabilities, strlen(capabilities));
	spop_w_kv(&w, SPOP_KEY_CAPS, &d);
	return (spop_w_end(&w, SPOP_MAX_FRAME_SIZE));
}

ssize_t
spop_haproxy_hello_encode(uint8_t *buf, size_t cap, const char *versions,
    uint32_t max_frame_size, const char *capabilities, bool healthcheck,
    const char *engine_id)
{
	struct spop_writer w;
	struct spop_data d;

	spop_w_init(&w, buf, cap);
	spop_w_begin(&w, SPOP_FRM_T_HAPROXY_HELLO, SPOP_FRM_FL_FIN, 0, 0);
	d = spop_data_str(versions, strlen(versions));
	spop_w_kv(&w, SPOP_KEY_VERSIONS, &d);
	d = spop_data_uint32(max_frame_size);
	spop_w_kv(&w, SPOP_KEY_MAX_FRAME, &d);
	d = spop_data_str(capabilities, strlen(capabilities));
	spop_w_kv(&w, SPOP_KEY_CAPS, &d);
	if (healthcheck) {
		d = spop_data_bool(true);
		spop_w_kv(&w, SPOP_KEY_HEALTHCHECK, &d);
	}
	if (engine_id != NULL) {
		d = spop_data_str(engine_id, strlen(engine_id));
		spop_w_kv(&w, SPOP_KEY_ENGINE_ID, &d);
	}
	return (spop_w_end(&w, SPOP_MAX_FRAME_SIZE));
}

ssize_t
spop_disconnect_encode(uint8_t *buf, size_t cap, uint8_t type,
    enum spop_err status, const char *message)
{
	struct spop_writer w;
	struct spop_data d;

	spop_w_init(&w, buf, cap);
	spop_w_begin(&w, type, SPOP_FRM_FL_FIN, 0, 0);
	d = spop_data_uint32((uint32_t)status);
	spop_w_kv(&w, SPOP_KEY_STATUS, &d);
	d = spop_data_str(message, strlen(message));
	spop_w_kv(&w, SPOP_KEY_MESSAGE, &d);
	return (spop_w_end(&w, SPOP_MAX_FRAME_SIZE));
}
