/*
 * remedlab's resolver shim, built into the same preloaded library as the
 * clock shim.
 *
 * When REMEDLAB_DNS_SERVER names the cluster DNS server (ip:port), the libc
 * name lookups of a pod's processes resolve through it, as a resolver reading
 * the pod's resolv.conf would: getaddrinfo, gethostbyname, gethostbyname2,
 * their _r forms, gethostbyaddr(_r), getnameinfo, res_query and res_search.
 * The pod's hosts file (REMEDLAB_HOSTS_FILE) is read first; the search list
 * and ndots come from the pod's resolv.conf (REMEDLAB_RESOLV_CONF). Numeric
 * hosts go to libc with AI_NUMERICHOST; the host's own name is the pod's.
 * Nothing else is resolved by the host: a name the cluster DNS does not know
 * fails with EAI_NONAME / HOST_NOT_FOUND, and no query goes anywhere but to
 * the cluster DNS server. Without REMEDLAB_DNS_SERVER every call goes to libc.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <arpa/nameser.h>
#include <ctype.h>
#include <dlfcn.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <resolv.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#define RL_MAX_SEARCH 32
#define RL_NAME_MAX 254
#define RL_MAX_ADDRS 64
#define RL_PACKET 65536
#define RL_UDP_PACKET 1232
#define RL_DEFAULT_NDOTS 1
#define RL_TIMEOUT_MS 2000
#define RL_ATTEMPTS 2

enum lookup_result { RL_FOUND = 1, RL_NODATA = 0, RL_NXDOMAIN = -1, RL_FAILED = -2 };

struct rl_addr {
    int family;
    unsigned char bytes[16];
};

struct rl_addrs {
    int count;
    struct rl_addr items[RL_MAX_ADDRS];
    char canonical[RL_NAME_MAX + 2];
};

static struct {
    int active;
    struct sockaddr_in server;
    char search[RL_MAX_SEARCH][RL_NAME_MAX + 2];
    int nsearch;
    int ndots;
    int timeout_ms;
    int attempts;
    char hosts[4096];
    char nodename[256];
    struct in_addr pod_ip;
    int has_pod_ip;
} rl;

typedef int (*getaddrinfo_fn)(const char *, const char *, const struct addrinfo *, struct addrinfo **);
typedef int (*getnameinfo_fn)(const struct sockaddr *, socklen_t, char *, socklen_t, char *, socklen_t, int);
static getaddrinfo_fn real_getaddrinfo;
static getnameinfo_fn real_getnameinfo;

static void rl_load_resolv_conf(const char *path) {
    FILE *f = fopen(path, "re");
    if (f == NULL) {
        return;
    }
    char line[4096];
    while (fgets(line, sizeof(line), f) != NULL) {
        char *save = NULL;
        char *key = strtok_r(line, " \t\r\n", &save);
        if (key == NULL || key[0] == '#' || key[0] == ';') {
            continue;
        }
        if (strcmp(key, "search") == 0 || strcmp(key, "domain") == 0) {
            rl.nsearch = 0;
            char *word;
            while ((word = strtok_r(NULL, " \t\r\n", &save)) != NULL && rl.nsearch < RL_MAX_SEARCH) {
                if (word[0] == '#' || word[0] == ';') {
                    break;
                }
                snprintf(rl.search[rl.nsearch++], RL_NAME_MAX + 2, "%s", word);
            }
        } else if (strcmp(key, "options") == 0) {
            char *word;
            while ((word = strtok_r(NULL, " \t\r\n", &save)) != NULL) {
                if (strncmp(word, "ndots:", 6) == 0) {
                    int n = atoi(word + 6);
                    rl.ndots = n < 0 ? 0 : (n > 15 ? 15 : n);
                } else if (strncmp(word, "timeout:", 8) == 0) {
                    int n = atoi(word + 8);
                    rl.timeout_ms = (n < 1 ? 1 : (n > 30 ? 30 : n)) * 1000;
                } else if (strncmp(word, "attempts:", 9) == 0) {
                    int n = atoi(word + 9);
                    rl.attempts = n < 1 ? 1 : (n > 5 ? 5 : n);
                }
            }
        }
    }
    fclose(f);
}

__attribute__((constructor)) static void rl_init(void) {
    real_getaddrinfo = (getaddrinfo_fn)dlsym(RTLD_NEXT, "getaddrinfo");
    real_getnameinfo = (getnameinfo_fn)dlsym(RTLD_NEXT, "getnameinfo");
    rl.ndots = RL_DEFAULT_NDOTS;
    rl.timeout_ms = RL_TIMEOUT_MS;
    rl.attempts = RL_ATTEMPTS;
    const char *server = getenv("REMEDLAB_DNS_SERVER");
    if (server == NULL || server[0] == '\0') {
        return;
    }
    char host[64];
    const char *colon = strrchr(server, ':');
    size_t host_len = colon != NULL ? (size_t)(colon - server) : strlen(server);
    if (host_len == 0 || host_len >= sizeof(host)) {
        return;
    }
    memcpy(host, server, host_len);
    host[host_len] = '\0';
    int port = colon != NULL ? atoi(colon + 1) : 53;
    memset(&rl.server, 0, sizeof(rl.server));
    rl.server.sin_family = AF_INET;
    rl.server.sin_port = htons((uint16_t)port);
    if (port <= 0 || port > 65535 || inet_pton(AF_INET, host, &rl.server.sin_addr) != 1) {
        return;
    }
    const char *resolv_conf = getenv("REMEDLAB_RESOLV_CONF");
    if (resolv_conf != NULL && resolv_conf[0] != '\0') {
        rl_load_resolv_conf(resolv_conf);
    }
    const char *hosts = getenv("REMEDLAB_HOSTS_FILE");
    if (hosts != NULL) {
        snprintf(rl.hosts, sizeof(rl.hosts), "%s", hosts);
    }
    struct utsname uts;
    if (uname(&uts) == 0) {
        snprintf(rl.nodename, sizeof(rl.nodename), "%s", uts.nodename);
    }
    const char *pod_ip = getenv("REMEDLAB_POD_IP");
    rl.has_pod_ip = pod_ip != NULL && inet_pton(AF_INET, pod_ip, &rl.pod_ip) == 1;
    rl.active = 1;
}

/* ------------------------------------------------------------------ the DNS wire */

