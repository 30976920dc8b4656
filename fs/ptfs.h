/*
 * ptfs.h - the daemon's context, shared by the FUSE operations.
 *
 * fs/ is a thin layer: it maps FUSE requests onto the library's tree and
 * tensor reads, and library errors onto errno. This is the only place with
 * process-wide state (the one mounted checkpoint).
 */
#ifndef PTFS_H
#define PTFS_H

#define FUSE_USE_VERSION 314

#include <fuse_lowlevel.h>
#include <pthread.h>
#include <sys/stat.h>

#include "checkpoint.h"
#include "code.h"
#include "gpu.h"
#include "export.h"
#include "stwrite.h"
#include "rules.h"
#include "save.h"
#include "scan.h"

#define PTFS_VERSION "0.1.0"

/* One of the daemon's view readers (views.c); lo, hi and t under views_lock. */
#define PTFS_VIEW_SLOTS 4
struct ptfs_view_slot {
	struct pt_view *v;          /* made on first use */
	const struct pt_tensor *t;  /* whose bytes [lo, hi) v holds, or NULL */
	uint64_t lo, hi;
	uint64_t used;              /* views_clock at the last take */
	bool busy;                  /* a request is reading through v */
};

struct ptfs {
	struct pt_checkpoint *ck; /* read with ptfs_ck(): `reload` replaces it */
	const char *path; /* the checkpoint as given on the command line */
	char *abspath;    /* the same, absolute: the daemon's cwd is / */
	struct pt_open_opts open_opts;
	struct fuse_session *se;
	/* what a reload replaced: requests in flight may still use it; freed at exit */
	struct pt_checkpoint **retired_ck;
	struct pt_rules **retired_rules;
	size_t nretired;
	uid_t uid;
	gid_t gid;
	struct timespec mtime;
	double timeout; /* entry and attribute cache time for the immutable tree */
	size_t max_write; /* a write(2) longer than this may reach us as several requests */
	int debug;
	bool no_opendir; /* the kernel opens directories without asking (ops.c) */

	/* the control file's state, under lock */
	pthread_mutex_t lock;
	struct pt_rules *rules;
	char *last_error;             /* malloc'd, or NULL */
	bool saving;
	pthread_cond_t saved;         /* signalled when a save ends */
	pthread_t save_thread;
	bool save_thread_valid;       /* joined before the next save and at exit */
	int save_errno;               /* of the last save, 0 when it succeeded */
	unsigned save_seq;            /* saves started */
	unsigned save_done_seq;       /* the last one ended */
	unsigned save_told_seq;       /* the last one a wait (or its close) reported */
	char *save_path;              /* the last save's path */
	char *save_result;            /* "done ... " / "failed: ..." of the last save */
	struct pt_progress prog;      /* of the running save */
	struct pt_node *control;      /* .ptfs/control */
	bool stale;                   /* the checkpoint changed on disk (ops.c) */
	struct snapshot *snapshots;   /* open control files (control.c) */
	char *globals;                /* .ptfs/globals, made on first open */
	size_t globals_len;
	unsigned rules_gen;           /* counts changes of locations (rules, overrides, reloads) */
	char *manifest;               /* .ptfs/manifest as of manifest_gen of manifest_ck */
	size_t manifest_len;
	unsigned manifest_gen;
	struct pt_checkpoint *manifest_ck;

	/* -o follow (follow.c) */
	bool follow;
	int follow_wake;        /* eventfd that ends the watcher, or -1 */
	pthread_t follow_thread;
	bool follow_running;
	unsigned reloads;       /* made by the watcher, under lock */
	char *follow_error;     /* its last failed reload, NULL after a good one; under lock */

	/* the GPU side (materialize.c); under lock but where it says */
	struct pt_gpu *gpu;           /* loaded by the first command that needs a device */
	char *gpu_unavailable;        /* why the last load failed, or NULL */
	struct pt_resident *res;      /* of ck, made by the first materialize; read by requests */
	bool gpu_busy;                /* a materialize is copying (with the lock dropped) */
	struct pt_progress gpu_prog;  /* of that copy */
	char *gpu_result;             /* the last materialize's or release's outcome */
	enum pt_gpu_path gpu_path;    /* -o gpu_copy= */

	/* views and big-endian tensors are gathered through these (views.c) */
	pthread_mutex_t views_lock;
	pthread_cond_t views_free; /* broadcast when a slot stops being busy */
	struct ptfs_view_slot views[PTFS_VIEW_SLOTS];
	uint64_t views_clock;
};

/* The files of .ptfs/; one with PTFS_HIDDEN is found by name but not listed. */
enum ptfs_special {
	PTFS_HIDDEN = 0x100,
	PTFS_CONTROL = 1,
	PTFS_GLOBALS = 2,
	PTFS_MANIFEST = 3,
	PTFS_SUMS = 4 | PTFS_HIDDEN,
};

/*
 * The globals report of the mounted file (what its pickles would import and
 * call), made once under fs->lock: 0, or an errno (files.c).
 */
int ptfs_globals(struct ptfs *fs);

/* A malloc'd copy of .ptfs/manifest as the locations are now, *len bytes; NULL on ENOMEM. */
char *ptfs_manifest(struct ptfs *fs, size_t *len);

