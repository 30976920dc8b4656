/*
 * shards.c - sharded safetensors sets: the index, the lazy source, the
 * container.
 *
 * Opening finds the shards (the index's weight_map, or the folder's
 * PREFIX-0000K-of-0000N.safetensors files), sorts them by name, reads and
 * validates each header through a short-lived pt_source, and checks the
 * header's names against the index in both directions. The set's source
 * lays the shards end to end (shard i starts at base[i]); its pread finds
 * the shard by binary search and opens it on first use, under the set's
 * lock, refusing a file that is no longer the one whose header was read
 * (ESTALE). Descriptors stay open until the source is closed.
 */
#define _GNU_SOURCE
#include "shards.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "json.h"
#include "pickle.h"
#include "safetensors.h"

#define SHARDS_MAX_INDEX (64u << 20) /* bytes of an index file */
#define SHARDS_MAX 100000

struct shard {
	char *name;  /* as the index names it */
	char *path;  /* folder + "/" + name */
	uint64_t base, size;
	uint64_t dev, ino;
	int64_t mtime_ns;
	int fd;      /* -1 until first use; read with __atomic_load_n */
	struct pt_st_header h; /* a safetensors shard's */
	bool bin;        /* a torch.save shard: its pickle runs at load */
	size_t nindexed; /* weight_map entries naming it */
};

struct shards {
	struct pt_source src; /* first: the source the caller holds */
	struct pt_arena arena;
	struct shard *sh;
	size_t n;
	struct pt_value *metadata;
	struct pt_value *wm;   /* the index's weight_map, or NULL */
	char *idxname;         /* for messages: the index's file name, or the folder */
	struct pt_sdpickle_item *items; /* made by pt_shards_load */
	size_t nitems;
	pthread_mutex_t lock;
};

static ssize_t shards_pread(struct pt_source *s, void *buf, size_t n, uint64_t off);
static void shards_close(struct pt_source *s);

static const struct pt_source_ops shards_ops = {
	.pread = shards_pread,
	.close = shards_close,
};

bool pt_shards_owns(const struct pt_source *src)
{
	return src && src->ops == &shards_ops;
}


static int64_t mtime_ns(const struct stat *st)
{
	return (int64_t)st->st_mtim.tv_sec * 1000000000 + st->st_mtim.tv_nsec;
}

/* The shard holding byte off (off < total size). */
static struct shard *find_shard(struct shards *S, uint64_t off)
{
	size_t lo = 0, hi = S->n;

	while (hi - lo > 1) {
		size_t mid = lo + (hi - lo) / 2;

		if (S->sh[mid].base <= off)
			lo = mid;
		else
			hi = mid;
	}
	return &S->sh[lo];
}

/* The shard's descriptor, opened on first use; -1 with errno. */
static int shard_fd(struct shards *S, struct shard *sh)
{
	struct stat st;
	int fd = __atomic_load_n(&sh->fd, __ATOMIC_ACQUIRE), saved;

	if (fd >= 0)
		return fd;
	pthread_mutex_lock(&S->lock);
	fd = sh->fd;
	if (fd < 0) {
		fd = open(sh->path, O_RDONLY | O_CLOEXEC);
		if (fd >= 0 && (fstat(fd, &st) < 0 || (uint64_t)st.st_size != sh->size ||
				(uint64_t)st.st_ino != sh->ino || (uint64_t)st.st_dev != sh->dev ||
				mtime_ns(&st) != sh->mtime_ns)) {
			close(fd);
			fd = -1;
			errno = ESTALE;
		}
		if (fd >= 0)
			__atomic_store_n(&sh->fd, fd, __ATOMIC_RELEASE);
	}
	saved = errno;
	pthread_mutex_unlock(&S->lock);
	errno = saved;
	return fd;
}