static int rl_encode_name(const char *name, unsigned char *out, int room) {
    int pos = 0;
    const char *label = name;
    while (*label != '\0') {
        const char *dot = strchr(label, '.');
        int len = dot != NULL ? (int)(dot - label) : (int)strlen(label);
        if (len == 0 || len > 63 || pos + len + 2 > room) {
            return -1;
        }
        out[pos++] = (unsigned char)len;
        memcpy(out + pos, label, (size_t)len);
        pos += len;
        if (dot == NULL) {
            break;
        }
        label = dot + 1;
    }
    if (pos + 1 > room) {
        return -1;
    }
    out[pos++] = 0;
    return pos;
}

static int rl_skip_name(const unsigned char *msg, int len, int off) {
    while (off < len) {
        unsigned char c = msg[off];
        if ((c & 0xC0) == 0xC0) {
            return off + 2 <= len ? off + 2 : -1;
        }
        if (c == 0) {
            return off + 1;
        }
        off += c + 1;
    }
    return -1;
}

static int rl_exchange_tcp(const unsigned char *query, int qlen, unsigned char *answer, int room) {
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        return -1;
    }
    int got = -1;
    unsigned char prefix[2] = {(unsigned char)(qlen >> 8), (unsigned char)qlen};
    struct pollfd p = {fd, POLLIN, 0};
    if (connect(fd, (struct sockaddr *)&rl.server, sizeof(rl.server)) == 0 && send(fd, prefix, 2, MSG_NOSIGNAL) == 2
        && send(fd, query, (size_t)qlen, MSG_NOSIGNAL) == qlen) {
        unsigned char head[2];
        int have = 0;
        while (have < 2 && poll(&p, 1, rl.timeout_ms) == 1) {
            ssize_t n = recv(fd, head + have, (size_t)(2 - have), 0);
            if (n <= 0) {
                break;
            }
            have += (int)n;
        }
        int want = have == 2 ? (head[0] << 8) | head[1] : -1;
        if (want > 0 && want <= room) {
            have = 0;
            while (have < want && poll(&p, 1, rl.timeout_ms) == 1) {
                ssize_t n = recv(fd, answer + have, (size_t)(want - have), 0);
                if (n <= 0) {
                    break;
                }
                have += (int)n;
            }
            got = have == want ? want : -1;
        }
    }
    close(fd);
    return got;
}

