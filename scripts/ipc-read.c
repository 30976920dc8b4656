/*
 * ipc-read.c - ptfs-ipc-read: a tensor's bytes read back from the GPU through
 * the CUDA IPC handle its ptfs mount exports (docs/gpu.md).
 *
 *     ptfs-ipc-read [--sha256] FILE...
 *
 * For each FILE, a tensor of a mount whose storage is resident on a GPU, it
 * reads user.pt.cuda_ipc ("cuda:N BUSID HANDLE OFFSET SIZE"), finds the
 * device by its PCI bus id among this process's devices (the daemon's cuda:N
 * is only a hint: CUDA_VISIBLE_DEVICES may number them differently here),
 * opens the handle, copies SIZE bytes from OFFSET to the host and writes them
 * to stdout, then closes the handle. For a contiguous tensor that is the
 * file's content, so `ptfs-ipc-read F | cmp - F` holds; for a view it is the
 * span of the storage the view may touch. With --sha256 it prints
 * sha256sum's line ("HEX  FILE") for each instead of the bytes, so that one
 * process checks a whole mount without a pipe per file.
 *
 * It is this process, not the daemon, that opens the handle: that is the
 * point of the check (CUDA refuses to open a handle in its exporter). Each
 * handle is closed before the next is opened, since views of one storage
 * share a handle and an open handle may not be opened twice in one context.
 * The first failure ends the run: "ptfs-ipc-read: FILE: reason", exit 1.
 */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/xattr.h>

#include <openssl/evp.h>

#include "gpu.h"

#define ATTR  "user.pt.cuda_ipc"
#define CHUNK ((size_t)64 << 20) /* the host buffer: big copies, bounded memory */

struct ipc {
	int dev; /* the daemon's ordinal: for messages only */
	char bus[32];
	unsigned char handle[PT_GPU_IPC_HANDLE_SIZE];
	uint64_t off, size;
};

static const char *prog = "ptfs-ipc-read";

static int fail(const char *file, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int fail(const char *file, const char *fmt, ...)
{
	va_list ap;
	fprintf(stderr, "%s: %s: ", prog, file);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return -1;
}

/* A decimal without sign or leading zero ("0" itself excepted) that fits in 64 bits. */
static int parse_u64(const char *s, size_t n, uint64_t *out)
{
	uint64_t v = 0;
	if (n == 0 || n > 20 || (s[0] == '0' && n > 1))
		return -1;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		unsigned d = (unsigned)(s[i] - '0');
		if (v > (UINT64_MAX - d) / 10)
			return -1;
		v = v * 10 + d;
	}
	*out = v;
	return 0;
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1; /* upper case is not the documented form */
}

/* Advances *i over min to max hex digits of s (n bytes); whether there were min. */
static int hex_run(const char *s, size_t n, size_t *i, size_t min, size_t max)
{
	size_t k = 0;
	while (*i < n && k < max && isxdigit((unsigned char)s[*i]))
		(*i)++, k++;
	return k >= min;
}

/*
 * "DDDD:BB:DD.F" as cuDeviceGetPCIBusId writes it, hex digits of either case
 * (the domain may have up to 8 digits on some machines).
 */
static int valid_bus(const char *s, size_t n)
{
	size_t i = 0;
	return hex_run(s, n, &i, 4, 8) && i < n && s[i++] == ':' && hex_run(s, n, &i, 2, 2) &&
	       i < n && s[i++] == ':' && hex_run(s, n, &i, 2, 2) && i < n && s[i++] == '.' &&
	       hex_run(s, n, &i, 1, 1) && i == n;
}

/*
 * Splits v (len bytes, no NUL inside) into the five fields. Strict: single
 * spaces, no newline, each field in its documented form, so that a change
 * of the format is noticed here rather than read as other numbers.
 */
static int parse_ipc(const char *v, size_t len, struct ipc *p, char *why, size_t cap)
{
	const char *f[5];
	size_t fl[5], nf = 0, i = 0;
	if (memchr(v, '\0', len) || memchr(v, '\n', len)) {
		snprintf(why, cap, "holds a NUL or a newline");
		return -1;
	}
	while (nf < 5 && i <= len) {
		size_t j = i;
		while (j < len && v[j] != ' ')
			j++;
		f[nf] = v + i;
		fl[nf++] = j - i;
		i = j + 1;
	}
	if (nf != 5 || i != len + 1) {
		snprintf(why, cap, "not 5 fields separated by single spaces");
		return -1;
	}
	uint64_t dev;
	if (fl[0] < 6 || memcmp(f[0], "cuda:", 5) || parse_u64(f[0] + 5, fl[0] - 5, &dev) ||
	    dev > 1024) {
		snprintf(why, cap, "field 1 '%.*s' is not cuda:N", (int)fl[0], f[0]);
		return -1;
	}
	p->dev = (int)dev;
	if (!valid_bus(f[1], fl[1]) || fl[1] >= sizeof p->bus) {
		snprintf(why, cap, "field 2 '%.*s' is not a PCI bus id (DDDD:BB:DD.F)", (int)fl[1],
			 f[1]);
		return -1;
	}
	memcpy(p->bus, f[1], fl[1]);
	p->bus[fl[1]] = '\0';
	if (fl[2] != 2 * PT_GPU_IPC_HANDLE_SIZE) {
		snprintf(why, cap, "field 3 is %zu characters, not the handle's %d hex digits",
			 fl[2], 2 * PT_GPU_IPC_HANDLE_SIZE);
		return -1;
	}
	for (size_t k = 0; k < PT_GPU_IPC_HANDLE_SIZE; k++) {
		int hi = hexval(f[2][2 * k]), lo = hexval(f[2][2 * k + 1]);
		if (hi < 0 || lo < 0) {
			snprintf(why, cap, "field 3 has a character that is not lower-case hex");
			return -1;
		}
		p->handle[k] = (unsigned char)(hi << 4 | lo);
	}
	if (parse_u64(f[3], fl[3], &p->off)) {
		snprintf(why, cap, "field 4 '%.*s' is not a byte offset", (int)fl[3], f[3]);
		return -1;
	}
	if (parse_u64(f[4], fl[4], &p->size) || p->size > UINT64_MAX - p->off) {
		snprintf(why, cap, "field 5 '%.*s' is not a byte size", (int)fl[4], f[4]);
		return -1;
	}
	return 0;
}

