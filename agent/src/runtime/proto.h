/*
 * proto.h: the SPOP connection state machine, without I/O.
 *
 * conn.c feeds it the bytes it read and an output buffer; proto decodes whole
 * frames, answers HELLO and DISCONNECT itself, hands each NOTIFY to a
 * callback (which appends the ACK now or later), and turns every protocol
 * error into an AGENT-DISCONNECT with the right status.  Keeping this pure
 * lets unit tests drive every path with plain byte arrays.
 */
#ifndef SPOA_PROTO_H
#define SPOA_PROTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "spoe/spop-t.h"

enum proto_state {
	PROTO_WAIT_HELLO,   /* nothing but HAPROXY-HELLO (or DISCONNECT) is valid */
	PROTO_READY,        /* NOTIFY / DISCONNECT */
	PROTO_CLOSING,      /* final frame queued: flush, then close */
};

/*
 * The NOTIFY callback: ${payload} is borrowed for the duration of the call.
 * It must eventually cause exactly one ACK for (${sid}, ${fid}) to be
 * appended to the connection's output (now, through ${out}, or later).
 * Return SPOP_ERR_NONE, or the status of the DISCONNECT that the problem
 * deserves (SPOP_ERR_INVALID for a malformed payload, SPOP_ERR_RES when out
 * of resources).
 */
typedef enum spop_err proto_notify_fn(void *arg, uint64_t sid, uint64_t fid,
    const uint8_t *payload, size_t len, struct spop_writer *out);

struct proto {
	enum proto_state state;
	uint32_t our_max;          /* our max-frame-size cap */
	uint32_t max_frame_size;   /* negotiated; our_max before HELLO */
	bool hello_seen;           /* a HAPROXY-HELLO frame came */
	bool hello_sent;           /* handshake done: AGENT-HELLO queued */
	bool pipelining;
	bool healthcheck;
	enum spop_err status;      /* what our final DISCONNECT said (if any) */
	bool disconnect_sent;      /* an AGENT-DISCONNECT was queued */
	uint64_t peer_status;      /* HAPROXY-DISCONNECT status, if one came */
	bool peer_disconnected;
	proto_notify_fn *on_notify;
	void *arg;
};

/*
 * proto_init(p, our_max, on_notify, arg): a fresh connection.  ${our_max}
 * is clamped to [SPOP_MIN_FRAME_SIZE, SPOP_MAX_FRAME_SIZE].
 */
void proto_init(struct proto *p, uint32_t our_max, proto_notify_fn *on_notify,
    void *arg);

/*
 * proto_feed(p, buf, len, out):
 * Process every complete frame at the start of ${buf} (${len} bytes).
 * Frames sent in reply are appended to ${out}; the caller guarantees room
 * for at least one frame of proto_out_room() bytes before the call and
 * proto stops early (returning what it consumed) when less than that is
 * left, so the caller can flush and call again.  Return the number of
 * bytes consumed.  When the state becomes PROTO_CLOSING the caller flushes
 * ${out} and closes; nothing more is consumed.
 */
size_t proto_feed(struct proto *p, const uint8_t *buf, size_t len,
    struct spop_writer *out);

/*
 * proto_eof(p, pending, out):
 * The peer closed its side with ${pending} unconsumed bytes.  If that
 * leaves a frame truncated, queue AGENT-DISCONNECT (invalid frame) so a
 * half-closed peer still learns why.  The state becomes PROTO_CLOSING.
 */
void proto_eof(struct proto *p, size_t pending, struct spop_writer *out);

/*
 * proto_disconnect(p, status, message, out):
 * Queue an AGENT-DISCONNECT (draining: status 0; timeouts: SPOP_ERR_TOUT)
 * and enter PROTO_CLOSING.  No-op if already closing.
 */
void proto_disconnect(struct proto *p, enum spop_err status,
    const char *message, struct spop_writer *out);

/*
 * PROTO_SMALL_ROOM: room for the frames that open and end a connection
 * (AGENT-HELLO, 68 bytes; AGENT-DISCONNECT with one of our messages): the
 * smallest max-frame-size a peer may announce, SPOP_MIN_FRAME_SIZE, plus
 * the length prefix.
 */
#define PROTO_SMALL_ROOM ((size_t)SPOP_MIN_FRAME_SIZE + SPOP_FRAME_LEN_SIZE)

/*
 * proto_out_room(p): bytes a caller must have free in ${out} per frame:
 * PROTO_SMALL_ROOM before HELLO and when closing (only AGENT-HELLO or
 * AGENT-DISCONNECT can be sent), the negotiated max-frame-size plus the
 * length prefix when ready.
 */
size_t proto_out_room(const struct proto *p);

#endif /* !SPOA_PROTO_H */
