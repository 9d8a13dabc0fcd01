/* libFuzzer target for media processing, the parser of untrusted media: the
 * input is written to a file and given to mp_media_process with small limits
 * (1 MP, 2 s, 64 MiB). Seeds (tiny images, sounds and videos) are made by
 * scripts/fuzz-media-seeds.sh when `make fuzz` runs, never committed.
 * Properties: the result is OK or BAD (never an I/O error: our temp dir is
 * fine); OK has meta that is a JSON object and only the outputs it lists;
 * BAD says why and leaves no output behind; the class matches the type;
 * nothing of ours leaks. */
#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "media/media.h"
#include "util/alloc.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const mp_media_limits_t lim = {1000000, 2000, 64u << 20};
static char dir[] = "/tmp/magpie-fuzz-media-XXXXXX";
static char in[128], prefix[128];

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc, (void)argv;
    char err[256];
    if (mkdtemp(dir) == NULL || mp_media_init(&lim, err, sizeof err) != 0)
        abort();
    snprintf(in, sizeof in, "%s/in", dir);
    snprintf(prefix, sizeof prefix, "%s/out", dir);
    return 0;
}

static bool exists(const char *suffix)
{
    char p[160];
    snprintf(p, sizeof p, "%s%s", prefix, suffix);
    return access(p, F_OK) == 0;
}

static void remove_outputs(void)
{
    const char *sfx[] = {".serve", ".thumb", ".s256", ".s64"};
    for (int i = 0; i < 4; i++) {
        char p[160];
        snprintf(p, sizeof p, "%s%s", prefix, sfx[i]);
        unlink(p);
    }
}

static void check_ok(const mp_media_result_t *r)
{
    json_t *m = r->meta ? json_loads(r->meta, 0, NULL) : NULL;
    if (!json_is_object(m))
        abort();
    json_decref(m);
    if ((r->serve_path[0] != '\0') != exists(".serve") || r->nrend > MP_MEDIA_RENDITIONS)
        abort();
    for (size_t i = 0; i < r->nrend; i++)
        if (access(r->rend[i].path, F_OK) != 0)
            abort();
    if (r->cls == MP_MEDIA_FILE && (r->nrend != 0 || strcmp(r->meta, "{}") != 0))
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    FILE *f = fopen(in, "wb");
    if (f == NULL || fwrite(data, 1, size, f) != size || fclose(f) != 0)
        abort();
    size_t before = mp_alloc_used();
    mp_media_result_t r;
    mp_media_rc_t rc = mp_media_process(in, prefix, &lim, &r);
    if (rc == MP_MEDIA_OK)
        check_ok(&r);
    else if (rc != MP_MEDIA_BAD || r.error[0] == '\0' || r.meta != NULL || exists(".serve") ||
             exists(".thumb") || exists(".s256") || exists(".s64"))
        abort();
    if (rc == MP_MEDIA_BAD && r.cls == MP_MEDIA_FILE)
        abort(); /* only media can be refused */
    mp_media_result_free(&r);
    remove_outputs();
    if (mp_alloc_used() != before)
        abort();
    return 0;
}
