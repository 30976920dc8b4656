/*
 * zip.c - the zip reader: torch.save >= 1.6 and TorchScript archives.
 *
 * Format facts relied on (format.md §1, §9):
 *  - every record is "<prefix>/<name>"; the prefix is central-directory
 *    entry 0's name up to its first '/', whatever the file is called, and
 *    torch reads nothing outside it, so other entries are ignored;
 *  - the central directory is the authority for sizes and methods: torch's
 *    local headers carry CRC 0 and sizes 0 (flag bit 3, data descriptors);
 *  - a torch.save archive is always ZIP64 (a ZIP64 end record and locator
 *    precede the classic end record) and stores every record uncompressed;
 *    TorchScript deflates code/ and *.debug_pkl records only;
 *  - a record's data starts at local header offset + 30 + the local name
 *    length + the local extra length (the 'FB' padding lives only in the
 *    local extra field, so the central directory cannot tell it).
 *
 * The directory is walked by ptfs (zipdir.c). When the walk finds the plain
 * shape torch.save writes, its names, sizes and methods are the records;
 * libzip's open of a 20,000-entry directory cost a quarter of a mount (a
 * struct, a hash entry and a mktime per entry). Any other archive is read by
 * libzip, through a libzip source whose bytes come from our struct
 * pt_source: it is then the authority for names, sizes and methods, and the
 * walk supplies only the local header offsets libzip 1.7 does not expose,
 * cross-checked with libzip's view by count and names. Local headers are
 * read lazily: at open only for the records read then (data.pkl, byteorder,
 * version), at bind only for the storages the pickle references, so that
 * opening an archive of 100,000 records costs one directory read.
 * A record's offset is 0 until its local header has been read (0 is never a
 * data offset: a local header precedes every record).
 *
 * The libzip handle, when there is one, lives only during open: a deflated
 * data.pkl is inflated then, and everything later reads through the source
 * at known offsets.
 */
#include "container.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zip.h>

#include "hash.h"
#include "pages.h"
#include "zipdir.h"

#define PICKLE_MAX (1ULL << 30) /* data.pkl */
#define TEXT_MAX 64             /* byteorder, version */
#define LFH_LEN 30

/*
 * The records, their local header offsets, the name table and the names
 * share one pages.h block: a fresh process pays per page it touches, and
 * these are touched once each while the directory is read.
 */
struct zr_priv {
	void *tables;          /* c->records, lho, slots and the names */
	size_t tables_len;
	uint64_t *lho;         /* local header offset of records[i] */
	struct pt_hash_slot *slots; /* the name table: open addressing, linear probing */
	size_t mask;           /* slots - 1, a power of two minus one */
	uint64_t seed;         /* of the name hash, from the table's address */
	char *names, *names_end; /* the next record's name goes at names */
};

/*
 * The state of the libzip source that reads from a struct pt_source. libzip
 * reads the directory entry by entry; those reads are served from our copy.
 */
struct zsrc {
	struct pt_source *src;
	uint64_t pos;
	zip_error_t error;
	const unsigned char *cache; /* the central directory, read once */
	uint64_t cache_off, cache_len;
};

static zip_int64_t zsrc_read(struct zsrc *zs, void *buf, zip_uint64_t len)
{
	struct pt_source *src = zs->src;
	size_t n, done = 0;

	if (zs->pos >= src->size)
		return 0;
	n = len < src->size - zs->pos ? (size_t)len : (size_t)(src->size - zs->pos);
	if (zs->pos >= zs->cache_off && zs->pos - zs->cache_off <= zs->cache_len &&
	    n <= zs->cache_len - (zs->pos - zs->cache_off)) {
		memcpy(buf, zs->cache + (zs->pos - zs->cache_off), n);
		zs->pos += n;
		return (zip_int64_t)n;
	}
	while (done < n) {
		ssize_t r = src->ops->pread(src, (char *)buf + done, n - done,
					    zs->pos + done);

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			zip_error_set(&zs->error, ZIP_ER_READ, errno);
			return -1;
		}
		if (r == 0)
			break;
		done += (size_t)r;
	}
	zs->pos += done;
	return (zip_int64_t)done;
}

