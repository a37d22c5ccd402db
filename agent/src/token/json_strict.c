/*
 * json_strict.c: see json_strict.h.
 *
 * One forward pass with an explicit stack (no recursion, so the C stack use
 * does not depend on the input).  Every key of every open object is kept as
 * a small record (raw position, unescaped length, FNV-1a hash of the
 * unescaped bytes); a new key is compared with the earlier keys of its own
 * object, by hash and length first and byte by byte (both unescaped on the
 * fly) only when those agree.  Records of an object are dropped when it
 * closes.
 *
 * json_strict_string() and json_strict_number() export the byte-level rules
 * (the same escape_decode(), UTF-8 check and number grammar) to jws.c,
 * whose token parser checks and builds in one pass; json_strict_utf8_len()
 * is the UTF-8 check itself, which config.c's pre-scan uses too.  json_strict_string() finds
 * the bytes that need attention 8 at a time with word arithmetic
 * (special8()) and copies the plain ones as it goes.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"
#include "json_strict.h"

enum jerr {
#define JS_ENUM(id, text) JERR_##id,
	JSON_STRICT_REASONS(JS_ENUM)
#undef JS_ENUM
	JERR_COUNT
};

static const char *const jerr_text[JERR_COUNT] = {
#define JS_TEXT(id, text) text,
	JSON_STRICT_REASONS(JS_TEXT)
#undef JS_TEXT
};

#define KEYS_ON_STACK	64

struct jkey {
	uint64_t hash;		/* FNV-1a of the unescaped bytes */
	size_t ulen;		/* unescaped length */
	size_t off;		/* first byte after the opening quote */
	size_t rawlen;		/* bytes up to the closing quote */
};

struct jframe {
	size_t key_base;	/* first key record of this object */
	unsigned members;
	int is_obj;
};

struct jctx {
	const uint8_t *buf, *p, *end;
	struct jkey *keys;
	size_t nkeys, capkeys;
	struct jkey stack_keys[KEYS_ON_STACK];
	enum jerr err;
};

/*
 * String bytes that need no attention: printable ASCII but '"' and '\'.
 * Token payloads are mostly that, so string contents are skipped through
 * this table eight bytes at a time.
 */
static const uint8_t plain[256] = {
	[0x20] = 1, [0x21] = 1, [0x23] = 1, [0x24] = 1, [0x25] = 1, [0x26] = 1,
	[0x27] = 1, [0x28] = 1, [0x29] = 1, [0x2a] = 1, [0x2b] = 1, [0x2c] = 1,
	[0x2d] = 1, [0x2e] = 1, [0x2f] = 1, [0x30] = 1, [0x31] = 1, [0x32] = 1,
	[0x33] = 1, [0x34] = 1, [0x35] = 1, [0x36] = 1, [0x37] = 1, [0x38] = 1,
	[0x39] = 1, [0x3a] = 1, [0x3b] = 1, [0x3c] = 1, [0x3d] = 1, [0x3e] = 1,
	[0x3f] = 1, [0x40] = 1, [0x41] = 1, [0x42] = 1, [0x43] = 1, [0x44] = 1,
	[0x45] = 1, [0x46] = 1, [0x47] = 1, [0x48] = 1, [0x49] = 1, [0x4a] = 1,
	[0x4b] = 1, [0x4c] = 1, [0x4d] = 1, [0x4e] = 1, [0x4f] = 1, [0x50] = 1,
	[0x51] = 1, [0x52] = 1, [0x53] = 1, [0x54] = 1, [0x55] = 1, [0x56] = 1,
	[0x57] = 1, [0x58] = 1, [0x59] = 1, [0x5a] = 1, [0x5b] = 1, [0x5d] = 1,
	[0x5e] = 1, [0x5f] = 1, [0x60] = 1, [0x61] = 1, [0x62] = 1, [0x63] = 1,
	[0x64] = 1, [0x65] = 1, [0x66] = 1, [0x67] = 1, [0x68] = 1, [0x69] = 1,
	[0x6a] = 1, [0x6b] = 1, [0x6c] = 1, [0x6d] = 1, [0x6e] = 1, [0x6f] = 1,
	[0x70] = 1, [0x71] = 1, [0x72] = 1, [0x73] = 1, [0x74] = 1, [0x75] = 1,
	[0x76] = 1, [0x77] = 1, [0x78] = 1, [0x79] = 1, [0x7a] = 1, [0x7b] = 1,
	[0x7c] = 1, [0x7d] = 1, [0x7e] = 1, [0x7f] = 1,
};

