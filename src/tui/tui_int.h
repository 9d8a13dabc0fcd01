/* Private parts of the terminal chat (src/tui): text measuring, the line
 * editor, the model of conversations and messages, drawing and the network
 * side of the loop. Internal functions carry the mp_tui__ prefix. Everything
 * runs on one thread. */
#ifndef MP_TUI_TUI_INT_H
#define MP_TUI_TUI_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "remote/remote.h"
#include "util/map.h"

/* ---- text: UTF-8, display widths, wrapping (tui_text.c) ------------------------
 * Widths are terminal cells as wcwidth() says in the current locale (the
 * caller sets an UTF-8 one); a character wcwidth cannot measure counts as one
 * cell (it is drawn as a replacement), combining marks as zero. */

/* The display width of one character: 0, 1 or 2. */
int mp_tui__wcwidth(uint32_t cp);
/* The display width of an UTF-8 string (len bytes). */
int mp_tui__width(const char *s, size_t len);
/* One wrapped line: bytes [off, off + len) of the text, width cells. */
typedef struct mp_tui_span {
    size_t off, len;
    int width;
} mp_tui_span_t;

/* Wraps text (cleaned by mpr_clean_text, '\n' forces a break) into lines of at most first
 * cells for the first line and rest cells for the others (both >= 2, so
 * that a wide character always fits), breaking after spaces when it can and
 * between characters otherwise (never inside one; combining marks stay with
 * their base). Fills up to max spans and returns how many lines the text
 * needs (which may exceed max). An empty text is one empty line. */
size_t mp_tui__wrap(const char *text, int first, int rest, mp_tui_span_t *out, size_t max);
/* Copies the longest prefix of s that fits width cells into out (cap bytes),
 * ending with "…" when s had to be cut. Returns the width written. */
int mp_tui__truncate(const char *s, int width, char *out, size_t cap);

/* ---- the line editor (tui_input.c) ------------------------------------------------ */

#define MP_TUI_INPUT_MAX 16384 /* bytes: 4096 characters of up to 4 bytes */

/* One line of UTF-8 text and a cursor (a byte offset on a character
 * boundary). */
typedef struct mp_tui_input {
    char buf[MP_TUI_INPUT_MAX + 1];
    size_t len, cur;
} mp_tui_input_t;

void mp_tui__input_clear(mp_tui_input_t *in);
/* Replaces the line by text (UTF-8; control characters dropped), the cursor
 * at its end. */
void mp_tui__input_set(mp_tui_input_t *in, const char *text);
/* Inserts one character at the cursor (control characters are refused).
 * Returns false when it was refused or the line is full. */
bool mp_tui__input_insert(mp_tui_input_t *in, uint32_t wc);
/* Deletes the character before the cursor (Backspace) / under it (Delete). */
void mp_tui__input_backspace(mp_tui_input_t *in);
void mp_tui__input_delete(mp_tui_input_t *in);
void mp_tui__input_left(mp_tui_input_t *in);
void mp_tui__input_right(mp_tui_input_t *in);
void mp_tui__input_home(mp_tui_input_t *in);
void mp_tui__input_end(mp_tui_input_t *in);
/* Ctrl-U: deletes from the start of the line to the cursor. */
void mp_tui__input_kill(mp_tui_input_t *in);
/* Where to start showing the line in a field of width cells so that the
 * cursor is visible: the byte offset of the first character shown. */
size_t mp_tui__input_view(const mp_tui_input_t *in, int width);

/* Members of a JSON object, "" and 0 when absent or of another type. */
static inline const char *mp_tui__jstr(json_t *o, const char *k)
{
    const char *s = json_string_value(json_object_get(o, k));
    return s ? s : "";
}

static inline int64_t mp_tui__jint(json_t *o, const char *k)
{
    return json_integer_value(json_object_get(o, k));
}

/* ---- the model (tui_model.c) ------------------------------------------------------- */

typedef enum {
    MP_TUI_MARK_NONE = 0, /* somebody else's message */
    MP_TUI_MARK_PENDING,  /* own, not acked yet */
    MP_TUI_MARK_SENT,     /* own, acked (durable) */
    MP_TUI_MARK_DELIVERED,
    MP_TUI_MARK_READ,
} mp_tui_mark_t;

