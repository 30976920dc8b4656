/*
 * rules.c - map_location rules and control commands (see rules.h).
 *
 * Since saved tags and tensor paths never change, a rule's effect can be
 * computed once, when it is added: rule_loc[i] holds what the rules so far
 * say for storage i (NULL: its saved tag). A later rule overwrites the
 * entries it matches, which is "later rule beats earlier"; `reset` clears
 * them all and the overrides. The effective location is published into each
 * storage's `location` with an atomic store, so readers need no lock.
 */
#define _GNU_SOURCE
#include "rules.h"
#include "stwrite.h"
#include "text.h"

#include <fnmatch.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct intern {
	struct intern *next;
	char s[];
};

struct rule_text {
	struct rule_text *next;
	char s[];
};

struct pt_rules {
	struct pt_checkpoint *ck;
	struct pt_torch *t;
	const char **rule_loc;     /* per storage index */
	struct pt_node **first;    /* per storage index: its first tensor; made at the first override */
	struct intern *strings;    /* every tag ever used, freed at the end */
	struct rule_text *rules, **rules_tail;
	bool *pinned;              /* per storage index: its location may not change (resident) */
};

static const char *const device_types[] = {
	"cpu", "cuda", "ipu", "xpu", "mkldnn", "opengl", "opencl", "ideep", "hip", "ve",
	"fpga", "maia", "xla", "lazy", "vulkan", "mps", "meta", "hpu", "mtia", "privateuseone",
};

/*
 * torch.device's grammar, TYPE or TYPE:INDEX with INDEX 0 or [1-9][0-9]*,
 * restricted as torch.load's deserializers are: cpu and meta are matched
 * exactly, so "cpu:0" restores nowhere and is refused.
 */
bool pt_location_valid(const char *tag)
{
	const char *colon = strchr(tag, ':');
	size_t tl = colon ? (size_t)(colon - tag) : strlen(tag), i;
	bool known = false;

	for (i = 0; i < sizeof(device_types) / sizeof(*device_types); i++)
		if (strlen(device_types[i]) == tl && strncmp(tag, device_types[i], tl) == 0)
			known = true;
	if (!known)
		return false;
	if (!colon)
		return true;
	if ((tl == 3 && strncmp(tag, "cpu", 3) == 0) || (tl == 4 && strncmp(tag, "meta", 4) == 0))
		return false;
	colon++;
	if (!*colon || strlen(colon) > 9)
		return false;
	if (colon[0] == '0' && colon[1])
		return false;
	for (; *colon; colon++)
		if (*colon < '0' || *colon > '9')
			return false;
	return true;
}

static const char *intern(struct pt_rules *r, const char *s, size_t n, struct pt_error *err)
{
	struct intern *x;

	for (x = r->strings; x; x = x->next)
		if (strlen(x->s) == n && memcmp(x->s, s, n) == 0)
			return x->s;
	x = malloc(sizeof(*x) + n + 1);
	if (!x)
		return pt_error_set(err, PT_ERR_NOMEM, "out of memory"), NULL;
	memcpy(x->s, s, n);
	x->s[n] = '\0';
	x->next = r->strings;
	r->strings = x;
	return x->s;
}

const char *pt_storage_location(const struct pt_storage *s)
{
	const char *l = __atomic_load_n(&s->location, __ATOMIC_ACQUIRE);

	return l ? l : s->saved_location;
}

static void publish(struct pt_rules *r, size_t i)
{
	struct pt_storage *s = r->t->storages[i];
	const char *l = s->override ? s->override : r->rule_loc[i];

	__atomic_store_n(&s->location, (char *)l, __ATOMIC_RELEASE);
}

struct pt_rules *pt_rules_new(struct pt_checkpoint *ck, struct pt_error *err)
{
	struct pt_rules *r = calloc(1, sizeof(*r));
	size_t n = ck->torch.nstorages;