static ssize_t shards_pread(struct pt_source *s, void *buf, size_t n, uint64_t off)
{
	struct shards *S = (struct shards *)s;
	struct shard *sh;
	uint64_t left;
	int fd;

	if (off >= s->size || S->n == 0)
		return 0;
	sh = find_shard(S, off);
	left = sh->base + sh->size - off;
	if (n > left)
		n = (size_t)left;
	fd = shard_fd(S, sh);
	if (fd < 0)
		return -1;
	return pread(fd, buf, n, (off_t)(off - sh->base));
}

static void shards_close(struct pt_source *s)
{
	struct shards *S = (struct shards *)s;
	size_t i;

	for (i = 0; i < S->n; i++)
		if (S->sh[i].fd >= 0)
			close(S->sh[i].fd);
	free(S->sh);
	pthread_mutex_destroy(&S->lock);
	pt_arena_release(&S->arena);
	free(S->src.name);
	free(S);
}

int pt_shards_fd(struct pt_source *src, uint64_t off, uint64_t len, uint64_t *local,
		 struct pt_error *err)
{
	struct shards *S = (struct shards *)src;
	struct shard *sh;
	int fd;

	if (!pt_shards_owns(src) || S->n == 0 || off >= src->size)
		return pt_error_set(err, PT_ERR_INVAL, "bytes %llu.. are in no shard",
				    (unsigned long long)off);
	sh = find_shard(S, off);
	if (len > sh->base + sh->size - off)
		return pt_error_set(err, PT_ERR_INVAL, "bytes %llu.. cross shard '%s'",
				    (unsigned long long)off, sh->name);
	fd = shard_fd(S, sh);
	if (fd < 0)
		return pt_error_sys(err, errno, "shard '%s'", sh->path);
	*local = off - sh->base;
	return fd;
}

/* A shard name the index may use: relative, no ".." part, no empty name. */
static int name_check(const char *idx, const char *name, struct pt_error *err)
{
	const char *p = name;

	if (!name[0] || name[0] == '/')
		return pt_error_set(err, PT_ERR_FORMAT, "%s: shard '%s': not a relative file name",
				    idx, name);
	while (*p) {
		size_t l = strcspn(p, "/");

		if (l == 2 && p[0] == '.' && p[1] == '.')
			return pt_error_set(err, PT_ERR_FORMAT,
					    "%s: shard '%s': a '..' part leaves the index's folder",
					    idx, name);
		p += l;
		if (*p)
			p++;
	}
	return 0;
}

static int by_name(const void *x, const void *y)
{
	return strcmp(((const struct shard *)x)->name, ((const struct shard *)y)->name);
}

/* Reads shard sh's header; fills its identity and size. */
static int shard_read(struct shards *S, struct shard *sh, const char *idx, struct pt_error *err)
{
	struct pt_source *f = pt_source_open_file(sh->path, err);
	unsigned char head[9];
	int ret = -1;

	if (!f) {
		pt_error_set(err, err->code, "%s: shard '%s': %s", idx, sh->name,
			     err->sys_errno ? strerror(err->sys_errno) : err->msg);
		return -1;
	}
	sh->size = f->size;
	sh->dev = f->dev;
	sh->ino = f->ino;
	sh->mtime_ns = f->mtime_ns;
	if (f->size >= 4 && pt_source_read(f, head, 4, 0, "shard", err) == 0 &&
	    (memcmp(head, "PK\3\4", 4) == 0 || memcmp(head, "\x80\x02\x8a\x0a", 4) == 0)) {
		sh->bin = true; /* its pickle runs in pt_shards_load */
		ret = 0;
		goto out_close;
	}
	if (pt_st_header_read(&S->arena, f, &sh->h, err) < 0) {
		pt_error_prefix(err, "%s: shard '%s'", idx, sh->name);
		goto out_close;
	}
	ret = 0;
out_close:
	pt_source_close(f);
	return ret;
}

/* The shard called name, added when new. */
static struct shard *shard_get(struct shards *S, size_t *cap, const char *dir, const char *name,
			       struct pt_error *err)
{
	size_t i;
	struct shard *sh;

