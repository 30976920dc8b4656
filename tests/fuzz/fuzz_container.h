/*
 * fuzz_container.h - one run of a container reader, shared by fuzz_zip.c
 * and fuzz_legacy.c.
 *
 * Opens the input as a container, looks up a few member names (and every
 * member by its own name), and when a main pickle came out runs it with
 * the torch hooks, binds the storages and locates each one, as
 * pt_checkpoint_open and the first read of every tensor do. A located
 * storage must lie inside the file.
 */
#ifndef PT_FUZZ_CONTAINER_H
#define PT_FUZZ_CONTAINER_H

#include "fuzz.h"

#include <string.h>

#include "container.h"
#include "pickle.h"
#include "torch.h"
#include "value.h"

#define FUZZ_ARENA_LIMIT ((size_t)64 << 20)
#define FUZZ_MAX_FINDS 256

static const char *const fuzz_names[] = {
	"data.pkl", "version", ".data/version", "byteorder", "constants.pkl", "model.json",
	"attributes.pkl", "data/0", "data/1", "", "/", "..", "data/", "../data.pkl",
};

static void fuzz_find_all(const struct pt_container *c)
{
	const struct pt_record *r;
	size_t i;

	for (i = 0; i < sizeof(fuzz_names) / sizeof(*fuzz_names); i++) {
		r = pt_container_find(c, fuzz_names[i]);
		if (r)
			FUZZ_CHECK(strcmp(r->name, fuzz_names[i]) == 0);
	}
	/* every member must be found by its own name (a duplicate may win) */
	for (i = 0; i < c->nrecords && i < FUZZ_MAX_FINDS; i++) {
		if (c->format != PT_FORMAT_ZIP)
			break;
		r = pt_container_find(c, c->records[i].name);
		FUZZ_CHECK(r != NULL && strcmp(r->name, c->records[i].name) == 0);
	}
}

/* Runs the main pickle with the torch hooks, binds and locates every storage. */
static void fuzz_bind(struct pt_container *c)
{
	struct pt_pickle_hooks hooks;
	struct pt_pickle_opts o;
	struct pt_torch t;
	struct pt_arena a;
	struct pt_value *v = NULL;
	struct pt_error err;
	size_t used, i;

	if (!c->pickle || c->model_json)
		return; /* TorchScript 1.0 goes through pt_jit1_load: fuzz_open */
	pt_error_clear(&err);
	pt_arena_init(&a, FUZZ_ARENA_LIMIT);
	memset(&t, 0, sizeof(t));
	t.arena = &a;
	t.torchscript = c->torchscript;
	pt_torch_hooks(&t, &hooks);
	pt_pickle_opts_default(&o);
	o.limits.max_stack = 1 << 14;
	o.limits.max_memo = 1 << 14;
	o.limits.max_depth = 100;
	o.hooks = &hooks;
	if (pt_pickle_load(&a, c->pickle, c->pickle_len, &o, &v, &used, &err) < 0) {
		fuzz_check_error(&err);
		goto out;
	}
	if (pt_container_bind(c, &t, &err) < 0) {
		fuzz_check_error(&err);
		goto out;
	}
	for (i = 0; i < t.nstorages; i++) {
		struct pt_storage *s = t.storages[i];

		if (pt_container_locate(c, s, &err) < 0) {
			fuzz_check_error(&err);
			continue;
		}
		FUZZ_CHECK(s->data_offset <= c->src->size);
		FUZZ_CHECK(s->nbytes <= c->src->size - s->data_offset);
	}
out:
	pt_arena_release(&a);
}

static void fuzz_container(const uint8_t *data, size_t size)
{
	struct pt_container *c;
	struct pt_source *src;
	struct pt_error err;
	const char *path;

	path = fuzz_file(data, size);
	if (!path)
		return;
	pt_error_clear(&err);
	src = pt_source_open_file(path, &err);
	if (!src)
		return;
	FUZZ_CHECK(src->size == size);
	c = pt_container_open(src, &err);
	if (!c) {
		fuzz_check_error(&err);
	} else {
		fuzz_find_all(c);
		fuzz_bind(c);
		pt_container_close(c);
	}
	pt_source_close(src);
}

#endif