	if (!r)
		goto out_nomem;
	r->ck = ck;
	r->t = &ck->torch;
	r->rules_tail = &r->rules;
	r->rule_loc = calloc(n ? n : 1, sizeof(*r->rule_loc));
	r->pinned = calloc(n ? n : 1, sizeof(*r->pinned));
	if (!r->rule_loc || !r->pinned)
		goto out_free;
	return r;

out_free:
	pt_rules_free(r);
out_nomem:
	pt_error_set(err, PT_ERR_NOMEM, "out of memory");
	return NULL;
}

void pt_rules_free(struct pt_rules *r)
{
	size_t i;

	if (!r)
		return;
	for (i = 0; i < r->t->nstorages; i++) {
		r->t->storages[i]->location = NULL;
		r->t->storages[i]->override = NULL;
	}
	while (r->strings) {
		struct intern *x = r->strings;

		r->strings = x->next;
		free(x);
	}
	while (r->rules) {
		struct rule_text *x = r->rules;

		r->rules = x->next;
		free(x);
	}
	free(r->rule_loc);
	free(r->first);
	free(r->pinned);
	free(r);
}


/* Checks one token of a map_location command: TAG, or FROM=TO, FROM a tag or /glob. */
static int check_token(const char *tok, size_t n, bool alone, int line, struct pt_error *err)
{
	const char *eq = memchr(tok, '=', n);
	char a[256], b[256];

	if (!eq) {
		if (!alone)
			return pt_error_set(err, PT_ERR_INVAL,
					    "line %d: map_location: '%.*s' is not FROM=TO (a single tag must be alone)",
					    line, (int)n, tok);
		if (n >= sizeof(a))
			return pt_error_set(err, PT_ERR_INVAL, "line %d: map_location: tag too long", line);
		memcpy(a, tok, n);
		a[n] = '\0';
		if (!pt_location_valid(a))
			return pt_error_set(err, PT_ERR_INVAL,
					    "line %d: map_location: '%s' is not a location torch accepts (cpu, cuda, cuda:N, mps, meta, ...)",
					    line, a);
		return 0;
	}
	if ((size_t)(eq - tok) >= sizeof(a) || n - (size_t)(eq - tok) - 1 >= sizeof(b))
		return pt_error_set(err, PT_ERR_INVAL, "line %d: map_location: pair too long", line);
	memcpy(a, tok, (size_t)(eq - tok));
	a[eq - tok] = '\0';
	memcpy(b, eq + 1, n - (size_t)(eq - tok) - 1);
	b[n - (size_t)(eq - tok) - 1] = '\0';
	if (a[0] != '/' && !pt_location_valid(a))
		return pt_error_set(err, PT_ERR_INVAL,
				    "line %d: map_location: '%s' is neither a location torch accepts nor a /path glob",
				    line, a);
	if (!pt_location_valid(b))
		return pt_error_set(err, PT_ERR_INVAL,
				    "line %d: map_location: '%s' is not a location torch accepts (cpu, cuda, cuda:N, mps, meta, ...)",
				    line, b);
	return 0;
}

/* The next token of a map_location argument (separated by spaces, tabs or ';'), or NULL. */
static const char *next_token(const char **p, size_t *n)
{
	const char *s = *p + strspn(*p, " \t;");

	if (!*s)
		return NULL;
	*n = strcspn(s, " \t;");
	*p = s + *n;
	return s;
}

static int count_tokens(const char *args)
{
	size_t n;
	int k = 0;

	while (next_token(&args, &n))
		k++;
	return k;
}

static int check_map(const char *args, int line, struct pt_error *err)
{
	int ntok = count_tokens(args);
	const char *tok;
	size_t n;

	if (ntok == 0)
		return pt_error_set(err, PT_ERR_INVAL,
				    "line %d: map_location needs a location, FROM=TO pairs or reset", line);
	while ((tok = next_token(&args, &n)))
		if (check_token(tok, n, ntok == 1, line, err) < 0)
			return -1;
	return 0;
}

