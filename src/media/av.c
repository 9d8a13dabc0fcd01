/* Sound and video with FFmpeg's libraries: libavformat reads the container,
 * libavcodec decodes, libswscale turns a video frame into RGB.
 *
 * Sound: every sample is decoded once to measure the duration (the
 * container's claim is not used: browser recordings often carry none) and
 * the waveform. Video: the container's duration (or the last timestamp when
 * it has none), and the first decodable frame as the poster, from which
 * image.c makes the renditions.
 *
 * The demuxer is the one for the type libmagic found (no probing of other
 * formats), only the file protocol is allowed (a playlist cannot make us read
 * other files or the network), I/O stops at the deadline through
 * AVIOInterruptCB, decoders refuse frames above max_pixels, and the samples
 * decoded are capped. */
#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/display.h>
#include <libswscale/swscale.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "media/media_int.h"
#include "util/alloc.h"

#define WAVE_BLOCKS 4096       /* peaks kept while decoding, whatever the length */
#define MAX_SECONDS (6 * 3600) /* of sound decoded: longer is refused */
#define POSTER_PACKETS 1000    /* read without a frame: the poster is given up */
#define TIMEOUT_MSG "processing took longer than media_timeout"

void mp_media__av_init(void)
{
    /* libav's messages would go to stderr, once per bad packet of a hostile
     * file; failures are reported through our return codes instead. */
    av_log_set_level(AV_LOG_QUIET);
}

static int interrupt_cb(void *opaque)
{
    return mp_media__expired(opaque);
}

static const char *demuxer_for(const char *mime)
{
    static const char *const map[][2] = {
        {"audio/ogg", "ogg"},
        {"audio/opus", "ogg"},
        {"audio/webm", "matroska"},
        {"video/webm", "matroska"},
        {"video/x-matroska", "matroska"},
        {"audio/x-matroska", "matroska"},
        {"audio/mpeg", "mp3"},
        {"audio/flac", "flac"},
        {"audio/x-flac", "flac"},
        {"audio/x-wav", "wav"},
        {"audio/wav", "wav"},
        {"audio/vnd.wave", "wav"},
        {"audio/aac", "aac"},
        {"audio/x-hx-aac-adts", "aac"},
    };
    for (size_t i = 0; i < sizeof map / sizeof map[0]; i++)
        if (strcmp(mime, map[i][0]) == 0)
            return map[i][1];
    return "mov"; /* video/mp4, video/quicktime, audio/mp4, audio/x-m4a */
}

static mp_media_rc_t av_bad(mp_media_job_t *job, int err, const char *what)
{
    if (err == AVERROR_EXIT || mp_media__expired(job))
        return mp_media__bad(job, TIMEOUT_MSG);
    return mp_media__bad(job, "%s", what);
}

static mp_media_rc_t open_input(mp_media_job_t *job, AVFormatContext **out)
{
    const AVInputFormat *ifmt = av_find_input_format(demuxer_for(job->out->mime));
    AVFormatContext *fmt = avformat_alloc_context();
    if (fmt == NULL || ifmt == NULL) {
        avformat_free_context(fmt);
        return mp_media__bad(job, "no reader for %s", job->out->mime);
    }
    fmt->interrupt_callback = (AVIOInterruptCB){interrupt_cb, job};
    AVDictionary *opts = NULL;
    av_dict_set(&opts, "protocol_whitelist", "file", 0);
    char url[MP_MEDIA_PATH_MAX + 8];
    snprintf(url, sizeof url, "file:%s", job->path);     /* a ':' in a path is not a protocol */
    int e = avformat_open_input(&fmt, url, ifmt, &opts); /* frees fmt on failure */
    av_dict_free(&opts);
    if (e < 0)
        return av_bad(job, e, "the file cannot be read (truncated or corrupt)");
    e = avformat_find_stream_info(fmt, NULL);
    if (e < 0) {
        avformat_close_input(&fmt);
        return av_bad(job, e, "the file cannot be read (truncated or corrupt)");
    }
    *out = fmt;
    return MP_MEDIA_OK;
}

