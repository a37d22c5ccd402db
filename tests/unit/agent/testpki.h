/*
 * testpki.h: a throw-away PKI for the certificate tests.  pki_setup()
 * runs scripts/gen-pki.sh into a fresh temporary directory (nothing
 * generated is committed: keys and certificates are made at test time);
 * pki_teardown() removes it.  Helpers read certificates as DER and ask the
 * openssl CLI for independent answers (fingerprints, serials).
 *
 * Header-only (static inline) so each test program takes what it uses.
 */
#ifndef SPOA_TESTPKI_H
#define SPOA_TESTPKI_H

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "testsupport.h"

#include "cert.h"

static char pki_dir[256];

static inline int
pki_setup(void **state)
{
	char cmd[1024];

	(void)state;
	snprintf(pki_dir, sizeof(pki_dir), "/tmp/spoa-pki-XXXXXX");
	if (mkdtemp(pki_dir) == NULL) {
		perror("mkdtemp");
		return (-1);
	}
	snprintf(cmd, sizeof(cmd), "bash '%s' '%s' >/dev/null 2>&1",
	    ts_source_path("scripts/gen-pki.sh"), pki_dir);
	if (system(cmd) != 0) {
		fprintf(stderr, "gen-pki.sh failed: %s\n", cmd);
		return (-1);
	}
	return (0);
}

static inline int
pki_teardown(void **state)
{
	char cmd[512];

	(void)state;
	if (pki_dir[0] == '\0')
		return (0);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", pki_dir);
	return (system(cmd) == 0 ? 0 : -1);
}

/* "<pki_dir>/<name>" in one of 8 rotating static buffers. */
static inline const char *
pki_path(const char *name)
{
	static char buf[8][512];
	static unsigned next;
	char *p = buf[next++ % 8];

	snprintf(p, 512, "%s/%s", pki_dir, name);
	return (p);
}

/* The generated clients-ca.pem as a CA store; NULL, said on stderr, if it
 * does not load. */
static inline struct ca_store *
pki_client_cas(void)
{
	char err[256];
	struct ca_store *s = ca_store_load(pki_path("clients-ca.pem"), err,
	    sizeof(err));

	if (s == NULL)
		fprintf(stderr, "ca_store_load: %s\n", err);
	return (s);
}

/* The first certificate of PEM file ${name}, as DER (caller frees). */
static inline uint8_t *
pki_der(const char *name, size_t *len)
{
	BIO *b = BIO_new_file(pki_path(name), "r");
	unsigned char *der = NULL;
	uint8_t *out;
	X509 *x;
	int n;

	assert_non_null(b);
	x = PEM_read_bio_X509(b, NULL, NULL, NULL);
	BIO_free(b);
	assert_non_null(x);
	n = i2d_X509(x, &der);
	X509_free(x);
	assert_true(n > 0);
	out = malloc((size_t)n);
	assert_non_null(out);
	memcpy(out, der, (size_t)n);
	OPENSSL_free(der);
	*len = (size_t)n;
	return (out);
}

/* A whole file of the PKI (caller frees). */
static inline uint8_t *
pki_file(const char *name, size_t *len)
{
	char *p = ts_read_file(pki_path(name), len);

	assert_non_null(p);
	return ((uint8_t *)p);
}

/* Run a shell command in the PKI directory; its stdout, trimmed (caller
 * frees). */
static inline char *pki_sh(const char *fmt, ...)
	__attribute__((format(printf, 1, 2)));
static inline char *
pki_sh(const char *fmt, ...)
{
	char cmd[2048], *out;
	size_t n = 0, cap = 4096;
	va_list ap;
	FILE *f;
	int r;

	r = snprintf(cmd, sizeof(cmd), "cd '%s' && ", pki_dir);
	va_start(ap, fmt);
	vsnprintf(cmd + r, sizeof(cmd) - (size_t)r, fmt, ap);
	va_end(ap);
	f = popen(cmd, "r");
	assert_non_null(f);
	out = malloc(cap);
	assert_non_null(out);
	n = fread(out, 1, cap - 1, f);
	out[n] = '\0';
	assert_int_equal(pclose(f), 0);
	while (n > 0 && (out[n - 1] == '\n' || out[n - 1] == '\r' ||
	    out[n - 1] == ' '))
		out[--n] = '\0';
	return (out);
}

/* Hex digits (':' and spaces skipped) to bytes; return the count. */
static inline size_t
pki_unhex(const char *s, uint8_t *out, size_t cap)
{
	size_t n = 0;
	int hi = -1;

	for (; *s != '\0'; s++) {
		int v;

		if (*s >= '0' && *s <= '9')
			v = *s - '0';
		else if (*s >= 'a' && *s <= 'f')
			v = *s - 'a' + 10;
		else if (*s >= 'A' && *s <= 'F')
			v = *s - 'A' + 10;
		else
			continue;
		if (hi < 0) {
			hi = v;
			continue;
		}
		assert_true(n < cap);
		out[n++] = (uint8_t)(hi << 4 | v);
		hi = -1;
	}
	return (n);
}

/* openssl x509 -fingerprint -<alg> of certificate file ${name}, raw. */
static inline size_t
pki_fingerprint(const char *name, const char *alg, uint8_t *out, size_t cap)
{
	char *s = pki_sh("openssl x509 -in '%s' -noout -fingerprint -%s",
	    name, alg);
	char *eq = strchr(s, '=');
	size_t n;

	assert_non_null(eq);
	n = pki_unhex(eq + 1, out, cap);
	free(s);
	return (n);
}

/* The same, as text "AB:CD:..." as openssl prints it (caller frees). */
static inline char *
pki_fingerprint_text(const char *name, const char *alg)
{
	char *s = pki_sh("openssl x509 -in '%s' -noout -fingerprint -%s",
	    name, alg);
	char *eq = strchr(s, '='), *r;

	assert_non_null(eq);
	r = strdup(eq + 1);
	free(s);
	return (r);
}

#endif /* !SPOA_TESTPKI_H */
