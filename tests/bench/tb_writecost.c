/* tb_writecost: what one loopback TCP write costs the sender, and how many
 * frames per write it takes to go faster, on this machine.
 *
 * The bridge writes one WebSocket frame per lws WRITEABLE callback, so one
 * send() per delivery. This measures the ceiling that gives, and the one that
 * writing k queued frames in one send() would give, without the bridge: one
 * process (the "server") keeps N loopback connections busy, writing k frames
 * of B bytes per send() round-robin (skipping sockets that are full); a
 * forked child (the "clients") reads everything with epoll. After the run
 * both report their CPU time; the sender's includes the loopback receive
 * work the kernel does on its behalf, as it does for the bridge.
 *
 *   tb_writecost --sockets 100 --frames-per-write 1 --frame-bytes 330 --seconds 3
 *
 * Prints one JSON line. Loopback only; the child is stopped by PID. */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MAX_SOCKETS 20000
#define READ_BUF (256 * 1024)
#define EXIT_USAGE 2

struct wc_opts {
    int n_sockets;
    int frames_per_write;
    int frame_bytes;
    double seconds;
};

static int64_t clock_ns(clockid_t id)
{
    struct timespec ts;
    clock_gettime(id, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static int64_t rusage_cpu_ns(int who)
{
    struct rusage ru;
    getrusage(who, &ru);
    return ((int64_t)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000000 + ru.ru_utime.tv_usec +
            ru.ru_stime.tv_usec) *
           1000;
}

/* Opens n connected loopback pairs: accepted[i] (server side), connected[i]. */
static int open_pairs(int n, int *accepted, int *connected)
{
    int lfd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof addr;
    if (lfd < 0 || bind(lfd, (struct sockaddr *)&addr, sizeof addr) < 0 || listen(lfd, 4096) < 0 ||
        getsockname(lfd, (struct sockaddr *)&addr, &len) < 0)
        return -errno;
    for (int i = 0; i < n; i++) {
        connected[i] = socket(AF_INET, SOCK_STREAM, 0);
        if (connected[i] < 0 || connect(connected[i], (struct sockaddr *)&addr, sizeof addr) < 0)
            return -errno;
        accepted[i] = accept4(lfd, NULL, NULL, SOCK_NONBLOCK);
        if (accepted[i] < 0)
            return -errno;
        int one = 1;
        setsockopt(accepted[i], IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    }
    close(lfd);
    return 0;
}

/* The clients: read every socket until each has seen EOF; report CPU used. */
static void run_readers(int n, const int *fds, int report_fd)
{
    int ep = epoll_create1(0);
    for (int i = 0; i < n; i++) {
        struct epoll_event ev = {.events = EPOLLIN, .data.fd = fds[i]};
        epoll_ctl(ep, EPOLL_CTL_ADD, fds[i], &ev);
    }
    static uint8_t buf[READ_BUF];
    struct epoll_event evs[1024];
    int open = n;
    uint64_t n_reads = 0;
    while (open > 0) {
        int k = epoll_wait(ep, evs, 1024, 5000);
        if (k <= 0)
            break;
        for (int i = 0; i < k; i++) {
            ssize_t r = read(evs[i].data.fd, buf, sizeof buf);
            n_reads++;
            if (r <= 0) {
                epoll_ctl(ep, EPOLL_CTL_DEL, evs[i].data.fd, NULL);
                open--;
            }
        }
    }
    int64_t report[2] = {rusage_cpu_ns(RUSAGE_SELF), (int64_t)n_reads};
    if (write(report_fd, report, sizeof report) != (ssize_t)sizeof report)
        _exit(1);
    _exit(0);
}

struct wc_result {
    uint64_t n_frames, n_sends, n_eagain;
    int64_t cpu_ns, wall_ns;
};

/* The server: k frames per send(), round-robin, for the given time. */
static void run_writer(const struct wc_opts *o, const int *fds, struct wc_result *r)
{
    size_t chunk = (size_t)o->frames_per_write * (size_t)o->frame_bytes;
    uint8_t *buf = malloc(chunk);
    memset(buf, 'x', chunk);
    int64_t cpu0 = clock_ns(CLOCK_THREAD_CPUTIME_ID);
    int64_t t0 = clock_ns(CLOCK_MONOTONIC);
    int64_t end = t0 + (int64_t)(o->seconds * 1e9);
    for (uint64_t round = 0;; round++) {
        if ((round & 15) == 0 && clock_ns(CLOCK_MONOTONIC) >= end)
            break;
        for (int i = 0; i < o->n_sockets; i++) {
            ssize_t w = send(fds[i], buf, chunk, MSG_NOSIGNAL);
            r->n_sends++;
            if (w < 0) {
                r->n_eagain++;
                continue;
            }
            r->n_frames += (uint64_t)w / (uint64_t)o->frame_bytes;
        }
    }
    r->wall_ns = clock_ns(CLOCK_MONOTONIC) - t0;
    r->cpu_ns = clock_ns(CLOCK_THREAD_CPUTIME_ID) - cpu0;
    free(buf);
}

static int parse_args(int argc, char **argv, struct wc_opts *o)
{
    *o =
        (struct wc_opts){.n_sockets = 100, .frames_per_write = 1, .frame_bytes = 330, .seconds = 3};
    static const struct option longs[] = {{"sockets", 1, 0, 'n'},
                                          {"frames-per-write", 1, 0, 'k'},
                                          {"frame-bytes", 1, 0, 'b'},
                                          {"seconds", 1, 0, 's'},
                                          {0, 0, 0, 0}};
    int ch;
    while ((ch = getopt_long(argc, argv, "", longs, NULL)) != -1) {
        switch (ch) {
        case 'n':
            o->n_sockets = (int)strtol(optarg, NULL, 10);
            break;
        case 'k':
            o->frames_per_write = (int)strtol(optarg, NULL, 10);
            break;
        case 'b':
            o->frame_bytes = (int)strtol(optarg, NULL, 10);
            break;
        case 's':
            o->seconds = strtod(optarg, NULL);
            break;
        default:
            return -1;
        }
    }
    return (o->n_sockets < 1 || o->n_sockets > MAX_SOCKETS || o->frames_per_write < 1 ||
            o->frame_bytes < 1 || o->seconds <= 0 || optind != argc)
               ? -1
               : 0;
}

int main(int argc, char **argv)
{
    struct wc_opts o;
    if (parse_args(argc, argv, &o) < 0) {
        fprintf(stderr, "usage: tb_writecost [--sockets N] [--frames-per-write K] "
                        "[--frame-bytes B] [--seconds S]\n");
        return EXIT_USAGE;
    }
    struct rlimit rl;
    getrlimit(RLIMIT_NOFILE, &rl);
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
    static int accepted[MAX_SOCKETS], connected[MAX_SOCKETS];
    int rc = open_pairs(o.n_sockets, accepted, connected);
    int pipefd[2];
    if (rc < 0 || pipe(pipefd) < 0) {
        fprintf(stderr, "tb_writecost: setup: %s\n", strerror(rc < 0 ? -rc : errno));
        return 1;
    }
    pid_t child = fork();
    if (child == 0) {
        for (int i = 0; i < o.n_sockets; i++)
            close(accepted[i]);
        run_readers(o.n_sockets, connected, pipefd[1]);
    }
    for (int i = 0; i < o.n_sockets; i++)
        close(connected[i]);
    struct wc_result r = {0};
    run_writer(&o, accepted, &r);
    for (int i = 0; i < o.n_sockets; i++)
        close(accepted[i]);
    int64_t report[2] = {0, 0};
    if (read(pipefd[0], report, sizeof report) != (ssize_t)sizeof report)
        kill(child, SIGKILL);
    waitpid(child, NULL, 0);
    double secs = (double)r.wall_ns / 1e9;
    printf("{\"sockets\":%d,\"frames_per_write\":%d,\"frame_bytes\":%d,\"frames_per_s\":%.0f,"
           "\"sends_per_s\":%.0f,\"eagain_share\":%.3f,\"sender_cpu_pct\":%.0f,"
           "\"sender_us_per_frame\":%.3f,\"sender_us_per_send\":%.3f,\"reader_us_per_frame\":%.3f,"
           "\"reader_reads\":%" PRId64 "}\n",
           o.n_sockets, o.frames_per_write, o.frame_bytes, (double)r.n_frames / secs,
           (double)r.n_sends / secs, r.n_sends ? (double)r.n_eagain / (double)r.n_sends : 0.0,
           100.0 * (double)r.cpu_ns / (double)r.wall_ns,
           r.n_frames ? (double)r.cpu_ns / 1e3 / (double)r.n_frames : 0.0,
           r.n_sends ? (double)r.cpu_ns / 1e3 / (double)(r.n_sends - r.n_eagain) : 0.0,
           r.n_frames ? (double)report[0] / 1e3 / (double)r.n_frames : 0.0, report[1]);
    return 0;
}
