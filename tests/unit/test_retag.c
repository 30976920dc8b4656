/*
 * test_retag.c - rewriting the location tags of a pickle (retag.h) and
 * saving a remapped checkpoint (save.h).
 *
 * The pickles are built here byte by byte, shaped as torch writes a
 * state_dict of two float tensors: the first persistent id pushes its tag
 * as a BINUNICODE literal and memoizes it, the second fetches it with
 * BINGET. The expected output of each rewrite is built by the same
 * generator, so every comparison is exact, and every output is loaded again
 * with the torch hooks to check the tags and values it now holds.
 *
 * Usage: test_retag [SHARED [FIXTURES]]. Checks that need either folder are
 * skipped when it is absent.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "checkpoint.h"
#include "retag.h"
#include "save.h"

/* ---- a pickle generator ------------------------------------------------ */

struct buf {
	unsigned char b[4096];
	size_t n;
	int proto;
	unsigned memo;      /* next memo index */
	size_t frame;       /* offset of the open FRAME op, or SIZE_MAX */
};

static void by(struct buf *b, int c)
{
	b->b[b->n++] = (unsigned char)c;
}

static void raw(struct buf *b, const char *s, size_t n)
{
	memcpy(b->b + b->n, s, n);
	b->n += n;
}

/* BINUNICODE */
static void ustr(struct buf *b, const char *s)
{
	size_t n = strlen(s);

	by(b, 'X');
	by(b, (int)(n & 0xff));
	by(b, (int)(n >> 8));
	by(b, 0);
	by(b, 0);
	raw(b, s, n);
}

/* the usual string op of the protocol: BINUNICODE, or SHORT_BINUNICODE in 4 */
static void str(struct buf *b, const char *s)
{
	if (b->proto >= 4) {
		by(b, 0x8c);
		by(b, (int)strlen(s));
		raw(b, s, strlen(s));
	} else {
		ustr(b, s);
	}
}

static unsigned put(struct buf *b)
{
	if (b->proto >= 4) {
		by(b, 0x94); /* MEMOIZE */
	} else {
		by(b, 'q');
		by(b, (int)b->memo);
	}
	return b->memo++;
}

static void get(struct buf *b, unsigned i)
{
	by(b, 'h');
	by(b, (int)i);
}

static void global(struct buf *b, const char *m, const char *n)
{
	by(b, 'c');
	raw(b, m, strlen(m));
	by(b, '\n');
	raw(b, n, strlen(n));
	by(b, '\n');
}

static void frame_end(struct buf *b)
{
	uint64_t len;
	int k;

	if (b->frame == SIZE_MAX)
		return;
	len = b->n - (b->frame + 9);
	for (k = 0; k < 8; k++)
		b->b[b->frame + 1 + k] = (unsigned char)(len >> (8 * k));
	b->frame = SIZE_MAX;
}

static void frame_begin(struct buf *b)
{
	frame_end(b);
	b->frame = b->n;
	by(b, 0x95);
	b->n += 8;
}

struct gen {
	int proto;          /* 2: BINPUT; 4: FRAME, MEMOIZE, SHORT_BINUNICODE */
	const char *tag0;   /* storage 0's tag literal, memoized */
	bool tag0_x;        /* written as BINUNICODE even in protocol 4 (as retag writes it) */
	bool tag0_text;     /* written as UNICODE (text) */
	const char *ins0;   /* non-NULL: POP + BINUNICODE ins0 right after tag0's PUT */
	const char *tag1;   /* NULL: storage 1's tag is a BINGET of tag0; else a BINUNICODE */
	bool dev;           /* a third item 'dev' whose value is a BINGET of tag0 */
	bool legacy;        /* 6-item persistent ids ending in NONE */
	bool two_frames;    /* protocol 4: a second FRAME starts before the key 'b' */
};

/*
 * {'a': tensor(storage '0', 4 floats), 'b': tensor(storage '1', 4 floats)[, 'dev': tag0]}
 * as torch's pickler writes it.
 */
