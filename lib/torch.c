/*
 * torch.c - recognising torch's storages and tensors in a running pickle.
 *
 * torch.save replaces every storage by a persistent id
 * ('storage', <Name>Storage, key, location, numel[, view]) (format.md §2.2)
 * and every tensor by a call of one of the rebuild functions of
 * torch._utils (§2.4). The pickle machine hands us each persistent id and
 * each call; we answer with PT_V_STORAGE / PT_V_TENSOR values and decline
 * everything else, which stays a symbolic object. Storages are unique per
 * key, so all views of one storage point at one struct pt_storage.
 *
 * Every number that comes from the file is checked here before it is used:
 * shapes and strides are non-negative, their products do not overflow, and
 * the last element a view touches lies inside its storage. A tensor that
 * breaks a rule fails the whole load with a message naming the rule.
 */
#include "torch.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PT_MAX_NDIM 64

static const char *type_tensor = "torch.Tensor";
static const char *type_parameter = "torch.nn.parameter.Parameter";

static bool is_str(const struct pt_value *v, const char *s)
{
	return v && v->kind == PT_V_STR && strcmp(v->u.s.p, s) == 0;
}

static struct pt_value *tuple_at(const struct pt_value *t, size_t i)
{
	if (!t || t->kind != PT_V_TUPLE || i >= t->u.seq.n)
		return NULL;
	return t->u.seq.v[i];
}

static int get_int(const struct pt_value *v, int64_t *out)
{
	if (!v)
		return -1;
	if (v->kind == PT_V_INT) {
		*out = v->u.i;
		return 0;
	}
	if (v->kind == PT_V_BOOL) {
		*out = v->u.b;
		return 0;
	}
	return -1;
}

/* The dtype of a storage-class global such as `torch FloatStorage`. */
static enum pt_dtype storage_class_dtype(struct pt_torch *t, const struct pt_value *cls)
{
	if (!cls || cls->kind != PT_V_GLOBAL)
		return PT_DT_INVALID;
	if (cls == t->last_class)
		return t->last_class_dtype;
	t->last_class = cls;
	t->last_class_dtype = strncmp(cls->u.global.module, "torch", 5) != 0
				      ? PT_DT_INVALID
				      : pt_dtype_from_storage_class(cls->u.global.name);
	return t->last_class_dtype;
}

/* Remembers where this persistent id's tag (and legacy view item) came from. */
static int record_site(struct pt_torch *t, struct pt_storage *s, size_t n, struct pt_error *err)
{
	struct pt_loc_site *site = pt_arena_alloc(t->arena, sizeof(*site), err), **tail;

	if (!site)
		return -1;
	site->tag_off = t->last_prov[3];
	site->view_off = n == 6 ? t->last_prov[5] : SIZE_MAX;
	for (tail = &s->sites; *tail; tail = &(*tail)->next)
		;
	*tail = site;
	return 0;
}

/* The tuple hook: keeps the provenance of tuples shaped like a storage id. */
static int torch_tuple(void *ctx, struct pt_value *tuple, const size_t *offs, struct pt_error *err)
{
	struct pt_torch *t = ctx;
	size_t n = tuple->u.seq.n;

	(void)err;
	if ((n == 5 || n == 6) && is_str(tuple->u.seq.v[0], "storage")) {
		t->last_pid = tuple;
		memcpy(t->last_prov, offs, n * sizeof(*offs));
	}
	return 0;
}

static struct pt_value *torch_persistent_load(void *ctx, struct pt_arena *a,
					      struct pt_value *pid,
					      struct pt_error *err)
{
	struct pt_torch *t = ctx;
	struct pt_value *type, *key, *loc, *numel_v, *view, *v;
	struct pt_storage *s;
	enum pt_dtype dt;
	int64_t numel;
	size_t n;

