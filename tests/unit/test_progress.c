/*
 * test_progress.c - the progress formatter (lib/progress.h): byte counts,
 * percent, rate and time left, as the CLI's line and the control file show
 * them; and the record's start/add/set.
 */
#include <pthread.h>

#include "check.h"
#include "progress.h"

#define MS 1000000ull
#define S 1000000000ull
#define MIB (1024ull * 1024)

static void test_bytes(void)
{
	char b[24];

	pt_progress_bytes(0, b);
	CHECK_STR(b, "0 B");
	pt_progress_bytes(1023, b);
	CHECK_STR(b, "1023 B");
	pt_progress_bytes(1024, b);
	CHECK_STR(b, "1.0 KiB");
	pt_progress_bytes(1536, b);
	CHECK_STR(b, "1.5 KiB");
	pt_progress_bytes(MIB - 1, b); /* 1023.999 KiB rounds to the next unit, never "1024.0 KiB" */
	CHECK_STR(b, "1.0 MiB");
	pt_progress_bytes(123 * MIB + 400 * 1024, b);
	CHECK_STR(b, "123.4 MiB");
	pt_progress_bytes(1024 * MIB, b);
	CHECK_STR(b, "1.0 GiB");
	pt_progress_bytes(5ull << 40, b);
	CHECK_STR(b, "5.0 TiB");
	pt_progress_bytes(UINT64_MAX, b);
	CHECK_STR(b, "16.0 EiB");
}

static void test_text(void)
{
	char b[120];

	/* the example of the design card: 12%, 850 MiB/s, about a second left */
	pt_progress_text(123 * MIB + 400 * 1024, 1024 * MIB, 145 * MS, b, sizeof(b));
	CHECK_STR(b, "123.4 MiB / 1.0 GiB (12%) 851.0 MiB/s, 2 s left");
	pt_progress_text(512 * MIB, 1024 * MIB, 1 * S, b, sizeof(b));
	CHECK_STR(b, "512.0 MiB / 1.0 GiB (50%) 512.0 MiB/s, 1 s left");
	/* too early for a rate: bytes and percent only */
	pt_progress_text(10, 100, 10 * MS, b, sizeof(b));
	CHECK_STR(b, "10 B / 100 B (10%)");
	/* nothing done yet: no rate, however long it has been */
	pt_progress_text(0, 1024, 5 * S, b, sizeof(b));
	CHECK_STR(b, "0 B / 1.0 KiB (0%)");
	/* done: the rate, nothing left */
	pt_progress_text(2 * MIB, 2 * MIB, 1 * S, b, sizeof(b));
	CHECK_STR(b, "2.0 MiB / 2.0 MiB (100%) 2.0 MiB/s");
	/* one byte short is 99%, not 100% */
	pt_progress_text(999999, 1000000, 0, b, sizeof(b));
	CHECK_STR(b, "976.6 KiB / 976.6 KiB (99%)");
	/* done past total (a reader racing the last store) reads as total */
	pt_progress_text(300, 200, 0, b, sizeof(b));
	CHECK_STR(b, "200 B / 200 B (100%)");
	/* sizes near 2^64 neither overflow nor reach 100% early */
	pt_progress_text(UINT64_MAX / 2, UINT64_MAX, 0, b, sizeof(b));
	CHECK_STR(b, "8.0 EiB / 16.0 EiB (50%)");
	pt_progress_text(UINT64_MAX - 1, UINT64_MAX, 0, b, sizeof(b));
	CHECK_STR(b, "16.0 EiB / 16.0 EiB (99%)");
	pt_progress_text(UINT64_MAX, UINT64_MAX, 0, b, sizeof(b));
	CHECK_STR(b, "16.0 EiB / 16.0 EiB (100%)");
	/* nothing to do is done */
	pt_progress_text(0, 0, 0, b, sizeof(b));
	CHECK_STR(b, "0 B / 0 B (100%)");
	/* minutes and hours left */
	pt_progress_text(1 * MIB, 200 * MIB, 1 * S, b, sizeof(b));
	CHECK_STR(b, "1.0 MiB / 200.0 MiB (0%) 1.0 MiB/s, 3 min 19 s left");
	pt_progress_text(1 * MIB, 10000 * MIB, 1 * S, b, sizeof(b));
	CHECK_STR(b, "1.0 MiB / 9.8 GiB (0%) 1.0 MiB/s, 2 h 46 min left");
	/* a small buffer is cut, never overrun, and stays a string */
	pt_progress_text(1 * MIB, 10000 * MIB, 1 * S, b, 8);
	CHECK_STR(b, "1.0 MiB");
}

static void test_rate(void)
{
	char b[80];

	pt_progress_rate_text(512 * MIB, 1024 * MIB, 1 * S, b, sizeof(b));
	CHECK_STR(b, "512.0 MiB/s, 1 s left");
	pt_progress_rate_text(1, 2, 1 * MS, b, sizeof(b));
	CHECK_STR(b, "");
	pt_progress_rate_text(100, 100, 1 * S, b, sizeof(b));
	CHECK_STR(b, "100 B/s");
}

struct adder {
	struct pt_progress *p;
};

static void *add_many(void *arg)
{
	struct adder *a = arg;

	for (int i = 0; i < 100000; i++)
		pt_progress_add(a->p, 3);
	return NULL;
}

static void test_record(void)
{
	struct pt_progress p = { 0 };
	struct adder a = { &p };
	pthread_t t[4];
	char b[120];
	uint64_t t0;

	pt_progress_start(NULL, 1); /* a NULL record is allowed everywhere */
	pt_progress_add(NULL, 1);
	pt_progress_set(NULL, 1);
	t0 = pt_progress_now_ns();
	pt_progress_start(&p, 4 * 300000);
	CHECK(p.start_ns >= t0 && p.start_ns <= pt_progress_now_ns());
	CHECK_INT(p.done, 0);
	CHECK_INT(p.total, 1200000);
	for (int i = 0; i < 4; i++)
		pthread_create(&t[i], NULL, add_many, &a);
	for (int i = 0; i < 4; i++)
		pthread_join(t[i], NULL);
	CHECK_INT(p.done, 1200000); /* adds from several threads are not lost */
	pt_progress_set(&p, 600000);
	pt_progress_format(&p, p.start_ns + 1 * S, b, sizeof(b));
	CHECK_STR(b, "585.9 KiB / 1.1 MiB (50%) 585.9 KiB/s, 1 s left");
	pt_progress_format_rate(&p, p.start_ns + 1 * S, b, sizeof(b));
	CHECK_STR(b, "585.9 KiB/s, 1 s left");
	/* a clock read before the start counts as no time */
	pt_progress_format(&p, p.start_ns - 1, b, sizeof(b));
	CHECK_STR(b, "585.9 KiB / 1.1 MiB (50%)");
}

int main(void)
{
	test_bytes();
	test_text();
	test_rate();
	test_record();
	return check_report("test_progress");
}