typedef struct mp_tui_msg {
    char message_id[24];
    char client_msg_id[72]; /* own messages */
    char sender[24];
    int64_t seq; /* 0 while pending */
    int64_t created_at;
    char *text; /* sanitized, owned */
    bool deleted, edited;
} mp_tui_msg_t;

typedef struct mp_tui_conv {
    char id[24];
    char kind[8]; /* "direct", "group", "world", "" unknown */
    char label[160];
    char peer[24]; /* direct: the other member */
    bool online;   /* direct: the peer is online */
    int64_t last_seen_at;
    int64_t unread;
    int64_t last_seq;           /* the newest seq known to exist */
    int64_t read_seq;           /* own cursor */
    int64_t peer_read_seq;      /* the furthest another member has read */
    int64_t peer_delivered_seq; /* ... and received */
    char typing_user[24];       /* "" when nobody */
    int64_t typing_until;       /* monotonic ms */
    mp_tui_msg_t *msgs;         /* ascending seq */
    size_t n_msgs, cap_msgs;
    bool unknown;  /* appeared by an event: kind and label still to be asked */
    bool loaded;   /* the newest page was fetched */
    bool has_more; /* older messages exist */
    int scroll;    /* lines scrolled up from the newest */
} mp_tui_conv_t;

/* A send waiting for its reply. */
typedef struct mp_tui_pending {
    char client_msg_id[24];
    char conv[24];
    char *text; /* as typed (owned) */
    int64_t frame_id;
    int64_t created_ms; /* wall clock, for display */
} mp_tui_pending_t;

typedef struct mp_tui_model {
    mp_tui_conv_t **convs; /* list order: index 0 is the top */
    size_t n_convs, cap_convs;
    mp_tui_pending_t *pending;
    size_t n_pending, cap_pending;
    char me[24];
} mp_tui_model_t;

void mp_tui__model_free(mp_tui_model_t *m);
mp_tui_conv_t *mp_tui__conv_find(mp_tui_model_t *m, const char *id);
/* The conversation with id, added at the end (or at the top) when absent. */
mp_tui_conv_t *mp_tui__conv_get(mp_tui_model_t *m, const char *id, bool at_top);
/* The conversation's position in the list (it must be there). */
size_t mp_tui__conv_index(const mp_tui_model_t *m, const mp_tui_conv_t *c);
void mp_tui__conv_to_top(mp_tui_model_t *m, mp_tui_conv_t *c);
/* Inserts or replaces (by message_id) a message object of the protocol
 * (borrowed). Returns true when the message was new. */
bool mp_tui__conv_upsert(mp_tui_conv_t *c, json_t *msg);
/* Drops one message (deleted for the user only); nothing when absent. */
void mp_tui__conv_remove(mp_tui_conv_t *c, const char *message_id);
/* Drops every message (before reloading the newest page). */
void mp_tui__conv_clear(mp_tui_conv_t *c);
mp_tui_msg_t *mp_tui__conv_msg(mp_tui_conv_t *c, const char *message_id);
int64_t mp_tui__conv_newest_seq(const mp_tui_conv_t *c);
/* The receipt mark of a stored message as the model knows it. */
mp_tui_mark_t mp_tui__mark(const mp_tui_model_t *m, const mp_tui_conv_t *c, const mp_tui_msg_t *x);

mp_tui_pending_t *mp_tui__pending_add(mp_tui_model_t *m, const char *conv, const char *text);
mp_tui_pending_t *mp_tui__pending_by_frame(mp_tui_model_t *m, int64_t frame_id);
void mp_tui__pending_remove(mp_tui_model_t *m, mp_tui_pending_t *p);

/* ---- the application state and its parts (tui.c, tui_net.c, tui_draw.c) ------------- */

/* The ids of the requests the loop sends itself: mpc_ws_request numbers its
 * own from 1 per connection, these start far above, so that a reply is never
 * taken for the other's. */
#define MP_TUI_OWN_IDS (INT64_C(1) << 40)

typedef enum { MP_TUI_FOCUS_LIST, MP_TUI_FOCUS_CONV } mp_tui_focus_t;

/* User ids whose names a draw wanted and did not know: looked up one at a
 * time from the loop, never while drawing. */
#define MP_TUI_WANTED 32

