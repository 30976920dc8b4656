/*
 * pickle_obj.c - the opcodes that would import or call in Python: GLOBAL,
 * STACK_GLOBAL, EXT*, REDUCE, NEWOBJ, NEWOBJ_EX, OBJ, INST, BUILD, PERSID
 * and BINPERSID.
 *
 * The machine never imports or calls anything. A global becomes a
 * PT_V_GLOBAL naming it; a call becomes a PT_V_OBJECT holding the callable
 * and its arguments; BUILD records the state in it; a persistent id becomes
 * a PT_V_PERSID. The hooks of struct pt_pickle_hooks see each of these
 * first and may refuse it or stand in for it: torch.c's hooks turn
 * storages and torch's rebuild calls into tensors this way.
 *
 * Protocol 2 pickles from Python 3 name classes with Python 2 module names;
 * like torch.load (Python's find_class with fix_imports) the machine maps
 * them back when the protocol is below 3, after showing the global hook the
 * name as written.
 */
#include "pickle.h"
#include "pickle_int.h"

#include <stdio.h>
#include <string.h>

/* Python's _compat_pickle, for protocol 0-2 pickles written by Python 3. */
static const char *const import_map[][2] = {
	{ "__builtin__", "builtins" }, { "copy_reg", "copyreg" },
	{ "Queue", "queue" }, { "SocketServer", "socketserver" },
	{ "ConfigParser", "configparser" }, { "repr", "reprlib" },
	{ "_winreg", "winreg" }, { "thread", "_thread" },
	{ "dummy_thread", "_dummy_thread" }, { "dbhash", "dbm.bsd" },
	{ "dumbdbm", "dbm.dumb" }, { "dbm", "dbm.ndbm" }, { "gdbm", "dbm.gnu" },
	{ "xmlrpclib", "xmlrpc.client" }, { "httplib", "http.client" },
	{ "htmlentitydefs", "html.entities" }, { "HTMLParser", "html.parser" },
	{ "Cookie", "http.cookies" }, { "cookielib", "http.cookiejar" },
	{ "BaseHTTPServer", "http.server" }, { "test.test_support", "test.support" },
	{ "commands", "subprocess" }, { "urlparse", "urllib.parse" },
	{ "robotparser", "urllib.robotparser" }, { "urllib2", "urllib.request" },
	{ "anydbm", "dbm" }, { "_abcoll", "collections.abc" },
	{ "cPickle", "pickle" }, { "_elementtree", "xml.etree.ElementTree" },
	{ "UserDict", "collections" }, { "UserList", "collections" },
	{ "UserString", "collections" }, { "whichdb", "dbm" },
	{ "StringIO", "io" }, { "cStringIO", "io" },
	/* Python lists each exception by name; all keep their names. */
	{ "exceptions", "builtins" },
};

static const char *const name_map[][4] = {
	{ "__builtin__", "xrange", "builtins", "range" },
	{ "__builtin__", "reduce", "functools", "reduce" },
	{ "__builtin__", "intern", "sys", "intern" },
	{ "__builtin__", "unichr", "builtins", "chr" },
	{ "__builtin__", "unicode", "builtins", "str" },
	{ "__builtin__", "long", "builtins", "int" },
	{ "__builtin__", "basestring", "builtins", "str" },
	{ "itertools", "izip", "builtins", "zip" },
	{ "itertools", "imap", "builtins", "map" },
	{ "itertools", "ifilter", "builtins", "filter" },
	{ "itertools", "ifilterfalse", "itertools", "filterfalse" },
	{ "itertools", "izip_longest", "itertools", "zip_longest" },
	{ "UserDict", "IterableUserDict", "collections", "UserDict" },
	{ "exceptions", "StandardError", "builtins", "Exception" },
};

