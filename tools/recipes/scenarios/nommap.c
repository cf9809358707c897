// LD_PRELOAD shim for cut.sh: mmap() of the dump file (a link named vmcore.kdump) fails with
// ENODEV, so libkdumpfile (drgn) reads it with pread() and strace sees which pages drgn reads.
// Build: gcc -shared -fPIC -O2 -o nommap.so nommap.c -ldl
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

void *mmap(void *addr, size_t len, int prot, int flags, int fd, off_t off)
{
	static void *(*real)(void *, size_t, int, int, int, off_t);
	if (!real)
		real = dlsym(RTLD_NEXT, "mmap");
	if (fd >= 0) {
		char link[64], path[4096];
		ssize_t n;
		snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
		n = readlink(link, path, sizeof(path) - 1);
		if (n > 0) {
			path[n] = 0;
			if (strstr(path, "vmcore") || strstr(path, ".kdump")) {
				errno = ENODEV;
				return MAP_FAILED;
			}
		}
	}
	return real(addr, len, prot, flags, fd, off);
}
void *mmap64(void *addr, size_t len, int prot, int flags, int fd, off_t off) __attribute__((alias("mmap")));
