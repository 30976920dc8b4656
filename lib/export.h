/*
 * export.h - a checkpoint's tensors written as safetensors (docs/export.md).
 */
#ifndef PT_EXPORT_H
#define PT_EXPORT_H

#include <stdint.h>

#include "checkpoint.h"
#include "error.h"
#include "progress.h"

struct pt_export_opts {
	uint64_t shard_size; /* 0: one file at path; else path is a folder of HF shards */
};

/*
 * Export in two steps, like pt_save_begin/run: pt_export_begin collects
 * what is exported (names from the tree, tied tensors dropped as
 * huggingface_hub drops them, string leaves as metadata), plans the files
 * and opens their temporaries; it fails fast (NULL with err) on a relative
 * path, the mounted checkpoint itself, a target that is not a regular file
 * (one file) or not a folder (shards), or a folder where no file can be
 * made. pt_export_run copies the bytes (copy_file_range where a tensor is
 * one run in the source), fsyncs every file, then renames them into place
 * (the index last) and fsyncs the folder: 0, or -1 with err, and then
 * nothing new is left. prog (may be NULL) counts tensor bytes.
 * pt_export_summary is a one-line account of what was written and left
 * out, valid until pt_export_free, which also removes what a failed or
 * unrun job left. Locations are read at begin: a tensor whose effective
 * location is `meta` has no data and is left out. ck must outlive the job.
 */
struct pt_export_job;
struct pt_export_job *pt_export_begin(struct pt_checkpoint *ck, const char *path,
				      const struct pt_export_opts *opts, struct pt_progress *prog,
				      struct pt_error *err);
int pt_export_run(struct pt_export_job *job, struct pt_progress *prog, struct pt_error *err);
const char *pt_export_summary(const struct pt_export_job *job);
void pt_export_free(struct pt_export_job *job);

/* Both steps at once: 0, or -1 with err and nothing left at path. */
int pt_checkpoint_export(struct pt_checkpoint *ck, const char *path,
			 const struct pt_export_opts *opts, struct pt_progress *prog,
			 struct pt_error *err);

#endif
