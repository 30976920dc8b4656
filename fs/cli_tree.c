/*
 * cli_tree.c - `ptfs ls`, `ptfs cat` and `ptfs info`: the tree of a
 * checkpoint read with the library alone, named as the mount names it.
 *
 * Paths are the mount's paths (escaped names as in docs/tree.md), walked
 * through the tree's own lookup; symbolic links (a container the pickle
 * shares) are followed on the way, as the kernel would, so every path that
 * works under a mount works here. `.ptfs` at the root is the mount's own
 * folder and is left out of listings: without a mount it is empty.
 *
 * `ls` prints in two passes over the chosen nodes, the first measuring the
 * columns, so that nothing but the node list is held whatever the size of
 * the tree.
 */
#define _GNU_SOURCE
#include "cli.h"
#include "ptfs.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_LINK_HOPS 40

/* Walks path from dir; see cli_lookup. hops counts links followed so far. */
static const struct pt_node *walk(const struct pt_tree *t, const struct pt_node *dir,
				  const char *path, bool follow_last, int *hops, const char **why)
{
	const struct pt_node *n = dir;
	const char *p = path;

	while (*p) {
		const char *end = strchrnul(p, '/');
		size_t len = (size_t)(end - p);
		const char *rest = end + strspn(end, "/");
		bool last = *rest == '\0';

		if (len == 0) {
			p = rest;
			continue;
		}
		if (n->kind != PT_NODE_DIR) {
			*why = "not a directory";
			return NULL;
		}
		if (len == 1 && p[0] == '.') {
			/* stays */
		} else if (len == 2 && p[0] == '.' && p[1] == '.') {
			n = n->parent;
		} else {
			n = pt_tree_lookup_n(t, n, p, len, NULL);
			if (!n) {
				*why = "no such entry";
				return NULL;
			}
		}
		/* a trailing '/' asks for the link's target, as it does of the kernel */
		if (n->kind == PT_NODE_LINK && (!last || follow_last || *end == '/')) {
			if (++*hops > MAX_LINK_HOPS) {
				*why = "too many levels of symbolic links";
				return NULL;
			}
			n = walk(t, n->parent, n->u.data.p, true, hops, why);
			if (!n)
				return NULL;
		}
		p = rest;
	}
	return n;
}

const struct pt_node *cli_lookup(const struct pt_checkpoint *ck, const char *path,
				 bool follow_last, const char **why)
{
	int hops = 0;

	return walk(ck->tree, ck->tree->nodes[0], path, follow_last, &hops, why);
}

void cli_node_path(const struct pt_node *n, char *buf, size_t cap)
{
	size_t len;

	if (n->parent == n) {
		buf[0] = '\0';
		return;
	}
	cli_node_path(n->parent, buf, cap);
	len = strlen(buf);
	snprintf(buf + len, cap - len, "%s%s", len ? "/" : "", n->name);
}

/* ---- ls ---- */

struct row {
	char kind[2];
	const char *type;
	char shape[512];
	const char *loc;
	char size[24];
};

static void shape_text(const int64_t *shape, int ndim, char *buf, size_t cap)
{
	size_t len = 0;
	int d;

	len += (size_t)snprintf(buf, cap, "[");
	for (d = 0; d < ndim && len < cap; d++)
		len += (size_t)snprintf(buf + len, cap - len, "%s%lld", d ? "," : "",
					(long long)shape[d]);
	if (len < cap)
		snprintf(buf + len, cap - len, "]");
}

static void make_row(const struct pt_node *n, struct row *r)
{
	r->kind[1] = '\0';
	r->type = n->type ? n->type : "-";
	r->loc = "-";
	strcpy(r->shape, "-");
	snprintf(r->size, sizeof(r->size), "%llu", (unsigned long long)pt_node_size(n));
	switch (n->kind) {
	case PT_NODE_DIR:
		r->kind[0] = 'd';
		break;
	case PT_NODE_TENSOR:
		r->kind[0] = 't';
		r->type = pt_dtype_name(n->u.tensor->dtype);
		shape_text(n->u.tensor->shape, n->u.tensor->ndim, r->shape, sizeof(r->shape));
		r->loc = pt_tensor_location(n->u.tensor);
		break;
	case PT_NODE_LINK:
		r->kind[0] = 'l';
		break;
	default:
		r->kind[0] = '-';
		if (n->kind == PT_NODE_DATA && n->u.data.array) {
			r->type = n->u.data.array->dtype;
			shape_text(n->u.data.array->shape, n->u.data.array->ndim, r->shape,
				   sizeof(r->shape));
		}
		break;
	}
}

