/*
 * test_rules.c - map_location rules (rules.h): which tags torch accepts,
 * the control file's commands, and the rules' effect on a real checkpoint's
 * storages (12_cuda_tags.pt: fc1.weight and fc1.bias on cuda:1, fc2.weight
 * on cuda:0, fc2.bias on cuda:2).
 *
 * Usage: test_rules [SHARED [FIXTURES]]. Checks that need the fixtures are
 * skipped when FIXTURES is absent.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "checkpoint.h"
#include "rules.h"

/* ---- pt_location_valid ---------------------------------------------- */

static void test_location_valid(void)
{
	static const char *const good[] = {
		"cpu", "meta", "mps", "cuda", "cuda:0", "cuda:7", "cuda:10", "xla:0",
		"xpu:1", "hpu", "mtia:2", "privateuseone:0", "mps:0",
	};
	static const char *const bad[] = {
		"", "cpu:0", "meta:0", "cuda:-1", "cuda:01", "cuda:", "gpu", "CUDA",
		"cuda:1:2", " cpu", "cpu\n", "cuda:99999999999",
		"cpu ", ":0", "cuda:+1", "cuda: 1", "cuda:1a", "cud",
	};
	size_t i;

	for (i = 0; i < sizeof(good) / sizeof(*good); i++) {
		CHECK(pt_location_valid(good[i]));
		if (!pt_location_valid(good[i]))
			fprintf(stderr, "  refused '%s'\n", good[i]);
	}
	for (i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
		CHECK(!pt_location_valid(bad[i]));
		if (pt_location_valid(bad[i]))
			fprintf(stderr, "  accepted '%s'\n", bad[i]);
	}
}

/* ---- pt_cmds_parse -------------------------------------------------- */

/* Parses text (len: strlen unless given) expecting an error with msg. */
static void parse_fails(const char *text, size_t len, const char *msg)
{
	struct pt_cmd *cmds = (struct pt_cmd *)&cmds; /* not NULL before the call */
	struct pt_error err = { 0 };
	size_t n = 99;
	int ret = pt_cmds_parse(text, len ? len : strlen(text), &cmds, &n, &err);

	CHECK_INT(ret, -1);
	CHECK_INT(err.code, PT_ERR_INVAL);
	CHECK_STR(err.msg, msg);
	CHECK(cmds == NULL);
	CHECK_INT(n, 0);
	if (ret == 0)
		pt_cmds_free(cmds, n);
}