	if (!pid || pid->kind != PT_V_TUPLE || pid->u.seq.n == 0)
		return pt_error_set(err, PT_ERR_FORMAT, "persistent id is a %s, not a storage tuple",
				    pid ? pt_vkind_name(pid->kind) : "nothing"),
		       NULL;
	n = pid->u.seq.n;
	if (is_str(tuple_at(pid, 0), "module") && n >= 2)
		return tuple_at(pid, 1); /* legacy whole-module id: the class */
	if (!is_str(tuple_at(pid, 0), "storage"))
		return pt_error_set(err, PT_ERR_FORMAT,
				    "persistent id does not start with 'storage' (torch.load: Unknown typename for persistent_load)"),
		       NULL;
	if (n != 5 && n != 6)
		return pt_error_set(err, PT_ERR_FORMAT,
				    "storage persistent id has %zu fields, expected 5 or 6", n),
		       NULL;
	type = tuple_at(pid, 1);
	key = tuple_at(pid, 2);
	loc = tuple_at(pid, 3);
	numel_v = tuple_at(pid, 4);
	view = n == 6 ? tuple_at(pid, 5) : NULL;
	dt = storage_class_dtype(t, type);
	if (dt == PT_DT_INVALID)
		return pt_error_set(err, PT_ERR_FORMAT,
				    "storage persistent id: type is %s%s%s, not a torch storage class",
				    type && type->kind == PT_V_GLOBAL ? type->u.global.module : pt_vkind_name(type ? type->kind : PT_V_NONE),
				    type && type->kind == PT_V_GLOBAL ? "." : "",
				    type && type->kind == PT_V_GLOBAL ? type->u.global.name : ""),
		       NULL;
	if (!key || key->kind != PT_V_STR || !loc || loc->kind != PT_V_STR)
		return pt_error_set(err, PT_ERR_FORMAT,
				    "storage persistent id: key and location must be str"),
		       NULL;
	if (get_int(numel_v, &numel) < 0 || numel < 0)
		return pt_error_set(err, PT_ERR_FORMAT,
				    "storage '%s': element count is not a non-negative int", key->u.s.p),
		       NULL;
	if (view && view->kind != PT_V_NONE)
		return pt_error_set(err, PT_ERR_UNSUPPORTED,
				    "storage '%s': legacy storage views are not supported", key->u.s.p),
		       NULL;
	s = pt_torch_storage_add(t, key->u.s.p, dt, (uint64_t)numel, loc->u.s.p, err);
	if (!s)
		return NULL;
	s->nuses++;
	if (pid == t->last_pid && record_site(t, s, n, err) < 0)
		return NULL;
	v = pt_value_new(a, PT_V_STORAGE, err);
	if (!v)
		return NULL;
	v->u.storage = s;
	return v;
}

static int int_tuple(const struct pt_value *v, const char *fn, const char *what,
		     int64_t *out, int *n, struct pt_error *err)
{
	size_t i;

	if (!v || v->kind != PT_V_TUPLE) {
		/* torch.Size((2,3)) arrives as an object when not reduced by our hook */
		return pt_error_set(err, PT_ERR_FORMAT, "%s: %s is %s, not a tuple of ints",
				    fn, what, v ? pt_vkind_name(v->kind) : "missing");
	}
	if (v->u.seq.n > PT_MAX_NDIM)
		return pt_error_set(err, PT_ERR_LIMIT, "%s: %zu dimensions exceed the limit of %d",
				    fn, v->u.seq.n, PT_MAX_NDIM);
	for (i = 0; i < v->u.seq.n; i++) {
		if (v->u.seq.v[i]->kind != PT_V_INT)
			return pt_error_set(err, PT_ERR_FORMAT, "%s: %s[%zu] is %s, not an int",
					    fn, what, i, pt_vkind_name(v->u.seq.v[i]->kind));
		out[i] = v->u.seq.v[i]->u.i;
	}
	*n = (int)v->u.seq.n;
	return 0;
}

/* Multiplies with overflow detection; returns -1 on overflow. */
static int mul_u64(uint64_t a, uint64_t b, uint64_t *out)
{
	return __builtin_mul_overflow(a, b, out) ? -1 : 0;
}

/*
 * Builds a tensor over storage s (or no storage), checking the view against
 * it. elsize comes from dt; for an UntypedStorage the storage counts bytes.
 */
