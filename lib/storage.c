/*
 * storage.c - one load's storages by key: pt_torch_storage_add and
 * pt_torch_storage (torch.h).
 *
 * torch.save numbers its storages "0", "1", ... in the order the pickle
 * first names them, so while every key is its own index in decimal the
 * table is the storages array itself, and a persistent id costs no hash
 * and no probe. The first other key (a legacy file's addresses, a
 * hand-made archive) builds an open-addressing table of the keys' seeded
 * hashes, which holds every storage from then on.
 */
#include "torch.h"

#include <stdint.h>
#include <string.h>

#include "hash.h"

/* The slot of key (hash h): its storage's, or the empty one where it would go. */
static struct pt_hash_slot *slot_find(const struct pt_torch *t, const char *key, uint32_t h)
{
	size_t mask = t->nslots - 1, i;

	for (i = h & mask; t->slots[i].idx1; i = (i + 1) & mask)
		if (t->slots[i].hash == h && strcmp(t->storages[t->slots[i].idx1 - 1]->key, key) == 0)
			break;
	return &t->slots[i];
}

/* Seeded: the keys come from the file, and colliding ones would make adding n storages O(n^2). */
static uint32_t key_hash(const struct pt_torch *t, const char *key)
{
	return (uint32_t)pt_hash_seeded(key, strlen(key), t->seed);
}

/* Puts slot in the first free place of its probe sequence in sl (mask + 1 slots). */
static void slot_place(struct pt_hash_slot *sl, size_t mask, struct pt_hash_slot slot)
{
	size_t j;

	for (j = slot.hash & mask; sl[j].idx1; j = (j + 1) & mask)
		;
	sl[j] = slot;
}

/*
 * Makes a slot array of nslots for storages[0 .. nstorages): the first one
 * hashes their keys, a bigger one re-places the old slots by the hashes
 * they keep. -1 and err on failure.
 */
static int slots_make(struct pt_torch *t, size_t nslots, struct pt_error *err)
{
	struct pt_hash_slot *sl = pt_arena_alloc(t->arena, nslots * sizeof(*sl), err);
	struct pt_hash_slot *old = t->slots;
	size_t i;

	if (!sl)
		return -1;
	if (!old) { /* the arena zeroed sl */
		t->seed = pt_hash_seed(t);
		for (i = 0; i < t->nstorages; i++)
			slot_place(sl, nslots - 1,
				   (struct pt_hash_slot){ key_hash(t, t->storages[i]->key), (uint32_t)i + 1 });
	} else {
		for (i = 0; i < t->nslots; i++)
			if (old[i].idx1)
				slot_place(sl, nslots - 1, old[i]);
	}
	t->slots = sl;
	t->nslots = nslots;
	return 0;
}

/* key as a decimal with no sign and no leading zero, below 2^32; else -1. */
static int64_t key_index(const char *key)
{
	int64_t k = 0;
	size_t i;

	for (i = 0; key[i] >= '0' && key[i] <= '9' && i < 10; i++)
		k = k * 10 + (key[i] - '0');
	if (i == 0 || key[i] || (key[0] == '0' && i > 1) || k >= (int64_t)UINT32_MAX)
		return -1;
	return k;
}

/*
 * The storage called key, or NULL. While the table is not hashed, *k gets
 * key_index(key) for storage_add; -1 when it is.
 */
static struct pt_storage *storage_find(const struct pt_torch *t, const char *key, int64_t *k)
{
	struct pt_hash_slot *slot;

	*k = -1;
	if (!t->slots) {
		*k = key_index(key);
		return *k >= 0 && (uint64_t)*k < t->nstorages ? t->storages[*k] : NULL;
	}
	slot = slot_find(t, key, key_hash(t, key));
	return slot->idx1 ? t->storages[slot->idx1 - 1] : NULL;
}

/*
 * Appends s, whose key is not in the table, growing the table as needed;
 * k is storage_find's key_index of the key.
 */
static int storage_add(struct pt_torch *t, struct pt_storage *s, int64_t k, struct pt_error *err)
{
	if (t->nstorages >= UINT32_MAX - 1)
		return pt_error_set(err, PT_ERR_LIMIT, "more than %u storages", UINT32_MAX - 2);
	if (t->nstorages == t->cap) {
		size_t cap = t->cap ? t->cap * 2 : 16;
		struct pt_storage **n = pt_arena_alloc(t->arena, cap * sizeof(*n), err);

		if (!n)
			return -1;
		if (t->nstorages)
			memcpy(n, t->storages, t->nstorages * sizeof(*n));
		t->storages = n;
		t->cap = cap;
		if (t->slots && slots_make(t, 2 * cap, err) < 0)
			return -1;
	}
	if (!t->slots && k != (int64_t)t->nstorages &&
	    slots_make(t, 2 * t->cap, err) < 0)
		return -1;
	s->index = (unsigned)t->nstorages;
	t->storages[t->nstorages++] = s;
	if (t->slots)
		slot_place(t->slots, t->nslots - 1,
			   (struct pt_hash_slot){ key_hash(t, s->key), (uint32_t)t->nstorages });
	return 0;
}

struct pt_storage *pt_torch_storage(const struct pt_torch *t, const char *key)
{
	int64_t k;

	return storage_find(t, key, &k);
}

struct pt_storage *pt_torch_storage_add(struct pt_torch *t, const char *key, enum pt_dtype dt,
					uint64_t numel, const char *location, struct pt_error *err)
{
	struct pt_storage *s;
	int64_t k;

	if (numel > UINT64_MAX / pt_dtype_size(dt))
		return pt_error_set(err, PT_ERR_FORMAT,
				    "storage '%s': %llu elements of %s overflow a 64-bit size",
				    key, (unsigned long long)numel, pt_dtype_name(dt)),
		       NULL;
	s = storage_find(t, key, &k);
	if (s) {
		if (s->dtype != dt || s->numel != numel)
			return pt_error_set(err, PT_ERR_FORMAT,
					    "storage '%s' is declared as %llu x %s and as %llu x %s",
					    s->key, (unsigned long long)s->numel, pt_dtype_name(s->dtype),
					    (unsigned long long)numel, pt_dtype_name(dt)),
			       NULL;
		return s;
	}
	s = pt_arena_alloc(t->arena, sizeof(*s), err);
	if (!s)
		return NULL;
	s->key = pt_arena_strndup(t->arena, key, strlen(key), err);
	/* one copy of "cpu" for the run of storages that share it */
	if (t->nstorages && strcmp(t->storages[t->nstorages - 1]->saved_location, location) == 0)
		s->saved_location = t->storages[t->nstorages - 1]->saved_location;
	else
		s->saved_location = pt_arena_strndup(t->arena, location, strlen(location), err);
	if (!s->key || !s->saved_location)
		return NULL;
	s->dtype = dt;
	s->numel = numel;
	s->nbytes = numel * pt_dtype_size(dt);
	if (storage_add(t, s, k, err) < 0)
		return NULL;
	return s;
}
