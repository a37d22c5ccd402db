/*
 * spop.h: SPOP v2 codec.  Pure functions over (buf, len): no I/O, no
 * allocation, no globals.  Every decoder checks the remaining length before
 * each byte it reads and never reads past ${len}; every encoder never writes
 * past its capacity.  Output slices point into the input buffer, which the
 * caller keeps alive while it uses them.
 *
 * Return conventions:
 *   decoders of a piece (varint, data, string): bytes consumed (> 0), or
 *     SPOP_NEED_MORE if the input ends inside the piece, or SPOP_INVALID.
 *   decoders of a whole frame or payload: 0 on success, -1 on error with
 *     *${err} set to the DISCONNECT status the peer deserves.
 *   iterators (*_next): 1 with an item, 0 at the clean end, -1 on error.
 */
#ifndef SPOE_SPOP_H
#define SPOE_SPOP_H

#include <sys/types.h>

#include "spop-t.h"

/* ---- varints ("peers" encoding) ---------------------------------------- */

/*
 * spop_varint_encode(v, buf, cap):
 * Encode ${v} into ${buf} (1 to 10 bytes).  Return the byte count, or -1 if
 * ${cap} is too small (nothing useful is written then).
 */
int spop_varint_encode(uint64_t v, uint8_t *buf, size_t cap);

/*
 * spop_varint_decode(buf, len, v):
 * Decode one varint.  Return bytes consumed (1..10) and set *${v};
 * SPOP_NEED_MORE if ${len} ends before the last byte; SPOP_INVALID if the
 * encoding runs past 10 bytes or overflows 64 bits.
 */
int spop_varint_decode(const uint8_t *buf, size_t len, uint64_t *v);

/* ---- typed data, strings ------------------------------------------------ */

/*
 * spop_data_decode(buf, len, d):
 * Decode one TYPED-DATA.  Types 10-15 are SPOP_INVALID.  For STR and BIN the
 * slice points into ${buf}.  Like HAProxy, every integer type is read into
 * 64 bits and kept as sent: an INT32 or UINT32 outside the 32-bit range is
 * neither refused nor truncated (INT32/INT64 land in ${d}->u.s64, UINT32/
 * UINT64 in ${d}->u.u64); range-check where 32 bits matter.  Flag bits
 * other than BOOL's 0x10 are ignored, as HAProxy does.  Return as for
 * varints.
 */
ssize_t spop_data_decode(const uint8_t *buf, size_t len, struct spop_data *d);

/*
 * spop_data_encode(buf, cap, d):
 * Encode ${d}.  Signed values (INT32/INT64) are written as two's-complement
 * uint64 varints (10 bytes when negative), as HAProxy does.  Return bytes
 * written, or -1 if ${cap} is too small or the type is unknown.
 */
ssize_t spop_data_encode(uint8_t *buf, size_t cap, const struct spop_data *d);

/*
 * spop_string_decode(buf, len, s):
 * Decode a <varint length><bytes> STRING without type byte (KV names,
 * message names, action variable names).  Return as for varints.
 */
ssize_t spop_string_decode(const uint8_t *buf, size_t len, struct spop_slice *s);

/* Convenience constructors for struct spop_data. */
struct spop_data spop_data_null(void);
struct spop_data spop_data_bool(bool b);
struct spop_data spop_data_int32(int32_t v);
struct spop_data spop_data_uint32(uint32_t v);
struct spop_data spop_data_int64(int64_t v);
struct spop_data spop_data_uint64(uint64_t v);
struct spop_data spop_data_str(const void *p, size_t len);
struct spop_data spop_data_bin(const void *p, size_t len);

/*
 * spop_data_get_uint(d, v):
 * If ${d} is any of the four integer types and holds a value >= 0, store
 * it in *${v} and return 0; otherwise return -1.
 */
int spop_data_get_uint(const struct spop_data *d, uint64_t *v);

/* ---- frames ------------------------------------------------------------- */

/*
 * spop_frame_peek(buf, len, frame_len):
 * Read the 4-byte big-endian length prefix.  Return 1 and set *${frame_len}
 * (the byte count after the prefix) if ${len} >= 4, else 0.  The caller
 * compares *${frame_len} with the negotiated max-frame-size before it waits
 * for the body (status SPOP_ERR_TOO_BIG), and refuses 0.
 */
int spop_frame_peek(const uint8_t *buf, size_t len, uint32_t *frame_len);

/*
 * spop_frame_decode(body, len, f, err):
 * Decode a frame body (what follows the length prefix: exactly ${len}
 * bytes).  Checks the type/flags/ids layout only; the meaning of the type
 * is the caller's business.  ${f}->payload points into ${body}.
 * Return 0, or -1 with *${err} = SPOP_ERR_INVALID.
 */
int spop_frame_decode(const uint8_t *body, size_t len, struct spop_frame *f,
    enum spop_err *err);