static void test_cmds_parse(void)
{
	static const char text[] =
		"  # a comment\r\n"
		"\n"
		"map_location cpu\r\n"
		"   map_location  cuda:1=cuda:0 cuda:2=cpu  \n"
		"#map_location gpu\n"
		"\t\r\n"
		"map_location reset\n"
		"save /tmp/out.pt\r\n"
		"map_location\t/fc1/*=cpu;cuda:0=meta\n"
		"\tsave   /tmp/a b.pt\n"
		"map_location cuda:3=mps"; /* no newline at the end */
	struct pt_cmd *cmds = NULL;
	struct pt_error err = { 0 };
	size_t n = 0;

	CHECK_INT(pt_cmds_parse(text, strlen(text), &cmds, &n, &err), 0);
	CHECK_INT(n, 7);
	if (n == 7) {
		CHECK_INT(cmds[0].kind, PT_CMD_MAP);
		CHECK_STR(cmds[0].arg, "cpu");
		CHECK_INT(cmds[1].kind, PT_CMD_MAP);
		CHECK_STR(cmds[1].arg, "cuda:1=cuda:0 cuda:2=cpu");
		CHECK_INT(cmds[2].kind, PT_CMD_RESET);
		CHECK_INT(cmds[3].kind, PT_CMD_SAVE);
		CHECK_STR(cmds[3].arg, "/tmp/out.pt");
		CHECK_INT(cmds[4].kind, PT_CMD_MAP);
		CHECK_STR(cmds[4].arg, "/fc1/*=cpu;cuda:0=meta");
		CHECK_INT(cmds[5].kind, PT_CMD_SAVE);
		CHECK_STR(cmds[5].arg, "/tmp/a b.pt");
		CHECK_INT(cmds[6].kind, PT_CMD_MAP);
		CHECK_STR(cmds[6].arg, "cuda:3=mps");
	}
	pt_cmds_free(cmds, n);
	cmds = NULL;
	CHECK_INT(pt_cmds_parse("save /x.pt\nwait\n", 16, &cmds, &n, &err), 0);
	CHECK_INT(n, 2);
	if (n == 2) {
		CHECK_INT(cmds[1].kind, PT_CMD_WAIT);
		CHECK_STR(cmds[1].arg, "");
	}
	pt_cmds_free(cmds, n);

	/* nothing but comments and blank lines: no commands, success */
	cmds = (struct pt_cmd *)&cmds;
	n = 5;
	CHECK_INT(pt_cmds_parse("# x\n\n   \r\n", 9, &cmds, &n, &err), 0);
	CHECK_INT(n, 0);
	CHECK(cmds == NULL);
	pt_cmds_free(cmds, n);
	CHECK_INT(pt_cmds_parse("", 0, &cmds, &n, &err), 0);
	CHECK_INT(n, 0);
	pt_cmds_free(cmds, n);

	/* len, not the NUL, ends the text */
	CHECK_INT(pt_cmds_parse("map_location cpu\nbogus", 17, &cmds, &n, &err), 0);
	CHECK_INT(n, 1);
	pt_cmds_free(cmds, n);

	/* materialize and release: the globs as written, or none */
	{
		const char *t = "materialize\nmaterialize /fc1/* /x\nrelease\t/a;/b\nrelease\n";

		CHECK_INT(pt_cmds_parse(t, strlen(t), &cmds, &n, &err), 0);
		CHECK_INT(n, 4);
		if (n == 4) {
			CHECK_INT(cmds[0].kind, PT_CMD_MATERIALIZE);
			CHECK_STR(cmds[0].arg, "");
			CHECK_STR(cmds[1].arg, "/fc1/* /x");
			CHECK_INT(cmds[2].kind, PT_CMD_RELEASE);
			CHECK_STR(cmds[2].arg, "/a;/b");
			CHECK_STR(cmds[3].arg, "");
		}
		pt_cmds_free(cmds, n);
	}

	/* export: the path (spaces kept), the shard size in bytes */
	CHECK_INT(pt_cmds_parse("export safetensors /a b/m.st\n"
				"export  safetensors\t/d --shard-size 5GB \n", 70, &cmds, &n, &err), 0);
	CHECK_INT(n, 2);
	if (n == 2) {
		CHECK_INT(cmds[0].kind, PT_CMD_EXPORT);
		CHECK_STR(cmds[0].arg, "/a b/m.st");
		CHECK_INT(cmds[0].shard_size, 0);
		CHECK_STR(cmds[1].arg, "/d");
		CHECK_INT(cmds[1].shard_size, 5000000000ll);
	}
	pt_cmds_free(cmds, n);
	parse_fails("export /x.st\n", 0, "line 1: usage: export safetensors PATH [--shard-size SIZE]");
	parse_fails("export safetensors x.st\n", 0, "line 1: export needs an absolute path, got 'x.st'");
	parse_fails("export safetensors /d --shard-size\n", 0, "line 1: --shard-size needs one SIZE");

	/* errors, with the line they are on (comments and blanks count) */
	parse_fails("frobnicate /x\n", 0, "line 1: unknown command 'frobnicate' (map_location, save, export, wait, reload, materialize, release)");
	parse_fails("wait now\n", 0, "line 1: wait takes no argument");
	parse_fails("materialize fc1\n", 0, "line 1: materialize: 'fc1' is not a /path glob");
	parse_fails("release /a cuda:0\n", 0, "line 1: release: 'cuda:0' is not a /path glob");
	parse_fails("map_location cpu\n# c\n\nMap_location cpu\n", 0,
		    "line 4: unknown command 'Map_location' (map_location, save, export, wait, reload, materialize, release)");
	parse_fails("map_location cpu\nsave out.pt\n", 0,
		    "line 2: save needs an absolute path, got 'out.pt'");
	parse_fails("save\n", 0, "line 1: save needs an absolute path, got ''");
	parse_fails("save ./x.pt\n", 0, "line 1: save needs an absolute path, got './x.pt'");
	parse_fails("map_location\n", 0,
		    "line 1: map_location needs a location, FROM=TO pairs or reset");
	parse_fails("\nmap_location   \t \n", 0,
		    "line 2: map_location needs a location, FROM=TO pairs or reset");
	parse_fails("map_location ;;\n", 0,
		    "line 1: map_location needs a location, FROM=TO pairs or reset");
	parse_fails("map_location cpu\n\nmap_location cuda:0=cpu cuda:1=gpu\n", 0,
		    "line 3: map_location: 'gpu' is not a location torch accepts (cpu, cuda, cuda:N, mps, meta, ...)");
	parse_fails("map_location cpu\n\nmap_location gpu=cpu\n", 0,
		    "line 3: map_location: 'gpu' is neither a location torch accepts nor a /path glob");
	parse_fails("map_location cpu cuda:1=cpu\n", 0,
		    "line 1: map_location: 'cpu' is not FROM=TO (a single tag must be alone)");
	parse_fails("map_location cuda:1=cpu cpu\n", 0,
		    "line 1: map_location: 'cpu' is not FROM=TO (a single tag must be alone)");
	parse_fails("map_location cpu:0\n", 0,
		    "line 1: map_location: 'cpu:0' is not a location torch accepts (cpu, cuda, cuda:N, mps, meta, ...)");
	parse_fails("map_location /fc1/*=cpu:0\n", 0,
		    "line 1: map_location: 'cpu:0' is not a location torch accepts (cpu, cuda, cuda:N, mps, meta, ...)");
	parse_fails("map_location cuda:1=\n", 0,
		    "line 1: map_location: '' is not a location torch accepts (cpu, cuda, cuda:N, mps, meta, ...)");
	{
		static const char nul[] = "map_location cpu\nmap_location c\0pu\n";

		parse_fails(nul, sizeof(nul) - 1, "a NUL byte in the command text");
	}
	/* a good first line does not survive a bad later one */
	parse_fails("map_location cpu\nsave /a\nsave b\n", 0,
		    "line 3: save needs an absolute path, got 'b'");
}