static zip_int64_t zsrc_cb(void *ud, void *data, zip_uint64_t len,
			   zip_source_cmd_t cmd)
{
	struct zsrc *zs = ud;
	zip_stat_t *st;
	zip_int64_t pos;

	switch (cmd) {
	case ZIP_SOURCE_OPEN:
		zs->pos = 0;
		return 0;
	case ZIP_SOURCE_READ:
		return zsrc_read(zs, data, len);
	case ZIP_SOURCE_CLOSE:
	case ZIP_SOURCE_FREE:
		return 0;
	case ZIP_SOURCE_STAT:
		st = ZIP_SOURCE_GET_ARGS(zip_stat_t, data, len, &zs->error);
		if (!st)
			return -1;
		zip_stat_init(st);
		st->size = zs->src->size;
		st->valid |= ZIP_STAT_SIZE;
		return sizeof(*st);
	case ZIP_SOURCE_SEEK:
		pos = zip_source_seek_compute_offset(zs->pos, zs->src->size, data,
						     len, &zs->error);
		if (pos < 0)
			return -1;
		zs->pos = (uint64_t)pos;
		return 0;
	case ZIP_SOURCE_TELL:
		return (zip_int64_t)zs->pos;
	case ZIP_SOURCE_ERROR:
		return zip_error_to_data(&zs->error, data, len);
	case ZIP_SOURCE_SUPPORTS:
		return ZIP_SOURCE_SUPPORTS_SEEKABLE;
	default:
		zip_error_set(&zs->error, ZIP_ER_OPNOTSUPP, 0);
		return -1;
	}
}

/* Turns a libzip error into ours; returns -1. */
static int zr_error_map(zip_error_t *ze, const char *what, struct pt_error *err)
{
	switch (zip_error_code_zip(ze)) {
	case ZIP_ER_NOZIP:
		return pt_error_set(err, PT_ERR_FORMAT,
				    "truncated zip: no end of central directory record");
	case ZIP_ER_INCONS:
		return pt_error_set(err, PT_ERR_FORMAT, "inconsistent zip archive: %s",
				    zip_error_strerror(ze));
	case ZIP_ER_MEMORY:
		return pt_error_set(err, PT_ERR_NOMEM, "out of memory");
	case ZIP_ER_READ:
	case ZIP_ER_SEEK:
	case ZIP_ER_TELL:
		return pt_error_sys(err, zip_error_code_system(ze), "%s", what);
	case ZIP_ER_MULTIDISK:
	case ZIP_ER_COMPNOTSUPP:
	case ZIP_ER_ENCRNOTSUPP:
		return pt_error_set(err, PT_ERR_UNSUPPORTED, "%s: %s", what,
				    zip_error_strerror(ze));
	default:
		return pt_error_set(err, PT_ERR_FORMAT, "%s: %s", what,
				    zip_error_strerror(ze));
	}
}

static zip_t *zr_libzip_open(struct zsrc *zs, struct pt_error *err)
{
	zip_error_t ze;
	zip_source_t *s;
	zip_t *za = NULL;

	zip_error_init(&ze);
	s = zip_source_function_create(zsrc_cb, zs, &ze);
	if (s)
		za = zip_open_from_source(s, ZIP_RDONLY, &ze);
	if (s && !za)
		zip_source_free(s); /* the archive owns it only once open */
	if (!za)
		zr_error_map(&ze, "zip archive", err);
	zip_error_fini(&ze);
	return za;
}

/*
 * The slot holding name, or the empty slot where it would go. The table is
 * at least twice the number of records, so a probe ends.
 */
static struct pt_hash_slot *zr_slot_find(const struct pt_container *c, const char *name,
				    uint32_t h)
{
	struct zr_priv *p = c->priv;
	size_t i = h & p->mask;

	for (;; i = (i + 1) & p->mask) {
		struct pt_hash_slot *sl = &p->slots[i];

		if (!sl->idx1 || (sl->hash == h && strcmp(c->records[sl->idx1 - 1].name, name) == 0))
			return sl;
	}
}