void pt_cmds_free(struct pt_cmd *cmds, size_t n)
{
	size_t i;

	for (i = 0; cmds && i < n; i++)
		free(cmds[i].arg);
	free(cmds);
}

/*
 * `export safetensors PATH [--shard-size SIZE]`: *arg (the text after
 * `export`, modified in place) becomes the path, *shard the size or 0.
 */
static int parse_export(char **arg, uint64_t *shard, int line, struct pt_error *err)
{
	char *a = *arg, *opt;
	struct pt_error e2;

	if (strncmp(a, "safetensors", 11) != 0 || (a[11] != ' ' && a[11] != '\t'))
		return pt_error_set(err, PT_ERR_INVAL,
				    "line %d: usage: export safetensors PATH [--shard-size SIZE]", line);
	a += 11 + strspn(a + 11, " \t");
	opt = strstr(a, " --shard-size");
	if (!opt)
		opt = strstr(a, "\t--shard-size");
	if (opt) {
		char *size = opt + 13;

		*opt = '\0';
		size += strspn(size, " \t");
		if (size == opt + 13 || !*size || strpbrk(size, " \t"))
			return pt_error_set(err, PT_ERR_INVAL, "line %d: --shard-size needs one SIZE",
					    line);
		if (pt_size_parse(size, shard, &e2) < 0)
			return pt_error_set(err, PT_ERR_INVAL, "line %d: --shard-size %s", line, e2.msg);
		while (opt > a && (opt[-1] == ' ' || opt[-1] == '\t'))
			*--opt = '\0';
	}
	if (a[0] != '/')
		return pt_error_set(err, PT_ERR_INVAL,
				    "line %d: export needs an absolute path, got '%s'", line, a);
	*arg = a;
	return 0;
}

int pt_cmds_parse(const char *text, size_t len, struct pt_cmd **cmds, size_t *n,
		  struct pt_error *err)
{
	struct pt_cmd *v = NULL;
	size_t nv = 0, pos = 0;
	int line = 0;

