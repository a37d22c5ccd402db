/*
 * jws.c: see jws.h.
 */
#include <ctype.h>
#include <inttypes.h>
#include <limits.h>
#include <locale.h>
#include <math.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <cjson/cJSON.h>

#include "b64url.h"
#include "claims.h"
#include "config-t.h"
#include "json_strict.h"
#include "jwa.h"
#include "reason.h"
#include "util.h"
#include "jws.h"

/* json_strict reasons, plain and prefixed with the part they were found in. */
static const char *const jws_json_plain[] = {
#define X_PLAIN(id, text) text,
	JSON_STRICT_REASONS(X_PLAIN)
#undef X_PLAIN
};
static const char *const jws_json_header[] = {
#define X_HDR(id, text) "header: " text,
	JSON_STRICT_REASONS(X_HDR)
#undef X_HDR
};
static const char *const jws_json_payload[] = {
#define X_PAY(id, text) "payload: " text,
	JSON_STRICT_REASONS(X_PAY)
#undef X_PAY
};

static const char *
json_detail(const char *why, int in_header)
{
	for (size_t i = 0; i < ARRAY_SIZE(jws_json_plain); i++)
		if (why != NULL && strcmp(why, jws_json_plain[i]) == 0)
			return (in_header ? jws_json_header[i] :
			    jws_json_payload[i]);
	return (in_header ? "header: invalid JSON" : "payload: invalid JSON");
}

/* RFC 7235 token68 characters before the '=' tail (ASCII, any locale).
 * Only jws_bearer() scans with it (inspect); requests take
 * jws_bearer_span() and jws_parse(). */
static const uint8_t token68[256] = {
	['A'] = 1, ['B'] = 1, ['C'] = 1, ['D'] = 1, ['E'] = 1, ['F'] = 1,
	['G'] = 1, ['H'] = 1, ['I'] = 1, ['J'] = 1, ['K'] = 1, ['L'] = 1,
	['M'] = 1, ['N'] = 1, ['O'] = 1, ['P'] = 1, ['Q'] = 1, ['R'] = 1,
	['S'] = 1, ['T'] = 1, ['U'] = 1, ['V'] = 1, ['W'] = 1, ['X'] = 1,
	['Y'] = 1, ['Z'] = 1,
	['a'] = 1, ['b'] = 1, ['c'] = 1, ['d'] = 1, ['e'] = 1, ['f'] = 1,
	['g'] = 1, ['h'] = 1, ['i'] = 1, ['j'] = 1, ['k'] = 1, ['l'] = 1,
	['m'] = 1, ['n'] = 1, ['o'] = 1, ['p'] = 1, ['q'] = 1, ['r'] = 1,
	['s'] = 1, ['t'] = 1, ['u'] = 1, ['v'] = 1, ['w'] = 1, ['x'] = 1,
	['y'] = 1, ['z'] = 1,
	['0'] = 1, ['1'] = 1, ['2'] = 1, ['3'] = 1, ['4'] = 1, ['5'] = 1,
	['6'] = 1, ['7'] = 1, ['8'] = 1, ['9'] = 1,
	['-'] = 1, ['.'] = 1, ['_'] = 1, ['~'] = 1, ['+'] = 1, ['/'] = 1,
};

/* The end of the run of token68 characters starting at ${p}. */
static const char *
token68_span(const char *p, const char *end)
{
	while (p < end && token68[(unsigned char)*p])
		p++;
	return (p);
}

/*
 * The scheme part of jws_bearer(): return 0 and set *${rest} to the first
 * byte after "Bearer" and its spaces, or a JWS_BEARER_* answer.
 */
static int
bearer_scheme(const char *authz, size_t len, const char **rest)
{
	const char *p, *end;

	if (authz == NULL || len == 0)
		return (JWS_BEARER_NONE);
	p = authz;
	end = authz + len;
	while (p < end && (*p == ' ' || *p == '\t'))
		p++;
	if ((size_t)(end - p) < 6 || strncasecmp(p, "Bearer", 6) != 0)
		return (JWS_BEARER_NONE);
	p += 6;
	if (p == end) {
		/* "Bearer" and nothing else. */
		return (JWS_BEARER_MALFORMED);
	}
	if (*p != ' ') {
		/* "Bearerx ...": another scheme; "Bearer\t...": malformed. */
		return (*p == '\t' ? JWS_BEARER_MALFORMED : JWS_BEARER_NONE);
	}
	while (p < end && *p == ' ')
		p++;
	*rest = p;
	return (0);
}

