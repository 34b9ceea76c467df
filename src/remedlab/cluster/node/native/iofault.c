/*
 * remedlab's IO-fault shim, preloaded into every container process with the clock shim.
 *
 * An IOChaos mounts remedlab's FUSE filesystem over the volume, which faults every
 * file opened after the injection. Files a process opened before (a database's data
 * and WAL files) keep their old descriptors and would bypass it; Chaos Mesh swaps
 * such descriptors with ptrace. Here the shim faults them instead: reads, writes and
 * syncs on a descriptor whose file lies under a faulted volume (and not on the FUSE
 * mount, which faults by itself) are delayed or failed with the fault's errno, with
 * the fault's probability.
 *
 * The kubelet maps a control file per container (REMEDLAB_IO_FAULT_FILE); the fault
 * runtime writes the faults into it under a sequence counter (even: stable), so a
 * running process sees a fault start and stop at once. With no fault the cost is one
 * memory read per call.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/statfs.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#define IOF_MAX_FAULTS 4
#define IOF_PREFIX 256
#define IOF_GLOB 128
#define IOF_FUSE_MAGIC 0x65735546
#define IOF_READ 1u
#define IOF_WRITE 2u
#define IOF_SYNC 4u

struct iof_fault {
    char prefix[IOF_PREFIX];   /* the volume's directory on the host */
    char glob[IOF_GLOB];       /* optional glob on the whole path ("" = any) */
    uint64_t delay_ns;
    uint32_t percent;          /* 1..100 */
    int32_t err;               /* 0: latency only; else fail with this errno */
    uint32_t methods;          /* IOF_* bits */
    uint32_t pad;
};

struct iof_control {
    volatile uint32_t sequence;
    volatile uint32_t count;
    struct iof_fault faults[IOF_MAX_FAULTS];
};

static struct iof_control *control;

typedef ssize_t (*read_fn)(int, void *, size_t);
typedef ssize_t (*write_fn)(int, const void *, size_t);
typedef ssize_t (*pread_fn)(int, void *, size_t, off_t);
typedef ssize_t (*pwrite_fn)(int, const void *, size_t, off_t);
typedef ssize_t (*readv_fn)(int, const struct iovec *, int);
typedef int (*sync_fn)(int);

static void remedlab_iofault_init(void) __attribute__((constructor));

static void remedlab_iofault_init(void) {
    const char *path = getenv("REMEDLAB_IO_FAULT_FILE");
    if (path == NULL) {
        return;
    }
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        return;
    }
    void *mapped = mmap(NULL, sizeof(struct iof_control), PROT_READ, MAP_SHARED, fd, 0);
    close(fd);
    if (mapped != MAP_FAILED) {
        control = (struct iof_control *)mapped;
    }
}

static uint32_t iof_random(void) {
    static __thread uint64_t state;
    if (state == 0) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        state = ((uint64_t)getpid() << 32) ^ (uint64_t)ts.tv_nsec ^ (uint64_t)(uintptr_t)&ts;
        if (state == 0) {
            state = 88172645463325252ULL;
        }
    }
    state ^= state << 13;
    state ^= state >> 7;
    state ^= state << 17;
    return (uint32_t)(state >> 16);
}

/* The fault to apply to this call on fd (copied under the sequence counter), or 0. */
static int iof_match(int fd, uint32_t method, struct iof_fault *out) {
    if (control == NULL || control->count == 0) {
        return 0;
    }
    struct iof_fault faults[IOF_MAX_FAULTS];
    uint32_t count;
    for (int tries = 0;; tries++) {
        uint32_t before = __atomic_load_n(&control->sequence, __ATOMIC_ACQUIRE);
        count = control->count;
        if (count > IOF_MAX_FAULTS) {
            count = IOF_MAX_FAULTS;
        }
        memcpy(faults, (const void *)control->faults, sizeof(struct iof_fault) * count);
        __atomic_thread_fence(__ATOMIC_ACQUIRE);
        uint32_t after = __atomic_load_n(&control->sequence, __ATOMIC_ACQUIRE);
        if (before == after && (before & 1u) == 0) {
            break;
        }
        if (tries > 100) {
            return 0;
        }
    }
    if (count == 0) {
        return 0;
    }
    char link[64];
    char target[4096];
    snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
    ssize_t n = readlink(link, target, sizeof(target) - 1);
    if (n <= 0 || target[0] != '/') {
        return 0;
    }
    target[n] = '\0';
    int checked_fs = 0;
    for (uint32_t i = 0; i < count; i++) {
        struct iof_fault *f = &faults[i];
        f->prefix[IOF_PREFIX - 1] = '\0';
        f->glob[IOF_GLOB - 1] = '\0';
        size_t len = strlen(f->prefix);
        if (len == 0 || (f->methods & method) == 0 || strncmp(target, f->prefix, len) != 0) {
            continue;
        }
        if (target[len] != '/' && target[len] != '\0') {
            continue;
        }
        if (f->glob[0] != '\0' && fnmatch(f->glob, target, 0) != 0) {
            continue;
        }
        if (!checked_fs) {
            struct statfs fs;
            if (fstatfs(fd, &fs) == 0 && (uint32_t)fs.f_type == IOF_FUSE_MAGIC) {
                return 0; /* opened through the fault filesystem: it applies the fault itself */
            }
            checked_fs = 1;
        }
        if (iof_random() % 100u >= f->percent) {
            continue;
        }
        *out = *f;
        return 1;
    }
    return 0;
}

