/* The Magpie client library: HTTP/1.1 and WebSocket for the end-to-end tests,
 * the CLI and the load generator.
 *
 * Two layers. The sans-I/O core (request builder, incremental response parser,
 * WebSocket handshake helpers, frame encoder and incremental frame decoder)
 * never touches a socket, so `magpie bench` can drive it from libuv. The
 * blocking layer (mpc_conn_t, mpc_ws_t) runs it over sockets with poll()
 * deadlines, in the clear or over TLS (OpenSSL), for tests and the CLI. It is
 * not the server: it uses plain malloc/free, and every object it returns is
 * released by its _free function.
 *
 * TLS always verifies: the server's chain against the default trust store
 * (which honours the SSL_CERT_FILE and SSL_CERT_DIR environment variables: how
 * a user trusts a private CA), and the URL's host against the certificate
 * (a DNS name, sent as SNI too, or an IP literal). TLS 1.2 at least, ALPN
 * "http/1.1". */
#ifndef MPC_CLIENT_H
#define MPC_CLIENT_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Return codes of the blocking layer (0 = success). */
enum {
    MPC_OK = 0,
    MPC_ERR_IO = -1,      /* socket error, connection refused, reset */
    MPC_ERR_TIMEOUT = -2, /* the deadline passed */
    MPC_ERR_CLOSED = -3,  /* the peer closed the connection (EOF, or a close frame) */
    MPC_ERR_PROTO = -4,   /* the peer sent something we cannot parse */
};

/* Name of an MPC_ return code, for test messages. */
const char *mpc_strerror(int rc);

/* ------------------------------------------------------------------------
 * HTTP, sans-I/O
 * ------------------------------------------------------------------------ */

typedef struct mpc_header {
    char *name;
    char *value;
} mpc_header_t;

/* A parsed HTTP response. Owned by whoever holds it; release with
 * mpc_response_free() (which also zeroes it, so freeing twice is harmless). */
typedef struct mpc_response {
    int status;
    char *reason;
    mpc_header_t *headers;
    size_t n_headers;
    char *body; /* NUL-terminated copy of the body (body_len bytes before the NUL) */
    size_t body_len;
    json_t *json;    /* the body parsed as JSON, or NULL if empty or not JSON */
    bool keep_alive; /* the server will keep the connection open */
} mpc_response_t;

/* First header with this name (case-insensitive), or NULL. Borrowed. */
const char *mpc_response_header(const mpc_response_t *r, const char *name);
/* The "error.code" string of a JSON error body, or NULL. Borrowed. */
const char *mpc_response_error_code(const mpc_response_t *r);
void mpc_response_free(mpc_response_t *r);

/* What to put in a request. Every pointer is borrowed for the call. */
typedef struct mpc_http_req {
    const char *method;       /* "GET", "POST", ... */
    const char *path;         /* "/v1/me" */
    const char *host;         /* Host header value, e.g. "127.0.0.1:8080" */
    const char *token;        /* Bearer token, or NULL */
    const char *origin;       /* Origin header, or NULL */
    const char *content_type; /* NULL: "application/json" when there is a body */
    const char *body;         /* NULL: no body and no Content-Length (unless body_len) */
    size_t body_len;
    const char *extra_headers; /* raw "Name: value\r\n" lines appended as is, or NULL */
    bool close;                /* send "Connection: close" */
} mpc_http_req_t;

/* Serialises a request. Returns a malloc'd buffer (caller frees) and its
 * length in *len. */
char *mpc_http_build(const mpc_http_req_t *req, size_t *len);

/* Incremental response parser. Feed it bytes as they arrive; it reports how
 * many it used, so bytes of a following (pipelined) response stay with the
 * caller. Handles Content-Length bodies, bodiless statuses (1xx, 204, 304,
 * responses to HEAD) and bodies delimited by the connection closing. */
typedef struct mpc_http_parser mpc_http_parser_t;

enum {
    MPC_PARSE_MORE = 0,  /* need more bytes */
    MPC_PARSE_DONE = 1,  /* a response is complete: take it */
    MPC_PARSE_ERROR = -1 /* malformed or over the limits (64 KiB headers, 64 MiB body) */
};

/* head_only: the request was HEAD (no body follows whatever the headers say). */
mpc_http_parser_t *mpc_http_parser_new(bool head_only);
void mpc_http_parser_free(mpc_http_parser_t *p);
/* Consumes up to len bytes; *used says how many were consumed. Returns
 * MPC_PARSE_MORE, MPC_PARSE_DONE (stop feeding, take the response) or
 * MPC_PARSE_ERROR. */
