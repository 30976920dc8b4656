/*
 * resident.h - the storages of a checkpoint whose bytes are in device memory.
 *
 * `materialize` copies storages to the GPU their effective location names
 * (cuda:N; "cuda" is device 0, torch's current device). This module keeps,
 * per storage, the device and allocation holding its bytes, and serves
 * reads and IPC handles from them. One allocation per storage, however many
 * tensors or views share it, so one IPC handle covers every view of it. The
 * bytes on the device are the storage's elements in little-endian order (a
 * big-endian file's are swapped on the way), as torch.load would put them.
 *
 * A resident storage is pinned in the rules (pt_rules_pin): a rule or
 * override that would move it fails with EBUSY until it is released, since
 * other processes may hold its bytes through IPC.
 *
 * Locking: the caller serializes plan, end, release and free (the daemon
 * does them under its lock). Reads and handles may run at any moment from
 * other threads: they hold a rwlock shared while they copy out, and
 * release holds it exclusive while it frees, so no read copies from freed
 * memory. A load uploads without the lock (its storages are not resident
 * yet, so reads still go to the file) and publishes them under it.
 */
#ifndef PT_RESIDENT_H
#define PT_RESIDENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "checkpoint.h"
#include "error.h"
#include "gpu.h"
#include "progress.h"
#include "rules.h"

struct pt_resident;

/* Nothing resident, for ck (which must outlive it). NULL with err on ENOMEM. */
struct pt_resident *pt_resident_new(struct pt_checkpoint *ck, struct pt_error *err);

/*
 * Makes r serve ck instead (after a reload), when nothing is resident:
 * readers of the old checkpoint's tensors find nothing resident from then
 * on. 0, or -1 with err (PT_ERR_BUSY when storages are resident, ENOMEM);
 * r is unchanged then.
 */
int pt_resident_rebind(struct pt_resident *r, struct pt_checkpoint *ck, struct pt_error *err);

/* Frees r and every allocation it holds on g (g may be NULL when none). r may be NULL. */
void pt_resident_free(struct pt_resident *r, struct pt_gpu *g);

/* The device index a location names: "cuda" 0, "cuda:N" N; -1 for any other. Pure. */
int pt_location_cuda_index(const char *loc);

/* What one materialize will do, made by pt_resident_plan. */
struct pt_resident_plan {
	unsigned *todo;  /* storage indices to copy, in index order (malloc'd) */
	int *dev;        /* their devices */
	size_t n;
	size_t already;  /* selected, on a cuda location, resident already */
	size_t skipped;  /* selected, not on a cuda location */
	uint64_t bytes;  /* of the todo storages */
	int max_dev;     /* the highest device named, -1 when none */
};

/*
 * Plans the materialize of the storages marked in sel (one bool per storage
 * index): the ones on a cuda location and not resident are to be copied,
 * and are pinned in rules now, so that nothing moves them while they are
 * copied. Returns 0 (p filled; end it with pt_resident_plan_end), or -1
 * with err on ENOMEM (nothing pinned).
 */
int pt_resident_plan(struct pt_resident *r, struct pt_rules *rules, const bool *sel,
		     struct pt_resident_plan *p, struct pt_error *err);

/*
 * Copies the plan's storages to their devices: checks every device exists
 * (torch.load's messages, PT_ERR_NODEV), allocates each storage, uploads
 * them all (pt_gpu_upload through path; prog counts bytes), and publishes
 * them as resident. On any failure (PT_ERR_NOMEM naming the storage and the
 * bytes it needs, a device error, a read error) frees everything this call
 * allocated and returns -1 with err: nothing of it stays resident. 0 on
 * success. Does not take the caller's lock: run it outside it.
 */
int pt_resident_load(struct pt_resident *r, struct pt_gpu *g, const struct pt_resident_plan *p,
		     enum pt_gpu_path path, struct pt_progress *prog, struct pt_error *err);

/* Unpins the plan's storages that did not become resident; frees p's arrays. */
void pt_resident_plan_end(struct pt_resident *r, struct pt_rules *rules,
			  struct pt_resident_plan *p);

/*
 * Frees the resident storages marked in sel on g and unpins them in
 * rules; waits for reads of them in flight. Returns how many were freed,
 * and their bytes in *bytes (may be NULL).
 */
size_t pt_resident_release(struct pt_resident *r, struct pt_gpu *g, struct pt_rules *rules,
			   const bool *sel, uint64_t *bytes);

/* The checkpoint r serves (under the caller's lock). */
struct pt_checkpoint *pt_resident_ck(const struct pt_resident *r);

/* Storages resident now, over every device. */
size_t pt_resident_count(const struct pt_resident *r);

/* The device holding s's bytes, or -1 when they are only in the file. */
int pt_resident_device(const struct pt_resident *r, const struct pt_storage *s);

/*
 * Copies up to size bytes of t's content from byte off (cut at the end)
 * into buf from device memory, gathering views as pt_tensor_read does.
 * Returns the bytes copied; 0 when t's storage is not resident (read the
 * file then) or off is at or past the end; -1 with err on a device error.
 */
int64_t pt_resident_read(struct pt_resident *r, struct pt_gpu *g, const struct pt_tensor *t,
			 void *buf, size_t size, uint64_t off, struct pt_error *err);

/*
 * user.pt.cuda_ipc of t into buf (cap bytes, NUL-terminated): "cuda:N
 * BUSID HANDLE OFFSET SIZE", HANDLE the allocation's IPC handle in 128
 * lowercase hex digits, OFFSET the byte offset of t's first element in the
 * allocation, SIZE the bytes t's elements span from there (numel x element
 * size when contiguous, 0 when empty). Returns its length; 0 when t's
 * storage is not resident; -1 with err on a driver error.
 */
int pt_resident_ipc_text(struct pt_resident *r, struct pt_gpu *g, const struct pt_tensor *t,
			 char *buf, size_t cap, struct pt_error *err);

/*
 * Appends one line per device with resident storages to the malloc'd
 * *buf of *len bytes: "resident cuda:0: 12 storages, 1073741824 bytes
 * (1.0 GiB), NAME, BUSID". -1 on ENOMEM.
 */
int pt_resident_describe(struct pt_resident *r, struct pt_gpu *g, char **buf, size_t *len);

#endif
