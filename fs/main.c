/*
 * main.c - `ptfs [options] CHECKPOINT MOUNTPOINT`.
 *
 * The checkpoint is opened and fully parsed before anything is mounted, so
 * a bad file is refused with one line on stderr and no dead mount is left.
 * Then the usual libfuse sequence: session, signal handlers (SIGINT/SIGTERM
 * unmount cleanly), mount, and the multi-threaded loop unless -s.
 *
 * Unless -f, the process forks before the open, not after the mount as
 * fuse_daemonize() would: the parent only waits on a pipe for the child's
 * exit status (0 once mounted) and exits with it, while the child opens,
 * mounts, then detaches. Forking the small process costs little; forking
 * after the open copied the page tables of its tens of megabytes, tore
 * them down again in the parent's exit, and left every page the daemon
 * later wrote to fault once as copy-on-write (a fork and hand-off took
 * 1.2-1.9 ms with 40 MB touched, 0.3-0.7 ms with 2 MB, on the bench VM).
 *
 * Exit status: 0 after a clean unmount, 1 when the checkpoint cannot be
 * opened or the mount fails, 2 for a usage error.
 */
#include "cli.h"
#include "ptfs.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <malloc.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct cli {
	int strict;
	int follow;
	char *encoding;
	char *checkpoint;
	char *mountpoint; /* as given; libfuse parses its own copy */
	int nonopts;
	char *gpu_copy; /* -o gpu_copy=staged|registered */
	char **maps; /* -o map_location=..., in order */
	size_t nmaps;
};

enum { KEY_MAP = 1 };

static const struct fuse_opt cli_opts[] = {
	{ "encoding=%s", offsetof(struct cli, encoding), 0 },
	{ "strict", offsetof(struct cli, strict), 1 },
	{ "follow", offsetof(struct cli, follow), 1 },
	{ "gpu_copy=%s", offsetof(struct cli, gpu_copy), 0 },
	FUSE_OPT_KEY("map_location=", KEY_MAP),
	FUSE_OPT_END
};

/*
 * Options that mount(8), mount.fuse3 or an fstab line may pass and that
 * mean nothing to ptfs or that libfuse 3.14 does not know: dropped, so
 * that `mount -t fuse.ptfs` and fstab work (docs/ptfs.1, "MOUNT(8) AND
 * FSTAB"). ro, rw, dev, suid, exec, atime, sync, async, dirsync and
 * their no- forms go on to libfuse, which hands them to the kernel.
 */
static bool mount_ignored(const char *o)
{
	static const char *const words[] = {
		"defaults", "auto", "noauto", "user", "nouser", "users", "owner", "group",
		"nofail", "_netdev", "relatime", "norelatime", "strictatime", "nostrictatime",
		"lazytime", "nolazytime", "diratime", "nodiratime", "mand", "nomand",
		"iversion", "noiversion", "silent", "loud", "symfollow", "nosymfollow", NULL
	};

	for (int i = 0; words[i]; i++)
		if (strcmp(o, words[i]) == 0)
			return true;
	return strncmp(o, "x-", 2) == 0 || strncmp(o, "X-", 2) == 0 ||
	       strncmp(o, "comment=", 8) == 0;
}

static int cli_proc(void *data, const char *arg, int key, struct fuse_args *outargs)
{
	struct cli *c = data;

	(void)outargs;
	if (key == FUSE_OPT_KEY_OPT && mount_ignored(arg))
		return 0;
	if (key == KEY_MAP) {
		char **n = realloc(c->maps, (c->nmaps + 1) * sizeof(*n));

		if (!n)
			return -1;
		c->maps = n;
		c->maps[c->nmaps] = strdup(arg + strlen("map_location="));
		return c->maps[c->nmaps++] ? 0 : -1;
	}
	if (key != FUSE_OPT_KEY_NONOPT)
		return 1;
	if (c->nonopts++ == 0) {
		c->checkpoint = strdup(arg);
		return 0; /* ours; the next one is the mountpoint, for libfuse */
	}
	if (c->nonopts != 2)
		return -1;
	c->mountpoint = strdup(arg);
	return c->mountpoint ? 1 : -1;
}

