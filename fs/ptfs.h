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
	char *save_path;              /* the last save's path */
	char *save_result;            /* "done ... " / "failed: ..." of the last save */
	struct pt_save_progress prog; /* of the running save */
	struct pt_node *control;      /* .ptfs/control */
	bool stale;                   /* the checkpoint changed on disk (ops.c) */
	struct snapshot *snapshots;   /* open control files (control.c) */
	char *globals;                /* .ptfs/globals, made on first open */
	size_t globals_len;

	/* views and big-endian tensors are gathered through these (views.c) */
	pthread_mutex_t views_lock;
	pthread_cond_t views_free; /* broadcast when a slot stops being busy */
	struct ptfs_view_slot views[PTFS_VIEW_SLOTS];
	uint64_t views_clock;
};

enum ptfs_special { PTFS_CONTROL = 1, PTFS_GLOBALS = 2 };

/*
 * The globals report of the mounted file (what its pickles would import and
 * call), made once under fs->lock: 0, or an errno.
 */
int ptfs_globals(struct ptfs *fs);

/* `ptfs --scan FILE...`: prints each report; returns the exit status. */
int ptfs_scan_main(int argc, char **argv);

/* The control file (control.c): open, read, write, release. Each replies once. */
void ptfs_control_open(fuse_req_t req, struct ptfs *fs, struct fuse_file_info *fi);
void ptfs_control_read(fuse_req_t req, struct ptfs *fs, size_t size, off_t off,
		       struct fuse_file_info *fi);
void ptfs_control_write(fuse_req_t req, struct ptfs *fs, const char *buf, size_t size);
void ptfs_control_release(fuse_req_t req, struct ptfs *fs, struct fuse_file_info *fi);

/* Frees the opens the kernel never released (unmount with files open). */
void ptfs_control_free_all(struct ptfs *fs);

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