static uint32_t zr_hash(const struct pt_container *c, const char *name)
{
	const struct zr_priv *p = c->priv;

	return (uint32_t)pt_hash_seeded(name, strlen(name), p->seed);
}

static struct pt_record *zr_lookup(const struct pt_container *c, const char *name)
{
	struct zr_priv *p = c->priv;
	struct pt_hash_slot *sl;

	if (!p || !p->slots)
		return NULL;
	sl = zr_slot_find(c, name, zr_hash(c, name));
	return sl->idx1 ? &c->records[sl->idx1 - 1] : NULL;
}

const struct pt_record *pt_zip_find(const struct pt_container *c,
				    const char *name)
{
	return zr_lookup(c, name);
}

static bool zr_in_prefix(const struct pt_container *c, const char *name)
{
	size_t plen = strlen(c->prefix);

	return strncmp(name, c->prefix, plen) == 0 && name[plen] == '/';
}

/* Takes the prefix from entry 0's name and allocates for cd's n records. */
static int zr_prepare(struct pt_container *c, const char *name, size_t n,
		      const struct pt_zipdir *cd, struct pt_error *err)
{
	struct zr_priv *p = c->priv;
	const char *slash;
	size_t cap, rec_len, lho_len, slots_len, names = 0, i;
	unsigned char *t;

	if (n == 0)
		return pt_error_set(err, PT_ERR_FORMAT, "empty zip archive");
	slash = strchr(name, '/');
	if (!slash)
		return pt_error_set(err, PT_ERR_FORMAT,
				    "zip member '%s' is not in a subdirectory (torch requires an archive directory)",
				    name);
	c->prefix = strndup(name, (size_t)(slash - name));
	for (cap = 16; cap < 2 * n; cap *= 2)
		;
	for (i = 0; i < cd->n; i++)
		names += cd->e[i].nlen;
	/* n and names are bounded by the directory's 1 GiB: no product overflows */
	rec_len = n * sizeof(*c->records);
	lho_len = n * sizeof(*p->lho);
	slots_len = cap * sizeof(*p->slots);
	p->tables_len = rec_len + lho_len + slots_len + names + n;
	p->tables = t = pt_pages_alloc(p->tables_len);
	if (!c->prefix || !t)
		return pt_error_set(err, PT_ERR_NOMEM, "out of memory");
	c->records = (struct pt_record *)t;
	p->lho = (uint64_t *)(t + rec_len);
	p->slots = (struct pt_hash_slot *)(t + rec_len + lho_len);
	p->names = (char *)t + rec_len + lho_len + slots_len;
	p->names_end = (char *)t + p->tables_len;
	p->mask = cap - 1;
	p->seed = pt_hash_seed(p->slots);
	return 0;
}

/*
 * Adds entry e of the directory as a record when it lies under the prefix;
 * st is what libzip says of it, or NULL for a plain archive (the walk's
 * values stand, as libzip would read them). name is NUL-terminated.
 */
static int zr_add(struct pt_container *c, const char *name, const struct pt_zipdir_entry *e,
		  const zip_stat_t *st, struct pt_error *err)
{
	struct zr_priv *p = c->priv;
	struct pt_record *r = &c->records[c->nrecords];
	size_t plen = strlen(c->prefix), nlen;

	if (!zr_in_prefix(c, name))
		return 0;
	if (st && (st->valid & ZIP_STAT_ENCRYPTION_METHOD) &&
	    st->encryption_method != ZIP_EM_NONE)
		return pt_error_set(err, PT_ERR_UNSUPPORTED, "zip member %s is encrypted", name);
	r->size = st ? st->size : e->size;
	r->csize = st ? st->comp_size : e->csize;
	r->method = st ? st->comp_method : e->method;
	r->crc = st ? (uint32_t)st->crc : e->crc;
	r->crc_known = st ? (st->valid & ZIP_STAT_CRC) && st->crc != 0 : e->crc != 0;
	if (r->csize > c->src->size)
		return pt_error_set(err, PT_ERR_FORMAT,
				    "zip member %s: data extends past the end of the file", name);
	nlen = strlen(name + plen + 1);
	if (nlen >= (size_t)(p->names_end - p->names)) /* the walk's names and libzip's agree */
		return pt_error_set(err, PT_ERR_FORMAT, "zip member %s: name longer than the directory's", name);
	r->name = memcpy(p->names, name + plen + 1, nlen + 1);
	p->names += nlen + 1;
	p->lho[c->nrecords] = e->lho;
	c->nrecords++;
	return 0;
}

