/*
 * answer.h: a verdict as an ACK frame (SET-VAR actions, scope txn; HAProxy
 * adds the "iam" prefix).  Always at least one action (allow), which
 * HAProxy 3.1.x needs (empty ACKs stall there).
 */
#ifndef SPOA_ANSWER_H
#define SPOA_ANSWER_H

#include <stdint.h>
#include <sys/types.h>

struct verdict;
struct spop_writer;

/*
 * answer_encode(v, sid, fid, w, max_frame_size):
 * Append the ACK for (${sid}, ${fid}) to ${w}: allow, status, reason, route
 * and www_authenticate first, then the other variables of ${v}.  An
 * allowed verdict is sent whole or not at all: if it does not fit in
 * ${max_frame_size}, return -1 (the caller refuses the request with
 * identity_unsendable and encodes that).  A refusal that does not fit is
 * rebuilt with the first five only, then, if need be, with allow, status
 * and reason, which always fit the protocol's 256-byte minimum.  Return
 * the frame size, or -1 (also when the writer has no room).
 */
ssize_t answer_encode(const struct verdict *v, uint64_t sid, uint64_t fid,
    struct spop_writer *w, uint32_t max_frame_size);

#endif /* !SPOA_ANSWER_H */