int
jws_bearer(const char *authz, size_t len, const char **tok, size_t *tok_len)
{
	const char *p, *end = authz + len, *t;
	int r;

	if ((r = bearer_scheme(authz, len, &p)) != 0)
		return (r);
	t = p;
	p = token68_span(p, end);
	if (p == t)
		return (JWS_BEARER_MALFORMED);
	while (p < end && *p == '=')
		p++;
	*tok_len = (size_t)(p - t);
	while (p < end && (*p == ' ' || *p == '\t'))
		p++;
	if (p != end)
		return (JWS_BEARER_MALFORMED);
	*tok = t;
	return (0);
}

int
jws_bearer_span(const char *authz, size_t len, const char **tok,
    size_t *tok_len)
{
	const char *p, *end = authz + len;
	int r;

	if ((r = bearer_scheme(authz, len, &p)) != 0)
		return (r);
	while (end > p && (end[-1] == ' ' || end[-1] == '\t'))
		end--;
	if (end == p)
		return (JWS_BEARER_MALFORMED);
	*tok = p;
	*tok_len = (size_t)(end - p);
	return (0);
}

void
jws_release(struct jws *j)
{
	if (j == NULL)
		return;
	jws_tree_free(j->header);
	jws_tree_free(j->payload);
	free(j->sig);
	memset(j, 0, sizeof(*j));
}

/* The member ${name} of object ${obj}, matched case-sensitively. */
static const cJSON *
member(const cJSON *obj, const char *name)
{
	return (cJSON_GetObjectItemCaseSensitive(obj, name));
}

/* ---- strict JSON into a tree, one pass, one allocation ----------------- */

/*
 * Every token that misses the cache has its header and payload parsed, so
 * they are not handed to cJSON_Parse (a malloc per node and per string)
 * nor read twice (validate, then build): tree_parse() below checks every
 * rule of json_strict_check() and builds the tree in the same pass.  The
 * byte-level rules (strings: UTF-8, escapes, surrogates, \u0000, control
 * characters; the number grammar) are json_strict's own functions; the
 * structure (whitespace, depth and member caps, trailing commas, duplicate
 * keys after unescaping, data after the value) is checked here in the order
 * json_strict_check() checks it, so both give the same reason for the same
 * input (fuzz_jws cross-checks the two).
 *
 * The result is made of cJSON nodes (the rest of the code reads it with the
 * cJSON API, unchanged), the root first, then the unescaped strings, all in
 * one malloc'd block that a single free() releases (jws_tree_free(); never
 * cJSON_Delete).  It is the tree cJSON_Parse would give, field for field
 * (numbers through strtod like cJSON's); tests/unit/agent/test_jws.c and
 * fuzz_jws compare the two.
 *
 * Sizing the block before parsing: strings need at most ${len} bytes (an
 * unescaped string and its NUL fit in its quoted text).  Nodes are guessed
 * (len / 8 + 4: a token's values are rarely denser than that); a document
 * with more values is parsed again with room for every value it can start
 * ((len + 1 + depth) / 2, see tb_nodes_max()), so a dense input costs two
 * passes, never unbounded memory.  A tree that used much less than its
 * guess is moved to a block of its exact size (tb_compact()) if it is a
 * payload: payload trees live on in the verified-token cache, headers are
 * released with the struct jws.
 */

enum {
#define X_IDX(id, text) TB_##id,
	JSON_STRICT_REASONS(X_IDX)
#undef X_IDX
};

/* An open object or array. */
struct tb_frame {
	cJSON *node;
	unsigned members;
	uint64_t keys[2];	/* object: a 128-bit filter of its key hashes */
};

