#include "config.h"

#include "tool/report/metrics_http.h"

#include <errno.h>
#include <fcntl.h>
#include <microhttpd.h>
#include <netdb.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "tool/cli.h"

struct metrics_server {
	struct MHD_Daemon *daemon;
	pthread_mutex_t lock;
	char *text;
	size_t len;
};

static enum MHD_Result reply(struct MHD_Connection *c, unsigned status, const char *type, const char *body,
			     size_t len)
{
	/* No const in libmicrohttpd's signature: MUST_COPY copies, writes nothing. */
	struct MHD_Response *r = MHD_create_response_from_buffer(len, (void *)(uintptr_t)body, MHD_RESPMEM_MUST_COPY);
	enum MHD_Result rc;

	if (!r)
		return MHD_NO;
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, type);
	rc = MHD_queue_response(c, status, r);
	MHD_destroy_response(r);
	return rc;
}

static enum MHD_Result handle(void *cls, struct MHD_Connection *c, const char *url, const char *method,
			      const char *version, const char *upload, size_t *upload_size, void **state)
{
	static const char missing[] = "gilstats serves /metrics\n";
	struct metrics_server *srv = cls;
	enum MHD_Result rc;

	(void)version;
	(void)upload;
	(void)upload_size;
	(void)state;
	if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0)
		return reply(c, MHD_HTTP_METHOD_NOT_ALLOWED, "text/plain", "", 0);
	if (strcmp(url, "/metrics") != 0)
		return reply(c, MHD_HTTP_NOT_FOUND, "text/plain", missing, sizeof missing - 1);
	pthread_mutex_lock(&srv->lock);
	rc = reply(c, MHD_HTTP_OK, "text/plain; version=0.0.4; charset=utf-8", srv->text ? srv->text : "",
		   srv->text ? srv->len : 0);
	pthread_mutex_unlock(&srv->lock);
	return rc;
}

static int resolve(const char *listen, struct sockaddr_storage *addr, char *host, size_t host_size,
		   struct gs_error *err)
{
	struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM, .ai_flags = AI_PASSIVE };
	struct addrinfo *res;
	char port_text[8];
	unsigned port;
	int rc;

	if (cli_parse_listen(listen, host, host_size, &port, err) != 0)
		return -1;
	snprintf(port_text, sizeof port_text, "%u", port);
	if ((rc = getaddrinfo(host, port_text, &hints, &res)) != 0)
		return gs_fail(err, GS_EXIT_USAGE, "cannot listen on %s: %s", listen, gai_strerror(rc));
	memcpy(addr, res->ai_addr, res->ai_addrlen);
	freeaddrinfo(res);
	return 0;
}

/* With port 0 the kernel chose one: say which, the only way a script (or
 * a test on a shared machine) can learn it. */
static void say_port(const struct metrics_server *srv, const char *host, bool chosen_by_kernel)
{
	const union MHD_DaemonInfo *info;

	if (!chosen_by_kernel || !(info = MHD_get_daemon_info(srv->daemon, MHD_DAEMON_INFO_BIND_PORT)))
		return;
	fprintf(stderr, strchr(host, ':') ? "gilstats: listening on [%s]:%u\n" : "gilstats: listening on %s:%u\n",
		host, (unsigned)info->port);
	fflush(stderr);
}

struct metrics_server *metrics_serve(const char *listen, struct gs_error *err)
{
	struct metrics_server *srv = calloc(1, sizeof *srv);
	struct sockaddr_storage addr;
	unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD;
	char host[256];
	uint16_t port;

	if (!srv) {
		gs_fail(err, GS_EXIT_FAILURE, "out of memory");
		return NULL;
	}
	if (resolve(listen, &addr, host, sizeof host, err) != 0) {
		free(srv);
		return NULL;
	}
	if (addr.ss_family == AF_INET6)
		flags |= MHD_USE_IPv6;
	pthread_mutex_init(&srv->lock, NULL);
	/* The port is in addr (sin_port and sin6_port share their offset);
	 * MHD wants it given too. */
	port = ntohs(((struct sockaddr_in *)&addr)->sin_port);
	srv->daemon = MHD_start_daemon(flags, port, NULL, NULL, handle, srv, MHD_OPTION_SOCK_ADDR,
				       (struct sockaddr *)&addr, MHD_OPTION_END);
	if (!srv->daemon) {
		gs_fail(err, GS_EXIT_FAILURE, "cannot listen on %s: %s", listen,
			errno ? strerror(errno) : "address in use or not available");
		pthread_mutex_destroy(&srv->lock);
		free(srv);
		return NULL;
	}
	say_port(srv, host, port == 0);
	return srv;
}

void metrics_publish(struct metrics_server *srv, const char *text, size_t len)
{
	char *copy = malloc(len + 1);

	if (!copy)
		return;
	memcpy(copy, text, len);
	copy[len] = '\0';
	pthread_mutex_lock(&srv->lock);
	free(srv->text);
	srv->text = copy;
	srv->len = len;
	pthread_mutex_unlock(&srv->lock);
}

void metrics_stop(struct metrics_server *srv)
{
	if (!srv)
		return;
	MHD_stop_daemon(srv->daemon);
	pthread_mutex_destroy(&srv->lock);
	free(srv->text);
	free(srv);
}

int metrics_check_textfile(const char *dir, struct gs_error *err)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	/* access() also says EROFS, which root's permissions do not. */
	if (fd < 0 || access(dir, W_OK | X_OK) != 0) {
		int saved = errno;
		if (fd >= 0)
			close(fd);
		return gs_fail(err, GS_EXIT_USAGE, "cannot write metrics to --textfile %s: %s", dir, strerror(saved));
	}
	close(fd);
	return 0;
}

int metrics_write_textfile(const char *dir, const char *text, size_t len, struct gs_error *err)
{
	char tmp[4096], path[4096];
	FILE *f;

	snprintf(path, sizeof path, "%s/gilstats.prom", dir);
	snprintf(tmp, sizeof tmp, "%s/.gilstats.prom.%d", dir, (int)getpid());
	if (!(f = fopen(tmp, "w")))
		return gs_fail(err, GS_EXIT_FAILURE, "cannot write %s: %s", tmp, strerror(errno));
	size_t written = fwrite(text, 1, len, f);
	if (fclose(f) != 0 || written != len) {
		int saved = errno;
		unlink(tmp);
		return gs_fail(err, GS_EXIT_FAILURE, "cannot write %s: %s", tmp, strerror(saved));
	}
	if (rename(tmp, path) != 0) {
		int saved = errno;
		unlink(tmp);
		return gs_fail(err, GS_EXIT_FAILURE, "cannot rename %s to %s: %s", tmp, path, strerror(saved));
	}
	return 0;
}
