/*
 * manifest.h - `.ptfs/manifest`: every tensor of a checkpoint, one line
 * each, for sort, grep, awk, cut and diff.
 */
#ifndef PT_MANIFEST_H
#define PT_MANIFEST_H

#include <stddef.h>

#include "error.h"

struct pt_checkpoint;

/*
 * The manifest of ck: a header line, then one line per tensor in tree
 * order, tab-separated: path, dtype, shape, stride, storage offset, saved
 * location, effective location, bytes (docs/tree.md, ".ptfs/"). It depends
 * only on the objects and the locations, never on file names or storage
 * keys, so equal checkpoints give equal manifests. Effective locations are
 * read as they are now: the caller keeps the rules still meanwhile.
 * Returns a malloc'd text (*len bytes, NUL after them), or NULL with err.
 */
char *pt_manifest_text(const struct pt_checkpoint *ck, size_t *len, struct pt_error *err);

#endif