/* ---- KV lists (HELLO, DISCONNECT payloads; NOTIFY args) ------------------ */

/* spop_cursor_init(c, buf, len): point ${c} at [buf, buf + len). */
void spop_cursor_init(struct spop_cursor *c, const uint8_t *buf, size_t len);

/*
 * spop_kv_next(c, name, value):
 * Read one <name:STRING><value:TYPED-DATA> pair and advance ${c}.
 * Return 1, 0 when ${c} is empty, -1 on malformed input (cursor unchanged).
 */
int spop_kv_next(struct spop_cursor *c, struct spop_slice *name,
    struct spop_data *value);

/*
 * spop_hello_decode(payload, len, h, err):
 * Decode a HAPROXY-HELLO payload into ${h}: matches keys exactly (length
 * first), skips unknown keys, requires the mandatory ones with the right
 * types.  Errors: SPOP_ERR_INVALID (malformed, a known key with the wrong
 * type, or a known key given twice), SPOP_ERR_NO_VSN, SPOP_ERR_NO_FRAME_SIZE,
 * SPOP_ERR_NO_CAP, and SPOP_ERR_BAD_FRAME_SIZE for a negative (signed
 * integer) max-frame-size, which HAProxy reads as "too small".  Otherwise
 * version and frame-size acceptability are checked by
 * spop_hello_negotiate().  ${h}->versions, capabilities and engine_id point
 * into ${payload}.
 */
int spop_hello_decode(const uint8_t *payload, size_t len, struct spop_hello *h,
    enum spop_err *err);

/*
 * spop_hello_negotiate(h, our_max, max_frame_size, pipelining, err):
 * Decide the answer to ${h}: "2.0" must be among supported-versions
 * (comma-separated "Major.Minor" tokens, spaces ignored; a token with major
 * 2 means 2.0 is supported; unparsable tokens are ignored), else
 * SPOP_ERR_BAD_VSN; HAProxy's max-frame-size must be >= 256, else
 * SPOP_ERR_BAD_FRAME_SIZE.  *${max_frame_size} = min(HAProxy's, ${our_max})
 * (${our_max} is the caller's configured value, >= 256);
 * *${pipelining} = "pipelining" is one of HAProxy's comma-separated
 * capabilities (exact token, spaces trimmed).  Return 0 or -1 (outputs
 * untouched then).
 */
int spop_hello_negotiate(const struct spop_hello *h, uint32_t our_max,
    uint32_t *max_frame_size, bool *pipelining, enum spop_err *err);

/*
 * spop_disconnect_decode(payload, len, d, err):
 * Decode a DISCONNECT payload (status-code, message; unknown keys skipped).
 * status-code may be any integer type >= 0; message must be a STRING.
 * Return 0, or -1 with *${err} = SPOP_ERR_INVALID (malformed, wrong type,
 * negative status, a key given twice).  Missing keys are not an error: the
 * has_* flags say what was there.  ${d}->message points into ${payload}.
 */
int spop_disconnect_decode(const uint8_t *payload, size_t len,
    struct spop_disconnect *d, enum spop_err *err);

/* ---- NOTIFY --------------------------------------------------------------- */

/*
 * spop_message_next(c, m):
 * Read one <name:STRING><nb-args:1 byte><nb-args KV pairs> from a NOTIFY
 * payload; every argument is validated and ${m}->args spans exactly them,
 * to be walked with spop_kv_next() (which then returns 1 exactly
 * ${m}->nargs times, then 0).  NB-ARGS is unsigned (0..255); arguments may
 * have an empty name.  Return 1, 0 at the end, -1 on error (${c}
 * unchanged).
 */
int spop_message_next(struct spop_cursor *c, struct spop_message *m);

/*
 * spop_message_walk(c, m, fn, arg):
 * spop_message_next() that hands each argument to ${fn} (unless NULL) as
 * it validates it: fn(arg, m, name, value), in order, with ${m}->name and
 * ${m}->nargs set (${m}->args only once it returns 1).  One pass over the
 * message where validating and then walking ${m}->args would take two.
 * On error (-1, ${c} unchanged) ${fn} may have seen the arguments before
 * the bad one: the caller discards what it took from them.  Slices borrow
 * the payload.
 */
typedef void spop_arg_fn(void *arg, const struct spop_message *m,
    const struct spop_slice *name, const struct spop_data *value);
int spop_message_walk(struct spop_cursor *c, struct spop_message *m,
    spop_arg_fn *fn, void *arg);

/* ---- ACK (decoding: tests, load generator) -------------------------------- */

/*
 * spop_action_next(c, a):
 * Read one SET-VAR or UNSET-VAR action from an ACK payload.  Unknown action
 * types, wrong argument counts (SET-VAR 3, UNSET-VAR 2) and scopes above
 * SPOP_SCOPE_RES are errors.  Return 1, 0, -1 (${c} unchanged).
 */
int spop_action_next(struct spop_cursor *c, struct spop_action *a);