static AVCodecContext *open_decoder(const mp_media_job_t *job, const AVStream *st)
{
    const AVCodec *codec = avcodec_find_decoder(st->codecpar->codec_id);
    AVCodecContext *cc = codec ? avcodec_alloc_context3(codec) : NULL;
    if (cc == NULL)
        return NULL;
    /* One thread: parallelism comes from media_workers. Frames larger than
     * max_pixels are refused by the decoder before it allocates them, so a
     * lying header cannot make it allocate more. */
    cc->thread_count = 1;
    cc->max_pixels = job->lim->max_pixels;
    if (avcodec_parameters_to_context(cc, st->codecpar) < 0 || avcodec_open2(cc, codec, NULL) < 0)
        avcodec_free_context(&cc);
    return cc;
}

/* ---- the waveform ----------------------------------------------------- */

/* Peaks of consecutive blocks of samples. When the blocks are all used, pairs
 * merge and blocks double in length: fixed memory for any duration. */
typedef struct wave {
    float peak[WAVE_BLOCKS];
    size_t n;          /* finished blocks */
    uint64_t len;      /* samples per block */
    uint64_t in_block; /* samples in the current block */
    float cur;         /* peak of the current block */
    uint64_t samples;  /* decoded, per channel */
    double seconds;
} wave_t;

static void wave_push(wave_t *w, float v)
{
    if (v > w->cur)
        w->cur = v;
    if (++w->in_block < w->len)
        return;
    if (w->n == WAVE_BLOCKS) {
        for (size_t i = 0; i < WAVE_BLOCKS / 2; i++)
            w->peak[i] = fmaxf(w->peak[2 * i], w->peak[2 * i + 1]);
        w->n = WAVE_BLOCKS / 2;
        w->len *= 2;
    }
    w->peak[w->n++] = w->cur;
    w->cur = 0, w->in_block = 0;
}

/* |sample| as a fraction of full scale. */
static float sample_abs(const AVFrame *f, int ch, int i, int nch)
{
    bool planar = av_sample_fmt_is_planar(f->format);
    const uint8_t *p = f->extended_data[planar ? ch : 0];
    int k = planar ? i : i * nch + ch;
    switch (av_get_packed_sample_fmt(f->format)) {
    case AV_SAMPLE_FMT_U8:
        return fabsf(((float)p[k] - 128.0f) / 128.0f);
    case AV_SAMPLE_FMT_S16:
        return fabsf((float)((const int16_t *)p)[k] / 32768.0f);
    case AV_SAMPLE_FMT_S32:
        return fabsf((float)((const int32_t *)p)[k] / 2147483648.0f);
    case AV_SAMPLE_FMT_S64:
        return fabsf((float)((const int64_t *)p)[k] / 9223372036854775808.0f);
    case AV_SAMPLE_FMT_FLT:
        return fabsf(((const float *)p)[k]);
    case AV_SAMPLE_FMT_DBL:
        return (float)fabs(((const double *)p)[k]);
    default:
        return 0;
    }
}

static void wave_frame(wave_t *w, const AVFrame *f)
{
    int nch = f->ch_layout.nb_channels;
    for (int i = 0; i < f->nb_samples; i++) {
        float v = 0;
        for (int ch = 0; ch < nch; ch++)
            v = fmaxf(v, sample_abs(f, ch, i, nch));
        wave_push(w, fminf(v, 1.0f));
    }
    w->samples += (uint64_t)f->nb_samples;
    if (f->sample_rate > 0)
        w->seconds += (double)f->nb_samples / f->sample_rate;
}

