/*
 * facts.c: see facts.h.
 */
#include <arpa/inet.h>
#include <stddef.h>
#include <string.h>

#include "spoe/spop.h"

#include "facts.h"
#include "util.h"

static void
set_str(struct fslice *s, const struct spop_data *d)
{
	if (d->type == SPOP_DATA_T_STR || d->type == SPOP_DATA_T_BIN) {
		/* An empty buffer is not NULL: keep "present but empty". */
		s->ptr = d->u.bytes.len ? (const char *)d->u.bytes.ptr : "";
		s->len = d->u.bytes.len;
	}
}

void
facts_init(struct facts *f)
{
	memset(f, 0, sizeof(*f));
	f->dpop_count = -1;
}

/* An integer argument of any SPOP integer type, saturated to int64_t. */
static bool
get_int(const struct spop_data *d, int64_t *v)
{
	if (d->type == SPOP_DATA_T_INT32 || d->type == SPOP_DATA_T_INT64)
		*v = d->u.s64;
	else if (d->type == SPOP_DATA_T_UINT32 || d->type == SPOP_DATA_T_UINT64)
		*v = d->u.u64 > INT64_MAX ? INT64_MAX : (int64_t)d->u.u64;
	else
		return (false);
	return (true);
}

void
facts_arg(struct facts *f, const struct spop_slice *name,
    const struct spop_data *d)
{
	const char *n = (const char *)name->ptr;
	size_t l = name->len;
	int64_t v;

	if (MEM_EQ_LIT(n, l, "authz")) {
		set_str(&f->authz, d);
	} else if (MEM_EQ_LIT(n, l, "method")) {
		set_str(&f->method, d);
	} else if (MEM_EQ_LIT(n, l, "host")) {
		set_str(&f->host, d);
	} else if (MEM_EQ_LIT(n, l, "path")) {
		set_str(&f->path, d);
	} else if (MEM_EQ_LIT(n, l, "unique_id")) {
		set_str(&f->unique_id, d);
	} else if (MEM_EQ_LIT(n, l, "dpop")) {
		set_str(&f->dpop, d);
	} else if (MEM_EQ_LIT(n, l, "scheme")) {
		set_str(&f->scheme, d);
	} else if (MEM_EQ_LIT(n, l, "dpop_count")) {
		if (get_int(d, &v))
			f->dpop_count = v < 0 ? 0 : v;
	} else if (MEM_EQ_LIT(n, l, "cert_der")) {
		if (d->type == SPOP_DATA_T_BIN && d->u.bytes.len > 0)
			set_str(&f->cert_der, d);
	} else if (MEM_EQ_LIT(n, l, "src")) {
		if (d->type == SPOP_DATA_T_IPV4) {
			f->src_family = 4;
			memcpy(f->src, d->u.ipv4, 4);
		} else if (d->type == SPOP_DATA_T_IPV6) {
			f->src_family = 6;
			memcpy(f->src, d->u.ipv6, 16);
		}
	} else if (MEM_EQ_LIT(n, l, "cert_verify")) {
		if (get_int(d, &v)) {
			f->has_cert_verify = true;
			f->cert_verify = v;
		}
	}
}

/* The slices of struct facts, for copying. */
static const size_t slice_offsets[] = {
	offsetof(struct facts, authz), offsetof(struct facts, method),
	offsetof(struct facts, host), offsetof(struct facts, path),
	offsetof(struct facts, unique_id), offsetof(struct facts, cert_der),
	offsetof(struct facts, dpop), offsetof(struct facts, scheme),
};

size_t
facts_copy_size(const struct facts *src)
{
	size_t n = 0;

	for (size_t i = 0; i < ARRAY_SIZE(slice_offsets); i++) {
		const struct fslice *s = (const struct fslice *)
		    (const void *)((const char *)src + slice_offsets[i]);
		n += s->len + 1;
	}
	return (n);
}

int
facts_copy(const struct facts *src, struct facts *dst, char *buf, size_t cap)
{
	size_t off = 0;

	if (facts_copy_size(src) > cap)
		return (-1);
	*dst = *src;
	for (size_t i = 0; i < ARRAY_SIZE(slice_offsets); i++) {
		struct fslice *d = (struct fslice *)
		    (void *)((char *)dst + slice_offsets[i]);

		if (d->ptr == NULL)
			continue;
		memcpy(buf + off, d->ptr, d->len);
		buf[off + d->len] = '\0';
		d->ptr = buf + off;
		off += d->len + 1;
	}
	return (0);
}

const char *
facts_src_text(const struct facts *f, char *buf, size_t cap)
{
	if (f->src_family == 4 && inet_ntop(AF_INET, f->src, buf, (socklen_t)cap))
		return (buf);
	if (f->src_family == 6 && inet_ntop(AF_INET6, f->src, buf, (socklen_t)cap))
		return (buf);
	return ("-");
}
