/*
 * xsbench: throughput of Xen's C client library (libxenstore) against a
 * xenstore daemon, for the comparison with realxs (realxs/cbench_test.go).
 *
 *   XENSTORED_PATH=SOCKET xsbench read|write|txn N
 *
 * prints "OPS NANOSECONDS". libxenstore keeps one request outstanding per
 * handle, as every C client does. The prototypes are libxenstore's
 * (tools/include/xenstore.h), declared here so that no -dev package is
 * needed.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct xs_handle;
typedef uint32_t xs_transaction_t;
#define XBT_NULL 0

struct xs_handle *xs_open(unsigned long flags);
void xs_close(struct xs_handle *xsh);
void *xs_read(struct xs_handle *h, xs_transaction_t t, const char *path, unsigned int *len);
bool xs_write(struct xs_handle *h, xs_transaction_t t, const char *path, const void *data, unsigned int len);
xs_transaction_t xs_transaction_start(struct xs_handle *h);
bool xs_transaction_end(struct xs_handle *h, xs_transaction_t t, bool abort);

static long long now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

int main(int argc, char **argv)
{
	if (argc != 3) {
		fprintf(stderr, "usage: xsbench read|write|txn N\n");
		return 2;
	}
	const char *mode = argv[1];
	long n = atol(argv[2]);
	struct xs_handle *h = xs_open(0);
	if (!h) {
		perror("xs_open");
		return 1;
	}
	const char *v = "some value";
	if (!xs_write(h, XBT_NULL, "/cbench/r", v, strlen(v))) {
		perror("xs_write");
		return 1;
	}
	char path[64];
	long long start = now();
	for (long i = 0; i < n; i++) {
		if (strcmp(mode, "read") == 0) {
			unsigned int len;
			void *p = xs_read(h, XBT_NULL, "/cbench/r", &len);
			if (!p) {
				perror("xs_read");
				return 1;
			}
			free(p);
		} else if (strcmp(mode, "write") == 0) {
			snprintf(path, sizeof(path), "/cbench/w/%ld", i % 100);
			if (!xs_write(h, XBT_NULL, path, v, strlen(v))) {
				perror("xs_write");
				return 1;
			}
		} else {
			for (;;) {
				xs_transaction_t t = xs_transaction_start(h);
				unsigned int len;
				void *p = xs_read(h, t, "/cbench/r", &len);
				free(p);
				xs_write(h, t, "/cbench/r", "1", 1);
				if (xs_transaction_end(h, t, false))
					break;
			}
		}
	}
	long long took = now() - start;
	printf("%ld %lld\n", n, took);
	xs_close(h);
	return 0;
}
