/*
 * handler.h: the part of the request path that other modules configure.
 */
#ifndef SPOA_HANDLER_H
#define SPOA_HANDLER_H

#include <stddef.h>

/*
 * A refetch request: the issuer named ${issuer} (its config name; indexes
 * differ between snapshots) saw the unknown kid ${kid} (${kid_len} bytes).
 * Both are borrowed for the call only.  Called on a worker thread when a
 * request parks on a kid that no other parked request of that worker
 * waits for (not once per parked request, and not again when a new
 * snapshot leaves requests parked); must not block.
 */
typedef void handler_refetch_fn(void *arg, const char *issuer,
    const char *kid, size_t kid_len);

/* handler_set_refetch(fn, arg): install the hook before workers start. */
void handler_set_refetch(handler_refetch_fn *fn, void *arg);

#endif /* !SPOA_HANDLER_H */