struct pt_value *pt_torch_tensor(struct pt_torch *t, struct pt_arena *a, const char *fn,
				 struct pt_storage *s, int64_t offset, const int64_t *shape,
				 const int64_t *stride, int nd, enum pt_dtype dt, bool requires_grad,
				 struct pt_error *err)
{
	uint64_t numel = 1, last, elsize, storage_elems, expect;
	struct pt_tensor *tn;
	struct pt_value *v;
	int i;

	if (s && s->dtype != PT_DT_UINT8 && s->dtype != dt)
		return pt_error_set(err, PT_ERR_FORMAT, "%s: tensor of %s over a %s storage '%s'",
				    fn, pt_dtype_name(dt), pt_dtype_name(s->dtype), s->key),
		       NULL;
	if (offset < 0)
		return pt_error_set(err, PT_ERR_FORMAT, "%s: negative storage offset %lld",
				    fn, (long long)offset),
		       NULL;
	for (i = 0; i < nd; i++) {
		if (shape[i] < 0)
			return pt_error_set(err, PT_ERR_FORMAT, "%s: negative dimension %lld",
					    fn, (long long)shape[i]),
			       NULL;
		if (stride[i] < 0)
			return pt_error_set(err, PT_ERR_FORMAT, "%s: negative stride %lld",
					    fn, (long long)stride[i]),
			       NULL;
		if (mul_u64(numel, (uint64_t)shape[i], &numel) < 0)
			return pt_error_set(err, PT_ERR_FORMAT, "%s: the element count overflows", fn),
			       NULL;
	}
	elsize = pt_dtype_size(dt);
	if (mul_u64(numel, elsize, &(uint64_t){0}) < 0)
		return pt_error_set(err, PT_ERR_FORMAT, "%s: the byte size overflows", fn), NULL;
	if (numel > 0) {
		uint64_t span;

		last = (uint64_t)offset;
		for (i = 0; i < nd; i++) {
			if (mul_u64((uint64_t)(shape[i] - 1), (uint64_t)stride[i], &span) < 0 ||
			    __builtin_add_overflow(last, span, &last))
				return pt_error_set(err, PT_ERR_FORMAT, "%s: the view's extent overflows", fn),
				       NULL;
		}
		if (!s)
			return pt_error_set(err, PT_ERR_FORMAT, "%s: a tensor with data has no storage", fn),
			       NULL;
		storage_elems = s->nbytes / elsize;
		if (last >= storage_elems)
			return pt_error_set(err, PT_ERR_RANGE,
					    "%s: the view (offset %lld) reaches element %llu of storage '%s', which holds %llu elements of %s",
					    fn, (long long)offset, (unsigned long long)last, s->key,
					    (unsigned long long)storage_elems, pt_dtype_name(dt)),
			       NULL;
	}

	tn = pt_arena_alloc(t->arena, sizeof(*tn), err);
	if (!tn)
		return NULL;
	tn->shape = pt_arena_alloc(t->arena, (size_t)(nd ? nd : 1) * sizeof(int64_t) * 2, err);
	if (!tn->shape)
		return NULL;
	tn->stride = tn->shape + nd;
	memcpy(tn->shape, shape, (size_t)nd * sizeof(int64_t));
	memcpy(tn->stride, stride, (size_t)nd * sizeof(int64_t));
	tn->storage = s;
	tn->dtype = dt;
	tn->ndim = nd;
	tn->offset = offset;
	tn->numel = numel;
	tn->nbytes = numel * elsize;
	tn->type = type_tensor;
	tn->requires_grad = requires_grad;
	tn->contiguous = true;
	if (numel > 1) { /* no zero dims here, so the products fit */
		expect = 1;
		for (i = nd - 1; i >= 0; i--) {
			if (shape[i] != 1 && (uint64_t)stride[i] != expect)
				tn->contiguous = false;
			expect *= (uint64_t)shape[i];
		}
	}
	v = pt_value_new(a, PT_V_TENSOR, err);
	if (!v)
		return NULL;
	v->u.tensor = tn;
	return v;
}