/* One question to the cluster DNS: the answer's length in `answer`, or -1. */
static int rl_exchange(const char *name, int qtype, unsigned char *answer, int room) {
    unsigned char query[RL_NAME_MAX + 32];
    uint16_t id = 0;
    if (getrandom(&id, sizeof(id), GRND_NONBLOCK) != (ssize_t)sizeof(id)) {
        id = (uint16_t)(time(NULL) ^ getpid());
    }
    memset(query, 0, 12);
    query[0] = (unsigned char)(id >> 8);
    query[1] = (unsigned char)id;
    query[2] = 0x01; /* RD */
    query[5] = 1;    /* one question */
    int n = rl_encode_name(name, query + 12, (int)sizeof(query) - 16);
    if (n < 0) {
        return -1;
    }
    int qlen = 12 + n;
    query[qlen++] = (unsigned char)(qtype >> 8);
    query[qlen++] = (unsigned char)qtype;
    query[qlen++] = 0;
    query[qlen++] = 1; /* IN */
    int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        return -1;
    }
    int got = -1;
    if (connect(fd, (struct sockaddr *)&rl.server, sizeof(rl.server)) == 0) {
        for (int attempt = 0; attempt < rl.attempts && got < 0; attempt++) {
            if (send(fd, query, (size_t)qlen, 0) != qlen) {
                break;
            }
            struct pollfd p = {fd, POLLIN, 0};
            while (poll(&p, 1, rl.timeout_ms) == 1) {
                ssize_t r = recv(fd, answer, (size_t)(room < RL_UDP_PACKET ? room : RL_UDP_PACKET), 0);
                if (r < 0) {
                    attempt = rl.attempts; /* refused: no server there */
                    break;
                }
                if (r >= 12 && answer[0] == query[0] && answer[1] == query[1] && (answer[2] & 0x80)) {
                    got = (int)r;
                    break;
                }
            }
        }
    }
    close(fd);
    if (got >= 12 && (answer[2] & 0x02)) { /* truncated: again over TCP */
        int tcp = rl_exchange_tcp(query, qlen, answer, room);
        if (tcp >= 12 && answer[0] == query[0] && answer[1] == query[1]) {
            got = tcp;
        }
    }
    return got;
}

static int rl_rcode(const unsigned char *msg) {
    return msg[3] & 0x0F;
}

/* The records of type `qtype` (A or AAAA) in an answer, appended to `out`. */
static int rl_collect(const unsigned char *msg, int len, int qtype, struct rl_addrs *out) {
    int qd = (msg[4] << 8) | msg[5];
    int an = (msg[6] << 8) | msg[7];
    int off = 12;
    for (int i = 0; i < qd && off >= 0; i++) {
        off = rl_skip_name(msg, len, off);
        off = off >= 0 ? off + 4 : -1;
    }
    int found = 0;
    for (int i = 0; i < an && off >= 0 && off < len; i++) {
        off = rl_skip_name(msg, len, off);
        if (off < 0 || off + 10 > len) {
            break;
        }
        int type = (msg[off] << 8) | msg[off + 1];
        int rdlen = (msg[off + 8] << 8) | msg[off + 9];
        off += 10;
        if (off + rdlen > len) {
            break;
        }
        int size = type == 1 ? 4 : (type == 28 ? 16 : 0);
        if (type == qtype && rdlen == size && out->count < RL_MAX_ADDRS) {
            struct rl_addr *a = &out->items[out->count++];
            a->family = type == 1 ? AF_INET : AF_INET6;
            memcpy(a->bytes, msg + off, (size_t)size);
            found++;
        }
        off += rdlen;
    }
    return found;
}

/* ------------------------------------------------------------------ names */

static int rl_name_ok(const char *name) {
    size_t len = strlen(name);
    return len > 0 && len <= RL_NAME_MAX && name[0] != '.' && strstr(name, "..") == NULL;
}

static int rl_is_localhost(const char *name) {
    size_t len = strlen(name);
    if (len > 0 && name[len - 1] == '.') {
        len--;
    }
    if (len == 9 && strncasecmp(name, "localhost", 9) == 0) {
        return 1;
    }
    return len > 10 && strncasecmp(name + len - 10, ".localhost", 10) == 0;
}

static void rl_add_addr(struct rl_addrs *out, int family, const void *bytes) {
    if (out->count >= RL_MAX_ADDRS) {
        return;
    }
    struct rl_addr *a = &out->items[out->count++];
    a->family = family;
    memcpy(a->bytes, bytes, family == AF_INET ? 4 : 16);
}

