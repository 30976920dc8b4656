/*
 * jit1.c - the oldest TorchScript layout (torch 1.0/1.1, `version` 1):
 * model.json is a protobuf-as-JSON ModelDef (format.md §4). Its "tensors"
 * table gives each tensor's dims, strides, offset, dataType and the record
 * ("tensors/N") that holds its storage; int64 fields are JSON strings.
 * mainModule nests ModuleDefs with parameters (by tensorId), attributes (by
 * index into attributes.pkl's list, whose tensors are
 * torch.jit._pickle.build_tensor_from_id(N)) and submodules. We turn it into
 * the same symbolic objects a pickle would give, so the tree needs nothing
 * special.
 */
#include "jit1.h"

#include <stdlib.h>
#include <string.h>

#include "json.h"

static const struct {
	const char *name;
	enum pt_dtype dt;
} jit1_types[] = {
	{ "FLOAT", PT_DT_FLOAT32 }, { "DOUBLE", PT_DT_FLOAT64 }, { "FLOAT16", PT_DT_FLOAT16 },
	{ "HALF", PT_DT_FLOAT16 },  { "INT8", PT_DT_INT8 },      { "UINT8", PT_DT_UINT8 },
	{ "BYTE", PT_DT_UINT8 },    { "INT16", PT_DT_INT16 },    { "INT32", PT_DT_INT32 },
	{ "INT64", PT_DT_INT64 },   { "BOOL", PT_DT_BOOL },
};

static struct pt_value *get(const struct pt_value *d, const char *key)
{
	return d && d->kind == PT_V_DICT ? pt_vdict_get_str(&d->u.dict, key) : NULL;
}

/* An int64 field: protobuf JSON writes them as strings ("12"), sometimes as numbers. */
static int get_i64(const struct pt_value *v, int64_t *out)
{
	char *end;

	if (v && v->kind == PT_V_INT) {
		*out = v->u.i;
		return 0;
	}
	if (!v || v->kind != PT_V_STR || !v->u.s.len)
		return -1;
	*out = strtoll(v->u.s.p, &end, 10);
	return *end ? -1 : 0;
}

static int get_i64_list(const struct pt_value *v, int64_t *out, int *n)
{
	size_t i;

	*n = 0;
	if (!v)
		return 0; /* a 0-dim tensor has no dims */
	if (v->kind != PT_V_LIST || v->u.seq.n > 64)
		return -1;
	for (i = 0; i < v->u.seq.n; i++)
		if (get_i64(v->u.seq.v[i], &out[i]) < 0)
			return -1;
	*n = (int)v->u.seq.n;
	return 0;
}

static struct pt_value *jit1_tensor(struct pt_container *c, struct pt_torch *t,
				    struct pt_arena *a, const struct pt_value *td, size_t index,
				    struct pt_error *err)
{
	const struct pt_value *dtv = get(td, "dataType"), *data = get(get(td, "data"), "key");
	const struct pt_value *dev = get(td, "device"), *rg = get(td, "requiresGrad");
	int64_t shape[64], stride[64], offset = 0;
	enum pt_dtype dt = PT_DT_INVALID;
	const struct pt_record *rec;
	struct pt_storage *s;
	int nd, nds;
	size_t i;

	for (i = 0; dtv && dtv->kind == PT_V_STR && i < sizeof(jit1_types) / sizeof(*jit1_types); i++)
		if (strcmp(dtv->u.s.p, jit1_types[i].name) == 0)
			dt = jit1_types[i].dt;
	if (dt == PT_DT_INVALID)
		return pt_error_set(err, PT_ERR_UNSUPPORTED, "model.json: tensor %zu: unknown dataType",
				    index),
		       NULL;
	if (!data || data->kind != PT_V_STR)
		return pt_error_set(err, PT_ERR_FORMAT, "model.json: tensor %zu has no data key", index),
		       NULL;
	rec = pt_container_find(c, data->u.s.p);
	if (!rec)
		return pt_error_set(err, PT_ERR_FORMAT, "model.json: tensor %zu: no record %s",
				    index, data->u.s.p),
		       NULL;
	if (get_i64_list(get(td, "dims"), shape, &nd) < 0 ||
	    get_i64_list(get(td, "strides"), stride, &nds) < 0 || nd != nds ||
	    (get(td, "offset") && get_i64(get(td, "offset"), &offset) < 0))
		return pt_error_set(err, PT_ERR_FORMAT, "model.json: tensor %zu: bad dims, strides or offset",
				    index),
		       NULL;
	s = pt_torch_storage_add(t, data->u.s.p, dt, rec->size / pt_dtype_size(dt),
				 dev && dev->kind == PT_V_STR ? dev->u.s.p : "cpu", err);
	if (!s)
		return NULL;
	return pt_torch_tensor(t, a, "model.json", s, offset, shape, stride, nd, dt,
			       rg && rg->kind == PT_V_BOOL && rg->u.b, err);
}

