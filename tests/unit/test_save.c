/*
 * test_save.c - where pt_checkpoint_save writes: the target rules of
 * save.h. What is not a regular file is refused with its errno and left as
 * it was; a chain of symbolic links is followed to the file it ends at,
 * which is replaced while the links stay. The bytes of a save are checked
 * by test_retag.c and by the bats suites against torch.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "check.h"
#include "save.h"

static char dir[64];

static int save_to(struct pt_checkpoint *ck, const char *name, struct pt_error *err)
{
	const char *locs[64];
	char path[PATH_MAX];
	size_t i;

	for (i = 0; i < ck->torch.nstorages && i < 64; i++)
		locs[i] = "cpu";
	snprintf(path, sizeof(path), "%s%s%s", name[0] == '/' ? "" : dir, name[0] == '/' ? "" : "/", name);
	pt_error_clear(err);
	return pt_checkpoint_save(ck, path, locs, NULL, NULL, err);
}

/* A refused save: -1, the errno and the message's start, and nothing new in dir. */
static void refused(struct pt_checkpoint *ck, const char *name, int sys_errno, const char *msg)
{
	struct pt_error err;

	CHECK_INT(save_to(ck, name, &err), -1);
	CHECK_INT(err.sys_errno, sys_errno);
	CHECK(strncmp(err.msg, msg, strlen(msg)) == 0);
	if (strncmp(err.msg, msg, strlen(msg)) != 0)
		fprintf(stderr, "  got: %s\n  want: %s...\n", err.msg, msg);
}

static bool is_checkpoint(const char *name)
{
	char path[PATH_MAX];
	struct pt_error err;
	struct pt_checkpoint *ck;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	ck = pt_checkpoint_open(path, NULL, &err);
	pt_checkpoint_close(ck);
	return ck != NULL;
}

static void test_targets(const char *fixtures)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	char src[PATH_MAX], p[PATH_MAX], lnk[PATH_MAX], want[PATH_MAX + 128];
	struct pt_checkpoint *ck;
	struct pt_error err;
	struct stat st;
	int s;

	snprintf(p, sizeof(p), "%s/17_demo.pt", fixtures);
	CHECK(realpath(p, src) != NULL); /* the link made to it below is absolute */
	ck = pt_checkpoint_open(src, NULL, &err);
	CHECK(ck != NULL);
	if (!ck)
		return;
	snprintf(p, sizeof(p), "%s/fifo", dir);
	CHECK_INT(mkfifo(p, 0600), 0);
	snprintf(want, sizeof(want), "save: %s is a FIFO; a save replaces only a regular file", p);
	refused(ck, "fifo", EEXIST, want);
	CHECK(stat(p, &st) == 0 && S_ISFIFO(st.st_mode));
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/sock", dir);
	s = socket(AF_UNIX, SOCK_STREAM, 0);
	CHECK_INT(bind(s, (struct sockaddr *)&sa, sizeof(sa)), 0);
	close(s);
	refused(ck, "sock", EEXIST, "save: ");
	CHECK(stat(sa.sun_path, &st) == 0 && S_ISSOCK(st.st_mode));
	snprintf(p, sizeof(p), "%s/sub", dir);
	CHECK_INT(mkdir(p, 0700), 0);
	snprintf(want, sizeof(want), "save: %s is a folder; a save replaces only a regular file: Is a directory", p);
	refused(ck, "sub", EISDIR, want);
	refused(ck, "/dev/null", EEXIST,
		"save: /dev/null is a character device; a save replaces only a regular file: File exists");
	CHECK(stat("/dev/null", &st) == 0 && S_ISCHR(st.st_mode));
	/* links: to a device (refused, naming both), in a loop, then a chain that ends in a file */
	snprintf(p, sizeof(p), "%s/null", dir);
	CHECK_INT(symlink("/dev/null", p), 0);
	snprintf(want, sizeof(want), "save: %s links to /dev/null, a character device", p);
	refused(ck, "null", EEXIST, want);
	snprintf(p, sizeof(p), "%s/loop", dir);
	CHECK_INT(symlink("loop", p), 0);
	refused(ck, "loop", ELOOP, "save: ");
	snprintf(p, sizeof(p), "%s/sub/real.pt", dir);
	snprintf(want, sizeof(want), "%s/a.pt", dir);
	CHECK_INT(symlink("sub/real.pt", want), 0); /* relative: to a.pt's folder */
	snprintf(lnk, sizeof(lnk), "%s/b.pt", dir);
	CHECK_INT(symlink(want, lnk), 0);
	CHECK_INT(save_to(ck, "b.pt", &err), 0); /* the chain ends nowhere yet: created */
	if (err.code)
		fprintf(stderr, "  b.pt: %s\n", err.msg);
	CHECK(lstat(p, &st) == 0 && S_ISREG(st.st_mode));
	CHECK(lstat(want, &st) == 0 && S_ISLNK(st.st_mode));
	CHECK(is_checkpoint("sub/real.pt"));
	CHECK_INT(save_to(ck, "a.pt", &err), 0); /* and replaced */
	CHECK(is_checkpoint("a.pt") && is_checkpoint("sub/real.pt"));
	/* a link to the mounted checkpoint is the checkpoint */
	snprintf(p, sizeof(p), "%s/src.pt", dir);
	CHECK_INT(symlink(src, p), 0);
	snprintf(want, sizeof(want), "save: %s is the mounted checkpoint", p);
	refused(ck, "src.pt", 0, want);
	pt_checkpoint_close(ck);
	for (const char *const *n = (const char *const[]){ "fifo", "sock", "null", "loop", "a.pt",
							   "b.pt", "src.pt", "sub/real.pt", NULL };
	     *n; n++) {
		snprintf(p, sizeof(p), "%s/%s", dir, *n);
		CHECK_INT(unlink(p), 0);
	}
	snprintf(p, sizeof(p), "%s/sub", dir);
	CHECK_INT(rmdir(p), 0); /* empty: no temporary file was left anywhere */
}

int main(int argc, char **argv)
{
	const char *fixtures = argc > 2 ? argv[2] : NULL;

	snprintf(dir, sizeof(dir), "/tmp/ptfs-test-save-XXXXXX");
	CHECK(mkdtemp(dir) != NULL);
	if (fixtures)
		test_targets(fixtures);
	else
		fprintf(stderr, "test_save: no fixtures folder, skipped\n");
	CHECK_INT(rmdir(dir), 0);
	return check_report("test_save");
}
