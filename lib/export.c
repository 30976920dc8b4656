/*
 * export.c - a mounted checkpoint written as a safetensors file or HF shards.
 *
 * What is exported (docs/export.md): every tensor file of the tree, named
 * by its path with '/' turned into '.', so a state_dict's split keys come
 * back as they were ("layer1.0.weight") and nested containers join their
 * names ("model.layer1.0.weight"); str leaves become "__metadata__"
 * entries under the same kind of name; everything else is listed in the
 * summary as left out. Tensors sharing storage are handled as
 * huggingface_hub's save_torch_state_dict handles them
 * (_remove_duplicate_names with _filter_shared_not_shared): per storage,
 * tensors whose byte areas overlap form a group; a group keeps its
 * alphabetically first complete tensor (offset 0, all of the storage) and
 * drops the others, recording metadata[dropped] = kept; a group with no
 * complete tensor (where huggingface_hub raises) keeps every tensor, each
 * written as its own elements. Every tensor is written as its contiguous
 * elements (pt_tensor_read), or copied in the kernel with copy_file_range
 * when it is one little-endian run in the source (pt_tensor_span).
 *
 * Files are written under hidden temporary names in the target folder,
 * fsynced, then renamed: the shards first, the index last, then the
 * folder is fsynced. A failure removes every temporary.
 */
#define _GNU_SOURCE
#include "export.h"
#include "save.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "stwrite.h"

struct xt {
	const struct pt_tensor *t;
	char *name;
	uint64_t start, stop; /* bytes of its storage it covers */
	bool complete, dropped;
	unsigned shard;
};

struct shard {
	struct pt_st_entry *e;
	size_t n;
	uint64_t bytes;
	unsigned char *hdr;
	size_t hdrlen;
	char final[PATH_MAX], tmp[PATH_MAX];
	int fd;
};

struct pt_export_job {
	struct pt_checkpoint *ck;
	char path[PATH_MAX], dir[PATH_MAX];
	struct xt *xs;
	size_t nx, capx;
	struct pt_st_meta *meta;
	size_t nmeta, capmeta;
	char **pool; /* strings to free */
	size_t npool, cappool;
	struct shard *sh;
	size_t nsh;
	char *index;          /* the index JSON, or NULL for one file */
	struct shard idx;     /* its file (final, tmp, fd) */
	int dirfd;
	bool made_dir, done; /* DIR was made here; the files were published */
	uint64_t total;
	size_t nleft, ndropped;
	char *left;           /* "a (int), b (meta)..." */
	size_t leftlen, leftcap;
	char summary[4096];
};

static char *keep(struct pt_export_job *j, char *s)
{
	char **np;

	if (!s)
		return NULL;
	if (j->npool == j->cappool) {
		np = realloc(j->pool, (j->cappool * 2 + 16) * sizeof(*np));
		if (!np) {
			free(s);
			return NULL;
		}
		j->pool = np;
		j->cappool = j->cappool * 2 + 16;
	}
	return j->pool[j->npool++] = s;
}

static int add_meta(struct pt_export_job *j, const char *key, const char *value)
{
	size_t i;

	for (i = 0; i < j->nmeta; i++)
		if (strcmp(j->meta[i].key, key) == 0)
			return 0; /* the first one stays, as huggingface_hub keeps user data */
	if (j->nmeta == j->capmeta) {
		struct pt_st_meta *nm = realloc(j->meta, (j->capmeta * 2 + 8) * sizeof(*nm));

		if (!nm)
			return -1;
		j->meta = nm;
		j->capmeta = j->capmeta * 2 + 8;
	}
	j->meta[j->nmeta].key = key;
	j->meta[j->nmeta++].value = value;
	return 0;
}

