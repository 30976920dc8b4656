/*
 * scan.c - the globals report (scan.h).
 *
 * The pickle machine runs with hooks that only record: each global as the
 * file names it (normalized from Python 2 names as torch.load's unpickler
 * does), each call on a global, each BUILD on an object of a global class.
 * Nothing is resolved, so a hostile name costs a table entry. Containers:
 * zip members are found with libzip, including duplicates and members
 * outside the archive prefix (a member named data.txt may hold the payload);
 * a member is scanned when its first byte is PROTO (0x80) or its name ends
 * in .pkl. Bare pickle streams are scanned pickle after pickle (a payload
 * may hide in the third); legacy streams have exactly five pickles.
 */
#define _GNU_SOURCE
#include "scan.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zip.h>

#include "pickle.h"
#include "pickle_int.h"
#include "source.h"
#include "value.h"
#include "zipdir.h"

#define SCAN_MEMBER_MAX ((uint64_t)256 << 20) /* bytes of one pickle member */
#define SCAN_MAX_PICKLES 64                   /* per bare stream */
#define SCAN_STORAGE_HEAD ((size_t)64 << 10)  /* bytes of a storage record parsed first */

struct scan_global {
	char *name;   /* module.name, normalized */
	char *member; /* the pickle it was seen in */
	unsigned ops; /* 1 GLOBAL, 2 STACK_GLOBAL, 4 INST, 8 EXT */
	bool called, built;
	enum pt_verdict verdict;
	const char *reason;
};

struct pt_scan {
	struct scan_global *g;
	size_t n, cap;
	char **notes;
	size_t nnotes;
	bool malformed;
	enum pt_verdict floor; /* raised by notes (TorchScript archive: unknown) */
	const char *member;
	char top[256];  /* "NAME/" when every zip member is under it, else "" */
	bool relative;  /* report members below top (pt_scan_relative) */
	bool *ran_out;  /* NULL, or where a pickle's load says its bytes ended early */
};

