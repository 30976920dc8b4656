/*
 * verdict.c - which globals a pickle may name: allowed, unknown or
 * dangerous (scan.h's pt_scan_classify).
 *
 * The allowlist is torch's weights_only unpickler's (what torch.save
 * writes); it decides. The blocklist (security.md §3: process, code
 * execution, network, file system, import machinery) matches parent
 * packages too and only raises the severity of what is not allowed, as do
 * the shapes no real class has (dotted or dunder names, EXT codes).
 */
#include "scan.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "dtype.h"

static const char *const allowed_exact[] = {
	"collections.OrderedDict", "collections.Counter", "torch.nn.parameter.Parameter",
	"torch.serialization._get_layout", "torch.Size", "torch.Tensor", "torch.device",
	"_codecs.encode", "builtins.bytearray", "builtins.set", "builtins.frozenset",
	"builtins.complex", "types.SimpleNamespace", "torch.storage.TypedStorage", "torch.storage.UntypedStorage",
	"torch.per_tensor_affine", "torch.per_tensor_symmetric", "torch.per_channel_affine",
	"torch.per_channel_symmetric", "torch.per_channel_affine_float_qparams",
	"torch._tensor._rebuild_from_type_v2", "torch._utils._rebuild_parameter",
	"torch._utils._rebuild_parameter_with_state", "torch._utils._rebuild_qtensor",
	"torch._utils._rebuild_tensor", "torch._utils._rebuild_tensor_v2",
	"torch._utils._rebuild_tensor_v3", "torch._utils._rebuild_sparse_tensor",
	"torch._utils._rebuild_sparse_csr_tensor", "torch._utils._rebuild_meta_tensor_no_storage",
	"torch._utils._rebuild_nested_tensor", "torch._utils._rebuild_wrapper_subclass",
	"torch._utils._rebuild_device_tensor_from_numpy",
	"torch._utils._rebuild_device_tensor_from_cpu_tensor",
	/* TorchScript's pickle helpers (list builders); the archive itself is noted */
	"torch.jit._pickle.build_tensor_from_id", "torch.jit._pickle.restore_type_tag",
	"torch.jit._pickle.build_intlist", "torch.jit._pickle.build_tensorlist",
	"torch.jit._pickle.build_doublelist", "torch.jit._pickle.build_boollist",
};

static const char *const tensor_classes[] = {
	"Float", "Double", "Half", "BFloat16", "Long", "Int", "Short", "Char", "Byte", "Bool",
	"ComplexFloat", "ComplexDouble",
};

