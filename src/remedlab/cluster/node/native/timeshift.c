/*
 * remedlab's clock-offset shim, preloaded into every container process.
 *
 * CLOCK_REALTIME (clock_gettime, gettimeofday, time) is shifted by a signed
 * number of nanoseconds read from an 8-byte file that the kubelet maps for
 * each container (REMEDLAB_TIME_OFFSET_FILE). Writing that file changes the
 * time running processes see at once: this is how a TimeChaos is injected.
 * Monotonic clocks are left alone, as Chaos Mesh does by default.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

typedef int (*clock_gettime_fn)(clockid_t, struct timespec *);

static clock_gettime_fn real_clock_gettime;
static volatile const int64_t *offset_ns;

static void remedlab_timeshift_init(void) __attribute__((constructor));

static void remedlab_timeshift_init(void) {
    real_clock_gettime = (clock_gettime_fn)dlsym(RTLD_NEXT, "clock_gettime");
    const char *path = getenv("REMEDLAB_TIME_OFFSET_FILE");
    if (path == NULL) {
        return;
    }
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        return;
    }
    void *mapped = mmap(NULL, sizeof(int64_t), PROT_READ, MAP_SHARED, fd, 0);
    close(fd);
    if (mapped != MAP_FAILED) {
        offset_ns = (volatile const int64_t *)mapped;
    }
}

static int is_realtime(clockid_t clock) {
    return clock == CLOCK_REALTIME || clock == CLOCK_REALTIME_COARSE;
}

int clock_gettime(clockid_t clock, struct timespec *ts) {
    if (real_clock_gettime == NULL) {
        real_clock_gettime = (clock_gettime_fn)dlsym(RTLD_NEXT, "clock_gettime");
    }
    int result = real_clock_gettime(clock, ts);
    if (result != 0 || ts == NULL || offset_ns == NULL || !is_realtime(clock)) {
        return result;
    }
    int64_t offset = *offset_ns;
    if (offset == 0) {
        return result;
    }
    int64_t total = (int64_t)ts->tv_sec * 1000000000LL + ts->tv_nsec + offset;
    ts->tv_sec = (time_t)(total / 1000000000LL);
    ts->tv_nsec = (long)(total % 1000000000LL);
    if (ts->tv_nsec < 0) {
        ts->tv_nsec += 1000000000L;
        ts->tv_sec -= 1;
    }
    return result;
}

int gettimeofday(struct timeval *tv, void *tz) {
    (void)tz;
    struct timespec ts;
    int result = clock_gettime(CLOCK_REALTIME, &ts);
    if (result == 0 && tv != NULL) {
        tv->tv_sec = ts.tv_sec;
        tv->tv_usec = ts.tv_nsec / 1000;
    }
    return result;
}

time_t time(time_t *out) {
    struct timespec ts;
    if (clock_gettime(CLOCK_REALTIME, &ts) != 0) {
        return (time_t)-1;
    }
    if (out != NULL) {
        *out = ts.tv_sec;
    }
    return ts.tv_sec;
}
