/*
 * fuzz_url.c: URL helpers on arbitrary strings.  Invariants: after
 * url_add_param() the parameter is present, appended once (or the URL is
 * unchanged when it had it already), and a URL that url_check() accepts
 * still passes it with the parameter added; url_check() without http is
 * stricter than with it; url_redact() output is bounded and printable;
 * url_encode() output is made of unreserved characters and %XX only.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "url.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s, *r, red[128], enc[512];
	ssize_t n;

	if (size > 8192)
		return (0);
	s = malloc(size + 1);
	if (s == NULL)
		return (0);
	memcpy(s, data, size);
	s[size] = '\0';
	r = url_add_param(s, "appid", "v a");
	if (r != NULL) {
		if (!url_has_param(r, "appid") || strlen(r) > URL_MAX)
			abort();
		if (url_has_param(s, "appid") ? strcmp(r, s) != 0 :
		    strstr(r, "appid=v+a") == NULL)
			abort();
	}
	if (url_check(s, false) == NULL && url_check(s, true) != NULL)
		abort();
	if (url_check(s, true) == NULL && size < URL_MAX - 64 &&
	    (r == NULL || url_check(r, true) != NULL))
		abort();
	free(r);
	url_redact(s, red, sizeof(red));
	if (strlen(red) >= sizeof(red))
		abort();
	for (const char *p = red; *p; p++)
		if ((unsigned char)*p < 0x21 || (unsigned char)*p > 0x7e)
			abort();
	n = url_encode((const char *)data, size, enc, sizeof(enc));
	if (n >= 0) {
		if ((size_t)n != strlen(enc))
			abort();
		for (ssize_t i = 0; i < n; i++)
			if (!(enc[i] == '%' || enc[i] == '-' || enc[i] == '.' ||
			    enc[i] == '_' || enc[i] == '~' ||
			    (enc[i] >= '0' && enc[i] <= '9') ||
			    (enc[i] >= 'A' && enc[i] <= 'Z') ||
			    (enc[i] >= 'a' && enc[i] <= 'z')))
				abort();
	}
	free(s);
	return (0);
}