static void gen(struct buf *b, const struct gen *g)
{
	unsigned m_fn, m_st, m_cls, m_tag, m_size, m_stride, m_od;

	memset(b, 0, sizeof(*b));
	b->proto = g->proto;
	b->frame = SIZE_MAX;
	by(b, 0x80);
	by(b, g->proto);
	if (g->proto >= 4)
		frame_begin(b);
	by(b, '}');
	put(b);
	by(b, '(');
	/* 'a': _rebuild_tensor_v2(storage, 0, (4,), (1,), False, OrderedDict()) */
	str(b, "a");
	put(b);
	global(b, "torch._utils", "_rebuild_tensor_v2");
	m_fn = put(b);
	by(b, '(');
	by(b, '(');
	str(b, "storage");
	m_st = put(b);
	global(b, "torch", "FloatStorage");
	m_cls = put(b);
	str(b, "0");
	put(b);
	if (g->tag0_text) {
		by(b, 'V');
		raw(b, g->tag0, strlen(g->tag0));
		by(b, '\n');
	} else if (g->tag0_x) {
		ustr(b, g->tag0);
	} else {
		str(b, g->tag0);
	}
	m_tag = put(b);
	if (g->ins0) {
		by(b, '0');
		ustr(b, g->ins0);
	}
	by(b, 'K');
	by(b, 4);
	if (g->legacy)
		by(b, 'N');
	by(b, 't');
	put(b);
	by(b, 'Q');
	by(b, 'K');
	by(b, 0);
	by(b, 'K');
	by(b, 4);
	by(b, 0x85);
	m_size = put(b);
	by(b, 'K');
	by(b, 1);
	by(b, 0x85);
	m_stride = put(b);
	by(b, 0x89);
	global(b, "collections", "OrderedDict");
	m_od = put(b);
	by(b, ')');
	by(b, 'R');
	put(b);
	by(b, 't');
	put(b);
	by(b, 'R');
	put(b);
	/* 'b': the same call, the strings fetched from the memo */
	if (g->two_frames)
		frame_begin(b);
	str(b, "b");
	put(b);
	get(b, m_fn);
	by(b, '(');
	by(b, '(');
	get(b, m_st);
	get(b, m_cls);
	str(b, "1");
	put(b);
	if (g->tag1)
		ustr(b, g->tag1);
	else
		get(b, m_tag);
	by(b, 'K');
	by(b, 4);
	if (g->legacy)
		by(b, 'N');
	by(b, 't');
	put(b);
	by(b, 'Q');
	by(b, 'K');
	by(b, 0);
	get(b, m_size);
	get(b, m_stride);
	by(b, 0x89);
	get(b, m_od);
	by(b, ')');
	by(b, 'R');
	put(b);
	by(b, 't');
	put(b);
	by(b, 'R');
	put(b);
	if (g->dev) {
		str(b, "dev");
		put(b);
		get(b, m_tag);
	}
	by(b, 'u');
	by(b, '.');
	frame_end(b);
}

/* ---- loading with the torch hooks -------------------------------------- */

static size_t pid_sizes[16], npids;
static struct pt_pickle_hooks torch_hooks;

/* persistent_load that records the size of each id, then lets torch's run */
static struct pt_value *counting_pl(void *ctx, struct pt_arena *a, struct pt_value *pid,
				    struct pt_error *err)
{
	if (npids < 16)
		pid_sizes[npids++] = pid && pid->kind == PT_V_TUPLE ? pid->u.seq.n : 0;
	return torch_hooks.persistent_load(ctx, a, pid, err);
}

struct loaded {
	struct pt_arena arena;
	struct pt_torch t;
	struct pt_value *root;
	int ret;
};

static void load(struct loaded *l, const unsigned char *pk, size_t len)
{
	struct pt_pickle_hooks hooks;
	struct pt_pickle_opts o;
	struct pt_error err = { 0 };
	size_t used = 0;

	memset(l, 0, sizeof(*l));
	pt_arena_init(&l->arena, 0);
	l->t.arena = &l->arena;
	pt_torch_hooks(&l->t, &hooks);
	torch_hooks = hooks;
	hooks.persistent_load = counting_pl;
	npids = 0;
	pt_pickle_opts_default(&o);
	o.hooks = &hooks;
	l->ret = pt_pickle_load(&l->arena, pk, len, &o, &l->root, &used, &err);
	CHECK_INT(l->ret, 0);
	if (l->ret < 0) {
		fprintf(stderr, "  load: %s\n", err.msg);
		return;
	}
	CHECK_INT(used, len);
	CHECK(l->root && l->root->kind == PT_V_DICT);
	if (!l->root || l->root->kind != PT_V_DICT)
		l->ret = -1;
}

static void unload(struct loaded *l)
{
	pt_arena_release(&l->arena);
}

/*
 * Checks a loaded state_dict: two storages '0' and '1' with tags loc0 and
 * loc1 (traced: one site each), tensors 'a' and 'b' on them, 5-item ids
 * (6 with legacy), and 'dev' == dev when dev is non-NULL.
 */