/* Enters the records in the name table for zr_lookup; a duplicate name is an error. */
static int zr_index(struct pt_container *c, struct pt_error *err)
{
	size_t i;

	for (i = 0; i < c->nrecords; i++) {
		const char *name = c->records[i].name;
		uint32_t h = zr_hash(c, name);
		struct pt_hash_slot *sl = zr_slot_find(c, name, h);

		if (sl->idx1)
			return pt_error_set(err, PT_ERR_FORMAT, "duplicate zip member %s/%s",
					    c->prefix, name);
		sl->hash = h;
		sl->idx1 = (uint32_t)i + 1;
	}
	return 0;
}

/* The records of a plain archive, from the walk alone. */
static int zr_collect_plain(struct pt_container *c, const struct pt_zipdir *cd,
			    struct pt_error *err)
{
	char stackname[256], *name = stackname;
	size_t i, cap = sizeof(stackname);
	int ret = -1;

	if (cd->n == 0)
		return zr_prepare(c, "", 0, cd, err);
	for (i = 0; i < cd->n; i++) {
		const struct pt_zipdir_entry *e = &cd->e[i];

		if (e->nlen >= cap) {
			if (name != stackname)
				free(name);
			cap = e->nlen + 1;
			name = malloc(cap);
			if (!name) {
				pt_error_set(err, PT_ERR_NOMEM, "out of memory");
				goto out;
			}
		}
		memcpy(name, e->name, e->nlen);
		name[e->nlen] = '\0';
		if ((i == 0 && zr_prepare(c, name, (size_t)cd->n, cd, err) < 0) ||
		    zr_add(c, name, e, NULL, err) < 0)
			goto out;
	}
	ret = zr_index(c, err);
out:
	if (name != stackname)
		free(name);
	return ret;
}

/* The records of any other archive, as libzip reads them (names cross-checked with the walk). */
static int zr_collect_libzip(struct pt_container *c, zip_t *za, const struct pt_zipdir *cd,
			     struct pt_error *err)
{
	zip_int64_t n = zip_get_num_entries(za, 0);
	const char *name;
	size_t i;
	zip_stat_t st;

	if (n < 0 || (uint64_t)n != cd->n)
		return pt_error_set(err, PT_ERR_FORMAT,
				    "the central directory holds %llu entries, libzip reads %lld",
				    (unsigned long long)cd->n, (long long)n);
	name = n ? zip_get_name(za, 0, ZIP_FL_ENC_RAW) : "";
	if (!name)
		return zr_error_map(zip_get_error(za), "zip member 0", err);
	if (zr_prepare(c, name, (size_t)n, cd, err) < 0)
		return -1;
	for (i = 0; i < (size_t)n; i++) {
		name = zip_get_name(za, i, ZIP_FL_ENC_RAW);
		if (!name)
			return zr_error_map(zip_get_error(za), "zip member", err);
		if (strlen(name) != cd->e[i].nlen ||
		    memcmp(name, cd->e[i].name, cd->e[i].nlen) != 0)
			return pt_error_set(err, PT_ERR_FORMAT,
					    "zip member %zu: the central directory names '%.*s', libzip reads '%s'",
					    i, (int)cd->e[i].nlen, cd->e[i].name, name);
		if (!zr_in_prefix(c, name))
			continue;
		if (zip_stat_index(za, i, ZIP_FL_ENC_RAW, &st) < 0)
			return zr_error_map(zip_get_error(za), name, err);
		if (zr_add(c, name, &cd->e[i], &st, err) < 0)
			return -1;
	}
	return zr_index(c, err);
}

