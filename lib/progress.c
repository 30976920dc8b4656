/*
 * progress.c - progress records and their one text form (progress.h).
 *
 * Binary units throughout, for the sizes and the rate alike, so that the
 * two numbers of a line can be compared at a glance. The time left is the
 * bytes left at the average rate since the start: a save's rate is steady
 * enough (one sequential copy) that a smoother estimate buys nothing, and
 * this one never jumps when a reader samples it at odd moments.
 */
#include "progress.h"

#include <stdio.h>
#include <time.h>

uint64_t pt_progress_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

void pt_progress_start(struct pt_progress *p, uint64_t total)
{
	if (!p)
		return;
	__atomic_store_n(&p->done, 0, __ATOMIC_RELAXED);
	__atomic_store_n(&p->total, total, __ATOMIC_RELAXED);
	__atomic_store_n(&p->start_ns, pt_progress_now_ns(), __ATOMIC_RELEASE);
}

void pt_progress_set(struct pt_progress *p, uint64_t done)
{
	if (p)
		__atomic_store_n(&p->done, done, __ATOMIC_RELAXED);
}

void pt_progress_add(struct pt_progress *p, uint64_t n)
{
	if (p)
		__atomic_fetch_add(&p->done, n, __ATOMIC_RELAXED);
}

void pt_progress_bytes(uint64_t n, char out[24])
{
	static const char *const units[] = { "KiB", "MiB", "GiB", "TiB", "PiB", "EiB" };
	double v = (double)n;
	int u = -1;

	if (n < 1024) {
		snprintf(out, 24, "%llu B", (unsigned long long)n);
		return;
	}
	/* 1023.96 KiB would print as "1024.0 KiB": such a value moves up a unit */
	do {
		v /= 1024;
		u++;
	} while (v >= 1023.95 && u < 5);
	snprintf(out, 24, "%.1f %s", v, units[u]);
}

/* Seconds (rounded up) as "42 s", "3 min 5 s", "2 h 7 min". */
static void duration(uint64_t s, char *buf, size_t cap)
{
	if (s < 60)
		snprintf(buf, cap, "%llu s", (unsigned long long)s);
	else if (s < 3600)
		snprintf(buf, cap, "%llu min %llu s", (unsigned long long)(s / 60),
			 (unsigned long long)(s % 60));
	else
		snprintf(buf, cap, "%llu h %llu min", (unsigned long long)(s / 3600),
			 (unsigned long long)(s % 3600 / 60));
}

void pt_progress_rate_text(uint64_t done, uint64_t total, uint64_t elapsed_ns, char *buf,
			   size_t cap)
{
	char rate[24], left[40];
	double bps;

	if (cap)
		buf[0] = '\0';
	if (done > total)
		done = total;
	if (elapsed_ns < 50000000u || done == 0)
		return;
	bps = (double)done * 1e9 / (double)elapsed_ns;
	pt_progress_bytes((uint64_t)bps, rate);
	if (done == total) {
		snprintf(buf, cap, "%s/s", rate);
		return;
	}
	duration((uint64_t)((double)(total - done) / bps + 0.999), left, sizeof(left));
	snprintf(buf, cap, "%s/s, %s left", rate, left);
}

void pt_progress_text(uint64_t done, uint64_t total, uint64_t elapsed_ns, char *buf, size_t cap)
{
	char d[24], t[24], rate[80];
	int pct;

	if (done > total)
		done = total;
	/* integers, rounded down: 99.99% must not read 100% before the end */
	if (!total)
		pct = 100;
	else if (done <= UINT64_MAX / 100)
		pct = (int)(done * 100 / total);
	else if (done == total)
		pct = 100;
	else /* total is as large: total / 100 loses under a part in 10^15 */
		pct = done / (total / 100) > 99 ? 99 : (int)(done / (total / 100));
	pt_progress_bytes(done, d);
	pt_progress_bytes(total, t);
	pt_progress_rate_text(done, total, elapsed_ns, rate, sizeof(rate));
	snprintf(buf, cap, "%s / %s (%d%%)%s%s", d, t, pct, rate[0] ? " " : "", rate);
}

/* The elapsed time of p at now_ns, 0 before it started. */
static uint64_t elapsed(const struct pt_progress *p, uint64_t now_ns)
{
	uint64_t s = __atomic_load_n(&p->start_ns, __ATOMIC_ACQUIRE);

	return s && now_ns > s ? now_ns - s : 0;
}

void pt_progress_format(const struct pt_progress *p, uint64_t now_ns, char *buf, size_t cap)
{
	pt_progress_text(__atomic_load_n(&p->done, __ATOMIC_RELAXED),
			 __atomic_load_n(&p->total, __ATOMIC_RELAXED), elapsed(p, now_ns), buf, cap);
}

void pt_progress_format_rate(const struct pt_progress *p, uint64_t now_ns, char *buf, size_t cap)
{
	pt_progress_rate_text(__atomic_load_n(&p->done, __ATOMIC_RELAXED),
			      __atomic_load_n(&p->total, __ATOMIC_RELAXED), elapsed(p, now_ns), buf,
			      cap);
}
