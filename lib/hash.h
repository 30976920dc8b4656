/*
 * hash.h - the one string hash of the library: 64-bit FNV-1a.
 *
 * Short keys (tree names, zip member names) dominate, and FNV-1a is a
 * byte loop with no setup, which beats the block hashes there; the tables
 * that use it are sized by power of two, so the low bits must mix, and
 * FNV-1a's final multiply does that.
 */
#ifndef PT_HASH_H
#define PT_HASH_H

#include <stddef.h>
#include <stdint.h>

#define PT_HASH_FNV1A_INIT 0xcbf29ce484222325ULL

/* 64-bit FNV-1a of n bytes, continuing from h (PT_HASH_FNV1A_INIT to start). */
static inline uint64_t pt_hash_fnv1a(const void *p, size_t n, uint64_t h)
{
	const unsigned char *c = p;

	while (n--) {
		h ^= *c++;
		h *= 0x100000001b3ULL;
	}
	return h;
}

/*
 * The hash of tables a hostile file fills (zip member names, tree names):
 * FNV-1a started from a per-table seed, then murmur3's 64-bit finalizer so
 * that every input bit reaches the low bits a power-of-two table indexes
 * with. Callers seed it from the table's own address (ASLR): names that
 * collide cannot be precomputed into a file, as for the pickle's dict index.
 */
/* murmur3's 64-bit finalizer: every input bit reaches every output bit. */
static inline uint64_t pt_hash_mix64(uint64_t h)
{
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdULL;
	h ^= h >> 33;
	h *= 0xc4ceb9fe1a85ec53ULL;
	h ^= h >> 33;
	return h;
}

static inline uint64_t pt_hash_seeded(const void *p, size_t n, uint64_t seed)
{
	return pt_hash_mix64(pt_hash_fnv1a(p, n, PT_HASH_FNV1A_INIT ^ seed));
}

/*
 * A slot of an open-addressing table over an array (zip member names,
 * storage keys): the item's hash, kept so that a probe compares items only
 * when the hashes match and growing the table hashes nothing again, and
 * the item's index + 1 (0: an empty slot).
 */
struct pt_hash_slot {
	uint32_t hash;
	uint32_t idx1;
};

/* A seed from an address: the table's own, which ASLR varies per run. */
static inline uint64_t pt_hash_seed(const void *addr)
{
	return (uint64_t)(uintptr_t)addr * 0x9e3779b97f4a7c15ULL;
}

#endif