static void compat_map(const char **module, const char **name)
{
	size_t i;

	for (i = 0; i < sizeof(name_map) / sizeof(name_map[0]); i++) {
		if (strcmp(*module, name_map[i][0]) == 0 &&
		    strcmp(*name, name_map[i][1]) == 0) {
			*module = name_map[i][2];
			*name = name_map[i][3];
			return;
		}
	}
	for (i = 0; i < sizeof(import_map) / sizeof(import_map[0]); i++) {
		if (strcmp(*module, import_map[i][0]) == 0) {
			*module = import_map[i][1];
			return;
		}
	}
}

/* Printable ASCII as is, everything else as \xNN, at most 200 bytes out. */
static void escape_name(const char *s, size_t n, char *out, size_t cap)
{
	size_t o = 0, i;

	for (i = 0; i < n && o + 5 < cap && o < 200; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c > 0x20 && c < 0x7f && c != '\\')
			out[o++] = (char)c;
		else
			o += (size_t)snprintf(out + o, cap - o, "\\x%02x", c);
	}
	out[o] = '\0';
}

/*
 * A global the machine refuses (NUL, bad UTF-8, not a str) is still shown to
 * the global hook, escaped, before the load fails: a scanner must report
 * what the pickle tried to import even when the pickle is broken.
 */
static void report_bad_global(struct pt_machine *m, const struct pt_value *mv, const char *mod,
			      size_t ml, const struct pt_value *nv, const char *name, size_t nl)
{
	char a[256], b[256];
	struct pt_error e;

	if (!m->h->global)
		return;
	if (mv && mv->kind != PT_V_STR)
		snprintf(a, sizeof(a), "<non-string:%s>", pt_vkind_name(mv->kind));
	else
		escape_name(mod, ml, a, sizeof(a));
	if (nv && nv->kind != PT_V_STR)
		snprintf(b, sizeof(b), "<non-string:%s>", pt_vkind_name(nv->kind));
	else
		escape_name(name, nl, b, sizeof(b));
	pt_error_clear(&e);
	m->h->global(m->h->ctx, a, b, m->op, &e);
}

/*
 * A PT_V_GLOBAL for module.name as the file wrote them, after the global
 * hook has seen them; fix_imports maps Python 2 names (not for EXT).
 */
static struct pt_value *make_global(struct pt_machine *m, const char *mod,
				    size_t modlen, const char *name,
				    size_t namelen, bool fix_imports)
{
	const char *mmod, *mname;
	struct pt_value *v;
	char *cmod, *cname;

	if (memchr(mod, '\0', modlen) || memchr(name, '\0', namelen)) {
		report_bad_global(m, NULL, mod, modlen, NULL, name, namelen);
		pt_pickle_fail(m, PT_ERR_PICKLE, "%s contains a NUL byte",
			       memchr(mod, '\0', modlen) ? "module" : "name");
		return NULL;
	}
	cmod = pt_arena_strndup(m->a, mod, modlen, m->err);
	cname = cmod ? pt_arena_strndup(m->a, name, namelen, m->err) : NULL;
	if (!cname) {
		pt_pickle_failed(m, "no memory");
		return NULL;
	}
	if (m->h->global) {
		pt_error_clear(m->err);
		if (m->h->global(m->h->ctx, cmod, cname, m->op, m->err) < 0) {
			pt_pickle_failed(m, "global refused");
			return NULL;
		}
	}
	mmod = cmod;
	mname = cname;
	if (fix_imports && m->proto < 3)
		compat_map(&mmod, &mname);
	if (mmod != cmod) {
		cmod = pt_arena_strndup(m->a, mmod, strlen(mmod), m->err);
		cname = cmod ? pt_arena_strndup(m->a, mname, strlen(mname), m->err)
			     : NULL;
		if (!cname) {
			pt_pickle_failed(m, "no memory");
			return NULL;
		}
	}
	v = pt_value_new(m->a, PT_V_GLOBAL, m->err);
	if (!v) {
		pt_pickle_failed(m, "no memory");
		return NULL;
	}
	v->u.global.module = cmod;
	v->u.global.name = cname;
	return v;
}