static int note(struct pt_scan *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int note(struct pt_scan *s, const char *fmt, ...)
{
	char **n = realloc(s->notes, (s->nnotes + 1) * sizeof(*n));
	va_list ap;
	int r;

	if (!n)
		return -1;
	s->notes = n;
	va_start(ap, fmt);
	r = vasprintf(&s->notes[s->nnotes], fmt, ap);
	va_end(ap);
	if (r < 0)
		return -1;
	s->nnotes++;
	return 0;
}

static const char *py3_module(const char *m)
{
	if (strcmp(m, "__builtin__") == 0 || strcmp(m, "exceptions") == 0)
		return "builtins";
	if (strcmp(m, "copy_reg") == 0)
		return "copyreg";
	if (strcmp(m, "cPickle") == 0)
		return "pickle";
	return m;
}

static struct scan_global *find(struct pt_scan *s, const char *module, const char *name,
				bool add)
{
	char full[1024];
	size_t i;

	snprintf(full, sizeof(full), "%s.%s", py3_module(module), name);
	for (i = 0; i < s->n; i++)
		if (strcmp(s->g[i].name, full) == 0 && strcmp(s->g[i].member, s->member) == 0)
			return &s->g[i];
	if (!add)
		return NULL;
	if (s->n == s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 16;
		struct scan_global *g = realloc(s->g, cap * sizeof(*g));

		if (!g)
			return NULL;
		s->g = g;
		s->cap = cap;
	}
	memset(&s->g[s->n], 0, sizeof(s->g[s->n]));
	s->g[s->n].name = strdup(full);
	s->g[s->n].member = strdup(s->member);
	if (!s->g[s->n].name || !s->g[s->n].member) {
		free(s->g[s->n].name);
		free(s->g[s->n].member);
		return NULL;
	}
	s->g[s->n].verdict = pt_scan_classify(py3_module(module), name, &s->g[s->n].reason);
	return &s->g[s->n++];
}

static int hook_global(void *ctx, const char *module, const char *name, unsigned char op,
		       struct pt_error *err)
{
	struct scan_global *g = find(ctx, module, name, true);

	if (!g)
		return pt_error_set(err, PT_ERR_NOMEM, "out of memory");
	g->ops |= op == 'c' ? 1 : op == 0x93 ? 2 : op == 'i' ? 4 : 8;
	return 0;
}

static void mark(struct pt_scan *s, const struct pt_value *cls, bool call)
{
	struct scan_global *g;

	if (!cls || cls->kind != PT_V_GLOBAL)
		return;
	g = find(s, cls->u.global.module, cls->u.global.name, true);
	if (!g)
		return;
	if (call)
		g->called = true;
	else
		g->built = true;
}

static struct pt_value *hook_call(void *ctx, struct pt_arena *a, struct pt_value *callable,
				  struct pt_value *args, struct pt_value *kwargs, unsigned char how,
				  struct pt_error *err)
{
	(void)a, (void)args, (void)kwargs, (void)how, (void)err;
	mark(ctx, callable, true);
	return NULL;
}

static int hook_build(void *ctx, struct pt_arena *a, struct pt_value *target,
		      struct pt_value *state, struct pt_error *err)
{
	(void)a, (void)state, (void)err;
	if (target->kind == PT_V_OBJECT)
		mark(ctx, target->u.obj.callable, false);
	return 0;
}

/* PROTO, or an opcode that starts protocol 0/1 pickles (text GLOBAL, MARK, ...). */
static bool looks_like_pickle(unsigned char c)
{
	return c == 0x80 || (c < 0x80 && strchr("c(ISVFLNJKM]})ghjpqr.", c) && c != '\0');
}

static void scan_stream(struct pt_scan *s, const unsigned char *buf, size_t len, unsigned max,
			const char *what, int depth);

/*
 * A bytes value that is itself a pickle (pickle.loads(b'...') inside the
 * pickle, torch.storage._load_from_bytes) would be run by the outer one's
 * calls: scan it too. The walk is iterative and marks what it visited.
 */
static void scan_nested(struct pt_scan *s, struct pt_value *root, const char *what, int depth)
{
	struct pt_value **stack;
	size_t sp = 0, cap = 256, i, found = 0;
	char member[300];

	if (depth >= 3 || !(stack = malloc(cap * sizeof(*stack))))
		return;
	stack[sp++] = root;
	root->mark = 1;
	while (sp) {
		struct pt_value *v = stack[--sp], *kids[3] = { NULL, NULL, NULL };
		struct pt_value **arr = NULL, **arr2 = NULL;
		size_t n = 0, n2 = 0, k;

		switch (v->kind) {
		case PT_V_BYTES: case PT_V_BYTEARRAY:
			if (v->u.s.len > 2 && (unsigned char)v->u.s.p[0] == 0x80 && found < 16) {
				snprintf(member, sizeof(member), "%s: bytes value %zu", what, ++found);
				note(s, "%s: a pickle embedded in a bytes value", what);
				if (s->floor < PT_VERDICT_UNKNOWN)
					s->floor = PT_VERDICT_UNKNOWN;
				scan_stream(s, (const unsigned char *)v->u.s.p, v->u.s.len, 1, member,
					    depth + 1);
			}
			break;
		case PT_V_TUPLE: case PT_V_LIST: case PT_V_SET: case PT_V_FROZENSET:
			arr = v->u.seq.v;
			n = v->u.seq.n;
			break;
		case PT_V_DICT:
			arr = v->u.dict.k;
			arr2 = v->u.dict.v;
			n = n2 = v->u.dict.n;
			break;
		case PT_V_OBJECT:
			kids[0] = v->u.obj.args;
			kids[1] = v->u.obj.state;
			kids[2] = v->u.obj.kwargs;
			arr = v->u.obj.appends.v;
			n = v->u.obj.appends.n;
			arr2 = v->u.obj.items.v;
			n2 = v->u.obj.items.n;
			break;
		default:
			break;
		}
		for (i = 0; i < 3 + n + n2; i++) {
			struct pt_value *c = i < 3 ? kids[i] : i < 3 + n ? arr[i - 3] : arr2[i - 3 - n];

			if (!c || c->mark)
				continue;
			c->mark = 1;
			if (sp == cap) {
				struct pt_value **ns = realloc(stack, cap * 2 * sizeof(*ns));

				if (!ns)
					goto out_free;
				stack = ns;
				cap *= 2;
			}
			stack[sp++] = c;
		}
		(void)k;
	}
out_free:
	free(stack);
}

/*
 * After a pickle broke, list the names its opcodes still spell, reading
 * each opcode's argument and nothing else (frames ignored): a payload may
 * sit behind a malformed frame, or after the point where the machine
 * stopped. STACK_GLOBAL takes the two strings pushed just before it.
 */
static void sweep(struct pt_scan *s, const unsigned char *buf, size_t len, size_t from, int depth)
{
	const unsigned char *str[2] = { NULL, NULL };
	size_t strn[2] = { 0, 0 }, pos = from, next;
	struct pt_oparg a;
	struct pt_error e;
	char mod[256], name[256];

	while (pos < len) {
		unsigned char op = buf[pos];

		if (!pt_pickle_ops[op].name || pt_pickle_op_decode(buf, len, pos, &a, &next, &e) != 0) {
			pos++; /* resynchronize on the next byte */
			continue;
		}
		if (op == 'c' || op == 'i') {
			snprintf(mod, sizeof(mod), "%.*s", (int)(a.n < 200 ? a.n : 200), a.p);
			snprintf(name, sizeof(name), "%.*s", (int)(a.n2 < 200 ? a.n2 : 200), a.p2);
			hook_global(s, mod, name, op, &e);
		} else if (op == 0x93 && str[0] && str[1]) {
			snprintf(mod, sizeof(mod), "%.*s", (int)(strn[0] < 200 ? strn[0] : 200), str[0]);
			snprintf(name, sizeof(name), "%.*s", (int)(strn[1] < 200 ? strn[1] : 200), str[1]);
			hook_global(s, mod, name, op, &e);
		} else if (op == 0x95 && depth == 0 && a.u < len - next && next + a.u != next) {
			/* a streaming reader resumes where the frame says it ends */
			sweep(s, buf, len, next + (size_t)a.u, 1);
		} else if (op == 'X' || op == 0x8c || op == 0x8d || op == 'V') {
			str[0] = str[1];
			strn[0] = strn[1];
			str[1] = a.p;
			strn[1] = a.n;
		}
		if (op == '.' && next >= len)
			break;
		pos = next;
	}
}

/* Scans pickles in buf, one after another (at most max); notes what is left over. */
static void scan_stream(struct pt_scan *s, const unsigned char *buf, size_t len, unsigned max,
			const char *what, int depth)
{
	struct pt_pickle_hooks h = { .ctx = s, .global = hook_global, .call = hook_call,
				     .build = hook_build };
	struct pt_pickle_opts o;
	size_t pos = 0;
	unsigned i;
	char member[256];

	pt_pickle_opts_default(&o);
	o.hooks = &h;
	o.ran_out = s->ran_out;
	for (i = 0; i < max && pos < len; i++) {
		struct pt_arena a;
		struct pt_value *v;
		struct pt_error err;
		size_t used = 0;

		if (max > 1)
			snprintf(member, sizeof(member), "%s %u", what, i + 1);
		else
			snprintf(member, sizeof(member), "%s", what);
		s->member = member;
		pt_arena_init(&a, (size_t)1 << 30);
		pt_error_clear(&err);
		if (pt_pickle_load(&a, buf + pos, len - pos, &o, &v, &used, &err) < 0) {
			s->malformed = true;
			note(s, "%s: malformed: %s", member, err.msg);
			pt_arena_release(&a);
			sweep(s, buf + pos, len - pos, 0, 0);
			return;
		}
		scan_nested(s, v, member, depth);
		pt_arena_release(&a);
		pos += used;
		if (max > 1 && pos < len && !looks_like_pickle(buf[pos])) {
			note(s, "%s: %zu bytes after the last pickle", what, len - pos);
			s->malformed = true;
			return;
		}
	}
	if (max > 1 && i > 1)
		note(s, "%s: %u pickles in one stream", what, i);
}

/*
 * The stored bytes of entry i (named name) of the zip at path, read past
 * libzip: it refuses a stored member whose "encrypted" flag is set, which
 * torch's reader ignores, so a payload could hide there. Returns a malloc'd
 * buffer and its length in *len, or NULL when it cannot be read this way.
 */
static unsigned char *stored_raw(const char *path, zip_uint64_t i, const char *name, size_t *len)
{
	struct pt_zipdir d = { 0 };
	struct pt_error err;
	struct pt_source *src = pt_source_open_file(path, &err);
	const struct pt_zipdir_entry *e;
	unsigned char lh[30], *buf = NULL;
	uint64_t off;

	if (!src)
		return NULL;
	if (pt_zipdir_read(src, &d, &err) < 0 || i >= d.n)
		goto out;
	e = &d.e[i];
	if (e->method != 0 || e->nlen != strlen(name) || memcmp(e->name, name, e->nlen) != 0 ||
	    e->csize > SCAN_MEMBER_MAX ||
	    pt_source_read(src, lh, sizeof(lh), e->lho, "local header", &err) < 0 ||
	    pt_le32(lh) != 0x04034b50)
		goto out;
	off = e->lho + sizeof(lh) + pt_le16(lh + 26) + pt_le16(lh + 28);
	buf = malloc(e->csize ? e->csize : 1);
	if (buf && pt_source_read(src, buf, e->csize, off, "member", &err) < 0) {
		free(buf);
		buf = NULL;
	}
	if (buf)
		*len = e->csize;
out:
	pt_zipdir_free(&d);
	pt_source_close(src);
	return buf;
}

/* Whether name, nl bytes long, ends in suffix. */
static bool ends_in(const char *name, size_t nl, const char *suffix)
{
	size_t sl = strlen(suffix);

	return nl >= sl && memcmp(name + nl - sl, suffix, sl) == 0;
}

/*
 * A storage record (TOP/data/KEY, or TOP/constants/KEY in a TorchScript
 * archive) holds tensor bytes: torch.load reads it raw and unpickles it only
 * when told to (pickle_file=). An int8 tensor starting at -128 begins with
 * 0x80 like a pickle, and random bytes then spell EXT or GLOBAL opcodes, so
 * such a record is reported only when it parses as a whole pickle (as
 * research/security.md D7 asks: every member that parses as a pickle).
 */
static bool storage_record(const struct pt_scan *s, const char *name, size_t nl)
{
	size_t tl = strlen(s->top);
	const char *key;

	if (!tl || strncmp(name, s->top, tl) != 0 || ends_in(name, nl, ".pkl"))
		return false;
	if (strncmp(name + tl, "data/", 5) == 0)
		key = name + tl + 5;
	else if (strncmp(name + tl, "constants/", 10) == 0)
		key = name + tl + 10;
	else
		return false;
	return *key && !strchr(key, '/');
}

/*
 * Whether buf parses as one whole pickle, the machine's hooks recording into
 * a scratch report; *ran_out (may be NULL) whether it failed for want of bytes.
 */
static bool whole_pickle(const unsigned char *buf, size_t len, const char *name, bool *ran_out)
{
	struct pt_scan *t = calloc(1, sizeof(*t));
	bool ok;

	if (ran_out)
		*ran_out = false;
	if (!t)
		return true; /* fail closed: scan it for real */
	t->ran_out = ran_out;
	scan_stream(t, buf, len, 1, name, 0);
	ok = !t->malformed;
	pt_scan_free(t);
	return ok;
}

/*
 * Whether the storage record f, of size bytes, whose first *len are in *buf,
 * is a whole pickle: 1 (*buf and *len then hold enough of it to scan), 0 not
 * (tensor bytes), -1 when the rest cannot be read. Only a pickle that is
 * still parsing where those bytes end makes it read the rest: random bytes
 * fail within a few, and a storage record may be 256 MiB.
 */
static int storage_pickle(zip_file_t *f, unsigned char **buf, size_t *len, size_t size,
			  const char *name)
{
	unsigned char *all;
	bool ran_out;

	if (whole_pickle(*buf, *len, name, &ran_out))
		return 1;
	if (!ran_out || *len == size)
		return 0;
	all = realloc(*buf, size);
	if (!all)
		return -1;
	*buf = all;
	if (zip_fread(f, all + *len, size - *len) != (zip_int64_t)(size - *len))
		return -1;
	*len = size;
	return whole_pickle(all, size, name, NULL) ? 1 : 0;
}

struct member_name {
	const char *name;
	zip_int64_t i;
};

static int member_name_cmp(const void *a, const void *b)
{
	const struct member_name *x = a, *y = b;
	int c = strcmp(x->name, y->name);

	return c ? c : (x->i > y->i) - (x->i < y->i);
}

/*
 * For each member, whether a member before it has its name, found by sorting
 * the names (n log n: comparing each with every earlier one took 1.7 s for
 * 20,000 members, and a mount makes this scan for .ptfs/globals; each repeat
 * gets one note, so 65,535 copies of a name make 65,534 notes, not 2^31).
 * NULL when out of memory.
 */
static bool *repeated_names(zip_t *z, zip_int64_t n)
{
	size_t count = n > 0 ? (size_t)n : 1;
	struct member_name *v = calloc(count, sizeof(*v));
	bool *repeat = calloc(count, sizeof(*repeat));
	size_t m = 0, k;

	if (!v || !repeat) {
		free(v);
		free(repeat);
		return NULL;
	}
	for (zip_int64_t i = 0; i < n; i++) {
		const char *name = zip_get_name(z, (zip_uint64_t)i, ZIP_FL_ENC_RAW);

		if (name)
			v[m++] = (struct member_name){name, i};
	}
	qsort(v, m, sizeof(*v), member_name_cmp);
	for (k = 1; k < m; k++)
		if (strcmp(v[k].name, v[k - 1].name) == 0)
			repeat[v[k].i] = true;
	free(v);
	return repeat;
}

static void scan_zip(struct pt_scan *s, const char *path)
{
	zip_int64_t n, i;
	int zerr = 0;
	zip_t *z = zip_open(path, ZIP_RDONLY, &zerr);
	bool *repeat;
	bool ts = false;

	if (!z) {
		zip_error_t ze;

		zip_error_init_with_code(&ze, zerr);
		note(s, "zip: malformed: %s", zip_error_strerror(&ze));
		zip_error_fini(&ze);
		s->malformed = true;
		return;
	}
	n = zip_get_num_entries(z, 0);
	for (i = 0; i < n; i++) { /* the one top folder every member is under, if any */
		const char *name = zip_get_name(z, (zip_uint64_t)i, ZIP_FL_ENC_RAW);
		const char *slash = name ? strchr(name, '/') : NULL;

		if (!slash || (size_t)(slash - name) + 2 > sizeof(s->top) ||
		    (i > 0 && strncmp(name, s->top, strlen(s->top)) != 0)) {
			s->top[0] = '\0';
			break;
		}
		if (i == 0)
			snprintf(s->top, sizeof(s->top), "%.*s", (int)(slash - name + 1), name);
	}
	repeat = repeated_names(z, n);
	if (!repeat) {
		note(s, "zip: out of memory comparing %lld member names", (long long)n);
		s->malformed = true;
		zip_discard(z);
		return;
	}
	for (i = 0; i < n; i++) {
		const char *name = zip_get_name(z, (zip_uint64_t)i, ZIP_FL_ENC_RAW);
		zip_stat_t st;
		zip_file_t *f;
		unsigned char first = 0, *buf;
		zip_flags_t flags;
		bool data;
		int pickle = 0;
		size_t nl, len;

		if (!name || zip_stat_index(z, (zip_uint64_t)i, 0, &st) < 0)
			continue;
		nl = strlen(name);
		if (ends_in(name, nl, "constants.pkl") || strstr(name, "/code/"))
			ts = true;
		if (repeat[i])
			note(s, "zip: duplicate member %s", name);
		/* stored members are read raw: a bogus "encrypted" flag or CRC hides nothing */
		flags = st.comp_method == ZIP_CM_STORE ? ZIP_FL_COMPRESSED : 0;
		f = zip_fopen_index(z, (zip_uint64_t)i, flags);
		if (!f && (st.encryption_method != ZIP_EM_NONE || (st.valid & ZIP_STAT_ENCRYPTION_METHOD) == 0)) {
			size_t rawlen = 0;

			buf = stored_raw(path, (zip_uint64_t)i, name, &rawlen);
			if (buf) {
				note(s, "%s: a stored member flagged encrypted, read as torch reads it", name);
				if (rawlen && (buf[0] == 0x80 || ends_in(name, nl, ".pkl")))
					scan_stream(s, buf, rawlen, 1, name, 0);
				free(buf);
				continue;
			}
		}
		if (!f) {
			note(s, "%s: unreadable member: %s", name, zip_strerror(z));
			s->malformed = true;
			continue;
		}
		if (zip_fread(f, &first, 1) != 1 || !(first == 0x80 || ends_in(name, nl, ".pkl"))) {
			zip_fclose(f);
			continue;
		}
		zip_fclose(f);
		data = storage_record(s, name, nl);
		if (st.size > SCAN_MEMBER_MAX) {
			if (data)
				continue; /* tensor bytes: too big to hold a pickle we would scan */
			note(s, "%s: a %llu-byte pickle is not scanned (limit %llu)", name,
			     (unsigned long long)st.size, (unsigned long long)SCAN_MEMBER_MAX);
			s->malformed = true;
			continue;
		}
		len = data && st.size > SCAN_STORAGE_HEAD ? SCAN_STORAGE_HEAD : (size_t)st.size;
		buf = malloc(len ? len : 1);
		f = zip_fopen_index(z, (zip_uint64_t)i, flags);
		if (!buf || !f || zip_fread(f, buf, len) != (zip_int64_t)len ||
		    (data && (pickle = storage_pickle(f, &buf, &len, st.size, name)) < 0)) {
			note(s, "%s: unreadable member", name);
			s->malformed = true;
		} else if (!data || pickle) {
			scan_stream(s, buf, len, 1, name, 0);
		}
		if (f)
			zip_fclose(f);
		free(buf);
	}
	if (ts) {
		note(s, "TorchScript archive (code/, constants.pkl): torch.load hands it to torch.jit.load, which runs its code");
		s->floor = PT_VERDICT_UNKNOWN;
	}
	free(repeat);
	zip_discard(z);
}

struct pt_scan *pt_scan_file(const char *path, struct pt_error *err)
{
	static const unsigned char legacy[8] = { 0x80, 0x02, 0x8a, 0x0a, 0x6c, 0xfc, 0x9c, 0x46 };
	struct pt_scan *s;
	unsigned char head[8] = { 0 };
	struct stat st;
	void *map;
	int fd;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return pt_error_sys(err, errno, "%s", path), NULL;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return pt_error_set(err, PT_ERR_FORMAT, "%s: not a regular file", path), NULL;
	}
	if (pread(fd, head, sizeof(head), 0) < 1) {
		close(fd);
		return pt_error_set(err, PT_ERR_FORMAT, "%s: empty file", path), NULL;
	}
	if (memcmp(head, "PK\3\4", 4) != 0 && !looks_like_pickle(head[0])) {
		close(fd);
		if (memcmp(head, "7z\xbc\xaf\x27\x1c", 6) == 0)
			return pt_error_set(err, PT_ERR_FORMAT, "%s: not a PyTorch checkpoint (7z archive)", path), NULL;
		return pt_error_set(err, PT_ERR_FORMAT,
				    "%s: not a PyTorch checkpoint or pickle (first bytes %02x %02x %02x %02x)",
				    path, head[0], head[1], head[2], head[3]),
		       NULL;
	}
	s = calloc(1, sizeof(*s));
	if (!s) {
		close(fd);
		return pt_error_set(err, PT_ERR_NOMEM, "out of memory"), NULL;
	}
	if (memcmp(head, "PK\3\4", 4) == 0) {
		close(fd);
		scan_zip(s, path);
		return s;
	}
	map = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
	close(fd);
	if (map == MAP_FAILED) {
		pt_scan_free(s);
		return pt_error_sys(err, errno, "%s: mmap", path), NULL;
	}
	if (memcmp(head, legacy, sizeof(legacy)) == 0) {
		/* five pickles, then raw storage bytes */
		struct pt_pickle_opts o;
		size_t pos = 0, used, k;
		struct pt_arena a;
		struct pt_value *v;
		struct pt_error e2;

		pt_pickle_opts_default(&o);
		for (k = 0; k < 5; k++) {
			if (k == 3) {
				size_t end = 0;

				/* scan the object pickle with the recording hooks */
				if (pt_pickle_scan((unsigned char *)map + pos, (size_t)st.st_size - pos, &end, &e2) != 0) {
					note(s, "legacy object pickle: malformed: %s", e2.msg);
					s->malformed = true;
					break;
				}
				scan_stream(s, (unsigned char *)map + pos, end, 1, "object pickle", 0);
				pos += end;
				continue;
			}
			pt_arena_init(&a, (size_t)1 << 26);
			if (pt_pickle_load(&a, (unsigned char *)map + pos, (size_t)st.st_size - pos, &o, &v,
					   &used, &e2) < 0) {
				note(s, "legacy pickle %zu: malformed: %s", k + 1, e2.msg);
				s->malformed = true;
				pt_arena_release(&a);
				break;
			}
			pt_arena_release(&a);
			pos += used;
		}
	} else {
		scan_stream(s, map, (size_t)st.st_size, SCAN_MAX_PICKLES, "pickle", 0);
	}
	munmap(map, (size_t)st.st_size);
	return s;
}