struct listing {
	const struct pt_node **v;
	size_t n, cap;
	const struct pt_node *ctl; /* .ptfs, left out */
};

static int push(struct listing *l, const struct pt_node *n)
{
	if (n == l->ctl)
		return 0;
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 64;
		const struct pt_node **v = realloc(l->v, cap * sizeof(*v));

		if (!v)
			return -1;
		l->v = v;
		l->cap = cap;
	}
	l->v[l->n++] = n;
	return 0;
}

/* The entries of dir, and with recursive everything below them, in tree order. */
static int collect(struct listing *l, const struct pt_node *dir, bool recursive)
{
	const struct pt_node *c;

	for (c = dir->u.dir.first; c; c = c->next) {
		if (c == l->ctl)
			continue;
		if (push(l, c) < 0)
			return -1;
		if (recursive && c->kind == PT_NODE_DIR && collect(l, c, true) < 0)
			return -1;
	}
	return 0;
}

/* n's path below top ("a/b"); n itself when top is NULL: the operand as given. */
static void rel_name(const struct pt_node *n, const struct pt_node *top, const char *given,
		     char *buf, size_t cap)
{
	char full[8192], base[8192];
	size_t bl;

	if (!top) {
		snprintf(buf, cap, "%s", given);
		return;
	}
	cli_node_path(n, full, sizeof(full));
	cli_node_path(top, base, sizeof(base));
	bl = strlen(base);
	snprintf(buf, cap, "%s", bl ? full + bl + 1 : full);
}

int cli_ls(const struct cli_args *a)
{
	const char *file = a->ops[0], *path = a->nops > 1 ? a->ops[1] : "", *why = NULL;
	struct listing l = { 0 };
	struct pt_checkpoint *ck;
	struct pt_rules *rules;
	const struct pt_node *n, *top = NULL;
	int w[5] = { 0 }, rc;
	size_t i;

	rc = cli_open(a, file, &ck, &rules);
	if (rc)
		return rc;
	rc = CLI_FAIL;
	l.ctl = pt_tree_ctl_dir(ck->tree);
	n = cli_lookup(ck, path, false, &why);
	if (!n) {
		fprintf(stderr, "ptfs: %s: %s: %s\n", file, path, why);
		goto out;
	}
	if (n->kind == PT_NODE_DIR ? collect(&l, n, a->recursive) : push(&l, n)) {
		fprintf(stderr, "ptfs: %s: out of memory\n", file);
		goto out;
	}
	if (n->kind == PT_NODE_DIR)
		top = n;
	for (i = 0; i < l.n; i++) {
		struct row r;

		make_row(l.v[i], &r);
		w[0] = 1;
		w[1] = (int)strlen(r.type) > w[1] ? (int)strlen(r.type) : w[1];
		w[2] = (int)strlen(r.shape) > w[2] ? (int)strlen(r.shape) : w[2];
		w[3] = (int)strlen(r.loc) > w[3] ? (int)strlen(r.loc) : w[3];
		w[4] = (int)strlen(r.size) > w[4] ? (int)strlen(r.size) : w[4];
	}
	for (i = 0; i < l.n; i++) {
		char name[8192];
		struct row r;

		make_row(l.v[i], &r);
		rel_name(l.v[i], top, path, name, sizeof(name));
		printf("%s %-*s %-*s %-*s %*s %s", r.kind, w[1], r.type, w[2], r.shape, w[3], r.loc,
		       w[4], r.size, name);
		if (l.v[i]->kind == PT_NODE_LINK)
			printf(" -> %s", l.v[i]->u.data.p);
		putchar('\n');
	}
	rc = fflush(stdout) == 0 ? CLI_OK : CLI_FAIL;
	if (rc)
		fprintf(stderr, "ptfs: stdout: %s\n", strerror(errno));
out:
	free(l.v);
	cli_close(ck, rules);
	return rc;
}

/* ---- cat ---- */

#define CAT_CHUNK (1u << 20)

