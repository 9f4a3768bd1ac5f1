/*
 * Native floor for the hook benchmark: one Unix-socket round trip carrying the SAME bytes the
 * network-dra-hook sends (an HTTP/1.1 POST with `Connection: close`, recorded by
 * scripts/bench/hook-fixtures.mjs through a proxy), then read the reply until the server closes
 * the connection. No HTTP parsing beyond the status line: this measures process start + connect +
 * write + read, nothing more.
 *
 * usage: c-client <socket-path> <request-bytes-file>
 * exit 0 when the reply is "HTTP/1.1 200" with a body, 1 otherwise.
 */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

static unsigned char req[65536];
static char buf[65536];

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
  for (;;) {
    if (have == sizeof buf - 1) { fprintf(stderr, "reply too large\n"); return 1; }
    ssize_t n = read(s, buf + have, sizeof buf - 1 - have);
    if (n < 0) { perror("read"); return 1; }
    if (n == 0) break; /* Connection: close: the reply ends with EOF */
    have += (size_t)n;
  }
  close(s);
  buf[have] = '\0';
  const char *body = strstr(buf, "\r\n\r\n");
  if (strncmp(buf, "HTTP/1.1 200 ", 13) != 0 || body == NULL || body[4] == '\0') {
    fprintf(stderr, "unexpected reply: %.60s\n", buf);
    return 1;
  }
  return 0;
}
