/* New-flow generator for bench/run.sh: sends 64-byte Ethernet/IPv4/UDP
 * frames out of one interface as fast as it can for a given time, each
 * frame with a UDP 5-tuple never used before in the run (source and
 * destination ports count up together: 64,512 x 65,535 distinct pairs).
 * A switch whose flow table looks at the L4 ports must set up one datapath
 * flow per frame, so the frames the receiver gets per second are the
 * switch's new-flow setup rate.  The receiver side needs nothing: the
 * harness reads the receiving interface's rx counter.
 *
 * Frames go out through an AF_PACKET socket (sendmmsg, 64 frames per call,
 * PACKET_QDISC_BYPASS) with the interface's own MAC as source, IPv4 header
 * checksum computed, UDP checksum 0 (none, allowed for IPv4).
 *
 * With the mode `same`, every frame carries the same 5-tuple (source port
 * 1024, destination port 1): a 64-byte flood of one flow, for the switch's
 * forwarding rate when iperf3's sender cannot offer enough.
 *
 * Usage: newflows IFACE DST_MAC SRC_IP DST_IP SECONDS [new|same]
 * Prints the number of frames sent on stdout.  Root (CAP_NET_RAW).
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define BATCH 64
#define FRAME_LEN 60 /* 64 on the wire with the FCS */

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

static uint16_t ip_checksum(const uint8_t *p, size_t len)
{
    uint32_t sum = 0;
    for (size_t i = 0; i + 1 < len; i += 2) {
        sum += (uint32_t)p[i] << 8 | p[i + 1];
    }
    while (sum >> 16) {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    return (uint16_t)~sum;
}

static int parse_mac(const char *s, uint8_t mac[6])
{
    unsigned int b[6];
    if (sscanf(s, "%x:%x:%x:%x:%x:%x", &b[0], &b[1], &b[2], &b[3], &b[4], &b[5]) != 6) {
        return -1;
    }
    for (int i = 0; i < 6; i++) {
        if (b[i] > 255) {
            return -1;
        }
        mac[i] = (uint8_t)b[i];
    }
    return 0;
}

int main(int argc, char **argv)
{
    if (argc != 6 && argc != 7) {
        fprintf(stderr, "usage: %s IFACE DST_MAC SRC_IP DST_IP SECONDS [new|same]\n", argv[0]);
        return 2;
    }
    int same = argc == 7 && strcmp(argv[6], "same") == 0;
    if (argc == 7 && !same && strcmp(argv[6], "new") != 0) {
        fprintf(stderr, "%s: mode is new or same\n", argv[0]);
        return 2;
    }
    uint8_t dst_mac[6];
    struct in_addr src_ip, dst_ip;
    double secs = atof(argv[5]);
    if (parse_mac(argv[2], dst_mac) || inet_pton(AF_INET, argv[3], &src_ip) != 1
        || inet_pton(AF_INET, argv[4], &dst_ip) != 1 || !(secs > 0)) {
        fprintf(stderr, "%s: bad DST_MAC, SRC_IP, DST_IP or SECONDS\n", argv[0]);
        return 2;
    }
    int fd = socket(AF_PACKET, SOCK_RAW, 0);
    if (fd < 0) {
        perror("socket(AF_PACKET)");
        return 1;
    }
    struct ifreq ifr;
    memset(&ifr, 0, sizeof ifr);
    snprintf(ifr.ifr_name, sizeof ifr.ifr_name, "%s", argv[1]);
    if (ioctl(fd, SIOCGIFINDEX, &ifr) < 0) {
        perror(argv[1]);
        return 1;
    }
    int ifindex = ifr.ifr_ifindex;
    if (ioctl(fd, SIOCGIFHWADDR, &ifr) < 0) {
        perror("SIOCGIFHWADDR");
        return 1;
    }
    int one = 1;
    setsockopt(fd, SOL_PACKET, PACKET_QDISC_BYPASS, &one, sizeof one);
    struct sockaddr_ll sll = {
        .sll_family = AF_PACKET,
        .sll_ifindex = ifindex,
        .sll_protocol = htons(ETH_P_IP),
    };
    if (bind(fd, (struct sockaddr *)&sll, sizeof sll) < 0) {
        perror("bind");
        return 1;
    }

    static uint8_t frames[BATCH][FRAME_LEN];
    struct iovec iov[BATCH];
    struct mmsghdr msgs[BATCH];
    memset(msgs, 0, sizeof msgs);
    for (int i = 0; i < BATCH; i++) {
        uint8_t *f = frames[i];
        memset(f, 0, FRAME_LEN);
        memcpy(f, dst_mac, 6);
        memcpy(f + 6, ifr.ifr_hwaddr.sa_data, 6);
        f[12] = 0x08; /* IPv4 */
        uint8_t *ip = f + 14;
        ip[0] = 0x45;
        ip[3] = 46; /* total length: 20 + 8 + 18 */
        ip[6] = 0x40; /* DF */
        ip[8] = 64;
        ip[9] = 17; /* UDP */
        memcpy(ip + 12, &src_ip, 4);
        memcpy(ip + 16, &dst_ip, 4);
        uint16_t c = ip_checksum(ip, 20);
        ip[10] = c >> 8;
        ip[11] = c & 0xff;
        uint8_t *udp = ip + 20;
        udp[5] = 26; /* length: 8 + 18 */
        iov[i].iov_base = f;
        iov[i].iov_len = FRAME_LEN;
        msgs[i].msg_hdr.msg_iov = &iov[i];
        msgs[i].msg_hdr.msg_iovlen = 1;
    }

    uint64_t seq = 0, sent = 0;
    double end = now() + secs;
    while (now() < end) {
        for (int i = 0; i < BATCH; i++, seq += !same) {
            /* sport 1024..65535, dport 1..65535: distinct for 4.2e9 frames. */
            uint16_t sport = (uint16_t)(1024 + seq % 64512);
            uint16_t dport = (uint16_t)(1 + (seq / 64512) % 65535);
            uint8_t *udp = frames[i] + 34;
            udp[0] = sport >> 8;
            udp[1] = sport & 0xff;
            udp[2] = dport >> 8;
            udp[3] = dport & 0xff;
        }
        int n = sendmmsg(fd, msgs, BATCH, 0);
        if (n < 0) {
            if (errno == ENOBUFS || errno == EAGAIN || errno == EINTR) {
                continue;
            }
            perror("sendmmsg");
            return 1;
        }
        sent += (uint64_t)n;
        /* Frames not taken are skipped, not resent: every tuple is new. */
    }
    printf("%llu\n", (unsigned long long)sent);
    return 0;
}
