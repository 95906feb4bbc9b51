/*
 * fuzz.h - what the libFuzzer targets share: a promise the code under test
 * breaks aborts, and libFuzzer reports that as a crash with its input.
 */
#ifndef LEERNET_FUZZ_H
#define LEERNET_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static inline void
must(int cond)
{
	if (!cond)
		abort();
}

#endif
