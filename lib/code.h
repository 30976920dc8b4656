/*
 * code.h - a TorchScript archive's code/ folder, readable under .ptfs/code.
 *
 * torch.jit.save writes the Python-like source of every class it compiled
 * as zip members code/<qualified path>.py (and .py.debug_pkl), most of
 * them deflated. They appear as files under `.ptfs/code/`, the folders of
 * the archive's code/ mirrored, holding each member's bytes exactly. A
 * member is read (inflated through libzip) at the first read of its file,
 * never at mount, and then kept in memory with the checkpoint; one over
 * PT_CODE_MAX bytes is refused with a message instead.
 */
#ifndef PT_CODE_H
#define PT_CODE_H

#include <stdint.h>

#include "checkpoint.h"
#include "error.h"

#define PT_CODE_MAX (64ULL << 20)

/*
 * Adds `.ptfs/code/...` to ck's tree for every member under code/ of a
 * TorchScript archive (none for other checkpoints). Members whose names
 * cannot be paths as they are (empty parts, `.`, `..`, over 255 bytes)
 * are left out. Only while the tree is not yet shared. 0, or -1 with err
 * (PT_ERR_NOMEM, PT_ERR_LIMIT).
 */
int pt_code_add(struct pt_checkpoint *ck, struct pt_error *err);

/*
 * Copies up to size bytes of the member behind node n (a PT_NODE_RECORD)
 * from byte off into buf: the bytes read (0 at the end), or -1 with err
 * (PT_ERR_LIMIT for a member over PT_CODE_MAX, PT_ERR_IO, PT_ERR_FORMAT
 * for one that does not inflate to its size or CRC). Thread-safe.
 */
int64_t pt_code_read(struct pt_checkpoint *ck, const struct pt_node *n, void *buf, size_t size,
		     uint64_t off, struct pt_error *err);

/* Frees what pt_code_read kept. For pt_checkpoint_close. */
void pt_code_release(struct pt_checkpoint *ck);

#endif