	*cmds = NULL;
	*n = 0;
	if (memchr(text, '\0', len))
		return pt_error_set(err, PT_ERR_INVAL, "a NUL byte in the command text");
	while (pos < len) {
		const char *l = text + pos, *nl = memchr(l, '\n', len - pos);
		size_t ll = nl ? (size_t)(nl - l) : len - pos;
		char *s, *arg;
		struct pt_cmd *nvp;
		enum pt_cmd_kind kind;
		uint64_t shard = 0;

		pos += ll + (nl ? 1 : 0);
		line++;
		while (ll && (l[ll - 1] == ' ' || l[ll - 1] == '\t' || l[ll - 1] == '\r'))
			ll--;
		while (ll && (*l == ' ' || *l == '\t')) {
			l++;
			ll--;
		}
		if (ll == 0 || *l == '#')
			continue;
		s = strndup(l, ll);
		if (!s)
			goto out_nomem;
		arg = s + strcspn(s, " \t");
		if (*arg)
			*arg++ = '\0';
		arg += strspn(arg, " \t");
		if (strcmp(s, "map_location") == 0) {
			kind = strcmp(arg, "reset") == 0 ? PT_CMD_RESET : PT_CMD_MAP;
			if (kind == PT_CMD_MAP && check_map(arg, line, err) < 0)
				goto out_bad;
		} else if (strcmp(s, "wait") == 0 || strcmp(s, "reload") == 0) {
			kind = s[0] == 'w' ? PT_CMD_WAIT : PT_CMD_RELOAD;
			if (*arg) {
				pt_error_set(err, PT_ERR_INVAL, "line %d: %s takes no argument", line, s);
				goto out_bad;
			}
		} else if (strcmp(s, "save") == 0) {
			kind = PT_CMD_SAVE;
			if (arg[0] != '/') {
				pt_error_set(err, PT_ERR_INVAL,
					     "line %d: save needs an absolute path, got '%s'", line, arg);
				goto out_bad;
			}
		} else if (strcmp(s, "export") == 0) {
			kind = PT_CMD_EXPORT;
			if (parse_export(&arg, &shard, line, err) < 0)
				goto out_bad;
		} else if (strcmp(s, "materialize") == 0 || strcmp(s, "release") == 0) {
			const char *rest = arg, *tok;
			size_t tl;

			kind = s[0] == 'm' ? PT_CMD_MATERIALIZE : PT_CMD_RELEASE;
			while ((tok = next_token(&rest, &tl)))
				if (*tok != '/' || tl >= 512) {
					pt_error_set(err, PT_ERR_INVAL,
						     "line %d: %s: '%.*s' is not a /path glob", line, s,
						     (int)tl, tok);
					goto out_bad;
				}
		} else {
			pt_error_set(err, PT_ERR_INVAL,
				     "line %d: unknown command '%s' (map_location, save, export, wait, reload, materialize, release)",
				     line, s);
			goto out_bad;
		}
		nvp = realloc(v, (nv + 1) * sizeof(*v));
		if (!nvp) {
			free(s);
			goto out_nomem;
		}
		v = nvp;
		v[nv].kind = kind;
		v[nv].shard_size = shard;
		v[nv].arg = strdup(arg);
		free(s);
		if (!v[nv].arg)
			goto out_nomem;
		nv++;
		continue;
out_bad:
		free(s);
		pt_cmds_free(v, nv);
		return -1;
	}
	*cmds = v;
	*n = nv;
	return 0;
out_nomem:
	pt_cmds_free(v, nv);
	return pt_error_set(err, PT_ERR_NOMEM, "out of memory");
}

static int add_rule_text(struct pt_rules *r, const char *args, struct pt_error *err)
{
	size_t n = strlen(args);
	struct rule_text *x = malloc(sizeof(*x) + n + 1);

	if (!x)
		return pt_error_set(err, PT_ERR_NOMEM, "out of memory");
	memcpy(x->s, args, n + 1);
	x->next = NULL;
	*r->rules_tail = x;
	r->rules_tail = &x->next;
	return 0;
}

/*
 * Fills next[] with what the rule in args says for each storage, the first
 * matching pair deciding (decided[] marks the storages a pair took), and
 * leaves the others as they were.
 */
static int rule_eval(struct pt_rules *r, const char *args, const char **next, bool *decided,
		     struct pt_error *err)
{
	size_t n = r->t->nstorages, i, k;
	const char *rest = args, *p, *e, *eq, *to;
	char path[4096], glob[512];
	bool single = count_tokens(args) == 1;
	size_t tl;

	while ((p = next_token(&rest, &tl))) {
		e = p + tl;
		eq = memchr(p, '=', tl);
		to = eq ? intern(r, eq + 1, (size_t)(e - eq - 1), err)
			: intern(r, p, (size_t)(e - p), err);
		if (!to)
			return -1;
		if (!eq && single) {
			for (i = 0; i < n; i++)
				if (!decided[i]) {
					next[i] = to;
					decided[i] = true;
				}
		} else if (eq && *p == '/') {
			size_t gl = (size_t)(eq - p) < sizeof(glob) ? (size_t)(eq - p) : sizeof(glob) - 1;

			memcpy(glob, p, gl);
			glob[gl] = '\0';
			for (k = 0; k < r->ck->tree->nnodes; k++) {
				struct pt_node *nd = r->ck->tree->nodes[k];
				struct pt_storage *s;

				if (nd->kind != PT_NODE_TENSOR || !nd->u.tensor->storage)
					continue;
				s = nd->u.tensor->storage;
				if (decided[s->index])
					continue;
				pt_node_glob_path(nd, path, sizeof(path)); /* truncated: "", no match */
				if (fnmatch(glob, path, 0) == 0) {
					next[s->index] = to;
					decided[s->index] = true;
				}
			}
		} else if (eq) {
			for (i = 0; i < n; i++) {
				const char *saved = r->t->storages[i]->saved_location;

				if (!decided[i] && strlen(saved) == (size_t)(eq - p) &&
				    strncmp(saved, p, (size_t)(eq - p)) == 0) {
					next[i] = to;
					decided[i] = true;
				}
			}
		}
	}
	return 0;
}