static void add_left(struct pt_export_job *j, const char *name, const char *why)
{
	size_t need = strlen(name) + strlen(why) + 8;

	j->nleft++;
	if (j->leftlen + need > 3000)
		return; /* the count still tells how many */
	if (j->leftlen + need > j->leftcap) {
		char *np = realloc(j->left, j->leftlen + need + 1024);

		if (!np)
			return;
		j->left = np;
		j->leftcap = j->leftlen + need + 1024;
	}
	j->leftlen += (size_t)sprintf(j->left + j->leftlen, "%s%s (%s)", j->leftlen ? ", " : "",
				      name, why);
}

/* The exported name of n: its path with '/' as '.'. */
static char *node_name(const struct pt_node *n)
{
	size_t len = pt_node_path(n, NULL, 0), i;
	char *s = malloc(len + 1);

	if (!s)
		return NULL;
	pt_node_path(n, s, len + 1);
	for (i = 0; i < len; i++)
		if (s[i] == '/')
			s[i] = '.';
	return s;
}

static int add_tensor(struct pt_export_job *j, const struct pt_node *n, char *name)
{
	const struct pt_tensor *t = n->u.tensor;
	const char *loc = pt_tensor_location(t);
	uint64_t es = pt_dtype_size(t->dtype), last = 0;
	struct xt *x;
	int k;

	if (!t->storage || (loc && strcmp(loc, "meta") == 0)) {
		add_left(j, name, "tensor on meta: no data");
		return 0;
	}
	if (!pt_st_dtype(t->dtype)) {
		char why[64];

		snprintf(why, sizeof(why), "%s: no safetensors dtype", pt_dtype_name(t->dtype));
		add_left(j, name, why);
		return 0;
	}
	if (j->nx == j->capx) {
		x = realloc(j->xs, (j->capx * 2 + 64) * sizeof(*x));
		if (!x)
			return -1;
		j->xs = x;
		j->capx = j->capx * 2 + 64;
	}
	x = &j->xs[j->nx++];
	memset(x, 0, sizeof(*x));
	x->t = t;
	x->name = name;
	for (k = 0; k < t->ndim; k++)
		if (t->shape[k] > 0)
			last += (uint64_t)(t->shape[k] - 1) * (uint64_t)t->stride[k];
	x->start = (uint64_t)t->offset * es;
	x->stop = t->numel ? x->start + last * es + es : x->start;
	x->complete = t->offset == 0 && t->nbytes == t->storage->nbytes;
	return 0;
}

/* Collects tensors, metadata and what is left out, walking the tree in order. */
static int collect(struct pt_export_job *j, struct pt_error *err)
{
	const struct pt_tree *tr = j->ck->tree;
	const struct pt_node *n;

	for (n = pt_tree_next(tr, NULL); n; n = pt_tree_next(tr, n)) {
		char *name;

		if (n->kind == PT_NODE_DIR || n->kind == PT_NODE_SPECIAL)
			continue;
		name = keep(j, node_name(n));
		if (!name)
			goto out_nomem;
		if (n->kind == PT_NODE_TENSOR) {
			if (add_tensor(j, n, name) < 0)
				goto out_nomem;
		} else if (n->kind == PT_NODE_DATA && n->type && strcmp(n->type, "str") == 0 &&
			   !memchr(n->u.data.p, '\0', n->u.data.len)) {
			size_t len = n->u.data.len;
			char *v;

			if (len && n->u.data.p[len - 1] == '\n')
				len--;
			v = keep(j, strndup(n->u.data.p, len));
			if (!v || add_meta(j, name, v) < 0)
				goto out_nomem;
		} else {
			add_left(j, name, n->kind == PT_NODE_LINK ? "link to a shared container"
					  : n->type ? n->type : "data");
		}
	}
	return 0;
out_nomem:
	return pt_error_set(err, PT_ERR_NOMEM, "out of memory");
}

static int area_cmp(const void *a, const void *b)
{
	const struct xt *x = *(const struct xt *const *)a, *y = *(const struct xt *const *)b;

	if (x->t->storage != y->t->storage)
		return x->t->storage->index < y->t->storage->index ? -1 : 1;
	if (x->start != y->start)
		return x->start < y->start ? -1 : 1;
	if (x->stop != y->stop)
		return x->stop < y->stop ? -1 : 1;
	return strcmp(x->name, y->name);
}

