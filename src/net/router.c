/* Routes are matched segment by segment on the raw path, and each segment is
 * decoded afterwards, so that an encoded "/" stays inside its parameter. */
#include "net/router.h"

#include <string.h>

#include "util/alloc.h"

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

char *mp_router__decode(const char *s, size_t n, bool plus)
{
    char *out = mp_malloc(n + 1);
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        int hi, lo;
        if (s[i] == '%' && i + 2 < n && (hi = hexval(s[i + 1])) >= 0 &&
            (lo = hexval(s[i + 2])) >= 0 && (hi | lo) != 0) {
            out[o++] = (char)(hi * 16 + lo);
            i += 2;
        } else if (plus && s[i] == '+') {
            out[o++] = ' ';
        } else {
            out[o++] = s[i];
        }
    }
    out[o] = '\0';
    return out;
}

mp_kv_t *mp_router__parse_query(const char *q, size_t *n)
{
    size_t cap = 1;
    for (const char *p = q; *p; p++)
        cap += *p == '&';
    mp_kv_t *kv = mp_calloc(cap, sizeof(*kv));
    size_t k = 0;
    while (*q && k < cap) {
        size_t len = strcspn(q, "&");
        if (len > 0) {
            const char *eq = memchr(q, '=', len);
            size_t nlen = eq ? (size_t)(eq - q) : len;
            kv[k].name = mp_router__decode(q, nlen, true);
            kv[k].value = eq ? mp_router__decode(eq + 1, len - nlen - 1, true) : mp_strdup("");
            k++;
        }
        q += len;
        if (*q == '&')
            q++;
    }
    *n = k;
    return kv;
}

static void free_params(mp_kv_t *params, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        mp_free(params[i].name);
        mp_free(params[i].value);
        params[i].name = params[i].value = NULL;
    }
}

/* Matches pattern against path; on success params holds the decoded values. */
static bool match(const char *pat, const char *path, mp_kv_t *params, size_t *np)
{
    *np = 0;
    while (*pat == '/' && *path == '/') {
        pat++;
        path++;
        size_t pl = strcspn(pat, "/");
        size_t sl = strcspn(path, "/");
        if (pl >= 2 && pat[0] == '{' && pat[pl - 1] == '}') {
            if (sl == 0 || *np == MP_HTTP_MAX_PARAMS)
                goto fail;
            params[*np].name = mp_strndup(pat + 1, pl - 2);
            params[*np].value = mp_router__decode(path, sl, false);
            (*np)++;
        } else {
            char *seg = mp_router__decode(path, sl, false);
            bool same = strlen(seg) == pl && memcmp(seg, pat, pl) == 0;
            mp_free(seg);
            if (!same)
                goto fail;
        }
        pat += pl;
        path += sl;
    }
    if (*pat == '\0' && *path == '\0')
        return true;
fail:
    free_params(params, *np);
    *np = 0;
    return false;
}

static void allow_add(char *allow, size_t len, const char *method)
{
    size_t ml = strlen(method);
    for (const char *p = allow; (p = strstr(p, method)) != NULL; p += ml)
        if ((p == allow || p[-1] == ' ') && (p[ml] == ',' || p[ml] == '\0'))
            return;
    size_t cur = strlen(allow);
    if (cur + ml + 3 > len)
        return;
    if (cur)
        strcat(allow, ", ");
    strcat(allow, method);
}

/* True when pattern a is more specific than b (both matched one path, so they
 * have as many segments): at the first segment where one has a literal and
 * the other a {parameter}, a has the literal. "/v1/users/by-username/{name}"
 * thus wins over "/v1/users/{id}/presence" for ".../by-username/presence",
 * whatever the order of the table. */
static bool more_specific(const char *a, const char *b)
{
    while (*a == '/' && *b == '/') {
        a++;
        b++;
        size_t al = strcspn(a, "/"), bl = strcspn(b, "/");
        bool ap = al >= 2 && a[0] == '{', bp = bl >= 2 && b[0] == '{';
        if (ap != bp)
            return bp;
        a += al;
        b += bl;
    }
    return false;
}

/* One method's match (see mp_router__match). */
static const mp_route_t *match_method(const mp_route_t *routes, const char *method,
                                      const char *path, mp_kv_t *params, size_t *nparams,
                                      char *allow, size_t allowlen, int *status)
{
    mp_kv_t tmp[MP_HTTP_MAX_PARAMS];
    size_t nt;
    const mp_route_t *best = NULL;
    if (allowlen)
        allow[0] = '\0';
    *nparams = 0;
    *status = 404;
    for (const mp_route_t *r = routes; r && r->method; r++) {
        if (!match(r->pattern, path, tmp, &nt))
            continue;
        if (strcmp(r->method, method) == 0) {
            if (best == NULL || more_specific(r->pattern, best->pattern)) {
                free_params(params, *nparams);
                memcpy(params, tmp, nt * sizeof(*tmp));
                *nparams = nt;
                best = r;
            } else {
                free_params(tmp, nt);
            }
            continue;
        }
        free_params(tmp, nt);
        if (best == NULL) {
            *status = 405;
            if (allowlen) {
                allow_add(allow, allowlen, r->method);
                /* Every GET route answers HEAD too. */
                if (strcmp(r->method, "GET") == 0)
                    allow_add(allow, allowlen, "HEAD");
            }
        }
    }
    if (best != NULL && allowlen)
        allow[0] = '\0';
    return best;
}

const mp_route_t *mp_router__match(const mp_route_t *routes, const char *method, const char *path,
                                   mp_kv_t *params, size_t *nparams, char *allow, size_t allowlen,
                                   int *status)
{
    const mp_route_t *r =
        match_method(routes, method, path, params, nparams, allow, allowlen, status);
    /* HEAD is GET without the body, unless a route of its own exists. */
    if (r == NULL && strcmp(method, "HEAD") == 0)
        r = match_method(routes, "GET", path, params, nparams, allow, allowlen, status);
    return r;
}