static void usage(FILE *f, const char *prog)
{
	fprintf(f,
		"usage: %s [options] CHECKPOINT MOUNTPOINT\n"
		"       %s ls|cat|info|scan|convert|export|diff ... (see %s COMMAND --help)\n"
		"\n"
		"Mounts a PyTorch checkpoint (torch.save zip or legacy format) read-only:\n"
		"its object tree as directories, each tensor as a file of raw bytes, with\n"
		"user.pt.* extended attributes. No pickle code is ever executed.\n"
		"Unmount with: fusermount3 -u MOUNTPOINT\n"
		"\n"
		"ptfs options:\n"
		"    -o encoding=NAME       decode Python 2 str as NAME: utf-8 (default),\n"
		"                           ascii, latin1 or bytes (like torch.load's encoding=)\n"
		"    -o map_location=RULE   a map_location rule at mount time, as written to\n"
		"                           .ptfs/control: cpu, cuda:1=cuda:0;cuda:2=cpu, /glob=cpu\n"
		"                           (pairs separated by ';' or spaces; may be repeated)\n"
		"    -o strict              refuse a checkpoint whose pickles name anything\n"
		"                           torch's weights_only loader would not allow\n"
		"    -o follow              reload by itself when CHECKPOINT is rewritten or\n"
		"                           replaced (torch.save, cp, mv onto it)\n"
		"    -o gpu_copy=HOW        how materialize copies to a GPU: staged (pinned\n"
		"                           buffers, the default) or registered (the file\n"
		"                           mapped and registered with the driver)\n"
		"    --scan FILE...         print what each file's pickles would import and\n"
		"                           call, without mounting; exit 0 clean, 1 unknown\n"
		"                           globals, 2 dangerous ones, 3 unreadable (damaged,\n"
		"                           or not a pickle or checkpoint)\n"
		"    -h, --help             print this help\n"
		"    -V, --version          print the version\n"
		"\n"
		"Commands (no mount; docs/cli.md; exit 0 ok, 1 failed, 2 usage error):\n"
		"    ls [-R] CHECKPOINT [PATH]  list the tree: KIND TYPE SHAPE LOCATION SIZE NAME\n"
		"    cat CHECKPOINT PATH        write an entry's bytes to stdout\n"
		"    info CHECKPOINT            format, torch era, tensors by dtype and location,\n"
		"                               globals verdict\n"
		"    scan FILE...               the same as --scan\n"
		"    convert [-o map_location=RULE]... SRC DST\n"
		"                               write SRC with its storages retagged, atomically\n"
		"    export [-o map_location=RULE]... [--shard-size SIZE] SRC DST\n"
		"                               write SRC's tensors as safetensors (docs/export.md)\n"
		"    diff [-q] [--rtol R] [--atol A] [--equal-nan] A B\n"
		"                               compare two checkpoints: keys, metadata, values;\n"
		"                               exit 0 equal, 1 different, 2 trouble (docs/diff.md)\n"
		"A checkpoint named like a command mounts as ./NAME.\n"
		"\n"
		"FUSE options:\n"
		"    -f                     stay in the foreground\n"
		"    -d, -o debug           print every FUSE request (implies -f)\n"
		"    -s                     serve requests on one thread\n"
		"    -o clone_fd            a FUSE device descriptor per thread\n"
		"    -o max_threads=N       at most N worker threads (default 16)\n"
		"    -o max_idle_threads=N  at most N idle worker threads\n",
		prog, prog, prog);
}

/* -h, --help, -V or --version anywhere: then no mount point is checked. */
static bool asks_help(int argc, char **argv)
{
	for (int i = 1; i < argc; i++)
		if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help") || !strcmp(argv[i], "-V") ||
		    !strcmp(argv[i], "--version"))
			return true;
	return false;
}

/*
 * The mount point's own mount, from /proc/self/mountinfo: 1 and its
 * filesystem type in fstype when dir (absolute, no trailing slash) is the
 * root of a mount, 0 when it is not, -1 when the table cannot be read.
 * Fields are octal-escaped there (a space is \040).
 */
static int mount_at(const char *dir, char *fstype, size_t cap)
{
	FILE *f = fopen("/proc/self/mountinfo", "re");
	char *line = NULL, mp[PATH_MAX], ty[256];
	size_t lcap = 0;
	int found = 0;

	if (!f)
		return -1;
	while (getline(&line, &lcap, f) > 0) {
		char *sep = strstr(line, " - "), *o;
		const char *in;

		/* ID PARENT MAJ:MIN ROOT MOUNTPOINT ... - FSTYPE SOURCE OPTIONS */
		if (!sep || sscanf(line, "%*s %*s %*s %*s %4095s", mp) != 1 ||
		    sscanf(sep + 3, "%255s", ty) != 1)
			continue;
		for (in = mp, o = mp; *in; o++) {
			if (in[0] == '\\' && in[1] >= '0' && in[1] <= '3' && in[2] >= '0' &&
			    in[2] <= '7' && in[3] >= '0' && in[3] <= '7') {
				*o = (char)((in[1] - '0') * 64 + (in[2] - '0') * 8 + (in[3] - '0'));
				in += 4;
			} else {
				*o = *in++;
			}
		}
		*o = '\0';
		if (strcmp(mp, dir) == 0) {
			found = 1; /* the last one listed is the one on top */
			snprintf(fstype, cap, "%s", ty);
		}
	}
	free(line);
	fclose(f);
	return found;
}

