/*
 * shards.h - a sharded set (safetensors or torch.save `.bin` shards) as one
 * source and one container (format.md §6.2).
 *
 * A set is named by its index (`model.safetensors.index.json`: {"metadata":
 * {...}, "weight_map": {tensor: shard file}}), by a folder that holds one,
 * or by a folder of shards named `PREFIX-0000K-of-0000N.safetensors` (or
 * `.bin`) without an index. Shard names are relative to the index's folder; an
 * absolute name or one with a `..` part is refused.
 *
 * At open each safetensors shard's header (its first 8 + N bytes) is read,
 * validated (safetensors.h) and checked against the index (the shard must
 * hold exactly the tensors the index puts in it); a `.bin` shard's pickle
 * runs at load (pt_shards_load: the zip directory, data.pkl and the local
 * headers of its storages, never its data) and is checked the same way.
 * Each shard is closed again:
 * no shard descriptor is held until a tensor of that shard is first read.
 * The source's bytes are the shards' bytes one after the other; its pread
 * opens a shard on first use (checking it is still the file whose header
 * was read) and keeps it open. It has no single descriptor (fd is -1), so
 * the daemon reads rather than splices; pt_shards_fd gives the shard's own
 * descriptor to whoever copies whole storages (a save).
 */
#ifndef PT_SHARDS_H
#define PT_SHARDS_H

#include <stdbool.h>
#include <stdint.h>

#include "container.h"
#include "safetensors.h"
#include "error.h"
#include "source.h"
#include "torch.h"
#include "value.h"

/*
 * True when path should be opened as a sharded set: a folder, or a file
 * whose name ends in ".index.json". Pure: only a stat.
 */
bool pt_shards_path(const char *path);

/*
 * Opens the set at path as described above. Returns a source the caller
 * frees with pt_source_close(), or NULL with err naming the index and the
 * shard ("model.safetensors.index.json: shard 'model-00002-of-00002.safetensors':
 * No such file or directory").
 */
struct pt_source *pt_shards_open(const char *path, struct pt_error *err);

/* True when src was made by pt_shards_open. */
bool pt_shards_owns(const struct pt_source *src);

/*
 * The descriptor of the shard holding the set's bytes [off, off + len)
 * (opened now if need be) and the offset of off in it. -1 and err when the
 * range crosses shards or the shard cannot be opened. The descriptor stays
 * owned by the source.
 */
int pt_shards_fd(struct pt_source *src, uint64_t off, uint64_t len, uint64_t *local,
		 struct pt_error *err);

/* The container reader of pt_container_open (PT_FORMAT_SHARDED). */
int pt_shards_container_open(struct pt_container *c, struct pt_error *err);

/*
 * The root value: an OrderedDict of every tensor, shard by shard (in file
 * name order), each in its header's order; storages keyed 0, 1, ... and
 * bound to the set's bytes. Values in a. -1 and err.
 */
int pt_shards_load(struct pt_container *c, struct pt_torch *t, struct pt_arena *a,
		   struct pt_value **root, struct pt_error *err);

/* The tensors pt_shards_load made, as pt_st_items gives them. */
const struct pt_sdpickle_item *pt_shards_items(const struct pt_container *c, size_t *n);

/* The index's "metadata" object, or NULL (no index, or none in it). */
const struct pt_value *pt_shards_metadata(const struct pt_container *c);

#endif
