/*
 * follow.c - `-o follow`: reload when the checkpoint's path is rewritten or
 * replaced.
 *
 * A thread watches the checkpoint's folder with inotify, not the file: a
 * watch on the file would stay with the old inode after `mv new.pt
 * model.pt`. When the file's name is closed after writing (torch.save, cp),
 * renamed onto (mv, atomic savers) or created as a link, and what the path
 * holds differs from what is served, the thread reloads as the `reload`
 * command does. While a writer still has the file open, reads fail with
 * EIO (ops.c's stale check); a reload that fails (a broken file) keeps the
 * last good checkpoint, is shown in the control file and is tried again on
 * the next event; one refused because a save runs is retried every 200 ms.
 * An eventfd wakes the thread at unmount.
 */
#define _GNU_SOURCE
#include "ptfs.h"
#include "shards.h"

#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <unistd.h>

#define FOLLOW_EVENTS (IN_CLOSE_WRITE | IN_MOVED_TO | IN_CREATE)

struct watcher {
	struct ptfs *fs;
	int ino_fd;
	char name[NAME_MAX + 1]; /* the checkpoint's name in its folder */
};

/* Whether the path now holds another file, or other bytes, than the one served. */
static bool path_changed(struct ptfs *fs)
{
	const struct pt_source *src = ptfs_ck(fs)->src;
	struct stat st;

	if (pt_shards_owns(src))
		return false; /* a sharded set is not followed (docs/safetensors.md) */
	if (stat(fs->abspath, &st) != 0 || !S_ISREG(st.st_mode) || st.st_size == 0)
		return false; /* nothing to serve instead (yet) */
	return !pt_source_is(src, &st);
}

/* One reload attempt; true when it is done or not needed, false to retry (a save runs). */
static bool try_reload(struct ptfs *fs)
{
	struct pt_error err;
	bool done = true;
	int e;

	pthread_mutex_lock(&fs->lock);
	if (path_changed(fs)) {
		pt_error_clear(&err);
		e = ptfs_reload(fs, &err);
		if (e == EBUSY) {
			done = false;
		} else if (e) {
			free(fs->follow_error);
			fs->follow_error = strdup(err.msg);
		} else {
			fs->reloads++;
			free(fs->follow_error);
			fs->follow_error = NULL;
		}
	}
	pthread_mutex_unlock(&fs->lock);
	return done;
}

static void *watch_main(void *arg)
{
	struct watcher *w = arg;
	struct pollfd p[2] = { { .fd = w->ino_fd, .events = POLLIN },
			       { .fd = w->fs->follow_wake, .events = POLLIN } };
	char buf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));
	bool pending = false;

	for (;;) {
		int r = poll(p, 2, pending ? 200 : -1);

		if (r < 0 && errno != EINTR)
			break;
		if (r > 0 && p[1].revents)
			break;
		if (r > 0 && (p[0].revents & POLLIN)) {
			ssize_t n = read(w->ino_fd, buf, sizeof(buf));
			const struct inotify_event *ev;

			for (char *q = buf; n > 0 && q < buf + n; q += sizeof(*ev) + ev->len) {
				ev = (const struct inotify_event *)q;
				if ((ev->mask & FOLLOW_EVENTS) && ev->len && strcmp(ev->name, w->name) == 0)
					pending = true;
			}
		}
		if (pending)
			pending = !try_reload(w->fs);
	}
	close(w->ino_fd);
	free(w);
	return NULL;
}

int ptfs_follow_start(struct ptfs *fs)
{
	struct watcher *w = calloc(1, sizeof(*w));
	char dir[PATH_MAX];
	const char *slash = strrchr(fs->abspath, '/');

	fs->follow_wake = -1;
	if (!w || strlen(slash + 1) > NAME_MAX || (size_t)(slash - fs->abspath) >= sizeof(dir)) {
		free(w);
		fprintf(stderr, "ptfs: -o follow: %s: cannot watch this path\n", fs->path);
		return -1;
	}
	w->fs = fs;
	strcpy(w->name, slash + 1);
	memcpy(dir, fs->abspath, (size_t)(slash - fs->abspath));
	dir[slash == fs->abspath ? 1 : slash - fs->abspath] = '\0';
	w->ino_fd = inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
	fs->follow_wake = eventfd(0, EFD_CLOEXEC);
	if (w->ino_fd < 0 || fs->follow_wake < 0 ||
	    inotify_add_watch(w->ino_fd, dir, FOLLOW_EVENTS | IN_ONLYDIR) < 0) {
		fprintf(stderr, "ptfs: -o follow: %s: %s\n", dir, strerror(errno));
		goto fail;
	}
	if (pthread_create(&fs->follow_thread, NULL, watch_main, w) != 0) {
		fprintf(stderr, "ptfs: -o follow: cannot start the watcher thread\n");
		goto fail;
	}
	fs->follow_running = true;
	return 0;

fail:
	if (w->ino_fd >= 0)
		close(w->ino_fd);
	if (fs->follow_wake >= 0)
		close(fs->follow_wake);
	fs->follow_wake = -1;
	free(w);
	return -1;
}

void ptfs_follow_stop(struct ptfs *fs)
{
	uint64_t one = 1;

	if (!fs->follow_running)
		return;
	if (write(fs->follow_wake, &one, sizeof(one)) != sizeof(one))
		perror("ptfs: -o follow: eventfd");
	pthread_join(fs->follow_thread, NULL);
	close(fs->follow_wake);
	fs->follow_wake = -1;
	fs->follow_running = false;
}