static void check_loaded(struct loaded *l, const char *loc0, const char *loc1, const char *dev,
			 size_t pid_items)
{
	struct pt_value *a, *b, *d;
	struct pt_storage *s0, *s1;
	size_t i;

	if (l->ret < 0)
		return;
	CHECK_INT(l->t.nstorages, 2);
	s0 = pt_torch_storage(&l->t, "0");
	s1 = pt_torch_storage(&l->t, "1");
	CHECK(s0 && s1);
	if (!s0 || !s1)
		return;
	CHECK_STR(s0->saved_location, loc0);
	CHECK_STR(s1->saved_location, loc1);
	CHECK_INT(s0->nuses, 1);
	CHECK_INT(s1->nuses, 1);
	CHECK(s0->sites && !s0->sites->next);
	CHECK(s1->sites && !s1->sites->next);
	a = pt_vdict_get_str(&l->root->u.dict, "a");
	b = pt_vdict_get_str(&l->root->u.dict, "b");
	CHECK(a && a->kind == PT_V_TENSOR && a->u.tensor->storage == s0);
	CHECK(b && b->kind == PT_V_TENSOR && b->u.tensor->storage == s1);
	if (a && a->kind == PT_V_TENSOR) {
		CHECK_INT(a->u.tensor->ndim, 1);
		CHECK_INT(a->u.tensor->numel, 4);
	}
	d = pt_vdict_get_str(&l->root->u.dict, "dev");
	if (dev) {
		CHECK(d && d->kind == PT_V_STR);
		if (d && d->kind == PT_V_STR)
			CHECK_STR(d->u.s.p, dev);
		CHECK_INT(l->root->u.dict.n, 3);
	} else {
		CHECK(d == NULL);
		CHECK_INT(l->root->u.dict.n, 2);
	}
	CHECK_INT(npids, 2);
	for (i = 0; i < npids && i < 16; i++)
		CHECK_INT(pid_sizes[i], pid_items);
}

static void dump_diff(const unsigned char *got, size_t gn, const unsigned char *want, size_t wn)
{
	size_t i;

	for (i = 0; i < gn && i < wn && got[i] == want[i]; i++)
		;
	fprintf(stderr, "  outputs differ at byte %zu (got %zu bytes, want %zu)\n", i, gn, wn);
}

/*
 * Retags the pickle of in with locs and checks the output equals the
 * pickle of want byte for byte, then loads it and checks its tags.
 */
static void retag_case(const char *name, const struct gen *in, const char *const *locs,
		       bool drop_views, const struct gen *want, const char *dev, size_t pid_items)
{
	struct buf bin, bwant;
	struct loaded l, l2;
	struct pt_error err = { 0 };
	unsigned char *out = NULL;
	size_t outlen = 0;
	int ret;

	gen(&bin, in);
	gen(&bwant, want);
	load(&l, bin.b, bin.n);
	if (l.ret < 0) {
		fprintf(stderr, "  case %s: the input does not load\n", name);
		unload(&l);
		return;
	}
	ret = pt_retag(bin.b, bin.n, &l.t, locs, drop_views, &out, &outlen, &err);
	CHECK_INT(ret, 0);
	if (ret < 0) {
		fprintf(stderr, "  case %s: %s\n", name, err.msg);
		unload(&l);
		return;
	}
	CHECK_INT(outlen, bwant.n);
	CHECK(outlen == bwant.n && memcmp(out, bwant.b, outlen) == 0);
	if (outlen != bwant.n || memcmp(out, bwant.b, outlen) != 0) {
		fprintf(stderr, "  case %s:\n", name);
		dump_diff(out, outlen, bwant.b, bwant.n);
	}
	load(&l2, out, outlen);
	check_loaded(&l2, locs[0], locs[1], dev, pid_items);
	unload(&l2);
	unload(&l);
	free(out);
}

static void test_generator(void)
{
	struct gen g = { .proto = 2, .tag0 = "cuda:1", .dev = true };
	struct loaded l;
	struct buf b;

	/* the inputs themselves load as torch would */
	gen(&b, &g);
	load(&l, b.b, b.n);
	check_loaded(&l, "cuda:1", "cuda:1", "cuda:1", 5);
	unload(&l);
	g.proto = 4;
	g.two_frames = true;
	gen(&b, &g);
	load(&l, b.b, b.n);
	check_loaded(&l, "cuda:1", "cuda:1", "cuda:1", 5);
	unload(&l);
	g = (struct gen){ .proto = 2, .tag0 = "cuda:1", .legacy = true };
	gen(&b, &g);
	load(&l, b.b, b.n);
	check_loaded(&l, "cuda:1", "cuda:1", NULL, 6);
	unload(&l);
}