/* This process's ordinal of the device with PCI bus id bus, or -1. */
static int find_device(struct pt_gpu *g, const char *bus, struct pt_error *err)
{
	char b[32];
	for (int d = 0; d < pt_gpu_count(g); d++) {
		if (pt_gpu_bus_id(g, d, b, sizeof b, err))
			return -2;
		if (!strcasecmp(b, bus))
			return d;
	}
	return -1;
}

/* Copies p's bytes from dptr to stdout, or into the hash md. */
static int copy_out(struct pt_gpu *g, int dev, uint64_t dptr, const struct ipc *p,
		    unsigned char *buf, EVP_MD_CTX *md, const char *file)
{
	struct pt_error err;
	for (uint64_t done = 0; done < p->size;) {
		size_t n = p->size - done < CHUNK ? (size_t)(p->size - done) : CHUNK;
		if (pt_gpu_read(g, dev, dptr + p->off + done, buf, n, &err))
			return fail(file, "reading %zu bytes at offset %" PRIu64 ": %s", n,
				    p->off + done, err.msg);
		if (md ? EVP_DigestUpdate(md, buf, n) != 1 : fwrite(buf, 1, n, stdout) != n)
			return fail(file, md ? "sha256 failed" : "writing stdout: %s",
				    strerror(errno));
		done += n;
	}
	return 0;
}

static int one(struct pt_gpu **gp, const char *file, unsigned char *buf, int sha)
{
	char v[512], why[160];
	struct ipc p;
	struct pt_error err;
	ssize_t len = getxattr(file, ATTR, v, sizeof v);
	if (len < 0 && errno == ENODATA)
		return fail(file, "no " ATTR ": not resident on a GPU (materialize it first)");
	if (len < 0 && errno == ERANGE)
		return fail(file, ATTR " is longer than %zu bytes", sizeof v);
	if (len < 0)
		return fail(file, ATTR ": %s", strerror(errno));
	if (parse_ipc(v, (size_t)len, &p, why, sizeof why))
		return fail(file, "bad " ATTR ": %s", why);
	/* the driver is loaded for the first file, so its failure names a file */
	if (!*gp && !(*gp = pt_gpu_open(NULL, &err)))
		return fail(file, "%s", err.msg);
	int dev = find_device(*gp, p.bus, &err);
	if (dev == -2)
		return fail(file, "%s", err.msg);
	if (dev < 0)
		return fail(file,
			    "no device with PCI bus id %s among this process's %d (the mount's "
			    "cuda:%d; is it hidden by CUDA_VISIBLE_DEVICES?)",
			    p.bus, pt_gpu_count(*gp), p.dev);
	uint64_t dptr;
	if (pt_gpu_ipc_open(*gp, dev, p.handle, &dptr, &err))
		return fail(file, "opening the IPC handle on device %d (%s): %s", dev, p.bus,
			    err.msg);
	EVP_MD_CTX *md = NULL;
	if (sha && (!(md = EVP_MD_CTX_new()) || EVP_DigestInit_ex(md, EVP_sha256(), NULL) != 1)) {
		EVP_MD_CTX_free(md);
		pt_gpu_ipc_close(*gp, dev, dptr);
		return fail(file, "sha256 failed");
	}
	int rc = copy_out(*gp, dev, dptr, &p, buf, md, file);
	/* closed before anything else happens: the daemon may free it after a release */
	pt_gpu_ipc_close(*gp, dev, dptr);
	if (!rc && md) {
		unsigned char h[32];
		if (EVP_DigestFinal_ex(md, h, NULL) != 1)
			rc = fail(file, "sha256 failed");
		for (int i = 0; !rc && i < 32; i++)
			printf("%02x", h[i]);
		if (!rc)
			printf("  %s\n", file);
	}
	EVP_MD_CTX_free(md);
	return rc;
}

int main(int argc, char **argv)
{
	int sha = 0, i = 1;
	if (i < argc && !strcmp(argv[i], "--sha256"))
		sha = 1, i++;
	if (i < argc && !strcmp(argv[i], "--"))
		i++;
	if (i >= argc || (argv[i][0] == '-' && argv[i][1])) {
		fprintf(stderr, "usage: %s [--sha256] FILE...\n", prog);
		return 2;
	}
	unsigned char *buf = malloc(CHUNK);
	if (!buf) {
		fprintf(stderr, "%s: out of memory\n", prog);
		return 1;
	}
	struct pt_gpu *g = NULL;
	int rc = 0;
	for (; i < argc && !rc; i++)
		rc = one(&g, argv[i], buf, sha);
	pt_gpu_close(g);
	free(buf);
	if (!rc && (fflush(stdout) || ferror(stdout))) {
		fprintf(stderr, "%s: stdout: %s\n", prog, strerror(errno));
		rc = -1;
	}
	return rc ? 1 : 0;
}