typedef struct mp_tui {
    mpr_session_t *s;
    mpr_names_t *names;
    mp_map_t users;                 /* user id -> mp_malloc'd name, known for drawing */
    char wanted[MP_TUI_WANTED][24]; /* names to look up; "" = free slot */
    int64_t lookups_at;             /* monotonic ms: no lookup before (offline) */
    mp_tui_model_t model;
    mpc_ws_t *ws;          /* NULL while disconnected */
    int64_t next_frame_id; /* own request ids: from 1 << 40 */
    int64_t reconnect_at;  /* monotonic ms of the next attempt (while ws == NULL) */
    mpr_backoff_t backoff; /* the wait before the next attempt */
    int64_t last_ping, last_rx, last_typing_sent; /* monotonic ms */
    char cursor[24];                              /* sync cursor: what this session has seen */
    mp_tui_conv_t *open;                          /* the open conversation, or NULL */
    size_t sel;                                   /* selected row of the list */
    mp_tui_focus_t focus;
    mp_tui_input_t input;
    char status[256]; /* a transient message, "" for the help hint */
    int64_t status_until;
    bool quit;
    bool dirty; /* redraw before sleeping */
} mp_tui_t;

/* tui_net.c */
/* Sends req (borrowed) with a fresh id of ours (MP_TUI_OWN_IDS and up);
 * returns the id, or 0 when not connected or the connection broke (it is
 * then dropped and will be reconnected). */
int64_t mp_tui__send_frame(mp_tui_t *t, json_t *req);
/* Moves c to the top of the list, the selection staying on its conversation. */
void mp_tui__to_top(mp_tui_t *t, mp_tui_conv_t *c);
/* Adds a conversation the list did not have, at the top, labelled by its id
 * until mp_tui__lookup_one asks the server about it (no network here: it is
 * called while handling events). */
mp_tui_conv_t *mp_tui__discover(mp_tui_t *t, const char *id);
/* Whether names or conversations wait to be looked up and may be now. */
bool mp_tui__lookup_due(const mp_tui_t *t);
/* Looks one of them up (blocking, bounded). The loop calls it between
 * events, after the screen is drawn and when no key is waiting, so that a
 * slow server delays a name, never the keyboard. */
void mp_tui__lookup_one(mp_tui_t *t);
/* Loads the conversation list (first page, the world room, direct peers'
 * presence) into the model. 0 or -1 (e). */
int mp_tui__load_list(mp_tui_t *t, mpr_err_t *e);
/* Loads the newest page of c (older: the page before its first message). */
int mp_tui__load_history(mp_tui_t *t, mp_tui_conv_t *c, bool older);
/* Sends `read` for the newest message of the open conversation when it is
 * shown and not read yet. */
void mp_tui__mark_read(mp_tui_t *t);
/* Sends text as a message to the open conversation (async). */
void mp_tui__send_text(mp_tui_t *t, const char *text);
void mp_tui__send_typing(mp_tui_t *t);
/* Handles what the WebSocket has buffered and what arrived; keeps the
 * connection alive and reconnects. Never blocks for long. */
void mp_tui__net_pump(mp_tui_t *t);
/* The fd to poll (-1 while disconnected) and the next deadline (monotonic
 * ms) the loop must wake up for. */
int mp_tui__net_fd(mp_tui_t *t);
int64_t mp_tui__net_deadline(mp_tui_t *t);
/* Opens the WebSocket and takes the sync cursor. 0 or -1 (e). */
int mp_tui__connect(mp_tui_t *t, mpr_err_t *e);
void mp_tui__set_status(mp_tui_t *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* A display name for a user id (the signed-in user's own name for them), as
 * far as it is known: else the id, and the name is wanted (see
 * mp_tui__lookup_one). Never touches the network. Borrowed. */
const char *mp_tui__user_name(mp_tui_t *t, const char *user_id);

/* tui_events.c */
/* Handles one text frame: an event, or the reply to one of our own frames. */
void mp_tui__on_frame(mp_tui_t *t, json_t *frame);
/* Applies a sync reply (conversations, messages, receipts, hidden). */
void mp_tui__apply_sync(mp_tui_t *t, json_t *reply);

/* tui_draw.c */
/* Lines per page of the message view at the current size. */
int mp_tui__page_lines(void);
/* The lines the open conversation's messages take at the current size. */
int mp_tui__conv_lines(mp_tui_t *t);
/* Sets up the colour pairs (after initscr; nothing on a monochrome terminal). */
void mp_tui__colors(void);
void mp_tui__draw(mp_tui_t *t);

#endif