static void test_retag(void)
{
	static const char *const cpu_cpu[] = { "cpu", "cpu" };
	static const char *const cpu_c1[] = { "cpu", "cuda:1" };
	static const char *const c1_cpu[] = { "cuda:1", "cpu" };
	static const char *const c1_c1[] = { "cuda:1", "cuda:1" };
	static const char *const meta_mps[] = { "meta", "mps" };
	struct gen in, want;

	/* (a) both to cpu: the literal replaced in place, the BINGET kept */
	in = (struct gen){ .proto = 2, .tag0 = "cuda:1" };
	want = (struct gen){ .proto = 2, .tag0 = "cpu" };
	retag_case("a", &in, cpu_cpu, false, &want, NULL, 5);
	/* (b) storage 0 to cpu, storage 1 stays: the BINGET becomes a literal */
	want = (struct gen){ .proto = 2, .tag0 = "cpu", .tag1 = "cuda:1" };
	retag_case("b", &in, cpu_c1, false, &want, NULL, 5);
	/* storage 0 stays, storage 1 moves: only the BINGET is replaced */
	want = (struct gen){ .proto = 2, .tag0 = "cuda:1", .tag1 = "cpu" };
	retag_case("b2", &in, c1_cpu, false, &want, NULL, 5);
	/* two different new tags */
	want = (struct gen){ .proto = 2, .tag0 = "meta", .tag1 = "mps" };
	retag_case("b3", &in, meta_mps, false, &want, NULL, 5);

	/* (c) the memoized tag is also a user value: kept, POP + new literal */
	in = (struct gen){ .proto = 2, .tag0 = "cuda:1", .dev = true };
	want = (struct gen){ .proto = 2, .tag0 = "cuda:1", .ins0 = "cpu", .tag1 = "cpu", .dev = true };
	retag_case("c", &in, cpu_cpu, false, &want, "cuda:1", 5);
	want = (struct gen){ .proto = 2, .tag0 = "cuda:1", .ins0 = "cpu", .dev = true };
	retag_case("c2", &in, cpu_c1, false, &want, "cuda:1", 5);
	want = (struct gen){ .proto = 2, .tag0 = "cuda:1", .tag1 = "cpu", .dev = true };
	retag_case("c3", &in, c1_cpu, false, &want, "cuda:1", 5);

	/* (d) protocol 4: FRAME lengths follow the edits */
	in = (struct gen){ .proto = 4, .tag0 = "cuda:1" };
	want = (struct gen){ .proto = 4, .tag0 = "cpu", .tag0_x = true };
	retag_case("d", &in, cpu_cpu, false, &want, NULL, 5);
	want = (struct gen){ .proto = 4, .tag0 = "cpu", .tag0_x = true, .tag1 = "cuda:1" };
	retag_case("d2", &in, cpu_c1, false, &want, NULL, 5);
	in = (struct gen){ .proto = 4, .tag0 = "cuda:1", .two_frames = true, .dev = true };
	want = (struct gen){ .proto = 4, .tag0 = "cuda:1", .ins0 = "cpu", .tag1 = "mps",
			     .two_frames = true, .dev = true };
	{
		static const char *const cpu_mps[] = { "cpu", "mps" };

		retag_case("d3", &in, cpu_mps, false, &want, "cuda:1", 5);
	}
	in = (struct gen){ .proto = 4, .tag0 = "cuda:1", .two_frames = true };
	want = (struct gen){ .proto = 4, .tag0 = "cpu", .tag0_x = true, .tag1 = "cuda:1",
			     .two_frames = true };
	retag_case("d4", &in, cpu_c1, false, &want, NULL, 5);

	/* (f) drop_views: the NONE goes, the ids have 5 items */
	in = (struct gen){ .proto = 2, .tag0 = "cuda:1", .legacy = true };
	want = (struct gen){ .proto = 2, .tag0 = "cuda:1" };
	retag_case("f", &in, c1_c1, true, &want, NULL, 5);
	want = (struct gen){ .proto = 2, .tag0 = "cpu" };
	retag_case("f2", &in, cpu_cpu, true, &want, NULL, 5);
	want = (struct gen){ .proto = 2, .tag0 = "cpu", .tag1 = "cuda:1" };
	retag_case("f3", &in, cpu_c1, true, &want, NULL, 5);
	in = (struct gen){ .proto = 4, .tag0 = "cuda:1", .legacy = true, .two_frames = true };
	want = (struct gen){ .proto = 4, .tag0 = "cpu", .tag0_x = true, .two_frames = true };
	retag_case("f4", &in, cpu_cpu, true, &want, NULL, 5);

	/* a text (UNICODE) tag is replaced by a text literal */
	in = (struct gen){ .proto = 2, .tag0 = "cuda:1", .tag0_text = true };
	want = (struct gen){ .proto = 2, .tag0 = "cpu", .tag0_text = true };
	retag_case("text", &in, cpu_cpu, false, &want, NULL, 5);
}