/* The rebuild functions' (storage, offset, size, stride) arguments. */
static struct pt_value *tensor_make(struct pt_torch *t, struct pt_arena *a, const char *fn,
				    struct pt_value *storage_v, struct pt_value *offset_v,
				    struct pt_value *size_v, struct pt_value *stride_v,
				    enum pt_dtype dt, struct pt_error *err)
{
	int64_t shape[PT_MAX_NDIM], stride[PT_MAX_NDIM], offset = 0;
	int nd = 0, nd_stride = 0;
	struct pt_storage *s = NULL;

	if (storage_v) {
		if (storage_v->kind != PT_V_STORAGE)
			return pt_error_set(err, PT_ERR_FORMAT, "%s: argument 0 is %s, not a storage",
					    fn, pt_vkind_name(storage_v->kind)),
			       NULL;
		s = storage_v->u.storage;
		if (dt == PT_DT_INVALID)
			dt = s->dtype;
	}
	if (offset_v && get_int(offset_v, &offset) < 0)
		return pt_error_set(err, PT_ERR_FORMAT, "%s: storage offset is not an int", fn),
		       NULL;
	if (int_tuple(size_v, fn, "size", shape, &nd, err) < 0 ||
	    int_tuple(stride_v, fn, "stride", stride, &nd_stride, err) < 0)
		return NULL;
	if (nd != nd_stride)
		return pt_error_set(err, PT_ERR_FORMAT, "%s: %d sizes but %d strides", fn, nd, nd_stride),
		       NULL;
	return pt_torch_tensor(t, a, fn, s, offset, shape, stride, nd, dt, false, err);
}

/* A tensor value of another Python type, sharing the view of src. */
static struct pt_value *tensor_retype(struct pt_torch *t, struct pt_arena *a,
				      struct pt_value *src, const char *type, struct pt_error *err)
{
	struct pt_tensor *tn;
	struct pt_value *v;

	tn = pt_arena_alloc(t->arena, sizeof(*tn), err);
	if (!tn)
		return NULL;
	*tn = *src->u.tensor;
	tn->type = type;
	v = pt_value_new(a, PT_V_TENSOR, err);
	if (!v)
		return NULL;
	v->u.tensor = tn;
	return v;
}

static void set_requires_grad(struct pt_value *tv, const struct pt_value *rg)
{
	if (rg && rg->kind == PT_V_BOOL)
		tv->u.tensor->requires_grad = rg->u.b;
}

static const char *global_qualname(struct pt_arena *a, const struct pt_value *g,
				   struct pt_error *err)
{
	size_t lm = strlen(g->u.global.module), ln = strlen(g->u.global.name);
	char *s = pt_arena_alloc(a, lm + ln + 2, err);

	if (!s)
		return NULL;
	memcpy(s, g->u.global.module, lm);
	s[lm] = '.';
	memcpy(s + lm + 1, g->u.global.name, ln + 1);
	if (strcmp(s, "torch._tensor.Tensor") == 0)
		return type_tensor;
	return s;
}

static struct pt_value *torch_call(void *ctx, struct pt_arena *a, struct pt_value *callable,
				   struct pt_value *args, struct pt_value *kwargs,
				   unsigned char how, struct pt_error *err);

static struct pt_value *call_rebuild(struct pt_torch *t, struct pt_arena *a, const char *fn,
				     struct pt_value *args, struct pt_error *err)
{
	size_t n = args->u.seq.n;
	struct pt_value *v;
	enum pt_dtype dt = PT_DT_INVALID;

	/* v2 first, and each name compared once: this runs for every tensor */
	int which = strcmp(fn, "_rebuild_tensor_v2") == 0 ? 2 :
		    strcmp(fn, "_rebuild_tensor") == 0	  ? 1 :
		    strcmp(fn, "_rebuild_qtensor") == 0	  ? 3 : 0;

