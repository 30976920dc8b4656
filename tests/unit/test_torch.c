/*
 * test_torch.c - the torch layer's storage table (torch.c): one storage per
 * key, found again by any later persistent id, across the table's growth,
 * with a second declaration checked against the first.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "torch.h"

#define N 5000

static void test_storage_table(void)
{
	struct pt_arena a;
	struct pt_torch t;
	struct pt_error err;
	struct pt_storage *s[N], *x;
	char key[32];
	size_t i;
	int found = 0, same = 0, indexed = 0;

	pt_arena_init(&a, 0);
	memset(&t, 0, sizeof(t));
	t.arena = &a;
	CHECK(pt_torch_storage(&t, "0") == NULL); /* an empty table */
	for (i = 0; i < N; i++) {
		/* torch.save's keys ("0", "1", ...) and a legacy file's addresses */
		snprintf(key, sizeof(key), i % 2 ? "%zu" : "1405691663%zu", i);
		s[i] = pt_torch_storage_add(&t, key, PT_DT_FLOAT32, i + 1, i % 3 ? "cpu" : "cuda:1", &err);
		if (!s[i]) {
			CHECK_STR(err.msg, "");
			return;
		}
	}
	CHECK_INT(t.nstorages, N);
	CHECK(t.nslots >= 2 * N); /* at most half full */
	for (i = 0; i < N; i++) {
		snprintf(key, sizeof(key), i % 2 ? "%zu" : "1405691663%zu", i);
		found += pt_torch_storage(&t, key) == s[i];
		same += pt_torch_storage_add(&t, key, PT_DT_FLOAT32, i + 1, "cpu", &err) == s[i];
		indexed += t.storages[i] == s[i] && s[i]->index == i && strcmp(s[i]->key, key) == 0;
	}
	CHECK_INT(found, N);
	CHECK_INT(same, N);
	CHECK_INT(indexed, N);
	CHECK_INT(t.nstorages, N); /* a second declaration adds nothing */
	CHECK_STR(s[3]->saved_location, "cuda:1"); /* the first declaration's tag stays */
	CHECK_STR(s[4]->saved_location, "cpu");
	CHECK_INT(s[4]->nbytes, 5 * 4);
	CHECK(pt_torch_storage(&t, "5000") == NULL);
	CHECK(pt_torch_storage(&t, "") == NULL);

	x = pt_torch_storage_add(&t, "7", PT_DT_FLOAT64, 8, "cpu", &err);
	CHECK(x == NULL);
	CHECK_INT(err.code, PT_ERR_FORMAT);
	CHECK_STR(err.msg, "storage '7' is declared as 8 x float32 and as 8 x float64");
	x = pt_torch_storage_add(&t, "7", PT_DT_FLOAT32, 9, "cpu", &err);
	CHECK(x == NULL);
	CHECK_STR(err.msg, "storage '7' is declared as 8 x float32 and as 9 x float32");
	CHECK_INT(t.nstorages, N);
	pt_arena_release(&a);
}

/* Adds storages "from" .. "to - 1" (keys in decimal, numel the number) as s[from .. to). */
static void add_numbered(struct pt_torch *t, struct pt_storage **s, size_t from, size_t to)
{
	struct pt_error err;
	char key[32];
	size_t i;

	for (i = from; i < to; i++) {
		snprintf(key, sizeof(key), "%zu", i);
		s[i] = pt_torch_storage_add(t, key, PT_DT_INT64, i, "cpu", &err);
	}
}

/*
 * Of s[0 .. n): how many pt_torch_storage finds by key (*found) and how
 * many a second declaration returns (*again).
 */
static void find_numbered(struct pt_torch *t, struct pt_storage **s, size_t n, int *found,
			  int *again)
{
	struct pt_error err;
	char key[32];
	size_t i;

	*found = *again = 0;
	for (i = 0; i < n; i++) {
		snprintf(key, sizeof(key), "%zu", i);
		*found += s[i] && pt_torch_storage(t, key) == s[i];
		*again += pt_torch_storage_add(t, key, PT_DT_INT64, i, "cpu", &err) == s[i];
	}
}

/*
 * torch.save's keys "0", "1", ... are found by their number until the
 * first other key; after it, every key by hash, those made before too.
 */
static void test_sequential_keys(void)
{
	static const char *const others[] = { "05", "00", "-1", "+1", " 1", "1 ", "4294967295",
					      "99999999999", "0x1", "" };
	struct pt_arena a;
	struct pt_torch t;
	struct pt_error err;
	struct pt_storage *s[300], *odd;
	size_t k;
	int found, again;

	pt_arena_init(&a, 0);
	memset(&t, 0, sizeof(t));
	t.arena = &a;
	add_numbered(&t, s, 0, 100);
	CHECK(t.slots == NULL); /* no hashing yet */
	find_numbered(&t, s, 100, &found, &again);
	CHECK_INT(found, 100);
	CHECK_INT(again, 100);
	for (k = 0; k < sizeof(others) / sizeof(others[0]); k++)
		CHECK(pt_torch_storage(&t, others[k]) == NULL);
	CHECK(pt_torch_storage(&t, "100") == NULL);
	CHECK_INT(t.nstorages, 100);

	odd = pt_torch_storage_add(&t, "05", PT_DT_INT64, 1, "cpu", &err); /* not "5" */
	CHECK(odd != NULL && odd != s[5]);
	CHECK(t.slots != NULL);
	add_numbered(&t, s, 100, 300);
	find_numbered(&t, s, 300, &found, &again);
	CHECK_INT(found, 300);
	CHECK_INT(again, 300);
	CHECK(pt_torch_storage(&t, "05") == odd);
	CHECK_INT(odd->index, 100);
	CHECK_INT(s[299]->index, 299 + 1);
	CHECK_INT(t.nstorages, 301);
	pt_arena_release(&a);

	/* a key that is a number, but not the next one, hashes from the start */
	pt_arena_init(&a, 0);
	memset(&t, 0, sizeof(t));
	t.arena = &a;
	s[0] = pt_torch_storage_add(&t, "1", PT_DT_UINT8, 4, "cpu", &err);
	CHECK(t.slots != NULL);
	CHECK(pt_torch_storage_add(&t, "1", PT_DT_UINT8, 4, "cpu", &err) == s[0]);
	CHECK(pt_torch_storage(&t, "0") == NULL);
	s[1] = pt_torch_storage_add(&t, "0", PT_DT_UINT8, 4, "cpu", &err);
	CHECK(s[1] != NULL && s[1] != s[0]);
	CHECK(pt_torch_storage(&t, "1") == s[0]);
	CHECK(pt_torch_storage(&t, "0") == s[1]);
	CHECK_INT(t.nstorages, 2);
	pt_arena_release(&a);
}

int main(void)
{
	test_storage_table();
	test_sequential_keys();
	return check_report("test_torch");
}