/*
 * (e) Unchanged tags: the same bytes. Run last: with no edit at all,
 * retag.c calls qsort(NULL, 0, ...), which UBSan stops the program on.
 */
static void test_retag_unchanged(void)
{
	static const char *const c1_c1[] = { "cuda:1", "cuda:1" };
	struct gen in;

	in = (struct gen){ .proto = 2, .tag0 = "cuda:1" };
	retag_case("e", &in, c1_c1, false, &in, NULL, 5);
	in = (struct gen){ .proto = 2, .tag0 = "cuda:1", .dev = true };
	retag_case("e2", &in, c1_c1, false, &in, "cuda:1", 5);
	in = (struct gen){ .proto = 4, .tag0 = "cuda:1", .dev = true, .two_frames = true };
	retag_case("e3", &in, c1_c1, false, &in, "cuda:1", 5);
	in = (struct gen){ .proto = 2, .tag0 = "cuda:1", .legacy = true };
	retag_case("e4", &in, c1_c1, false, &in, NULL, 6);
	/* drop_views on 5-item ids changes nothing */
	in = (struct gen){ .proto = 2, .tag0 = "cuda:1" };
	retag_case("f5", &in, c1_c1, true, &in, NULL, 5);

}

/* A tag that is not a plain literal cannot be rewritten: UNSUPPORTED. */
static void test_retag_errors(void)
{
	static const char *const cpu_cpu[] = { "cpu", "cpu" };
	struct gen g = { .proto = 2, .tag0 = "cuda:\\u0031", .tag0_text = true };
	struct pt_error err = { 0 };
	unsigned char *out = NULL;
	size_t outlen = 0;
	struct loaded l;
	struct buf b;

	gen(&b, &g);
	load(&l, b.b, b.n);
	if (l.ret == 0) {
		struct pt_storage *s0 = pt_torch_storage(&l.t, "0");

		CHECK(s0 && strcmp(s0->saved_location, "cuda:1") == 0);
		CHECK_INT(pt_retag(b.b, b.n, &l.t, cpu_cpu, false, &out, &outlen, &err), -1);
		CHECK_INT(err.code, PT_ERR_UNSUPPORTED);
		CHECK_STR(err.msg, "storage '0': its location tag is not a plain string in the pickle");
		CHECK(out == NULL);
	}
	unload(&l);
}

/* ---- pt_checkpoint_save ------------------------------------------------ */

static char tmpdir[64];

/* The names in tmpdir (without . and ..), joined by spaces. */
static void dir_list(char *out, size_t cap)
{
	DIR *d = opendir(tmpdir);
	struct dirent *e;
	size_t n = 0;

	out[0] = '\0';
	if (!d)
		return;
	while ((e = readdir(d))) {
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		n += (size_t)snprintf(out + n, n < cap ? cap - n : 0, "%s%s", n ? " " : "", e->d_name);
		if (n >= cap)
			break;
	}
	closedir(d);
}

#define CHECK_DIR(want)                                 \
	do {                                            \
		char check_list[1024];                  \
		dir_list(check_list, sizeof(check_list)); \
		CHECK_STR(check_list, want);            \
	} while (0)

static void node_path(const struct pt_node *n, char *buf, size_t cap)
{
	char tmp[1024];

	buf[0] = '\0';
	for (; n->parent != n; n = n->parent) {
		snprintf(tmp, sizeof(tmp), "/%s%s", n->name, buf);
		snprintf(buf, cap, "%s", tmp);
	}
}

static unsigned char *read_all(const struct pt_checkpoint *ck, const struct pt_tensor *t)
{
	struct pt_error err = { 0 };
	unsigned char *buf = malloc(t->nbytes + 1);
	int64_t got;

	if (!buf)
		return NULL;
	got = pt_tensor_read(ck, t, buf, t->nbytes, 0, &err);
	CHECK_INT(got, t->nbytes);
	if (got != (int64_t)t->nbytes)
		fprintf(stderr, "  read: %s\n", err.msg);
	return buf;
}