/* Reads r's local header and sets r->offset, checking the name and the bounds. */
static int zr_locate(struct pt_container *c, struct pt_record *r,
		      struct pt_error *err)
{
	struct zr_priv *p = c->priv;
	uint64_t lho = p->lho[r - c->records], off;
	size_t plen = strlen(c->prefix), rlen = strlen(r->name);
	unsigned char h[LFH_LEN];
	char what[PT_ERROR_MSG_MAX / 2];
	char *lname;
	size_t nlen, xlen;
	int ret = -1;

	if (r->offset)
		return 0;
	snprintf(what, sizeof(what), "zip member %s/%s: local header", c->prefix,
		 r->name);
	if (pt_source_read(c->src, h, LFH_LEN, lho, what, err) < 0)
		return -1;
	if (memcmp(h, "PK\3\4", 4) != 0)
		return pt_error_set(err, PT_ERR_FORMAT,
				    "zip member %s/%s: no local header at offset %llu",
				    c->prefix, r->name, (unsigned long long)lho);
	nlen = pt_le16(h + 26);
	xlen = pt_le16(h + 28);
	lname = malloc(nlen + 1);
	if (!lname)
		return pt_error_set(err, PT_ERR_NOMEM, "out of memory");
	if (pt_source_read(c->src, lname, nlen, lho + LFH_LEN, what, err) < 0)
		goto out_free;
	lname[nlen] = '\0';
	if (nlen != plen + 1 + rlen || memcmp(lname, c->prefix, plen) != 0 ||
	    lname[plen] != '/' || memcmp(lname + plen + 1, r->name, rlen) != 0) {
		pt_error_set(err, PT_ERR_FORMAT,
			     "zip member %s/%s: local header names %s", c->prefix,
			     r->name, lname);
		goto out_free;
	}
	off = lho + LFH_LEN + nlen + xlen;
	if (off > c->src->size || r->csize > c->src->size - off) {
		pt_error_set(err, PT_ERR_FORMAT,
			     "zip member %s/%s: data extends past the end of the file",
			     c->prefix, r->name);
		goto out_free;
	}
	if (r->method == 0 && r->csize != r->size) {
		pt_error_set(err, PT_ERR_FORMAT,
			     "zip member %s/%s: stored, but its sizes differ (%llu, %llu compressed)",
			     c->prefix, r->name, (unsigned long long)r->size,
			     (unsigned long long)r->csize);
		goto out_free;
	}
	r->offset = off;
	ret = 0;
out_free:
	free(lname);
	return ret;
}

/* Inflates r (method 8) through libzip into buf (r->size bytes). */
static int zr_inflate(struct pt_container *c, zip_t *za, struct pt_record *r,
		       unsigned char *buf, struct pt_error *err)
{
	char full[PT_ERROR_MSG_MAX / 2];
	zip_int64_t idx, got, more;
	zip_file_t *f;
	unsigned char extra;
	int ret = -1;

	snprintf(full, sizeof(full), "%s/%s", c->prefix, r->name);
	if (!za) /* a plain archive stores every member: never reached */
		return pt_error_set(err, PT_ERR_FORMAT, "zip member %s is deflated", full);
	idx = zip_name_locate(za, full, ZIP_FL_ENC_RAW);
	if (idx < 0)
		return zr_error_map(zip_get_error(za), full, err);
	f = zip_fopen_index(za, (zip_uint64_t)idx, 0);
	if (!f)
		return zr_error_map(zip_get_error(za), full, err);
	got = zip_fread(f, buf, r->size);
	if (got == (zip_int64_t)r->size) {
		/* 0 at the end, once libzip has checked the CRC */
		more = zip_fread(f, &extra, 1);
		if (more < 0)
			got = -1;
		else if (more == 0)
			ret = 0;
	}
	if (got < 0)
		zr_error_map(zip_file_get_error(f), full, err);
	else if (ret < 0)
		pt_error_set(err, PT_ERR_FORMAT,
			     "zip member %s does not inflate to the %llu bytes the directory says",
			     full, (unsigned long long)r->size);
	zip_fclose(f);
	return ret;
}

