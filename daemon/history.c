/* history.c — the recorded hosts and pairing epochs, in memory. */
#include "history.h"

#include "util.h"

static int host_cmp(const char *meeting, int64_t start, const HostRecord *r)
{
        int c = strcmp(meeting, r->meeting);
        return c ? c : start < r->start ? -1 : start > r->start;
}

const char *history_host(const History *h, const char *meeting, int64_t start)
{
        size_t lo = 0, hi = h ? h->n_hosts : 0;
        while (lo < hi) {
                size_t mid = lo + (hi - lo) / 2;
                int c = host_cmp(meeting, start, &h->hosts[mid]);
                if (c == 0)
                        return h->hosts[mid].host;
                if (c < 0)
                        hi = mid;
                else
                        lo = mid + 1;
        }
        return NULL;
}

/* Kept sorted: records arrive in order from the ledger, so this appends. */
void history_add_host(History *h, const char *meeting, int64_t start, const char *host)
{
        size_t at = h->n_hosts;
        while (at > 0 && host_cmp(meeting, start, &h->hosts[at - 1]) < 0)
                at--;
        if (at > 0 && host_cmp(meeting, start, &h->hosts[at - 1]) == 0)
                return; /* the first record stands */
        GROW(h->hosts, h->n_hosts, h->alloc_hosts);
        memmove(&h->hosts[at + 1], &h->hosts[at], (h->n_hosts - at) * sizeof *h->hosts);
        h->hosts[at] = (HostRecord){xstrdup(meeting), start, xstrdup(host)};
        h->n_hosts++;
}

Epoch *history_add_epoch(History *h, const char *pairing, unsigned n, int64_t from, char *const *departments,
                         size_t n_departments)
{
        size_t at = h->n_epochs;
        while (at > 0 && (strcmp(pairing, h->epochs[at - 1].pairing) < 0 ||
                          (streq(pairing, h->epochs[at - 1].pairing) && n < h->epochs[at - 1].n)))
                at--;
        GROW(h->epochs, h->n_epochs, h->alloc_epochs);
        memmove(&h->epochs[at + 1], &h->epochs[at], (h->n_epochs - at) * sizeof *h->epochs);
        h->n_epochs++;
        Epoch *e = &h->epochs[at];
        *e = (Epoch){xstrdup(pairing), n, from, xcalloc(n_departments + 1, sizeof(char *)), n_departments, false};
        for (size_t i = 0; i < n_departments; i++)
                e->departments[i] = xstrdup(departments[i]);
        return e;
}

void history_clear(History *h)
{
        if (!h)
                return;
        for (size_t i = 0; i < h->n_hosts; i++)
                free(h->hosts[i].meeting), free(h->hosts[i].host);
        for (size_t i = 0; i < h->n_epochs; i++) {
                free(h->epochs[i].pairing);
                strv_free(h->epochs[i].departments, h->epochs[i].n_departments);
        }
        free(h->hosts);
        free(h->epochs);
        *h = (History){0};
}
