/*
 * test_resident.c - lib/resident.c (storages in device memory) on real
 * fixtures, through the CUDA driver's TEST DOUBLE (tests/cuda/fake_libcuda.c,
 * build/cuda/libcuda.so.1: host memory, not a GPU), loaded by path.
 *
 * Every tensor read from device memory must equal pt_tensor_read of the
 * file, views (gathered from the device) included; a plan pins exactly the
 * storages it copies; a failed load leaves nothing allocated; release and
 * rebind behave as resident.h says.
 *
 * Usage: test_resident SHARED FIXTURES.
 */
#define _GNU_SOURCE
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "fakecuda.h"
#include "checkpoint.h"
#include "resident.h"
#include "rules.h"
#include "tree.h"

static char lib[PATH_MAX], state[PATH_MAX];

static void fake_env(const char *devices, const char *mem)
{
	setenv("PTFS_FAKE_CUDA_DEVICES", devices, 1);
	if (mem)
		setenv("PTFS_FAKE_CUDA_MEM", mem, 1);
	else
		unsetenv("PTFS_FAKE_CUDA_MEM");
	unsetenv("PTFS_FAKE_CUDA_FAIL");
	setenv("PTFS_FAKE_CUDA_STATE", state, 1);
}

/* The double's count of live allocations, from its state file. */
static long live(void)
{
	char line[256];
	long v = -1;
	FILE *f = fopen(state, "r");

	if (!f)
		return 0; /* nothing was ever allocated */
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "live %ld", &v) == 1)
			break;
	fclose(f);
	return v;
}

static const struct pt_node *node(struct pt_checkpoint *ck, const char *path)
{
	const struct pt_node *n = NULL;
	char p[512];

	while ((n = pt_tree_next(ck->tree, n))) {
		pt_node_path(n, p, sizeof(p));
		if (strcmp(p, path) == 0)
			return n;
	}
	return NULL;
}

/* Every tensor of ck read from the device (in pieces of step bytes) equals the file's bytes. */
static void check_all_equal(struct pt_checkpoint *ck, struct pt_resident *r, struct pt_gpu *g,
			    size_t step, size_t *nresident)
{
	const struct pt_node *n = NULL;
	struct pt_error err;

	*nresident = 0;
	while ((n = pt_tree_next(ck->tree, n))) {
		const struct pt_tensor *t;
		unsigned char *a, *b;
		uint64_t off;

		if (n->kind != PT_NODE_TENSOR || !n->u.tensor->storage)
			continue;
		t = n->u.tensor;
		if (pt_resident_device(r, t->storage) < 0)
			continue;
		(*nresident)++;
		a = malloc(t->nbytes + 1);
		b = malloc(t->nbytes + 1);
		CHECK_INT(pt_tensor_read(ck, t, a, t->nbytes, 0, &err), (int64_t)t->nbytes);
		for (off = 0; off < t->nbytes; off += step) {
			size_t k = t->nbytes - off < step ? (size_t)(t->nbytes - off) : step;

			CHECK_INT(pt_resident_read(r, g, t, b + off, step, off, &err), (int64_t)k);
		}
		CHECK(memcmp(a, b, t->nbytes) == 0);
		CHECK_INT(pt_resident_read(r, g, t, b, 1, t->nbytes, &err), 0);
		free(a);
		free(b);
	}
}

static int run_cmd(struct pt_rules *rules, const char *text, struct pt_error *err)
{
	struct pt_cmd *cmds;
	size_t n;
	int rc;

	if (pt_cmds_parse(text, strlen(text), &cmds, &n, err) < 0)
		return -1;
	rc = pt_rules_apply(rules, &cmds[0], err);
	pt_cmds_free(cmds, n);
	return rc;
}

/* What each test works on: a fixture, its rules and residency, the double loaded. */
struct env {
	struct pt_checkpoint *ck;
	struct pt_rules *rules;
	struct pt_resident *r;
	struct pt_gpu *g;
};