int mpc_http_parser_feed(mpc_http_parser_t *p, const char *data, size_t len, size_t *used);
/* The connection reached EOF: completes a close-delimited body. Returns
 * MPC_PARSE_DONE if a response is now complete, else MPC_PARSE_ERROR. */
int mpc_http_parser_eof(mpc_http_parser_t *p);
/* Moves the completed response into *out (caller owns it) and resets the
 * parser for the next response. */
void mpc_http_parser_take(mpc_http_parser_t *p, mpc_response_t *out);

/* ------------------------------------------------------------------------
 * WebSocket, sans-I/O
 * ------------------------------------------------------------------------ */

enum {
    MPC_WS_CONT = 0x0,
    MPC_WS_TEXT = 0x1,
    MPC_WS_BINARY = 0x2,
    MPC_WS_CLOSE = 0x8,
    MPC_WS_PING = 0x9,
    MPC_WS_PONG = 0xA,
};

/* A fresh random Sec-WebSocket-Key (16 random bytes, base64): 24 chars + NUL. */
void mpc_ws_make_key(char out[25]);
/* The Sec-WebSocket-Accept value for a key (SHA-1 + base64): 28 chars + NUL. */
void mpc_ws_accept_for(const char *key, char out[29]);
/* The upgrade request for GET path. token and origin may be NULL. Returns a
 * malloc'd buffer (caller frees), its length in *len. */
char *mpc_ws_build_handshake(const char *hostport, const char *path, const char *key,
                             const char *token, const char *origin, size_t *len);

/* Encodes one frame into a malloc'd buffer (caller frees), length in *len.
 * masked=false produces an (illegal from a client) unmasked frame; the mask
 * key is random. rsv sets the RSV1-3 bits (0 normally). */
uint8_t *mpc_ws_frame_encode(int opcode, bool fin, bool masked, unsigned rsv, const void *payload,
                             size_t plen, size_t *len);

/* One decoded frame. payload points into the decoder's buffer (unmasked in
 * place) and is valid until the next mpc_ws_decode call on that buffer. */
typedef struct mpc_ws_frame {
    int opcode;
    bool fin;
    bool masked;
    unsigned rsv;
    uint64_t plen;
    uint8_t *payload;
} mpc_ws_frame_t;

/* Decodes one frame at the start of buf (len bytes), unmasking in place.
 * Returns the number of bytes the frame takes (> 0), 0 if more bytes are
 * needed, or -1 if the header declares a payload longer than max_payload. */
long mpc_ws_decode(uint8_t *buf, size_t len, uint64_t max_payload, mpc_ws_frame_t *out);

/* A complete WebSocket message (fragments reassembled) or control frame. */
typedef struct mpc_ws_msg {
    int opcode; /* MPC_WS_TEXT, _BINARY, _PING, _PONG, _CLOSE */
    char *data; /* NUL-terminated payload copy (len bytes before the NUL) */
    size_t len;
    json_t *json;       /* TEXT only: the payload parsed as JSON, or NULL */
    int close_code;     /* CLOSE only: status code, 1005 if none was sent */
    char *close_reason; /* CLOSE only: reason text ("" if none) */
} mpc_ws_msg_t;

void mpc_ws_msg_free(mpc_ws_msg_t *m);

/* Incremental message decoder for frames coming FROM a server: feed bytes,
 * then pull messages. Reassembles fragmented messages (control frames may
 * interleave). */
typedef struct mpc_ws_decoder mpc_ws_decoder_t;

mpc_ws_decoder_t *mpc_ws_decoder_new(uint64_t max_message);
void mpc_ws_decoder_free(mpc_ws_decoder_t *d);
/* Appends bytes (copied). */
void mpc_ws_decoder_feed(mpc_ws_decoder_t *d, const void *data, size_t len);
/* Next complete message into *out (caller frees with mpc_ws_msg_free).
 * Returns 1 if one was produced, 0 if more bytes are needed, -1 on a protocol
 * error (oversize, bad continuation, fragmented control frame). */
int mpc_ws_decoder_next(mpc_ws_decoder_t *d, mpc_ws_msg_t *out);

/* ------------------------------------------------------------------------
 * TLS, sans-I/O (the load generator drives these over libuv)
 * ------------------------------------------------------------------------ */