/* Every tensor of a is in b at the same path with the same bytes. */
static void check_same_tensors(const struct pt_checkpoint *a, const struct pt_checkpoint *b)
{
	size_t i, ntensors = 0;

	CHECK_INT(b->tree->ntensors, a->tree->ntensors);
	CHECK_INT(b->tree->nnodes, a->tree->nnodes);
	for (i = 0; i < a->tree->nnodes && i < b->tree->nnodes; i++) {
		const struct pt_node *na = a->tree->nodes[i], *nb = b->tree->nodes[i];
		char pa[1024], pb[1024];
		unsigned char *da, *db;

		node_path(na, pa, sizeof(pa));
		node_path(nb, pb, sizeof(pb));
		CHECK_STR(pb, pa);
		CHECK_INT(nb->kind, na->kind);
		if (na->kind != PT_NODE_TENSOR || nb->kind != PT_NODE_TENSOR)
			continue;
		ntensors++;
		CHECK_INT(nb->u.tensor->nbytes, na->u.tensor->nbytes);
		CHECK_INT(nb->u.tensor->dtype, na->u.tensor->dtype);
		CHECK_INT(nb->u.tensor->ndim, na->u.tensor->ndim);
		if (nb->u.tensor->nbytes != na->u.tensor->nbytes)
			continue;
		da = read_all(a, na->u.tensor);
		db = read_all(b, nb->u.tensor);
		CHECK(da && db && memcmp(da, db, na->u.tensor->nbytes) == 0);
		if (da && db && memcmp(da, db, na->u.tensor->nbytes) != 0)
			fprintf(stderr, "  %s: different bytes\n", pa);
		free(da);
		free(db);
	}
	CHECK(ntensors > 0);
}

/* Saves fixture name to tmpdir/out.pt with every storage on tag, and checks the copy. */
static void save_case(const char *fixtures, const char *name, const char *tag, uint64_t zip64_above)
{
	struct pt_save_opts opts = { .zip64_above = zip64_above };
	struct pt_progress prog = { 0 };
	struct pt_checkpoint *ck, *ck2;
	struct pt_error err = { 0 };
	char src[4096], dst[128];
	const char **locs;
	uint64_t total = 0;
	size_t i;
	int ret;

	snprintf(src, sizeof(src), "%s/%s", fixtures, name);
	snprintf(dst, sizeof(dst), "%s/out.pt", tmpdir);
	ck = pt_checkpoint_open(src, NULL, &err);
	CHECK(ck != NULL);
	if (!ck) {
		fprintf(stderr, "  %s: %s\n", name, err.msg);
		return;
	}
	locs = calloc(ck->torch.nstorages + 1, sizeof(*locs));
	for (i = 0; i < ck->torch.nstorages; i++) {
		locs[i] = tag;
		total += ck->torch.storages[i]->nbytes;
	}
	ret = pt_checkpoint_save(ck, dst, locs, &opts, &prog, &err);
	CHECK_INT(ret, 0);
	if (ret < 0)
		fprintf(stderr, "  save %s: %s\n", name, err.msg);
	CHECK_INT(prog.total, total);
	CHECK_INT(prog.done, total);
	CHECK_DIR("out.pt");
	ck2 = pt_checkpoint_open(dst, NULL, &err);
	CHECK(ck2 != NULL);
	if (!ck2) {
		fprintf(stderr, "  reopen %s: %s\n", name, err.msg);
	} else {
		CHECK_INT(ck2->c->format, PT_FORMAT_ZIP);
		CHECK_STR(ck2->c->prefix, "out");
		CHECK_INT(ck2->torch.nstorages, ck->torch.nstorages);
		for (i = 0; i < ck2->torch.nstorages; i++) {
			CHECK_STR(ck2->torch.storages[i]->saved_location, tag);
			CHECK_STR(ck2->torch.storages[i]->key, ck->torch.storages[i]->key);
			CHECK_INT(ck2->torch.storages[i]->nbytes, ck->torch.storages[i]->nbytes);
		}
		check_same_tensors(ck, ck2);
		pt_checkpoint_close(ck2);
	}
	unlink(dst);
	free(locs);
	pt_checkpoint_close(ck);
}