	for (i = S->n; i-- > 0;) /* an index names shards in runs */
		if (strcmp(S->sh[i].name, name) == 0)
			return &S->sh[i];
	if (S->n == SHARDS_MAX)
		return pt_error_set(err, PT_ERR_LIMIT, "more than %d shards", SHARDS_MAX), NULL;
	if (S->n == *cap) {
		struct shard *v = realloc(S->sh, (*cap ? *cap * 2 : 8) * sizeof(*v));

		if (!v)
			return pt_error_set(err, PT_ERR_NOMEM, "out of memory"), NULL;
		S->sh = v;
		*cap = *cap ? *cap * 2 : 8;
	}
	sh = &S->sh[S->n];
	memset(sh, 0, sizeof(*sh));
	sh->fd = -1;
	sh->name = pt_arena_strndup(&S->arena, name, strlen(name), err);
	sh->path = pt_arena_alloc(&S->arena, strlen(dir) + strlen(name) + 2, err);
	if (!sh->name || !sh->path)
		return NULL;
	sprintf(sh->path, "%s/%s", dir, name);
	S->n++;
	return sh;
}

/* Reads the index file at path into its weight_map and metadata. */
static int index_read(struct shards *S, const char *path, struct pt_value **wm,
		      struct pt_error *err)
{
	struct pt_source *f = pt_source_open_file(path, err);
	const char *base = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;
	struct pt_value *root, *v;
	char *text;
	size_t i;
	int ret = -1;

	if (!f)
		return -1;
	if (f->size > SHARDS_MAX_INDEX) {
		pt_error_set(err, PT_ERR_LIMIT, "%s: index of %llu bytes (at most %u)", base,
			     (unsigned long long)f->size, SHARDS_MAX_INDEX);
		goto out_close;
	}
	text = pt_arena_alloc(&S->arena, (size_t)f->size + 1, err);
	if (!text || pt_source_read(f, text, (size_t)f->size, 0, base, err) < 0)
		goto out_close;
	if (pt_json_parse_with(&S->arena, text, (size_t)f->size, PT_JSON_UNIQUE_KEYS, &root,
			       err) < 0) {
		pt_error_prefix(err, "%s", base);
		goto out_close;
	}
	v = root->kind == PT_V_DICT ? pt_vdict_get_str(&root->u.dict, "weight_map") : NULL;
	if (!v || v->kind != PT_V_DICT) {
		pt_error_set(err, PT_ERR_FORMAT, "%s: no \"weight_map\" object", base);
		goto out_close;
	}
	for (i = 0; i < v->u.dict.n; i++)
		if (v->u.dict.v[i]->kind != PT_V_STR) {
			pt_error_set(err, PT_ERR_FORMAT, "%s: weight_map['%s'] is not a file name",
				     base, v->u.dict.k[i]->u.s.p);
			goto out_close;
		}
	*wm = v;
	S->metadata = pt_vdict_get_str(&root->u.dict, "metadata");
	ret = 0;
out_close:
	pt_source_close(f);
	return ret;
}

/* The i-th tensor name of what the shard holds: its header's, or d's keys. */
static const char *held(const struct shard *sh, const struct pt_value *d, size_t first, size_t i)
{
	return d ? d->u.dict.k[first + i]->u.s.p : sh->h.tensors[i].name;
}

/*
 * Every name the shard holds (its header's, or d's keys from first on) is
 * the index's for this shard, and the counts agree.
 */
static int shard_match(struct shards *S, struct shard *sh, const struct pt_value *wm,
		       const char *idx, const struct pt_value *dk, size_t first,
		       struct pt_error *err)
{
	struct pt_value d = { .kind = PT_V_DICT };
	size_t i, nheld = dk ? dk->u.dict.n - first : sh->h.ntensors;

