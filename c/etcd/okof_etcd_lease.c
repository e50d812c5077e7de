/* okof_etcd_lease.c -- the leases a handle keeps for values with a ttl.
 * A value's header holds its exact expiry; its lease only lets the
 * cluster remove it. So values share leases: one that ends at or after a
 * value's expiry, within a slack (1 s, or a tenth of the ttl when that is
 * more), serves every value of that bucket, and a put with a ttl asks for
 * a new lease only when none of the handle's fits. */
#include "okof_etcd_int.h"

#include <string.h>

/* How much later than its value a lease may end. */
static uint64_t slack(int64_t ttl_ms)
{
    return ttl_ms / 10 > 1000 ? (uint64_t)(ttl_ms / 10) : 1000;
}

long long okof__lease_find(const okof_etcd_t *h, uint64_t expiry, int64_t ttl_ms)
{
    size_t i;
    for (i = 0; i < OKOF__ETCD_LEASES; i++) {
        const okof__elease *l = &h->leases[i];
        if (l->id != 0 && l->expiry >= expiry && l->expiry - expiry <= slack(ttl_ms))
            return l->id;
    }
    return 0;
}

long long okof__lease_seconds(uint64_t expiry, int64_t ttl_ms, uint64_t now)
{
    /* to half the slack past the value, so later values fit it too */
    uint64_t ms = (expiry > now ? expiry - now : 0) + slack(ttl_ms) / 2;
    uint64_t s = ms / 1000 + (ms % 1000 != 0);
    return s > (uint64_t)OKOF__EP_LEASE_MAX ? OKOF__EP_LEASE_MAX : (long long)s;
}

void okof__lease_keep(okof_etcd_t *h, long long id, uint64_t asked_at,
                      long long ttl_s)
{
    size_t i, at = 0;
    /* the slot of the lease that ends first (a free one ends at 0) */
    for (i = 0; i < OKOF__ETCD_LEASES; i++)
        if (h->leases[i].id == 0 || h->leases[i].expiry < h->leases[at].expiry)
            at = i;
    h->leases[at].id = id;
    h->leases[at].expiry = asked_at + (uint64_t)ttl_s * 1000;
}

void okof__lease_drop(okof_etcd_t *h, long long id)
{
    size_t i;
    for (i = 0; i < OKOF__ETCD_LEASES; i++)
        if (h->leases[i].id == id)
            memset(&h->leases[i], 0, sizeof h->leases[i]);
}