static const struct {
	const char *prefix;
	const char *why;
} blocked[] = {
	{ "types", "code objects" }, { "marshal", "code objects" }, { "code", "code execution" },
	{ "codeop", "code execution" }, { "runpy", "code execution" }, { "importlib", "imports" },
	{ "imp", "imports" }, { "_imp", "imports" }, { "_frozen_importlib", "imports" },
	{ "_frozen_importlib_external", "imports" }, { "zipimport", "imports" },
	{ "pkgutil", "imports" }, { "inspect", "code execution" }, { "gc", "interpreter" },
	{ "site", "interpreter" }, { "_interpreters", "interpreter" },
	{ "_xxsubinterpreters", "interpreter" }, { "os", "process and OS" },
	{ "posix", "process and OS" }, { "nt", "process and OS" }, { "sys", "process and OS" },
	{ "subprocess", "process and OS" }, { "_posixsubprocess", "process and OS" },
	{ "pty", "process and OS" }, { "commands", "process and OS" },
	{ "multiprocessing", "process and OS" }, { "signal", "process and OS" },
	{ "_signal", "process and OS" }, { "threading", "process and OS" },
	{ "_thread", "process and OS" }, { "atexit", "process and OS" },
	{ "shutil", "process and OS" }, { "tempfile", "process and OS" },
	{ "platform", "process and OS" }, { "uuid", "process and OS" },
	{ "_osx_support", "process and OS" }, { "_aix_support", "process and OS" },
	{ "_pyrepl", "process and OS" }, { "pydoc", "process and OS" },
	{ "imaplib", "process and OS" }, { "webbrowser", "process and OS" },
	{ "venv", "process and OS" }, { "ensurepip", "process and OS" }, { "pip", "process and OS" },
	{ "distutils", "process and OS" }, { "asyncio", "process and OS" },
	{ "pexpect", "process and OS" }, { "pipes", "process and OS" }, { "ctypes", "FFI" },
	{ "_ctypes", "FFI" }, { "mmap", "FFI" }, { "pickle", "nested load" },
	{ "_pickle", "nested load" }, { "cPickle", "nested load" }, { "dill", "nested load" },
	{ "cloudpickle", "nested load" }, { "joblib", "nested load" }, { "shelve", "nested load" },
	{ "copyreg", "nested load" }, { "torch.load", "nested load" },
	{ "torch.serialization.load", "nested load" },
	{ "torch.storage._load_from_bytes", "nested load" },
	{ "torch.utils._config_module", "nested load" },
	{ "torch.utils.data.datapipes", "nested load" }, { "numpy.load", "nested load" },
	{ "numpy.lib.format", "nested load" }, { "pdb", "runs strings" }, { "bdb", "runs strings" },
	{ "trace", "runs strings" }, { "profile", "runs strings" }, { "cProfile", "runs strings" },
	{ "timeit", "runs strings" }, { "doctest", "runs strings" }, { "idlelib", "runs strings" },
	{ "lib2to3", "runs strings" }, { "test", "runs strings" },
	{ "numpy.testing", "runs strings" }, { "numpy.f2py", "runs strings" },
	{ "numpy.distutils", "runs strings" }, { "torch.jit", "torch internals that run code" },
	{ "torch._dynamo", "torch internals that run code" },
	{ "torch._inductor", "torch internals that run code" },
	{ "torch.compile", "torch internals that run code" },
	{ "torch.fx.experimental.symbolic_shapes", "torch internals that run code" },
	{ "torch.utils.collect_env", "torch internals that run code" },
	{ "torch.utils.bottleneck", "torch internals that run code" },
	{ "torch.hub", "torch internals that run code" },
	{ "torch.distributed.rpc", "torch internals that run code" },
	{ "torch.distributed.elastic.rendezvous", "torch internals that run code" },
	{ "operator", "call gadgets" }, { "_operator", "call gadgets" },
	{ "functools", "call gadgets" }, { "socket", "network" }, { "ssl", "network" },
	{ "http", "network" }, { "httplib", "network" }, { "urllib", "network" },
	{ "urllib2", "network" }, { "requests", "network" }, { "aiohttp", "network" },
	{ "smtplib", "network" }, { "ftplib", "network" }, { "poplib", "network" },
	{ "telnetlib", "network" }, { "nntplib", "network" }, { "xmlrpc", "network" },
	{ "socketserver", "network" }, { "select", "network" }, { "selectors", "network" },
	{ "io", "file system" }, { "_io", "file system" }, { "logging", "file system" },
	{ "sqlite3", "file system" }, { "tarfile", "file system" }, { "zipfile", "file system" },
	{ "glob", "file system" }, { "fileinput", "file system" }, { "linecache", "file system" },
	{ "filecmp", "file system" }, { "difflib", "file system" }, { "compileall", "file system" },
	{ "py_compile", "file system" }, { "pathlib", "file system" },
	{ "fickling", "anti-analysis" }, { "picklescan", "anti-analysis" },
	{ "modelscan", "anti-analysis" }, { "modelaudit", "anti-analysis" },
	{ "saferpickle", "anti-analysis" }, { "model_unpickler", "anti-analysis" },
};

/* builtins that only construct plain values; every other builtin is dangerous */
static const char *const builtin_ctors[] = {
	"int", "float", "bool", "str", "bytes", "bytearray", "list", "dict", "set", "frozenset",
	"tuple", "complex", "range", "slice", "object", "NoneType", "Ellipsis",
	"xrange", /* protocol 2's name for range: Python 3 loads it as range */
};

static bool in_list(const char *s, const char *const *list, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (strcmp(s, list[i]) == 0)
			return true;
	return false;
}

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