static int
tb_is_ws(uint8_t c)
{
	return (c == ' ' || c == '\t' || c == '\n' || c == '\r');
}

/*
 * The most nodes a parse of ${len} bytes can start (valid or not): every
 * value takes a byte, each but the first a separator too, and a container
 * its closing byte, except those still open (fewer than ${max_depth}).  So
 * ${len} >= 2 * n - 1 - open.
 */
static size_t
tb_nodes_max(size_t len, unsigned max_depth)
{
	return ((len + 1 + max_depth) / 2 + 1);
}

/* A hash of the unescaped key ${k} of ${n} bytes, for the key filter. */
static uint64_t
tb_key_hash(const char *k, size_t n)
{
	uint32_t a = 0, b = 0;

	if (n >= 4) {
		memcpy(&a, k, 4);
		memcpy(&b, k + n - 4, 4);
	} else if (n > 0) {
		a = (uint32_t)(uint8_t)k[0] | (uint32_t)(uint8_t)k[n / 2] << 8 |
		    (uint32_t)(uint8_t)k[n - 1] << 16;
	}
	return ((((uint64_t)a << 32 | b) ^ n) * UINT64_C(0x9e3779b97f4a7c15));
}

/*
 * Whether the object of frame ${f} already has the key ${k} (${n} bytes,
 * NUL-terminated, no NUL inside).  Each key sets two of the 128 bits of
 * the object's filter; a key that finds both of its bits clear is new (the
 * answer for most keys, in a few instructions), otherwise the earlier keys
 * are compared in full.  The filter only saves work: the answer is always
 * the full comparison's.
 */
static bool
tb_key_dup(struct tb_frame *f, const char *k, size_t n)
{
	uint64_t h = tb_key_hash(k, n);
	unsigned b1 = (unsigned)(h >> 57), b2 = (unsigned)(h >> 50) & 127;
	uint64_t m1 = UINT64_C(1) << (b1 % 64), m2 = UINT64_C(1) << (b2 % 64);
	bool seen = (f->keys[b1 / 64] & m1) != 0 && (f->keys[b2 / 64] & m2) != 0;
	const cJSON *c;

	f->keys[b1 / 64] |= m1;
	f->keys[b2 / 64] |= m2;
	if (!seen)
		return (false);
	for (c = f->node->child; c != NULL; c = c->next)
		if (c->string[0] == k[0] && strcmp(c->string, k) == 0)
			return (true);
	return (false);
}

/*
 * The number ${p} .. ${q} (json_strict_number() passed it) into ${node}, as
 * cJSON reads it: cJSON's lexer takes the run of [0-9+-.eE] and strtod's
 * it, and in an accepted document that run is exactly the number.
 */
static int
tb_number(const uint8_t *p, const uint8_t *q, cJSON *node)
{
	char tmp[64], *num, *e, dp;
	bool integral = true, ok;
	size_t n = (size_t)(q - p);
	double v;

	for (const uint8_t *d = p; d < q; d++)
		if (*d == '.' || *d == 'e' || *d == 'E')
			integral = false;
	if (integral && n <= 16) {
		/* Up to 15 digits (and a sign): exact in a double. */
		const uint8_t *d = p + (*p == '-');
		uint64_t u = 0;

		if (q - d > 15)
			goto slow;
		for (; d < q; d++)
			u = u * 10 + (uint64_t)(*d - '0');
		v = (*p == '-') ? -(double)u : (double)u;
	} else {
slow:
		/* strtod wants a NUL and follows the locale's decimal point. */
		num = n < sizeof(tmp) ? tmp : malloc(n + 1);
		if (num == NULL)
			return (-1);
		memcpy(num, p, n);
		num[n] = '\0';
		dp = localeconv()->decimal_point[0];
		if (dp != '.' && dp != '\0')
			for (size_t i = 0; i < n; i++)
				if (num[i] == '.')
					num[i] = dp;
		v = strtod(num, &e);
		ok = (e == num + n);
		if (num != tmp)
			free(num);
		if (!ok)
			return (-1);
	}
	node->type = cJSON_Number;
	node->valuedouble = v;
	if (v >= INT_MAX)
		node->valueint = INT_MAX;
	else if (v <= (double)INT_MIN)
		node->valueint = INT_MIN;
	else
		node->valueint = (int)v;
	return (0);
}

