/*
 * facts.h: what HAProxy told us about one request (the check-request
 * message arguments of DESIGN.md §3), as borrowed slices.
 */
#ifndef SPOA_FACTS_H
#define SPOA_FACTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct spop_slice;

struct fslice {
	const char *ptr;   /* NULL when absent */
	size_t len;
};

struct facts {
	struct fslice authz, method, host, path, unique_id;
	struct fslice cert_der;        /* binary DER; ptr NULL without a cert */
	int src_family;                /* 0 (absent), 4 or 6 */
	uint8_t src[16];               /* network order; 4 bytes used for v4 */
	bool has_cert_verify;
	int64_t cert_verify;           /* HAProxy's ssl_c_verify, 0 = ok */
	/* DPoP (RFC 9449): the DPoP header, how many HAProxy saw, and the
	 * scheme ("https" when HAProxy terminated TLS) for its htu. */
	struct fslice dpop, scheme;
	int64_t dpop_count;            /* -1: not sent */
};

/*
 * facts_init(f), facts_arg(f, name, value):
 * Empty facts, then one argument of a check-request message taken into
 * ${f} (a spop_arg_fn's work, see spop_message_walk(): the arguments are
 * read in the one pass that validates the message).  Unknown argument
 * names are ignored; an argument of an unexpected type is treated as
 * absent (NULL is what HAProxy sends when a fetch fails); a repeated one,
 * the last wins.  Slices borrow the frame buffer.
 */
struct spop_slice;
struct spop_data;
void facts_init(struct facts *f);
void facts_arg(struct facts *f, const struct spop_slice *name,
    const struct spop_data *value);

/*
 * facts_copy(src, dst, buf, cap):
 * Deep-copy the slices of ${src} into ${buf} (${cap} bytes) so ${dst}
 * outlives the frame buffer (parked requests).  Return 0, or -1 if ${cap}
 * is too small; facts_copy_size() tells how much is needed.
 */
size_t facts_copy_size(const struct facts *src);
int facts_copy(const struct facts *src, struct facts *dst, char *buf, size_t cap);

/* facts_src_text(f, buf, cap): the source address as text ("-" if absent). */
const char *facts_src_text(const struct facts *f, char *buf, size_t cap);

#endif /* !SPOA_FACTS_H */