struct ssl_st;
struct ssl_ctx_st;

/* The process's client context: verification on, default trust store
 * (SSL_CERT_FILE / SSL_CERT_DIR are read once, when it is first made), TLS
 * 1.2 minimum, ALPN "http/1.1". Made at the first call and kept for the life
 * of the process (never freed: every TLS connection of the process shares
 * it). NULL with a reason in err (errlen bytes) if OpenSSL cannot make it.
 * Thread-safe. */
struct ssl_ctx_st *mpc_tls_ctx(char *err, size_t errlen);

/* A client SSL in connect state for host (a name: SNI and host-name check; an
 * IPv4/IPv6 literal without brackets: IP check), reading from and writing to
 * a pair of memory BIOs (SSL_get_rbio: feed it the ciphertext received;
 * SSL_get_wbio: send what appears there). Caller SSL_free's it. NULL with a
 * reason in err. */
struct ssl_st *mpc_tls_new(const char *host, char *err, size_t errlen);

/* Why an SSL call on ssl failed (ret: what it returned), as one line:
 * "certificate verify failed: unable to get local issuer certificate",
 * "TLS handshake failed: wrong version number", ... Clears OpenSSL's error
 * queue of this thread. */
void mpc_tls_describe(struct ssl_st *ssl, int ret, char *err, size_t errlen);

/* ------------------------------------------------------------------------
 * Blocking layer: sockets with poll() deadlines, in the clear or over TLS
 * ------------------------------------------------------------------------ */

/* A TCP connection with a read buffer (leftover bytes of pipelined
 * responses stay there for the next read), optionally over TLS. With TLS the
 * buffer holds plaintext, and every read decrypts all that the socket
 * delivered, so a caller that waits for POLLIN on mpc_conn_fd() after a
 * receive timed out misses nothing. */
typedef struct mpc_conn mpc_conn_t;

/* How to connect. Zero-initialised: in the clear, from any local address. */
typedef struct mpc_connect_opts {
    const char *source; /* local address (see mpc_connect_from), or NULL */
    bool tls;           /* TLS, verified (see the top of this file) */
} mpc_connect_opts_t;

/* Connects to host:port within timeout_ms (the TLS handshake included).
 * Returns NULL on failure with a one-line reason in err (errlen bytes; err
 * may be NULL): "Connection refused", "certificate verify failed: hostname
 * mismatch", ... */
mpc_conn_t *mpc_connect_ex(const char *host, int port, const mpc_connect_opts_t *o, int timeout_ms,
                           char *err, size_t errlen);

/* Connects to host:port (numeric IPv4/IPv6 or a name) within timeout_ms.
 * Returns NULL on failure. */
mpc_conn_t *mpc_connect(const char *host, int port, int timeout_ms);
/* Same, from a chosen local address (e.g. "127.0.0.2": every 127.0.0.0/8
 * address is loopback, so tests and the load generator can appear as many
 * clients). source NULL = any. */
mpc_conn_t *mpc_connect_from(const char *host, int port, const char *source, int timeout_ms);
void mpc_conn_free(mpc_conn_t *c);
/* "host:port" as used in the Host header. Borrowed. */
const char *mpc_conn_hostport(const mpc_conn_t *c);
int mpc_conn_fd(const mpc_conn_t *c);

/* Writes all len bytes within timeout_ms. MPC_OK or an MPC_ERR_. */
int mpc_send_raw(mpc_conn_t *c, const void *data, size_t len, int timeout_ms);
/* Reads what is available (buffered bytes first), waiting up to timeout_ms
 * for at least one byte. Returns bytes read (> 0), MPC_ERR_CLOSED on EOF,
 * MPC_ERR_TIMEOUT or MPC_ERR_IO. */
long mpc_recv_raw(mpc_conn_t *c, void *buf, size_t cap, int timeout_ms);
/* Waits for the peer to close, discarding data. Returns MPC_OK if EOF (or a
 * reset) came within timeout_ms, else MPC_ERR_TIMEOUT. */
int mpc_wait_closed(mpc_conn_t *c, int timeout_ms);

/* Reads the next complete response (for raw or pipelined requests). */
int mpc_http_read_response(mpc_conn_t *c, mpc_response_t *out, int timeout_ms);
/* Sends req (host filled in from the connection when req->host is NULL)
 * and reads its response into *out (caller frees). */