/* ck's SHA256SUMS listing, made on first use; NULL on ENOMEM. It lives as long as ck. */
struct pt_sums *ptfs_sums(struct ptfs *fs, struct pt_checkpoint *ck);

/* st_size of a .ptfs file: what reading it now would give. */
uint64_t ptfs_special_size(struct ptfs *fs, const struct pt_node *n);

/* The length of the control file's text now (control.c). */
uint64_t ptfs_control_size(struct ptfs *fs);

/* `ptfs --scan FILE...`: prints each report; returns the exit status. */
int ptfs_scan_main(int argc, char **argv);

/* `ptfs diff [options] A B` (fs/diff.c): exit 0 equal, 1 different, 2 trouble. */
int ptfs_diff_main(int argc, char **argv);

/* The control file (control.c): open, read, write, release. Each replies once. */
void ptfs_control_open(fuse_req_t req, struct ptfs *fs, struct fuse_file_info *fi);
void ptfs_control_read(fuse_req_t req, struct ptfs *fs, size_t size, off_t off,
		       struct fuse_file_info *fi);
void ptfs_control_write(fuse_req_t req, struct ptfs *fs, struct fuse_file_info *fi,
			const char *buf, size_t size);
void ptfs_control_flush(fuse_req_t req, struct ptfs *fs, struct fuse_file_info *fi);
void ptfs_control_release(fuse_req_t req, struct ptfs *fs, struct fuse_file_info *fi);

/* Frees the opens the kernel never released (unmount with files open). */
void ptfs_control_free_all(struct ptfs *fs);

/*
 * `reload`: serves what the checkpoint's path holds now (control.c). Called
 * with fs->lock held; 0, or an errno with err (the old checkpoint stays).
 */
int ptfs_reload(struct ptfs *fs, struct pt_error *err);

/*
 * -o follow: starts the thread that reloads when the checkpoint's path is
 * rewritten or replaced (follow.c); 0, or -1 with a message on stderr.
 * ptfs_follow_stop ends and joins it; a no-op when it never started.
 */
int ptfs_follow_start(struct ptfs *fs);
void ptfs_follow_stop(struct ptfs *fs);

/* Waits for a running save to end (at unmount). */
void ptfs_control_finish(struct ptfs *fs);

/* setfattr/removexattr of user.pt.location on a tensor: 0 or an errno. */
int ptfs_location_set(struct ptfs *fs, struct pt_node *n, const char *value, size_t size);
int ptfs_location_remove(struct ptfs *fs, struct pt_node *n);

static inline struct pt_checkpoint *ptfs_ck(struct ptfs *fs)
{
	return __atomic_load_n(&fs->ck, __ATOMIC_ACQUIRE);
}

/*
 * Adds .ptfs/control and .ptfs/globals to ck's tree; 0 or -1 with err.
 * Sets fs->control.
 */
int ptfs_add_specials(struct ptfs *fs, struct pt_checkpoint *ck, struct pt_error *err);

/*
 * Replies to a read of size bytes (already cut at the end) at off of t,
 * which cannot be spliced, from a view slot's gathered chunk.
 */
void ptfs_views_read(fuse_req_t req, struct ptfs *fs, struct pt_checkpoint *ck,
		     const struct pt_tensor *t, size_t size, uint64_t off);

/* Frees the slots' readers (at exit, when no request runs). */
void ptfs_views_free(struct ptfs *fs);

/* Frees what reloads replaced (at exit, when no request runs). */
void ptfs_free_retired(struct ptfs *fs);

/*
 * `materialize` or `release` (materialize.c), called with fs->lock held,
 * which a materialize drops while it copies: 0 or an errno with err.
 */
int ptfs_gpu_command(struct ptfs *fs, const struct pt_cmd *cmd, struct pt_error *err);

/* Whether device memory holds storages of the checkpoint, or a materialize runs (under lock). */
bool ptfs_gpu_holds(struct ptfs *fs);

/* Appends the control file's gpu:, materialize: and resident lines (under lock); -1 on ENOMEM. */
int ptfs_gpu_describe(struct ptfs *fs, char **buf, size_t *len);

/*
 * Replies to a read of t's content (size already cut at the end) from
 * device memory when its storage is resident, and returns true; false
 * (nothing replied) when it is not.
 */
bool ptfs_gpu_read(fuse_req_t req, struct ptfs *fs, const struct pt_tensor *t, size_t size,
		   uint64_t off);

/* user.pt.resident or user.pt.cuda_ipc of t, malloc'd into *out: length or -errno. */
ssize_t ptfs_gpu_xattr(struct ptfs *fs, const struct pt_tensor *t, const char *name, char **out);

/* Frees device memory and unloads the driver (at unmount, when no request runs). */
void ptfs_gpu_close(struct ptfs *fs);

/* The low-level operations (ops.c). */
extern const struct fuse_lowlevel_ops ptfs_ops;

/* Maps a library error code to an errno value. */
int ptfs_errno(const struct pt_error *err);

/*
 * The value of extended attribute name on node into a malloc'd buffer;
 * returns its length, or -errno (-ENODATA for a name the node lacks).
 */
ssize_t ptfs_xattr_get(struct ptfs *fs, const struct pt_node *node, const char *name, char **out);

/* The NUL-separated list of the node's attribute names, malloc'd; its length or -errno. */
ssize_t ptfs_xattr_list(struct ptfs *fs, const struct pt_node *node, char **out);

#endif