/* The hosts file's addresses for `name` (as given, without search), of `family` or any (AF_UNSPEC). */
static int rl_hosts_lookup(const char *name, int family, struct rl_addrs *out) {
    if (rl.hosts[0] == '\0') {
        return 0;
    }
    FILE *f = fopen(rl.hosts, "re");
    if (f == NULL) {
        return 0;
    }
    size_t want = strlen(name);
    if (want > 0 && name[want - 1] == '.') {
        want--;
    }
    char line[4096];
    int found = 0;
    while (fgets(line, sizeof(line), f) != NULL) {
        char *hash = strchr(line, '#');
        if (hash != NULL) {
            *hash = '\0';
        }
        char *save = NULL;
        char *ip = strtok_r(line, " \t\r\n", &save);
        if (ip == NULL) {
            continue;
        }
        unsigned char bytes[16];
        int af = inet_pton(AF_INET, ip, bytes) == 1 ? AF_INET : (inet_pton(AF_INET6, ip, bytes) == 1 ? AF_INET6 : 0);
        if (af == 0 || (family != AF_UNSPEC && family != af)) {
            continue;
        }
        char *first = strtok_r(NULL, " \t\r\n", &save);
        for (char *alias = first; alias != NULL; alias = strtok_r(NULL, " \t\r\n", &save)) {
            if (strlen(alias) == want && strncasecmp(alias, name, want) == 0) {
                if (found == 0) {
                    snprintf(out->canonical, sizeof(out->canonical), "%s", first);
                }
                rl_add_addr(out, af, bytes);
                found++;
                break;
            }
        }
    }
    fclose(f);
    return found;
}

/* The hosts file's first name for an address. */
static int rl_hosts_reverse(int family, const void *bytes, char *name, size_t room) {
    if (rl.hosts[0] == '\0') {
        return 0;
    }
    FILE *f = fopen(rl.hosts, "re");
    if (f == NULL) {
        return 0;
    }
    char line[4096];
    int found = 0;
    while (!found && fgets(line, sizeof(line), f) != NULL) {
        char *hash = strchr(line, '#');
        if (hash != NULL) {
            *hash = '\0';
        }
        char *save = NULL;
        char *ip = strtok_r(line, " \t\r\n", &save);
        char *first = ip != NULL ? strtok_r(NULL, " \t\r\n", &save) : NULL;
        unsigned char parsed[16];
        if (first != NULL && inet_pton(family, ip, parsed) == 1
            && memcmp(parsed, bytes, family == AF_INET ? 4 : 16) == 0) {
            snprintf(name, room, "%s", first);
            found = 1;
        }
    }
    fclose(f);
    return found;
}

/* One fully qualified name asked for A records. */
static int rl_query_one(const char *fqdn, struct rl_addrs *out, unsigned char *buf) {
    int len = rl_exchange(fqdn, 1, buf, RL_PACKET);
    if (len < 12) {
        return RL_FAILED;
    }
    int rcode = rl_rcode(buf);
    if (rcode == 3) {
        return RL_NXDOMAIN;
    }
    if (rcode != 0) {
        return RL_FAILED;
    }
    if (rl_collect(buf, len, 1, out) > 0) {
        snprintf(out->canonical, sizeof(out->canonical), "%s", fqdn);
        return RL_FOUND;
    }
    return RL_NODATA;
}

/* `name` through the search list, as res_search orders it. */
static int rl_search(const char *name, struct rl_addrs *out) {
    unsigned char *buf = malloc(RL_PACKET);
    if (buf == NULL) {
        return RL_FAILED;
    }
    char fqdn[RL_NAME_MAX * 2 + 2];
    size_t len = strlen(name);
    int dots = 0;
    for (const char *p = name; *p != '\0'; p++) {
        dots += *p == '.';
    }
    int result = RL_NXDOMAIN;
    int nodata = 0;
    int failed = 0;
    if (name[len - 1] == '.') {
        snprintf(fqdn, sizeof(fqdn), "%.*s", (int)(len - 1), name);
        result = rl_query_one(fqdn, out, buf);
        free(buf);
        return result;
    }
    int as_is_first = dots >= rl.ndots;
    if (as_is_first) {
        result = rl_query_one(name, out, buf);
        if (result == RL_FOUND) {
            free(buf);
            return result;
        }
        nodata |= result == RL_NODATA;
        failed |= result == RL_FAILED;
    }
    for (int i = 0; i < rl.nsearch; i++) {
        if ((size_t)snprintf(fqdn, sizeof(fqdn), "%s.%s", name, rl.search[i]) > RL_NAME_MAX) {
            continue;
        }
        result = rl_query_one(fqdn, out, buf);
        if (result == RL_FOUND) {
            free(buf);
            return result;
        }
        nodata |= result == RL_NODATA;
        failed |= result == RL_FAILED;
    }
    if (!as_is_first) {
        result = rl_query_one(name, out, buf);
        if (result == RL_FOUND) {
            free(buf);
            return result;
        }
        nodata |= result == RL_NODATA;
        failed |= result == RL_FAILED;
    }
    free(buf);
    return nodata ? RL_NODATA : (failed ? RL_FAILED : RL_NXDOMAIN);
}