/*
 * Refuses, with one line in ptfs's own style, a mount point that is
 * missing, not a directory, a dead FUSE mount, or already a ptfs mount
 * (libfuse would stack a second mount on it or mount over a file).
 * Returns 0 when mp can be mounted on, 1 otherwise.
 */
static int check_mountpoint(const char *mp)
{
	char real[PATH_MAX], fstype[256];
	struct stat st;

	if (stat(mp, &st) != 0) {
		if (errno == ENOTCONN)
			fprintf(stderr,
				"ptfs: %s: a dead FUSE mount (its daemon is gone); unmount it first: fusermount3 -u %s\n",
				mp, mp);
		else
			fprintf(stderr, "ptfs: %s: %s\n", mp, strerror(errno));
		return 1;
	}
	if (!S_ISDIR(st.st_mode)) {
		fprintf(stderr, "ptfs: %s: not a directory (a mount point must be one)\n", mp);
		return 1;
	}
	if (!realpath(mp, real)) {
		fprintf(stderr, "ptfs: %s: %s\n", mp, strerror(errno));
		return 1;
	}
	if (mount_at(real, fstype, sizeof(fstype)) == 1 && strcmp(fstype, "fuse.ptfs") == 0) {
		fprintf(stderr, "ptfs: %s: already a ptfs mount; unmount it first: fusermount3 -u %s\n",
			mp, mp);
		return 1;
	}
	return 0;
}

/* -o strict: refuse (exit 1) unless every global is on torch's allowlist. */
static int refuse_strict(struct ptfs *fs)
{
	const char *line, *end;

	if (ptfs_globals(fs) != 0) {
		fprintf(stderr, "ptfs: %s: cannot make the globals report\n", fs->path);
		return 1;
	}
	end = fs->globals + fs->globals_len;
	if (strstr(fs->globals, "verdict: allowed\n"))
		return 0;
	fprintf(stderr, "ptfs: %s: refused by -o strict:", fs->path);
	for (line = fs->globals; line < end; line = strchr(line, '\n') + 1) {
		const char *v = strchr(line, ' ');

		if (v && (strncmp(v, " unknown ", 9) == 0 || strncmp(v, " dangerous ", 11) == 0)) {
			fprintf(stderr, " %.*s", (int)(strchr(line, '\n') - line), line);
			break; /* the first is enough for one line */
		}
		if (strncmp(line, "note: ", 6) == 0) {
			fprintf(stderr, " %.*s", (int)(strchr(line, '\n') - line - 6), line + 6);
			break;
		}
	}
	fprintf(stderr, " (ptfs --scan lists all)\n");
	return 1;
}

/*
 * Forks. The parent waits for the child's status byte (daemon_report) and
 * exits with it; the child returns the pipe's write end, or -1 when no
 * fork was possible (then one process goes on, as with -f).
 */
static int daemon_fork(void)
{
	int waiter[2];
	unsigned char status;
	ssize_t n;

	if (pipe(waiter) != 0) {
		perror("ptfs: pipe");
		return -1;
	}
	switch (fork()) {
	case -1:
		perror("ptfs: fork");
		close(waiter[0]);
		close(waiter[1]);
		return -1;
	case 0:
		close(waiter[0]);
		return waiter[1];
	default:
		close(waiter[1]);
		do
			n = read(waiter[0], &status, 1);
		while (n < 0 && errno == EINTR);
		if (n == 1)
			_exit(status);
		fprintf(stderr, "ptfs: the daemon exited before mounting\n");
		_exit(1);
	}
}

/* Tells the waiting parent status; once mounted (0) also detaches first. */
static void daemon_report(int fd, int status)
{
	unsigned char b = (unsigned char)status;
	int nullfd;

	if (status == 0) {
		if (setsid() == -1)
			perror("ptfs: setsid");
		nullfd = open("/dev/null", O_RDWR);
		if (nullfd >= 0) {
			dup2(nullfd, 0);
			dup2(nullfd, 1);
			dup2(nullfd, 2);
			if (nullfd > 2)
				close(nullfd);
		}
	}
	if (write(fd, &b, 1) != 1) {
		/* the parent is gone; nobody is left to tell */
	}
	close(fd);
}