#define FNV_OFFSET	UINT64_C(0xcbf29ce484222325)
#define FNV_PRIME	UINT64_C(0x100000001b3)

static int
is_ws(uint8_t c)
{
	return (c == ' ' || c == '\t' || c == '\n' || c == '\r');
}

static void
skip_ws(struct jctx *c)
{
	while (c->p < c->end && is_ws(*c->p))
		c->p++;
}

/* Read 4 hex digits at ${p} (caller checked that 4 bytes exist). */
static int
hex4(const uint8_t *p)
{
	int v = 0, d;

	for (int i = 0; i < 4; i++) {
		if ((d = util_hexval(p[i])) < 0)
			return (-1);
		v = v << 4 | d;
	}
	return (v);
}

/* Encode code point ${cp} (valid, not a surrogate) as UTF-8 into ${out}. */
static unsigned
utf8_put(uint32_t cp, uint8_t out[4])
{
	if (cp < 0x80) {
		out[0] = (uint8_t)cp;
		return (1);
	}
	if (cp < 0x800) {
		out[0] = (uint8_t)(0xc0 | cp >> 6);
		out[1] = (uint8_t)(0x80 | (cp & 0x3f));
		return (2);
	}
	if (cp < 0x10000) {
		out[0] = (uint8_t)(0xe0 | cp >> 12);
		out[1] = (uint8_t)(0x80 | ((cp >> 6) & 0x3f));
		out[2] = (uint8_t)(0x80 | (cp & 0x3f));
		return (3);
	}
	out[0] = (uint8_t)(0xf0 | cp >> 18);
	out[1] = (uint8_t)(0x80 | ((cp >> 12) & 0x3f));
	out[2] = (uint8_t)(0x80 | ((cp >> 6) & 0x3f));
	out[3] = (uint8_t)(0x80 | (cp & 0x3f));
	return (4);
}

size_t
json_strict_utf8_len(const uint8_t *p, size_t n)
{
	uint8_t b0, lo = 0x80, hi = 0xbf;
	unsigned need;

	if (n == 0)
		return (0);
	b0 = p[0];
	if (b0 >= 0xc2 && b0 <= 0xdf)
		need = 2;
	else if (b0 >= 0xe0 && b0 <= 0xef)
		need = 3;
	else if (b0 >= 0xf0 && b0 <= 0xf4)
		need = 4;
	else
		return (0);	/* ASCII, continuation byte, C0/C1 overlong, > F4 */
	if (n < need)
		return (0);
	if (b0 == 0xe0)
		lo = 0xa0;	/* overlong */
	else if (b0 == 0xed)
		hi = 0x9f;	/* surrogates D800-DFFF */
	else if (b0 == 0xf0)
		lo = 0x90;	/* overlong */
	else if (b0 == 0xf4)
		hi = 0x8f;	/* above U+10FFFF */
	if (p[1] < lo || p[1] > hi)
		return (0);
	for (unsigned i = 2; i < need; i++)
		if (p[i] < 0x80 || p[i] > 0xbf)
			return (0);
	return (need);
}

/*
 * Check and decode the escape at ${p} (p[0] == '\\', ${end} bounds the
 * input) into the UTF-8 bytes of what it stands for, in ${out}[0 ..
 * *${outlen}).  Return the number of input bytes consumed, or 0 on error
 * with *${err} set.
 */
