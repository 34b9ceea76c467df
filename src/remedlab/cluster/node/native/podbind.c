/*
 * remedlab's source-address shim, built into the same preloaded library as
 * the clock shim.
 *
 * On the embedded cluster every pod has its own loopback address
 * (REMEDLAB_POD_IP) and the cluster's proxy tells callers apart by the source
 * address of their connections. A TCP socket that a program connects to a
 * loopback destination without binding it first is bound to the pod's address
 * here, so database drivers, cache clients and command-line tools inside the
 * pod are seen as that pod without knowing about it. Sockets already bound,
 * other families and other destinations are left alone.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <dlfcn.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

typedef int (*connect_fn)(int, const struct sockaddr *, socklen_t);

static connect_fn real_connect;
static struct in_addr pod_addr;
static int pod_addr_state; /* 0 unknown, 1 set, -1 absent */

static int pod_address(struct in_addr *out) {
    if (pod_addr_state == 0) {
        const char *text = getenv("REMEDLAB_POD_IP");
        pod_addr_state = (text != NULL && inet_pton(AF_INET, text, &pod_addr) == 1) ? 1 : -1;
    }
    if (pod_addr_state != 1) {
        return 0;
    }
    *out = pod_addr;
    return 1;
}

static int is_loopback(const struct sockaddr *addr, socklen_t len) {
    if (addr == NULL || len < (socklen_t)sizeof(struct sockaddr_in) || addr->sa_family != AF_INET) {
        return 0;
    }
    const struct sockaddr_in *in = (const struct sockaddr_in *)addr;
    return (ntohl(in->sin_addr.s_addr) >> 24) == 127;
}

static void bind_to_pod(int fd) {
    struct in_addr source;
    if (!pod_address(&source)) {
        return;
    }
    int type = 0;
    socklen_t type_len = sizeof(type);
    if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &type_len) != 0 || type != SOCK_STREAM) {
        return;
    }
    struct sockaddr_in bound;
    socklen_t bound_len = sizeof(bound);
    memset(&bound, 0, sizeof(bound));
    if (getsockname(fd, (struct sockaddr *)&bound, &bound_len) != 0 || bound.sin_family != AF_INET) {
        return;
    }
    if (bound.sin_port != 0 || bound.sin_addr.s_addr != htonl(INADDR_ANY)) {
        return; /* the program chose its own address */
    }
    struct sockaddr_in local;
    memset(&local, 0, sizeof(local));
    local.sin_family = AF_INET;
    local.sin_addr = source;
    local.sin_port = 0;
    (void)bind(fd, (const struct sockaddr *)&local, sizeof(local)); /* on failure the kernel picks */
}

int connect(int fd, const struct sockaddr *addr, socklen_t len) {
    if (real_connect == NULL) {
        real_connect = (connect_fn)dlsym(RTLD_NEXT, "connect");
    }
    if (is_loopback(addr, len)) {
        bind_to_pod(fd);
    }
    return real_connect(fd, addr, len);
}
