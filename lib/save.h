/*
 * save.h - writing a checkpoint with new location tags.
 */
#ifndef PT_SAVE_H
#define PT_SAVE_H

#include <stdint.h>

#include "checkpoint.h"
#include "error.h"
#include "progress.h"


struct pt_save_opts {
	uint64_t zip64_above; /* 0: torch's 4 GiB rule; tests force ZIP64 with 1 */
};

/*
 * Writes ck to the absolute path in torch's zip layout (stored records,
 * 64-byte aligned, ZIP64 end records, `byteorder`, `version`), with each
 * storage i tagged locs[i] and the pickle otherwise unchanged; a legacy
 * checkpoint is converted to the zip layout. Storage bytes are copied with
 * copy_file_range where the kernel allows. The write is atomic: an unnamed
 * file in path's folder (O_TMPFILE, else a hidden temporary name), fsync,
 * then linked and renamed over path; on any failure nothing is left and
 * path is untouched. A symbolic link at path is followed (as torch.save's
 * open() would write through it): its final target is replaced, the link
 * stays. Refuses (PT_ERR_INVAL) a relative path and the mounted checkpoint
 * itself, (PT_ERR_UNSUPPORTED) TorchScript archives, and (PT_ERR_IO with
 * EISDIR or EEXIST) a target that exists and is not a regular file: a
 * folder, device, FIFO or socket is never replaced. A folder where no file
 * can be made fails with its errno (EROFS, EACCES; ENOTSUP for a filesystem
 * that makes no files). prog
 * (may be NULL) is started with the storage bytes as its total and updated
 * as they are written (progress.h). Returns 0 or -1 with err.
 */
int pt_checkpoint_save(struct pt_checkpoint *ck, const char *path, const char *const *locs,
		       const struct pt_save_opts *opts, struct pt_progress *prog,
		       struct pt_error *err);

/*
 * The same in two steps, so a daemon can answer quickly and copy in the
 * background: pt_save_begin does everything that can fail fast (checks,
 * the new pickle, the temporary file in path's folder) and returns a job,
 * or NULL with err; pt_save_run writes, fsyncs and publishes it (0 or -1
 * with err; the locations were fixed at begin); pt_save_free releases the
 * job and removes whatever a failed or unrun job left. ck must outlive the job.
 */
struct pt_save_job;
struct pt_save_job *pt_save_begin(struct pt_checkpoint *ck, const char *path,
				  const char *const *locs, const struct pt_save_opts *opts,
				  struct pt_progress *prog, struct pt_error *err);
int pt_save_run(struct pt_save_job *job, struct pt_progress *prog, struct pt_error *err);
void pt_save_free(struct pt_save_job *job);

/*
 * The rules of every file the writer makes (save, export): the file a write
 * to path replaces is path, or where its chain of symbolic links ends
 * (torch.save's open() writes through a link; the links stay); a target
 * that exists and is a folder (EISDIR), device, FIFO or socket (EEXIST) is
 * refused, and so is the mounted checkpoint (PT_ERR_INVAL). what ("save",
 * "export") starts each message. Writes the target into out (cap bytes);
 * 0, or -1 with err.
 */
int pt_write_target(const struct pt_checkpoint *ck, const char *path, const char *what,
		    char *out, size_t cap, struct pt_error *err);

/*
 * Opens a hidden temporary ".BASE.ptfs-XXXXXX" in dir (dirfd open on it),
 * mode 0644, its name in tmpname. Returns the descriptor, or -1 with err
 * saying why no file can be made there: EROFS, EACCES, or ENOTSUP for a
 * filesystem that makes none (/proc answers a create with ENOENT).
 */
int pt_write_temp(const char *dir, int dirfd, const char *base, const char *what, char *tmpname,
		  size_t cap, struct pt_error *err);

#endif