/* Marks one group [g0, g1) of overlapping tensors: keeps its first complete name. */
static int drop_group(struct pt_export_job *j, struct xt **v, size_t g0, size_t g1)
{
	struct xt *k = NULL;
	size_t i;

	for (i = g0; i < g1; i++)
		if (v[i]->complete && (!k || strcmp(v[i]->name, k->name) < 0))
			k = v[i];
	if (!k || g1 - g0 < 2)
		return 0;
	for (i = g0; i < g1; i++) {
		if (v[i] == k)
			continue;
		v[i]->dropped = true;
		j->ndropped++;
		if (add_meta(j, v[i]->name, k->name) < 0)
			return -1;
	}
	return 0;
}

/* huggingface_hub's _find_shared_tensors + _filter_shared_not_shared + _remove_duplicate_names. */
static int drop_ties(struct pt_export_job *j, struct pt_error *err)
{
	struct xt **v = malloc((j->nx + 1) * sizeof(*v));
	size_t i, g0 = 0, n = 0;
	uint64_t last_stop = 0;

	if (!v)
		return pt_error_set(err, PT_ERR_NOMEM, "out of memory");
	for (i = 0; i < j->nx; i++)
		if (j->xs[i].t->storage->nbytes) /* as storage_size != 0 there */
			v[n++] = &j->xs[i];
	qsort(v, n, sizeof(*v), area_cmp);
	for (i = 0; i <= n; i++) {
		bool same = i < n && i > g0 && v[i]->t->storage == v[g0]->t->storage &&
			    v[i]->start < last_stop;

		if (i > g0 && !same) {
			if (drop_group(j, v, g0, i) < 0) {
				free(v);
				return pt_error_set(err, PT_ERR_NOMEM, "out of memory");
			}
			g0 = i;
		}
		if (i < n)
			last_stop = v[i]->stop; /* the reference's last_stop = stop, not the max */
	}
	free(v);
	return 0;
}

/*
 * Assigns tensors to shards in tree order, as huggingface_hub's
 * split_state_dict_into_shards_factory does: a tensor over max is a shard
 * of its own, appended when met; others fill the current shard until the
 * next would pass max. Shards are numbered in the order they are appended.
 */
static int plan_shards(struct pt_export_job *j, uint64_t max, struct pt_error *err)
{
	size_t *order = malloc((j->nx + 1) * sizeof(*order)), *rank = NULL;
	size_t i, s, nsh = 0, norder = 0, cur_group = SIZE_MAX;
	uint64_t cur = 0;

	if (!order)
		return pt_error_set(err, PT_ERR_NOMEM, "out of memory");
	for (i = 0; i < j->nx; i++) {
		struct xt *x = &j->xs[i];
		uint64_t b = x->t->nbytes;

		if (x->dropped)
			continue;
		j->total += b;
		if (max && b > max) {
			order[norder++] = nsh;
			x->shard = (unsigned)nsh++;
			continue;
		}
		if (cur_group == SIZE_MAX || (max && cur + b > max)) {
			if (cur_group != SIZE_MAX)
				order[norder++] = cur_group;
			cur_group = nsh++;
			cur = 0;
		}
		x->shard = (unsigned)cur_group;
		cur += b;
	}
	if (cur_group != SIZE_MAX)
		order[norder++] = cur_group;
	rank = malloc((nsh + 1) * sizeof(*rank));
	if (!rank) {
		free(order);
		return pt_error_set(err, PT_ERR_NOMEM, "out of memory");
	}
	for (i = 0; i < norder; i++)
		rank[order[i]] = i;
	for (i = 0; i < j->nx; i++)
		if (!j->xs[i].dropped)
			j->xs[i].shard = (unsigned)rank[j->xs[i].shard];
	free(order);
	free(rank);
	if (nsh == 0)
		nsh = 1; /* nothing to export still makes one valid file */
	j->sh = calloc(nsh, sizeof(*j->sh));
	if (!j->sh)
		return pt_error_set(err, PT_ERR_NOMEM, "out of memory");
	j->nsh = nsh;
	for (s = 0; s < nsh; s++) {
		j->sh[s].fd = -1;
		j->sh[s].e = calloc(j->nx + 1, sizeof(struct pt_st_entry));
		if (!j->sh[s].e)
			return pt_error_set(err, PT_ERR_NOMEM, "out of memory");
	}
	for (i = 0; i < j->nx; i++) {
		struct xt *x = &j->xs[i];
		struct shard *sh = &j->sh[x->shard];
		struct pt_st_entry *e;

		if (x->dropped)
			continue;
		e = &sh->e[sh->n++];
		e->name = x->name;
		e->dtype = x->t->dtype;
		e->ndim = x->t->ndim;
		e->shape = x->t->shape;
		e->nbytes = x->t->nbytes;
		e->user = x;
		sh->bytes += x->t->nbytes;
	}
	return 0;
}