/* 64 buckets 0..100: the peak of the blocks each covers. */
static void wave_buckets(wave_t *w, int out[MP_MEDIA_WAVEFORM])
{
    if (w->in_block > 0) /* the last, partial block */
        w->len = w->in_block, wave_push(w, 0);
    for (size_t b = 0; b < MP_MEDIA_WAVEFORM; b++) {
        size_t lo = b * w->n / MP_MEDIA_WAVEFORM, hi = (b + 1) * w->n / MP_MEDIA_WAVEFORM;
        float p = 0;
        for (size_t i = lo; i < hi || (i == lo && i < w->n); i++)
            p = fmaxf(p, w->peak[i]);
        out[b] = (int)lroundf(p * 100.0f);
    }
}

/* Takes every frame the decoder has ready. */
static mp_media_rc_t drain_audio(mp_media_job_t *job, AVCodecContext *cc, AVFrame *fr, wave_t *w)
{
    while (avcodec_receive_frame(cc, fr) == 0) {
        wave_frame(w, fr);
        av_frame_unref(fr);
        if (w->seconds > MAX_SECONDS)
            return mp_media__bad(job, "the sound is longer than %d hours", MAX_SECONDS / 3600);
    }
    return mp_media__expired(job) ? mp_media__bad(job, TIMEOUT_MSG) : MP_MEDIA_OK;
}

/* Decodes the whole stream si into w. Corrupt packets are skipped (a voice
 * note with a damaged page still plays); a stream with no sample is bad. */
static mp_media_rc_t decode_audio(mp_media_job_t *job, AVFormatContext *fmt, int si, wave_t *w)
{
    AVCodecContext *cc = open_decoder(job, fmt->streams[si]);
    if (cc == NULL)
        return mp_media__bad(job, "the sound cannot be decoded");
    AVPacket *pkt = av_packet_alloc();
    AVFrame *fr = av_frame_alloc();
    mp_media_rc_t rc = MP_MEDIA_OK;
    int e = 0;
    while (rc == MP_MEDIA_OK && (e = av_read_frame(fmt, pkt)) >= 0) {
        if (pkt->stream_index == si && avcodec_send_packet(cc, pkt) >= 0)
            rc = drain_audio(job, cc, fr, w);
        av_packet_unref(pkt);
    }
    if (rc == MP_MEDIA_OK && avcodec_send_packet(cc, NULL) >= 0) /* flush */
        rc = drain_audio(job, cc, fr, w);
    if (rc == MP_MEDIA_OK && e == AVERROR_EXIT)
        rc = mp_media__bad(job, TIMEOUT_MSG);
    if (rc == MP_MEDIA_OK && w->samples == 0)
        rc = mp_media__bad(job, "the sound cannot be decoded");
    av_frame_free(&fr);
    av_packet_free(&pkt);
    avcodec_free_context(&cc);
    return rc;
}

static mp_media_rc_t audio(mp_media_job_t *job, AVFormatContext *fmt, int si)
{
    wave_t *w = mp_calloc(1, sizeof *w);
    w->len = 480; /* 10 ms at 48 kHz to start with */
    mp_media_rc_t rc = decode_audio(job, fmt, si, w);
    if (rc == MP_MEDIA_OK) {
        int b[MP_MEDIA_WAVEFORM];
        wave_buckets(w, b);
        char *m = mp_malloc(64 + MP_MEDIA_WAVEFORM * 4);
        int n = sprintf(m, "{\"duration_ms\":%lld,\"waveform\":[", llround(w->seconds * 1000));
        for (int i = 0; i < MP_MEDIA_WAVEFORM; i++)
            n += sprintf(m + n, "%s%d", i ? "," : "", b[i]);
        sprintf(m + n, "]}");
        job->out->meta = m;
    }
    mp_free(w);
    return rc;
}

/* ---- video ------------------------------------------------------------ */

/* The first real video stream: cover art of a music file is not a video. */
static int video_stream(const AVFormatContext *fmt)
{
    for (unsigned i = 0; i < fmt->nb_streams; i++) {
        const AVStream *st = fmt->streams[i];
        if (st->codecpar->codec_type == AVMEDIA_TYPE_VIDEO &&
            !(st->disposition & AV_DISPOSITION_ATTACHED_PIC))
            return (int)i;
    }
    return -1;
}

