/*
 * fuzz_zip.c - the zip container reader (torch >= 1.6 and TorchScript) on
 * arbitrary files: end of central directory and zip64 records, the
 * directory, the member names, the small records read at open, the local
 * headers read when a storage is first located. Inputs that do not start
 * with "PK" still go through the sniffer, which must refuse them cleanly.
 */
#include "fuzz_container.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fuzz_container(data, size);
	return 0;
}
