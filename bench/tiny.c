/* The tiny service of the fleet benchmark: listens on $PORT and answers every connection
 * with a fixed HTTP reply. Built static, it starts in a few hundred microseconds, so a
 * fleet of it measures the manager's own cost of starting processes, not the service's. */
#include <netinet/in.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

int main(void) {
    const char *port = getenv("PORT");
    if (!port) return 2;
    int s = socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;
    setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons(atoi(port)),
                               .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    if (bind(s, (struct sockaddr *)&addr, sizeof addr) || listen(s, 64)) return 1;
    static const char reply[] = "HTTP/1.0 200 OK\r\nContent-Length: 3\r\n\r\nok\n";
    for (;;) {
        int c = accept(s, 0, 0);
        if (c < 0) continue;
        (void)!write(c, reply, sizeof reply - 1);
        close(c);
    }
}