	for (i = 0; i < nheld; i++) {
		const char *t = held(sh, dk, first, i);
		const struct pt_value *w = pt_vdict_get_str(&wm->u.dict, t);

		if (!w)
			return pt_error_set(err, PT_ERR_FORMAT,
					    "%s: shard '%s' holds '%s', which the index does not name",
					    idx, sh->name, t);
		if (strcmp(w->u.s.p, sh->name) != 0)
			return pt_error_set(err, PT_ERR_FORMAT,
					    "%s: shard '%s' holds '%s', which the index puts in '%s'",
					    idx, sh->name, t, w->u.s.p);
	}
	if (nheld == sh->nindexed)
		return 0;
	/* some name of the index is missing from the shard: find it */
	for (i = 0; i < nheld; i++) {
		struct pt_value *k = pt_value_str(&S->arena, held(sh, dk, first, i),
						  strlen(held(sh, dk, first, i)), err);

		if (!k || pt_vdict_set(&S->arena, &d.u.dict, k, k, err) < 0)
			return -1;
	}
	for (i = 0; i < wm->u.dict.n; i++)
		if (strcmp(wm->u.dict.v[i]->u.s.p, sh->name) == 0 &&
		    !pt_vdict_get_str(&d.u.dict, wm->u.dict.k[i]->u.s.p))
			break;
	return pt_error_set(err, PT_ERR_FORMAT,
			    "%s: the index puts '%s' in shard '%s', which does not hold it", idx,
			    i < wm->u.dict.n ? wm->u.dict.k[i]->u.s.p : "?", sh->name);
}

/* K and N of "PREFIX-0000K-of-0000N.safetensors", with the prefix's length. */
static bool shard_pattern(const char *name, size_t *plen, unsigned *k, unsigned *n)
{
	size_t l = strlen(name);
	const char *sfx = l > 4 && strcmp(name + l - 4, ".bin") == 0 ? ".bin" : ".safetensors", *p;
	size_t sl = strlen(sfx);
	int used = 0;

	if (l < sl + 15 || strcmp(name + l - sl, sfx) != 0)
		return false;
	p = name + l - sl - 15; /* "-00001-of-00002" */
	if (sscanf(p, "-%5u-of-%5u%n", k, n, &used) != 2 || used != 15 || *k == 0 || *k > *n)
		return false;
	*plen = (size_t)(p - name);
	return true;
}

/* The shards of folder dir without an index: one complete -K-of-N run. */
static int folder_scan(struct shards *S, size_t *cap, const char *dir, struct pt_error *err)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	char *prefix = NULL;
	size_t plen0 = 0, plen, i;
	unsigned k, n, n0 = 0;
	int ret = -1;

	if (!d)
		return pt_error_sys(err, errno, "%s", dir);
	while ((e = readdir(d))) {
		if (!shard_pattern(e->d_name, &plen, &k, &n))
			continue;
		if (!prefix) {
			prefix = strndup(e->d_name, plen);
			plen0 = plen;
			n0 = n;
			if (!prefix) {
				pt_error_set(err, PT_ERR_NOMEM, "out of memory");
				goto out;
			}
		} else if (plen != plen0 || strncmp(prefix, e->d_name, plen) != 0 || n != n0) {
			pt_error_set(err, PT_ERR_FORMAT,
				     "shards of two sets ('%s' and '%s-...-of-%05u'); name the index or one file",
				     e->d_name, prefix, n0);
			goto out;
		}
		if (!shard_get(S, cap, dir, e->d_name, err))
			goto out;
	}
	if (!prefix) {
		pt_error_set(err, PT_ERR_NOTFOUND,
			     "a folder with no *.index.json and no PREFIX-0000K-of-0000N shards (.safetensors or .bin)");
		goto out;
	}
	qsort(S->sh, S->n, sizeof(*S->sh), by_name);
	for (i = 0; i < S->n; i++) {
		shard_pattern(S->sh[i].name, &plen, &k, &n);
		if (k != i + 1) {
			pt_error_set(err, PT_ERR_NOTFOUND, "shard %s-%05zu-of-%05u is missing", prefix,
				     i + 1, n0);
			goto out;
		}
	}
	if (S->n != n0) {
		pt_error_set(err, PT_ERR_NOTFOUND, "shard %s-%05u-of-%05u is missing", prefix, n0,
			     n0);
		goto out;
	}
	ret = 0;