/* A name's addresses of `family` (AF_UNSPEC: any): the hosts file, localhost, the node's own name
 * (the pod's), then the cluster DNS. IPv6 addresses come only from the hosts file: the cluster's
 * addresses are all IPv4, so a cluster name asked for AF_INET6 has no data. */
static int rl_lookup(const char *name, int family, struct rl_addrs *out) {
    memset(out, 0, sizeof(*out));
    if (!rl_name_ok(name)) {
        return RL_NXDOMAIN;
    }
    if (rl_hosts_lookup(name, family, out) > 0) {
        return RL_FOUND;
    }
    if (rl_hosts_lookup(name, AF_UNSPEC, out) > 0) {
        out->count = 0;
        return RL_NODATA;
    }
    if (rl_is_localhost(name)) {
        static const unsigned char v4[4] = {127, 0, 0, 1};
        if (family != AF_INET6) {
            rl_add_addr(out, AF_INET, v4);
        }
        if (family != AF_INET) {
            rl_add_addr(out, AF_INET6, &in6addr_loopback);
        }
        snprintf(out->canonical, sizeof(out->canonical), "localhost");
        return RL_FOUND;
    }
    if (rl.has_pod_ip && rl.nodename[0] != '\0' && strcasecmp(name, rl.nodename) == 0) {
        if (family == AF_INET6) {
            return RL_NODATA;
        }
        rl_add_addr(out, AF_INET, &rl.pod_ip);
        snprintf(out->canonical, sizeof(out->canonical), "%s", name);
        return RL_FOUND;
    }
    int result = rl_search(name, out);
    if (result == RL_FOUND && family == AF_INET6) {
        out->count = 0;
        return RL_NODATA;
    }
    return result;
}

/* ------------------------------------------------------------------ getaddrinfo */

static int rl_is_numeric(const char *node) {
    unsigned char bytes[16];
    struct in_addr v4;
    return inet_pton(AF_INET6, node, bytes) == 1 || inet_aton(node, &v4) != 0 || strchr(node, ':') != NULL;
}

int getaddrinfo(const char *node, const char *service, const struct addrinfo *hints, struct addrinfo **res) {
    if (real_getaddrinfo == NULL) {
        real_getaddrinfo = (getaddrinfo_fn)dlsym(RTLD_NEXT, "getaddrinfo");
    }
    if (!rl.active || node == NULL) {
        return real_getaddrinfo(node, service, hints, res);
    }
    struct addrinfo numeric;
    memset(&numeric, 0, sizeof(numeric));
    if (hints != NULL) {
        numeric = *hints;
    } else {
        numeric.ai_flags = AI_V4MAPPED | AI_ADDRCONFIG;
    }
    int flags = numeric.ai_flags;
    numeric.ai_flags |= AI_NUMERICHOST;
    numeric.ai_canonname = NULL;
    numeric.ai_addr = NULL;
    numeric.ai_next = NULL;
    int rc = real_getaddrinfo(node, service, &numeric, res);
    if (rc != EAI_NONAME || rl_is_numeric(node) || (flags & AI_NUMERICHOST)) {
        return rc;
    }
    int family = numeric.ai_family;
    struct rl_addrs *addrs = malloc(sizeof(*addrs));
    if (addrs == NULL) {
        return EAI_MEMORY;
    }
    int mapped = family == AF_INET6 && (flags & AI_V4MAPPED);
    int result = rl_lookup(node, mapped ? AF_UNSPEC : family, addrs);
    if (result != RL_FOUND) {
        free(addrs);
        return result == RL_NODATA ? EAI_NODATA : (result == RL_FAILED ? EAI_AGAIN : EAI_NONAME);
    }
    struct addrinfo *head = NULL;
    struct addrinfo **tail = &head;
    int last = 0;
    for (int i = 0; i < addrs->count; i++) {
        struct rl_addr *a = &addrs->items[i];
        char text[INET6_ADDRSTRLEN + 8];
        struct addrinfo one = numeric;
        one.ai_flags = AI_NUMERICHOST | (flags & AI_PASSIVE);
        if (family == AF_INET6 && a->family == AF_INET) {
            char v4[INET_ADDRSTRLEN];
            inet_ntop(AF_INET, a->bytes, v4, sizeof(v4));
            snprintf(text, sizeof(text), "::ffff:%s", v4);
            one.ai_family = AF_INET6;
        } else {
            inet_ntop(a->family, a->bytes, text, sizeof(text));
            one.ai_family = a->family;
        }
        struct addrinfo *part = NULL;
        last = real_getaddrinfo(text, service, &one, &part);
        if (last != 0) {
            continue;
        }
        *tail = part;
        while (*tail != NULL) {
            tail = &(*tail)->ai_next;
        }
    }
    if (head == NULL) {
        free(addrs);
        return last != 0 ? last : EAI_NONAME;
    }
    if (flags & AI_CANONNAME) {
        head->ai_canonname = strdup(addrs->canonical[0] ? addrs->canonical : node);
    }
    free(addrs);
    *res = head;
    return 0;
}