/* Clockwise degrees (0, 90, 180, 270) a player turns the frames: phones
 * record sideways and say so in a display matrix. */
static int rotation(const AVStream *st)
{
    const uint8_t *m = av_stream_get_side_data(st, AV_PKT_DATA_DISPLAYMATRIX, NULL);
    if (m == NULL)
        return 0;
    double r = -av_display_rotation_get((const int32_t *)(const void *)m);
    if (isnan(r))
        return 0;
    int deg = (int)lround(r / 90.0) * 90 % 360;
    return deg < 0 ? deg + 360 : deg;
}

/* The first frame of stream si into fr (false if none within the limits). */
static bool first_frame(mp_media_job_t *job, AVFormatContext *fmt, int si, AVFrame *fr)
{
    AVCodecContext *cc = open_decoder(job, fmt->streams[si]);
    if (cc == NULL)
        return false;
    AVPacket *pkt = av_packet_alloc();
    bool got = false;
    for (int n = 0; !got && n < POSTER_PACKETS && !mp_media__expired(job);) {
        if (av_read_frame(fmt, pkt) < 0) {
            avcodec_send_packet(cc, NULL); /* EOF: a frame may still be buffered */
            got = avcodec_receive_frame(cc, fr) == 0;
            break;
        }
        if (pkt->stream_index == si) {
            n++;
            if (avcodec_send_packet(cc, pkt) >= 0)
                got = avcodec_receive_frame(cc, fr) == 0;
        }
        av_packet_unref(pkt);
    }
    av_packet_free(&pkt);
    avcodec_free_context(&cc);
    return got && fr->width > 0 && fr->height > 0;
}

/* The frame as packed RGB24 (mp_malloc'd). Its size was checked by the
 * decoder against max_pixels. */
static uint8_t *to_rgb(const AVFrame *f)
{
    struct SwsContext *sws = sws_getContext(f->width, f->height, f->format, f->width, f->height,
                                            AV_PIX_FMT_RGB24, SWS_BILINEAR, NULL, NULL, NULL);
    if (sws == NULL)
        return NULL;
    uint8_t *rgb = mp_malloc((size_t)f->width * f->height * 3);
    uint8_t *dst[4] = {rgb, NULL, NULL, NULL};
    int stride[4] = {f->width * 3, 0, 0, 0};
    int rows =
        sws_scale(sws, (const uint8_t *const *)f->data, f->linesize, 0, f->height, dst, stride);
    sws_freeContext(sws);
    if (rows != f->height) {
        mp_free(rgb);
        return NULL;
    }
    return rgb;
}

/* Removes renditions of a poster given up half-way. */
static void drop_renditions(mp_media_result_t *r)
{
    for (size_t i = 0; i < r->nrend; i++)
        unlink(r->rend[i].path);
    r->nrend = 0;
}

/* Poster renditions and preview. Only the deadline and our own I/O errors
 * are fatal: a video whose frames cannot be decoded still has a duration. */
static mp_media_rc_t poster(mp_media_job_t *job, AVFormatContext *fmt, int si, int *w, int *h,
                            char **prev)
{
    AVFrame *fr = av_frame_alloc();
    mp_media_rc_t rc = MP_MEDIA_OK;
    int rot = rotation(fmt->streams[si]);
    if (first_frame(job, fmt, si, fr)) {
        uint8_t *rgb = to_rgb(fr);
        *w = fr->width, *h = fr->height;
        if (rgb)
            rc = mp_media__poster(job, rgb, fr->width, fr->height, rot, prev);
        mp_free(rgb);
    }
    av_frame_free(&fr);
    if (rot == 90 || rot == 270) {
        int t = *w;
        *w = *h, *h = t;
    }
    if (rc == MP_MEDIA_BAD && !mp_media__expired(job)) {
        drop_renditions(job->out);
        mp_free(*prev);
        *prev = NULL;
        rc = MP_MEDIA_OK;
    }
    return mp_media__expired(job) ? mp_media__bad(job, TIMEOUT_MSG) : rc;
}

