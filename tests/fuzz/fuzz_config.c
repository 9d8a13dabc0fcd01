/* libFuzzer target for the configuration file: the input is written to an
 * in-memory file and loaded exactly as `magpie serve --config FILE` would,
 * through inih and every key's value parser. Any input must either load or be
 * refused with a message; nothing may crash or leak. */
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "config/config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int fd = memfd_create("magpie-config", 0);
    if (fd < 0)
        return 0;
    if (write(fd, data, size) != (ssize_t)size) {
        close(fd);
        return 0;
    }
    char path[64], err[1024] = "";
    snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
    char *argv[] = {"magpie", NULL};
    mp_config_t cfg;
    mp_config_defaults(&cfg);
    if (mp_config_load(&cfg, path, 1, argv, err, sizeof err) != 0 && err[0] == '\0')
        __builtin_trap(); /* a refusal must say why */
    close(fd);
    return 0;
}