int getnameinfo(const struct sockaddr *sa, socklen_t salen, char *host, socklen_t hostlen, char *serv,
                socklen_t servlen, int flags) {
    if (real_getnameinfo == NULL) {
        real_getnameinfo = (getnameinfo_fn)dlsym(RTLD_NEXT, "getnameinfo");
    }
    if (!rl.active || host == NULL || hostlen == 0 || (flags & NI_NUMERICHOST) || sa == NULL) {
        return real_getnameinfo(sa, salen, host, hostlen, serv, servlen, flags);
    }
    const void *bytes = NULL;
    if (sa->sa_family == AF_INET && salen >= (socklen_t)sizeof(struct sockaddr_in)) {
        bytes = &((const struct sockaddr_in *)sa)->sin_addr;
    } else if (sa->sa_family == AF_INET6 && salen >= (socklen_t)sizeof(struct sockaddr_in6)) {
        bytes = &((const struct sockaddr_in6 *)sa)->sin6_addr;
    }
    char name[RL_NAME_MAX + 2];
    if (bytes != NULL && rl_hosts_reverse(sa->sa_family, bytes, name, sizeof(name))) {
        int rc = real_getnameinfo(sa, salen, NULL, 0, serv, servlen, flags & ~NI_NAMEREQD);
        if (rc != 0) {
            return rc;
        }
        if (strlen(name) >= hostlen) {
            return EAI_OVERFLOW;
        }
        strcpy(host, name);
        return 0;
    }
    if (flags & NI_NAMEREQD) {
        return EAI_NONAME;
    }
    return real_getnameinfo(sa, salen, host, hostlen, serv, servlen, flags | NI_NUMERICHOST);
}

/* ------------------------------------------------------------------ gethostbyname */

/* Lay a hostent out in `buf`: name, no aliases, the addresses. */
static int rl_fill_hostent(const char *name, int family, const struct rl_addrs *addrs, struct hostent *ret, char *buf,
                           size_t buflen) {
    size_t size = family == AF_INET ? 4 : 16;
    size_t name_len = strlen(name) + 1;
    size_t align = sizeof(char *);
    size_t need = (addrs->count + 2) * sizeof(char *) + addrs->count * size + name_len + align;
    if (buflen < need) {
        return ERANGE;
    }
    char *p = buf;
    size_t pad = (align - ((uintptr_t)p % align)) % align;
    p += pad;
    char **list = (char **)p;
    char **aliases = list + addrs->count + 1;
    char *data = (char *)(aliases + 1);
    int n = 0;
    for (int i = 0; i < addrs->count; i++) {
        if (addrs->items[i].family != family) {
            continue;
        }
        memcpy(data, addrs->items[i].bytes, size);
        list[n++] = data;
        data += size;
    }
    list[n] = NULL;
    aliases[0] = NULL;
    memcpy(data, name, name_len);
    ret->h_name = data;
    ret->h_aliases = aliases;
    ret->h_addrtype = family;
    ret->h_length = (int)size;
    ret->h_addr_list = list;
    return 0;
}

