/*
 * replay_main.c: run a libFuzzer target over a corpus without libFuzzer, so
 * every CI build (gcc, sanitizers) replays the checked-in corpus.
 * Usage: fuzz_<name>_replay DIR|FILE...  Fails if no input was found: a
 * missing corpus must not pass silently.
 */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int
run_file(const char *path)
{
	FILE *f = fopen(path, "rb");
	uint8_t *buf;
	long sz;

	if (f == NULL) {
		perror(path);
		return (-1);
	}
	if (fseek(f, 0, SEEK_END) != 0 || (sz = ftell(f)) < 0 ||
	    fseek(f, 0, SEEK_SET) != 0) {
		fclose(f);
		return (-1);
	}
	/* Exact-size heap copy: ASan then catches any read past the input. */
	buf = malloc(sz ? (size_t)sz : 1);
	if (buf == NULL || fread(buf, 1, (size_t)sz, f) != (size_t)sz) {
		free(buf);
		fclose(f);
		return (-1);
	}
	fclose(f);
	LLVMFuzzerTestOneInput(buf, (size_t)sz);
	free(buf);
	return (0);
}

int
main(int argc, char **argv)
{
	int count = 0;

	for (int i = 1; i < argc; i++) {
		struct stat st;
		if (stat(argv[i], &st) != 0) {
			perror(argv[i]);
			return (1);
		}
		if (!S_ISDIR(st.st_mode)) {
			if (run_file(argv[i]) != 0)
				return (1);
			count++;
			continue;
		}
		DIR *d = opendir(argv[i]);
		struct dirent *de;
		if (d == NULL) {
			perror(argv[i]);
			return (1);
		}
		while ((de = readdir(d)) != NULL) {
			char path[4096];
			if (de->d_name[0] == '.')
				continue;
			snprintf(path, sizeof(path), "%s/%s", argv[i], de->d_name);
			if (run_file(path) != 0) {
				closedir(d);
				return (1);
			}
			count++;
		}
		closedir(d);
	}
	if (count == 0) {
		fprintf(stderr, "replay: no corpus input found\n");
		return (1);
	}
	printf("replay: %d inputs ran without a finding\n", count);
	return (0);
}
