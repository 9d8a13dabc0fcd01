/* libFuzzer target: arbitrary bytes as the input of one HTTP connection,
 * through http-parser and all of the gateway's glue (see src/net/testing.c). */
#include <stddef.h>
#include <stdint.h>

#include "net/testing.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    return mp_net__fuzz_http(data, size);
}