out:
	free(prefix);
	closedir(d);
	return ret;
}

/* The index of folder dir (model.safetensors.index.json first), into buf; 0 when none. */
static int folder_index(const char *dir, char *buf, size_t cap, struct pt_error *err)
{
	static const char *const known[] = { "model.safetensors.index.json",
					     "pytorch_model.bin.index.json" };
	struct stat st;
	DIR *d;
	struct dirent *e;
	int found = 0;
	size_t i;

	for (i = 0; i < 2; i++) {
		snprintf(buf, cap, "%s/%s", dir, known[i]);
		if (stat(buf, &st) == 0)
			return 1;
	}
	d = opendir(dir);
	if (!d)
		return pt_error_sys(err, errno, "%s", dir);
	while ((e = readdir(d))) {
		size_t l = strlen(e->d_name);

		if (l <= 11 || strcmp(e->d_name + l - 11, ".index.json") != 0)
			continue;
		if (found++) {
			closedir(d);
			return pt_error_set(err, PT_ERR_FORMAT,
					    "more than one *.index.json; name the one to mount");
		}
		snprintf(buf, cap, "%s/%s", dir, e->d_name);
	}
	closedir(d);
	return found;
}

/* True when folder dir holds an index or a PREFIX-0000K-of-0000N shard. */
static bool folder_has_set(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	size_t plen;
	unsigned k, n;
	bool found = false;

	if (!d)
		return false;
	while (!found && (e = readdir(d))) {
		size_t l = strlen(e->d_name);

		found = (l > 11 && strcmp(e->d_name + l - 11, ".index.json") == 0) ||
			shard_pattern(e->d_name, &plen, &k, &n);
	}
	closedir(d);
	return found;
}

bool pt_shards_path(const char *path)
{
	struct stat st;
	size_t n = strlen(path);

	if (stat(path, &st) == 0 && S_ISDIR(st.st_mode))
		return folder_has_set(path);
	return n > 11 && strcmp(path + n - 11, ".index.json") == 0;
}

struct pt_source *pt_shards_open(const char *path, struct pt_error *err)
{
	struct shards *S = calloc(1, sizeof(*S));
	struct pt_value *wm = NULL;
	char index[PATH_MAX], dir[PATH_MAX];
	const char *idxname;
	struct stat st;
	size_t cap = 0, i;
	uint64_t base = 0;
	int has;

