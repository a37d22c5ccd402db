/*
 * answer.h: a verdict as an ACK frame (SET-VAR actions, scope txn; HAProxy
 * adds the "iam" prefix).  Always at least one action (allow), which
 * HAProxy 3.1.x needs (empty ACKs stall there).
 *
 * Lean answers: every SET-VAR is work for HAProxy's thread, so an answer
 * carries what HAProxy's rules need and no more.  A refusal: allow,
 * status, reason, route (if one matched), www_authenticate (if any), and
 * the variables of the verdict (a refused certificate's identity).  An
 * allowed answer: allow, route and the variables of the verdict (the
 * identity, claims_to_vars); status and reason only as the config's
 * "answer" asks (ANSWER_OK_STATUS, ANSWER_OK_REASON).  A variable whose
 * value is empty is never sent (HAProxy would set a header to nothing).
 */
#ifndef SPOA_ANSWER_H
#define SPOA_ANSWER_H

#include <stdint.h>
#include <sys/types.h>

struct verdict;
struct spop_writer;

/*
 * answer_encode(v, opts, sid, fid, w, max_frame_size):
 * Append the ACK for (${sid}, ${fid}) to ${w}, with what ${opts} (ANSWER_*
 * of config-t.h, the config's "answer") adds to the lean answer above:
 * allow, status, reason, route and www_authenticate first (those that
 * are sent), then the other variables of ${v}.  An
 * allowed verdict is sent whole or not at all: if it does not fit in
 * ${max_frame_size}, return -1 (the caller refuses the request with
 * identity_unsendable and encodes that).  A refusal that does not fit is
 * rebuilt with the first five only, then, if need be, with allow, status
 * and reason, which always fit the protocol's 256-byte minimum.  Return
 * the frame size, or -1 (also when the writer has no room).
 */
ssize_t answer_encode(const struct verdict *v, unsigned opts, uint64_t sid,
    uint64_t fid, struct spop_writer *w, uint32_t max_frame_size);

#endif /* !SPOA_ANSWER_H */