static size_t
escape_decode(const uint8_t *p, const uint8_t *end, uint8_t out[4],
    unsigned *outlen, enum jerr *err)
{
	int hi, lo;
	uint32_t cp;

	if (end - p < 2) {
		*err = JERR_UNTERMINATED;
		return (0);
	}
	*outlen = 1;
	switch (p[1]) {
	case '"': out[0] = '"'; return (2);
	case '\\': out[0] = '\\'; return (2);
	case '/': out[0] = '/'; return (2);
	case 'b': out[0] = '\b'; return (2);
	case 'f': out[0] = '\f'; return (2);
	case 'n': out[0] = '\n'; return (2);
	case 'r': out[0] = '\r'; return (2);
	case 't': out[0] = '\t'; return (2);
	case 'u':
		break;
	default:
		*err = JERR_ESCAPE;
		return (0);
	}
	if (end - p < 6 || (hi = hex4(p + 2)) < 0) {
		*err = JERR_ESCAPE;
		return (0);
	}
	if (hi == 0) {
		*err = JERR_NUL_ESCAPE;
		return (0);
	}
	if (hi >= 0xdc00 && hi <= 0xdfff) {
		*err = JERR_SURROGATE;
		return (0);
	}
	if (hi < 0xd800 || hi > 0xdbff) {
		*outlen = utf8_put((uint32_t)hi, out);
		return (6);
	}
	/* A high surrogate: "\uDC00".."\uDFFF" must follow at once. */
	if (end - p < 12 || p[6] != '\\' || p[7] != 'u' ||
	    (lo = hex4(p + 8)) < 0xdc00 || lo > 0xdfff) {
		*err = JERR_SURROGATE;
		return (0);
	}
	cp = 0x10000 + (((uint32_t)hi - 0xd800) << 10) + ((uint32_t)lo - 0xdc00);
	*outlen = utf8_put(cp, out);
	return (12);
}

/*
 * Validate the string at c->p (c->p[0] == '"') and move past its closing
 * quote.  Report the raw content span and, when ${k} is not NULL, the hash
 * and length of the unescaped bytes.
 */
static int
parse_string(struct jctx *c, struct jkey *k)
{
	const uint8_t *p = c->p + 1, *end = c->end;
	uint64_t h = FNV_OFFSET;
	size_t ulen = 0;
	uint8_t tmp[4];
	unsigned n;

	for (;;) {
		if (k == NULL) {
			/* A value: nothing to hash, skip plain runs. */
			while ((size_t)(end - p) >= 8 && (plain[p[0]] &
			    plain[p[1]] & plain[p[2]] & plain[p[3]] &
			    plain[p[4]] & plain[p[5]] & plain[p[6]] &
			    plain[p[7]]))
				p += 8;
			while (p < end && plain[*p])
				p++;
		} else {
			/* A key: hash plain bytes as they are. */
			while (p < end && plain[*p]) {
				h = (h ^ *p) * FNV_PRIME;
				ulen++;
				p++;
			}
		}
		if (p >= end) {
			c->err = JERR_UNTERMINATED;
			return (-1);
		}
		uint8_t ch = *p;
		if (ch == '"')
			break;
		if (ch == '\\') {
			size_t used = escape_decode(p, end, tmp, &n, &c->err);
			if (used == 0)
				return (-1);
			p += used;
		} else if (ch < 0x20) {
			c->err = JERR_CONTROL;
			return (-1);
		} else if (ch < 0x80) {
			tmp[0] = ch;
			n = 1;
			p++;
		} else {
			n = json_strict_utf8_len(p, (size_t)(end - p));
			if (n == 0) {
				c->err = JERR_UTF8;
				return (-1);
			}
			memcpy(tmp, p, n);
			p += n;
		}
		if (k != NULL) {
			for (unsigned i = 0; i < n; i++)
				h = (h ^ tmp[i]) * FNV_PRIME;
			ulen += n;
		}
	}
	if (k != NULL) {
		k->hash = h;
		k->ulen = ulen;
		k->off = (size_t)(c->p + 1 - c->buf);
		k->rawlen = (size_t)(p - (c->p + 1));
	}
	c->p = p + 1;
	return (0);
}

/* Iterator over the unescaped bytes of a string validated earlier. */
struct ustr {
	const uint8_t *p, *end;
	uint8_t pend[4];
	unsigned npend, ipend;
};