static struct pt_value *str_value(struct pt_arena *a, const char *s, struct pt_error *err)
{
	return pt_value_str(a, s, strlen(s), err);
}

/* One ModuleDef as an object of type __torch__.<name> with its state. */
static struct pt_value *jit1_module(struct pt_torch *t, struct pt_arena *a, const struct pt_value *md,
				    const struct pt_value *attrs, int depth, struct pt_error *err)
{
	const struct pt_value *name = get(md, "name"), *list;
	struct pt_value *obj, *cls, *state;
	size_t i;

	if (depth > 100)
		return pt_error_set(err, PT_ERR_LIMIT, "model.json: modules nest deeper than 100"), NULL;
	obj = pt_value_new(a, PT_V_OBJECT, err);
	cls = pt_value_new(a, PT_V_GLOBAL, err);
	state = pt_value_new(a, PT_V_DICT, err);
	obj->u.obj.args = pt_value_new(a, PT_V_TUPLE, err);
	if (!obj || !cls || !state || !obj->u.obj.args)
		return NULL;
	cls->u.global.module = "__torch__";
	cls->u.global.name = name && name->kind == PT_V_STR ? name->u.s.p : "Module";
	obj->u.obj.callable = cls;
	obj->u.obj.state = state;
	obj->u.obj.how = 0x81;
	list = get(md, "parameters");
	for (i = 0; list && list->kind == PT_V_LIST && i < list->u.seq.n; i++) {
		const struct pt_value *p = list->u.seq.v[i], *pn = get(p, "name");
		int64_t id;

		if (!pn || pn->kind != PT_V_STR || get_i64(get(p, "tensorId"), &id) < 0 || id < 0 ||
		    (uint64_t)id >= t->njit_tensors)
			return pt_error_set(err, PT_ERR_FORMAT, "model.json: bad parameter %zu", i), NULL;
		if (pt_vdict_set(a, &state->u.dict, (struct pt_value *)pn, t->jit_tensors[id], err) < 0)
			return NULL;
	}
	list = get(md, "attributes");
	for (i = 0; list && list->kind == PT_V_LIST && i < list->u.seq.n; i++) {
		const struct pt_value *p = list->u.seq.v[i], *pn = get(p, "name");
		int64_t id;

		if (!pn || pn->kind != PT_V_STR || get_i64(get(p, "id"), &id) < 0 || id < 0 ||
		    !attrs || (uint64_t)id >= attrs->u.seq.n)
			return pt_error_set(err, PT_ERR_FORMAT, "model.json: bad attribute %zu", i), NULL;
		if (pt_vdict_set(a, &state->u.dict, (struct pt_value *)pn, attrs->u.seq.v[id], err) < 0)
			return NULL;
	}
	list = get(md, "submodules");
	for (i = 0; list && list->kind == PT_V_LIST && i < list->u.seq.n; i++) {
		const struct pt_value *sub = list->u.seq.v[i], *sn = get(sub, "name");
		struct pt_value *m = jit1_module(t, a, sub, attrs, depth + 1, err);

		if (!m)
			return NULL;
		if (pt_vdict_set(a, &state->u.dict,
				 sn && sn->kind == PT_V_STR ? (struct pt_value *)sn : str_value(a, "?", err),
				 m, err) < 0)
			return NULL;
	}
	return obj;
}

int pt_jit1_load(struct pt_container *c, struct pt_torch *t, struct pt_arena *a,
		 const struct pt_pickle_opts *po, struct pt_value **out, struct pt_error *err)
{
	struct pt_value *doc, *tensors, *attrs = NULL;
	size_t i, used;

	if (pt_json_parse(a, c->model_json, c->model_json_len, &doc, err) < 0) {
		pt_error_prefix(err, "model.json");
		return -1;
	}
	tensors = get(doc, "tensors");
	if (tensors && tensors->kind != PT_V_LIST)
		return pt_error_set(err, PT_ERR_FORMAT, "model.json: tensors is not a list");
	t->njit_tensors = tensors ? tensors->u.seq.n : 0;
	t->jit_tensors = pt_arena_alloc(a, (t->njit_tensors + 1) * sizeof(*t->jit_tensors), err);
	if (!t->jit_tensors)
		return -1;
	for (i = 0; i < t->njit_tensors; i++) {
		t->jit_tensors[i] = jit1_tensor(c, t, a, tensors->u.seq.v[i], i, err);
		if (!t->jit_tensors[i])
			return -1;
	}
	if (c->pickle) {
		if (pt_pickle_load(a, (unsigned char *)c->pickle, c->pickle_len, po, &attrs, &used,
				   err) < 0) {
			pt_error_prefix(err, "attributes.pkl");
			return -1;
		}
		if (attrs->kind != PT_V_TUPLE && attrs->kind != PT_V_LIST)
			attrs = NULL;
	}
	*out = jit1_module(t, a, get(doc, "mainModule"), attrs, 0, err);
	return *out ? 0 : -1;
}