/* Different tags per storage land on the right storages. */
static void save_mixed(const char *fixtures)
{
	static const char *const locs[] = { "cpu", "cuda:3", "meta", "cuda:0" };
	struct pt_checkpoint *ck, *ck2;
	struct pt_error err = { 0 };
	char src[4096], dst[128];
	size_t i;

	snprintf(src, sizeof(src), "%s/12_cuda_tags.pt", fixtures);
	snprintf(dst, sizeof(dst), "%s/mixed.pt", tmpdir);
	ck = pt_checkpoint_open(src, NULL, &err);
	CHECK(ck != NULL);
	if (!ck)
		return;
	CHECK_INT(ck->torch.nstorages, 4);
	if (ck->torch.nstorages == 4) {
		CHECK_INT(pt_checkpoint_save(ck, dst, locs, NULL, NULL, &err), 0);
		/* saving again replaces the file */
		CHECK_INT(pt_checkpoint_save(ck, dst, locs, NULL, NULL, &err), 0);
		CHECK_DIR("mixed.pt");
		ck2 = pt_checkpoint_open(dst, NULL, &err);
		CHECK(ck2 != NULL);
		if (ck2) {
			CHECK_INT(ck2->torch.nstorages, 4);
			for (i = 0; i < 4 && i < ck2->torch.nstorages; i++) {
				struct pt_storage *s = pt_torch_storage(&ck2->torch, ck->torch.storages[i]->key);

				CHECK(s != NULL);
				if (s)
					CHECK_STR(s->saved_location, locs[i]);
			}
			check_same_tensors(ck, ck2);
			pt_checkpoint_close(ck2);
		}
		unlink(dst);
	}
	pt_checkpoint_close(ck);
}