int mpc_http_send(mpc_conn_t *c, const mpc_http_req_t *req, mpc_response_t *out, int timeout_ms);
/* The common case: JSON body (borrowed, may be NULL), optional bearer token.
 * Returns MPC_OK with *out filled (caller frees) or an MPC_ERR_. */
int mpc_http_request(mpc_conn_t *c, const char *method, const char *path, const char *token,
                     json_t *body, mpc_response_t *out, int timeout_ms);

/* A WebSocket client connection. */
typedef struct mpc_ws mpc_ws_t;

/* Opens a TCP connection and performs the handshake on path (token and
 * origin may be NULL). On success *ws is set and MPC_OK returned. If the
 * server answers with something other than 101, *http_status (if non-NULL)
 * gets that status and MPC_ERR_PROTO is returned; it is 0 on other errors. */
int mpc_ws_connect(const char *host, int port, const char *path, const char *token,
                   const char *origin, mpc_ws_t **ws, int *http_status, int timeout_ms);
/* The same handshake on a connection the caller opened (mpc_connect_ex: e.g.
 * over TLS, for wss://). Takes ownership of c: it belongs to *ws on success
 * and is freed on failure. */
int mpc_ws_upgrade(mpc_conn_t *c, const char *path, const char *token, const char *origin,
                   mpc_ws_t **ws, int *http_status, int timeout_ms);
/* Closes the socket and frees everything (no close handshake). */
void mpc_ws_free(mpc_ws_t *ws);
/* The underlying connection (e.g. to send raw bytes). Borrowed. */
mpc_conn_t *mpc_ws_conn(mpc_ws_t *ws);

/* Whether mpc_ws_recv answers pings with pongs (default true). */
void mpc_ws_set_auto_pong(mpc_ws_t *ws, bool on);
/* Pings received so far. */
unsigned mpc_ws_pings_seen(const mpc_ws_t *ws);

/* Sends one masked frame. */
int mpc_ws_send_frame(mpc_ws_t *ws, int opcode, bool fin, const void *data, size_t len,
                      int timeout_ms);
int mpc_ws_send_text(mpc_ws_t *ws, const char *text, int timeout_ms);
/* Serialises j (borrowed) compactly and sends it as a text frame. */
int mpc_ws_send_json(mpc_ws_t *ws, json_t *j, int timeout_ms);
/* Sends bytes exactly as given (hand-made malformed frames). */
int mpc_ws_send_raw(mpc_ws_t *ws, const void *data, size_t len, int timeout_ms);
/* Sends a close frame with code and reason (reason may be NULL). */
int mpc_ws_send_close(mpc_ws_t *ws, int code, const char *reason, int timeout_ms);

/* Next message: queued ones first (see mpc_ws_request), then from the wire.
 * Pings are answered (if auto pong) and returned too; a close frame is
 * answered with a close and returned, after which the connection is done.
 * Returns MPC_OK with *out filled (caller frees), MPC_ERR_TIMEOUT,
 * MPC_ERR_CLOSED (EOF without a close frame), MPC_ERR_PROTO or MPC_ERR_IO. */
int mpc_ws_recv(mpc_ws_t *ws, int timeout_ms, mpc_ws_msg_t *out);

/* Waits until the server closes: returns MPC_OK and the close code in
 * *code (1006 if the TCP connection ended without a close frame), skipping
 * other messages, or MPC_ERR_TIMEOUT. */
int mpc_ws_wait_close(mpc_ws_t *ws, int timeout_ms, int *code, char **reason);

/* Sends req (borrowed; an integer "id" member is set on it, fresh per
 * connection) and waits for the text frame with that id. Other frames that
 * arrive meanwhile are queued for mpc_ws_next_event / mpc_ws_recv. Returns
 * MPC_OK with *reply (caller decrefs) or an MPC_ERR_. */
int mpc_ws_request(mpc_ws_t *ws, json_t *req, int timeout_ms, json_t **reply);
/* The next event frame (a JSON object with an "event" member), from the
 * queue or the wire; non-event frames read meanwhile are queued. Pings are
 * answered and skipped. Returns MPC_OK with *ev (caller decrefs) or an
 * MPC_ERR_ (MPC_ERR_CLOSED if a close frame came; it stays queued). */
int mpc_ws_next_event(mpc_ws_t *ws, int timeout_ms, json_t **ev);
/* The id the next mpc_ws_request will use. */
int64_t mpc_ws_next_id(const mpc_ws_t *ws);

#endif