static int index_first(struct pt_rules *r, struct pt_error *err);

/*
 * -1 with PT_ERR_BUSY when storage i is pinned (its bytes are on a device
 * and other processes may hold them) and its location would become to.
 */
static int check_pinned(struct pt_rules *r, size_t i, const char *to, struct pt_error *err)
{
	const struct pt_storage *s = r->t->storages[i];
	const char *now = pt_storage_location(s);
	char path[4096] = "";

	if (!r->pinned[i] || strcmp(now, to) == 0)
		return 0;
	if ((r->first || index_first(r, err) == 0) && r->first[i])
		pt_node_glob_path(r->first[i], path, sizeof(path));
	return pt_error_set(err, PT_ERR_BUSY,
			    "storage %s (%s) is resident on %s: release it before moving it to %s",
			    s->key, path, now, to);
}

void pt_rules_pin(struct pt_rules *r, const struct pt_storage *s, bool pinned)
{
	r->pinned[s->index] = pinned;
}

int pt_rules_apply(struct pt_rules *r, const struct pt_cmd *cmd, struct pt_error *err)
{
	size_t i, n = r->t->nstorages;
	const char **next;
	bool *decided;

	if (cmd->kind == PT_CMD_RESET) {
		for (i = 0; i < n; i++)
			if (check_pinned(r, i, r->t->storages[i]->saved_location, err) < 0)
				return -1;
		while (r->rules) {
			struct rule_text *x = r->rules;

			r->rules = x->next;
			free(x);
		}
		r->rules_tail = &r->rules;
		for (i = 0; i < n; i++) {
			r->rule_loc[i] = NULL;
			r->t->storages[i]->override = NULL;
			publish(r, i);
		}
		return 0;
	}
	if (cmd->kind != PT_CMD_MAP)
		return pt_error_set(err, PT_ERR_INVAL, "not a map_location command");
	/* compute first, commit after: a failure changes nothing */
	next = malloc((n ? n : 1) * sizeof(*next));
	decided = calloc(n ? n : 1, sizeof(*decided));
	if (!next || !decided) {
		free(next);
		free(decided);
		return pt_error_set(err, PT_ERR_NOMEM, "out of memory");
	}
	memcpy(next, r->rule_loc, n * sizeof(*next));
	if (rule_eval(r, cmd->arg, next, decided, err) < 0)
		goto out_fail;
	for (i = 0; i < n; i++) {
		const struct pt_storage *s = r->t->storages[i];

		if (check_pinned(r, i, s->override ? s->override : next[i] ? next[i] : s->saved_location,
				 err) < 0)
			goto out_fail;
	}
	if (add_rule_text(r, cmd->arg, err) < 0)
		goto out_fail;
	free(decided);
	for (i = 0; i < n; i++) {
		r->rule_loc[i] = next[i];
		publish(r, i);
	}
	free(next);
	return 0;
out_fail:
	free(next);
	free(decided);
	return -1;
}