static void
tb_attach(cJSON *parent, cJSON *node)
{
	cJSON *head = parent->child;

	if (head == NULL) {
		parent->child = node;
		node->prev = node;
		return;
	}
	/* cJSON keeps the last child in the first child's prev. */
	head->prev->next = node;
	node->prev = head->prev;
	head->prev = node;
}

/*
 * A payload tree stays in the verified-token cache as long as its entry,
 * so a block whose node guess was generous is moved to one of the exact
 * size (nodes ${used} of ${cap}, strings up to ${str_end}): a copy and a
 * walk over the nodes, much cheaper than a second pass over the text.
 * Pointer differences are taken in the old block, which is still live.
 * If the smaller block cannot be had, the larger one is kept.
 */
static cJSON *
tb_compact(cJSON *nodes, size_t used, size_t cap, const char *str_end)
{
	const char *s0 = (const char *)(nodes + cap);
	size_t sl = (size_t)(str_end - s0);
	cJSON *nn;
	char *ns;

	if ((cap - used) * sizeof(*nodes) < 1024 ||
	    (nn = malloc(used * sizeof(*nn) + sl)) == NULL)
		return (nodes);
	ns = (char *)(nn + used);
	memcpy(nn, nodes, used * sizeof(*nn));
	memcpy(ns, s0, sl);
	for (size_t i = 0; i < used; i++) {
		cJSON *x = &nn[i];

		if (x->next != NULL)
			x->next = nn + (x->next - nodes);
		if (x->prev != NULL)
			x->prev = nn + (x->prev - nodes);
		if (x->child != NULL)
			x->child = nn + (x->child - nodes);
		if (x->string != NULL)
			x->string = ns + (x->string - s0);
		if (x->valuestring != NULL)
			x->valuestring = ns + (x->valuestring - s0);
	}
	free(nodes);
	return (nn);
}

#define TB_FAIL(id)	do { err = TB_##id; goto fail; } while (0)

/*
 * Check and build the ${len} bytes at ${buf} with room for ${cap} nodes,
 * under the rules of json_strict_check() with ${max_depth},
 * ${max_members} and require_object.  Return the root, or NULL with
 * *${why} set to a JSON_STRICT_REASONS text; *${short_of_nodes} tells the
 * caller that ${cap} nodes were not enough (why is then "out of memory").
 * With ${compact}, a generous block is moved to one of the exact size.
 */
