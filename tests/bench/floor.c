/* floor.c -- the HTTP floor of `tokendoctor serve`: a minimal libevent evhttp server that does
 * what the service does around a diagnosis and nothing else, measured by run.sh in the same run
 * under the same wrk load, so that the service's requests/s can be set against what evhttp on
 * these threads can reach at all (docs/performance.md, "The HTTP path against its floor").
 *
 * Design
 * ------
 * The same shape as the service (server/srv_main.c, srv_worker.c): THREADS threads, each with its
 * own event_base and evhttp on its own listening socket bound to the same port with SO_REUSEPORT
 * and TCP_NODELAY, every method allowed. Every request is answered 200 with Content-Type
 * application/json and a fixed body of SIZE bytes (run.sh passes the mean size of the service's
 * answers in the same run). With --parse the body is also read and parsed with jansson
 * (json_loadb, then freed), the one step of the service's request path that is not its own code
 * yet costs as much as the diagnosis (performance.md): the second floor. No diagnosis, no log,
 * no access log, no metrics.
 *
 *   floor PORT THREADS SIZE [--parse]
 *
 * It prints "ready" once listening and runs until killed.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/thread.h>
#include <jansson.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

typedef struct {
    const char *body;
    size_t size;
    bool parse;
    int fd;
    struct event_base *base;
    struct evhttp *http;
} floor_worker;

static void answer(struct evhttp_request *req, void *arg) {
    const floor_worker *w = arg;
    struct evbuffer *in = evhttp_request_get_input_buffer(req);
    size_t len = evbuffer_get_length(in);
    if (w->parse && len > 0) { /* a body: run.sh's readiness probe is a GET */
        const char *text = (const char *)evbuffer_pullup(in, (ev_ssize_t)len);
        json_t *doc = text ? json_loadb(text, len, 0, NULL) : NULL;
        if (!doc) {
            evhttp_send_error(req, 400, "bad json");
            return;
        }
        json_decref(doc);
    }
    evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type", "application/json");
    struct evbuffer *out = evbuffer_new();
    if (out)
        evbuffer_add_reference(out, w->body, w->size, NULL, NULL);
    evhttp_send_reply(req, 200, "OK", out);
    evbuffer_free(out);
}

static int listen_socket(int port) {
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0), one = 1;
    if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) != 0 ||
        setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one) != 0 ||
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one) != 0 ||
        bind(fd, (struct sockaddr *)&sa, sizeof sa) != 0 || listen(fd, 1024) != 0) {
        if (fd >= 0)
            close(fd);
        return -1;
    }
    return fd;
}

static void *run(void *arg) {
    floor_worker *w = arg;
    event_base_dispatch(w->base);
    return NULL;
}

int main(int argc, char **argv) {
    if (argc < 4) {
        fprintf(stderr, "usage: floor PORT THREADS SIZE [--parse]\n");
        return 64;
    }
    int port = atoi(argv[1]), threads = atoi(argv[2]);
    size_t size = strtoul(argv[3], NULL, 10);
    bool parse = argc > 4 && strcmp(argv[4], "--parse") == 0;
    char *body = malloc(size + 1);
    floor_worker *w = calloc((size_t)(threads > 0 ? threads : 1), sizeof *w);
    if (!body || !w || threads < 1 || threads > 256 || evthread_use_pthreads() != 0)
        return 1;
    memset(body, 'x', size);
    for (int i = 0; i < threads; i++) {
        w[i] = (floor_worker){.body = body, .size = size, .parse = parse};
        if ((w[i].fd = listen_socket(port)) < 0 || !(w[i].base = event_base_new()) ||
            !(w[i].http = evhttp_new(w[i].base))) {
            perror("floor");
            return 1;
        }
        evhttp_set_allowed_methods(w[i].http, (ev_uint16_t)~0u);
        evhttp_set_gencb(w[i].http, answer, &w[i]);
        if (!evhttp_accept_socket_with_handle(w[i].http, w[i].fd))
            return 1;
    }
    pthread_t tid[256];
    for (int i = 0; i < threads; i++)
        pthread_create(&tid[i], NULL, run, &w[i]);
    printf("ready\n");
    fflush(stdout);
    for (int i = 0; i < threads; i++)
        pthread_join(tid[i], NULL);
    return 0;
}
