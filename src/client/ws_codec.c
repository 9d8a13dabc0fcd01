/* WebSocket client, sans-I/O (RFC 6455): handshake key and accept value,
 * frame encoder (masked or deliberately not), frame decoder, and a message
 * decoder that reassembles fragments. */
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/sha.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client/client.h"

static const char ws_guid[] = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

static void random_bytes(void *out, size_t n)
{
    if (RAND_bytes(out, (int)n) != 1)
        abort(); /* no entropy: nothing sensible to do in a test client */
}

void mpc_ws_make_key(char out[25])
{
    unsigned char raw[16];
    random_bytes(raw, sizeof raw);
    EVP_EncodeBlock((unsigned char *)out, raw, sizeof raw);
}

void mpc_ws_accept_for(const char *key, char out[29])
{
    unsigned char md[SHA_DIGEST_LENGTH];
    size_t kn = strlen(key);
    char *cat = malloc(kn + sizeof ws_guid);
    if (!cat)
        abort();
    memcpy(cat, key, kn);
    memcpy(cat + kn, ws_guid, sizeof ws_guid);
    SHA1((const unsigned char *)cat, kn + sizeof ws_guid - 1, md);
    free(cat);
    EVP_EncodeBlock((unsigned char *)out, md, sizeof md);
}

char *mpc_ws_build_handshake(const char *hostport, const char *path, const char *key,
                             const char *token, const char *origin, size_t *len)
{
    char extra[512];
    snprintf(extra, sizeof extra,
             "Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: %s\r\n"
             "Sec-WebSocket-Version: 13\r\n",
             key);
    mpc_http_req_t req = {
        .method = "GET",
        .path = path,
        .host = hostport,
        .token = token,
        .origin = origin,
        .extra_headers = extra,
    };
    return mpc_http_build(&req, len);
}

uint8_t *mpc_ws_frame_encode(int opcode, bool fin, bool masked, unsigned rsv, const void *payload,
                             size_t plen, size_t *len)
{
    uint8_t *f = malloc(14 + plen);
    size_t n = 0;
    if (!f)
        abort();
    f[n++] = (uint8_t)((fin ? 0x80 : 0) | ((rsv & 7) << 4) | (opcode & 0x0f));
    uint8_t mbit = masked ? 0x80 : 0;
    if (plen < 126) {
        f[n++] = mbit | (uint8_t)plen;
    } else if (plen <= 0xffff) {
        f[n++] = mbit | 126;
        f[n++] = (uint8_t)(plen >> 8);
        f[n++] = (uint8_t)plen;
    } else {
        f[n++] = mbit | 127;
        for (int i = 7; i >= 0; i--)
            f[n++] = (uint8_t)((uint64_t)plen >> (8 * i));
    }
    uint8_t mask[4] = {0};
    if (masked) {
        random_bytes(mask, sizeof mask);
        memcpy(f + n, mask, 4);
        n += 4;
    }
    const uint8_t *src = payload;
    for (size_t i = 0; i < plen; i++)
        f[n + i] = src[i] ^ mask[i & 3];
    *len = n + plen;
    return f;
}

long mpc_ws_decode(uint8_t *buf, size_t len, uint64_t max_payload, mpc_ws_frame_t *out)
{
    size_t n = 2;
    uint64_t plen;

    if (len < 2)
        return 0;
    out->fin = (buf[0] & 0x80) != 0;
    out->rsv = (buf[0] >> 4) & 7;
    out->opcode = buf[0] & 0x0f;
    out->masked = (buf[1] & 0x80) != 0;
    plen = buf[1] & 0x7f;
    if (plen == 126) {
        if (len < 4)
            return 0;
        plen = ((uint64_t)buf[2] << 8) | buf[3];
        n = 4;
    } else if (plen == 127) {
        if (len < 10)
            return 0;
        plen = 0;
        for (int i = 0; i < 8; i++)
            plen = (plen << 8) | buf[2 + i];
        n = 10;
    }
    if (plen > max_payload)
        return -1;
    if (out->masked)
        n += 4;
    if (len < n || len - n < plen)
        return 0;
    if (out->masked) {
        const uint8_t *mask = buf + n - 4;
        for (uint64_t i = 0; i < plen; i++)
            buf[n + i] ^= mask[i & 3];
    }
    out->plen = plen;
    out->payload = buf + n;
    return (long)(n + plen);
}

/* ---- message decoder ---- */