/* Opens a hidden temporary beside final, as the writer opens every one (save.h). */
static int open_tmp(struct pt_export_job *j, struct shard *f, struct pt_error *err)
{
	f->fd = pt_write_temp(j->dir, j->dirfd, strrchr(f->final, '/') + 1, "export", f->tmp,
			      sizeof(f->tmp), err);
	return f->fd < 0 ? -1 : 0;
}

static int json_str(FILE *fp, const char *s)
{
	fputc('"', fp);
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\')
			fprintf(fp, "\\%c", c);
		else if (c < 0x20)
			fprintf(fp, "\\u%04x", c);
		else
			fputc(c, fp);
	}
	return fputc('"', fp);
}

static int name_cmp(const void *a, const void *b)
{
	return strcmp((*(const struct xt *const *)a)->name, (*(const struct xt *const *)b)->name);
}

/* model.safetensors.index.json as transformers writes it (indent 2, sorted keys, "\n"). */
static int make_index(struct pt_export_job *j, struct pt_error *err)
{
	struct xt **v = malloc((j->nx + 1) * sizeof(*v));
	size_t i, n = 0, len = 0;
	FILE *fp;

	if (!v)
		return pt_error_set(err, PT_ERR_NOMEM, "out of memory");
	for (i = 0; i < j->nx; i++)
		if (!j->xs[i].dropped)
			v[n++] = &j->xs[i];
	qsort(v, n, sizeof(*v), name_cmp);
	fp = open_memstream(&j->index, &len);
	if (!fp) {
		free(v);
		return pt_error_set(err, PT_ERR_NOMEM, "out of memory");
	}
	fprintf(fp, "{\n  \"metadata\": {\n    \"total_size\": %llu\n  },\n  \"weight_map\": {",
		(unsigned long long)j->total);
	for (i = 0; i < n; i++) {
		fputs(i ? ",\n    " : "\n    ", fp);
		json_str(fp, v[i]->name);
		fputs(": ", fp);
		json_str(fp, strrchr(j->sh[v[i]->shard].final, '/') + 1);
	}
	fputs(n ? "\n  }\n}\n" : "}\n}\n", fp);
	free(v);
	if (fclose(fp) != 0)
		return pt_error_set(err, PT_ERR_NOMEM, "out of memory");
	return 0;
}

/* The folder of a shard set: made when missing (*made set), else it must be one. */
static int shard_dir(const char *path, bool *made, struct pt_error *err)
{
	struct stat st;

	if (stat(path, &st) == 0) {
		if (!S_ISDIR(st.st_mode))
			return pt_error_sys(err, ENOTDIR,
					    "export: %s is not a folder; --shard-size writes a folder of shards",
					    path);
		return 0;
	}
	if (errno != ENOENT || mkdir(path, 0755) < 0)
		return pt_error_sys(err, errno, "export: %s", path);
	*made = true;
	return 0;
}

