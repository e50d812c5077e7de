/* okof_err.c -- result codes as text and as short names. */
#include <errno.h>
#include <string.h>

#include "okof.h"

struct errname {
    int code;
    const char *name;
};

#define E(x) {x, #x}
static const struct errname errnames[] = {
    E(EPERM), E(ENOENT), E(EINTR), E(EIO), E(ENXIO), E(E2BIG), E(EBADF),
    E(EAGAIN), E(ENOMEM), E(EACCES), E(EFAULT), E(EBUSY), E(EEXIST),
    E(EXDEV), E(ENODEV), E(ENOTDIR), E(EISDIR), E(EINVAL), E(ENFILE),
    E(EMFILE), E(ETXTBSY), E(EFBIG), E(ENOSPC), E(ESPIPE), E(EROFS),
    E(EMLINK), E(EPIPE), E(ERANGE), E(ENAMETOOLONG), E(ENOTEMPTY),
    E(ELOOP), E(EOVERFLOW), E(ENOTSUP), E(ETIMEDOUT), E(ESTALE),
    E(EDQUOT), E(ENOSYS), E(ECANCELED), E(EILSEQ), E(EPROTO),
    E(ECONNREFUSED),
#ifdef EOPNOTSUPP
#if EOPNOTSUPP != ENOTSUP
    E(EOPNOTSUPP),
#endif
#endif
#ifdef EWOULDBLOCK
#if EWOULDBLOCK != EAGAIN
    E(EWOULDBLOCK),
#endif
#endif
#ifdef EUCLEAN
    E(EUCLEAN),
#endif
#ifdef ENOLINK
    E(ENOLINK),
#endif
#ifdef EREMOTEIO
    E(EREMOTEIO),
#endif
};
#undef E

const char *okof_strerror(int rc)
{
    switch (rc) {
    case 0:
        return "success";
    case OKOF_NOTFOUND:
        return "no value for this key";
    case OKOF_CORRUPT:
        return "value file is corrupt (failed verification)";
    case OKOF_EBADKEY:
        return "invalid key (empty, or its file name would exceed 255 bytes)";
    case OKOF_EXISTS:
        return "the key already has a value";
    case OKOF_EUNAVAILABLE:
        return "the etcd cluster has no leader or no quorum";
    case OKOF_ECOMPACTED:
        return "the walk's revision was compacted by the etcd cluster";
    default:
        return rc < 0 ? strerror(-rc) : "unknown result code";
    }
}

const char *okof_errname(int rc)
{
    size_t i;
    switch (rc) {
    case 0:
        return "OK";
    case OKOF_NOTFOUND:
        return "NOTFOUND";
    case OKOF_CORRUPT:
        return "CORRUPT";
    case OKOF_EBADKEY:
        return "EBADKEY";
    case OKOF_EXISTS:
        return "EXISTS";
    case OKOF_EUNAVAILABLE:
        return "EUNAVAILABLE";
    case OKOF_ECOMPACTED:
        return "ECOMPACTED";
    }
    for (i = 0; i < sizeof errnames / sizeof errnames[0]; i++)
        if (errnames[i].code == -rc)
            return errnames[i].name;
    return "EUNKNOWN";
}
