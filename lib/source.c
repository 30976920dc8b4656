/*
 * source.c - the local-file source. It keeps one descriptor open for the
 * mount's whole life: a checkpoint deleted or renamed over on disk stays
 * readable through it, and pread() needs no lock between threads.
 */
#define _GNU_SOURCE
#include "source.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static ssize_t file_pread(struct pt_source *s, void *buf, size_t n, uint64_t off)
{
	return pread(s->fd, buf, n, (off_t)off);
}

static void file_close(struct pt_source *s)
{
	if (s->fd >= 0)
		close(s->fd);
	free(s->name);
	free(s);
}

static const struct pt_source_ops file_ops = {
	.pread = file_pread,
	.close = file_close,
};

static int64_t stat_mtime_ns(const struct stat *st)
{
	return (int64_t)st->st_mtim.tv_sec * 1000000000 + st->st_mtim.tv_nsec;
}

struct pt_source *pt_source_open_file(const char *path, struct pt_error *err)
{
	struct pt_source *s;
	struct stat st;
	int saverr;

	s = calloc(1, sizeof(*s));
	if (!s)
		goto out_nomem;
	s->name = strdup(path);
	if (!s->name) {
		free(s);
		goto out_nomem;
	}
	s->ops = &file_ops;
	s->fd = open(path, O_RDONLY | O_CLOEXEC);
	if (s->fd < 0) {
		saverr = errno;
		pt_error_sys(err, saverr, "%s", path);
		goto out_free_name;
	}
	if (fstat(s->fd, &st) < 0) {
		saverr = errno;
		pt_error_sys(err, saverr, "%s", path);
		goto out_close;
	}
	if (!S_ISREG(st.st_mode)) {
		pt_error_set(err, PT_ERR_FORMAT, "%s: not a regular file", path);
		goto out_close;
	}
	s->size = (uint64_t)st.st_size;
	s->dev = st.st_dev;
	s->ino = st.st_ino;
	s->mtime_ns = stat_mtime_ns(&st);
	return s;

out_close:
	close(s->fd);
out_free_name:
	free(s->name);
	free(s);
	return NULL;
out_nomem:
	pt_error_set(err, PT_ERR_NOMEM, "out of memory");
	return NULL;
}

int pt_source_read(struct pt_source *s, void *buf, size_t n, uint64_t off,
		   const char *what, struct pt_error *err)
{
	size_t done = 0;

	if (off > s->size || n > s->size - off)
		return pt_error_set(err, PT_ERR_FORMAT,
				    "%s: unexpected end of file (%zu bytes at offset %llu, file has %llu)",
				    what, n, (unsigned long long)off,
				    (unsigned long long)s->size);
	while (done < n) {
		ssize_t r = s->ops->pread(s, (char *)buf + done, n - done, off + done);

		if (r < 0) {
			if (errno == EINTR)
				continue;
			return pt_error_sys(err, errno, "%s: read", what);
		}
		if (r == 0)
			return pt_error_set(err, PT_ERR_IO, "%s: unexpected end of file", what);
		done += (size_t)r;
	}
	return 0;
}

bool pt_source_is(const struct pt_source *s, const struct stat *st)
{
	return st->st_dev == s->dev && st->st_ino == s->ino && (uint64_t)st->st_size == s->size &&
	       stat_mtime_ns(st) == s->mtime_ns;
}

int pt_source_check(struct pt_source *s, struct pt_error *err)
{
	struct stat st;

	if (s->fd < 0)
		return 0;
	if (fstat(s->fd, &st) < 0)
		return pt_error_sys(err, errno, "%s", s->name);
	if (!pt_source_is(s, &st))
		return pt_error_set(err, PT_ERR_STALE,
				    "%s: the checkpoint changed on disk since it was mounted",
				    s->name);
	return 0;
}

void pt_source_close(struct pt_source *s)
{
	if (s)
		s->ops->close(s);
}