/* Milliseconds: the container's duration, else the end of its last packet
 * (reads the rest of the file; browser recordings have no duration). */
static int64_t duration_ms(mp_media_job_t *job, AVFormatContext *fmt)
{
    if (fmt->duration > 0)
        return av_rescale(fmt->duration, 1000, AV_TIME_BASE);
    AVPacket *pkt = av_packet_alloc();
    int64_t end = 0;
    while (!mp_media__expired(job) && av_read_frame(fmt, pkt) >= 0) {
        const AVStream *st = fmt->streams[pkt->stream_index];
        if (pkt->pts != AV_NOPTS_VALUE && pkt->pts >= 0) {
            int64_t t =
                av_rescale_q(pkt->pts + pkt->duration, st->time_base, (AVRational){1, 1000});
            end = t > end ? t : end;
        }
        av_packet_unref(pkt);
    }
    av_packet_free(&pkt);
    return end;
}

static mp_media_rc_t video(mp_media_job_t *job, AVFormatContext *fmt, int si)
{
    const AVCodecParameters *par = fmt->streams[si]->codecpar;
    if ((uint64_t)par->width * (uint64_t)par->height > job->lim->max_pixels)
        return mp_media__bad(job, "video of %dx%d pixels is larger than max_image_pixels",
                             par->width, par->height);
    int w = par->width, h = par->height;
    char *prev = NULL;
    mp_media_rc_t rc = poster(job, fmt, si, &w, &h, &prev);
    int64_t ms = rc == MP_MEDIA_OK ? duration_ms(job, fmt) : 0;
    if (rc == MP_MEDIA_OK && mp_media__expired(job))
        rc = mp_media__bad(job, TIMEOUT_MSG);
    if (rc == MP_MEDIA_OK) {
        size_t cap = (prev ? strlen(prev) : 0) + 128;
        job->out->meta = mp_malloc(cap);
        snprintf(job->out->meta, cap,
                 "{\"duration_ms\":%lld,\"width\":%d,\"height\":%d,\"preview\":%s%s%s}",
                 (long long)ms, w, h, prev ? "\"" : "", prev ? prev : "null", prev ? "\"" : "");
    }
    mp_free(prev);
    return rc;
}

/* A video container holding only sound (a WebM voice note) is audio. */
static void as_audio(mp_media_result_t *r)
{
    static const char *const map[][2] = {{"video/webm", "audio/webm"},
                                         {"video/mp4", "audio/mp4"},
                                         {"video/quicktime", "audio/mp4"},
                                         {"video/x-matroska", "audio/x-matroska"}};
    for (size_t i = 0; i < sizeof map / sizeof map[0]; i++)
        if (strcmp(r->mime, map[i][0]) == 0)
            snprintf(r->mime, sizeof r->mime, "%s", map[i][1]);
    r->cls = MP_MEDIA_AUDIO;
}

mp_media_rc_t mp_media__av(mp_media_job_t *job)
{
    AVFormatContext *fmt = NULL;
    mp_media_rc_t rc = open_input(job, &fmt);
    if (rc != MP_MEDIA_OK)
        return rc;
    int vi = job->out->cls == MP_MEDIA_VIDEO ? video_stream(fmt) : -1;
    int ai = av_find_best_stream(fmt, AVMEDIA_TYPE_AUDIO, -1, -1, NULL, 0);
    if (vi >= 0) {
        rc = video(job, fmt, vi);
    } else if (ai >= 0) {
        as_audio(job->out);
        rc = audio(job, fmt, ai);
    } else {
        rc = mp_media__bad(job, "the file holds no sound or picture");
    }
    avformat_close_input(&fmt);
    return rc;
}
