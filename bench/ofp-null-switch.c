/* The latency floor of `ovs-ofctl add-flows` on this machine: a "switch"
 * that does nothing but answer.  It listens on a unix socket, sends an
 * OpenFlow 1.0 HELLO, answers every ECHO_REQUEST and BARRIER_REQUEST at
 * once, a FEATURES_REQUEST with a port-less reply, a STATS_REQUEST with an
 * empty reply of its type, and discards everything else, busy-polling its socket so that it
 * never sleeps.  bench/flows.sh times `ovs-ofctl add-flows` against it: no
 * real switch can answer faster, so it bounds what any switch can reach.
 *
 * Usage: ofp-null-switch SOCKET_PATH   (serves connections one at a time)
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

static void serve(int fd)
{
    static uint8_t buf[1 << 20];
    size_t have = 0;
    const uint8_t hello[8] = {1, 0, 0, 8, 0, 0, 0, 0};
    if (write(fd, hello, sizeof hello) != sizeof hello) {
        return;
    }
    fcntl(fd, F_SETFL, O_NONBLOCK);
    for (;;) {
        ssize_t n = read(fd, buf + have, sizeof buf - have);
        if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
            return;
        }
        if (n < 0) {
            continue;
        }
        have += (size_t) n;
        size_t off = 0;
        while (have - off >= 8) {
            uint8_t *m = buf + off;
            size_t len = (size_t) m[2] << 8 | m[3];
            if (len < 8) {
                return;
            }
            if (have - off < len) {
                break;
            }
            uint8_t reply[32] = {0};
            memcpy(reply, m, 8);
            reply[2] = 0;
            reply[3] = 8;
            int answer = 1;
            size_t rlen = 8;
            if (m[1] == 2) {
                reply[1] = 3;                        /* ECHO_REPLY */
            } else if (m[0] == 1 && m[1] == 18) {
                reply[1] = 19;                       /* OF1.0 BARRIER_REPLY */
            } else if (m[0] >= 4 && m[1] == 20) {
                reply[1] = 21;                       /* OF1.3+ BARRIER_REPLY */
            } else if (m[0] == 1 && m[1] == 5) {
                reply[1] = 6;                        /* OF1.0 FEATURES_REPLY */
                reply[3] = 32;                       /* no ports */
                reply[15] = 1;                       /* datapath_id 1 */
                reply[20] = 1;                       /* n_tables */
                rlen = 32;
            } else if (m[0] == 1 && m[1] == 16 && len >= 12) {
                reply[1] = 17;                       /* OF1.0 STATS_REPLY */
                reply[3] = 12;
                memcpy(reply + 8, m + 8, 2);         /* same stats type */
                reply[10] = reply[11] = 0;           /* flags: last */
                rlen = 12;
            } else {
                answer = 0;
            }
            if (answer && write(fd, reply, rlen) != (ssize_t) rlen) {
                return;
            }
            off += len;
        }
        memmove(buf, buf + off, have - off);
        have -= off;
    }
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: %s SOCKET_PATH\n", argv[0]);
        return 2;
    }
    int s = socket(AF_UNIX, SOCK_STREAM, 0);
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    snprintf(sa.sun_path, sizeof sa.sun_path, "%s", argv[1]);
    unlink(argv[1]);
    if (s < 0 || bind(s, (struct sockaddr *) &sa, sizeof sa) || listen(s, 8)) {
        perror(argv[1]);
        return 1;
    }
    for (;;) {
        int fd = accept(s, NULL, NULL);
        if (fd >= 0) {
            serve(fd);
            close(fd);
        }
    }
}