static bool allowed(const char *module, const char *name, const char *full)
{
	size_t i;

	if (in_list(full, allowed_exact, NELEM(allowed_exact)))
		return true;
	if (strcmp(module, "torch") == 0) {
		if (pt_dtype_from_storage_class(name) != PT_DT_INVALID || pt_dtype_from_name(name) != PT_DT_INVALID)
			return true;
	}
	if (strcmp(module, "torch") == 0 || strcmp(module, "torch.cuda") == 0)
		for (i = 0; i < NELEM(tensor_classes); i++) {
			size_t l = strlen(tensor_classes[i]);

			if (strncmp(name, tensor_classes[i], l) == 0 && strcmp(name + l, "Tensor") == 0)
				return true;
		}
	return false;
}

/*
 * "___torch_mangle_N" (N digits, up to the next dot): the component
 * torch.jit.save puts in a class's module when one class was scripted into
 * several types (two Linear of other sizes, Sequentials of other children),
 * so any archive with a Sequential has them.
 */
static bool torch_mangle(const char *p)
{
	const char *d = p + 16;

	if (strncmp(p, "___torch_mangle_", 16) != 0 || *d < '0' || *d > '9')
		return false;
	while (*d >= '0' && *d <= '9')
		d++;
	return *d == '.' || *d == '\0';
}

/* A dotted attribute, a dunder component, or a byte no Python name has. */
static const char *odd_shape(const char *module, const char *name)
{
	const char *p;
	bool script = strncmp(module, "__torch__.", 10) == 0;

	if (strchr(name, '.'))
		return "dotted name";
	for (p = module;; p = strchr(p, '.') + 1) {
		if (strncmp(p, "__", 2) == 0 && strcmp(p, "__builtin__") != 0 && strcmp(p, "__main__") != 0 &&
		    strncmp(p, "__torch__", 9) != 0 && !(script && torch_mangle(p)))
			return "dunder module";
		if (!strchr(p, '.'))
			break;
	}
	if (strncmp(name, "__", 2) == 0 && strlen(name) > 4 && strcmp(name + strlen(name) - 2, "__") == 0)
		return "dunder name";
	if (strchr(module, '<') || strchr(name, '<'))
		return "not a str: an unresolvable import";
	if (strchr(module, '\\') || strchr(name, '\\'))
		return "NUL, control byte or invalid UTF-8 in a name";
	for (p = module; *p; p++)
		if ((unsigned char)*p <= ' ')
			return "control or space in a module name";
	for (p = name; *p; p++)
		if ((unsigned char)*p <= ' ')
			return "control or space in a name";
	return NULL;
}

enum pt_verdict pt_scan_classify(const char *module, const char *name, const char **reason)
{
	char full[1024];
	const char *why;
	size_t i;

	*reason = NULL;
	snprintf(full, sizeof(full), "%s.%s", module, name);
	if (strcmp(module, "copyreg") == 0 && strncmp(name, "<ext ", 5) == 0) {
		*reason = "extension code: an unresolved import";
		return PT_VERDICT_DANGEROUS;
	}
	why = odd_shape(module, name);
	if (why) {
		*reason = why;
		return PT_VERDICT_DANGEROUS;
	}
	if (allowed(module, name, full))
		return PT_VERDICT_ALLOWED;
	if (strcmp(module, "builtins") == 0) {
		if (in_list(name, builtin_ctors, NELEM(builtin_ctors)))
			return PT_VERDICT_UNKNOWN;
		*reason = "code execution and evaluation";
		return PT_VERDICT_DANGEROUS;
	}
	for (i = 0; i < NELEM(blocked); i++) {
		size_t l = strlen(blocked[i].prefix);

		if (strncmp(full, blocked[i].prefix, l) == 0 && full[l] == '.') {
			*reason = blocked[i].why;
			return PT_VERDICT_DANGEROUS;
		}
		if (strcmp(full, blocked[i].prefix) == 0) {
			*reason = blocked[i].why;
			return PT_VERDICT_DANGEROUS;
		}
	}
	return PT_VERDICT_UNKNOWN;
}

const char *pt_verdict_name(enum pt_verdict v)
{
	static const char *const names[] = { "allowed", "unknown", "dangerous", "unreadable" };

	return (unsigned)v < 4 ? names[v] : "unknown";
}

