/*
 * fuzz_legacy.c - the legacy (torch < 1.6) container reader: a magic
 * number, a protocol pickle, sys_info, the main pickle, the storage key
 * list, then raw storages found by walking 8-byte counts. The 8-byte
 * legacy magic the sniffer looks for is put in front of every input that
 * lacks it, so no run is wasted on the sniffer.
 */
#include "fuzz_container.h"

#include <stdlib.h>

static const uint8_t legacy_magic[8] = { 0x80, 0x02, 0x8a, 0x0a, 0x6c, 0xfc, 0x9c, 0x46 };

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t *buf;

	if (size >= sizeof(legacy_magic) && memcmp(data, legacy_magic, sizeof(legacy_magic)) == 0) {
		fuzz_container(data, size);
		return 0;
	}
	buf = malloc(size + sizeof(legacy_magic));
	if (!buf)
		return 0;
	memcpy(buf, legacy_magic, sizeof(legacy_magic));
	if (size)
		memcpy(buf + sizeof(legacy_magic), data, size);
	fuzz_container(buf, size + sizeof(legacy_magic));
	free(buf);
	return 0;
}
