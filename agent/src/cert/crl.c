/*
 * crl.c: see crl.h (crl_files_*: the local CRL files, read once).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "fileio.h"
#include "crl.h"

struct crl_files {
	struct crl_doc *docs;
	size_t n;
};

int
crl_files_read(char *const *paths, size_t n, struct crl_files **out,
    char *err, size_t errlen)
{
	struct crl_files *cf = calloc(1, sizeof(*cf));
	char why[FILEIO_WHY_MAX];

	*out = NULL;
	if (cf == NULL || (n > 0 &&
	    (cf->docs = calloc(n, sizeof(*cf->docs))) == NULL)) {
		free(cf);
		snprintf(err, errlen, "out of memory");
		return (-1);
	}
	for (; cf->n < n; cf->n++) {
		char *buf;
		size_t len;

		if (fileio_read(paths[cf->n], CRL_DOC_MAX, &buf, &len, why,
		    sizeof(why)) != 0) {
			snprintf(err, errlen, "cannot read \"%s\": %s",
			    paths[cf->n], why);
			crl_files_free(cf);
			return (-1);
		}
		cf->docs[cf->n].name = paths[cf->n];
		cf->docs[cf->n].buf = (const uint8_t *)buf;
		cf->docs[cf->n].len = len;
	}
	*out = cf;
	return (0);
}

const struct crl_doc *
crl_files_docs(const struct crl_files *cf, size_t *n)
{
	*n = cf != NULL ? cf->n : 0;
	return (cf != NULL ? cf->docs : NULL);
}

void
crl_files_free(struct crl_files *cf)
{
	if (cf == NULL)
		return;
	for (size_t i = 0; i < cf->n; i++)
		free((void *)(uintptr_t)cf->docs[i].buf);
	free(cf->docs);
	free(cf);
}