/* GLOBAL and INST's two text lines: Python decodes them as strict UTF-8. */
struct pt_value *pt_pickle_text_global(struct pt_machine *m,
				       const struct pt_oparg *arg)
{
	size_t bad;

	if (pt_utf8_check(arg->p, arg->n, false) < arg->n ||
	    pt_utf8_check(arg->p2, arg->n2, false) < arg->n2)
		report_bad_global(m, NULL, (const char *)arg->p, arg->n, NULL, (const char *)arg->p2,
				  arg->n2);
	bad = pt_utf8_check(arg->p, arg->n, false);
	if (bad < arg->n) {
		pt_pickle_fail(m, PT_ERR_PICKLE,
			       "module is not valid UTF-8 at byte %zu", bad);
		return NULL;
	}
	bad = pt_utf8_check(arg->p2, arg->n2, false);
	if (bad < arg->n2) {
		pt_pickle_fail(m, PT_ERR_PICKLE,
			       "name is not valid UTF-8 at byte %zu", bad);
		return NULL;
	}
	return make_global(m, (const char *)arg->p, arg->n,
			   (const char *)arg->p2, arg->n2, true);
}

int pt_pickle_stack_global(struct pt_machine *m)
{
	struct pt_value *mod, *name;

	if (pt_pickle_need(m, 2))
		return -1;
	name = pt_pickle_pop(m);
	mod = pt_pickle_pop(m);
	if (mod->kind != PT_V_STR || name->kind != PT_V_STR) {
		report_bad_global(m, mod, mod->kind == PT_V_STR ? mod->u.s.p : "",
				  mod->kind == PT_V_STR ? mod->u.s.len : 0, name,
				  name->kind == PT_V_STR ? name->u.s.p : "",
				  name->kind == PT_V_STR ? name->u.s.len : 0);
		return pt_pickle_fail(m, PT_ERR_PICKLE,
				      "module and name must be str, got %s and %s",
				      pt_vkind_name(mod->kind),
				      pt_vkind_name(name->kind));
	}
	return pt_pickle_push(m, make_global(m, mod->u.s.p, mod->u.s.len,
					     name->u.s.p, name->u.s.len, true));
}

int pt_pickle_ext(struct pt_machine *m, int64_t code)
{
	char name[32];

	/* copyreg's registry is empty under torch.load: keep the code as a name. */
	if (code <= 0)
		return pt_pickle_fail(m, PT_ERR_PICKLE,
				      "extension code %lld is invalid",
				      (long long)code);
	snprintf(name, sizeof(name), "<ext %lld>", (long long)code);
	return pt_pickle_push(m, make_global(m, "copyreg", 7, name, strlen(name),
					     false));
}

/*
 * REDUCE, NEWOBJ, NEWOBJ_EX, OBJ, INST: the call hook may recognise the
 * callable; otherwise the call is kept as a PT_V_OBJECT.
 */
static int call(struct pt_machine *m, struct pt_value *callable,
		struct pt_value *args, struct pt_value *kwargs)
{
	struct pt_value *v = NULL;

	if (!args)
		return pt_pickle_failed(m, "no memory");
	if (m->h->call) {
		pt_error_clear(m->err);
		v = m->h->call(m->h->ctx, m->a, callable, args, kwargs, m->op,
			       m->err);
		if (!v && m->err->code != PT_OK)
			return pt_pickle_failed(m, "call refused");
	}
	if (!v) {
		v = pt_value_new(m->a, PT_V_OBJECT, m->err);
		if (!v)
			return pt_pickle_failed(m, "no memory");
		v->u.obj.callable = callable;
		v->u.obj.args = args;
		v->u.obj.kwargs = kwargs;
		v->u.obj.how = m->op;
	}
	return pt_pickle_push(m, v);
}

