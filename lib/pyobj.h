/*
 * pyobj.h - the common Python objects a checkpoint holds, shown as users
 * know them rather than as the calls that rebuild them.
 *
 * A pickle rebuilds a numpy array, a complex number or a torch.device by
 * calling something (REDUCE) and maybe handing it a state (BUILD); the
 * pickle machine keeps those as symbolic PT_V_OBJECT values. This module
 * recognises the ones whose result can be told without running code and
 * says what the tree should show instead: repr() text, an array's bytes, or
 * a list of items. It also names the Python type of any object, the type
 * torch.load's result would have (docs/tree.md, "Types").
 */
#ifndef PT_PYOBJ_H
#define PT_PYOBJ_H

#include <stdint.h>

#include "error.h"
#include "value.h"

/* A numpy array shown as a file: user.pt.dtype and user.pt.shape. */
struct pt_array {
	const char *dtype; /* numpy's dtype.name: "float64", "bool", "str160" */
	int ndim;
	int64_t *shape;
};

enum pt_pyobj_form {
	PT_PYOBJ_OTHER, /* none of the known kinds: a directory of its state */
	PT_PYOBJ_TEXT,  /* a text file: repr(v) */
	PT_PYOBJ_ARRAY, /* a numpy array of plain elements: its bytes */
	PT_PYOBJ_ITEMS, /* a directory of items (an object array, a namedtuple) */
};

struct pt_pyobj {
	enum pt_pyobj_form form;
	const char *type; /* user.pt.type (all forms) */
	char *text;       /* TEXT: repr(v), without the newline */
	const char *data; /* ARRAY: the elements row-major, little-endian */
	size_t len;       /* ARRAY: bytes of data */
	struct pt_array *array;      /* ARRAY */
	const struct pt_vseq *items; /* ITEMS */
	const char *item_fmt;        /* ITEMS: user.pt.key suffix, "[%zu]" or ".flat[%zu]" */
};

/*
 * Says how the tree shows v (a PT_V_OBJECT, or the tuple of a torch.Size),
 * allocating every string and byte it returns in a, which must outlive the
 * tree (the values do not). An array's bytes are copied, converted to
 * row-major little-endian when the pickle holds them in Fortran order or
 * big-endian; a pickle's arrays are never larger than the pickle, so
 * neither is the copy. Returns 0 and fills *out (form OTHER for what it
 * does not know, or does not find well-formed); -1 and err only when an
 * allocation fails.
 */
int pt_pyobj_describe(struct pt_arena *a, const struct pt_value *v, struct pt_pyobj *out,
		      struct pt_error *err);

/*
 * The Python type of the object v (a PT_V_OBJECT) as user.pt.type shows it,
 * in a; NULL and err when an allocation fails. The rule is docs/tree.md's:
 * the class a copyreg helper or numpy's _reconstruct is given, the class of
 * NEWOBJ, the result type of the known rebuild functions, a REDUCE's
 * callable when it is a class, else the callable's name followed by "()".
 */
const char *pt_pyobj_type(struct pt_arena *a, const struct pt_value *v, struct pt_error *err);

#endif
