/* test-http-server.h: a loopback HTTP server for the tests that talk to
 * one. A SoupServer on 127.0.0.1, a random port, in its own thread and
 * GMainContext, so the code under test may block on it. Nothing touches
 * the network. Handlers run in the server's thread. */
#pragma once

#include <gio/gio.h>
#include <libsoup/soup.h>

typedef struct {
  GThread           *thread;
  GMainContext      *ctx;          /* the server thread's; handlers run in it */
  GMainLoop         *loop;
  GMutex             lock;         /* port and ready, while starting */
  GCond              cond;
  gboolean           ready;
  guint              port;
  char              *base;         /* http://127.0.0.1:PORT */
  GPtrArray         *held;         /* GIOStream kept open until stop; server thread only */
  SoupServerCallback handler;
  gpointer           handler_data;
} MsrTestHttpServer;

/* Connections are accepted by a GSocketService and handed to the
 * SoupServer: soup_server_listen_local() in libsoup 3.2 leaks one GSocket per
 * accepted connection (and the listener's address), which would hide real
 * leaks from valgrind. */
static inline gboolean
msr_test_http_server_on_incoming (GSocketService    *service,
                                  GSocketConnection *connection,
                                  GObject           *source,
                                  gpointer           data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GSocketAddress) local = g_socket_connection_get_local_address (connection, NULL);
  g_autoptr(GSocketAddress) remote = g_socket_connection_get_remote_address (connection, NULL);
  soup_server_accept_iostream (SOUP_SERVER (data), G_IO_STREAM (connection), local, remote, &error);
  g_assert_no_error (error);
  return TRUE;
}

static inline gpointer
msr_test_http_server_thread (gpointer data)
{
  MsrTestHttpServer *s = data;
  g_autoptr(GError) error = NULL;

  g_main_context_push_thread_default (s->ctx);
  SoupServer *server = g_object_new (SOUP_TYPE_SERVER, NULL);
  soup_server_add_handler (server, NULL, s->handler, s->handler_data, NULL);

  GSocketService *service = g_socket_service_new ();
  g_autoptr(GInetAddress) loopback = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
  g_autoptr(GSocketAddress) any_port = g_inet_socket_address_new (loopback, 0);
  g_autoptr(GSocketAddress) bound = NULL;
  g_socket_listener_add_address (G_SOCKET_LISTENER (service), any_port, G_SOCKET_TYPE_STREAM,
                                 G_SOCKET_PROTOCOL_TCP, NULL, &bound, &error);
  g_assert_no_error (error);
  g_signal_connect (service, "incoming", G_CALLBACK (msr_test_http_server_on_incoming), server);
  g_socket_service_start (service);

  g_mutex_lock (&s->lock);
  s->port = g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (bound));
  s->ready = TRUE;
  g_cond_signal (&s->cond);
  g_mutex_unlock (&s->lock);

  g_main_loop_run (s->loop);

  g_socket_service_stop (service);
  g_socket_listener_close (G_SOCKET_LISTENER (service));
  g_object_unref (service);
  /* Stolen streams are no longer the server's: closed here, in their
   * own context. */
  for (guint i = 0; i < s->held->len; i++)
    g_io_stream_close (g_ptr_array_index (s->held, i), NULL, NULL);
  g_ptr_array_set_size (s->held, 0);
  soup_server_disconnect (server);
  g_object_unref (server);
  /* Drained so the closed connections' sources go before the context. */
  while (g_main_context_iteration (s->ctx, FALSE))
    ;
  g_main_context_pop_thread_default (s->ctx);
  return NULL;
}

/* Starts the server; handler (with data) answers every path. Returns once
 * it listens: s->port and s->base are set then. s starts zeroed. */
static inline void
msr_test_http_server_start (MsrTestHttpServer *s,
                            SoupServerCallback handler,
                            gpointer           data)
{
  g_mutex_init (&s->lock);
  g_cond_init (&s->cond);
  s->ctx = g_main_context_new ();
  s->loop = g_main_loop_new (s->ctx, FALSE);
  s->held = g_ptr_array_new_with_free_func (g_object_unref);
  s->handler = handler;
  s->handler_data = data;
  s->thread = g_thread_new ("loopback-http", msr_test_http_server_thread, s);
  g_mutex_lock (&s->lock);
  while (!s->ready)
    g_cond_wait (&s->cond, &s->lock);
  g_mutex_unlock (&s->lock);
  s->base = g_strdup_printf ("http://127.0.0.1:%u", s->port);
}

/* Keeps a stream (stolen from a message) open, never answered, until the
 * server stops: for clients that must time out or be cancelled. Takes the
 * reference; call from a handler. */
static inline void
msr_test_http_server_hold (MsrTestHttpServer *s,
                           GIOStream         *io)
{
  g_ptr_array_add (s->held, io);
}

static inline gboolean
msr_test_http_server_quit (gpointer data)
{
  MsrTestHttpServer *s = data;
  g_main_loop_quit (s->loop);
  return G_SOURCE_REMOVE;
}

static inline void
msr_test_http_server_stop (MsrTestHttpServer *s)
{
  g_main_context_invoke (s->ctx, msr_test_http_server_quit, s);
  g_thread_join (s->thread);
  g_main_loop_unref (s->loop);
  g_main_context_unref (s->ctx);
  g_ptr_array_unref (s->held);
  g_clear_pointer (&s->base, g_free);
  g_mutex_clear (&s->lock);
  g_cond_clear (&s->cond);
}