static int
ustr_next(struct ustr *u)
{
	enum jerr dummy;
	size_t used;

	if (u->ipend < u->npend)
		return (u->pend[u->ipend++]);
	if (u->p >= u->end)
		return (-1);
	if (*u->p != '\\')
		return (*u->p++);
	used = escape_decode(u->p, u->end, u->pend, &u->npend, &dummy);
	if (used == 0)
		return (-2);	/* cannot happen: validated before */
	u->p += used;
	u->ipend = 1;
	return (u->pend[0]);
}

static int
key_equal(const struct jctx *c, const struct jkey *a, const struct jkey *b)
{
	struct ustr ua = { c->buf + a->off, c->buf + a->off + a->rawlen,
	    { 0 }, 0, 0 };
	struct ustr ub = { c->buf + b->off, c->buf + b->off + b->rawlen,
	    { 0 }, 0, 0 };
	int x, y;

	if (a->hash != b->hash || a->ulen != b->ulen)
		return (0);
	do {
		x = ustr_next(&ua);
		y = ustr_next(&ub);
		if (x != y)
			return (0);
	} while (x >= 0);
	return (1);
}

static int
key_push(struct jctx *c, const struct jkey *k)
{
	if (c->nkeys == c->capkeys) {
		size_t ncap = c->capkeys * 2;
		struct jkey *nk;

		if (c->keys == c->stack_keys) {
			if ((nk = malloc(ncap * sizeof(*nk))) == NULL)
				goto nomem;
			memcpy(nk, c->stack_keys, c->nkeys * sizeof(*nk));
		} else if ((nk = realloc(c->keys, ncap * sizeof(*nk))) == NULL) {
			goto nomem;
		}
		c->keys = nk;
		c->capkeys = ncap;
	}
	c->keys[c->nkeys++] = *k;
	return (0);
nomem:
	c->err = JERR_NOMEM;
	return (-1);
}

/*
 * The end of the number at ${p} (RFC 8259 grammar), or NULL with *${err}
 * set.
 */
static const uint8_t *
number_end(const uint8_t *p, const uint8_t *end, enum jerr *err)
{
	if (p < end && *p == '-')
		p++;
	if (p >= end || *p < '0' || *p > '9')
		goto bad;
	if (*p == '0') {
		p++;
		if (p < end && *p >= '0' && *p <= '9') {
			*err = JERR_LEADING_ZERO;
			return (NULL);
		}
	} else {
		while (p < end && *p >= '0' && *p <= '9')
			p++;
	}
	if (p < end && *p == '.') {
		p++;
		if (p >= end || *p < '0' || *p > '9')
			goto bad;
		while (p < end && *p >= '0' && *p <= '9')
			p++;
	}
	if (p < end && (*p == 'e' || *p == 'E')) {
		p++;
		if (p < end && (*p == '+' || *p == '-'))
			p++;
		if (p >= end || *p < '0' || *p > '9')
			goto bad;
		while (p < end && *p >= '0' && *p <= '9')
			p++;
	}
	return (p);
bad:
	*err = JERR_NUMBER;
	return (NULL);
}

static int
parse_number(struct jctx *c)
{
	const uint8_t *q = number_end(c->p, c->end, &c->err);

	if (q == NULL)
		return (-1);
	c->p = q;
	return (0);
}

static int
parse_literal(struct jctx *c)
{
	static const char *const lits[] = { "true", "false", "null" };
	size_t avail = (size_t)(c->end - c->p);

	for (size_t i = 0; i < sizeof(lits) / sizeof(lits[0]); i++) {
		size_t n = strlen(lits[i]);
		if (n <= avail && memcmp(c->p, lits[i], n) == 0) {
			c->p += n;
			return (0);
		}
	}
	c->err = JERR_LITERAL;
	return (-1);
}

/*
 * Parse an object key at c->p (after '{' or ',' and whitespace), check it
 * against the earlier keys of the object ${f}, then the colon.
 */
