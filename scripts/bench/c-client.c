/*
 * Native floor for the hook benchmark: one Unix-socket round trip carrying the SAME bytes the
 * network-dra-hook sends (recorded by scripts/bench/hook-round-trip.mjs through a proxy), then read
 * HTTP/2 frames until the server ends stream 1 (a HEADERS frame with END_STREAM, i.e. the gRPC
 * trailers). No HPACK decoding: this measures process start + connect + write + read, nothing more.
 *
 * usage: c-client <socket-path> <request-bytes-file>
 * exit 0 when stream 1 ended with a DATA frame seen before it, 1 otherwise.
 */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

static unsigned char req[65536];
static unsigned char buf[65536];

int main(int argc, char **argv) {
  if (argc != 3) {
    fprintf(stderr, "usage: %s <socket> <request-file>\n", argv[0]);
    return 2;
  }
  int fd = open(argv[2], O_RDONLY);
  if (fd < 0) { perror("open request"); return 2; }
  ssize_t reqlen = read(fd, req, sizeof req);
  close(fd);
  if (reqlen <= 0) { fprintf(stderr, "empty request file\n"); return 2; }

  int s = socket(AF_UNIX, SOCK_STREAM, 0);
  if (s < 0) { perror("socket"); return 1; }
  struct sockaddr_un addr;
  memset(&addr, 0, sizeof addr);
  addr.sun_family = AF_UNIX;
  strncpy(addr.sun_path, argv[1], sizeof addr.sun_path - 1);
  if (connect(s, (struct sockaddr *)&addr, sizeof addr) != 0) { perror("connect"); return 1; }
  for (ssize_t off = 0; off < reqlen;) {
    ssize_t n = write(s, req + off, (size_t)(reqlen - off));
    if (n <= 0) { perror("write"); return 1; }
    off += n;
  }

  size_t have = 0;
  int saw_data = 0;
  for (;;) {
    /* consume every complete frame in the buffer */
    for (;;) {
      if (have < 9) break;
      uint32_t len = ((uint32_t)buf[0] << 16) | ((uint32_t)buf[1] << 8) | buf[2];
      if (have < 9 + len) break;
      unsigned type = buf[3], flags = buf[4];
      uint32_t stream = (((uint32_t)buf[5] & 0x7f) << 24) | ((uint32_t)buf[6] << 16) |
                        ((uint32_t)buf[7] << 8) | buf[8];
      if (stream == 1 && type == 0x0 && len > 0) saw_data = 1;
      if (stream == 1 && type == 0x1 && (flags & 0x1)) {
        close(s);
        return saw_data ? 0 : 1;
      }
      if (stream == 1 && type == 0x3) { fprintf(stderr, "stream reset\n"); return 1; }
      memmove(buf, buf + 9 + len, have - 9 - len);
      have -= 9 + len;
    }
    if (have == sizeof buf) { fprintf(stderr, "frame too large\n"); return 1; }
    ssize_t n = read(s, buf + have, sizeof buf - have);
    if (n <= 0) { fprintf(stderr, "connection closed before the end of stream 1\n"); return 1; }
    have += (size_t)n;
  }
}