/* Reads the whole of r (at most max bytes) into *out, a pages.h buffer of r->size bytes. */
static int zr_read_record(struct pt_container *c, zip_t *za, struct pt_record *r,
			   uint64_t max, unsigned char **out, struct pt_error *err)
{
	unsigned char *buf;
	char what[PT_ERROR_MSG_MAX / 2];

	if (r->method != 0 && r->method != 8)
		return pt_error_set(err, PT_ERR_UNSUPPORTED,
				    "zip member %s/%s is compressed with method %d",
				    c->prefix, r->name, r->method);
	if (zr_locate(c, r, err) < 0)
		return -1;
	if (r->size > max)
		return pt_error_set(err, PT_ERR_LIMIT,
				    "zip member %s/%s is %llu bytes, more than the %llu-byte limit",
				    c->prefix, r->name, (unsigned long long)r->size,
				    (unsigned long long)max);
	buf = pt_pages_alloc((size_t)r->size);
	if (!buf)
		return pt_error_set(err, PT_ERR_NOMEM, "out of memory");
	snprintf(what, sizeof(what), "zip member %s/%s", c->prefix, r->name);
	if (r->method == 0 ? pt_source_read(c->src, buf, (size_t)r->size, r->offset,
					    what, err) :
			     zr_inflate(c, za, r, buf, err)) {
		pt_pages_free(buf, (size_t)r->size);
		return -1;
	}
	*out = buf;
	return 0;
}

static int zr_read_byteorder(struct pt_container *c, zip_t *za,
			      struct pt_record *r, struct pt_error *err)
{
	unsigned char *buf;
	char show[TEXT_MAX + 1];
	size_t n = (size_t)r->size;
	int ret = 0;

	if (zr_read_record(c, za, r, TEXT_MAX, &buf, err) < 0)
		return -1;
	if (n == 3 && memcmp(buf, "big", 3) == 0) {
		c->big_endian = true;
	} else if (!(n == 6 && memcmp(buf, "little", 6) == 0)) {
		pt_zipdir_text_show(show, sizeof(show), buf, n);
		ret = pt_error_set(err, PT_ERR_FORMAT, "byteorder record says '%s'",
				   show);
	}
	pt_pages_free(buf, (size_t)r->size);
	return ret;
}

static int zr_read_version(struct pt_container *c, zip_t *za,
			    struct pt_record *r, struct pt_error *err)
{
	unsigned char *buf;
	char show[TEXT_MAX + 1];
	size_t n = (size_t)r->size, i;
	unsigned long v = 0;
	int ret = 0;

	if (zr_read_record(c, za, r, TEXT_MAX, &buf, err) < 0)
		return -1;
	if (n > 0 && buf[n - 1] == '\n')
		n--;
	for (i = 0; i < n && buf[i] >= '0' && buf[i] <= '9'; i++) {
		v = v * 10 + (unsigned long)(buf[i] - '0');
		if (v > 0xffffffffUL)
			break;
	}
	if (n == 0 || i != n) {
		pt_zipdir_text_show(show, sizeof(show), buf, (size_t)r->size);
		ret = pt_error_set(err, PT_ERR_FORMAT, "%s record says '%s'",
				   r->name, show);
	}
	c->version = (unsigned)v;
	pt_pages_free(buf, (size_t)r->size);
	return ret;
}

/*
 * TorchScript 1.0/1.1 archives have no data.pkl: model.json describes the
 * modules and the tensor table, attributes.pkl (optional) the attributes.
 */
