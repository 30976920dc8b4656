/*
 * json.h - a small JSON reader into the values of value.h.
 *
 * For the few JSON documents around checkpoints: TorchScript 1.0's
 * model.json now; safetensors headers and sharded-set index files next.
 * Objects become PT_V_DICT (str keys, in document order), arrays
 * PT_V_LIST, numbers PT_V_INT when integral and in range, else PT_V_FLOAT.
 */
#ifndef PT_JSON_H
#define PT_JSON_H

#include <stddef.h>

#include "error.h"
#include "value.h"

/*
 * Parses the JSON text p[0..len) into values allocated in a. Nesting is
 * limited to 256 levels. Returns 0 and sets *out, or -1 with PT_ERR_FORMAT
 * ("JSON: offset 12: expected ':'"), PT_ERR_LIMIT or PT_ERR_NOMEM.
 */
int pt_json_parse(struct pt_arena *a, const char *p, size_t len, struct pt_value **out,
		  struct pt_error *err);

/* Refuse an object that names a key twice ("JSON: offset 9: duplicate key 'a'"). */
#define PT_JSON_UNIQUE_KEYS 1u

/* pt_json_parse with PT_JSON_* flags; pt_json_parse passes 0. */
int pt_json_parse_with(struct pt_arena *a, const char *p, size_t len, unsigned flags,
		       struct pt_value **out, struct pt_error *err);

#endif