static int copy_file(const char *from, const char *to)
{
	char b[65536];
	int in = open(from, O_RDONLY), out;
	ssize_t n;

	if (in < 0)
		return -1;
	out = open(to, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (out < 0) {
		close(in);
		return -1;
	}
	while ((n = read(in, b, sizeof(b))) > 0)
		if (write(out, b, (size_t)n) != n)
			n = -1;
	close(in);
	close(out);
	return n < 0 ? -1 : 0;
}

static void save_errors(const char *shared, const char *fixtures)
{
	static const char *const cpu4[] = { "cpu", "cpu", "cpu", "cpu", "cpu", "cpu", "cpu", "cpu" };
	struct pt_checkpoint *ck;
	struct pt_error err = { 0 };
	char src[4096], path[256], msg[512];
	struct stat st, st2;

	snprintf(src, sizeof(src), "%s/17_demo.pt", fixtures);
	ck = pt_checkpoint_open(src, NULL, &err);
	CHECK(ck != NULL);
	if (!ck)
		return;
	CHECK(ck->torch.nstorages <= 8);

	/* a relative path */
	pt_error_clear(&err);
	CHECK_INT(pt_checkpoint_save(ck, "out.pt", cpu4, NULL, NULL, &err), -1);
	CHECK_INT(err.code, PT_ERR_INVAL);
	CHECK_STR(err.msg, "save needs an absolute path, got 'out.pt'");
	CHECK(access("out.pt", F_OK) != 0);
	CHECK_DIR("");

	/* a folder that does not exist */
	snprintf(path, sizeof(path), "%s/nodir/out.pt", tmpdir);
	pt_error_clear(&err);
	CHECK_INT(pt_checkpoint_save(ck, path, cpu4, NULL, NULL, &err), -1);
	CHECK_INT(err.code, PT_ERR_IO);
	CHECK_INT(err.sys_errno, ENOENT);
	CHECK_DIR("");

	/* a path that names no file */
	snprintf(path, sizeof(path), "%s/", tmpdir);
	pt_error_clear(&err);
	CHECK_INT(pt_checkpoint_save(ck, path, cpu4, NULL, NULL, &err), -1);
	CHECK_INT(err.code, PT_ERR_INVAL);
	snprintf(msg, sizeof(msg), "save: '%s/' names no file", tmpdir);
	CHECK_STR(err.msg, msg);
	CHECK_DIR("");
	pt_checkpoint_close(ck);

	/* the mounted checkpoint itself (a copy, so a bug cannot hurt the fixture) */
	snprintf(path, sizeof(path), "%s/mounted.pt", tmpdir);
	CHECK_INT(copy_file(src, path), 0);
	CHECK_INT(stat(path, &st), 0);
	ck = pt_checkpoint_open(path, NULL, &err);
	CHECK(ck != NULL);
	if (ck) {
		pt_error_clear(&err);
		CHECK_INT(pt_checkpoint_save(ck, path, cpu4, NULL, NULL, &err), -1);
		CHECK_INT(err.code, PT_ERR_INVAL);
		snprintf(msg, sizeof(msg), "save: %s is the mounted checkpoint; choose another path", path);
		CHECK_STR(err.msg, msg);
		CHECK_INT(stat(path, &st2), 0);
		CHECK(st2.st_ino == st.st_ino && st2.st_size == st.st_size &&
		      st2.st_mtim.tv_sec == st.st_mtim.tv_sec && st2.st_mtim.tv_nsec == st.st_mtim.tv_nsec);
		CHECK_DIR("mounted.pt");
		pt_checkpoint_close(ck);
	}
	unlink(path);
	CHECK_DIR("");

	/* a TorchScript archive */
	if (!shared)
		return;
	snprintf(src, sizeof(src), "%s/realworld/ts_21_mlverse_linear.pt", shared);
	if (access(src, R_OK) != 0) {
		fprintf(stderr, "test_retag: %s missing, TorchScript save skipped\n", src);
		return;
	}
	ck = pt_checkpoint_open(src, NULL, &err);
	CHECK(ck != NULL);
	if (!ck) {
		fprintf(stderr, "  %s\n", err.msg);
		return;
	}
	{
		const char **locs = calloc(ck->torch.nstorages + 1, sizeof(*locs));
		size_t i;

		for (i = 0; i < ck->torch.nstorages; i++)
			locs[i] = "cpu";
		snprintf(path, sizeof(path), "%s/ts.pt", tmpdir);
		pt_error_clear(&err);
		CHECK_INT(pt_checkpoint_save(ck, path, locs, NULL, NULL, &err), -1);
		CHECK_INT(err.code, PT_ERR_UNSUPPORTED);
		CHECK_STR(err.msg,
			  "save: TorchScript archives cannot be saved (torch.jit.save owns their layout)");
		CHECK_DIR("");
		free(locs);
	}
	pt_checkpoint_close(ck);
}

static void test_save(const char *shared, const char *fixtures)
{
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/ptfs-test-retag-XXXXXX");
	CHECK(mkdtemp(tmpdir) != NULL);
	save_case(fixtures, "17_demo.pt", "cpu", 0);
	CHECK_DIR("");
	save_case(fixtures, "11_legacy.pt", "cpu", 0);
	CHECK_DIR("");
	save_case(fixtures, "17_demo.pt", "cpu", 1);
	save_case(fixtures, "11_legacy.pt", "cpu", 1);
	save_case(fixtures, "12_cuda_tags.pt", "cpu", 0);
	save_case(fixtures, "13_legacy_cuda.pt", "cpu", 0);
	save_case(fixtures, "10_protocol4.pt", "meta", 0);
	save_mixed(fixtures);
	CHECK_DIR("");
	save_errors(shared, fixtures);
	rmdir(tmpdir);
}

/* A save that keeps every tag (no pickle edit at all); run last, see test_retag_unchanged. */
static void test_save_unchanged(const char *fixtures)
{
	static const char *const locs[] = { "cuda:1", "cuda:1", "cuda:0", "cuda:2" };
	struct pt_checkpoint *ck, *ck2;
	struct pt_error err = { 0 };
	char src[4096], dst[128];
	size_t i;

	snprintf(tmpdir, sizeof(tmpdir), "/tmp/ptfs-test-retag-XXXXXX");
	CHECK(mkdtemp(tmpdir) != NULL);
	snprintf(src, sizeof(src), "%s/12_cuda_tags.pt", fixtures);
	snprintf(dst, sizeof(dst), "%s/same.pt", tmpdir);
	ck = pt_checkpoint_open(src, NULL, &err);
	CHECK(ck != NULL);
	if (ck && ck->torch.nstorages == 4) {
		CHECK_INT(pt_checkpoint_save(ck, dst, locs, NULL, NULL, &err), 0);
		ck2 = pt_checkpoint_open(dst, NULL, &err);
		CHECK(ck2 != NULL);
		if (ck2) {
			CHECK_INT(ck2->c->pickle_len, ck->c->pickle_len);
			CHECK(ck2->c->pickle_len == ck->c->pickle_len &&
			      memcmp(ck2->c->pickle, ck->c->pickle, ck->c->pickle_len) == 0);
			for (i = 0; i < 4 && i < ck2->torch.nstorages; i++)
				CHECK_STR(ck2->torch.storages[i]->saved_location, locs[i]);
			check_same_tensors(ck, ck2);
			pt_checkpoint_close(ck2);
		}
		unlink(dst);
	}
	pt_checkpoint_close(ck);
	rmdir(tmpdir);
}

int main(int argc, char **argv)
{
	const char *shared = argc > 1 ? argv[1] : NULL;
	const char *fixtures = argc > 2 ? argv[2] : NULL;
	DIR *d;

	if (shared && (d = opendir(shared)))
		closedir(d);
	else
		shared = NULL;
	test_generator();
	test_retag();
	test_retag_errors();
	if (fixtures)
		test_save(shared, fixtures);
	else
		fprintf(stderr, "test_retag: no fixtures folder, saves skipped\n");
	test_retag_unchanged();
	if (fixtures)
		test_save_unchanged(fixtures);
	return check_report("test_retag");
}
