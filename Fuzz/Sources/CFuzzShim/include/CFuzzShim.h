#ifndef SVCCONF_FUZZ_SHIM_H
#define SVCCONF_FUZZ_SHIM_H
#include <stddef.h>
#include <stdint.h>
/* libFuzzer's driver entry (in libclang_rt.fuzzer, linked by -sanitize=fuzzer). */
int LLVMFuzzerRunDriver(int *argc, char ***argv, int (*cb)(const uint8_t *data, size_t size));
#endif