int main(int argc, char *argv[])
{
	struct fuse_args args = FUSE_ARGS_INIT(argc, argv);
	struct fuse_cmdline_opts opts;
	struct pt_open_opts oo;
	struct cli cli = { 0 };
	struct ptfs fs = { 0 };
	struct fuse_session *se;
	struct fuse_loop_config *cfg;
	struct pt_error err;
	struct stat st;
	int ret = 1;
	int waiter = -1; /* the child's pipe to its waiting parent, until it reports */

	/*
	 * libzip converts every entry's DOS time with mktime(); with TZ unset
	 * glibc stats /etc/localtime on each call (20,000 stats for 20,000
	 * tensors). Naming the same zone explicitly lets glibc cache it.
	 */
	setenv("TZ", ":/etc/localtime", 0);
	int sub = ptfs_cli_main(argc, argv); /* ls, cat, info, scan, convert: their status */

	if (sub >= 0)
		return sub;
	if (argc >= 2 && strcmp(argv[1], "--scan") == 0)
		return ptfs_scan_main(argc - 2, argv + 2);
	if (argc >= 2 && strcmp(argv[1], "diff") == 0)
		return ptfs_diff_main(argc - 2, argv + 2);
	if (fuse_opt_parse(&args, &cli, cli_opts, cli_proc) != 0) {
		fprintf(stderr, "ptfs: too many arguments\n");
		usage(stderr, argv[0]);
		ret = 2;
		goto out_args;
	}
	/* before libfuse's own check, which speaks another style ("fuse: bad mount point") */
	if (cli.mountpoint && !asks_help(argc, argv) && check_mountpoint(cli.mountpoint)) {
		ret = 1;
		goto out_args;
	}
	if (fuse_parse_cmdline(&args, &opts) != 0) {
		ret = 2;
		goto out_args;
	}
	if (opts.show_help) {
		usage(stdout, argv[0]);
		fuse_lowlevel_help();
		ret = 0;
		goto out_opts;
	}
	if (opts.show_version) {
		printf("ptfs %s\n", PTFS_VERSION);
		printf("libfuse %s\n", fuse_pkgversion());
		fflush(stdout); /* the next line comes from a fusermount3 child */
		fuse_lowlevel_version();
		ret = 0;
		goto out_opts;
	}
	if (!cli.checkpoint || !opts.mountpoint) {
		fprintf(stderr, "ptfs: %s\n", !cli.checkpoint ? "missing CHECKPOINT" : "missing MOUNTPOINT");
		usage(stderr, argv[0]);
		ret = 2;
		goto out_opts;
	}
	if (!opts.foreground)
		waiter = daemon_fork();
	pt_open_opts_default(&oo);
	pt_error_clear(&err);
	if (cli.encoding && pt_str_encoding_parse(cli.encoding, &oo.encoding, &err) < 0) {
		fprintf(stderr, "ptfs: -o encoding=%s: %s\n", cli.encoding, err.msg);
		ret = 2;
		goto out_opts;
	}
	if (cli.gpu_copy && strcmp(cli.gpu_copy, "staged") != 0 &&
	    strcmp(cli.gpu_copy, "registered") != 0) {
		fprintf(stderr, "ptfs: -o gpu_copy=%s: not staged or registered\n", cli.gpu_copy);
		ret = 2;
		goto out_opts;
	}
	fs.gpu_path = cli.gpu_copy && cli.gpu_copy[0] == 'r' ? PT_GPU_REGISTERED : PT_GPU_STAGED;
	fs.path = cli.checkpoint;
	fs.open_opts = oo;
	fs.ck = pt_checkpoint_open(cli.checkpoint, &oo, &err);
	if (!fs.ck) {
		fprintf(stderr, "ptfs: %s\n", err.msg);
		goto out_opts;
	}
	/*
	 * The open's scratch (the pickle's values, two thirds of it) was freed
	 * in 64 KiB blocks below the tree's: glibc keeps such holes unless
	 * asked to give them back.
	 */
	malloc_trim(0);
	fs.abspath = realpath(cli.checkpoint, NULL);
	if (!fs.abspath) {
		fprintf(stderr, "ptfs: %s: %s\n", cli.checkpoint, strerror(errno));
		goto out_ck;
	}
	pthread_mutex_init(&fs.lock, NULL);
	pthread_cond_init(&fs.saved, NULL);
	pthread_mutex_init(&fs.views_lock, NULL);
	pthread_cond_init(&fs.views_free, NULL);
	fs.rules = pt_rules_new(fs.ck, &err);
	if (!fs.rules || ptfs_add_specials(&fs, fs.ck, &err) < 0) {
		fprintf(stderr, "ptfs: %s\n", err.msg);
		goto out_ck;
	}
	if (cli.strict && refuse_strict(&fs) != 0)
		goto out_ck;
	for (size_t i = 0; i < cli.nmaps; i++) {
		if (pt_rules_add_option(fs.rules, cli.maps[i], &err) < 0) {
			const char *m = strncmp(err.msg, "line 1: ", 8) == 0 ? err.msg + 8 : err.msg;

			fprintf(stderr, "ptfs: -o map_location=%s: %s\n", cli.maps[i], m);
			ret = 2;
			goto out_ck;
		}
	}
	fs.uid = getuid();
	fs.gid = getgid();
	fs.timeout = 86400.0;
	fs.debug = opts.debug;
	if (fstat(fs.ck->src->fd, &st) == 0) {
		fs.mtime = st.st_mtim;
	} else { /* a sharded set has no one descriptor: its index's (folder's) time */
		fs.mtime.tv_sec = (time_t)(fs.ck->src->mtime_ns / 1000000000);
		fs.mtime.tv_nsec = (long)(fs.ck->src->mtime_ns % 1000000000);
	}

	/* no default_permissions: ops.c answers EROFS and checks who may change what */
	fuse_opt_add_arg(&args, "-osubtype=ptfs");
	se = fuse_session_new(&args, &ptfs_ops, sizeof(ptfs_ops), &fs);
	if (!se)
		goto out_ck;
	fs.se = se;
	if (fuse_set_signal_handlers(se) != 0)
		goto out_session;
	if (fuse_session_mount(se, opts.mountpoint) != 0)
		goto out_signals;
	fs.follow = cli.follow;
	if (fs.follow && ptfs_follow_start(&fs) != 0)
		goto out_unmount;
	if (chdir("/") != 0)
		perror("ptfs: chdir /");
	if (waiter >= 0) {
		daemon_report(waiter, 0);
		waiter = -1;
	}
	if (opts.singlethread) {
		ret = fuse_session_loop(se);
	} else {
		cfg = fuse_loop_cfg_create();
		if (!cfg) {
			ret = 1;
			goto out_unmount;
		}
		fuse_loop_cfg_set_clone_fd(cfg, opts.clone_fd);
		/* unset options read as UINT_MAX in libfuse 3.14 */
		fuse_loop_cfg_set_max_threads(cfg, opts.max_threads && opts.max_threads <= 100000
							   ? opts.max_threads : 16);
		if (opts.max_idle_threads != UINT_MAX)
			fuse_loop_cfg_set_idle_threads(cfg, opts.max_idle_threads);
		ret = fuse_session_loop_mt(se, cfg);
		fuse_loop_cfg_destroy(cfg);
	}
	/* a signal ends the loop with its number (libfuse 3.12+): a clean exit */
	ret = ret < 0 ? 1 : 0;
out_unmount:
	ptfs_follow_stop(&fs); /* before a reload could race the teardown */
	ptfs_control_finish(&fs); /* a save still copying ends first */
	fuse_session_unmount(se);
out_signals:
	fuse_remove_signal_handlers(se);
out_session:
	fuse_session_destroy(se);
out_ck:
	fs.se = NULL;
	ptfs_control_free_all(&fs);
	ptfs_gpu_close(&fs); /* unmount frees every device allocation */
	ptfs_free_retired(&fs);
	ptfs_views_free(&fs);
	free(fs.abspath);
	pt_rules_free(fs.rules);
	free(fs.last_error);
	free(fs.save_path);
	free(fs.save_result);
	free(fs.follow_error);
	free(fs.manifest);
	pt_checkpoint_close(fs.ck);
out_opts:
	free(opts.mountpoint);
out_args:
	free(fs.globals);
	free(cli.checkpoint);
	free(cli.mountpoint);
	free(cli.encoding);
	free(cli.gpu_copy);
	for (size_t i = 0; i < cli.nmaps; i++)
		free(cli.maps[i]);
	free(cli.maps);
	fuse_opt_free_args(&args);
	if (waiter >= 0)
		daemon_report(waiter, ret);
	return ret;
}