int cli_cat(const struct cli_args *a)
{
	const char *file = a->ops[0], *path = a->ops[1], *why = NULL;
	struct pt_checkpoint *ck;
	struct pt_rules *rules;
	const struct pt_node *n;
	struct pt_error err;
	char *buf = NULL;
	int rc;

	rc = cli_open(a, file, &ck, &rules);
	if (rc)
		return rc;
	rc = CLI_FAIL;
	pt_error_clear(&err);
	n = cli_lookup(ck, path, true, &why);
	if (!n) {
		fprintf(stderr, "ptfs: %s: %s: %s\n", file, path, why);
		goto out;
	}
	if (n->kind == PT_NODE_DIR) {
		fprintf(stderr, "ptfs: %s: %s: is a directory\n", file, path);
		goto out;
	}
	if (n->kind == PT_NODE_TENSOR) {
		uint64_t off = 0;
		int64_t got;

		buf = malloc(CAT_CHUNK);
		if (!buf) {
			fprintf(stderr, "ptfs: %s: out of memory\n", file);
			goto out;
		}
		while ((got = pt_tensor_read(ck, n->u.tensor, buf, CAT_CHUNK, off, &err)) > 0) {
			if (fwrite(buf, 1, (size_t)got, stdout) != (size_t)got)
				break;
			off += (uint64_t)got;
		}
		if (got < 0) {
			fprintf(stderr, "ptfs: %s: %s: %s\n", file, path, err.msg);
			goto out;
		}
	} else if (n->kind == PT_NODE_DATA) {
		fwrite(n->u.data.p, 1, n->u.data.len, stdout);
	} else {
		fprintf(stderr, "ptfs: %s: %s: not a file\n", file, path);
		goto out;
	}
	if (fflush(stdout) != 0 || ferror(stdout)) {
		fprintf(stderr, "ptfs: stdout: %s\n", strerror(errno));
		goto out;
	}
	rc = CLI_OK;
out:
	free(buf);
	cli_close(ck, rules);
	return rc;
}

/* ---- info ---- */

/* " (768.0 MiB)" for 1 KiB and more, else "". */
static const char *human(uint64_t n, char buf[40])
{
	char b[24];

	buf[0] = '\0';
	if (n >= 1024) {
		pt_progress_bytes(n, b);
		snprintf(buf, 40, " (%s)", b);
	}
	return buf;
}

static bool has_record(const struct pt_container *c, const char *name)
{
	size_t i;

	for (i = 0; i < c->nrecords; i++)
		if (strcmp(c->records[i].name, name) == 0)
			return true;
	return false;
}

/* The format line and who wrote it, from the records (research/format.md §1.6). */
static void print_format(const struct pt_container *c)
{
	const char *who;

	if (c->format == PT_FORMAT_SAFETENSORS || c->format == PT_FORMAT_SHARDED) {
		printf("format: %s\n", c->format == PT_FORMAT_SAFETENSORS
					       ? "safetensors (no pickle)"
					       : "sharded set (index or folder of shards)");
		return;
	}
	if (c->format == PT_FORMAT_LEGACY) {
		printf("format: legacy (torch.save before torch 1.6)\n");
		printf("written by: torch < 1.6\n");
		return;
	}
	printf("format: zip (%s), version %u, %s-endian\n",
	       c->torchscript ? "TorchScript, torch.jit.save" : "torch.save", c->version,
	       c->big_endian ? "big" : "little");
	if (c->model_json)
		who = "torch 1.0 or 1.1 (model.json)";
	else if (has_record(c, ".format_version"))
		who = "torch >= 2.7 (.format_version record)";
	else if (has_record(c, ".data/serialization_id"))
		who = "torch 2.1 to 2.6, or a ptfs save (byteorder and serialization_id records)";
	else if (has_record(c, "byteorder"))
		who = "torch >= 2.1 (byteorder record, no serialization_id)";
	else
		who = "torch 1.6 to 2.0 (no byteorder record)";
	printf("written by: %s\n", who);
}

struct tally {
	const char *name;
	uint64_t count, bytes;
};

/* Adds one (bytes) to name's entry of t (at most cap, in first-seen order). */
static void tally_add(struct tally *t, size_t *n, const char *name, uint64_t bytes)
{
	size_t i;

	for (i = 0; i < *n; i++)
		if (strcmp(t[i].name, name) == 0)
			break;
	if (i == *n) {
		t[i].name = name;
		t[i].count = t[i].bytes = 0;
		(*n)++;
	}
	t[i].count++;
	t[i].bytes += bytes;
}