	if (which) {
		if (n < (which == 1 ? 4u : 6u))
			goto out_args;
		v = tensor_make(t, a, fn, tuple_at(args, 0), tuple_at(args, 1), tuple_at(args, 2),
				tuple_at(args, 3), PT_DT_INVALID, err);
		if (v && which > 1)
			set_requires_grad(v, tuple_at(args, which == 2 ? 4 : 5));
		return v;
	}
	if (strcmp(fn, "_rebuild_tensor_v3") == 0) {
		struct pt_value *d;

		if (n < 7)
			goto out_args;
		d = tuple_at(args, 6);
		if (d->kind == PT_V_GLOBAL && strcmp(d->u.global.module, "torch") == 0)
			dt = pt_dtype_from_name(d->u.global.name);
		if (dt == PT_DT_INVALID)
			return pt_error_set(err, PT_ERR_FORMAT, "%s: argument 6 is not a torch dtype", fn),
			       NULL;
		v = tensor_make(t, a, fn, tuple_at(args, 0), tuple_at(args, 1), tuple_at(args, 2),
				tuple_at(args, 3), dt, err);
		if (v)
			set_requires_grad(v, tuple_at(args, 4));
		return v;
	}
	if (strcmp(fn, "_rebuild_meta_tensor_no_storage") == 0) {
		struct pt_value *d;

		if (n < 4)
			goto out_args;
		d = tuple_at(args, 0);
		if (d->kind == PT_V_GLOBAL && strcmp(d->u.global.module, "torch") == 0)
			dt = pt_dtype_from_name(d->u.global.name);
		if (dt == PT_DT_INVALID)
			return pt_error_set(err, PT_ERR_FORMAT, "%s: argument 0 is not a torch dtype", fn),
			       NULL;
		/* a meta tensor has no bytes: describe it with an empty shape check */
		v = tensor_make(t, a, fn, NULL, NULL, tuple_at(args, 1), tuple_at(args, 2), dt, err);
		if (!v && err->code == PT_ERR_FORMAT && strstr(err->msg, "no storage")) {
			pt_error_clear(err);
			return NULL; /* keep it symbolic */
		}
		if (v)
			set_requires_grad(v, tuple_at(args, 3));
		return v;
	}
	if (strcmp(fn, "_rebuild_parameter") == 0 || strcmp(fn, "_rebuild_parameter_with_state") == 0) {
		struct pt_value *data = tuple_at(args, 0);

		if (n < 2)
			goto out_args;
		if (data->kind != PT_V_TENSOR)
			return pt_error_set(err, PT_ERR_FORMAT, "%s: argument 0 is %s, not a tensor",
					    fn, pt_vkind_name(data->kind)),
			       NULL;
		v = tensor_retype(t, a, data, type_parameter, err);
		if (v)
			set_requires_grad(v, tuple_at(args, 1));
		return v;
	}
	if (strcmp(fn, "_rebuild_device_tensor_from_cpu_tensor") == 0) {
		struct pt_value *data = tuple_at(args, 0);

		if (n < 4)
			goto out_args;
		if (data->kind != PT_V_TENSOR)
			return NULL;
		v = tensor_retype(t, a, data, type_tensor, err);
		if (v)
			set_requires_grad(v, tuple_at(args, 3));
		return v;
	}
	return NULL; /* another torch._utils function: keep it symbolic */

out_args:
	return pt_error_set(err, PT_ERR_FORMAT, "%s: %zu arguments are too few", fn, n), NULL;
}

static struct pt_value *call_from_type(struct pt_torch *t, struct pt_arena *a,
				       struct pt_value *args, struct pt_error *err)
{
	struct pt_value *func = tuple_at(args, 0), *type = tuple_at(args, 1);
	struct pt_value *fargs = tuple_at(args, 2), *v;
	const char *qn;

	if (!func || !type || !fargs || fargs->kind != PT_V_TUPLE)
		return NULL;
	v = torch_call(t, a, func, fargs, NULL, 'R', err);
	if (!v || v->kind != PT_V_TENSOR || type->kind != PT_V_GLOBAL)
		return v;
	qn = global_qualname(t->arena, type, err); /* outlives the values */
	if (!qn)
		return NULL;
	if (strcmp(qn, type_tensor) != 0)
		return tensor_retype(t, a, v, qn, err);
	return v;
}