static int
parse_key(struct jctx *c, struct jframe *f, unsigned max_members)
{
	struct jkey k;

	if (c->p >= c->end || *c->p != '"') {
		c->err = JERR_KEY_EXPECTED;
		return (-1);
	}
	if (++f->members > max_members) {
		c->err = JERR_TOO_MANY;
		return (-1);
	}
	if (parse_string(c, &k) != 0)
		return (-1);
	for (size_t i = f->key_base; i < c->nkeys; i++) {
		if (key_equal(c, &c->keys[i], &k)) {
			c->err = JERR_DUP_KEY;
			return (-1);
		}
	}
	if (key_push(c, &k) != 0)
		return (-1);
	skip_ws(c);
	if (c->p >= c->end || *c->p != ':') {
		c->err = JERR_COLON;
		return (-1);
	}
	c->p++;
	skip_ws(c);
	return (0);
}

static int
validate(struct jctx *c, const struct json_limits *lim)
{
	struct jframe st[JSON_STRICT_DEPTH_MAX];
	unsigned depth = 0, max_depth = lim->max_depth;
	size_t values = 0;
	struct jframe *f;

	if (max_depth > JSON_STRICT_DEPTH_MAX)
		max_depth = JSON_STRICT_DEPTH_MAX;

	if (c->end - c->p >= 3 && c->p[0] == 0xef && c->p[1] == 0xbb &&
	    c->p[2] == 0xbf) {
		c->err = JERR_BOM;
		return (-1);
	}
	skip_ws(c);
	if (c->p >= c->end) {
		c->err = JERR_EMPTY;
		return (-1);
	}
	if (lim->require_object && *c->p != '{') {
		c->err = JERR_NOT_OBJECT;
		return (-1);
	}

value:
	/* c->p is at a value's first byte (whitespace skipped) or the end. */
	if (c->p >= c->end) {
		c->err = JERR_UNEXPECTED;
		return (-1);
	}
	if (lim->max_values != 0 && ++values > lim->max_values) {
		c->err = JERR_TOO_MANY_VALUES;
		return (-1);
	}
	switch (*c->p) {
	case '{':
	case '[':
		if (depth >= max_depth) {
			c->err = JERR_TOO_DEEP;
			return (-1);
		}
		f = &st[depth++];
		f->is_obj = (*c->p == '{');
		f->members = 0;
		f->key_base = c->nkeys;
		c->p++;
		skip_ws(c);
		if (c->p < c->end && *c->p == (f->is_obj ? '}' : ']')) {
			c->p++;
			depth--;
			goto next;
		}
		goto member;
	case '"':
		if (parse_string(c, NULL) != 0)
			return (-1);
		break;
	case '-': case '0': case '1': case '2': case '3': case '4':
	case '5': case '6': case '7': case '8': case '9':
		if (parse_number(c) != 0)
			return (-1);
		break;
	case 't': case 'f': case 'n':
		if (parse_literal(c) != 0)
			return (-1);
		break;
	default:
		c->err = JERR_UNEXPECTED;
		return (-1);
	}

next:
	/* After a complete value. */
	skip_ws(c);
	if (depth == 0) {
		if (c->p != c->end) {
			c->err = JERR_TRAILING;
			return (-1);
		}
		return (0);
	}
	f = &st[depth - 1];
	if (c->p >= c->end) {
		c->err = JERR_UNEXPECTED;
		return (-1);
	}
	if (*c->p == ',') {
		c->p++;
		skip_ws(c);
		if (c->p < c->end && (*c->p == '}' || *c->p == ']')) {
			c->err = JERR_TRAILING_COMMA;
			return (-1);
		}
		goto member;
	}
	if (*c->p == (f->is_obj ? '}' : ']')) {
		c->p++;
		c->nkeys = f->key_base;
		depth--;
		goto next;
	}
	c->err = JERR_UNEXPECTED;
	return (-1);

member:
	/* After '{', '[' or ',' and whitespace, in the container of ${f}. */
	if (f->is_obj) {
		if (parse_key(c, f, lim->max_members) != 0)
			return (-1);
	} else if (++f->members > lim->max_members) {
		c->err = JERR_TOO_MANY;
		return (-1);
	}
	goto value;
}