static int rl_gethostbyname(const char *name, int family, struct hostent *ret, char *buf, size_t buflen,
                            struct hostent **result, int *h_errnop) {
    *result = NULL;
    struct rl_addrs *addrs = malloc(sizeof(*addrs));
    if (addrs == NULL) {
        *h_errnop = NETDB_INTERNAL;
        return ENOMEM;
    }
    int found = rl_lookup(name, family, addrs);
    if (found != RL_FOUND) {
        free(addrs);
        *h_errnop = found == RL_NODATA ? NO_DATA : (found == RL_FAILED ? TRY_AGAIN : HOST_NOT_FOUND);
        return found == RL_FAILED ? EAGAIN : 0;
    }
    int rc = rl_fill_hostent(addrs->canonical[0] ? addrs->canonical : name, family, addrs, ret, buf, buflen);
    free(addrs);
    if (rc != 0) {
        *h_errnop = NETDB_INTERNAL;
        return rc;
    }
    *h_errnop = NETDB_SUCCESS;
    *result = ret;
    return 0;
}

typedef int (*gethostbyname2_r_fn)(const char *, int, struct hostent *, char *, size_t, struct hostent **, int *);
typedef int (*gethostbyaddr_r_fn)(const void *, socklen_t, int, struct hostent *, char *, size_t, struct hostent **,
                                  int *);

static int rl_numeric_for(const char *name, int family) {
    unsigned char bytes[16];
    struct in_addr v4;
    return inet_pton(family, name, bytes) == 1 || (family == AF_INET && inet_aton(name, &v4) != 0);
}

int gethostbyname2_r(const char *name, int af, struct hostent *ret, char *buf, size_t buflen, struct hostent **result,
                     int *h_errnop) {
    if (!rl.active || name == NULL || rl_numeric_for(name, af) || (af != AF_INET && af != AF_INET6)) {
        gethostbyname2_r_fn real = (gethostbyname2_r_fn)dlsym(RTLD_NEXT, "gethostbyname2_r");
        return real(name, af, ret, buf, buflen, result, h_errnop);
    }
    return rl_gethostbyname(name, af, ret, buf, buflen, result, h_errnop);
}

int gethostbyname_r(const char *name, struct hostent *ret, char *buf, size_t buflen, struct hostent **result,
                    int *h_errnop) {
    return gethostbyname2_r(name, AF_INET, ret, buf, buflen, result, h_errnop);
}

static __thread struct hostent rl_static_host;
static __thread char rl_static_buf[8192];

struct hostent *gethostbyname2(const char *name, int af) {
    struct hostent *result = NULL;
    int err = 0;
    int rc = gethostbyname2_r(name, af, &rl_static_host, rl_static_buf, sizeof(rl_static_buf), &result, &err);
    if (rc != 0 || result == NULL) {
        h_errno = err;
        return NULL;
    }
    return result;
}

struct hostent *gethostbyname(const char *name) {
    return gethostbyname2(name, AF_INET);
}

int gethostbyaddr_r(const void *addr, socklen_t len, int type, struct hostent *ret, char *buf, size_t buflen,
                    struct hostent **result, int *h_errnop) {
    if (!rl.active) {
        gethostbyaddr_r_fn real = (gethostbyaddr_r_fn)dlsym(RTLD_NEXT, "gethostbyaddr_r");
        return real(addr, len, type, ret, buf, buflen, result, h_errnop);
    }
    *result = NULL;
    char name[RL_NAME_MAX + 2];
    if ((type != AF_INET && type != AF_INET6) || len != (socklen_t)(type == AF_INET ? 4 : 16)
        || !rl_hosts_reverse(type, addr, name, sizeof(name))) {
        *h_errnop = HOST_NOT_FOUND;
        return 0;
    }
    struct rl_addrs *addrs = calloc(1, sizeof(*addrs));
    if (addrs == NULL) {
        *h_errnop = NETDB_INTERNAL;
        return ENOMEM;
    }
    rl_add_addr(addrs, type, addr);
    int rc = rl_fill_hostent(name, type, addrs, ret, buf, buflen);
    free(addrs);
    if (rc != 0) {
        *h_errnop = NETDB_INTERNAL;
        return rc;
    }
    *h_errnop = NETDB_SUCCESS;
    *result = ret;
    return 0;
}

struct hostent *gethostbyaddr(const void *addr, socklen_t len, int type) {
    struct hostent *result = NULL;
    int err = 0;
    int rc = gethostbyaddr_r(addr, len, type, &rl_static_host, rl_static_buf, sizeof(rl_static_buf), &result, &err);
    if (rc != 0 || result == NULL) {
        h_errno = err;
        return NULL;
    }
    return result;
}