static struct pt_value *dict_from_pairs(struct pt_arena *a, struct pt_value *args,
					struct pt_error *err)
{
	struct pt_value *d = pt_value_new(a, PT_V_DICT, err), *pairs;
	size_t i;

	if (!d)
		return NULL;
	d->type = "collections.OrderedDict";
	if (args->u.seq.n == 0)
		return d;
	pairs = tuple_at(args, 0);
	if (pairs->kind != PT_V_LIST && pairs->kind != PT_V_TUPLE)
		return NULL;
	for (i = 0; i < pairs->u.seq.n; i++) {
		struct pt_value *p = pairs->u.seq.v[i];

		if ((p->kind != PT_V_TUPLE && p->kind != PT_V_LIST) || p->u.seq.n != 2)
			return NULL;
		if (pt_vdict_set(a, &d->u.dict, p->u.seq.v[0], p->u.seq.v[1], err) < 0)
			return NULL;
	}
	return d;
}

/* _codecs.encode(str, 'latin1'): how protocol 2 pickles Python 3 bytes. */
static struct pt_value *bytes_from_latin1(struct pt_arena *a, struct pt_value *args,
					  struct pt_error *err)
{
	struct pt_value *s = tuple_at(args, 0), *enc = tuple_at(args, 1), *v;
	const unsigned char *p;
	size_t i, n = 0;
	char *out;

	if (!(is_str(enc, "latin1") || is_str(enc, "latin-1")))
		return NULL;
	if (!s || s->kind != PT_V_STR)
		return NULL;
	out = pt_arena_alloc(a, s->u.s.len + 1, err);
	if (!out)
		return NULL;
	p = (const unsigned char *)s->u.s.p;
	for (i = 0; i < s->u.s.len; i++) {
		if (p[i] < 0x80) {
			out[n++] = (char)p[i];
		} else if ((p[i] & 0xE0) == 0xC0 && i + 1 < s->u.s.len && p[i] <= 0xC3) {
			out[n++] = (char)(((p[i] & 0x1F) << 6) | (p[i + 1] & 0x3F));
			i++;
		} else {
			return NULL; /* a code point above 255: Python would raise */
		}
	}
	v = pt_value_new(a, PT_V_BYTES, err);
	if (!v)
		return NULL;
	v->u.s.p = out;
	v->u.s.len = n;
	return v;
}

/* bytearray(), bytearray(b'..'), and protocol 2's bytearray('..', 'latin-1') */
static struct pt_value *bytearray_from(struct pt_arena *a, struct pt_value *args,
				       struct pt_error *err)
{
	struct pt_value *src = tuple_at(args, 0), *v;

	if (src && src->kind == PT_V_STR) {
		v = bytes_from_latin1(a, args, err);
		if (v)
			v->kind = PT_V_BYTEARRAY;
		return v;
	}
	if (src && src->kind != PT_V_BYTES)
		return NULL;
	v = pt_value_new(a, PT_V_BYTEARRAY, err);
	if (!v)
		return NULL;
	if (src)
		v->u.s = src->u.s;
	else
		v->u.s.p = "";
	return v;
}

static struct pt_value *seq_from_iterable(struct pt_arena *a, enum pt_vkind kind,
					  struct pt_value *args, struct pt_error *err)
{
	struct pt_value *src = tuple_at(args, 0), *v = pt_value_new(a, kind, err);
	size_t i;

	if (!v)
		return NULL;
	if (!src)
		return v;
	if (src->kind != PT_V_LIST && src->kind != PT_V_TUPLE && src->kind != PT_V_SET &&
	    src->kind != PT_V_FROZENSET)
		return NULL;
	for (i = 0; i < src->u.seq.n; i++)
		if (pt_vseq_push(a, &v->u.seq, src->u.seq.v[i], err) < 0)
			return NULL;
	return v;
}