/* ---- writer: every frame built whole, then written once ----------------- */

/* spop_w_init(w, buf, cap): start writing into ${buf} of ${cap} bytes. */
void spop_w_init(struct spop_writer *w, uint8_t *buf, size_t cap);

/*
 * spop_w_begin(w, type, flags, stream_id, frame_id):
 * Open a frame: reserve the 4-byte length, write type, flags and ids.
 * Several frames may follow each other in one writer, each closed by
 * spop_w_end() before the next begins; beginning while a frame is open is
 * a caller bug and marks the open frame overflowed.
 */
void spop_w_begin(struct spop_writer *w, uint8_t type, uint32_t flags,
    uint64_t stream_id, uint64_t frame_id);

/*
 * Raw pieces of a payload.  Each piece is written whole or not at all
 * (then ${w}->overflow is set).  spop_w_kv() takes a NUL-terminated name;
 * spop_w_kvn() any ${name_len} bytes (names copied from the wire).
 */
void spop_w_u8(struct spop_writer *w, uint8_t v);
void spop_w_varint(struct spop_writer *w, uint64_t v);
void spop_w_string(struct spop_writer *w, const void *p, size_t len);
void spop_w_data(struct spop_writer *w, const struct spop_data *d);
void spop_w_kv(struct spop_writer *w, const char *name, const struct spop_data *d);
void spop_w_kvn(struct spop_writer *w, const void *name, size_t name_len,
    const struct spop_data *d);

/* NOTIFY payload: a message header, then ${nargs} spop_w_kv() calls. */
void spop_w_message(struct spop_writer *w, const char *name, uint8_t nargs);

/* ACK payload actions.  ${name} is the variable name without scope/prefix. */
void spop_w_set_var(struct spop_writer *w, enum spop_scope scope,
    const char *name, size_t name_len, const struct spop_data *value);
/*
 * spop_w_set_var_str(w, scope, name, name_len, val, val_len):
 * spop_w_set_var() of a STRING value of ${val_len} bytes at ${val}: the
 * same bytes and the same refusal, written in one piece when there is room
 * to spare (an ACK of identity variables: the agent's answer path).
 */
void spop_w_set_var_str(struct spop_writer *w, enum spop_scope scope,
    const char *name, size_t name_len, const void *val, size_t val_len);
void spop_w_unset_var(struct spop_writer *w, enum spop_scope scope,
    const char *name, size_t name_len);

/*
 * spop_w_end(w, max_frame_size):
 * Close the open frame: fill in its length.  Return the whole frame's size
 * including the 4-byte prefix, or -1 if no frame is open (nothing changes),
 * or -1 if the writer overflowed or the body (everything after the prefix)
 * exceeds ${max_frame_size} (the frame is then rolled back: ${w}->len
 * returns to where spop_w_begin() started, overflow is cleared, so the
 * caller may write a smaller frame instead).
 */
ssize_t spop_w_end(struct spop_writer *w, uint32_t max_frame_size);

/* ---- whole frames --------------------------------------------------------- */

/*
 * spop_agent_hello_encode(buf, cap, max_frame_size, capabilities):
 * A complete AGENT-HELLO (prefix included; flags FIN, ids 0/0): version
 * "2.0", max-frame-size as UINT32, capabilities as given ("" or
 * "pipelining"), in that order.  Return its size or -1 if ${cap} is too
 * small.
 */
ssize_t spop_agent_hello_encode(uint8_t *buf, size_t cap,
    uint32_t max_frame_size, const char *capabilities);

/*
 * spop_haproxy_hello_encode(buf, cap, versions, max_frame_size,
 *     capabilities, healthcheck, engine_id):
 * A complete HAPROXY-HELLO, as HAProxy sends it (test clients, benchmarks):
 * supported-versions, max-frame-size (UINT32), capabilities, then
 * healthcheck (BOOL true) only if ${healthcheck}, then engine-id unless
 * ${engine_id} is NULL.  Flags FIN, ids 0/0.  Return its size or -1.
 */
ssize_t spop_haproxy_hello_encode(uint8_t *buf, size_t cap,
    const char *versions, uint32_t max_frame_size, const char *capabilities,
    bool healthcheck, const char *engine_id);

/*
 * spop_disconnect_encode(buf, cap, type, status, message):
 * A complete AGENT-DISCONNECT or HAPROXY-DISCONNECT (${type}) with
 * status-code as UINT32 and message as STRING; flags FIN, ids 0/0.  Keep
 * ${message} short: the frame must fit the peer's max-frame-size (>= 256).
 * Return its size or -1.
 */
ssize_t spop_disconnect_encode(uint8_t *buf, size_t cap, uint8_t type,
    enum spop_err status, const char *message);

/* spop_err_message(err): a short constant text for a status code. */
const char *spop_err_message(enum spop_err err);

#endif /* !SPOE_SPOP_H */