/*
 * The file a path of the export replaces (save.h's rules: links followed,
 * what is not a regular file refused), written back into path. A link
 * leading out of the export's folder is refused: the temporary is made in
 * that folder and renamed, which cannot cross into another one.
 */
static int resolve(struct pt_export_job *j, char *path, size_t cap, struct pt_error *err)
{
	char target[PATH_MAX];
	const char *slash;

	if (pt_write_target(j->ck, path, "export", target, sizeof(target), err) < 0)
		return -1;
	slash = strrchr(target, '/');
	if (strlen(target) >= cap)
		return pt_error_sys(err, ENAMETOOLONG, "export: %s", target);
	if ((size_t)(slash - target) != strlen(j->dir) || strncmp(target, j->dir, strlen(j->dir)) != 0)
		return pt_error_set(err, PT_ERR_UNSUPPORTED,
				    "export: %s links to %s, in another folder; export there directly",
				    path, target);
	strcpy(path, target);
	return 0;
}

static int prepare_files(struct pt_export_job *j, bool sharded, struct pt_error *err)
{
	size_t s;

	for (s = 0; s < j->nsh; s++) {
		struct shard *f = &j->sh[s];
		int k;

		if (!sharded)
			k = snprintf(f->final, sizeof(f->final), "%s", j->path);
		else if (j->nsh == 1)
			k = snprintf(f->final, sizeof(f->final), "%s/model.safetensors", j->dir);
		else
			k = snprintf(f->final, sizeof(f->final), "%s/model-%05zu-of-%05zu.safetensors",
				     j->dir, s + 1, j->nsh);
		if ((size_t)k >= sizeof(f->final))
			return pt_error_sys(err, ENAMETOOLONG, "export: %s", j->path);
		if (resolve(j, f->final, sizeof(f->final), err) < 0 ||
		    pt_st_header_build(f->e, f->n, j->meta, j->nmeta, &f->hdr, &f->hdrlen, err) < 0 ||
		    open_tmp(j, f, err) < 0)
			return -1;
	}
	if (!sharded || j->nsh == 1)
		return 0; /* huggingface_hub writes no index for a single shard */
	if ((size_t)snprintf(j->idx.final, sizeof(j->idx.final), "%s/model.safetensors.index.json",
			     j->dir) >= sizeof(j->idx.final))
		return pt_error_sys(err, ENAMETOOLONG, "export: %s", j->path);
	if (resolve(j, j->idx.final, sizeof(j->idx.final), err) < 0 || make_index(j, err) < 0)
		return -1;
	return open_tmp(j, &j->idx, err);
}

struct pt_export_job *pt_export_begin(struct pt_checkpoint *ck, const char *path,
				      const struct pt_export_opts *opts, struct pt_progress *prog,
				      struct pt_error *err)
{
	bool sharded = opts && opts->shard_size;
	struct pt_export_job *j;
	size_t len = strlen(path);