int pt_pickle_reduce(struct pt_machine *m, int nargs)
{
	struct pt_value *callable, *args, *kwargs = NULL;

	if (pt_pickle_need(m, (size_t)nargs))
		return -1;
	if (nargs == 3) {
		kwargs = pt_pickle_pop(m);
		if (kwargs->kind != PT_V_DICT)
			return pt_pickle_fail(m, PT_ERR_PICKLE,
					      "keyword arguments must be a dict, got %s",
					      pt_vkind_name(kwargs->kind));
	}
	args = pt_pickle_pop(m);
	callable = pt_pickle_pop(m);
	if (args->kind != PT_V_TUPLE)
		return pt_pickle_fail(m, PT_ERR_PICKLE,
				      "argument must be a tuple, got %s",
				      pt_vkind_name(args->kind));
	return call(m, callable, args, kwargs);
}

int pt_pickle_obj(struct pt_machine *m)
{
	struct pt_value *cls, *args;
	size_t base, n;

	if (pt_pickle_pop_mark(m, &base))
		return -1;
	n = m->sp - base;
	if (!n)
		return pt_pickle_fail(m, PT_ERR_PICKLE, "no class after the MARK");
	cls = m->stack[base];
	args = pt_pickle_make_seq(m, PT_V_TUPLE, m->stack + base + 1, n - 1);
	m->sp = base;
	return call(m, cls, args, NULL);
}

int pt_pickle_inst(struct pt_machine *m, const struct pt_oparg *arg)
{
	struct pt_value *cls, *args;
	size_t base;

	cls = pt_pickle_text_global(m, arg);
	if (!cls)
		return -1;
	if (pt_pickle_pop_mark(m, &base))
		return -1;
	args = pt_pickle_make_seq(m, PT_V_TUPLE, m->stack + base, m->sp - base);
	m->sp = base;
	return call(m, cls, args, NULL);
}

int pt_pickle_build(struct pt_machine *m)
{
	struct pt_value *target, *state;
	int rc;

	if (pt_pickle_need(m, 2))
		return -1;
	state = pt_pickle_pop(m);
	target = pt_pickle_top(m);
	if (target->kind == PT_V_OBJECT) {
		target->u.obj.state = state;
		return 0;
	}
	if (m->h->build) {
		pt_error_clear(m->err);
		rc = m->h->build(m->h->ctx, m->a, target, state, m->err);
		if (rc < 0)
			return pt_pickle_failed(m, "state refused");
		if (rc > 0)
			return 0;
	}
	/* An OrderedDict's attributes (a state_dict's _metadata) are dropped. */
	if (target->kind == PT_V_DICT &&
	    (state->kind == PT_V_DICT || state->kind == PT_V_NONE ||
	     (state->kind == PT_V_TUPLE && state->u.seq.n == 2)))
		return 0;
	if (target->kind == PT_V_DICT)
		return pt_pickle_fail(m, PT_ERR_PICKLE,
				      "cannot set the state of dict from %s",
				      pt_vkind_name(state->kind));
	return pt_pickle_fail(m, PT_ERR_PICKLE, "cannot set the state of %s",
			      pt_vkind_name(target->kind));
}

int pt_pickle_persistent(struct pt_machine *m, struct pt_value *pid)
{
	struct pt_value *v;

	if (!pid)
		return pt_pickle_failed(m, "no memory");
	if (m->h->persistent_load) {
		pt_error_clear(m->err);
		v = m->h->persistent_load(m->h->ctx, m->a, pid, m->err);
		if (!v)
			return pt_pickle_failed(m,
						"the persistent_load hook returned nothing");
		return pt_pickle_push(m, v);
	}
	v = pt_value_new(m->a, PT_V_PERSID, m->err);
	if (v)
		v->u.persid = pid;
	return pt_pickle_push(m, v);
}

int pt_pickle_text_persid(struct pt_machine *m, const struct pt_oparg *arg)
{
	size_t i;

	for (i = 0; i < arg->n; i++)
		if (arg->p[i] >= 0x80)
			return pt_pickle_fail(m, PT_ERR_PICKLE,
					      "persistent id is not ASCII");
	return pt_pickle_persistent(m, pt_pickle_bytes_value(m, PT_V_STR,
							     arg->p, arg->n));
}