int
json_strict_check(const char *buf, size_t len, const struct json_limits *lim,
    const char **why)
{
	struct jctx c;
	int rc;

	if (len == 0) {
		/* Also keeps NULL + 0 out of the pointer arithmetic below. */
		if (why != NULL)
			*why = jerr_text[JERR_EMPTY];
		return (-1);
	}
	c.buf = c.p = (const uint8_t *)buf;
	c.end = c.buf + len;
	c.keys = c.stack_keys;
	c.nkeys = 0;
	c.capkeys = KEYS_ON_STACK;
	c.err = JERR_UNEXPECTED;

	rc = validate(&c, lim);
	if (c.keys != c.stack_keys)
		free(c.keys);
	if (rc != 0 && why != NULL)
		*why = jerr_text[c.err];
	return (rc);
}

/*
 * A word of 8 string bytes, first byte in the low bits whatever the host's
 * byte order.
 */
static inline uint64_t
load_le64(const uint8_t *p)
{
	uint64_t w;

	memcpy(&w, p, sizeof(w));
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
	w = __builtin_bswap64(w);
#endif
	return (w);
}

#define ONES	UINT64_C(0x0101010101010101)
#define HIGHS	UINT64_C(0x8080808080808080)

/*
 * The high bit of each byte of ${w} that is not a plain string byte (below
 * 0x20, '"', '\\' or 0x80 and up), exact up to the first such byte: a
 * subtraction only borrows out of a byte that is flagged, so bits above
 * the lowest one may be spurious but the lowest one is right.
 */
static inline uint64_t
special8(uint64_t w)
{
	uint64_t lt = w - 0x20 * ONES;
	uint64_t qt = (w ^ ('"' * ONES)) - ONES;
	uint64_t bs = (w ^ ('\\' * ONES)) - ONES;

	return ((((lt | qt | bs) & ~w) | w) & HIGHS);
}

const char *
json_strict_string(const char *sp, const char *se, char *out, size_t *outlen,
    const char **why)
{
	const uint8_t *p = (const uint8_t *)sp + 1, *end = (const uint8_t *)se;
	uint8_t *o = (uint8_t *)out, tmp[4];
	enum jerr err = JERR_UNTERMINATED;
	uint64_t m;
	unsigned n;
	size_t used;

	/*
	 * ${o} never runs ahead of ${p} - ${sp} - 1: escapes shrink and the
	 * rest is copied as it is, so an 8-byte store at ${o} for 8 bytes
	 * read at ${p} stays within the ${se} - ${sp} bytes of ${out}.
	 */
	for (;;) {
		/* Plain runs: 8 bytes tested and copied at a time. */
		while ((size_t)(end - p) >= 8) {
			memcpy(o, p, 8);
			if ((m = special8(load_le64(p))) != 0) {
				n = (unsigned)__builtin_ctzll(m) / 8;
				p += n;
				o += n;
				goto special;
			}
			p += 8;
			o += 8;
		}
		while (p < end && plain[*p])
			*o++ = *p++;
		if (p >= end)
			goto fail;
special:
		if (*p == '"')
			break;
		if (*p == '\\') {
			if ((used = escape_decode(p, end, tmp, &n, &err)) == 0)
				goto fail;
			memcpy(o, tmp, n);	/* n <= used */
			p += used;
			o += n;
		} else if (*p < 0x20) {
			err = JERR_CONTROL;
			goto fail;
		} else {
			/* 0x80 and up: plain ASCII never stops a run. */
			if ((n = json_strict_utf8_len(p, (size_t)(end - p))) == 0) {
				err = JERR_UTF8;
				goto fail;
			}
			memcpy(o, p, n);
			p += n;
			o += n;
		}
	}
	*o = '\0';
	*outlen = (size_t)(o - (uint8_t *)out);
	return ((const char *)p + 1);
fail:
	if (why != NULL)
		*why = jerr_text[err];
	return (NULL);
}

const char *
json_strict_number(const char *p, const char *end, const char **why)
{
	enum jerr err = JERR_NUMBER;
	const uint8_t *q;

	q = number_end((const uint8_t *)p, (const uint8_t *)end, &err);
	if (q == NULL && why != NULL)
		*why = jerr_text[err];
	return ((const char *)q);
}