	if (path[0] != '/')
		return pt_error_set(err, PT_ERR_INVAL, "export needs an absolute path, got '%s'",
				    path), NULL;
	while (len > 1 && path[len - 1] == '/')
		len--;
	if (len >= PATH_MAX - 64 || (!sharded && path[len] == '/'))
		return pt_error_set(err, PT_ERR_INVAL, "export: '%s' names no file", path), NULL;
	j = calloc(1, sizeof(*j));
	if (!j)
		return pt_error_set(err, PT_ERR_NOMEM, "out of memory"), NULL;
	j->ck = ck;
	j->dirfd = j->idx.fd = -1;
	memcpy(j->path, path, len);
	if (sharded) {
		memcpy(j->dir, path, len);
	} else {
		/* a link is followed as save follows it: the temporary goes beside its target */
		char target[PATH_MAX];
		const char *slash;

		if (pt_write_target(ck, j->path, "export", target, sizeof(target), err) < 0)
			goto out_free;
		if (strlen(target) >= sizeof(j->path)) {
			pt_error_sys(err, ENAMETOOLONG, "export: %s", target);
			goto out_free;
		}
		strcpy(j->path, target);
		slash = strrchr(j->path, '/');
		memcpy(j->dir, j->path, slash == j->path ? 1 : (size_t)(slash - j->path));
	}
	if ((sharded && shard_dir(j->dir, &j->made_dir, err) < 0) || collect(j, err) < 0 ||
	    drop_ties(j, err) < 0 || add_meta(j, "format", "pt") < 0 || plan_shards(j, sharded ? opts->shard_size : 0, err) < 0)
		goto out_free;
	j->dirfd = open(j->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (j->dirfd < 0) {
		pt_error_sys(err, errno, "export: %s", j->dir);
		goto out_free;
	}
	if (prepare_files(j, sharded, err) < 0)
		goto out_free;
	pt_progress_start(prog, j->total);
	return j;

out_free:
	pt_export_free(j);
	return NULL;
}

#define CHUNK (8u << 20)

/* Writes all n bytes at off, going on after short writes; 0, or -1 with errno. */
static int pwrite_all(int fd, const void *buf, size_t n, uint64_t off)
{
	const char *p = buf;

	while (n) {
		ssize_t k = pwrite(fd, p, n, (off_t)off);

		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0) {
			if (k == 0)
				errno = EIO;
			return -1;
		}
		p += k;
		n -= (size_t)k;
		off += (uint64_t)k;
	}
	return 0;
}

/* Copies n source bytes at *soff to fd at *doff: in the kernel, else through buf. */
static int copy_run(int sfd, uint64_t soff, int fd, uint64_t doff, uint64_t n, char *buf,
		    struct pt_progress *prog, struct pt_error *err)
{
	bool kernel = true;

	while (n) {
		size_t want = n < CHUNK ? (size_t)n : CHUNK;
		ssize_t k = -1;

		if (kernel) {
			loff_t so = (loff_t)soff, dof = (loff_t)doff;

			k = copy_file_range(sfd, &so, fd, &dof, want, 0);
			if (k < 0 && (errno == EXDEV || errno == EINVAL || errno == ENOSYS ||
				      errno == EOPNOTSUPP || errno == EBADF)) {
				kernel = false;
				continue;
			}
		} else {
			k = pread(sfd, buf, want, (off_t)soff);
			if (k > 0 && pwrite_all(fd, buf, (size_t)k, doff) < 0)
				return pt_error_sys(err, errno, "export: write");
		}
		if (k < 0)
			return pt_error_sys(err, errno, "export: copy");
		if (k == 0)
			return pt_error_sys(err, EIO, "export: the checkpoint ended early");
		soff += (uint64_t)k;
		doff += (uint64_t)k;
		n -= (uint64_t)k;
		pt_progress_add(prog, (uint64_t)k);
	}
	return 0;
}

static int write_tensor(struct pt_export_job *j, const struct pt_st_entry *e, int fd,
			uint64_t base, char *buf, struct pt_progress *prog, struct pt_error *err)
{
	const struct pt_tensor *t = ((const struct xt *)e->user)->t;
	uint64_t soff, off = 0;
	int span;

	if (!t->nbytes)
		return 0;
	span = pt_tensor_span(j->ck, t, 0, &soff, err);
	if (span < 0)
		return -1;
	if (span == 1 && j->ck->src->fd >= 0)
		return copy_run(j->ck->src->fd, soff, fd, base + e->begin, t->nbytes, buf, prog, err);
	while (off < t->nbytes) {
		int64_t k = pt_tensor_read(j->ck, t, buf, CHUNK, off, err);

		if (k < 0)
			return -1;
		if (k == 0)
			return pt_error_set(err, PT_ERR_IO, "export: %s ended early", e->name);
		if (pwrite_all(fd, buf, (size_t)k, base + e->begin + off) < 0)
			return pt_error_sys(err, errno, "export: write");
		off += (uint64_t)k;
		pt_progress_add(prog, (uint64_t)k);
	}
	return 0;
}