struct mpc_ws_decoder {
    uint64_t max_message;
    uint8_t *in; /* undecoded bytes */
    size_t in_len, in_cap;
    uint8_t *frag; /* payload of a fragmented message so far */
    size_t frag_len;
    int frag_opcode; /* 0 when no fragmented message is in progress */
};

mpc_ws_decoder_t *mpc_ws_decoder_new(uint64_t max_message)
{
    mpc_ws_decoder_t *d = calloc(1, sizeof *d);
    if (!d)
        abort();
    d->max_message = max_message;
    return d;
}

void mpc_ws_decoder_free(mpc_ws_decoder_t *d)
{
    if (!d)
        return;
    free(d->in);
    free(d->frag);
    free(d);
}

void mpc_ws_decoder_feed(mpc_ws_decoder_t *d, const void *data, size_t len)
{
    if (d->in_len + len > d->in_cap) {
        size_t cap = d->in_cap ? d->in_cap : 4096;
        while (cap < d->in_len + len)
            cap *= 2;
        d->in = realloc(d->in, cap);
        if (!d->in)
            abort();
        d->in_cap = cap;
    }
    if (len)
        memcpy(d->in + d->in_len, data, len);
    d->in_len += len;
}

void mpc_ws_msg_free(mpc_ws_msg_t *m)
{
    if (!m)
        return;
    free(m->data);
    free(m->close_reason);
    json_decref(m->json);
    memset(m, 0, sizeof *m);
}

/* Builds a message from a complete payload (copied). */
static void make_msg(int opcode, const uint8_t *data, size_t len, mpc_ws_msg_t *out)
{
    memset(out, 0, sizeof *out);
    out->opcode = opcode;
    out->data = malloc(len + 1);
    if (!out->data)
        abort();
    if (len)
        memcpy(out->data, data, len);
    out->data[len] = '\0';
    out->len = len;
    if (opcode == MPC_WS_TEXT) {
        json_error_t jerr;
        out->json = json_loadb(out->data, len, JSON_DECODE_ANY, &jerr);
    } else if (opcode == MPC_WS_CLOSE) {
        out->close_code = len >= 2 ? (data[0] << 8) | data[1] : 1005;
        size_t rn = len >= 2 ? len - 2 : 0;
        out->close_reason = malloc(rn + 1);
        if (!out->close_reason)
            abort();
        if (rn)
            memcpy(out->close_reason, data + 2, rn);
        out->close_reason[rn] = '\0';
    }
}

static void consume(mpc_ws_decoder_t *d, size_t n)
{
    if (n == 0)
        return;
    memmove(d->in, d->in + n, d->in_len - n);
    d->in_len -= n;
}

/* Adds a data frame to the message in progress; returns 1 when the message
 * is complete (in *out), 0 when more fragments are expected, -1 on error. */
static int add_data_frame(mpc_ws_decoder_t *d, const mpc_ws_frame_t *f, mpc_ws_msg_t *out)
{
    if (f->opcode == MPC_WS_CONT ? d->frag_opcode == 0 : d->frag_opcode != 0)
        return -1;
    if (f->opcode != MPC_WS_CONT && f->fin) {
        make_msg(f->opcode, f->payload, f->plen, out);
        return 1;
    }
    if (d->frag_len + f->plen > d->max_message)
        return -1;
    if (f->opcode != MPC_WS_CONT)
        d->frag_opcode = f->opcode;
    d->frag = realloc(d->frag, d->frag_len + f->plen + 1);
    if (!d->frag)
        abort();
    memcpy(d->frag + d->frag_len, f->payload, f->plen);
    d->frag_len += f->plen;
    if (!f->fin)
        return 0;
    make_msg(d->frag_opcode, d->frag, d->frag_len, out);
    free(d->frag);
    d->frag = NULL;
    d->frag_len = 0;
    d->frag_opcode = 0;
    return 1;
}

int mpc_ws_decoder_next(mpc_ws_decoder_t *d, mpc_ws_msg_t *out)
{
    for (;;) {
        mpc_ws_frame_t f;
        long n = mpc_ws_decode(d->in, d->in_len, d->max_message, &f);
        if (n <= 0)
            return (int)n;
        int rc;
        if (f.opcode >= 0x8) {
            if (!f.fin || f.plen > 125)
                return -1;
            make_msg(f.opcode, f.payload, f.plen, out);
            rc = 1;
        } else if (f.opcode <= MPC_WS_BINARY) {
            rc = add_data_frame(d, &f, out);
        } else {
            rc = -1; /* reserved opcode */
        }
        if (rc < 0)
            return -1;
        consume(d, (size_t)n);
        if (rc == 1)
            return 1;
    }
}