	if (!S)
		return pt_error_set(err, PT_ERR_NOMEM, "out of memory"), NULL;
	pt_arena_init(&S->arena, 0);
	pthread_mutex_init(&S->lock, NULL);
	S->src.ops = &shards_ops;
	S->src.fd = -1;
	S->src.name = strdup(path);
	if (!S->src.name) {
		pt_error_set(err, PT_ERR_NOMEM, "out of memory");
		goto fail;
	}
	if (stat(path, &st) < 0) {
		pt_error_sys(err, errno, "%s", path);
		goto fail;
	}
	if (S_ISDIR(st.st_mode)) {
		snprintf(dir, sizeof(dir), "%s", path);
		has = folder_index(path, index, sizeof(index), err);
		if (has < 0)
			goto fail;
	} else {
		const char *slash = strrchr(path, '/');

		snprintf(index, sizeof(index), "%s", path);
		if (slash)
			snprintf(dir, sizeof(dir), "%.*s", (int)(slash == path ? 1 : slash - path), path);
		else
			snprintf(dir, sizeof(dir), ".");
		has = 1;
	}
	S->src.mtime_ns = mtime_ns(&st); /* the index's or folder's identity, for messages */
	S->src.dev = (uint64_t)st.st_dev;
	S->src.ino = (uint64_t)st.st_ino;
	idxname = has ? (strrchr(index, '/') ? strrchr(index, '/') + 1 : index) : path;
	if (has) {
		if (index_read(S, index, &wm, err) < 0)
			goto fail;
		for (i = 0; i < wm->u.dict.n; i++) {
			const char *name = wm->u.dict.v[i]->u.s.p;
			struct shard *sh;

			if (name_check(idxname, name, err) < 0)
				goto fail;
			sh = shard_get(S, &cap, dir, name, err);
			if (!sh)
				goto fail;
			sh->nindexed++;
		}
		qsort(S->sh, S->n, sizeof(*S->sh), by_name);
	} else if (folder_scan(S, &cap, dir, err) < 0) {
		goto fail;
	}
	for (i = 0; i < S->n; i++) {
		struct shard *sh = &S->sh[i];

		if (shard_read(S, sh, idxname, err) < 0 ||
		    (wm && !sh->bin && shard_match(S, sh, wm, idxname, NULL, 0, err) < 0))
			goto fail;
		sh->base = base;
		base += sh->size;
	}
	S->src.size = base;
	S->wm = wm;
	S->idxname = pt_arena_strndup(&S->arena, idxname, strlen(idxname), err);
	if (!S->idxname)
		goto fail;
	return &S->src;

fail:
	shards_close(&S->src);
	return NULL;
}

static int shards_bind(struct pt_container *c, struct pt_torch *t, struct pt_error *err)
{
	return 0; /* pt_shards_load bound every storage */
}

static void shards_cclose(struct pt_container *c)
{
}

static const struct pt_container_ops shards_cops = {
	.bind = shards_bind,
	.close = shards_cclose,
};

int pt_shards_container_open(struct pt_container *c, struct pt_error *err)
{
	c->ops = &shards_cops;
	c->priv = c->src;
	return 0;
}

/* The shard's file is still the one measured at open. */
static int shard_same(const struct shard *sh, const struct pt_source *f, struct pt_error *err)
{
	if (f->size != sh->size || f->ino != sh->ino || f->dev != sh->dev ||
	    f->mtime_ns != sh->mtime_ns)
		return pt_error_set(err, PT_ERR_STALE, "shard '%s' changed while the set was opened",
				    sh->name);
	return 0;
}

/*
 * A torch.save shard: its pickle runs (torch hooks, no execution) into a
 * table of its own, each storage is bound and located in the shard, then
 * made again in t under the next key, bound at base + its offset; the
 * state_dict's tensors are copied onto the new storages and set in d.
 */