static int write_shard(struct pt_export_job *j, struct shard *f, char *buf,
		       struct pt_progress *prog, struct pt_error *err)
{
	size_t i;

	if (pwrite_all(f->fd, f->hdr, f->hdrlen, 0) < 0)
		return pt_error_sys(err, errno, "export: %s: write", f->final);
	for (i = 0; i < f->n; i++)
		if (write_tensor(j, &f->e[i], f->fd, f->hdrlen, buf, prog, err) < 0)
			return pt_error_prefix(err, "%s", f->e[i].name), -1;
	if (fsync(f->fd) < 0)
		return pt_error_sys(err, errno, "export: %s: fsync", f->final);
	return 0;
}

static int publish(struct shard *f, struct pt_error *err)
{
	if (rename(f->tmp, f->final) < 0)
		return pt_error_sys(err, errno, "export: %s", f->final);
	f->tmp[0] = '\0';
	return 0;
}

int pt_export_run(struct pt_export_job *j, struct pt_progress *prog, struct pt_error *err)
{
	char *buf = malloc(CHUNK);
	size_t s, len;
	int ret = -1;

	if (!buf)
		return pt_error_set(err, PT_ERR_NOMEM, "out of memory");
	for (s = 0; s < j->nsh; s++)
		if (write_shard(j, &j->sh[s], buf, prog, err) < 0)
			goto out_free;
	if (j->index) {
		len = strlen(j->index);
		if (pwrite_all(j->idx.fd, j->index, len, 0) < 0 || fsync(j->idx.fd) < 0) {
			pt_error_sys(err, errno, "export: %s", j->idx.final);
			goto out_free;
		}
	}
	for (s = 0; s < j->nsh; s++)
		if (publish(&j->sh[s], err) < 0)
			goto out_free;
	if (j->index && publish(&j->idx, err) < 0)
		goto out_free;
	if (fsync(j->dirfd) < 0) {
		pt_error_sys(err, errno, "export: %s: fsync of its folder", j->dir);
		goto out_free;
	}
	j->done = true;
	ret = 0;
out_free:
	free(buf);
	return ret;
}

const char *pt_export_summary(const struct pt_export_job *j)
{
	struct pt_export_job *m = (struct pt_export_job *)j;

	snprintf(m->summary, sizeof(m->summary),
		 "%zu tensors in %zu file%s, %zu metadata, %zu tied dropped; left out %zu%s%s",
		 j->nx - j->ndropped, j->nsh, j->nsh == 1 ? "" : "s",
		 j->nmeta - j->ndropped - 1, j->ndropped, j->nleft, j->nleft ? ": " : "",
		 j->left ? j->left : "");
	return j->summary;
}

void pt_export_free(struct pt_export_job *j)
{
	size_t i;

	if (!j)
		return;
	for (i = 0; i < j->nsh; i++) {
		if (j->sh[i].tmp[0])
			unlink(j->sh[i].tmp);
		if (j->sh[i].fd >= 0)
			close(j->sh[i].fd);
		free(j->sh[i].e);
		free(j->sh[i].hdr);
	}
	if (j->idx.tmp[0])
		unlink(j->idx.tmp);
	if (j->idx.fd >= 0)
		close(j->idx.fd);
	if (j->dirfd >= 0)
		close(j->dirfd);
	if (j->made_dir && !j->done)
		rmdir(j->dir); /* a folder made for a failed export goes too (when empty) */
	for (i = 0; i < j->npool; i++)
		free(j->pool[i]);
	free(j->pool);
	free(j->sh);
	free(j->index);
	free(j->xs);
	free(j->meta);
	free(j->left);
	free(j);
}

int pt_checkpoint_export(struct pt_checkpoint *ck, const char *path,
			 const struct pt_export_opts *opts, struct pt_progress *prog,
			 struct pt_error *err)
{
	struct pt_export_job *j = pt_export_begin(ck, path, opts, prog, err);
	int ret;

	if (!j)
		return -1;
	ret = pt_export_run(j, prog, err);
	pt_export_free(j);
	return ret;
}
