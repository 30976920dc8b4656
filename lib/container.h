/*
 * container.h - the readers of checkpoint containers, behind one interface.
 *
 * A container reader finds the main pickle and the bytes of each storage
 * record; it knows nothing of tensors. Two readers exist: the zip layout of
 * torch >= 1.6 (zip.c) and the legacy pickle stream of torch < 1.6 (legacy.c).
 * safetensors and sharded sets will be more readers of the same shape.
 *
 * Open reads only metadata (the central directory, the local headers it
 * needs, the pickles); it never reads storage data. After the main pickle has
 * been run, bind() checks every storage against its record (it exists, is
 * stored uncompressed, holds exactly nbytes) from the directory alone, and
 * gives it its data offset when that costs no I/O (legacy); a zip storage's
 * offset needs its local header, read on first use by
 * pt_container_locate(), so mounting 100,000 tensors reads no local header.
 */
#ifndef PT_CONTAINER_H
#define PT_CONTAINER_H

#include <stdbool.h>
#include <stddef.h>
#include <pthread.h>
#include <stdint.h>

#include "error.h"
#include "source.h"
#include "torch.h"

enum pt_format {
	PT_FORMAT_ZIP = 1,    /* torch.save >= 1.6, and TorchScript archives */
	PT_FORMAT_LEGACY = 2, /* torch.save < 1.6 pickle stream */
	PT_FORMAT_SAFETENSORS = 3, /* safetensors.h: no pickle; pt_st_load makes the values */
	PT_FORMAT_SHARDED = 4,     /* shards.h: an index or folder of shards; pt_shards_load */
};

/* One member of the container as the library sees it. */
struct pt_record {
	char *name;       /* relative to the prefix: "data.pkl", "data/0", "version" */
	uint64_t offset;  /* of the first data byte in the source */
	uint64_t size;    /* uncompressed size */
	uint64_t csize;   /* stored size */
	int method;       /* 0 stored, 8 deflate, ... */
	uint32_t crc;     /* CRC-32 from the central directory */
	bool crc_known;   /* the directory has one (torch can write 0: no CRC) */
};

struct pt_container;

struct pt_container_ops {
	/* Checks every storage of t against its record; -1 and err when one fails. */
	int (*bind)(struct pt_container *c, struct pt_torch *t, struct pt_error *err);
	/* Sets s->data_offset of a storage bind() checked; -1 and err on failure. */
	int (*locate)(struct pt_container *c, struct pt_storage *s, struct pt_error *err);
	/* Frees the reader's own state (not the source). */
	void (*close)(struct pt_container *c);
};

struct pt_container {
	const struct pt_container_ops *ops;
	enum pt_format format;
	struct pt_source *src;    /* borrowed; outlives the container */
	char *prefix;             /* zip: the archive directory, without '/'; legacy: NULL */
	unsigned char *pickle;    /* the main pickle (data.pkl), malloc'd copy */
	size_t pickle_len;
	struct pt_record *records; /* zip: every member in central-directory order */
	size_t nrecords;
	bool big_endian;          /* zip `byteorder` == "big" */
	bool torchscript;         /* zip with constants.pkl (TorchScript) */
	/* TorchScript 1.0/1.1 (no data.pkl): model.json, and attributes.pkl as the pickle */
	char *model_json;
	size_t model_json_len;
	unsigned version;         /* zip `version` record; legacy: 1001 */
	unsigned flags;           /* PT_CONTAINER_* given to pt_container_open_with */
	void *priv;               /* the reader's own state */
	pthread_mutex_t lock;     /* serializes pt_container_locate */
};

/*
 * Sniffs src by its first bytes (never by the file name) and opens the
 * matching reader: "PK\3\4" is zip, 80 02 8a 0a 6c fc 9c 46 is legacy.
 * Returns a container the caller frees with pt_container_close(), or NULL
 * with err filled: PT_ERR_FORMAT with a message naming what the file is
 * ("not a PyTorch checkpoint (7z archive)", "truncated zip: no end of
 * central directory record").
 */
struct pt_container *pt_container_open(struct pt_source *src, struct pt_error *err);

/*
 * Read a zip's directory with libzip even when ptfs's own walk finds the
 * plain shape torch.save writes (it is then read without libzip): for the
 * differential test and the fuzzer, which check that the two agree.
 */
#define PT_CONTAINER_LIBZIP 1u

/* pt_container_open with PT_CONTAINER_* flags; pt_container_open passes 0. */
struct pt_container *pt_container_open_with(struct pt_source *src, unsigned flags,
					    struct pt_error *err);

/* The record named name (relative to the prefix), or NULL. Zip only. */
const struct pt_record *pt_container_find(const struct pt_container *c,
					  const char *name);

/*
 * A guess at the main pickle made without reading the whole directory, so
 * that it can run while another thread opens the container: a zip whose
 * directory starts with "<prefix>/data.pkl" stored (torch.save's order)
 * gives 1 and *buf, a pages.h buffer of *len bytes the caller frees with
 * pt_pages_free(*buf, *len). Anything else, and any failure, gives 0.
 * Never an authority: the caller must find the same bytes in the opened
 * container's pickle before trusting what it made of them.
 */
int pt_container_guess_pickle(struct pt_source *src, unsigned char **buf, size_t *len);

/* Binds storages; see ops->bind. */
int pt_container_bind(struct pt_container *c, struct pt_torch *t,
		      struct pt_error *err);

/*
 * Makes sure s->data_offset is known, reading its local header the first
 * time (thread-safe; later calls cost one atomic load). Returns 0, or -1 with
 * err (PT_ERR_FORMAT for a bad local header, PT_ERR_IO).
 */
int pt_container_locate(struct pt_container *c, struct pt_storage *s, struct pt_error *err);

/*
 * Reads the whole zip member name (relative to the prefix), stored or
 * deflated (inflated through libzip, its CRC checked), into *out, a pages.h
 * buffer of *len bytes the caller frees with pt_pages_free(*out, *len).
 * Refuses (PT_ERR_LIMIT) a member over max bytes before reading it;
 * PT_ERR_NOTFOUND when there is no such member, PT_ERR_UNSUPPORTED for
 * another method. Thread-safe (under c->lock). Zip only.
 */
int pt_zip_read_member(struct pt_container *c, const char *name, uint64_t max,
		       unsigned char **out, size_t *len, struct pt_error *err);

/* Frees c (not its source). c may be NULL. */
void pt_container_close(struct pt_container *c);

/* The reader entry points pt_container_open dispatches to. */
int pt_zip_open(struct pt_container *c, struct pt_error *err);
int pt_legacy_open(struct pt_container *c, struct pt_error *err);

/* The zip reader's lookup behind pt_container_find (a hash table). */
const struct pt_record *pt_zip_find(const struct pt_container *c,
				    const char *name);

#endif