/* ---- rules on 12_cuda_tags.pt ---------------------------------------- */

static struct pt_storage *storage_of(const struct pt_checkpoint *ck, const char *a, const char *b)
{
	struct pt_node *n = pt_tree_node(ck->tree, 1);

	n = n ? pt_tree_lookup(ck->tree, n, a) : NULL;
	n = n ? pt_tree_lookup(ck->tree, n, b) : NULL;
	CHECK(n && n->kind == PT_NODE_TENSOR && n->u.tensor->storage);
	if (!n || n->kind != PT_NODE_TENSOR || !n->u.tensor->storage) {
		fprintf(stderr, "  no tensor /%s/%s\n", a, b);
		return NULL;
	}
	return n->u.tensor->storage;
}

/* Parses text and applies every command; all must succeed. */
static void run(struct pt_rules *r, const char *text)
{
	struct pt_cmd *cmds;
	struct pt_error err = { 0 };
	size_t n, i;

	CHECK_INT(pt_cmds_parse(text, strlen(text), &cmds, &n, &err), 0);
	if (err.code)
		fprintf(stderr, "  %s: %s\n", text, err.msg);
	for (i = 0; i < n; i++)
		CHECK_INT(pt_rules_apply(r, &cmds[i], &err), 0);
	pt_cmds_free(cmds, n);
}

static struct pt_storage *S[4]; /* fc1.weight, fc1.bias, fc2.weight, fc2.bias */