/* Apply the fault for this call; -1 with errno set when the call must fail. */
static int iof_apply(int fd, uint32_t method) {
    struct iof_fault fault;
    if (!iof_match(fd, method, &fault)) {
        return 0;
    }
    if (fault.delay_ns > 0) {
        struct timespec wait = {(time_t)(fault.delay_ns / 1000000000ULL), (long)(fault.delay_ns % 1000000000ULL)};
        while (nanosleep(&wait, &wait) != 0 && errno == EINTR) {
        }
    }
    if (fault.err != 0) {
        errno = fault.err;
        return -1;
    }
    return 0;
}

#define IOF_REAL(type, name) \
    static type real_##name; \
    if (real_##name == NULL) { \
        real_##name = (type)dlsym(RTLD_NEXT, #name); \
    }

ssize_t read(int fd, void *buf, size_t size) {
    IOF_REAL(read_fn, read);
    if (iof_apply(fd, IOF_READ) < 0) {
        return -1;
    }
    return real_read(fd, buf, size);
}

ssize_t write(int fd, const void *buf, size_t size) {
    IOF_REAL(write_fn, write);
    if (iof_apply(fd, IOF_WRITE) < 0) {
        return -1;
    }
    return real_write(fd, buf, size);
}

ssize_t pread(int fd, void *buf, size_t size, off_t offset) {
    IOF_REAL(pread_fn, pread);
    if (iof_apply(fd, IOF_READ) < 0) {
        return -1;
    }
    return real_pread(fd, buf, size, offset);
}

ssize_t pwrite(int fd, const void *buf, size_t size, off_t offset) {
    IOF_REAL(pwrite_fn, pwrite);
    if (iof_apply(fd, IOF_WRITE) < 0) {
        return -1;
    }
    return real_pwrite(fd, buf, size, offset);
}

ssize_t pread64(int fd, void *buf, size_t size, off_t offset) {
    IOF_REAL(pread_fn, pread64);
    if (iof_apply(fd, IOF_READ) < 0) {
        return -1;
    }
    return real_pread64(fd, buf, size, offset);
}

ssize_t pwrite64(int fd, const void *buf, size_t size, off_t offset) {
    IOF_REAL(pwrite_fn, pwrite64);
    if (iof_apply(fd, IOF_WRITE) < 0) {
        return -1;
    }
    return real_pwrite64(fd, buf, size, offset);
}

ssize_t readv(int fd, const struct iovec *iov, int count) {
    IOF_REAL(readv_fn, readv);
    if (iof_apply(fd, IOF_READ) < 0) {
        return -1;
    }
    return real_readv(fd, iov, count);
}

ssize_t writev(int fd, const struct iovec *iov, int count) {
    IOF_REAL(readv_fn, writev);
    if (iof_apply(fd, IOF_WRITE) < 0) {
        return -1;
    }
    return real_writev(fd, iov, count);
}

int fsync(int fd) {
    IOF_REAL(sync_fn, fsync);
    if (iof_apply(fd, IOF_SYNC) < 0) {
        return -1;
    }
    return real_fsync(fd);
}

int fdatasync(int fd) {
    IOF_REAL(sync_fn, fdatasync);
    if (iof_apply(fd, IOF_SYNC) < 0) {
        return -1;
    }
    return real_fdatasync(fd);
}