static cJSON *
tree_parse(const uint8_t *buf, size_t len, unsigned max_depth,
    unsigned max_members, size_t cap, bool compact, const char **why,
    bool *short_of_nodes)
{
	struct tb_frame st[JSON_STRICT_DEPTH_MAX], *f = NULL;
	const uint8_t *p = buf, *end = buf + len, *q;
	cJSON *nodes = NULL, *node;
	char *str, *key = NULL;
	const char *sub = NULL;
	unsigned depth = 0;
	size_t used = 0, n;
	int err = TB_UNEXPECTED;

	*short_of_nodes = false;
	if (max_depth > JSON_STRICT_DEPTH_MAX)
		max_depth = JSON_STRICT_DEPTH_MAX;
	if (len == 0)
		TB_FAIL(EMPTY);
	if (cap == 0 || cap > (SIZE_MAX - len) / sizeof(*nodes))
		TB_FAIL(NOMEM);
	if ((nodes = malloc(cap * sizeof(*nodes) + len)) == NULL)
		TB_FAIL(NOMEM);
	str = (char *)(nodes + cap);

	if (len >= 3 && p[0] == 0xef && p[1] == 0xbb && p[2] == 0xbf)
		TB_FAIL(BOM);
	while (p < end && tb_is_ws(*p))
		p++;
	if (p >= end)
		TB_FAIL(EMPTY);
	if (*p != '{')
		TB_FAIL(NOT_OBJECT);

value:
	/* p is at a value's first byte (whitespace skipped) or the end. */
	if (p >= end)
		TB_FAIL(UNEXPECTED);
	if (used == cap) {
		*short_of_nodes = true;
		TB_FAIL(NOMEM);
	}
	node = &nodes[used++];
	memset(node, 0, sizeof(*node));
	node->string = key;
	key = NULL;
	if (f != NULL)
		tb_attach(f->node, node);
	switch (*p) {
	case '{':
	case '[':
		if (depth >= max_depth)
			TB_FAIL(TOO_DEEP);
		node->type = (*p == '{') ? cJSON_Object : cJSON_Array;
		f = &st[depth++];
		f->node = node;
		f->members = 0;
		f->keys[0] = f->keys[1] = 0;
		p++;
		while (p < end && tb_is_ws(*p))
			p++;
		if (p < end && *p == (node->type == cJSON_Object ? '}' : ']')) {
			p++;
			depth--;
			goto next;
		}
		goto member;
	case '"':
		node->type = cJSON_String;
		q = (const uint8_t *)json_strict_string((const char *)p,
		    (const char *)end, str, &n, &sub);
		if (q == NULL)
			goto fail_sub;
		node->valuestring = str;
		str += n + 1;
		p = q;
		break;
	case '-': case '0': case '1': case '2': case '3': case '4':
	case '5': case '6': case '7': case '8': case '9':
		q = (const uint8_t *)json_strict_number((const char *)p,
		    (const char *)end, &sub);
		if (q == NULL)
			goto fail_sub;
		if (tb_number(p, q, node) != 0)
			TB_FAIL(NOMEM);	/* strtod's copy of a long number */
		p = q;
		break;
	case 't':
		if ((size_t)(end - p) < 4 || memcmp(p, "true", 4) != 0)
			TB_FAIL(LITERAL);
		node->type = cJSON_True;
		node->valueint = 1;
		p += 4;
		break;
	case 'f':
		if ((size_t)(end - p) < 5 || memcmp(p, "false", 5) != 0)
			TB_FAIL(LITERAL);
		node->type = cJSON_False;
		p += 5;
		break;
	case 'n':
		if ((size_t)(end - p) < 4 || memcmp(p, "null", 4) != 0)
			TB_FAIL(LITERAL);
		node->type = cJSON_NULL;
		p += 4;
		break;
	default:
		TB_FAIL(UNEXPECTED);
	}

next:
	/* After a complete value. */
	while (p < end && tb_is_ws(*p))
		p++;
	if (depth == 0) {
		if (p != end)
			TB_FAIL(TRAILING);
		return (compact ? tb_compact(nodes, used, cap, str) : nodes);
	}
	f = &st[depth - 1];
	if (p >= end)
		TB_FAIL(UNEXPECTED);
	if (*p == ',') {
		p++;
		while (p < end && tb_is_ws(*p))
			p++;
		if (p < end && (*p == '}' || *p == ']'))
			TB_FAIL(TRAILING_COMMA);
		goto member;
	}
	if (*p == (f->node->type == cJSON_Object ? '}' : ']')) {
		p++;
		depth--;
		goto next;
	}
	TB_FAIL(UNEXPECTED);

member:
	/* After '{', '[' or ',' and whitespace, in the container of ${f}. */
	if (f->node->type != cJSON_Object) {
		if (++f->members > max_members)
			TB_FAIL(TOO_MANY);
		goto value;
	}
	if (p >= end || *p != '"')
		TB_FAIL(KEY_EXPECTED);
	if (++f->members > max_members)
		TB_FAIL(TOO_MANY);
	q = (const uint8_t *)json_strict_string((const char *)p,
	    (const char *)end, str, &n, &sub);
	if (q == NULL)
		goto fail_sub;
	if (tb_key_dup(f, str, n))
		TB_FAIL(DUP_KEY);
	key = str;
	str += n + 1;
	p = q;
	while (p < end && tb_is_ws(*p))
		p++;
	if (p >= end || *p != ':')
		TB_FAIL(COLON);
	p++;
	while (p < end && tb_is_ws(*p))
		p++;
	goto value;

fail_sub:
	free(nodes);
	*why = sub;
	return (NULL);
fail:
	free(nodes);
	*why = jws_json_plain[err];
	return (NULL);
}