static struct pt_value *torch_call(void *ctx, struct pt_arena *a, struct pt_value *callable,
				   struct pt_value *args, struct pt_value *kwargs,
				   unsigned char how, struct pt_error *err)
{
	struct pt_torch *t = ctx;
	const char *m, *n;

	if (!callable || callable->kind != PT_V_GLOBAL || !args || args->kind != PT_V_TUPLE)
		return NULL;
	m = callable->u.global.module;
	n = callable->u.global.name;
	if (strcmp(m, "torch._utils") == 0)
		return call_rebuild(t, a, n, args, err);
	/* a state_dict's _metadata and every tensor's backward hooks */
	if (strcmp(m, "collections") == 0 && strcmp(n, "OrderedDict") == 0 && !kwargs)
		return dict_from_pairs(a, args, err);
	if (strcmp(m, "torch.jit._pickle") == 0 && strcmp(n, "build_tensor_from_id") == 0) {
		int64_t id;

		if (get_int(tuple_at(args, 0), &id) < 0 || id < 0 ||
		    (uint64_t)id >= t->njit_tensors)
			return pt_error_set(err, PT_ERR_FORMAT,
					    "build_tensor_from_id: no tensor with that id in model.json"),
			       NULL;
		return t->jit_tensors[id];
	}
	if (strcmp(m, "torch._tensor") == 0 &&
	    (strcmp(n, "_rebuild_from_type_v2") == 0 || strcmp(n, "_rebuild_from_type") == 0))
		return call_from_type(t, a, args, err);
	if (strcmp(m, "torch") == 0 && strcmp(n, "Size") == 0 && args->u.seq.n == 1 &&
	    tuple_at(args, 0)->kind == PT_V_TUPLE) {
		/*
		 * Still a tuple for the rebuild functions, marked in place: a copy
		 * per call would let a memo-shared tuple cost its length per call.
		 */
		tuple_at(args, 0)->type = "torch.Size";
		return tuple_at(args, 0);
	}
	if (strcmp(m, "torch.nn.parameter") == 0 && strcmp(n, "Parameter") == 0 &&
	    how == 'R' && args->u.seq.n >= 1 && tuple_at(args, 0)->kind == PT_V_TENSOR) {
		struct pt_value *v = tensor_retype(t, a, tuple_at(args, 0), type_parameter, err);

		if (v)
			v->u.tensor->requires_grad = true;
		if (v && args->u.seq.n >= 2)
			set_requires_grad(v, tuple_at(args, 1));
		return v;
	}
	if (strcmp(m, "_codecs") == 0 && strcmp(n, "encode") == 0)
		return bytes_from_latin1(a, args, err);
	if (strcmp(m, "builtins") == 0 && strcmp(n, "bytes") == 0 && args->u.seq.n == 0)
		return pt_value_bytes(a, PT_V_BYTES, "", 0, err); /* protocol 2's b'' */
	if (strcmp(m, "builtins") == 0 && strcmp(n, "bytearray") == 0)
		return bytearray_from(a, args, err);
	if (strcmp(m, "builtins") == 0 && strcmp(n, "set") == 0)
		return seq_from_iterable(a, PT_V_SET, args, err);
	if (strcmp(m, "builtins") == 0 && strcmp(n, "frozenset") == 0)
		return seq_from_iterable(a, PT_V_FROZENSET, args, err);
	return NULL;
}

static int torch_build(void *ctx, struct pt_arena *a, struct pt_value *target,
		       struct pt_value *state, struct pt_error *err)
{
	if (target->kind != PT_V_TENSOR)
		return 0;
	/* 0.3-era Parameter: BUILD (requires_grad, volatile, backward_hooks) */
	if (state && state->kind == PT_V_TUPLE && state->u.seq.n >= 1)
		set_requires_grad(target, state->u.seq.v[0]);
	return 1;
}

void pt_torch_hooks(struct pt_torch *t, struct pt_pickle_hooks *hooks)
{
	memset(hooks, 0, sizeof(*hooks));
	hooks->ctx = t;
	hooks->persistent_load = torch_persistent_load;
	hooks->call = torch_call;
	hooks->build = torch_build;
	hooks->tuple = torch_tuple;
}