/* Opens fixture name with the double set to devices and mem; false (checked) on failure. */
static bool env_open(struct env *e, const char *fixtures, const char *name, const char *devices,
		     const char *mem)
{
	struct pt_error err = { 0 };
	char path[PATH_MAX];

	memset(e, 0, sizeof(*e));
	snprintf(path, sizeof(path), "%s/%s", fixtures, name);
	e->ck = pt_checkpoint_open(path, NULL, &err);
	CHECK(e->ck != NULL);
	if (!e->ck)
		return false;
	e->rules = pt_rules_new(e->ck, &err);
	e->r = pt_resident_new(e->ck, &err);
	fake_env(devices, mem);
	e->g = pt_gpu_open(lib, &err);
	CHECK(e->g && e->rules && e->r);
	return e->g && e->rules && e->r;
}

static void env_close(struct env *e)
{
	if (e->r)
		pt_resident_free(e->r, e->g);
	pt_gpu_close(e->g);
	pt_rules_free(e->rules);
	pt_checkpoint_close(e->ck);
	CHECK_INT(live(), 0);
}

static void test_cuda_index(void)
{
	CHECK_INT(pt_location_cuda_index("cuda"), 0);
	CHECK_INT(pt_location_cuda_index("cuda:0"), 0);
	CHECK_INT(pt_location_cuda_index("cuda:12"), 12);
	CHECK_INT(pt_location_cuda_index("cpu"), -1);
	CHECK_INT(pt_location_cuda_index("cudax"), -1);
	CHECK_INT(pt_location_cuda_index("cuda:"), -1);
	CHECK_INT(pt_location_cuda_index("cuda:1a"), -1);
	CHECK_INT(pt_location_cuda_index("mps"), -1);
}