#undef TB_FAIL

void
jws_tree_free(struct cJSON *tree)
{
	free(tree);
}

/*
 * Decode segment ${seg}/${seglen} into ${buf} (${cap} bytes), then check
 * and parse it in one pass.  Return the tree or NULL with *${detail} set.
 */
static cJSON *
decode_json_part(const char *seg, size_t seglen, uint8_t *buf, size_t cap,
    unsigned max_depth, unsigned max_members, int in_header,
    const char **detail)
{
	const char *why = NULL;
	bool short_of_nodes;
	ssize_t n;
	cJSON *tree;

	n = b64url_decode(seg, seglen, buf, cap);
	if (n < 0) {
		*detail = in_header ? "header: invalid base64url" :
		    "payload: invalid base64url";
		return (NULL);
	}
	/* The payload is kept (token cache): its tree is made compact. */
	tree = tree_parse(buf, (size_t)n, max_depth, max_members,
	    (size_t)n / 8 + 4, !in_header, &why, &short_of_nodes);
	if (tree == NULL && short_of_nodes)
		tree = tree_parse(buf, (size_t)n, max_depth, max_members,
		    tb_nodes_max((size_t)n, max_depth), !in_header, &why,
		    &short_of_nodes);
	if (tree == NULL) {
		*detail = json_detail(why, in_header);
		return (NULL);
	}
	return (tree);
}

/* Header rules once "alg" is known good; see jws.h. */
static int
check_header(struct jws *out, const char **detail)
{
	const cJSON *h = out->header, *it;

	if (member(h, "crit") != NULL) {
		*detail = "crit header is not supported";
		return (-1);
	}
	if (member(h, "b64") != NULL) {
		*detail = "b64 header is not supported";
		return (-1);
	}
	if (member(h, "enc") != NULL) {
		*detail = "enc header: JWE is not supported";
		return (-1);
	}
	if (member(h, "zip") != NULL) {
		*detail = "zip header is not supported";
		return (-1);
	}
	if ((it = member(h, "kid")) != NULL) {
		if (!cJSON_IsString(it) || it->valuestring == NULL) {
			*detail = "kid is not a string";
			return (-1);
		}
		out->kid = it->valuestring;
		out->kid_len = strlen(it->valuestring);
		if (out->kid_len == 0 || out->kid_len > JWS_KID_MAX) {
			*detail = "kid length out of range";
			return (-1);
		}
	}
	if ((it = member(h, "typ")) != NULL) {
		if (!cJSON_IsString(it) || it->valuestring == NULL) {
			*detail = "typ is not a string";
			return (-1);
		}
		out->typ = it->valuestring;
		out->typ_len = strlen(it->valuestring);
	}
	return (0);
}

int
jws_parse(const char *tok, size_t len, const struct jws_limits *lim,
    struct jws *out, enum reason *reason, const char **detail)
{
	static const struct jws_limits deflim = JWS_LIMITS_DEFAULT;
	const char *dots[2] = { NULL, NULL }, *dummy, *sseg;
	size_t ndots = 0, hlen, plen, slen, cap;
	uint8_t *buf = NULL;
	const cJSON *alg;
	ssize_t n;
	int a;

	if (detail == NULL)
		detail = &dummy;
	memset(out, 0, sizeof(*out));
	*reason = REASON_TOKEN_MALFORMED;
	if (lim == NULL)
		lim = &deflim;

