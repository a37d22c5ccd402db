/*
 * frame.c: the frame envelope (haproxy doc/SPOE.txt §3.2):
 *   <LENGTH:4 BE> <TYPE:1> <FLAGS:4 BE> <STREAM-ID:varint> <FRAME-ID:varint>
 *   <PAYLOAD>
 */
#include "spop-int.h"

int
spop_frame_peek(const uint8_t *buf, size_t len, uint32_t *frame_len)
{
	if (len < SPOP_FRAME_LEN_SIZE)
		return (0);
	*frame_len = spop_load_be32(buf);
	return (1);
}

int
spop_frame_decode(const uint8_t *body, size_t len, struct spop_frame *f,
    enum spop_err *err)
{
	const uint8_t *p = body, *end = body + len;
	int r;

	/*
	 * The body is complete (the length prefix said so): running out of
	 * bytes anywhere inside it is a malformed frame, not "need more".
	 */
	if ((size_t)(end - p) < 1 + 4)
		goto invalid;
	f->type = p[0];
	f->flags = spop_load_be32(p + 1);
	p += 1 + 4;
	if ((r = spop_varint_decode(p, (size_t)(end - p), &f->stream_id)) < 0)
		goto invalid;
	p += r;
	if ((r = spop_varint_decode(p, (size_t)(end - p), &f->frame_id)) < 0)
		goto invalid;
	p += r;
	f->payload.ptr = p;
	f->payload.len = (size_t)(end - p);
	return (0);

invalid:
	*err = SPOP_ERR_INVALID;
	return (-1);
}