#define CHECK_LOCS(a, b, c, d)                                    \
	do {                                                      \
		CHECK_STR(pt_storage_location(S[0]), a);          \
		CHECK_STR(pt_storage_location(S[1]), b);          \
		CHECK_STR(pt_storage_location(S[2]), c);          \
		CHECK_STR(pt_storage_location(S[3]), d);          \
	} while (0)

static void check_describe(const struct pt_rules *r, const char *want)
{
	char *buf = NULL;
	size_t len = 0;

	CHECK_INT(pt_rules_describe(r, &buf, &len), 0);
	CHECK_STR(buf ? buf : "", want);
	CHECK_INT(len, strlen(want));
	free(buf);
}

static void test_rules(const char *fixtures)
{
	char path[4096];
	struct pt_error err = { 0 };
	struct pt_checkpoint *ck;
	struct pt_rules *r;
	const char *p;
	char *buf;
	size_t len, i;

	snprintf(path, sizeof(path), "%s/12_cuda_tags.pt", fixtures);
	ck = pt_checkpoint_open(path, NULL, &err);
	CHECK(ck != NULL);
	if (!ck) {
		fprintf(stderr, "  %s\n", err.msg);
		return;
	}
	CHECK_INT(ck->torch.nstorages, 4);
	S[0] = storage_of(ck, "fc1", "weight");
	S[1] = storage_of(ck, "fc1", "bias");
	S[2] = storage_of(ck, "fc2", "weight");
	S[3] = storage_of(ck, "fc2", "bias");
	if (!S[0] || !S[1] || !S[2] || !S[3] || ck->torch.nstorages != 4) {
		pt_checkpoint_close(ck);
		return;
	}
	/* keys in first-seen order, and the storage table's indexes */
	for (i = 0; i < 4; i++) {
		char key[8];

		snprintf(key, sizeof(key), "%zu", i);
		CHECK_STR(S[i]->key, key);
		CHECK_INT(S[i]->index, i);
		CHECK(ck->torch.storages[i] == S[i]);
	}
	CHECK_STR(S[0]->saved_location, "cuda:1");
	CHECK_STR(S[1]->saved_location, "cuda:1");
	CHECK_STR(S[2]->saved_location, "cuda:0");
	CHECK_STR(S[3]->saved_location, "cuda:2");

	r = pt_rules_new(ck, &err);
	CHECK(r != NULL);
	if (!r) {
		pt_checkpoint_close(ck);
		return;
	}
	/* no rules: the saved tags */
	CHECK_LOCS("cuda:1", "cuda:1", "cuda:0", "cuda:2");
	check_describe(r, "");

	/* a single tag moves every storage */
	run(r, "map_location cpu\n");
	CHECK_LOCS("cpu", "cpu", "cpu", "cpu");
	p = pt_storage_location(S[0]);
	run(r, "map_location reset\n");
	CHECK_LOCS("cuda:1", "cuda:1", "cuda:0", "cuda:2");
	check_describe(r, "");
	/* a location read earlier stays readable (interned until free) */
	CHECK_STR(p, "cpu");
	run(r, "map_location cpu\n");
	CHECK(pt_storage_location(S[0]) == p);
	CHECK(pt_storage_location(S[3]) == p);
	run(r, "map_location reset\n");

	/* pairs: exact matches only, unmatched keep their tag */
	run(r, "map_location cuda:1=cuda:0 cuda:2=cpu\n");
	CHECK_LOCS("cuda:0", "cuda:0", "cuda:0", "cpu");
	run(r, "map_location reset\nmap_location cuda=cpu\n");
	CHECK_LOCS("cuda:1", "cuda:1", "cuda:0", "cuda:2");
	run(r, "map_location reset\nmap_location cuda:0=cpu\n");
	CHECK_LOCS("cuda:1", "cuda:1", "cpu", "cuda:2");
	run(r, "map_location reset\nmap_location cpu=meta cuda:3=cpu\n");
	CHECK_LOCS("cuda:1", "cuda:1", "cuda:0", "cuda:2");

	/* a later rule beats an earlier one; rules match the saved tags */
	run(r, "map_location reset\nmap_location cpu\nmap_location cuda:1=meta\n");
	CHECK_LOCS("meta", "meta", "cpu", "cpu");
	run(r, "map_location reset\nmap_location cuda:1=cuda:0\nmap_location cuda:0=cpu\n");
	CHECK_LOCS("cuda:0", "cuda:0", "cpu", "cuda:2");
	run(r, "map_location reset\nmap_location cuda:2=meta\nmap_location mps\n");
	CHECK_LOCS("mps", "mps", "mps", "mps");

	/* within one rule the first matching pair decides */
	run(r, "map_location reset\nmap_location cuda:1=cpu cuda:1=meta\n");
	CHECK_LOCS("cpu", "cpu", "cuda:0", "cuda:2");
	run(r, "map_location reset\nmap_location /fc1/*=meta cuda:1=cpu\n");
	CHECK_LOCS("meta", "meta", "cuda:0", "cuda:2");
	run(r, "map_location reset\nmap_location cuda:1=cpu /fc1/*=meta\n");
	CHECK_LOCS("cpu", "cpu", "cuda:0", "cuda:2");
	run(r, "map_location reset\nmap_location /fc1/bias=meta /fc1/*=cpu\n");
	CHECK_LOCS("cpu", "meta", "cuda:0", "cuda:2");

	/* /glob paths */
	run(r, "map_location reset\nmap_location /fc1/*=cpu\n");
	CHECK_LOCS("cpu", "cpu", "cuda:0", "cuda:2");
	run(r, "map_location reset\nmap_location /nomatch*=cpu\n");
	CHECK_LOCS("cuda:1", "cuda:1", "cuda:0", "cuda:2");
	run(r, "map_location reset\nmap_location /fc2/bias=mps\n");
	CHECK_LOCS("cuda:1", "cuda:1", "cuda:0", "mps");
	run(r, "map_location reset\nmap_location /fc?/weight=cpu\n");
	CHECK_LOCS("cpu", "cuda:1", "cpu", "cuda:2");
	parse_fails("map_location fc1/weight=cpu\n", 0, /* not a glob: no '/' first */
		    "line 1: map_location: 'fc1/weight' is neither a location torch accepts nor a /path glob");

	/* overrides beat every rule */
	run(r, "map_location reset\nmap_location cpu\n");
	CHECK_INT(pt_rules_override(r, S[2], "meta", &err), 0);
	CHECK_LOCS("cpu", "cpu", "meta", "cpu");
	run(r, "map_location cuda:0=mps\n");
	CHECK_LOCS("cpu", "cpu", "meta", "cpu");
	run(r, "map_location /fc2/*=cuda:3\n");
	CHECK_LOCS("cpu", "cpu", "meta", "cuda:3");
	/* a bad tag changes nothing */
	pt_error_clear(&err);
	CHECK_INT(pt_rules_override(r, S[2], "cpu:0", &err), -1);
	CHECK_INT(err.code, PT_ERR_INVAL);
	CHECK_STR(err.msg, "'cpu:0' is not a location torch accepts (cpu, cuda, cuda:N, mps, meta, ...)");
	CHECK_STR(S[2]->override, "meta");
	CHECK_LOCS("cpu", "cpu", "meta", "cuda:3");
	CHECK_INT(pt_rules_override(r, S[0], "gpu", &err), -1);
	CHECK(S[0]->override == NULL);
	CHECK_LOCS("cpu", "cpu", "meta", "cuda:3");
	/* NULL drops it: the rules apply again */
	CHECK_INT(pt_rules_override(r, S[2], NULL, &err), 0);
	CHECK(S[2]->override == NULL);
	CHECK_LOCS("cpu", "cpu", "cuda:3", "cuda:3"); /* the fc2 glob came after cuda:0=mps */
	CHECK_INT(pt_rules_override(r, S[1], NULL, &err), 0); /* none set: harmless */
	CHECK_LOCS("cpu", "cpu", "cuda:3", "cuda:3");
	/* an override without any rule, and reset clearing rules and overrides */
	run(r, "map_location reset\n");
	CHECK_INT(pt_rules_override(r, S[3], "cuda:0", &err), 0);
	CHECK_LOCS("cuda:1", "cuda:1", "cuda:0", "cuda:0");
	CHECK_INT(pt_rules_override(r, S[0], "cpu", &err), 0);
	run(r, "map_location meta\n");
	CHECK_LOCS("cpu", "meta", "meta", "cuda:0");
	run(r, "map_location reset\n");
	CHECK(S[0]->override == NULL && S[3]->override == NULL);
	CHECK_LOCS("cuda:1", "cuda:1", "cuda:0", "cuda:2");
	check_describe(r, "");

	/* mount options: ';' separates the pairs */
	CHECK_INT(pt_rules_add_option(r, "cuda:1=cuda:0;cuda:2=cpu", &err), 0);
	CHECK_LOCS("cuda:0", "cuda:0", "cuda:0", "cpu");
	check_describe(r, "map_location cuda:1=cuda:0;cuda:2=cpu\n");
	CHECK_INT(pt_rules_add_option(r, "/fc1/weight=meta;", &err), 0);
	CHECK_LOCS("meta", "cuda:0", "cuda:0", "cpu");
	CHECK_INT(pt_rules_add_option(r, "mps", &err), 0);
	CHECK_LOCS("mps", "mps", "mps", "mps");
	pt_error_clear(&err);
	CHECK_INT(pt_rules_add_option(r, "cuda:1=gpu", &err), -1);
	CHECK_INT(err.code, PT_ERR_INVAL);
	CHECK_STR(err.msg,
		  "line 1: map_location: 'gpu' is not a location torch accepts (cpu, cuda, cuda:N, mps, meta, ...)");
	CHECK_INT(pt_rules_add_option(r, "", &err), -1);
	CHECK_LOCS("mps", "mps", "mps", "mps");
	check_describe(r, "map_location cuda:1=cuda:0;cuda:2=cpu\nmap_location /fc1/weight=meta;\n"
			  "map_location mps\n");
	run(r, "map_location reset\n");

	/* describe: rules in order, then overrides with the first tensor's path */
	run(r, "map_location cuda:1=cuda:0 cuda:2=cpu\nmap_location /fc1/*=cpu\n");
	CHECK_INT(pt_rules_override(r, S[2], "cpu", &err), 0);
	CHECK_LOCS("cpu", "cpu", "cpu", "cpu");
	check_describe(r, "map_location cuda:1=cuda:0 cuda:2=cpu\nmap_location /fc1/*=cpu\n"
			  "override 2 cpu # /fc2/weight\n");
	CHECK_INT(pt_rules_override(r, S[3], "meta", &err), 0);
	check_describe(r, "map_location cuda:1=cuda:0 cuda:2=cpu\nmap_location /fc1/*=cpu\n"
			  "override 2 cpu # /fc2/weight\noverride 3 meta # /fc2/bias\n");
	/* describe appends to what the buffer holds */
	buf = strdup("X\n");
	len = 2;
	CHECK_INT(pt_rules_describe(r, &buf, &len), 0);
	CHECK_STR(buf, "X\nmap_location cuda:1=cuda:0 cuda:2=cpu\nmap_location /fc1/*=cpu\n"
		       "override 2 cpu # /fc2/weight\noverride 3 meta # /fc2/bias\n");
	CHECK_INT(len, strlen(buf));
	free(buf);
	/* a rule applied through pt_rules_apply as parsed keeps its text */
	run(r, "map_location reset\n  map_location   cuda:0=cpu ;cuda:2=meta  \n");
	check_describe(r, "map_location cuda:0=cpu ;cuda:2=meta\n");
	CHECK_LOCS("cuda:1", "cuda:1", "cpu", "meta");

	/* a save command is not a rule */
	{
		struct pt_cmd save = { PT_CMD_SAVE, "/tmp/x.pt", 0 };

		pt_error_clear(&err);
		CHECK_INT(pt_rules_apply(r, &save, &err), -1);
		CHECK_INT(err.code, PT_ERR_INVAL);
		CHECK_LOCS("cuda:1", "cuda:1", "cpu", "meta");
	}

	/* materialize's selection and pins: a pinned storage never moves */
	{
		struct pt_cmd *cmds;
		size_t n;
		bool sel[4];

		run(r, "map_location reset\n");
		CHECK_INT(pt_rules_select(r, "/fc1/*", sel), 1);
		CHECK(sel[0] && sel[1] && !sel[2] && !sel[3]);
		CHECK_INT(pt_rules_select(r, "/fc2/b* /nothing", sel), 1);
		CHECK(!sel[0] && !sel[1] && !sel[2] && sel[3]);
		CHECK_INT(pt_rules_select(r, "", sel), 0);
		CHECK(sel[0] && sel[1] && sel[2] && sel[3]);
		CHECK_INT(pt_rules_select(r, NULL, sel), 0);
		CHECK(sel[3]);

		pt_rules_pin(r, S[2], true); /* fc2.weight, on cuda:0 */
		CHECK_INT(pt_cmds_parse("map_location cpu\n", 17, &cmds, &n, &err), 0);
		pt_error_clear(&err);
		CHECK_INT(pt_rules_apply(r, &cmds[0], &err), -1);
		CHECK_INT(err.code, PT_ERR_BUSY);
		CHECK_STR(err.msg,
			  "storage 2 (/fc2/weight) is resident on cuda:0: release it before moving it to cpu");
		pt_cmds_free(cmds, n);
		CHECK_LOCS("cuda:1", "cuda:1", "cuda:0", "cuda:2");
		check_describe(r, ""); /* the refused rule is not kept */
		run(r, "map_location cuda:1=cpu cuda:0=cuda:0\n"); /* leaves it where it is */
		CHECK_LOCS("cpu", "cpu", "cuda:0", "cuda:2");
		pt_error_clear(&err);
		CHECK_INT(pt_rules_override(r, S[2], "cuda:1", &err), -1);
		CHECK_INT(err.code, PT_ERR_BUSY);
		CHECK_INT(pt_rules_override(r, S[2], "cuda:0", &err), 0);
		CHECK_INT(pt_rules_override(r, S[3], "cpu", &err), 0);
		{
			struct pt_cmd reset = { PT_CMD_RESET, NULL, 0 };

			/* reset would keep fc2.weight on cuda:0 (its saved tag): allowed */
			CHECK_INT(pt_rules_apply(r, &reset, &err), 0);
			CHECK_LOCS("cuda:1", "cuda:1", "cuda:0", "cuda:2");
			CHECK_INT(pt_rules_override(r, S[2], "cuda:0", &err), 0);
			pt_rules_pin(r, S[2], false);
			pt_rules_pin(r, S[0], true); /* fc1.weight, at its saved cuda:1 */
			run(r, "map_location cuda:1=cuda:1\n");
			CHECK_INT(pt_rules_override(r, S[0], "cpu", &err), -1);
			pt_rules_pin(r, S[0], false);
			CHECK_INT(pt_rules_apply(r, &reset, &err), 0);
		}
	}

	/* freeing the rules puts the saved tags back */
	pt_rules_free(r);
	CHECK_LOCS("cuda:1", "cuda:1", "cuda:0", "cuda:2");
	CHECK(S[0]->location == NULL && S[2]->override == NULL);
	pt_rules_free(NULL);
	pt_checkpoint_close(ck);
}

int main(int argc, char **argv)
{
	const char *fixtures = argc > 2 ? argv[2] : NULL;

	test_location_valid();
	test_cmds_parse();
	if (fixtures)
		test_rules(fixtures);
	else
		fprintf(stderr, "test_rules: no fixtures folder, rules on a checkpoint skipped\n");
	return check_report("test_rules");
}
