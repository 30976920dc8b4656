/*
 * container.c - sniffing a checkpoint and dispatching to its reader.
 *
 * The format is decided by the first bytes only, never by the file name,
 * as torch.load does (format.md §1.1, §3.1, §8): "PK\3\4" is the zip layout
 * of torch >= 1.6; 80 02 8a 0a 6c fc 9c 46 (PROTO 2, LONG1 of 10 bytes, the
 * start of the magic number 0x1950a86a20f9469cfc6c) is the legacy stream.
 * Everything else is refused with a message naming what it looks like: a
 * 7z archive, the tar layout of torch 0.1 ("ustar" at offset 257), a bare
 * pickle (0x80, the PROTO opcode), the "PYTORCH1" preview format. Messages
 * never include the path; the caller prefixes it.
 *
 * The generic fields of struct pt_container (prefix, pickle, records) are
 * freed here; a reader's close frees only its priv. A reader whose open fails
 * leaves c in a state pt_container_close can free.
 */
#include "container.h"

#include <stdlib.h>
#include <string.h>

#include "pages.h"
#include "safetensors.h"
#include "shards.h"
#include "zipdir.h"

#define SNIFF_LEN 264 /* enough for "ustar" at 257 */

static const unsigned char zip_magic[4] = { 'P', 'K', 3, 4 };
static const unsigned char legacy_magic[8] = { 0x80, 0x02, 0x8a, 0x0a,
					       0x6c, 0xfc, 0x9c, 0x46 };
static const unsigned char sevenzip_magic[6] = { '7', 'z', 0xbc, 0xaf, 0x27, 0x1c };

static bool has_prefix(const unsigned char *buf, size_t n, const void *magic,
		       size_t mlen)
{
	return n >= mlen && memcmp(buf, magic, mlen) == 0;
}

/* Returns the format of buf[0..n) of a size-byte file, or 0 with err naming what it is. */
static int sniff(const unsigned char *buf, size_t n, uint64_t size, struct pt_error *err)
{
	if (n == 0)
		return pt_error_set(err, PT_ERR_FORMAT, "empty file");
	if (has_prefix(buf, n, zip_magic, sizeof(zip_magic)))
		return PT_FORMAT_ZIP;
	if (has_prefix(buf, n, legacy_magic, sizeof(legacy_magic)))
		return PT_FORMAT_LEGACY;
	if (pt_st_sniff(buf, n, size))
		return PT_FORMAT_SAFETENSORS;
	if (has_prefix(buf, n, sevenzip_magic, sizeof(sevenzip_magic)))
		return pt_error_set(err, PT_ERR_FORMAT,
				    "not a PyTorch checkpoint (7z archive)");
	if (has_prefix(buf, n, "PYTORCH1", 8))
		return pt_error_set(err, PT_ERR_UNSUPPORTED,
				    "unsupported archive format from the preview release");
	if (n >= 262 && memcmp(buf + 257, "ustar", 5) == 0)
		return pt_error_set(err, PT_ERR_UNSUPPORTED,
				    "tar checkpoints of torch 0.1 are not supported");
	if (buf[0] == 0x80)
		return pt_error_set(err, PT_ERR_FORMAT,
				    "not a PyTorch checkpoint (a bare pickle, not torch.save output)");
	if (n >= 4)
		return pt_error_set(err, PT_ERR_FORMAT,
				    "not a PyTorch checkpoint (unknown format, first bytes %02x %02x %02x %02x)",
				    buf[0], buf[1], buf[2], buf[3]);
	if (n == 3)
		return pt_error_set(err, PT_ERR_FORMAT,
				    "not a PyTorch checkpoint (unknown format, first bytes %02x %02x %02x)",
				    buf[0], buf[1], buf[2]);
	if (n == 2)
		return pt_error_set(err, PT_ERR_FORMAT,
				    "not a PyTorch checkpoint (unknown format, first bytes %02x %02x)",
				    buf[0], buf[1]);
	return pt_error_set(err, PT_ERR_FORMAT,
			    "not a PyTorch checkpoint (unknown format, first byte %02x)",
			    buf[0]);
}

struct pt_container *pt_container_open(struct pt_source *src, struct pt_error *err)
{
	return pt_container_open_with(src, 0, err);
}

struct pt_container *pt_container_open_with(struct pt_source *src, unsigned flags,
					    struct pt_error *err)
{
	unsigned char head[SNIFF_LEN];
	size_t n = src->size < SNIFF_LEN ? (size_t)src->size : SNIFF_LEN;
	struct pt_container *c;
	int fmt, ret;

	if (pt_shards_owns(src)) { /* reading its byte 0 would open its first shard */
		fmt = PT_FORMAT_SHARDED;
	} else {
		if (pt_source_read(src, head, n, 0, "file header", err) < 0)
			return NULL;
		fmt = sniff(head, n, src->size, err);
		if (fmt < 0)
			return NULL;
	}
	c = calloc(1, sizeof(*c));
	if (!c) {
		pt_error_set(err, PT_ERR_NOMEM, "out of memory");
		return NULL;
	}
	c->src = src;
	c->flags = flags;
	pthread_mutex_init(&c->lock, NULL);
	c->format = (enum pt_format)fmt;
	if (fmt == PT_FORMAT_ZIP)
		ret = pt_zip_open(c, err);
	else if (fmt == PT_FORMAT_SAFETENSORS)
		ret = pt_st_open(c, err);
	else if (fmt == PT_FORMAT_SHARDED)
		ret = pt_shards_container_open(c, err);
	else
		ret = pt_legacy_open(c, err);
	if (ret < 0) {
		pt_container_close(c);
		return NULL;
	}
	return c;
}

int pt_container_guess_pickle(struct pt_source *src, unsigned char **buf, size_t *len)
{
	unsigned char head[sizeof(zip_magic)];
	struct pt_error err;

	if (pt_shards_owns(src) || src->size < sizeof(head) || pt_source_read(src, head, sizeof(head), 0, "", &err) < 0 ||
	    memcmp(head, zip_magic, sizeof(head)) != 0)
		return 0;
	return pt_zipdir_guess_pickle(src, buf, len);
}

const struct pt_record *pt_container_find(const struct pt_container *c,
					  const char *name)
{
	if (!c || c->format != PT_FORMAT_ZIP)
		return NULL;
	return pt_zip_find(c, name);
}

int pt_container_bind(struct pt_container *c, struct pt_torch *t,
		      struct pt_error *err)
{
	return c->ops->bind(c, t, err);
}

int pt_container_locate(struct pt_container *c, struct pt_storage *s, struct pt_error *err)
{
	int ret = 0;

	if (__atomic_load_n(&s->bound, __ATOMIC_ACQUIRE))
		return 0;
	if (!c->ops->locate)
		return pt_error_set(err, PT_ERR_IO, "storage '%s' has no data", s->key);
	pthread_mutex_lock(&c->lock);
	if (!s->bound) {
		ret = c->ops->locate(c, s, err);
		if (ret == 0)
			__atomic_store_n(&s->bound, true, __ATOMIC_RELEASE);
	}
	pthread_mutex_unlock(&c->lock);
	return ret;
}

void pt_container_close(struct pt_container *c)
{
	if (!c)
		return;
	if (c->ops)
		c->ops->close(c); /* the records too */
	free(c->prefix);
	pt_pages_free(c->pickle, c->pickle_len);
	pt_pages_free(c->model_json, c->model_json_len);
	pthread_mutex_destroy(&c->lock);
	free(c);
}
