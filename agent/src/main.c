/* main.c: placeholder until the runtime lands. */
#include <stdio.h>

int
main(void)
{
	printf("spoa-iam %s\n", SPOA_VERSION);
	return (0);
}