	if (len == 0) {
		*detail = "empty token";
		goto fail;
	}
	if (len > lim->max_token) {
		*detail = "token too long";
		goto fail;
	}
	if (tok[0] == '{') {
		*detail = "JWS JSON serialization is not supported";
		goto fail;
	}
	/* memchr: this runs over every token that is not in the cache. */
	for (const char *q = tok, *end = tok + len, *dot;
	    q < end && (dot = memchr(q, '.', (size_t)(end - q))) != NULL;
	    q = dot + 1) {
		if (ndots < 2)
			dots[ndots] = dot;
		ndots++;
	}
	if (ndots == 4) {
		*detail = "five segments: JWE is not supported";
		goto fail;
	}
	if (ndots != 2) {
		*detail = "token does not have three segments";
		goto fail;
	}
	hlen = (size_t)(dots[0] - tok);
	plen = (size_t)(dots[1] - dots[0] - 1);
	sseg = dots[1] + 1;
	slen = (size_t)(tok + len - sseg);
	if (hlen == 0) {
		*detail = "header segment is empty";
		goto fail;
	}
	if (plen == 0 && !lim->payload_opaque) {
		*detail = "payload segment is empty";
		goto fail;
	}

	cap = b64url_decoded_len(hlen > plen ? hlen : plen);
	if ((buf = malloc(cap + 1)) == NULL) {
		*detail = "out of memory";
		goto fail;
	}

	/* Header first: alg decides before anything else is looked at. */
	out->header = decode_json_part(tok, hlen, buf, cap,
	    lim->header_max_depth, lim->header_max_members, 1, detail);
	if (out->header == NULL)
		goto fail;
	alg = member(out->header, "alg");
	if (alg == NULL) {
		*detail = "alg missing";
		goto fail;
	}
	if (!cJSON_IsString(alg) || alg->valuestring == NULL) {
		*detail = "alg is not a string";
		goto fail;
	}
	a = jwa_parse(alg->valuestring, strlen(alg->valuestring));
	if (a < 0) {
		*reason = REASON_TOKEN_UNSUPPORTED_ALG;
		*detail = strcasecmp(alg->valuestring, "none") == 0 ?
		    "alg none is never accepted" : "alg not supported";
		goto fail;
	}
	out->alg = (enum jws_alg)a;
	if (check_header(out, detail) != 0)
		goto fail;

	/* Signature: present and canonical; its length is the verifier's. */
	if (slen == 0) {
		*detail = "signature segment is empty";
		goto fail;
	}
	if ((out->sig = malloc(b64url_decoded_len(slen) + 1)) == NULL) {
		*detail = "out of memory";
		goto fail;
	}
	n = b64url_decode(sseg, slen, out->sig, b64url_decoded_len(slen));
	if (n <= 0) {
		*detail = "signature: invalid base64url";
		goto fail;
	}
	out->sig_len = (size_t)n;

	if (lim->payload_opaque) {
		/* Octets, not JSON (tests of the JWS layer only, see jws.h). */
		if (b64url_decode(dots[0] + 1, plen, buf, cap) < 0) {
			*detail = "payload: invalid base64url";
			goto fail;
		}
	} else {
		out->payload = decode_json_part(dots[0] + 1, plen, buf, cap,
		    lim->payload_max_depth, lim->payload_max_members, 0,
		    detail);
		if (out->payload == NULL)
			goto fail;
	}

	out->signing_input = tok;
	out->signing_input_len = (size_t)(dots[1] - tok);
	*reason = REASON_OK;
	*detail = NULL;
	free(buf);
	return (0);

fail:
	free(buf);
	jws_release(out);
	return (-1);
}

/* Compare typ values ignoring case and an "application/" prefix. */
static bool
typ_equal(const char *a, size_t alen, const char *b, size_t blen)
{
	static const char app[] = "application/";
	size_t applen = sizeof(app) - 1;

	if (alen > applen && strncasecmp(a, app, applen) == 0) {
		a += applen;
		alen -= applen;
	}
	if (blen > applen && strncasecmp(b, app, applen) == 0) {
		b += applen;
		blen -= applen;
	}
	return (alen == blen && strncasecmp(a, b, alen) == 0);
}

bool
jws_typ_allowed(const struct jws *j, const struct strlist *allowed)
{
	if (allowed == NULL || allowed->n == 0)
		return (true);
	if (j->typ == NULL)
		return (false);
	for (size_t i = 0; i < allowed->n; i++)
		if (typ_equal(j->typ, j->typ_len, allowed->v[i],
		    strlen(allowed->v[i])))
			return (true);
	return (false);
}
