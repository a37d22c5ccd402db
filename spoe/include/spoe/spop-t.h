/*
 * spop-t.h: SPOP v2 wire types, constants and plain structs.
 *
 * Types only (HAProxy's "-t.h" split): this file may include nothing but
 * libc headers and other -t.h files.  Prototypes live in spop.h.  Wire
 * values follow haproxy/doc/SPOE.txt (SPOP "2.0"); see spoe/PROTOCOL.md for
 * the subset we implement and its limits.
 */
#ifndef SPOE_SPOP_T_H
#define SPOE_SPOP_T_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Frame types (1 byte on the wire). */
enum spop_frame_type {
	SPOP_FRM_T_UNSET          = 0,   /* legacy continuation fragment */
	SPOP_FRM_T_HAPROXY_HELLO  = 1,
	SPOP_FRM_T_HAPROXY_DISCON = 2,
	SPOP_FRM_T_HAPROXY_NOTIFY = 3,
	SPOP_FRM_T_AGENT_HELLO    = 101,
	SPOP_FRM_T_AGENT_DISCON   = 102,
	SPOP_FRM_T_AGENT_ACK      = 103,
};

/* Frame flags (32 bits, network order). */
#define SPOP_FRM_FL_FIN   0x00000001u  /* last fragment; we always set it */
#define SPOP_FRM_FL_ABRT  0x00000002u  /* abort a fragmented frame */

/* Typed data: type in the low nibble, flags in the high nibble. */
enum spop_data_type {
	SPOP_DATA_T_NULL   = 0,
	SPOP_DATA_T_BOOL   = 1,
	SPOP_DATA_T_INT32  = 2,
	SPOP_DATA_T_UINT32 = 3,
	SPOP_DATA_T_INT64  = 4,
	SPOP_DATA_T_UINT64 = 5,
	SPOP_DATA_T_IPV4   = 6,
	SPOP_DATA_T_IPV6   = 7,
	SPOP_DATA_T_STR    = 8,
	SPOP_DATA_T_BIN    = 9,
};
#define SPOP_DATA_T_MASK     0x0F
#define SPOP_DATA_FL_MASK    0xF0
#define SPOP_DATA_FL_TRUE    0x10   /* BOOL true is the byte 0x11 */

/*
 * Status codes carried by DISCONNECT frames (and our internal error codes:
 * a decoder that fails says which status the DISCONNECT must carry).
 */
enum spop_err {
	SPOP_ERR_NONE           = 0,   /* normal */
	SPOP_ERR_IO             = 1,
	SPOP_ERR_TOUT           = 2,
	SPOP_ERR_TOO_BIG        = 3,
	SPOP_ERR_INVALID        = 4,
	SPOP_ERR_NO_VSN         = 5,
	SPOP_ERR_NO_FRAME_SIZE  = 6,
	SPOP_ERR_NO_CAP         = 7,
	SPOP_ERR_BAD_VSN        = 8,
	SPOP_ERR_BAD_FRAME_SIZE = 9,
	SPOP_ERR_FRAG_NOT_SUP   = 10,
	SPOP_ERR_INTERLACED     = 11,
	SPOP_ERR_FRAMEID_NOTFND = 12,
	SPOP_ERR_RES            = 13,
	SPOP_ERR_UNKNOWN        = 99,
};

/* Variable scopes for SET-VAR / UNSET-VAR. */
enum spop_scope {
	SPOP_SCOPE_PROC = 0,
	SPOP_SCOPE_SESS = 1,
	SPOP_SCOPE_TXN  = 2,
	SPOP_SCOPE_REQ  = 3,
	SPOP_SCOPE_RES  = 4,
};

/* Action types in an ACK. */
enum spop_action_type {
	SPOP_ACT_T_SET_VAR   = 1,
	SPOP_ACT_T_UNSET_VAR = 2,
};

/* Limits. */
#define SPOP_MIN_FRAME_SIZE   256u      /* protocol minimum */
#define SPOP_MAX_FRAME_SIZE   (1u << 24) /* our hard ceiling (16 MiB) */
#define SPOP_VARINT_MAX_LEN   10u       /* a full uint64 */
#define SPOP_FRAME_LEN_SIZE   4u        /* the big-endian length prefix */

/* Decoder return codes (besides a positive byte count). */
#define SPOP_NEED_MORE  (-2)   /* input truncated: more bytes may fix it */
#define SPOP_INVALID    (-1)   /* input can never be valid */

/* A borrowed slice of the input buffer; never NUL-terminated. */
struct spop_slice {
	const uint8_t *ptr;
	size_t len;
};

/* One typed value.  STR/BIN point into the decoded buffer. */
struct spop_data {
	enum spop_data_type type;
	union {
		bool b;                 /* BOOL */
		int64_t s64;            /* INT32, INT64 */
		uint64_t u64;           /* UINT32, UINT64 */
		uint8_t ipv4[4];        /* network order */
		uint8_t ipv6[16];
		struct spop_slice bytes; /* STR, BIN */
	} u;
};

/* A decoded frame header; ${payload} points into the caller's buffer. */
struct spop_frame {
	uint8_t type;           /* enum spop_frame_type, or unknown */
	uint32_t flags;
	uint64_t stream_id;
	uint64_t frame_id;
	struct spop_slice payload;
};

/* What a HAPROXY-HELLO says.  has_* tells which keys were present. */
struct spop_hello {
	bool has_versions, has_max_frame_size, has_capabilities;
	bool healthcheck;
	struct spop_slice versions;      /* "2.0" or "2.0, 1.0", ... */
	uint64_t max_frame_size;
	struct spop_slice capabilities;  /* comma separated */
	struct spop_slice engine_id;     /* empty if absent */
};

/* What a DISCONNECT frame says. */
struct spop_disconnect {
	bool has_status, has_message;
	uint64_t status;
	struct spop_slice message;
};

/* A read cursor over [p, end). */
struct spop_cursor {
	const uint8_t *p;
	const uint8_t *end;
};

/* One message of a NOTIFY: its name and a cursor over its ${nargs} args. */
struct spop_message {
	struct spop_slice name;
	unsigned nargs;
	struct spop_cursor args;
};

/* One action of an ACK (decoding side: tests and the load generator). */
struct spop_action {
	enum spop_action_type type;
	enum spop_scope scope;
	struct spop_slice name;
	struct spop_data value;   /* NULL type for UNSET-VAR */
};

/*
 * A bounded frame writer.  Writes never go past ${cap}; the first write that
 * would is refused and sets ${overflow}, after which every write is a no-op
 * and spop_w_end() fails.  The caller owns ${buf}.
 */
struct spop_writer {
	uint8_t *buf;
	size_t cap;
	size_t len;
	size_t frame_start;   /* offset of the 4-byte length of the open frame */
	bool overflow;
	bool in_frame;        /* between spop_w_begin() and spop_w_end() */
};

#endif /* !SPOE_SPOP_T_H */
