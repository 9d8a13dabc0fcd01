/* libFuzzer target: arbitrary bytes as WebSocket input after an upgrade
 * (authenticated by header when the first byte is odd). */
#include <stddef.h>
#include <stdint.h>

#include "net/testing.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    return mp_net__fuzz_ws(data, size);
}