static int bin_load(struct shards *S, struct shard *sh, struct pt_torch *t, struct pt_arena *a,
		    size_t *next, struct pt_value *d, struct pt_error *err)
{
	struct pt_source *f = pt_source_open_file(sh->path, err);
	struct pt_torch st = { .arena = t->arena };
	struct pt_storage **map = NULL;
	struct pt_container *c = NULL;
	struct pt_pickle_hooks hooks;
	struct pt_pickle_opts po;
	struct pt_value *root;
	char key[32];
	size_t used, i;
	int ret = -1;

	if (!f || shard_same(sh, f, err) < 0)
		goto out;
	c = pt_container_open(f, err);
	if (!c)
		goto out;
	if (c->torchscript || c->model_json || c->big_endian) {
		pt_error_set(err, PT_ERR_UNSUPPORTED,
			     "a TorchScript or big-endian archive, not a torch.save state_dict");
		goto out;
	}
	pt_torch_hooks(&st, &hooks);
	pt_pickle_opts_default(&po);
	po.hooks = &hooks;
	if (pt_pickle_load(a, c->pickle, c->pickle_len, &po, &root, &used, err) < 0 ||
	    pt_container_bind(c, &st, err) < 0)
		goto out;
	if (root->kind != PT_V_DICT) {
		pt_error_set(err, PT_ERR_UNSUPPORTED, "holds %s, not a state_dict",
			     pt_vkind_name(root->kind));
		goto out;
	}
	map = calloc(st.nstorages ? st.nstorages : 1, sizeof(*map));
	if (!map) {
		pt_error_set(err, PT_ERR_NOMEM, "out of memory");
		goto out;
	}
	for (i = 0; i < st.nstorages; i++) {
		struct pt_storage *o = st.storages[i];

		if (pt_container_locate(c, o, err) < 0)
			goto out;
		snprintf(key, sizeof(key), "%zu", (*next)++);
		map[i] = pt_torch_storage_add(t, key, o->dtype, o->numel, o->saved_location, err);
		if (!map[i])
			goto out;
		map[i]->data_offset = sh->base + o->data_offset;
		__atomic_store_n(&map[i]->bound, true, __ATOMIC_RELEASE);
	}
	for (i = 0; i < root->u.dict.n; i++) {
		struct pt_value *k = root->u.dict.k[i], *v = root->u.dict.v[i], *nv;
		struct pt_tensor *tn;
		size_t n0 = d->u.dict.n;

		if (k->kind != PT_V_STR || v->kind != PT_V_TENSOR || !v->u.tensor->storage) {
			pt_error_set(err, PT_ERR_UNSUPPORTED,
				     "item %zu is not a str key with a tensor: not a state_dict of tensors",
				     i);
			goto out;
		}
		tn = pt_arena_alloc(t->arena, sizeof(*tn), err);
		nv = pt_value_new(a, PT_V_TENSOR, err);
		if (!tn || !nv)
			goto out;
		*tn = *v->u.tensor;
		tn->storage = map[v->u.tensor->storage->index];
		nv->u.tensor = tn;
		if (pt_vdict_set(a, &d->u.dict, k, nv, err) < 0)
			goto out;
		if (d->u.dict.n == n0) {
			pt_error_set(err, PT_ERR_FORMAT, "'%s' is in two shards", k->u.s.p);
			goto out;
		}
	}
	ret = 0;
out:
	free(map);
	pt_container_close(c);
	pt_source_close(f); /* opened again on first read, through the set's source */
	return ret;
}

int pt_shards_load(struct pt_container *c, struct pt_torch *t, struct pt_arena *a,
		   struct pt_value **root, struct pt_error *err)
{
	struct shards *S = c->priv;
	struct pt_value *d = pt_value_new(a, PT_V_DICT, err);
	size_t next = 0, i;

	if (!d)
		return -1;
	d->type = "collections.OrderedDict";
	for (i = 0; i < S->n; i++) {
		struct shard *sh = &S->sh[i];
		size_t first = d->u.dict.n;

		if (!sh->bin) {
			if (pt_st_add_tensors(t, a, &sh->h, sh->base, &next, d, err) < 0) {
				pt_error_prefix(err, "shard '%s'", sh->name);
				return -1;
			}
			continue;
		}
		if (bin_load(S, sh, t, a, &next, d, err) < 0) {
			pt_error_prefix(err, "%s: shard '%s'", S->idxname, sh->name);
			return -1;
		}
		if (S->wm && shard_match(S, sh, S->wm, S->idxname, d, first, err) < 0)
			return -1;
	}
	if (pt_st_record_items(&S->arena, d, &S->items, &S->nitems, err) < 0)
		return -1;
	*root = d;
	return 0;
}

const struct pt_sdpickle_item *pt_shards_items(const struct pt_container *c, size_t *n)
{
	const struct shards *S = c->priv;

	*n = S ? S->nitems : 0;
	return S ? S->items : NULL;
}

const struct pt_value *pt_shards_metadata(const struct pt_container *c)
{
	const struct shards *S = c->priv;

	return S ? S->metadata : NULL;
}
