/*
 * progress.h - the one record of how far long work has come, and its text.
 *
 * Long work (a save, a convert, a scan of many files) updates a struct
 * pt_progress as it goes; whoever shows it (the CLI's line on a terminal,
 * the control file's `save: running` line) reads it from another thread and
 * renders it with the same formatter, so every long command reads alike:
 * "123.4 MiB / 1.0 GiB (12%) 850.0 MiB/s, 1 s left". The fields are read
 * and written with atomic loads and stores only, never under a lock, so the
 * worker never waits for a reader.
 */
#ifndef PT_PROGRESS_H
#define PT_PROGRESS_H

#include <stddef.h>
#include <stdint.h>

struct pt_progress {
	uint64_t done, total; /* bytes */
	uint64_t start_ns;    /* CLOCK_MONOTONIC when the work began */
};

/* The CLOCK_MONOTONIC time in nanoseconds. */
uint64_t pt_progress_now_ns(void);

/* Begins: done 0 of total, started now. p may be NULL (then nothing). */
void pt_progress_start(struct pt_progress *p, uint64_t total);

/* Sets done (a reader clamps it to total). p may be NULL. */
void pt_progress_set(struct pt_progress *p, uint64_t done);

/* Adds n to done. p may be NULL. */
void pt_progress_add(struct pt_progress *p, uint64_t n);

/*
 * A byte count for people into out: "512 B", "1.5 KiB", "123.4 MiB",
 * "1.0 GiB" (binary units, one decimal). Pure; no failure.
 */
void pt_progress_bytes(uint64_t n, char out[24]);

/*
 * The rate and time left of done/total after elapsed_ns into buf (cap
 * bytes, always NUL-terminated): "850.0 MiB/s, 1 s left", "850.0 MiB/s"
 * once done reaches total, or "" when too little time has passed (under
 * 50 ms) or nothing was done to tell a rate. Pure; no failure.
 */
void pt_progress_rate_text(uint64_t done, uint64_t total, uint64_t elapsed_ns, char *buf,
			   size_t cap);

/*
 * The whole line without a newline into buf (cap bytes, always
 * NUL-terminated): "123.4 MiB / 1.0 GiB (12%)" and, when known, " " and
 * the rate text. done is clamped to total; a total of 0 reads 100%. Pure.
 */
void pt_progress_text(uint64_t done, uint64_t total, uint64_t elapsed_ns, char *buf, size_t cap);

/* pt_progress_text of p as it stands at now_ns (loaded atomically). */
void pt_progress_format(const struct pt_progress *p, uint64_t now_ns, char *buf, size_t cap);

/* The rate text of p as it stands at now_ns (loaded atomically). */
void pt_progress_format_rate(const struct pt_progress *p, uint64_t now_ns, char *buf, size_t cap);

#endif