static int zr_read_model_json(struct pt_container *c, zip_t *za, struct pt_error *err)
{
	struct pt_record *r = zr_lookup(c, "model.json");
	unsigned char *buf;

	if (zr_read_record(c, za, r, PICKLE_MAX, &buf, err) < 0)
		return -1;
	c->model_json = (char *)buf;
	c->model_json_len = (size_t)r->size;
	c->torchscript = true;
	r = zr_lookup(c, "attributes.pkl");
	if (r) {
		if (zr_read_record(c, za, r, PICKLE_MAX, &c->pickle, err) < 0)
			return -1;
		c->pickle_len = (size_t)r->size;
	}
	r = zr_lookup(c, "version");
	if (r && zr_read_version(c, za, r, err) < 0)
		return -1;
	return 0;
}

/* Reads data.pkl and the small records torch.load consults. */
static int zr_read_records(struct pt_container *c, zip_t *za,
			    struct pt_error *err)
{
	struct pt_record *r;

	r = zr_lookup(c, "data.pkl");
	if (!r && zr_lookup(c, "model.json"))
		return zr_read_model_json(c, za, err);
	if (!r)
		return pt_error_set(err, PT_ERR_FORMAT,
				    "zip archive has no %s/data.pkl", c->prefix);
	if (zr_read_record(c, za, r, PICKLE_MAX, &c->pickle, err) < 0)
		return -1;
	c->pickle_len = (size_t)r->size;
	r = zr_lookup(c, "byteorder");
	if (r && zr_read_byteorder(c, za, r, err) < 0)
		return -1;
	r = zr_lookup(c, ".data/version");
	if (!r)
		r = zr_lookup(c, "version");
	if (r && zr_read_version(c, za, r, err) < 0)
		return -1;
	c->torchscript = zr_lookup(c, "constants.pkl") != NULL;
	return 0;
}

static bool storage_key_valid(const char *key)
{
	return key && key[0] && !strchr(key, '/') && !strstr(key, "..");
}

/*
 * Binds s to r, the record called name (NULL when there is none): it must
 * exist, be stored, and hold s's bytes.
 */
static int zr_bind_record(struct pt_storage *s, struct pt_record *r, const char *name,
			  struct pt_error *err)
{
	if (!r)
		return pt_error_set(err, PT_ERR_FORMAT, "storage '%s': no record %s in the archive",
				    s->key, name);
	if (r->method != 0)
		return pt_error_set(err, PT_ERR_UNSUPPORTED,
				    "storage '%s': record %s is compressed (method %d); torch.save never compresses storages",
				    s->key, name, r->method);
	if (r->size != s->nbytes)
		return pt_error_set(err, PT_ERR_FORMAT,
				    "storage '%s': record %s holds %llu bytes, the pickle declares %llu (%llu x %s)",
				    s->key, name, (unsigned long long)r->size,
				    (unsigned long long)s->nbytes, (unsigned long long)s->numel,
				    pt_dtype_name(s->dtype));
	s->rec = r; /* its local header is read on first use: zr_locate_storage */
	return 0;
}

static int zr_locate_storage(struct pt_container *c, struct pt_storage *s, struct pt_error *err)
{
	struct pt_record *r = s->rec;

	if (zr_locate(c, r, err) < 0)
		return -1;
	s->data_offset = r->offset;
	return 0;
}

/*
 * The record called name: first the one after the last record bound (torch
 * writes data/0, data/1, ... in the order the pickle names them, so this
 * is the usual answer, with no probe of the name table), else a lookup.
 */
static struct pt_record *zr_find_next(const struct pt_container *c, const struct pt_record *prev,
				      const char *name)
{
	const struct pt_record *next = prev ? prev + 1 : c->records;

	if (next < c->records + c->nrecords && strcmp(next->name, name) == 0)
		return (struct pt_record *)next;
	return zr_lookup(c, name);
}

static int zr_bind_one(struct pt_container *c, struct pt_torch *t,
			struct pt_storage *s, const struct pt_record *prev, struct pt_error *err)
{
	size_t klen = strlen(s->key);
	char stackname[128], *name = stackname;
	struct pt_record *r;
	int ret;

