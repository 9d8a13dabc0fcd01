/* libFuzzer target: arbitrary bytes as the first input of a TLS connection,
 * before its handshake is complete (ClientHellos, garbage, plain HTTP). */
#include <stddef.h>
#include <stdint.h>

#include "net/testing.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    return mp_net__fuzz_tls(data, size);
}