/* ------------------------------------------------------------------ res_query */

typedef int (*res_query_fn)(const char *, int, int, unsigned char *, int);

static int rl_res_one(const char *fqdn, int class, int type, unsigned char *answer, int anslen) {
    if (class != C_IN || !rl_name_ok(fqdn)) {
        h_errno = NO_RECOVERY;
        return -1;
    }
    unsigned char *buf = malloc(RL_PACKET);
    if (buf == NULL) {
        h_errno = NETDB_INTERNAL;
        return -1;
    }
    int len = rl_exchange(fqdn, type, buf, RL_PACKET);
    int result = -1;
    if (len < 12) {
        h_errno = TRY_AGAIN;
    } else if (rl_rcode(buf) == 3) {
        h_errno = HOST_NOT_FOUND;
    } else if (rl_rcode(buf) != 0) {
        h_errno = TRY_AGAIN;
    } else if (((buf[6] << 8) | buf[7]) == 0) {
        h_errno = NO_DATA;
    } else {
        memcpy(answer, buf, (size_t)(len < anslen ? len : anslen));
        result = len;
    }
    free(buf);
    return result;
}

int res_query(const char *dname, int class, int type, unsigned char *answer, int anslen) {
    if (!rl.active) {
        res_query_fn real = (res_query_fn)dlsym(RTLD_NEXT, "res_query");
        return real(dname, class, type, answer, anslen);
    }
    char name[RL_NAME_MAX + 2];
    size_t len = dname != NULL ? strlen(dname) : 0;
    if (len == 0 || len > RL_NAME_MAX) {
        h_errno = HOST_NOT_FOUND;
        return -1;
    }
    snprintf(name, sizeof(name), "%.*s", (int)(dname[len - 1] == '.' ? len - 1 : len), dname);
    return rl_res_one(name, class, type, answer, anslen);
}

int res_search(const char *dname, int class, int type, unsigned char *answer, int anslen) {
    if (!rl.active) {
        res_query_fn real = (res_query_fn)dlsym(RTLD_NEXT, "res_search");
        return real(dname, class, type, answer, anslen);
    }
    size_t len = dname != NULL ? strlen(dname) : 0;
    if (len == 0 || len > RL_NAME_MAX || dname[len - 1] == '.') {
        return res_query(dname, class, type, answer, anslen);
    }
    int dots = 0;
    for (const char *p = dname; *p != '\0'; p++) {
        dots += *p == '.';
    }
    int got_nodata = 0;
    if (dots >= rl.ndots) {
        int r = rl_res_one(dname, class, type, answer, anslen);
        if (r >= 0) {
            return r;
        }
        got_nodata |= h_errno == NO_DATA;
    }
    char fqdn[RL_NAME_MAX * 2 + 2];
    for (int i = 0; i < rl.nsearch; i++) {
        if ((size_t)snprintf(fqdn, sizeof(fqdn), "%s.%s", dname, rl.search[i]) > RL_NAME_MAX) {
            continue;
        }
        int r = rl_res_one(fqdn, class, type, answer, anslen);
        if (r >= 0) {
            return r;
        }
        got_nodata |= h_errno == NO_DATA;
    }
    if (dots < rl.ndots) {
        int r = rl_res_one(dname, class, type, answer, anslen);
        if (r >= 0) {
            return r;
        }
        got_nodata |= h_errno == NO_DATA;
    }
    h_errno = got_nodata ? NO_DATA : HOST_NOT_FOUND;
    return -1;
}

typedef int (*res_nquery_fn)(res_state, const char *, int, int, unsigned char *, int);

int res_nquery(res_state statp, const char *dname, int class, int type, unsigned char *answer, int anslen) {
    if (!rl.active) {
        res_nquery_fn real = (res_nquery_fn)dlsym(RTLD_NEXT, "res_nquery");
        return real(statp, dname, class, type, answer, anslen);
    }
    int r = res_query(dname, class, type, answer, anslen);
    statp->res_h_errno = h_errno;
    return r;
}

int res_nsearch(res_state statp, const char *dname, int class, int type, unsigned char *answer, int anslen) {
    if (!rl.active) {
        res_nquery_fn real = (res_nquery_fn)dlsym(RTLD_NEXT, "res_nsearch");
        return real(statp, dname, class, type, answer, anslen);
    }
    int r = res_search(dname, class, type, answer, anslen);
    statp->res_h_errno = h_errno;
    return r;
}
