/*
 * views.c - the daemon's cache of gathered view chunks.
 *
 * A tensor that cannot be spliced (a view, or any tensor of a big-endian
 * file) is read through one of PTFS_VIEW_SLOTS readers (view.h), each
 * holding one gathered chunk (7 MiB, behind a 1 MiB tail of the one before)
 * and a staging buffer: PT_VIEW_BUDGET (8 MiB) each, 16 MiB a slot, 64 MiB
 * for the four at most, however many files are open; a slot's buffers are
 * mapped on its first use, so one reader at a time costs 16 MiB. The kernel reads a file in 128
 * KiB-1 MiB requests, so a chunk serves many requests before the next is made.
 *
 * A request takes the slot that holds its bytes (its chunk, or the end of
 * the chunk before, which the kernel's readahead sometimes asks for late);
 * else the slot its tensor
 * just read past (a reader moving on to its next chunk, which then costs no
 * new memory); else one holding the last chunk of its tensor (a reader
 * that finished: `cat a b c` uses one slot); else the least recently used
 * free one. A slot is busy from
 * then until the reply is sent, and reads of a tensor with a busy slot wait
 * for it: concurrent requests of one file (the kernel's readahead) then
 * share a chunk rather than each gathering it. Slots are found under
 * fs->views_lock; a busy slot's reader is its owner's alone. More readers
 * of distinct views than slots take turns and may evict each other's
 * chunks: correct, slower.
 */
#include "ptfs.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "view.h"

/* A free slot for t's byte off, marked busy; waits while t has a busy one. */
static struct ptfs_view_slot *slot_take(struct ptfs *fs, const struct pt_tensor *t, uint64_t off)
{
	struct ptfs_view_slot *s, *pick;
	int i;

	pthread_mutex_lock(&fs->views_lock);
	for (;;) {
		bool wait = false;

		pick = NULL;
		for (i = 0; i < PTFS_VIEW_SLOTS; i++) {
			s = &fs->views[i];
			if (s->t != t)
				continue;
			if (s->busy)
				wait = true;
			else if (s->v && pt_view_holds(s->v, t, off))
				pick = s;
			else if (!pick && s->hi <= off && off - s->hi < PT_VIEW_BUDGET)
				pick = s;
		}
		if (wait) {
			pthread_cond_wait(&fs->views_free, &fs->views_lock);
			continue;
		}
		for (i = 0; !pick && i < PTFS_VIEW_SLOTS; i++) { /* a finished reader's */
			s = &fs->views[i];
			if (!s->busy && s->t && s->hi == s->t->nbytes)
				pick = s;
		}
		if (!pick) /* else the least recently used */
			for (i = 0; i < PTFS_VIEW_SLOTS; i++)
				if (!fs->views[i].busy && (!pick || fs->views[i].used < pick->used))
					pick = &fs->views[i];
		if (pick)
			break;
		pthread_cond_wait(&fs->views_free, &fs->views_lock);
	}
	pick->busy = true;
	pick->t = t;
	pick->used = ++fs->views_clock;
	pthread_mutex_unlock(&fs->views_lock);
	return pick;
}

static void slot_give(struct ptfs *fs, struct ptfs_view_slot *s, const struct pt_tensor *t,
		      bool held)
{
	pthread_mutex_lock(&fs->views_lock);
	s->busy = false;
	s->t = held ? t : NULL;
	if (held)
		pt_view_range(s->v, &s->lo, &s->hi);
	else
		s->lo = s->hi = 0;
	pthread_cond_broadcast(&fs->views_free);
	pthread_mutex_unlock(&fs->views_lock);
}

void ptfs_views_read(fuse_req_t req, struct ptfs *fs, struct pt_checkpoint *ck,
		     const struct pt_tensor *t, size_t size, uint64_t off)
{
	struct ptfs_view_slot *s = slot_take(fs, t, off);
	const unsigned char *p;
	unsigned char *buf = NULL;
	struct pt_error err;
	size_t len, done;

	pt_error_clear(&err);
	if (!s->v)
		s->v = pt_view_open(PT_VIEW_BUDGET);
	if (!s->v) {
		pt_error_set(&err, PT_ERR_NOMEM, "out of memory");
		goto out_fail;
	}
	p = pt_tensor_gather(ck, t, s->v, off, &len, &err);
	if (!p)
		goto out_fail;
	if (len >= size) { /* the usual case: replied from the chunk itself */
		fuse_reply_buf(req, (const char *)p, size);
		slot_give(fs, s, t, true);
		return;
	}
	buf = malloc(size); /* the request spans two chunks */
	if (!buf) {
		pt_error_set(&err, PT_ERR_NOMEM, "out of memory");
		goto out_fail;
	}
	for (done = 0;;) {
		if (len > size - done)
			len = size - done;
		memcpy(buf + done, p, len);
		done += len;
		if (done == size)
			break;
		p = pt_tensor_gather(ck, t, s->v, off + done, &len, &err);
		if (!p)
			goto out_fail;
	}
	fuse_reply_buf(req, (const char *)buf, size);
	free(buf);
	slot_give(fs, s, t, true);
	return;
out_fail:
	free(buf);
	slot_give(fs, s, t, false);
	fuse_reply_err(req, ptfs_errno(&err));
}

void ptfs_views_free(struct ptfs *fs)
{
	int i;

	for (i = 0; i < PTFS_VIEW_SLOTS; i++) {
		pt_view_close(fs->views[i].v);
		fs->views[i].v = NULL;
	}
}