/* 12_cuda_tags.pt: plan, pins, load to three devices, reads, ipc text, release, rebind. */
static void test_devices(const char *fixtures)
{
	char path[PATH_MAX], text[512], hex[129];
	struct pt_error err = { 0 };
	struct pt_resident_plan p;
	struct pt_checkpoint *ck, *ck2 = NULL;
	struct pt_resident *r;
	struct pt_rules *rules;
	struct pt_gpu *g;
	struct env e;
	size_t nres;
	bool sel[4];
	char *buf = NULL;
	size_t len = 0;
	unsigned long long off, span;
	int dev;

	if (!env_open(&e, fixtures, "12_cuda_tags.pt", "3", NULL))
		goto out;
	ck = e.ck, rules = e.rules, r = e.r, g = e.g;
	snprintf(path, sizeof(path), "%s/12_cuda_tags.pt", fixtures);

	/* the storages of /fc1/ (two, on cuda:1) are pinned; the others not */
	CHECK_INT(pt_rules_select(rules, "/fc1/*", sel), 1);
	CHECK_INT(pt_resident_plan(r, rules, sel, &p, &err), 0);
	CHECK_INT(p.n, 2);
	CHECK_INT(p.bytes, 60);
	CHECK_INT(p.max_dev, 1);
	CHECK_INT(p.skipped, 0);
	CHECK_INT(run_cmd(rules, "map_location cpu\n", &err), -1);
	CHECK_INT(err.code, PT_ERR_BUSY);
	CHECK_INT(run_cmd(rules, "map_location cuda:0=cpu\n", &err), 0); /* fc2.weight moves */
	CHECK_INT(pt_resident_load(r, g, &p, PT_GPU_STAGED, NULL, &err), 0);
	pt_resident_plan_end(r, rules, &p);
	CHECK_INT(pt_resident_count(r), 2);
	CHECK_INT(live(), 2);
	CHECK_INT(pt_resident_device(r, ck->torch.storages[0]), 1);
	CHECK_INT(pt_resident_device(r, ck->torch.storages[2]), -1);
	check_all_equal(ck, r, g, 5, &nres);
	CHECK_INT(nres, 2);

	/* the rest: fc2.weight is on cpu now (skipped), fc2.bias to cuda:2 */
	CHECK_INT(pt_rules_select(rules, NULL, sel), 0);
	CHECK_INT(pt_resident_plan(r, rules, sel, &p, &err), 0);
	CHECK_INT(p.n, 1);
	CHECK_INT(p.already, 2);
	CHECK_INT(p.skipped, 1);
	CHECK_INT(pt_resident_load(r, g, &p, PT_GPU_REGISTERED, NULL, &err), 0);
	pt_resident_plan_end(r, rules, &p);
	check_all_equal(ck, r, g, 1 << 20, &nres);
	CHECK_INT(nres, 3);

	/* user.pt.cuda_ipc's text */
	CHECK(pt_resident_ipc_text(r, g, node(ck, "fc1/bias")->u.tensor, text, sizeof(text),
				   &err) > 0);
	CHECK_INT(sscanf(text, "cuda:%d 0000:01:00.0 %128[0-9a-f] %llu %llu", &dev, hex, &off,
			 &span),
		  4);
	CHECK_INT(dev, 1);
	CHECK_INT(strlen(hex), 128);
	CHECK_INT(off, 0);
	CHECK_INT(span, 12);
	CHECK_INT(pt_resident_ipc_text(r, g, node(ck, "fc2/weight")->u.tensor, text, sizeof(text),
				       &err),
		  0);

	CHECK_INT(pt_resident_describe(r, g, &buf, &len), 0);
	CHECK_STR(buf, "resident cuda:1: 2 storages, 60 bytes (60 B), ptfs fake GPU 1, 0000:01:00.0\n"
		       "resident cuda:2: 1 storage, 8 bytes (8 B), ptfs fake GPU 2, 0000:02:00.0\n");
	free(buf);

	/* rebind refuses while anything is resident */
	ck2 = pt_checkpoint_open(path, NULL, &err);
	CHECK_INT(pt_resident_rebind(r, ck2, &err), -1);
	CHECK_INT(err.code, PT_ERR_BUSY);

	/* release: freed, unpinned */
	pt_rules_select(rules, "/fc1/weight", sel);
	CHECK_INT(pt_resident_release(r, g, rules, sel, NULL), 1);
	CHECK_INT(live(), 2);
	CHECK_INT(run_cmd(rules, "map_location cuda:1=cpu\n", &err), -1); /* fc1.bias is there */
	pt_rules_select(rules, "/fc1/*", sel);
	CHECK_INT(pt_resident_release(r, g, rules, sel, NULL), 1);
	CHECK_INT(run_cmd(rules, "map_location cuda:1=cpu\n", &err), 0);
	pt_rules_select(rules, NULL, sel);
	{
		uint64_t bytes = 0;

		CHECK_INT(pt_resident_release(r, g, rules, sel, &bytes), 1);
		CHECK_INT(bytes, 8);
	}
	CHECK_INT(live(), 0);
	CHECK_INT(pt_resident_count(r), 0);

	/* a reload's checkpoint: the old one's tensors read as not resident */
	CHECK_INT(pt_resident_rebind(r, ck2, &err), 0);
	CHECK(pt_resident_ck(r) == ck2);
	CHECK_INT(pt_resident_device(r, ck->torch.storages[0]), -1);
out:
	env_close(&e); /* r serves ck2 now: it goes first */
	pt_checkpoint_close(ck2);
}