int pt_rules_select(struct pt_rules *r, const char *globs, bool *sel)
{
	const char *rest = globs ? globs : "", *p;
	char path[4096], glob[512];
	size_t k, tl, n = r->t->nstorages;
	bool any = false;

	memset(sel, 0, (n ? n : 1) * sizeof(*sel));
	while ((p = next_token(&rest, &tl))) {
		any = true;
		tl = tl < sizeof(glob) ? tl : sizeof(glob) - 1;
		memcpy(glob, p, tl);
		glob[tl] = '\0';
		for (k = 0; k < r->ck->tree->nnodes; k++) {
			const struct pt_node *nd = r->ck->tree->nodes[k];

			if (nd->kind != PT_NODE_TENSOR || !nd->u.tensor->storage ||
			    sel[nd->u.tensor->storage->index])
				continue;
			pt_node_glob_path(nd, path, sizeof(path));
			if (fnmatch(glob, path, 0) == 0)
				sel[nd->u.tensor->storage->index] = true;
		}
	}
	if (!any)
		for (k = 0; k < n; k++)
			sel[k] = true;
	return any ? 1 : 0;
}

int pt_rules_add_option(struct pt_rules *r, const char *value, struct pt_error *err)
{
	struct pt_cmd *cmds;
	size_t n, i;
	char *text;
	int ret = 0;

	if (asprintf(&text, "map_location %s", value) < 0)
		return pt_error_set(err, PT_ERR_NOMEM, "out of memory");
	if (pt_cmds_parse(text, strlen(text), &cmds, &n, err) < 0) {
		free(text);
		return -1;
	}
	for (i = 0; i < n && ret == 0; i++)
		ret = pt_rules_apply(r, &cmds[i], err);
	pt_cmds_free(cmds, n);
	free(text);
	return ret;
}

/*
 * The first tensor of each storage, for describe's comments: a walk of
 * every node (a millisecond at 20,000 tensors, a cache miss per node), so
 * it waits for the first override instead of every mount paying for it.
 */
static int index_first(struct pt_rules *r, struct pt_error *err)
{
	const struct pt_tree *tree = r->ck->tree;
	size_t n = r->t->nstorages, i;

	r->first = calloc(n ? n : 1, sizeof(*r->first));
	if (!r->first)
		return pt_error_set(err, PT_ERR_NOMEM, "out of memory");
	for (i = 0; i < tree->nnodes; i++) {
		struct pt_node *nd = tree->nodes[i];

		if (nd->kind == PT_NODE_TENSOR && nd->u.tensor->storage &&
		    !r->first[nd->u.tensor->storage->index])
			r->first[nd->u.tensor->storage->index] = nd;
	}
	return 0;
}

int pt_rules_override(struct pt_rules *r, struct pt_storage *s, const char *tag,
		      struct pt_error *err)
{
	const char *t = NULL;

	if (!r->first && index_first(r, err) < 0)
		return -1;
	if (tag) {
		if (!pt_location_valid(tag))
			return pt_error_set(err, PT_ERR_INVAL,
					    "'%s' is not a location torch accepts (cpu, cuda, cuda:N, mps, meta, ...)",
					    tag);
		t = intern(r, tag, strlen(tag), err);
		if (!t)
			return -1;
	}
	if (check_pinned(r, s->index,
			 t ? t : r->rule_loc[s->index] ? r->rule_loc[s->index] : s->saved_location,
			 err) < 0)
		return -1;
	s->override = t;
	publish(r, s->index);
	return 0;
}

int pt_rules_describe(const struct pt_rules *r, char **buf, size_t *len)
{
	const struct rule_text *x;
	char path[4096];
	size_t i;

	for (x = r->rules; x; x = x->next)
		if (pt_text_appendf(buf, len, "map_location %s\n", x->s) < 0)
			return -1;
	for (i = 0; i < r->t->nstorages; i++) {
		const struct pt_storage *s = r->t->storages[i];

		if (!s->override)
			continue;
		path[0] = '\0';
		if (r->first && r->first[i]) /* an override made it */
			pt_node_glob_path(r->first[i], path, sizeof(path));
		if (pt_text_appendf(buf, len, "override %s %s # %s\n", s->key, s->override, path) < 0)
			return -1;
	}
	return 0;
}