enum pt_verdict pt_scan_verdict(const struct pt_scan *s)
{
	enum pt_verdict v = s->floor;
	size_t i;

	for (i = 0; i < s->n; i++)
		if (s->g[i].verdict > v)
			v = s->g[i].verdict;
	/* a dangerous name seen before the damage still says the most */
	if (s->malformed && v != PT_VERDICT_DANGEROUS)
		v = PT_VERDICT_UNREADABLE;
	return v;
}

static const char *use_name(const struct scan_global *g)
{
	return g->called ? "called" : g->built ? "built" : "named";
}

int pt_scan_report(const struct pt_scan *s, const char *prefix, char **buf, size_t *len)
{
	FILE *f = open_memstream(buf, len);
	size_t i;

	if (!f)
		return -1;
	for (i = 0; i < s->n; i++) {
		const struct scan_global *g = &s->g[i];

		const char *member = g->member;
		size_t tl = strlen(s->top);

		if (s->relative && tl && strncmp(member, s->top, tl) == 0)
			member += tl;
		fprintf(f, "%s%s: %s %s %s%s%s%s%s", prefix, member, pt_verdict_name(g->verdict),
			g->name, use_name(g), g->ops & 1 ? " GLOBAL" : "", g->ops & 2 ? " STACK_GLOBAL" : "",
			g->ops & 4 ? " INST" : "", g->ops & 8 ? " EXT" : "");
		if (g->reason)
			fprintf(f, " (%s)", g->reason);
		fputc('\n', f);
	}
	for (i = 0; i < s->nnotes; i++)
		fprintf(f, "%snote: %s\n", prefix, s->notes[i]);
	fprintf(f, "%sverdict: %s\n", prefix, pt_verdict_name(pt_scan_verdict(s)));
	return fclose(f) == 0 ? 0 : -1;
}

void pt_scan_relative(struct pt_scan *s)
{
	s->relative = true;
}

void pt_scan_free(struct pt_scan *s)
{
	size_t i;

	if (!s)
		return;
	for (i = 0; i < s->n; i++) {
		free(s->g[i].name);
		free(s->g[i].member);
	}
	for (i = 0; i < s->nnotes; i++)
		free(s->notes[i]);
	free(s->g);
	free(s->notes);
	free(s);
}