/* Views of shared storages (04_views.pt) on one device: one allocation each, gathered reads. */
static void test_views(const char *fixtures)
{
	struct pt_error err = { 0 };
	struct pt_resident_plan p;
	struct pt_checkpoint *ck;
	struct pt_resident *r;
	struct pt_rules *rules;
	struct pt_gpu *g;
	struct env e;
	size_t nres, ntensors = 0;
	const struct pt_node *n = NULL;
	bool *sel = NULL;

	if (!env_open(&e, fixtures, "04_views.pt", "1", NULL))
		goto out;
	ck = e.ck, rules = e.rules, r = e.r, g = e.g;
	sel = calloc(ck->torch.nstorages + 1, 1);
	CHECK(sel != NULL);
	if (!sel)
		goto out;
	while ((n = pt_tree_next(ck->tree, n)))
		ntensors += n->kind == PT_NODE_TENSOR && n->u.tensor->storage;
	CHECK(ntensors > ck->torch.nstorages); /* views share storages */
	CHECK_INT(run_cmd(rules, "map_location cuda\n", &err), 0); /* "cuda": device 0 */
	pt_rules_select(rules, NULL, sel);
	CHECK_INT(pt_resident_plan(r, rules, sel, &p, &err), 0);
	CHECK_INT(p.n, ck->torch.nstorages);
	CHECK_INT(pt_resident_load(r, g, &p, PT_GPU_STAGED, NULL, &err), 0);
	pt_resident_plan_end(r, rules, &p);
	CHECK_INT(live(), (long)ck->torch.nstorages);
	check_all_equal(ck, r, g, 7, &nres);
	CHECK_INT(nres, ntensors);
	check_all_equal(ck, r, g, 4096, &nres);
out:
	free(sel);
	env_close(&e);
}

/* Out of device memory, and a device past the count: -1, nothing left, nothing pinned. */
static void test_failures(const char *fixtures)
{
	struct pt_error err = { 0 };
	struct pt_resident_plan p;
	struct pt_resident *r;
	struct pt_rules *rules;
	struct pt_gpu *g;
	struct env e;
	bool sel[4];

	if (!env_open(&e, fixtures, "12_cuda_tags.pt", "2", "70"))
		goto out;
	rules = e.rules, r = e.r, g = e.g;
	pt_rules_select(rules, NULL, sel);
	CHECK_INT(pt_resident_plan(r, rules, sel, &p, &err), 0);
	CHECK_INT(pt_resident_load(r, g, &p, PT_GPU_STAGED, NULL, &err), -1);
	CHECK_INT(err.code, PT_ERR_NODEV);
	CHECK_STR(err.msg,
		  "Attempting to deserialize object on CUDA device 2 but torch.cuda.device_count() is 2. Please use torch.load with map_location to map your storages to an existing device.");
	pt_resident_plan_end(r, rules, &p);
	CHECK_INT(run_cmd(rules, "map_location cuda:0\n", &err), 0); /* nothing stayed pinned */

	/* 48 + 12 bytes fit in 70, fc2.weight's 24 do not */
	CHECK_INT(pt_resident_plan(r, rules, sel, &p, &err), 0);
	CHECK_INT(pt_resident_load(r, g, &p, PT_GPU_STAGED, NULL, &err), -1);
	CHECK_INT(err.code, PT_ERR_NOMEM);
	CHECK_STR(err.msg, "storage 2 (/fc2/weight): cuda:0: out of memory: 24 bytes needed, 10 free");
	pt_resident_plan_end(r, rules, &p);
	CHECK_INT(live(), 0);
	CHECK_INT(pt_resident_count(r), 0);
	CHECK_INT(run_cmd(rules, "map_location cpu\n", &err), 0);
out:
	env_close(&e);
}

int main(int argc, char **argv)
{
	const char *fixtures = argc > 2 ? argv[2] : NULL;

	fakecuda_path(lib, sizeof(lib));
	snprintf(state, sizeof(state), "/tmp/test_resident.%d.state", (int)getpid());
	test_cuda_index();
	if (fixtures && access(lib, R_OK) == 0) {
		test_devices(fixtures);
		test_views(fixtures);
		test_failures(fixtures);
	} else {
		fprintf(stderr, "test_resident: no fixtures or no %s: device tests skipped\n", lib);
	}
	unlink(state);
	return check_report("test_resident");
}
