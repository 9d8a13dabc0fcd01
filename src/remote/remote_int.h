/* Private to src/remote: the credentials file's pieces that the token
 * refresh needs while it holds the lock. */
#ifndef MPR_REMOTE_INT_H
#define MPR_REMOTE_INT_H

#include "remote/remote.h"
#include "util/clock.h"

/* Wall clock in ms since the epoch. */
int64_t mpr__now_ms(void);

/* Takes the exclusive lock on credentials.lock (creating the directory with
 * mode 0700 when needed), waiting a bounded time. Returns the descriptor to
 * give to mpr__unlock, or -1 (e). */
int mpr__lock(mpr_err_t *e);
void mpr__unlock(int fd);

/* The whole file as JSON (*root, caller decrefs; an empty one when there is
 * no file yet), and its atomic replacement. Call with the lock held when the
 * result is written back. */
int mpr__load(json_t **root, mpr_err_t *e);
int mpr__save(json_t *root, mpr_err_t *e);

/* The entry of (url, username) in root (borrowed), with its index. */
json_t *mpr__entry(json_t *root, const char *url, const char *username, size_t *index);
void mpr__cred_from_json(json_t *o, mpr_cred_t *c);
void mpr__cred_to_json(const mpr_cred_t *c, json_t *o);

#endif