	if (c->model_json && strncmp(s->key, "tensors/", 8) == 0 &&
	    storage_key_valid(s->key + 8))
		return zr_bind_record(s, zr_lookup(c, s->key), s->key, err); /* model.json names records */
	if (!storage_key_valid(s->key))
		return pt_error_set(err, PT_ERR_FORMAT,
				    "storage key '%s' is not a valid record name", s->key);
	/* no malloc or printf per storage: 100,000 of them are bound at mount */
	if (klen + sizeof("constants/") > sizeof(stackname))
		name = malloc(klen + sizeof("constants/"));
	if (!name)
		return pt_error_set(err, PT_ERR_NOMEM, "out of memory");
	memcpy(name, "data/", 5);
	memcpy(name + 5, s->key, klen + 1);
	r = zr_find_next(c, prev, name);
	if (!r && t->torchscript) {
		sprintf(name, "constants/%s", s->key);
		r = zr_lookup(c, name);
		if (!r)
			sprintf(name, "data/%s", s->key);
	}
	ret = zr_bind_record(s, r, name, err);
	if (name != stackname)
		free(name);
	return ret;
}

static int zr_bind(struct pt_container *c, struct pt_torch *t,
		    struct pt_error *err)
{
	const struct pt_record *prev = NULL;
	size_t i;

	for (i = 0; i < t->nstorages; i++) {
		if (zr_bind_one(c, t, t->storages[i], prev, err) < 0)
			return -1;
		prev = t->storages[i]->rec;
	}
	return 0;
}

static void zr_close(struct pt_container *c)
{
	struct zr_priv *p = c->priv;

	if (!p)
		return;
	pt_pages_free(p->tables, p->tables_len);
	c->records = NULL;
	c->nrecords = 0;
	free(p);
	c->priv = NULL;
}

int pt_zip_read_member(struct pt_container *c, const char *name, uint64_t max,
		       unsigned char **out, size_t *len, struct pt_error *err)
{
	struct zsrc zs = { .src = c->src };
	struct pt_record *r = c->format == PT_FORMAT_ZIP ? zr_lookup(c, name) : NULL;
	zip_t *za = NULL;
	int ret = -1;

	if (!r)
		return pt_error_set(err, PT_ERR_NOTFOUND, "no zip member %s", name);
	zip_error_init(&zs.error);
	pthread_mutex_lock(&c->lock);
	if (r->method == 8 && r->size <= max && !(za = zr_libzip_open(&zs, err)))
		goto out_unlock;
	ret = zr_read_record(c, za, r, max, out, err);
	if (ret == 0)
		*len = (size_t)r->size;
	if (za)
		zip_discard(za);
out_unlock:
	pthread_mutex_unlock(&c->lock);
	zip_error_fini(&zs.error);
	return ret;
}

static const struct pt_container_ops zr_ops = {
	.bind = zr_bind,
	.locate = zr_locate_storage,
	.close = zr_close,
};

int pt_zip_open(struct pt_container *c, struct pt_error *err)
{
	struct zsrc zs = { .src = c->src };
	struct pt_zipdir cd = { 0 };
	zip_t *za = NULL;
	int ret = -1;

	c->ops = &zr_ops;
	c->priv = calloc(1, sizeof(struct zr_priv));
	if (!c->priv)
		return pt_error_set(err, PT_ERR_NOMEM, "out of memory");
	zip_error_init(&zs.error);
	if (pt_zipdir_read(c->src, &cd, err) < 0)
		goto out_free_cd;
	if (cd.plain && !(c->flags & PT_CONTAINER_LIBZIP)) {
		if (zr_collect_plain(c, &cd, err) < 0)
			goto out_free_cd;
	} else {
		zs.cache = cd.buf;
		zs.cache_off = cd.off;
		zs.cache_len = cd.size;
		za = zr_libzip_open(&zs, err);
		if (!za || zr_collect_libzip(c, za, &cd, err) < 0)
			goto out_discard;
	}
	if (zr_read_records(c, za, err) < 0)
		goto out_discard;
	ret = 0;
out_discard:
	if (za)
		zip_discard(za);
out_free_cd:
	pt_zipdir_free(&cd);
	zip_error_fini(&zs.error);
	return ret;
}
