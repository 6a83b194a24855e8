#include "stop_signal.h"

#include <czmq.h>
#include <errno.h>
#include <string.h>

static volatile sig_atomic_t stop_requested; /* the process's only mutable global */

static void on_stop_signal(int sig)
{
    (void)sig;
    stop_requested = 1;
}

int stop_signal_install(bool is_server)
{
    zsys_init();            /* czmq installs its own handlers here ... */
    zsys_handler_set(NULL); /* ... and gives the old ones back here */
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_stop_signal; /* no SA_RESTART: blocking waits return EINTR */
    if (sigemptyset(&sa.sa_mask) < 0 || sigaction(SIGINT, &sa, NULL) < 0 ||
        sigaction(SIGTERM, &sa, NULL) < 0 || (is_server && signal(SIGPIPE, SIG_IGN) == SIG_ERR))
        return -errno;
    return 0;
}

bool stop_signal_requested(void)
{
    return stop_requested != 0;
}

volatile sig_atomic_t *stop_signal_flag(void)
{
    return &stop_requested;
}