static int cmp_ptr(const void *x, const void *y)
{
	const void *a = *(const void *const *)x, *b = *(const void *const *)y;

	return a < b ? -1 : a > b;
}

int cli_info(const struct cli_args *a)
{
	const char *file = a->ops[0];
	struct pt_checkpoint *ck;
	struct pt_rules *rules;
	const struct pt_tensor **ts = NULL;
	struct tally *dt = NULL, *loc = NULL;
	size_t nts = 0, ndt = 0, nloc = 0, i, entries = 0;
	uint64_t tbytes = 0, sbytes = 0;
	struct pt_error err;
	struct pt_scan *scan;
	char h[40];
	int rc;

	rc = cli_open(a, file, &ck, &rules);
	if (rc)
		return rc;
	rc = CLI_FAIL;
	ts = malloc((ck->tree->ntensors + 1) * sizeof(*ts));
	dt = calloc(PT_DT_COUNT + 1, sizeof(*dt));
	loc = calloc(ck->torch.nstorages + 1, sizeof(*loc));
	if (!ts || !dt || !loc) {
		fprintf(stderr, "ptfs: %s: out of memory\n", file);
		goto out;
	}
	/* a tensor tied under several names is one tensor: count each once */
	for (i = 1; i < ck->tree->nnodes; i++) {
		const struct pt_node *n = ck->tree->nodes[i];

		if (n == pt_tree_ctl_dir(ck->tree) || n->parent == pt_tree_ctl_dir(ck->tree))
			continue;
		entries++;
		if (n->kind == PT_NODE_TENSOR && nts < ck->tree->ntensors)
			ts[nts++] = n->u.tensor;
	}
	qsort(ts, nts, sizeof(*ts), cmp_ptr);
	for (i = 0; i < nts; i++) {
		if (i && ts[i] == ts[i - 1])
			continue;
		tally_add(dt, &ndt, pt_dtype_name(ts[i]->dtype), ts[i]->nbytes);
		tbytes += ts[i]->nbytes;
	}
	for (i = 0; i < ck->torch.nstorages; i++) {
		const struct pt_storage *s = ck->torch.storages[i];

		tally_add(loc, &nloc, pt_storage_location(s), s->nbytes);
		sbytes += s->nbytes;
	}
	printf("file: %s\n", file);
	print_format(ck->c);
	printf("entries: %zu\n", entries);
	{
		uint64_t distinct = 0;

		for (i = 0; i < ndt; i++)
			distinct += dt[i].count;
		printf("tensors: %llu, %llu bytes%s\n", (unsigned long long)distinct,
		       (unsigned long long)tbytes, human(tbytes, h));
	}
	printf("storages: %zu, %llu bytes%s\n", ck->torch.nstorages, (unsigned long long)sbytes,
	       human(sbytes, h));
	for (i = 0; i < ndt; i++)
		printf("dtype %s: %llu tensor%s, %llu bytes%s\n", dt[i].name,
		       (unsigned long long)dt[i].count, dt[i].count == 1 ? "" : "s",
		       (unsigned long long)dt[i].bytes,
		       human(dt[i].bytes, h));
	for (i = 0; i < nloc; i++)
		printf("location %s: %llu storage%s, %llu bytes%s\n", loc[i].name,
		       (unsigned long long)loc[i].count, loc[i].count == 1 ? "" : "s",
		       (unsigned long long)loc[i].bytes,
		       human(loc[i].bytes, h));
	pt_error_clear(&err);
	scan = pt_scan_file(file, &err);
	if (scan) {
		enum pt_verdict v = pt_scan_verdict(scan);

		printf("globals: %s%s\n", pt_verdict_name(v),
		       v == PT_VERDICT_ALLOWED ? "" : " (ptfs scan FILE lists them)");
		pt_scan_free(scan);
	} else {
		printf("globals: unreadable (%s)\n", err.msg);
	}
	rc = fflush(stdout) == 0 ? CLI_OK : CLI_FAIL;
	if (rc)
		fprintf(stderr, "ptfs: stdout: %s\n", strerror(errno));
out:
	free(ts);
	free(dt);
	free(loc);
	cli_close(ck, rules);
	return rc;
}
